// 部门工作台: a department without a back office of its own takes its tasks from its queue
// (a long-polling fetch, the same leases as any back office) and decides them: accept
// (受理), approve with the declared outputs, refuse with a reason, ask for a supplement,
// suspend for a special step and resume.
"use strict";

(() => {
  const { t, el, api, errorText, fmtTime } = YJ;
  const STEPS = ["现场踏勘", "检验检测", "专家评审", "听证", "公示", "other"];
  const held = new Map(); // task_id → fetched task (with its lease)
  let polling = 0;

  function parse(type, text) {
    if (text === "") return undefined;
    if (type === "number" || type === "integer") return Number(text);
    if (type === "boolean") return text === "true" || text === "是";
    if (type === "licence") return { name: text, uri: `urn:console:${encodeURIComponent(text)}`, sha256: "" };
    return text;
  }

  async function decide(task, path, body, status) {
    const r = await api("POST", `/v1/tasks/${encodeURIComponent(task.task_id)}/${path}`, { lease_token: task.lease_token, ...body });
    status.textContent = r.ok ? `${t("done")}（${r.data.status || path}）` : errorText(r);
    status.className = `status ${r.ok ? "ok" : "error"}`;
    if (r.ok && r.data.lease_token) task.lease_token = r.data.lease_token;
    if (r.ok && path === "complete") held.delete(task.task_id);
    return r.ok;
  }

  async function card(task) {
    const b = await api("GET", `/v1/bundles/${encodeURIComponent(task.bundle)}/${task.version}`);
    const spec = b.ok ? b.data.tasks.find((x) => x.id === task.task) : null;
    const status = el("p", { class: "status" });
    const outputs = Object.entries(spec ? spec.output : {}).map(([k, v]) => {
      const type = typeof v === "string" ? v : (v && v.type) || "string";
      const input = el("input", { name: k, "data-output": k, autocomplete: "off" });
      return { k, type, node: el("label", {}, `${k}（${type}）`, input), input };
    });
    const reason = el("input", { name: "reason", "data-reason": "", autocomplete: "off" });
    const missing = el("select", { name: "missing", multiple: true, size: 3 },
      Object.keys(task.materials || {}).concat(spec ? [] : []).map((m) => el("option", { value: m }, m)));
    const step = el("select", { name: "step" }, STEPS.map((s) => el("option", { value: s }, s)));
    const actions = el("div", { class: "actions" },
      el("button", { type: "button", "data-act": "accept", onclick: () => decide(task, "accept", {}, status) }, t("accept")),
      el("button", { type: "button", "data-act": "approve", onclick: () => {
        const output = Object.fromEntries(outputs.map((o) => [o.k, parse(o.type, o.input.value)]).filter(([, v]) => v !== undefined));
        decide(task, "complete", { decision: "approved", output }, status).then((ok) => ok && node.classList.add("settled"));
      } }, t("approve")),
      el("button", { type: "button", "data-act": "refuse", class: "danger", onclick: () =>
        decide(task, "complete", { decision: "rejected", reason: reason.value }, status).then((ok) => ok && node.classList.add("settled")) }, t("refuse")),
      el("button", { type: "button", "data-act": "supplement", onclick: () => {
        const chosen = Array.from(missing.selectedOptions, (o) => ({ material: o.value, reason: reason.value || t("supplement") }));
        decide(task, "complete", { decision: "supplement", missing: chosen.length ? chosen : [{ reason: reason.value }] }, status)
          .then((ok) => ok && node.classList.add("settled"));
      } }, t("supplement")),
      el("button", { type: "button", "data-act": "suspend", onclick: () => decide(task, "suspend", { reason: step.value, note: reason.value || step.value }, status) }, t("suspend")),
      el("button", { type: "button", "data-act": "resume", onclick: () => decide(task, "resume", {}, status) }, t("resume")));
    const node = el("article", { class: "task", "data-task-id": task.task_id, "data-case": task.case_no },
      el("h3", {}, `${task.title} · `, el("a", { href: `#/case/${encodeURIComponent(task.case_no)}` }, task.case_no)),
      el("p", { class: "meta" }, `${t("due")}：${fmtTime(task.deadline)}　${t("lease_until")}：${fmtTime(task.lease_expires_at)}`),
      el("details", {}, el("summary", {}, t("input")), el("pre", {}, JSON.stringify(task.input, null, 2))),
      el("details", {}, el("summary", {}, t("materials")), el("ul", {}, Object.entries(task.materials || {}).map(([k, v]) =>
        el("li", {}, `${k}：${v && v.name ? v.name : JSON.stringify(v)}`)))),
      outputs.length ? el("fieldset", { class: "outputs" }, el("legend", {}, t("approve")), outputs.map((o) => o.node)) : null,
      el("label", {}, t("reason"), reason), el("label", {}, t("supplement"), missing), el("label", {}, t("suspend"), step),
      actions, status);
    return node;
  }

  async function fetchOnce(list, wait) {
    const dep = YJ.session().department;
    const r = await api("POST", `/v1/departments/${encodeURIComponent(dep)}/tasks/fetch`,
      { max: 5, lease: "15m", wait, worker: `console:${YJ.session().name}` });
    if (!r.ok) { list.prepend(el("p", { class: "error" }, errorText(r))); return false; }
    for (const task of r.data.tasks) {
      if (held.has(task.task_id)) continue;
      held.set(task.task_id, task);
      list.querySelector(".empty")?.remove();
      list.append(await card(task));
    }
    return true;
  }

  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

  async function desk() {
    const show = YJ.shower();
    const list = el("div", { id: "queue" });
    const mine = ++polling;
    show(el("h1", {}, `${t("desk")} · ${YJ.session().department}`),
      el("p", {}, el("button", { type: "button", id: "fetch", onclick: () => fetchOnce(list, "0s") }, t("fetch"))), list);
    for (const task of held.values()) list.append(await card(task));
    if (!held.size) list.append(el("p", { class: "empty meta" }, t("no_tasks")));
    // Long poll while this page is shown: a task made ready anywhere appears within a moment.
    while (mine === polling && location.hash.startsWith("#/desk")) {
      if (held.size >= 5) await sleep(20000);
      else if (!(await fetchOnce(list, "20s"))) await sleep(5000);
      // Keep the leases of the tasks still open.
      for (const task of held.values()) {
        const r = await api("POST", `/v1/tasks/${encodeURIComponent(task.task_id)}/heartbeat`, { lease_token: task.lease_token, lease: "15m" });
        if (!r.ok) held.delete(task.task_id);
      }
    }
  }

  window.addEventListener("hashchange", () => { if (!location.hash.startsWith("#/desk")) polling++; });
  YJ.register("desk", desk);
})();
