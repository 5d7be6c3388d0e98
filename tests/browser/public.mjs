// The public pages in headless Chromium (Debian's package, driven by playwright-core):
// the 办事指南 list and one guide, printed to A4; the progress page with the receipt's case
// number and code, with a wrong code, and with text from a back office that looks like HTML.
//
// Run by tests/api/pages.rs. Environment: YIJIAN_BASE, YIJIAN_CASE, YIJIAN_CODE, SHOTS (a
// folder for screenshots), CHROMIUM (the browser). Exits 0 when every check held.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.YIJIAN_BASE;
const CASE = process.env.YIJIAN_CASE;
const CODE = process.env.YIJIAN_CODE;
const SHOTS = process.env.SHOTS;
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, locale: "zh-CN" });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("dialog", async (d) => {
    errors.push("a dialog opened: " + d.message());
    await d.dismiss();
  });

  // The guide list and one guide.
  await page.goto(`${BASE}/guide`);
  await page.getByRole("link", { name: "开办餐饮店一件事" }).click();
  await page.waitForURL(/\/guide\/open-restaurant$/);
  const items = await page.locator("#items tr[data-task]").count();
  assert.equal(items, 6, "six items in the restaurant guide");
  const tobacco = await page.locator('#items tr[data-task="tobacco"]').innerText();
  assert.match(tobacco, /000162004000/);
  assert.match(tobacco, /烟草专卖局/);
  const lease = await page.locator('#materials tr[data-material="lease"]').innerText();
  assert.match(lease, /可容缺受理/);
  const shared = await page.locator('#materials tr[data-material="business_licence"] td.fetched').innerText();
  assert.match(shared, /数据共享获取/);
  assert.ok((await page.locator("#situations > li").count()) >= 4, "情形 questions");
  await page.screenshot({ path: join(SHOTS, "guide.png"), fullPage: true });
  await page.emulateMedia({ media: "print" });
  await page.pdf({ path: join(SHOTS, "guide-a4.pdf"), format: "A4" }).catch(() => {});
  await page.emulateMedia({ media: "screen" });

  // Progress with a wrong code: the same words as for an unknown case.
  await page.goto(`${BASE}/progress`);
  await page.fill("#case_no", CASE);
  await page.fill("#code", "WRONG123");
  await page.click("button[type=submit]");
  await page.locator("#result .error").waitFor();
  assert.match(await page.locator("#result").innerText(), /未找到/);

  // The right code, typed in lower case with a space.
  await page.fill("#code", CODE.slice(0, 4).toLowerCase() + " " + CODE.slice(4));
  await page.click("button[type=submit]");
  await page.locator("#items").waitFor();
  const facts = await page.locator("#facts").innerText();
  assert.match(facts, new RegExp(CASE));
  assert.match(facts, /待补正/);
  assert.match(facts, /王\*/);
  const notice = await page.locator("#notice").innerText();
  assert.match(notice, /一次性告知/);
  // A reason that looks like HTML stays text.
  assert.match(notice, /<img src=x onerror=alert\(1\)>/);
  assert.equal(await page.locator("#notice img").count(), 0, "no element made from an answer");
  const body = await page.locator("body").innerText();
  for (const secret of ["王五", "李四", "32010619900101123X"]) {
    assert.ok(!body.includes(secret), `unmasked ${secret} on the page`);
  }
  await page.screenshot({ path: join(SHOTS, "progress.png"), fullPage: true });
  assert.deepEqual(errors, [], "no script errors, no dialogs");
  console.log("browser pages: done");
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
