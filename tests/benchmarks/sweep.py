"""Benchmark the study engine (issue 13): a sweep of 8 quickstart runs on 2 Dask workers vs
the same sweep run serially, and how fast a typo is refused.

    python -m tests.benchmarks.sweep                  # 8 quickstart runs; target ≥ 1.8×
    python -m tests.benchmarks.sweep --repeat 3 --json sweep.json
    python -m tests.benchmarks.sweep --smoke          # tiny runs: checks the machinery

Each sweep is the installed ``twin sweep`` command in a fresh process with a fresh result
directory (nothing cached), timed from start to exit — interpreter start-up, the local
cluster's start-up and shut-down included; *cluster s* and *runs s* are the sweep's own
timing of starting the cluster and of running (``sweep.json``). *serial* is ``--workers 0``
(the runs one after another in that process, no Dask); *parallel* is ``--workers 2`` (a
LocalCluster of two worker processes). The speed-up is the ratio of the median wall times.
*cached* re-runs the parallel sweep into its own directory: every run comes from the cache.
*busy* is how much of the runs phase the workers spent running (the runs' own seconds over
the phase's wall time × workers); *cores/run* is the CPU a run's process used while it ran
over the run's wall time — above 1 serially, where a run's Parquet writer and reader threads
use the otherwise idle second core, so that the runs phase cannot reach twice that speed on
two cores. *typo* is the time to exit 2 on a misspelt ``--metric``
(median of five). The machine may be shared: the load average before and after each sweep
and the CPU seconds the sweep's processes used are printed beside the times. The two result
tables must be identical (checked).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TWIN = str(Path(sys.executable).parent / "twin")
QUICKSTART = str(ROOT / "scenarios" / "quickstart.yaml")
# 8 runs: two crew counts × four seeds of the week-long quickstart.
FULL = ("--vary", "oss.crews.count=1,2", "-n", "4")
SMOKE = (*FULL[:2], "-n", "2", "--set", "duration=12h", "--set", "subscribers.count=300",
         "--set", "faults.scripted[0].at=2h")
TARGET = 1.8


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(args: list[str], expect: int = 0) -> dict[str, Any]:
    """Run the command; wall time, CPU seconds of its process tree, load before and after."""
    load0, cpu0 = os.getloadavg()[0], _children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != expect:
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return {"wall_s": round(wall, 3), "cpu_s": round(_children_cpu() - cpu0, 3),
            "load_avg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)]}


def bench(design: tuple[str, ...], repeat: int, workers: int, typos: int = 5,
          log: Any = print) -> dict[str, Any]:
    rows: dict[str, list[dict[str, Any]]] = {"serial": [], "parallel": [], "cached": []}
    with tempfile.TemporaryDirectory(prefix="twin-bench-sweep-") as tmp:
        for i in range(repeat):
            for mode, extra in (("parallel", ["--workers", str(workers)]),
                                ("serial", ["--workers", "0"])):
                out = Path(tmp) / f"{mode}-{i}"
                log(f"  {mode} {i + 1}/{repeat} ...", file=sys.stderr, flush=True)
                row = timed([TWIN, "sweep", QUICKSTART, *design, *extra, "--out", str(out),
                             "-q"])
                row["phases"] = json.loads((out / "sweep.json").read_text())["timing"]
                rows[mode].append(row)
            import pandas as pd

            a = pd.read_parquet(Path(tmp) / f"serial-{i}" / "summaries.parquet")
            b = pd.read_parquet(Path(tmp) / f"parallel-{i}" / "summaries.parquet")
            pd.testing.assert_frame_equal(a, b)  # the same numbers, however they ran
            rows["cached"].append(timed([TWIN, "sweep", QUICKSTART, *design, "--workers",
                                         str(workers), "--out", str(Path(tmp) / f"parallel-{i}"),
                                         "-q"]))
            runs = json.loads((Path(tmp) / f"parallel-{i}" / "sweep.json").read_text())["runs"]
        typo = [timed([TWIN, "sweep", QUICKSTART, *design, "--metric", "oss.mtr_s", "--out",
                       str(Path(tmp) / "typo")], expect=2) for _ in range(typos)]
    med = {m: statistics.median(r["wall_s"] for r in rs) for m, rs in rows.items()}
    run_phase = {m: statistics.median(r["phases"]["runs_s"] for r in rows[m])
                 for m in ("serial", "parallel")}
    return {"runs": runs, "workers": workers, "repeat": repeat,
            "serial_s": med["serial"], "parallel_s": med["parallel"], "cached_s": med["cached"],
            "speedup": round(med["serial"] / med["parallel"], 3),
            "speedup_runs_phase": round(run_phase["serial"] / run_phase["parallel"], 3),
            "typo_exit_s": statistics.median(r["wall_s"] for r in typo),
            "detail": {**rows, "typo": typo}}


def table(result: dict[str, Any]) -> str:
    d = result["detail"]
    lines = [f"{'sweep':<22}{'wall s':>9}{'cpu s':>9}{'cluster s':>11}{'runs s':>9}"
             f"{'busy':>6}{'cores/run':>10}  load 1m (before → after)"]
    for mode in ("serial", "parallel", "cached", "typo"):
        for r in d[mode]:
            label = {"serial": f"serial ({result['runs']} runs)",
                     "parallel": f"{result['workers']} workers ({result['runs']} runs)",
                     "cached": "again, all cached", "typo": "--metric typo (exit 2)"}[mode]
            ph = r.get("phases")
            phases = (f"{ph['cluster_s']:>11.2f}{ph['runs_s']:>9.2f}{_busy(ph, mode, result):>6}"
                      f"{_cores(ph):>10}" if ph else " " * 36)
            lines.append(f"{label:<22}{r['wall_s']:>9.2f}{r['cpu_s']:>9.2f}{phases}  "
                         f"{r['load_avg_1m'][0]:.2f} → {r['load_avg_1m'][1]:.2f}")
    lines.append(f"speed-up (median serial / median parallel, whole command): "
                 f"{result['speedup']:.2f}× (target ≥ {TARGET}×); runs phase alone: "
                 f"{result['speedup_runs_phase']:.2f}×")
    lines.append(f"typo refused in {result['typo_exit_s']:.2f} s (target < 2 s)")
    return "\n".join(lines)


def _busy(phases: dict[str, float], mode: str, result: dict[str, Any]) -> str:
    """How busy the workers were while the runs ran: the runs' own seconds over the runs
    phase's wall time × workers (a worker waiting for the last run of another lowers it)."""
    workers = 1 if mode == "serial" else result["workers"]
    if not phases.get("runs_s") or "busy_s" not in phases:
        return "–"
    return f"{phases['busy_s'] / (phases['runs_s'] * workers):.0%}"


def _cores(phases: dict[str, float]) -> str:
    """The cores a run kept busy while it ran: its CPU seconds (the simulation and its
    Parquet writer and reader threads) over its wall seconds."""
    if not phases.get("busy_s") or "run_cpu_s" not in phases:
        return "–"
    return f"{phases['run_cpu_s'] / phases['busy_s']:.2f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.sweep", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny runs (checks the machinery)")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="sweeps of each kind")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--json", type=Path, metavar="PATH", help="also write results here")
    args = p.parse_args(argv)
    result = bench(SMOKE if args.smoke else FULL, args.repeat, args.workers,
                   typos=2 if args.smoke else 5)
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "smoke": args.smoke, **result}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
