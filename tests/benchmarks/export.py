"""Benchmark the TMF635 usage export: records per second as a JSON array and as NDJSON.

    python -m tests.benchmarks.export                       # quickstart, 20k subscribers, 3 days
    python -m tests.benchmarks.export --subscribers 100000 --days 7
    python -m tests.benchmarks.export --run runs/metro      # an existing run directory
    python -m tests.benchmarks.export --json export.json --repeat 3

The run is simulated once (``report=False``); then every export is a fresh subprocess, so
its peak memory (``ru_maxrss``) is its own. *wall* is the ``twin.export.export(…,
["TMF635"])`` call — reading ``cdrs`` and ``rated``, building the JSON, writing it — and
*rec/s* is usage resources written per wall second (medians over the repeats). *cpu* beside
*wall* shows how much of the wall time the process waited for a core on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = str(ROOT / "scenarios" / "quickstart.yaml")
MARK = "EXPORT-RESULT "

CHILD = """
import json, resource, sys, time
from twin.export import export
run, out, ndjson = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
t0, c0 = time.perf_counter(), time.process_time()
written = export(run, out, ["TMF635"], ndjson=ndjson)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
name = next(iter(written))
size = __import__("os").path.getsize(out + "/" + name)
print("MARK" + json.dumps({"records": written[name], "wall_s": wall, "cpu_s": cpu,
      "bytes": size, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""".replace("MARK", MARK)


def simulate(subscribers: int, days: int, out: Path) -> Path:
    import twin

    run = twin.simulate(QUICKSTART, out=out, report=False,
                        overrides=(f"subscribers.count={subscribers}", f"duration={days}d"))
    return run.path


def measure(run: Path, ndjson: bool, scratch: Path, i: int = 0) -> dict[str, Any]:
    out = scratch / f"{'ndjson' if ndjson else 'json'}-{i}"  # a fresh directory each time
    proc = subprocess.run([sys.executable, "-c", CHILD, str(run), str(out),
                           "1" if ndjson else "0"], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    line = next(x for x in proc.stdout.splitlines() if x.startswith(MARK))
    result: dict[str, Any] = json.loads(line[len(MARK):])
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="an existing run directory (default: simulate one)")
    p.add_argument("--subscribers", type=int, default=20_000)
    p.add_argument("--days", type=int, default=3)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="twin-export-bench-") as tmp:
        scratch = Path(tmp)
        t0 = time.perf_counter()
        run = Path(args.run) if args.run else simulate(args.subscribers, args.days,
                                                       scratch / "run")
        sim_s = time.perf_counter() - t0
        rows = []
        for ndjson in (False, True):
            reps = [measure(run, ndjson, scratch, i) for i in range(args.repeat)]
            wall = statistics.median(r["wall_s"] for r in reps)
            rows.append({
                "case": "ndjson" if ndjson else "json array", "records": reps[0]["records"],
                "wall_s": round(wall, 3),
                "cpu_s": round(statistics.median(r["cpu_s"] for r in reps), 3),
                "rec_per_s": round(reps[0]["records"] / wall),
                "rec_per_cpu_s": round(reps[0]["records"]
                                       / statistics.median(r["cpu_s"] for r in reps)),
                "mb": round(reps[0]["bytes"] / 1e6, 1),
                "mb_per_s": round(reps[0]["bytes"] / 1e6 / wall, 1),
                "peak_mb": round(max(r["peak_mb"] for r in reps)),
            })
    head = f"{'case':<11} {'records':>10} {'wall s':>8} {'cpu s':>8} {'rec/s':>10} " \
           f"{'rec/cpu-s':>10} {'MB':>8} {'MB/s':>7} {'peak MB':>8}"
    what = run if args.run else f"quickstart, {args.subscribers:,} subscribers, {args.days} d"
    print(f"TMF635 export of {what} (load average {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} cores; medians of {args.repeat})")
    print(head)
    for r in rows:
        print(f"{r['case']:<11} {r['records']:>10,} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} "
              f"{r['rec_per_s']:>10,} {r['rec_per_cpu_s']:>10,} {r['mb']:>8.1f} "
              f"{r['mb_per_s']:>7.1f} "
              f"{r['peak_mb']:>8,}")
    if args.json:
        Path(args.json).write_text(json.dumps({"simulate_s": round(sim_s, 1), "results": rows,
                                               "load_average": os.getloadavg()[0]},
                                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
