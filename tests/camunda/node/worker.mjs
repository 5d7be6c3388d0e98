// Camunda 7 workers written with the published JavaScript client
// (camunda-external-task-client-js, unchanged), driving one 开办餐饮店 case of yijian through
// /engine-rest to its outcome: basic auth with the department's token as password, typed
// variables, extendLock, a 补正 by handleBpmnError answered at the window, a failure retried.
//
// Run by tests/api/camunda_node.rs. Environment: YIJIAN_BASE, YIJIAN_CASE, YIJIAN_TOKENS
// (JSON: department id -> token, plus "window"). Exits 0 when every task is done, 1 on a
// failed check or after 60 s.

import assert from "node:assert/strict";
import {
  BasicAuthInterceptor,
  Client,
  Variables,
} from "camunda-external-task-client-js";

const BASE = process.env.YIJIAN_BASE;
const CASE = process.env.YIJIAN_CASE;
const TOKENS = JSON.parse(process.env.YIJIAN_TOKENS);

const clients = [];
function client(department) {
  const c = new Client({
    baseUrl: `${BASE}/engine-rest`,
    workerId: `${department}-node`,
    asyncResponseTimeout: 2000,
    interval: 50,
    lockDuration: 30000,
    interceptors: new BasicAuthInterceptor({
      username: department,
      password: TOKENS[department],
    }),
  });
  clients.push(c);
  return c;
}

const done = new Set();
function finish(what) {
  done.add(what);
  if (done.size === 3) {
    clients.forEach((c) => c.stop());
    console.log("camunda node workers: done");
    process.exit(0);
  }
}

function fail(e) {
  console.error(e);
  process.exit(1);
}

setTimeout(() => fail(new Error(`timed out; done: ${[...done]}`)), 60000);

// 食品经营许可: variables in, a lock extension, typed output.
client("market").subscribe("market.food_permit", async ({ task, taskService }) => {
  try {
    if (task.businessKey !== CASE) return;
    assert.equal(task.activityId, "food_permit");
    assert.equal(task.variables.get("uscc"), "91320106MA1XY01234");
    assert.deepEqual(task.variables.get("categories"), [{ category: "hot_food" }]);
    assert.ok(task.variables.get("_deadline") instanceof Date);
    await taskService.extendLock(task, 600000);
    const out = new Variables()
      .set("permit_no", "JY13201060000002")
      .setTyped("food_permit_pdf", {
        type: "json",
        value: {
          name: "食品经营许可证.pdf",
          uri: "https://files.example.invalid/jy2.pdf",
          sha256: "b".repeat(64),
        },
        valueInfo: {},
      });
    await taskService.complete(task, out);
    finish("market");
  } catch (e) {
    fail(e);
  }
});

// 户外招牌: 补正 by handleBpmnError; the window hands the design in; then approval.
let asked = false;
client("urban").subscribe("urban", async ({ task, taskService }) => {
  try {
    if (task.businessKey !== CASE) return;
    if (!asked) {
      asked = true;
      const missing = new Variables().setTyped("missing", {
        type: "json",
        value: [{ material: "signboard_design", reason: "效果图未标注尺寸" }],
        valueInfo: {},
      });
      await taskService.handleBpmnError(task, "SUPPLEMENT", "材料需补正", missing);
      const r = await fetch(`${BASE}/v1/cases/${CASE}/supplements`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${TOKENS.window}`,
        },
        body: JSON.stringify({
          materials: { signboard_design: { name: "招牌效果图-标注尺寸.png" } },
        }),
      });
      assert.equal(r.status, 200, await r.text());
      return;
    }
    await taskService.complete(task, new Variables().set("signboard_no", "ZP-2026-0002"));
    finish("urban");
  } catch (e) {
    fail(e);
  }
});

// 烟草专卖零售许可: a failure with one retry, then approval.
client("tobacco").subscribe("tobacco", async ({ task, taskService }) => {
  try {
    if (task.businessKey !== CASE) return;
    if (task.retries === null || task.retries === undefined) {
      await taskService.handleFailure(task, {
        errorMessage: "专卖管理系统维护中",
        errorDetails: "HTTP 503",
        retries: 1,
        retryTimeout: 500,
      });
      return;
    }
    assert.equal(task.retries, 1);
    assert.ok(task.errorMessage.startsWith("专卖管理系统维护中"), task.errorMessage);
    await taskService.complete(
      task,
      new Variables().set("tobacco_licence_no", "YC-320106-0002"),
    );
    finish("tobacco");
  } catch (e) {
    fail(e);
  }
});
