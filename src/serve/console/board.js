// 电子监察: yellow and red cases counted by department and listed with filters and keyset
// paging — every query a search of the store's indexed columns, within the token's region
// subtree (the server scopes it) — and the open incidents.
"use strict";

(() => {
  const { t, el, api, errorText } = YJ;

  async function count(params) {
    const r = await api("GET", `/v1/cases?per_page=1&${new URLSearchParams(params)}`);
    return r.ok ? `${r.data.total}${r.data.total_capped ? "+" : ""}` : "?";
  }

  async function board() {
    const show = YJ.shower();
    const bundles = await api("GET", "/v1/bundles");
    if (!bundles.ok) return show(el("p", { class: "error" }, errorText(bundles)));
    const departments = new Set();
    for (const b of bundles.data) {
      const one = await api("GET", `/v1/bundles/${encodeURIComponent(b.id)}`);
      if (one.ok) one.data.departments.forEach((d) => departments.add(d));
    }
    const deps = [...departments].sort();
    const counts = el("table", { id: "counts" });
    const warning = el("select", { id: "f-warning" }, ["red", "yellow"].map((w) => el("option", { value: w }, t(w))),
      el("option", { value: "" }, t("all")));
    const dep = el("select", { id: "f-department" }, el("option", { value: "" }, t("all")), deps.map((d) => el("option", { value: d }, d)));
    const list = el("div", { id: "board-list" });
    const more = el("button", { type: "button", id: "more", hidden: true }, t("next_page"));
    let next = null;
    const load = async (append) => {
      const params = { per_page: 50 };
      if (warning.value) params.warning = warning.value;
      if (dep.value) params.department = dep.value;
      if (append && next) params.before = next;
      const r = await api("GET", `/v1/cases?${new URLSearchParams(params)}`);
      if (!r.ok) { list.replaceChildren(el("p", { class: "error" }, errorText(r))); return; }
      next = r.data.next;
      more.hidden = !next;
      const table = YJ.caseTable(r.data.cases);
      if (append) list.append(table); else list.replaceChildren(el("p", { class: "meta" }, `${t("total")}：${r.data.total}${r.data.total_capped ? "+" : ""}`), table);
    };
    more.addEventListener("click", () => load(true));
    const filter = el("form", { id: "filters", onsubmit: (ev) => { ev.preventDefault(); load(false); } },
      el("label", {}, t("warning"), warning), el("label", {}, t("department"), dep), el("button", { type: "submit" }, t("filter")));
    const incidents = el("div", { id: "incidents" });
    show(el("h1", {}, t("board")), el("h2", {}, t("counts")), counts, el("h2", {}, t("cases_list")), filter, list, more,
      el("h2", {}, t("incidents")), incidents);
    const rows = [el("tr", {}, el("th", {}, t("department")), el("th", {}, t("yellow")), el("th", {}, t("red")))];
    const [ay, ar] = await Promise.all([count({ warning: "yellow" }), count({ warning: "red" })]);
    rows.push(el("tr", { "data-department": "" }, el("th", {}, t("all")), el("td", { class: "w-yellow" }, ay), el("td", { class: "w-red" }, ar)));
    for (const d of deps) {
      const [y, r] = await Promise.all([count({ warning: "yellow", department: d }), count({ warning: "red", department: d })]);
      rows.push(el("tr", { "data-department": d }, el("th", {}, d), el("td", { class: "w-yellow" }, y), el("td", { class: "w-red" }, r)));
    }
    counts.replaceChildren(...rows);
    load(false);
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
