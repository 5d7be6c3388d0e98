// The console in headless Chromium (Debian's package, driven by playwright-core):
// a window user submits 开办餐饮店 through the generated form and sees the receipt; the
// market department accepts and approves on its desk; the case page shows the new colours
// and the why-sentence; a late case is red on the board of a Nanjing supervisor, who does
// not see a Suzhou case; a designer's bad YAML is marked at its line; a shop name with
// `<script>` stays text; a POST without the CSRF token is refused.
//
// Run by tests/api/console.rs. Environment: YIJIAN_BASE, TOKENS (JSON: window, market,
// supervisor_nj, admin), LATE_CASE (a red case in 320106), FAR_CASE (a case in 320506),
// SHOTS (a folder for screenshots), CHROMIUM. Prints "console: done" when every check held.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.YIJIAN_BASE;
const TOKENS = JSON.parse(process.env.TOKENS);
const SHOTS = process.env.SHOTS;
mkdirSync(SHOTS, { recursive: true });
const SHOP = "<script>window.__pwned=1</script>张记面馆";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = false;
const errors = [];
const pages = [];

async function session(token) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, locale: "zh-CN" });
  const page = await context.newPage();
  pages.push(page);
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("dialog", async (d) => { errors.push("a dialog opened: " + d.message()); await d.dismiss(); });
  await page.goto(`${BASE}/`);
  await page.waitForURL(/\/console\/$/);
  await page.locator("#login").waitFor();
  await page.fill("#token", token);
  await page.click("#login button[type=submit]");
  await page.locator("#nav a").first().waitFor();
  return { context, page };
}

