// 流程设计: paste or upload a bundle's YAML, check it as a deploy would (nothing is
// deployed): each diagnostic with its code, marked at its line and column in the text, and
// the graph of a bundle without errors; and a `simulate` script run on it (nothing is
// deployed or stored).
"use strict";

(() => {
  const { t, el, api, errorText } = YJ;

  function marked(text, diagnostics) {
    const at = new Map();
    for (const d of diagnostics) (at.get(d.line) || at.set(d.line, []).get(d.line)).push(d);
    return el("ol", { class: "source", id: "source" }, text.split("\n").map((line, i) => {
      const here = at.get(i + 1) || [];
      const cls = here.some((d) => d.severity === "error") ? "bad" : here.length ? "warn" : null;
      return el("li", { class: cls, "data-line": i + 1 }, el("code", {}, line || " "),
        here.map((d) => el("div", { class: "marker", "data-code": d.code },
          `${" ".repeat(Math.max(0, d.column - 1))}^ ${d.code} ${d.message}${d.hint ? "（" + d.hint + "）" : ""}`)));
    }));
  }

  async function designer() {
    const show = YJ.shower();
    const text = el("textarea", { id: "yaml", rows: 18, spellcheck: "false" });
    const file = el("input", { type: "file", accept: ".yaml,.yml,text/yaml", id: "yaml-file" });
    const out = el("div", { id: "check-result" });
    const script = el("textarea", { id: "script", rows: 8, spellcheck: "false" });
    script.value = "# yijian simulate (docs/simulate.md): steps at instants, Beijing time\n" +
      "bundle: this\nsteps:\n  - at: 2026-09-18T09:00:00+08:00\n    submit: {form: {}}\n" +
      "  - until: 2026-10-09T18:00:00+08:00\n";
    const ran = el("div", { id: "simulate-result" });
    const simulate = el("button", { type: "button", id: "simulate", onclick: async () => {
      const r = await api("POST", "/v1/bundles/simulate", { yaml: text.value, script: script.value });
      if (!r.ok) { ran.replaceChildren(el("p", { class: "error" }, errorText(r))); return; }
      ran.replaceChildren(r.data.ok ? el("pre", { class: "table", id: "simulate-table" }, r.data.table)
        : el("p", { class: "error", id: "simulate-error" }, r.data.error));
    } }, t("simulate"));
    file.addEventListener("change", async () => { if (file.files[0]) text.value = await file.files[0].text(); });
    const form = el("form", { id: "designer", onsubmit: async (ev) => {
      ev.preventDefault();
      const r = await api("POST", "/v1/bundles/check", text.value, "application/yaml");
      if (!r.ok) { out.replaceChildren(el("p", { class: "error" }, errorText(r))); return; }
      const c = r.data;
      const list = el("ul", { id: "diagnostics" }, c.diagnostics.map((d) => el("li", { class: d.severity, "data-code": d.code },
        `${d.code} ${d.name} · ${t("line")} ${d.line}:${d.column} · ${d.message}`)));
      out.replaceChildren(el("p", { class: c.ok ? "ok" : "error", id: "verdict" }, c.ok ? t("no_problems") : `${c.diagnostics.filter((d) => d.severity === "error").length} ✗`),
        list, marked(text.value, c.diagnostics),
        c.bundle ? el("div", { class: "graph-box", id: "graph" }, YJ.graph(c.bundle.tasks, {}, [])) : null);
    } }, el("label", { for: "yaml" }, t("yaml")), text, el("label", { for: "yaml-file" }, t("upload")), file,
      el("button", { type: "submit", id: "check" }, t("check")));
    show(el("h1", {}, t("designer")), form, out, el("h2", {}, t("simulate")),
      el("label", { for: "script" }, t("script")), script, simulate, ran);
  }

  YJ.register("designer", designer);
})();
