// A case: the why-sentence, the bundle's graph coloured by live state with the critical
// path drawn bold, each task with its department, due date, working days left and warning,
// the 一次性告知 notice, the timeline, the documents and the 好差评.
"use strict";

(() => {
  const { t, el, api, errorText, fmtTime, daysText } = YJ;

  // "等待市场监管局：营业执照，剩余 1 个工作日"
  YJ.whySentence = (why) => {
    if (why.status !== "running" && why.status !== "awaiting_supplement") return `${t("closed")}（${why.status}）`;
    if (why.waiting_for_applicant) return `${t("wait_applicant")}${why.respond_by ? "，" + fmtTime(why.respond_by) : ""}`;
    if (!why.holding.length) return `${t("wait_for")}：—`;
    return why.holding.map((h) => `${t("wait_for")}${h.department_name}：${h.title}，${daysText(h.working_days_left, h.due)}`).join("；");
  };

  async function lookup() {
    const show = YJ.shower();
    const input = el("input", { id: "case-no", autocomplete: "off", required: true });
    const list = el("div", { id: "recent" });
    show(el("h1", {}, t("cases")), el("form", { id: "lookup", onsubmit: (ev) => {
      ev.preventDefault();
      location.hash = `#/case/${encodeURIComponent(input.value.trim())}`;
    } }, el("label", { for: "case-no" }, t("case_no")), input, el("button", { type: "submit" }, t("lookup"))), list);
    const r = await api("GET", "/v1/cases?per_page=20");
    if (r.ok) list.replaceChildren(YJ.caseTable(r.data.cases));
  }

  YJ.caseTable = (cases) => el("table", { class: "cases" },
    el("tr", {}, el("th", {}, t("case_no")), el("th", {}, t("bundle")), el("th", {}, t("region")), el("th", {}, t("status")),
      el("th", {}, t("warning")), el("th", {}, t("due"))),
    cases.map((c) => el("tr", { "data-case": c.case_no, class: `w-${c.warning}` },
      el("td", {}, el("a", { href: `#/case/${encodeURIComponent(c.case_no)}` }, c.case_no)), el("td", {}, c.bundle),
      el("td", {}, c.region), el("td", {}, c.status), el("td", {}, el("span", { class: `badge w-${c.warning}` }, t(c.warning))),
      el("td", {}, fmtTime(c.deadline)))));

  async function casePage([caseNo]) {
    const show = YJ.shower();
    if (!caseNo) return lookup();
    const path = encodeURIComponent(caseNo);
    const [c, why, events] = await Promise.all([api("GET", `/v1/cases/${path}`), api("GET", `/v1/cases/${path}/why`),
      api("GET", `/v1/cases/${path}/events?per_page=500`)]);
    if (!c.ok) return show(el("h1", {}, caseNo), el("p", { class: "error" }, errorText(c)));
    const cs = c.data;
    const b = await api("GET", `/v1/bundles/${encodeURIComponent(cs.bundle)}/${cs.version}`);
    const w = why.ok ? why.data : null;
    const left = new Map((w ? w.holding : []).map((h) => [h.name, daysText(h.working_days_left, h.due)]));
    const states = Object.fromEntries(cs.tasks.map((x) => [x.name, { status: x.status, warning: x.warning }]));
    const parts = [
      el("h1", {}, `${b.ok ? b.data.title : cs.bundle} · ${cs.case_no}`),
      el("p", { class: "meta" }, `${t("status")}：${cs.status}　${t("region")}：${cs.region}　${t("due")}：${fmtTime(cs.deadline)}　`,
        el("span", { class: `badge w-${cs.warning}` }, t(cs.warning))),
      w ? el("p", { id: "why", class: `why w-${w.warning}` }, YJ.whySentence(w)) : null,
      w && w.critical_path.length ? el("p", { class: "meta", id: "path" }, `${t("path")}：${w.critical_path.join(" → ")}；${t("by_limits")}：${fmtTime(w.completion_by_limits)}`) : null,
    ];
    if (cs.supplement_notice) {
      const n = cs.supplement_notice;
      parts.push(el("section", { id: "notice", class: "notice" }, el("h2", {}, t("notice")),
        n.respond_by ? el("p", {}, fmtTime(n.respond_by)) : null,
        el("ul", {}, n.items.map((i) => el("li", {}, `${i.department} · ${i.material || i.field || ""}：${i.reason}`)))));
    }
    if (b.ok) parts.push(el("h2", {}, t("graph")), el("div", { class: "graph-box", id: "graph" }, YJ.graph(b.data.tasks, states, w ? w.critical_path : [])));
    parts.push(el("table", { id: "tasks" },
      el("tr", {}, el("th", {}, t("task")), el("th", {}, t("department")), el("th", {}, t("status")), el("th", {}, t("due")),
        el("th", {}, t("days_left")), el("th", {}, t("warning")), el("th", {}, t("reason"))),
      cs.tasks.map((x) => el("tr", { "data-task": x.name, "data-status": x.status, class: YJ.STATE_CLASS[x.status] },
        el("td", {}, x.title), el("td", {}, x.department), el("td", {}, t("s_" + x.status)), el("td", {}, fmtTime(x.deadline)),
        el("td", {}, left.has(x.name) ? left.get(x.name) : "—"),
        el("td", {}, el("span", { class: `badge w-${x.warning}` }, t(x.warning))), el("td", {}, x.reason || "")))));
    if (cs.result) {
      parts.push(el("h2", {}, t("documents")), el("table", { id: "documents" },
        Object.entries(cs.result.documents).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, typeof v === "string" ? v : JSON.stringify(v))))));
    }
    if (cs.evaluations.length) {
      parts.push(el("h2", {}, t("evaluation")), el("ul", { id: "evaluations" },
        cs.evaluations.map((e) => el("li", {}, `${t("grade")}：${e.grade ?? ""} ${e.comment ?? ""}`))));
    }
    if (events.ok) {
      parts.push(el("h2", {}, t("timeline")), el("ol", { id: "timeline" }, events.data.events.map((e) =>
        el("li", {}, el("time", {}, fmtTime(e.at)), " ", e.event || e.kind || "", e.task ? ` · ${e.task}` : "", ` · ${e.actor}`,
          e.reason ? ` · ${e.reason}` : ""))));
    }
    show(...parts);
  }

  YJ.register("cases", lookup);
  YJ.register("case", casePage);
})();