try {
  // 1. The window: generated form, live preview, files hashed in the browser, receipt.
  const win = await session(TOKENS.window);
  const page = win.page;
  assert.ok(!page.url().includes(TOKENS.window), "the token is not in the URL");
  const cookies = await win.context.cookies();
  const c = cookies.find((x) => x.name === "yijian_session");
  assert.ok(c && c.httpOnly && c.sameSite === "Strict", "an HttpOnly, SameSite=Strict session cookie");
  assert.equal(await page.evaluate(() => document.cookie.includes("yijian_session")), false, "scripts cannot read it");
  await page.goto(`${BASE}/console/#/intake`);
  await page.selectOption("#bundle", "open-restaurant");
  await page.locator("#f-uscc").waitFor();
  assert.equal(await page.inputValue("#region"), "", "an unscoped window names the region");
  await page.fill("#region", "320106");
  await page.fill("#f-uscc", "91320106MA1XY01234");
  await page.fill("#f-shop_name", SHOP);
  await page.fill("#f-address", "南京市鼓楼区中山路1号");
  await page.fill("#f-operator_name", "张三");
  await page.fill("#f-floor_area", "400");
  // Over 300 ㎡: the fire check applies and its two materials join the checklist.
  await page.locator('#items li[data-task="fire_check"].on').waitFor();
  await page.locator('#checklist tr[data-material="fire_commitment"].todo').waitFor();
  await page.fill("#f-floor_area", "120");
  await page.locator('#items li[data-task="fire_check"].off').waitFor();
  assert.equal(await page.locator('#checklist tr[data-material="fire_commitment"].todo').count(), 0);
  await page.click('[data-list="food_categories"] ~ button');
  await page.selectOption("#f-food_categories-0-category", { label: "hot_food" });
  assert.match(await page.locator('#checklist tr[data-material="business_licence"]').innerText(), /共享获取/);
  assert.match(await page.locator('#checklist tr[data-material="lease"]').innerText(), /可容缺 3wd/);
  const file = (name, text) => ({ name, mimeType: "application/pdf", buffer: Buffer.from(text) });
  await page.setInputFiles('input[data-material="floor_plan"]', file("平面图.pdf", "floor plan"));
  await page.locator('#checklist tr[data-material="floor_plan"]:has-text("平面图.pdf")').waitFor();
  await page.setInputFiles('input[data-material="food_safety_rules"]', file("制度.pdf", "rules"));
  // (Deferred by 容缺, the lease would hold back the permit's approval until supplied.)
  await page.setInputFiles('input[data-material="lease"]', file("租赁合同.pdf", "lease"));
  await page.locator('#checklist tr[data-material="lease"]:has-text("租赁合同.pdf")').waitFor();
  await page.locator('#checklist tr[data-material="food_safety_rules"]:has-text("制度.pdf")').waitFor();
  await page.waitForFunction(() => document.querySelectorAll("#problems li").length === 0);
  assert.match(await page.locator("#dates").innerText(), /承诺办结：\d{4}/);
  await page.screenshot({ path: join(SHOTS, "console-intake.png"), fullPage: true });
  await page.click("#submit");
  await page.locator("#receipt").waitFor();
  const receipt = await page.locator("#receipt").innerText();
  const caseNo = receipt.match(/办件编号\s+(\S+)/)[1];
  assert.match(caseNo, /^320106-/, "numbered in its region");
  assert.match(receipt, /查询码\s+[A-Z0-9]{4}/);
  assert.match(receipt, /食品经营许可/);
  await page.screenshot({ path: join(SHOTS, "console-receipt.png"), fullPage: true });

  // A POST with the session cookie but without the CSRF header is refused.
  const forged = await page.evaluate(async () => {
    const r = await fetch("/v1/cases", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ bundle: "open-restaurant", form: {} }) });
    return { status: r.status, body: await r.json() };
  });
  assert.equal(forged.status, 403);
  assert.equal(forged.body.error.code, "csrf");

  // 2. The market desk: take the food permit, accept it, approve it with its outputs.
  const desk = await session(TOKENS.market);
  await desk.page.goto(`${BASE}/console/#/desk`);
  const card = desk.page.locator(`article.task[data-case="${caseNo}"]`);
  await card.waitFor({ timeout: 30000 });
  // The shop name from the form is shown as text.
  assert.ok((await card.locator("pre").textContent()).includes(SHOP), "the input shows the name as text");
  await card.locator('[data-act="accept"]').click();
  await card.locator(".status.ok").waitFor();
  await card.locator('input[data-output="permit_no"]').fill("JY13201060000001");
  await card.locator('input[data-output="food_permit_pdf"]').fill("食品经营许可证.pdf");
  await desk.page.screenshot({ path: join(SHOTS, "console-desk.png"), fullPage: true });
  await card.locator('[data-act="approve"]').click();
  await card.locator(".status.ok:has-text('approved')").waitFor();

  // 3. The case page: approved colour, the graph, the why-sentence (closed now).
  await page.goto(`${BASE}/console/#/case/${encodeURIComponent(caseNo)}`);
  await page.locator("#tasks").waitFor();
  await page.locator('#tasks tr[data-task="food_permit"].s-approved').waitFor();
  await page.locator('#graph g[data-task="food_permit"].s-approved').waitFor();
  assert.match(await page.locator("#why").innerText(), /已办结/);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, "no script from the form ran");
  await page.screenshot({ path: join(SHOTS, "console-case.png"), fullPage: true });

  // The applicant rates the closed case 1 (非常不满意): a rectification opens for the market.
  const rated = await page.evaluate(async (no) => {
    const { csrf } = await (await fetch("/console/session")).json();
    const r = await fetch(`/v1/cases/${no}/evaluation`, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ grade: 1, comment: "等太久", department: "market" }) });
    return r.status;
  }, caseNo);
  assert.ok(rated < 300, `evaluated (${rated})`);
  await page.reload();
  await page.locator("#evaluations").waitFor();
  await page.locator('#tasks tr[data-task^="rectify"]').waitFor();

  // 4. A running case's why-sentence: the late case waits for the market's review.
  const sup = await session(TOKENS.supervisor_nj);
  await sup.page.goto(`${BASE}/console/#/case/${encodeURIComponent(process.env.LATE_CASE)}`);
  await sup.page.locator("#why").waitFor();
  assert.match(await sup.page.locator("#why").innerText(), /等待市场监督管理局：逾期审查，已超期/);
  assert.ok(await sup.page.locator("#why.w-red").count() === 1, "the why-sentence is red");
  await sup.page.locator('#graph g[data-task="review"].w-red').waitFor();

  // 5. The board of a Nanjing supervisor: the late case is red; the Suzhou case is absent.
  await sup.page.goto(`${BASE}/console/#/board`);
  await sup.page.locator('#counts tr[data-department="market"]').waitFor();
  assert.equal(await sup.page.inputValue("#f-region"), "3201", "the board starts at the token's region");
  const red = Number(await sup.page.locator('#counts tr[data-row="cases"] td.w-red').innerText());
  assert.equal(red, 1, "the late Nanjing case is counted red, the Suzhou one not");
  assert.equal(Number(await sup.page.locator('#counts tr[data-department="market"] td.w-red').innerText()), 1);
  await sup.page.locator(`#board-list tr[data-case="${process.env.LATE_CASE}"].w-red`).waitFor();
  await sup.page.selectOption("#f-warning", "");
  await sup.page.click("#filters button[type=submit]");
  await sup.page.locator(`#board-list tr[data-case="${caseNo}"]`).waitFor();
  assert.equal(await sup.page.locator(`#board-list tr[data-case="${process.env.FAR_CASE}"]`).count(), 0,
    "a case of another city is not listed");
  await sup.page.selectOption("#f-warning", "red");
  await sup.page.click("#filters button[type=submit]");
  await sup.page.locator(`#board-list tr[data-case="${process.env.LATE_CASE}"]`).waitFor();
  await sup.page.locator(`#rectifications tr[data-case="${caseNo}"]`).waitFor();
  await sup.page.screenshot({ path: join(SHOTS, "console-board.png"), fullPage: true });
  const far = await sup.page.evaluate(async (no) => (await fetch(`/v1/cases/${no}`)).status, process.env.FAR_CASE);
  assert.equal(far, 403, "the Suzhou case itself is refused");
  // Asking the board for Suzhou is refused too.
  await sup.page.fill("#f-region", "3205");
  await sup.page.click("#filters button[type=submit]");
  await sup.page.locator("#counts .error").waitFor();

  // 6. The designer: a bad YAML is marked at its line; a good one draws its graph.
  const admin = await session(TOKENS.admin);
  await admin.page.goto(`${BASE}/console/#/designer`);
  const bad = "yijian: 1\nid: demo\nversion: 1\ntitle: 演示\ntasks:\n  a: {title: 甲, department: market, after: [nowhere]}\n";
  await admin.page.fill("#yaml", bad);
  await admin.page.click("#check");
  await admin.page.locator("#diagnostics li.error").first().waitFor();
  const diag = await admin.page.locator("#diagnostics li.error").first().innerText();
  assert.match(diag, /YJ\d{3}.*行 6:/, `the error names line 6: ${diag}`);
  // The unknown `after` is marked under its own column.
  const marker = await admin.page.locator('#source li.bad[data-line="6"] .marker[data-code="YJ201"]').innerText();
  const line6 = bad.split("\n")[5];
  assert.ok(line6.slice(marker.indexOf("^")).includes("nowhere"), `the caret points at the unknown task: ${marker}`);
  await admin.page.screenshot({ path: join(SHOTS, "console-designer.png"), fullPage: true });
  await admin.page.fill("#yaml", "yijian: 1\nid: demo\nversion: 1\ntitle: 演示\ntime_limit: 5wd\ntasks:\n" +
    "  a: {title: 甲, department: market}\n  b: {title: 乙, department: police, after: [a]}\n");
  await admin.page.click("#check");
  await admin.page.locator("#verdict.ok").waitFor();
  await admin.page.locator('#graph g[data-task="b"]').waitFor();
  // …and runs a short simulate script on it: submitted on Friday 09-18, item a due 5 working
  // days later on the calendar (Friday 09-25), and b waiting for it.
  await admin.page.fill("#script", "bundle: demo\nsteps:\n  - at: 2026-09-18T09:00:00+08:00\n    submit: {}\n" +
    "  - at: 2026-09-21T10:00:00+08:00\n    approve: {task: a}\n");
  await admin.page.click("#simulate");
  await admin.page.locator("#simulate-table").waitFor();
  const table = await admin.page.locator("#simulate-table").innerText();
  assert.match(table, /approved/, table);
  await admin.page.screenshot({ path: join(SHOTS, "console-simulate.png"), fullPage: true });
  await admin.page.fill("#script", "steps: []\n");
  await admin.page.click("#simulate");
  await admin.page.locator("#simulate-error").waitFor();

  // English is one click away.
  await admin.page.click("#lang");
  await admin.page.locator('#nav a[data-view="designer"]:has-text("Designer")').waitFor();
  await admin.page.click("#lang");

  assert.deepEqual(errors, [], "no script errors, no dialogs");
  console.log("console: done");
} catch (e) {
  failed = true;
  console.error(e);
  console.error("errors seen:", errors);
  for (const [i, p] of pages.entries()) {
    await p.screenshot({ path: join(SHOTS, `console-failed-${i}.png`), fullPage: true }).catch(() => {});
    console.error(`page ${i} (${p.url()}):`, (await p.locator("main").innerText().catch(() => "")).slice(0, 1500));
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
