"""Load on the live twin: concurrent clients polling a list (the alarms by default) while
``twin serve`` runs at speed 60, with a hub subscriber on every API.

``python -m tests.benchmarks.live [--seconds 30] [--rate 200] [--clients 8] [--resource
alarm|usage|customerBill]`` starts ``twin serve`` (the quickstart's network and 5,000 lines,
its fibre cut ten minutes in) in its own process, sends GET ``{resource}?limit=100`` at a
fixed total rate from client threads (an open loop: each request leaves at its scheduled
time, so a slow server shows as latency, not as a lower rate), then pauses the twin, lets
the hub deliver what it produced, stops it and prints a table: latency p50/p99/max,
requests served and failed, notifications the twin produced, delivered to the listener,
dropped or failed, and the pace kept (simulated seconds per real second, the worst lag).
Goals: p99 under 100 ms at 200 requests/s, no notification lost, the pace kept.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from integration.live_support import Listener, free_port, scenario_text  # noqa: E402

A642 = "/tmf-api/alarmManagement/v4"
HUBS = (A642, "/tmf-api/troubleTicket/v4", "/tmf-api/serviceProblemManagement/v4")
RESOURCES = {"alarm": f"{A642}/alarm", "usage": "/tmf-api/usageManagement/v4/usage",
             "customerBill": "/tmf-api/customerBillManagement/v4/customerBill"}


def _client(url: str, path: str, times: list[float], start: float, latencies: list[float],
            errors: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=10) as c:
        for at in times:
            pause = start + at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            t0 = time.perf_counter()
            try:
                r = c.get(path, params={"limit": 100})
                ok = r.status_code == 200
            except httpx.HTTPError as e:
                ok, r = False, None
                errors.append(type(e).__name__)
            latencies.append(time.perf_counter() - t0)
            if not ok and r is not None:
                errors.append(str(r.status_code))


def bench(seconds: float, rate: float, clients: int, speed: float, subscribers: int,
          cut_at: str, resource: str = "alarm", start: str | None = None) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="twin-live-bench-"))
    scen = tmp / "live.yaml"
    data = yaml.safe_load(scenario_text("7d", subscribers, cut_at))
    if start is not None:
        data["start"] = start
    scen.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "twin", "serve", str(scen), "--port",
                             str(port), "--speed", str(speed), "--paused", "--out",
                             str(tmp / "run")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    listener = Listener()
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/twin/v1/status").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"twin serve did not start: {proc.stderr.read()}")  # type: ignore[union-attr]
            time.sleep(0.1)
        for hub in HUBS:
            httpx.post(f"{url}{hub}/hub", json={"callback": listener.url}).raise_for_status()
        httpx.post(f"{url}/twin/v1/control", json={"action": "resume"}).raise_for_status()
        first = httpx.get(f"{url}/twin/v1/status").json()
        n = int(seconds * rate)
        schedule = [i / rate for i in range(n)]
        latencies: list[float] = []
        errors: list[str] = []
        start = time.monotonic() + 0.2
        threads = [threading.Thread(target=_client, args=(
            url, RESOURCES[resource], schedule[k::clients], start, latencies, errors))
                   for k in range(clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.monotonic() - start
        # paused, so the events counted are all the twin produced; then until the hub has
        # delivered them (or 10 s)
        httpx.post(f"{url}/twin/v1/control", json={"action": "pause"}).raise_for_status()
        last = httpx.get(f"{url}/twin/v1/status").json()
        settle = time.monotonic() + 10
        while time.monotonic() < settle:
            last = httpx.get(f"{url}/twin/v1/status").json()
            if len(listener.received) >= last["events"] and last["state"] == "paused":
                break
            time.sleep(0.1)
        delivered = len(listener.received)
        usage_records = int(httpx.get(f"{url}{RESOURCES['usage']}", params={"limit": 1},
                                      timeout=30).headers["X-Total-Count"])
        httpx.post(f"{url}/twin/v1/control", json={"action": "stop"})
        proc.wait(timeout=300)
        time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
        listener.close()
        shutil.rmtree(tmp, ignore_errors=True)  # its own scenario and run
    lat = np.array(latencies) * 1000
    hub = last["hub"]
    return {
        "seconds": round(wall, 2), "rate_target": rate, "clients": clients,
        "requests": len(latencies), "failed": len(errors),
        "rate_achieved": round(len(latencies) / wall, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "max_ms": round(float(lat.max()), 2),
        "resource": resource, "usage_records": usage_records,
        "events": last["events"], "delivered": delivered,
        "dropped": hub.get("dropped", 0), "failed_deliveries": hub.get("failed", 0),
        "speed": speed,
        "pace": round((last["simTime"] - first["simTime"]) / max(wall, 1e-9), 2),
        "max_lag_s": last["maxLagS"],
        "sim_time_end": last["simTime"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.live")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--rate", type=float, default=200.0, help="requests per second, in all")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--speed", type=float, default=60.0)
    p.add_argument("--subscribers", type=int, default=5000)
    p.add_argument("--cut-at", default="10m", help="when the fibre cut strikes")
    p.add_argument("--start", help="the scenario's start instant (default the quickstart's, "
                   "midnight; 2026-01-05T10:00:00Z starts in the busy hours, usage arriving "
                   "every 15 minutes)")
    p.add_argument("--resource", choices=sorted(RESOURCES), default="alarm",
                   help="the list the clients poll")
    p.add_argument("--json", help="write the results here")
    a = p.parse_args(argv)
    r = bench(a.seconds, a.rate, a.clients, a.speed, a.subscribers, a.cut_at, a.resource,
              a.start)
    width = max(len(k) for k in r)
    for k, v in r.items():
        print(f"{k:<{width}}  {v}")
    goals = {"p99 < 100 ms": r["p99_ms"] < 100, "no notification lost":
             r["dropped"] == r["failed_deliveries"] == 0 and r["delivered"] == r["events"],
             "pace kept (within 5 %)": abs(r["pace"] - a.speed) <= 0.05 * a.speed}
    for goal, met in goals.items():
        print(f"goal {goal}: {'met' if met else 'NOT met'}")
    if a.json:
        Path(a.json).write_text(json.dumps({"results": r, "goals": goals}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
