// 办件进度查询: posts the receipt's case number and code, shows the answer as text nodes
// only (never HTML from the answer).
"use strict";
(function () {
  const form = document.getElementById("lookup");
  const out = document.getElementById("result");
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(table, cells, head) {
    const tr = document.createElement("tr");
    for (const c of cells) tr.appendChild(el(head ? "th" : "td", c));
    table.appendChild(tr);
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    out.replaceChildren(el("p", "查询中…", "meta"));
    const body = {
      case_no: document.getElementById("case_no").value,
      code: document.getElementById("code").value,
    };
    let r;
    try {
      r = await fetch("/v1/progress", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (e) {
      out.replaceChildren(el("p", "网络错误,请稍后再试。", "error"));
      return;
    }
    if (r.status === 429) {
      out.replaceChildren(el("p", "查询次数过多,请稍后再试。", "error"));
      return;
    }
    if (!r.ok) {
      out.replaceChildren(el("p", "未找到与该办件编号和查询码相符的办件,请核对受理回执。", "error"));
      return;
    }
    const a = await r.json();
    const parts = [];
    parts.push(el("h2", a.title));
    const facts = el("table");
    facts.id = "facts";
    row(facts, ["办件编号", a.case_no]);
    if (a.applicant) row(facts, ["申请人", a.applicant]);
    row(facts, ["受理时间", a.accepted_at || "—"]);
    row(facts, ["办理状态", a.stage]);
    row(facts, ["承诺办结日期", a.due || "—"]);
    if (a.channels && a.channels.length) row(facts, ["办理渠道", a.channels.join(" → ")]);
    parts.push(facts);
    if (a.notice) {
      const n = el("div", null, "notice");
      n.id = "notice";
      n.appendChild(el("b", "一次性告知:请补正以下材料" + (a.notice.respond_by ? "(" + a.notice.respond_by + " 前)" : "")));
      const ul = el("ul");
      for (const m of a.notice.items) ul.appendChild(el("li", m.what + ":" + m.reason));
      n.appendChild(ul);
      parts.push(n);
    }
    const items = el("table");
    items.id = "items";
    row(items, ["事项", "部门", "状态", "承诺日期"], true);
    for (const i of a.items) row(items, [i.item, i.department, i.state, i.due || "—"]);
    parts.push(items);
    if (a.results && a.results.length) {
      parts.push(el("p", "可领取的办理结果:" + a.results.join("、")));
    }
    out.replaceChildren(...parts);
  });
})();
