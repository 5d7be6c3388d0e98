"""Camunda 7 workers, written with the published Python client
(camunda-external-task-client-python3, unchanged), driving one 开办餐饮店 case of yijian
through /engine-rest to its outcome.

Run by tests/api/camunda.rs, which starts the server, submits the case and checks the
outcome afterwards. Environment: YIJIAN_BASE (http://127.0.0.1:port), YIJIAN_CASE (the case
number), YIJIAN_TOKENS (JSON: department id -> token, plus "window").

Each step asserts what a worker sees; any failure raises and exits non-zero.
"""

import json
import os
import time

import requests
from camunda.client.external_task_client import ExternalTaskClient
from camunda.external_task.external_task import ExternalTask
from camunda.external_task.external_task_executor import ExternalTaskExecutor

BASE = os.environ["YIJIAN_BASE"]
REST = BASE + "/engine-rest"
CASE = os.environ["YIJIAN_CASE"]
TOKENS = json.loads(os.environ["YIJIAN_TOKENS"])


def client(worker_id, department, basic=False, **config):
    """A client as a back office configures it: bearer token, or basic auth with the
    department's token as password."""
    cfg = {"maxTasks": 5, "lockDuration": 60000, "asyncResponseTimeout": 5000}
    cfg.update(config)
    if basic:
        cfg["auth_basic"] = {"username": department, "password": TOKENS[department]}
    else:
        cfg["auth_bearer"] = {"access_token": TOKENS[department]}
    return ExternalTaskClient(worker_id, REST, cfg)


def fetch(c, topic, seconds=30):
    """Long-polls until the case's task of `topic` is locked; returns it."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        for t in c.fetch_and_lock(topic):
            if t["businessKey"] == CASE:
                return ExternalTask(t)
    raise AssertionError(f"nothing fetched on {topic} within {seconds}s")


def raw(method, path, department, body=None):
    """A call the Python client has no method for (extendLock, queries)."""
    r = requests.request(
        method,
        REST + path,
        json=body,
        headers={"Authorization": "Bearer " + TOKENS[department]},
        timeout=10,
    )
    return r.status_code, (r.json() if r.content else None)


def expect_refused(fn, status, kind):
    """The call raises with Camunda's error (`received 400 : BadUserRequestException …`)."""
    try:
        fn()
    except Exception as e:  # the client raises bare Exceptions or requests' HTTPError
        text = str(e)
        assert str(status) in text, text
        if kind:
            assert kind in text, text
        return text
    raise AssertionError("the call was not refused")


