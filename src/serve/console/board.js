// 电子监察: yellow and red cases and units counted by department (GET /v1/board, from
// indexes over the warned rows), the cases listed with filters and keyset paging (the
// store's indexed search), the cases with a 好差评 rectification, the open incidents — all within the token's region subtree,
// which the server enforces.
"use strict";

(() => {
  const { t, el, api, errorText } = YJ;

  async function board() {
    const show = YJ.shower();
    const region = el("input", { id: "f-region", inputmode: "numeric", autocomplete: "off", value: YJ.session().region || "" });
    const counts = el("div", { id: "counts" });
    const warning = el("select", { id: "f-warning" }, ["red", "yellow"].map((w) => el("option", { value: w }, t(w))),
      el("option", { value: "" }, t("all")));
    const dep = el("select", { id: "f-department" }, el("option", { value: "" }, t("all")));
    const list = el("div", { id: "board-list" });
    const more = el("button", { type: "button", id: "more", hidden: true }, t("next_page"));
    let next = null;
    const drawCounts = async () => {
      const r = await api("GET", `/v1/board?${new URLSearchParams(region.value ? { region: region.value } : {})}`);
      if (!r.ok) { counts.replaceChildren(el("p", { class: "error" }, errorText(r))); return; }
      const b = r.data;
      const chosen = dep.value;
      dep.replaceChildren(el("option", { value: "" }, t("all")), b.departments.map((d) => el("option", { value: d.department }, d.department)));
      dep.value = b.departments.some((d) => d.department === chosen) ? chosen : "";
      counts.replaceChildren(el("table", {},
        el("tr", {}, el("th", {}, ""), el("th", {}, t("yellow")), el("th", {}, t("red"))),
        el("tr", { "data-row": "cases" }, el("th", {}, t("cases_list")), el("td", { class: "w-yellow" }, b.yellow_cases), el("td", { class: "w-red" }, b.red_cases)),
        b.departments.map((d) => el("tr", { "data-department": d.department }, el("th", {}, `${d.department}（${t("task")}）`),
          el("td", { class: "w-yellow" }, d.yellow), el("td", { class: "w-red" }, d.red)))));
    };
    const load = async (append) => {
      const params = { per_page: 50 };
      if (warning.value) params.warning = warning.value;
      if (dep.value) params.department = dep.value;
      if (region.value) params.region = region.value;
      if (append && next) params.before = next;
      const r = await api("GET", `/v1/cases?${new URLSearchParams(params)}`);
      if (!r.ok) { list.replaceChildren(el("p", { class: "error" }, errorText(r))); return; }
      next = r.data.next;
      more.hidden = !next;
      const table = YJ.caseTable(r.data.cases);
      if (append) list.append(table);
      else list.replaceChildren(el("p", { class: "meta" }, `${t("total")}：${r.data.total}${r.data.total_capped ? "+" : ""}`), table);
    };
    more.addEventListener("click", () => load(true));
    const filter = el("form", { id: "filters", class: "filters", onsubmit: async (ev) => { ev.preventDefault(); await drawCounts(); load(false); drawRectifications(); } },
      el("label", {}, t("region"), region), el("label", {}, t("warning"), warning), el("label", {}, t("department"), dep),
      el("button", { type: "submit" }, t("filter")));
    const incidents = el("div", { id: "incidents" });
    const rectifications = el("div", { id: "rectifications" });
    const drawRectifications = async () => {
      const params = { task: "rectify", per_page: 50 };
      if (region.value) params.region = region.value;
      const r = await api("GET", `/v1/cases?${new URLSearchParams(params)}`);
      rectifications.replaceChildren(!r.ok ? el("p", { class: "error" }, errorText(r))
        : r.data.cases.length ? YJ.caseTable(r.data.cases) : el("p", { class: "meta" }, t("none")));
    };
    show(el("h1", {}, t("board")), filter, el("h2", {}, t("counts")), counts, el("h2", {}, t("cases_list")), list, more,
      el("h2", {}, t("rectifications")), rectifications, el("h2", {}, t("incidents")), incidents);
    await drawCounts();
    load(false);
    drawRectifications();
    const inc = await api("GET", "/v1/incidents");
    if (inc.ok) {
      const items = inc.data.incidents || [];
      incidents.replaceChildren(items.length ? el("table", {}, el("tr", {}, el("th", {}, t("case_no")), el("th", {}, t("task")),
        el("th", {}, t("department")), el("th", {}, t("reason"))), items.map((i) => el("tr", {},
        el("td", {}, el("a", { href: `#/case/${encodeURIComponent(i.case_no)}` }, i.case_no)), el("td", {}, i.task),
        el("td", {}, i.department), el("td", {}, i.reason || "")))) : el("p", { class: "meta" }, t("none")));
    }
  }

  YJ.register("board", board);
})();
