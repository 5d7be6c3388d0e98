// The console's shell: session, language, navigation, the API client, and `el`, which
// builds every element from text nodes (nothing from a form, a bundle or a back office is
// ever parsed as HTML).
"use strict";

const YJ = (() => {
  const dict = {
    zh: {
      brand: "一件事", intake: "一表申请", cases: "办件查询", desk: "部门工作台", board: "电子监察",
      designer: "流程设计", login: "登录", logout: "退出", token: "令牌", login_hint:
      "请输入管理员发放的令牌（新安装时见 yijian-dev-tokens.json）。", lang: "English",
      bad_token: "令牌无效", forbidden: "无权访问", loading: "加载中…", error: "出错了",
      bundle: "事项", pick_bundle: "请选择一件事", form: "申请表", items: "办理事项", applies: "适用",
      not_applies: "不适用", undecided: "待定", materials: "材料清单", shared: "共享获取",
      from_task: "由事项产生", deferrable: "可容缺", needed: "需提交", optional: "非必需",
      attached: "已上传", due: "承诺办结", statutory_due: "法定办结", problems: "尚缺",
      submit: "提交申请", receipt: "受理回执", case_no: "办件编号", progress_code: "查询码",
      print: "打印回执", accepted_at: "受理时间", open_case: "查看办件", add_row: "添加一行",
      remove_row: "删除", status: "状态", department: "部门", task: "事项", warning: "预警",
      days_left: "剩余工作日", timeline: "办理过程", documents: "办结材料", evaluation: "好差评",
      notice: "一次性告知", why: "为何等待", wait_for: "等待", wait_applicant: "等待申请人补正",
      left_days: "剩余 {n} 个工作日", overdue_days: "已超期 {n} 个工作日", due_today: "今日到期", overdue: "已超期",
      closed: "已办结", path: "关键路径", by_limits: "按时限推算最迟办结", lookup: "查询",
      queue: "待办任务", refresh: "刷新", fetch: "领取任务", accept: "受理", approve: "准予许可",
      refuse: "不予许可", supplement: "要求补正", suspend: "挂起（特别程序）", resume: "恢复",
      reason: "理由", note: "说明", input: "申请信息", no_tasks: "暂无待办任务", done: "已提交",
      green: "正常", yellow: "黄牌", red: "红牌", counts: "预警统计", all: "全部", incidents: "异常", rectifications: "差评整改",
      filter: "筛选", next_page: "下一页", check: "检查", simulate: "模拟运行", script: "模拟脚本（simulate）", yaml: "流程定义 (YAML)", upload: "上传文件",
      no_problems: "没有错误", graph: "流程图", line: "行", submitted_ok: "已受理",
      lease_until: "锁定至", region: "区划", total: "合计", retry: "重试", cases_list: "办件",
      none: "无", grade: "评价", wait_since: "自", at: "于",
      s_waiting: "等待", s_ready: "待领取", s_dispatched: "办理中", s_supplement_requested: "待补正",
      s_suspended: "特别程序", s_retry_wait: "待重试", s_incident: "异常", s_approved: "已准予",
      s_rejected: "不予许可", s_skipped: "不适用", s_cancelled: "已取消", s_withdrawn: "已撤回",
      s_terminated: "已终止", s_revoked: "已撤销",
    },
    en: {
      brand: "One Thing", intake: "Intake", cases: "Cases", desk: "Desk", board: "Supervision",
      designer: "Designer", login: "Log in", logout: "Log out", token: "Token", login_hint:
      "Enter the token you were given (on a fresh install: yijian-dev-tokens.json).",
      lang: "中文", bad_token: "The token is not valid", forbidden: "Not allowed",
      loading: "Loading…", error: "Error", bundle: "Bundle", pick_bundle: "Pick a bundle",
      form: "Form", items: "Items", applies: "applies", not_applies: "does not apply",
      undecided: "undecided", materials: "Materials", shared: "fetched by data sharing",
      from_task: "produced by an item", deferrable: "may follow (容缺)", needed: "needed",
      optional: "optional", attached: "attached", due: "Promised", statutory_due: "Statutory",
      problems: "Missing", submit: "Submit", receipt: "Acceptance receipt", case_no: "Case no.",
      progress_code: "Query code", print: "Print", accepted_at: "Accepted", open_case: "Open case",
      add_row: "Add a row", remove_row: "Remove", status: "Status", department: "Department",
      task: "Item", warning: "Warning", days_left: "Working days left", timeline: "Timeline",
      documents: "Documents", evaluation: "Evaluation", notice: "Supplement notice", why: "Why waiting",
      wait_for: "Waiting for", wait_applicant: "Waiting for the applicant's supplement",
      left_days: "{n} working day(s) left", overdue_days: "{n} working day(s) overdue",
      due_today: "due today", overdue: "overdue", closed: "Closed", path: "Critical path", by_limits:
      "Latest end by the limits", lookup: "Open", queue: "Queue", refresh: "Refresh", fetch:
      "Take tasks", accept: "Accept", approve: "Approve", refuse: "Refuse", supplement:
      "Ask for a supplement", suspend: "Suspend (special step)", resume: "Resume", reason: "Reason",
      note: "Note", input: "Input", no_tasks: "No tasks", done: "Sent", green: "Green", yellow: "Yellow", red: "Red",
      counts: "Warnings", all: "All", incidents: "Incidents", rectifications: "Rectifications (bad ratings)", filter: "Filter", next_page: "Next page",
      check: "Check", simulate: "Simulate", script: "Script (simulate)", yaml: "Bundle (YAML)", upload: "Upload a file", no_problems: "No errors",
      graph: "Graph", line: "line", submitted_ok: "Accepted", lease_until: "Locked until",
      region: "Region", total: "Total", retry: "Retry", cases_list: "Cases", none: "none",
      grade: "Grade", wait_since: "since", at: "at",
      s_waiting: "waiting", s_ready: "ready", s_dispatched: "in progress", s_supplement_requested:
      "supplement", s_suspended: "suspended", s_retry_wait: "retrying", s_incident: "incident",
      s_approved: "approved", s_rejected: "refused", s_skipped: "skipped", s_cancelled: "cancelled",
      s_withdrawn: "withdrawn", s_terminated: "terminated", s_revoked: "revoked",
    },
  };
  let lang = localStorage.getItem("yj.lang") === "en" ? "en" : "zh";
  let session = null;
  const views = {};

  function t(key, vars) {
    let s = dict[lang][key] ?? dict.zh[key] ?? key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, String(v));
    return s;
  }

  // el("div", {class: "x", onclick: f}, "text", child, [more])
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function svg(tag, attrs, ...children) {
    const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  async function api(method, path, body, type) {
    const headers = { Accept: "application/json" };
    if (session) headers["X-CSRF-Token"] = session.csrf;
    let payload;
    if (body !== undefined) {
      headers["Content-Type"] = type || "application/json";
      payload = type ? body : JSON.stringify(body);
    }
    const r = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
    let data = null;
    const text = await r.text();
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    return { status: r.status, ok: r.ok, data };
  }

  function errorText(r) {
    const e = r.data && r.data.error;
    if (!e) return `${t("error")} (${r.status})`;
    const details = Array.isArray(e.details) ? e.details.map((d) => d.path ? `${d.path}: ${d.message}` : (d.message || JSON.stringify(d))) : [];
    return [e.message, ...details].join("；");
  }

  function fmtTime(s) {
    if (!s) return "—";
    const d = new Date(s);
    return d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  }

  function daysText(n, due) {
    if (due && new Date(due) < new Date() && !(n < 0)) return t("overdue");
    if (n === null || n === undefined) return "—";
    if (n > 0) return t("left_days", { n });
    if (n === 0) return t("due_today");
    return t("overdue_days", { n: -n });
  }

  function main() { return document.getElementById("main"); }
  function show(...nodes) { main().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined)); }
  // Each route draws through its own `show`: a slow view whose route was left meanwhile
  // draws nothing over the next one.
  let gen = 0;
  function shower() {
    const mine = gen;
    return (...nodes) => { if (mine === gen) main().replaceChildren(...nodes.filter((n) => n !== null && n !== undefined)); };
  }

  function register(name, view) { views[name] = view; }

  function navItems() {
    if (!session) return [];
    const r = session.role;
    const items = [];
    if (r === "window" || r === "admin") items.push("intake");
    items.push("cases");
    if (r === "department") items.push("desk");
    if (r === "supervisor" || r === "admin") items.push("board");
    items.push("designer");
    return items;
  }

  function drawChrome() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelector(".brand").textContent = t("brand");
    const nav = document.getElementById("nav");
    const current = (location.hash.split("/")[1] || "");
    nav.replaceChildren(...navItems().map((v) =>
      el("a", { href: `#/${v}`, class: v === current ? "on" : null, "data-view": v }, t(v))));
    document.getElementById("who").textContent = session
      ? `${session.name} · ${session.department || session.role}${session.region ? " · " + session.region : ""}` : "";
    document.getElementById("lang").textContent = t("lang");
    const out = document.getElementById("logout");
    out.textContent = t("logout");
    out.hidden = !session;
  }

  function loginView(message) {
    const input = el("input", { id: "token", type: "password", autocomplete: "off", required: true });
    const msg = el("p", { class: "error", id: "login-error" }, message || "");
    const form = el("form", {
      id: "login", onsubmit: async (ev) => {
        ev.preventDefault();
        const r = await api("POST", "/console/login", { token: input.value });
        if (!r.ok) { msg.textContent = r.status === 401 ? t("bad_token") : errorText(r); return; }
        session = r.data;
        input.value = "";
        route();
      },
    }, el("h1", {}, t("login")), el("p", {}, t("login_hint")),
      el("label", { for: "token" }, t("token")), input, el("button", { type: "submit" }, t("login")), msg);
    show(form);
  }

  async function route() {
    drawChrome();
    if (!session) return loginView();
    const [, name, ...rest] = location.hash.split("/");
    const items = navItems();
    const view = views[name] && (items.includes(name) || name === "case") ? name : items[0];
    if (view !== name) { location.hash = `#/${view}`; return; }
    gen++;
    show(el("p", { class: "meta" }, t("loading")));
    try {
      await views[view](rest.map(decodeURIComponent));
    } catch (e) {
      show(el("p", { class: "error" }, `${t("error")}: ${e && e.message ? e.message : e}`));
    }
  }

  async function start() {
    document.getElementById("lang").addEventListener("click", () => {
      lang = lang === "zh" ? "en" : "zh";
      localStorage.setItem("yj.lang", lang);
      route();
    });
    document.getElementById("logout").addEventListener("click", async () => {
      await api("POST", "/console/logout");
      session = null;
      location.hash = "";
      route();
    });
    window.addEventListener("hashchange", route);
    const r = await api("GET", "/console/session");
    session = r.ok ? r.data : null;
    route();
  }

  document.addEventListener("DOMContentLoaded", start);

  // Colours of unit states, shared by the graph and the tables.
  const STATE_CLASS = {
    waiting: "s-waiting", ready: "s-ready", dispatched: "s-dispatched",
    supplement_requested: "s-supplement", suspended: "s-suspended", retry_wait: "s-dispatched",
    incident: "s-refused", approved: "s-approved", rejected: "s-refused", skipped: "s-skipped",
    cancelled: "s-cancelled", withdrawn: "s-cancelled", terminated: "s-cancelled", revoked: "s-revoked",
  };

  return {
    t, el, svg, api, errorText, fmtTime, daysText, shower, register, route, STATE_CLASS,
    session: () => session,
    lang: () => lang,
  };
})();