def market():
    """食品经营许可: typed variables, a lock extension, a foreign worker refused, a 补正
    by bpmnError, then approval with typed output after the window's supplement."""
    c = client("market-worker-1", "market")
    task = fetch(c, "market.food_permit")
    ctx = task._context
    assert ctx["topicName"] == "market.food_permit", ctx
    assert ctx["activityId"] == "food_permit", ctx
    assert ctx["processDefinitionKey"] == "open-restaurant", ctx
    assert ctx["processInstanceId"] == CASE, ctx
    assert ctx["workerId"] == "market-worker-1", ctx
    assert ctx["retries"] is None, ctx
    assert task.get_variable("uscc") == "91320106MA1XY01234"
    assert task.get_variable("shop_name") == "老王面馆"
    categories = task.get_variable("categories", with_meta=True)
    assert categories["type"] == "Json", categories
    assert json.loads(categories["value"]) == [{"category": "hot_food"}], categories
    deadline = task.get_variable("_deadline", with_meta=True)
    assert deadline["type"] == "Date" and deadline["value"].endswith("+0000"), deadline
    materials = json.loads(task.get_variable("_materials"))
    assert "floor_plan" in materials, materials
    assert task.get_extension_property("department") == "market"

    # A lock extension (the client library has no call for it: raw REST, as Camunda's
    # reference gives it).
    task_id = task.get_task_id()
    before = ctx["lockExpirationTime"]
    status, _ = raw("POST", f"/external-task/{task_id}/extendLock", "market",
                    {"workerId": "market-worker-1", "newDuration": 600000})
    assert status == 204, status
    status, seen = raw("GET", f"/external-task/{task_id}", "market")
    assert status == 200 and seen["lockExpirationTime"] > before, (before, seen)
    assert seen["workerId"] == "market-worker-1", seen

    # Another worker of the same department may not answer a task it does not hold.
    intruder = client("market-worker-2", "market")
    expect_refused(lambda: intruder.complete(task_id, {"permit_no": "JY-FAKE"}),
                   400, "BadUserRequestException")
    status, err = raw("POST", f"/external-task/{task_id}/extendLock", "market",
                      {"workerId": "market-worker-2", "newDuration": 1000})
    assert status == 400 and err["type"] == "BadUserRequestException", err

    # A value that does not fit the declared output is refused, naming the field.
    text = expect_refused(
        lambda: c.complete(task_id, {"permit_no": {"value": 5, "type": "Integer"},
                                     "food_permit_pdf": {"value": "{}", "type": "Json"}}),
        400, "InvalidRequestException")
    assert "permit_no" in text, text

    # 补正: the floor plan does not show the kitchen's area.
    executor = ExternalTaskExecutor("market-worker-1", c)
    executor.execute_task(task, lambda t: t.bpmn_error(
        "SUPPLEMENT", "材料需补正",
        {"missing": [{"material": "floor_plan", "reason": "平面图未标注操作间面积"}]}))
    status, _ = raw("GET", f"/external-task/{task_id}", "market")
    assert status == 404, "a task waiting for a supplement is no external task"

    # The applicant hands the corrected plan in at the window.
    r = requests.post(
        f"{BASE}/v1/cases/{CASE}/supplements",
        json={"materials": {"floor_plan": {"name": "平面图-修订.pdf"}}},
        headers={"Authorization": "Bearer " + TOKENS["window"]},
        timeout=10,
    )
    assert r.status_code == 200, r.text

    task = fetch(c, "market.food_permit")
    licence = {"name": "食品经营许可证.pdf", "uri": "https://files.example.invalid/jy.pdf",
               "sha256": "a" * 64}
    executor.execute_task(task, lambda t: t.complete({
        "permit_no": "JY13201060000001",
        "food_permit_pdf": {"value": json.dumps(licence), "type": "Json"},
    }))
    status, _ = raw("GET", f"/external-task/{task.get_task_id()}", "market")
    assert status == 404, "a completed task is gone"


def urban():
    """户外招牌: basic auth; a technical failure with one retry left, fetched again after
    its retry timeout with the count the worker set, then completed."""
    c = client("urban-worker", "urban", basic=True)
    task = fetch(c, "urban")
    assert task.get_activity_id() == "signboard"
    executor = ExternalTaskExecutor("urban-worker", c)
    executor.execute_task(task, lambda t: t.failure(
        "审批系统网关超时", "ConnectTimeout: 10.0.0.7:8443", max_retries=1, retry_timeout=1000))
    status, seen = raw("GET", f"/external-task/{task.get_task_id()}", "urban")
    assert status == 200 and seen["retries"] == 1, seen
    assert seen["errorMessage"].startswith("审批系统网关超时"), seen
    again = fetch(c, "urban")
    assert again.get_task_id() == task.get_task_id()
    assert again._context["retries"] == 1, again._context
    executor.execute_task(again, lambda t: t.complete({"signboard_no": "ZP-2026-0001"}))


def tobacco():
    """烟草专卖零售许可: an unknown error code is refused with the two codes named; then
    不予许可 by bpmnError REFUSED."""
    c = client("tobacco-worker", "tobacco")
    task = fetch(c, "tobacco")
    text = expect_refused(lambda: c.bpmn_failure(task.get_task_id(), "NOPE", "x"), 400, None)
    status, err = raw("POST", f"/external-task/{task.get_task_id()}/bpmnError", "tobacco",
                      {"workerId": "tobacco-worker", "errorCode": "NOPE"})
    assert status == 400 and "REFUSED" in err["message"] and "SUPPLEMENT" in err["message"], err
    executor = ExternalTaskExecutor("tobacco-worker", c)
    executor.execute_task(task, lambda t: t.bpmn_error(
        "REFUSED", "经营场所距中小学校不足50米,不符合烟草零售点布局规定"))


def main():
    market()
    urban()
    tobacco()
    status, n = raw("GET", "/external-task/count?processInstanceId=" + CASE, "market")
    assert status == 200 and n == {"count": 0}, n
    print("camunda workers: done")


if __name__ == "__main__":
    main()
