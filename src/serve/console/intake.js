// 一表申请: the window picks a bundle, fills the form generated from its `form:`, sees which
// items apply, the merged materials checklist and the due dates (from the server's
// preview), chooses files (hashed here, in the browser), submits, and prints the receipt.
"use strict";

// SHA-256 of a file's bytes: WebCrypto where the page is a secure context (https or
// localhost), else this small implementation.
YJ.sha256 = async (buffer) => {
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  if (window.crypto && crypto.subtle) return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", buffer)));
  const K = new Uint32Array([0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb,
    0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f,
    0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  const data = new Uint8Array(buffer);
  const len = data.length, total = ((len + 9 + 63) >> 6) << 6;
  const m = new Uint8Array(total);
  m.set(data); m[len] = 0x80;
  const view = new DataView(m.buffer);
  view.setUint32(total - 8, Math.floor(len / 0x20000000)); view.setUint32(total - 4, len << 3);
  const H = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const r = (x, n) => (x >>> n) | (x << (32 - n));
  for (let o = 0; o < total; o += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(o + 4 * i);
    for (let i = 16; i < 64; i++) {
      const s0 = r(w[i - 15], 7) ^ r(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = r(w[i - 2], 17) ^ r(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, h] = H;
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (r(e, 6) ^ r(e, 11) ^ r(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((r(a, 2) ^ r(a, 13) ^ r(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    [a, b, c, d, e, f, g, h].forEach((x, i) => { H[i] = (H[i] + x) >>> 0; });
  }
  return Array.from(H, (x) => x.toString(16).padStart(8, "0")).join("");
};

(() => {
  const { t, el, api, errorText, fmtTime } = YJ;

  // One input for a declared field; `read()` gives its value (undefined when empty).
  function field(f, prefix) {
    const id = `f-${prefix}${f.key}`;
    const label = el("label", { for: id }, f.title || f.key, f.required === true ? " *" : "");
    if (f.type === "list") {
      const rows = el("div", { class: "rows", "data-list": f.key });
      const readers = [];
      const add = () => {
        const subs = f.fields.map((s) => field(s, `${prefix}${f.key}-${readers.length}-`));
        const row = el("fieldset", { class: "row" }, subs.map((s) => s.node));
        const reader = () => Object.fromEntries(subs.map((s) => [s.key, s.read()]).filter(([, v]) => v !== undefined));
        readers.push(reader);
        row.append(el("button", { type: "button", class: "link", onclick: () => {
          readers.splice(readers.indexOf(reader), 1); row.remove(); YJ.intakeChanged();
        } }, t("remove_row")));
        rows.append(row);
      };
      const node = el("div", { class: "field list" }, el("span", { class: "label" }, f.title || f.key),
        rows, el("button", { type: "button", class: "link", onclick: () => { add(); YJ.intakeChanged(); } }, t("add_row")));
      return { key: f.key, node, read: () => (readers.length ? readers.map((r) => r()) : undefined) };
    }
    if (f.type === "object") {
      const subs = f.fields.map((s) => field(s, `${prefix}${f.key}-`));
      const node = el("fieldset", { class: "field" }, el("legend", {}, f.title || f.key), subs.map((s) => s.node));
      return { key: f.key, node, read: () => Object.fromEntries(subs.map((s) => [s.key, s.read()]).filter(([, v]) => v !== undefined)) };
    }
    let input;
    if (f.allowed) {
      input = el("select", { id, name: f.key }, el("option", { value: "" }, "—"),
        f.allowed.map((v, i) => el("option", { value: String(i) }, String(v))));
    } else if (f.type === "boolean") {
      input = el("input", { id, name: f.key, type: "checkbox" });
    } else {
      const type = { number: "number", integer: "number", date: "date" }[f.type] || "text";
      input = el("input", { id, name: f.key, type, step: f.type === "number" ? "any" : null, min: f.type !== "string" ? f.min : null,
        max: f.type !== "string" ? f.max : null, autocomplete: "off" });
    }
    if (f.default !== null && f.default !== undefined && !f.allowed) {
      if (f.type === "boolean") input.checked = !!f.default; else input.value = String(f.default);
    }
    input.addEventListener("input", () => YJ.intakeChanged());
    input.addEventListener("change", () => YJ.intakeChanged());
    const read = () => {
      if (f.allowed) return input.value === "" ? undefined : f.allowed[Number(input.value)];
      if (f.type === "boolean") return input.checked;
      if (input.value === "") return undefined;
      if (f.type === "number" || f.type === "integer") return Number(input.value);
      return input.value;
    };
    return { key: f.key, node: el("div", { class: "field" }, label, input), read };
  }

  let timer = null;
  let refresh = () => {};
  YJ.intakeChanged = () => { clearTimeout(timer); timer = setTimeout(() => refresh(), 250); };

  async function intake() {
    const show = YJ.shower();
    const list = await api("GET", "/v1/bundles");
    if (!list.ok) return show(el("p", { class: "error" }, errorText(list)));
    const picker = el("select", { id: "bundle" }, el("option", { value: "" }, t("pick_bundle")),
      list.data.map((b) => el("option", { value: b.id }, b.title)));
    const area = el("div", { id: "intake-area" });
    picker.addEventListener("change", () => open(picker.value, area, show));
    show(el("h1", {}, t("intake")), el("label", { for: "bundle" }, t("bundle")), picker, area);
  }

  async function open(id, area, show) {
    area.replaceChildren();
    if (!id) return;
    const b = await api("GET", `/v1/bundles/${encodeURIComponent(id)}`);
    if (!b.ok) return area.replaceChildren(el("p", { class: "error" }, errorText(b)));
    const bundle = b.data;
    const fields = bundle.form.map((f) => field(f, ""));
    const files = {};
    const items = el("ul", { id: "items" });
    const checklist = el("table", { id: "checklist" });
    const dates = el("p", { id: "dates" });
    const problems = el("ul", { id: "problems", class: "error" });
    const result = el("div", { id: "submit-result" });
    const region = el("input", { id: "region", value: YJ.session().region || "", inputmode: "numeric", autocomplete: "off",
      required: true, pattern: "[0-9]{2,12}", oninput: () => YJ.intakeChanged() });
    const read = () => Object.fromEntries(fields.map((f) => [f.key, f.read()]).filter(([, v]) => v !== undefined));
    const materials = () => Object.fromEntries(Object.entries(files).map(([k, v]) => [k, { name: v.name, sha256: v.sha256 }]));
    refresh = async () => {
      const r = await api("POST", `/v1/bundles/${encodeURIComponent(id)}/preview`, { version: bundle.version, region: region.value || undefined, form: read(), materials: materials() });
      if (!r.ok) { problems.replaceChildren(el("li", {}, errorText(r))); return; }
      const p = r.data;
      items.replaceChildren(...p.tasks.map((x) => el("li", { "data-task": x.name, class: x.applies === false ? "off" : x.applies === null ? "maybe" : "on" },
        `${x.title}（${x.department}）`, el("span", { class: "tag" }, x.applies === false ? t("not_applies") : x.applies === null ? t("undecided") : t("applies")))));
      checklist.replaceChildren(el("tr", {}, el("th", {}, t("materials")), el("th", {}, t("status")), el("th", {}, "")),
        ...p.materials.filter((m) => m.source !== "task").map((m) => {
          const state = m.source === "shared" ? t("shared") : m.supplied ? `${t("attached")}：${files[m.id].name}`
            : m.needed ? (m.deferrable ? `${t("needed")}（${t("deferrable")} ${m.deferrable}）` : t("needed")) : t("optional");
          const chooser = m.source === "applicant" ? el("input", { type: "file", "data-material": m.id, onchange: async (ev) => {
            const file = ev.target.files[0];
            if (!file) { delete files[m.id]; } else { files[m.id] = { name: file.name, sha256: await YJ.sha256(await file.arrayBuffer()) }; }
            refresh();
          } }) : "";
          return el("tr", { "data-material": m.id, class: m.needed && !m.supplied && m.source === "applicant" ? "todo" : "" },
            el("td", {}, m.title), el("td", {}, state), el("td", {}, chooser));
        }));
      dates.replaceChildren(`${t("due")}：${fmtTime(p.due)}　${t("statutory_due")}：${fmtTime(p.statutory_due)}`);
      problems.replaceChildren(...(p.not_offered ? [el("li", {}, p.not_offered)] : []),
        ...p.problems.map((x) => el("li", { "data-path": x.path }, `${x.path}：${x.message}`)));
    };
    const submit = el("button", { type: "submit", id: "submit" }, t("submit"));
    const form = el("form", { id: "intake", onsubmit: async (ev) => {
      ev.preventDefault();
      submit.disabled = true;
      const key = `console-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const r = await api("POST", "/v1/cases", { bundle: id, version: bundle.version, region: region.value, form: read(), materials: materials(), idempotency_key: key, channel: "window" });
      submit.disabled = false;
      if (!r.ok) { result.replaceChildren(el("p", { class: "error" }, errorText(r))); return; }
      receipt(bundle, r.data, show);
    } }, el("h2", {}, t("form")), el("label", { for: "region" }, t("region"), " *"), region,
      fields.map((f) => f.node), submit, result);
    area.replaceChildren(el("div", { class: "cols" }, form,
      el("aside", {}, el("h2", {}, t("items")), items, el("h2", {}, t("materials")), checklist, dates, el("h3", {}, t("problems")), problems)));
    refresh();
  }

  function receipt(bundle, c, show) {
    const rows = [[t("case_no"), c.case_no], [t("progress_code"), c.progress_code || "—"], [t("bundle"), bundle.title],
      [t("accepted_at"), fmtTime(c.accepted_at)], [t("due"), fmtTime(c.deadline)], [t("statutory_due"), fmtTime(c.statutory_deadline)]];
    show(el("section", { id: "receipt", class: "receipt" }, el("h1", {}, t("receipt")),
      el("table", {}, rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", { "data-field": k }, v)))),
      el("h2", {}, t("items")),
      el("ul", {}, (c.tasks || []).filter((x) => x.status !== "skipped").map((x) => el("li", {}, `${x.title}（${x.department}）`))),
      el("p", { class: "meta" }, "凭办件编号和查询码可在 /progress 查询办理进度。"),
      el("p", { class: "noprint" }, el("button", { type: "button", onclick: () => window.print() }, t("print")), " ",
        el("a", { href: `#/case/${encodeURIComponent(c.case_no)}`, id: "open-case" }, t("open_case")))));
  }

  YJ.register("intake", intake);
})();
