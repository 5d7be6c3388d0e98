"""Mixed loopback load against a running `yijian serve`: submit a case, read it, let the
market fetch and approve its food permit, search — at a fixed rate (cases/s) or as fast as
N threads go. Samples the server's RSS and open file descriptors every 10 s."""
import json, os, sys, threading, time, random
import urllib.request

base, pid, rate, seconds, threads = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
tok = json.load(open(sys.argv[6]))
W, M, S = tok["window"], tok["departments"]["market"], tok["supervisor"]
out_ok = [0]; out_err = [0]; lat = []; lock = threading.Lock()

def call(method, path, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
        headers={"Authorization": "Bearer " + token, "content-type": "application/json"})
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            v = json.loads(r.read() or b"null")
            ok = True
    except Exception as e:
        v = None; ok = False
    with lock:
        lat.append(time.perf_counter() - t)
        if ok: out_ok[0] += 1
        else: out_err[0] += 1
    return v

app = {"bundle": "open-restaurant", "region": "320106",
       "form": {"uscc": "91320106MA1XY01234", "shop_name": "面馆", "address": "南京", "operator_name": "王五",
                "floor_area": 120, "food_categories": [{"category": "hot_food"}], "partners": []},
       "materials": {"lease": {"name": "a"}, "floor_plan": {"name": "b"}, "food_safety_rules": {"name": "c"}}}
lic = {"name": "x.pdf", "uri": "https://x.invalid/x", "sha256": "a" * 64}
stop = time.time() + seconds
n = [0]

def one():
    v = call("POST", "/v1/cases", W, app)
    if not v: return
    call("GET", "/v1/cases/" + v["case_no"], S)
    f = call("POST", "/v1/departments/market/tasks/fetch", M, {"max": 5, "worker": "soak"})
    for t in (f or {}).get("tasks", []):
        call("POST", "/v1/tasks/" + urllib.request.quote(t["task_id"], safe=":") + "/complete", M,
             {"lease_token": t["lease_token"], "decision": "approved", "output": {"permit_no": "JY1", "food_permit_pdf": lic}})
    if random.random() < 0.1:
        call("GET", "/v1/cases?status=running&per_page=20", S)

def worker():
    interval = threads / rate if rate > 0 else 0
    nxt = time.time()
    while time.time() < stop:
        one()
        with lock: n[0] += 1
        if interval:
            nxt += interval
            d = nxt - time.time()
            if d > 0: time.sleep(d)

def sample():
    rss = int([l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")][0].split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds

ths = [threading.Thread(target=worker) for _ in range(threads)]
for t in ths: t.start()
t0 = time.time(); samples = []
while any(t.is_alive() for t in ths):
    time.sleep(10)
    samples.append((round(time.time() - t0), *sample()))
for t in ths: t.join()
el = time.time() - t0
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0
print(json.dumps({"cases_per_s": round(n[0] / el, 1), "calls_ok": out_ok[0], "calls_failed": out_err[0],
                  "p50_ms": round(p(0.5), 1), "p99_ms": round(p(0.99), 1),
                  "rss_kib_first_last_max": [samples[0][1], samples[-1][1], max(s[1] for s in samples)] if samples else None,
                  "fds_first_last_max": [samples[0][2], samples[-1][2], max(s[2] for s in samples)] if samples else None,
                  "samples": samples}))
