"""Benchmark the quickstart, a large generated network (issue 2, "Speed") and the metro preset
(issue 3).

    python -m tests.benchmarks.run                    # quickstart x3, large x1 (slow)
    python -m tests.benchmarks.run --quick            # quickstart only
    python -m tests.benchmarks.run --repeat 5 --json bench.json
    python -m tests.benchmarks.run --smoke            # a six-hour toy run: checks the machinery
    python -m tests.benchmarks.run --national         # the national preset, one day (optional)

Every run is a fresh subprocess, so its peak memory (``ru_maxrss``) is its own and nothing
is cached between runs. *wall* is the ``twin.simulate(..., report=False)`` call: simulation,
Parquet writing and analysis. *report* is ``build_report`` on the same run directory — what
``report=True`` adds. Times are medians over the repeats, peak memory the maximum. The
machine may be shared: *cpu* (process CPU time, all threads) beside *wall* shows how much of
the wall time was spent waiting for a core, and the load average is kept in the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = str(ROOT / "scenarios" / "quickstart.yaml")
MARK = "BENCH-RESULT "

# About 100k subscribers for 30 days on 100 sites (25 chains, 300 cells), with more faults
# than the quickstart: shorter MTBFs, failing links and four scripted failures.
LARGE = (
    "name=large", "duration=30d",
    "network.sites=100", "network.sites_per_chain=4", "network.cells_per_site=3",
    "subscribers.count=100000",
    "faults.random.mtbf_h={site_router: 1000, cell: 3000, agg_router: 4000}",
    "faults.random.link_mtbf_h=20000",
    "faults.scripted=[{at: 1d10h, target: site1-site2, mode: fibre_cut},"
    " {at: 8d14h, target: site41-site42, mode: fibre_cut},"
    " {at: 15d9h, target: agg10, mode: element_failure},"
    " {at: 22d16h, target: site77-site78, mode: link_failure, duration: 4h}]",
    "oss.crews.count=4",
)
# The `metro` preset (issue 3): ~1,040 cells on 190 sites with 2G/4G/5G layers, dual-homed
# rings, a two-site core with redundant core functions; 100k subscribers for 30 days.
METRO = (
    "name=metro", "duration=30d", "network.preset=metro", "network.sites=null",
    "network.sites_per_chain=null", "network.cells_per_site=null", "network.transport=ring",
    "subscribers.count=100000", "oss.crews.count=6",
    "faults.random.mtbf_h={site_router: 2000, cell: 5000, agg_router: 8000, msc: 4000}",
)
# The `national` preset (issue 3): ~10,000 cells on 1,900 sites, 1M subscribers; one day
# only — it is the size, not the length, that is measured. Not in the default set.
NATIONAL = (
    "name=national", "duration=1d", "network.preset=national", "network.sites=null",
    "network.sites_per_chain=null", "network.cells_per_site=null", "network.transport=ring",
    "subscribers.count=1000000", "oss.crews.count=40",
    "faults.random.mtbf_h={site_router: 2000, cell: 5000, agg_router: 8000, msc: 4000}",
    "faults.scripted=[{at: 10h, target: site1-site2, mode: fibre_cut}]",
)
SMOKE = ("name=smoke", "duration=6h", "subscribers.count=300", "faults.scripted[0].at=2h")


@dataclass(frozen=True)
class Case:
    name: str
    overrides: tuple[str, ...] = ()
    repeat: int = 1
    scenario: str = QUICKSTART


# --- one run, in a child process --------------------------------------------------------------


def _maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(case: Case, report: bool) -> dict[str, Any]:
    """Run ``case`` once in this (fresh) process and measure it."""
    import tempfile
    import time

    import pyarrow.parquet as pq

    import twin
    from twin.report import build_report

    with tempfile.TemporaryDirectory(prefix="twin-bench-") as tmp:
        rss0 = _maxrss_mb()
        t0, c0 = time.perf_counter(), time.process_time()
        run = twin.simulate(case.scenario, out=Path(tmp) / "run", overrides=list(case.overrides),
                            report=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rss_sim = _maxrss_mb()
        report_s = None
        if report:
            t0 = time.perf_counter()
            build_report(run.path)
            report_s = time.perf_counter() - t0

        def rows(name: str) -> int:
            return int(pq.ParquetFile(run.path / "tables" / f"{name}.parquet").metadata.num_rows)

        return {
            "subscribers": run.summary["network"]["subscribers"],
            "cells": run.summary["network"]["cells"],
            "sim_days": run.summary["sim_days"],
            "faults": run.summary["faults"]["injected"],
            "usage_rows": rows("usage"), "cdr_rows": rows("cdrs"), "rated_rows": rows("rated"),
            "disk_mb": sum(p.stat().st_size for p in run.path.rglob("*") if p.is_file()) / 1e6,
            "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
            "report_s": None if report_s is None else round(report_s, 4),
            "rss_import_mb": rss0, "rss_sim_mb": rss_sim, "rss_peak_mb": _maxrss_mb(),
        }


def measure(case: Case, report: bool) -> dict[str, Any]:
    """One run of ``case`` in a fresh interpreter; the child's measurements."""
    arg = json.dumps({"case": asdict(case), "report": report})
    proc = subprocess.run([sys.executable, "-m", "tests.benchmarks.run", "--child", arg],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark {case.name} failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len(MARK):])
    return result


# --- the table ---------------------------------------------------------------------------------


def bench(cases: list[Case], report: bool = True, log: Any = print) -> list[dict[str, Any]]:
    """Run every case ``case.repeat`` times; one summary row per case."""
    out = []
    for case in cases:
        runs = []
        load0 = os.getloadavg()[0]
        for i in range(case.repeat):
            log(f"  {case.name}: run {i + 1}/{case.repeat} ...", file=sys.stderr, flush=True)
            runs.append(measure(case, report))
        first = runs[0]
        wall = statistics.median(r["wall_s"] for r in runs)
        reports = [r["report_s"] for r in runs if r["report_s"] is not None]
        out.append({
            "scenario": case.name, "overrides": list(case.overrides), "repeat": case.repeat,
            **{k: first[k] for k in ("subscribers", "cells", "sim_days", "faults", "usage_rows",
                                     "cdr_rows", "rated_rows")},
            "wall_s": round(wall, 3),
            "cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
            "report_s": round(statistics.median(reports), 3) if reports else None,
            "peak_rss_mb": round(max(r["rss_peak_mb"] for r in runs), 1),
            "usage_rows_per_s": round(first["usage_rows"] / wall) if wall > 0 else None,
            "load_avg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],
            "runs": runs,
        })
    return out


COLUMNS = (  # header, key, format
    ("scenario", "scenario", "{}"), ("subs", "subscribers", "{:,}"), ("days", "sim_days", "{:g}"),
    ("usage rows", "usage_rows", "{:,}"), ("cdrs", "cdr_rows", "{:,}"),
    ("n", "repeat", "{}"), ("wall s", "wall_s", "{:.2f}"), ("cpu s", "cpu_s", "{:.2f}"),
    ("+report s", "report_s", "{:.2f}"), ("peak MB", "peak_rss_mb", "{:,.0f}"),
    ("usage rec/s", "usage_rows_per_s", "{:,}"),
)


def table(rows: list[dict[str, Any]]) -> str:
    cells = [[h for h, _, _ in COLUMNS]]
    cells += [["-" if r[k] is None else f.format(r[k]) for _, k, f in COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _git(*args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="skip the large scenario")
    p.add_argument("--smoke", action="store_true", help="only a six-hour toy run")
    p.add_argument("--national", action="store_true",
                   help="only the national preset, one day (1M subscribers; slow)")
    p.add_argument("--repeat", type=int, default=3, metavar="N", help="quickstart runs (3)")
    p.add_argument("--large-repeat", type=int, default=1, metavar="N", help="large runs (1)")
    p.add_argument("--no-report", action="store_true", help="do not time report generation")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write results here")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        case = Case(**{**spec["case"], "overrides": tuple(spec["case"]["overrides"])})
        print(MARK + json.dumps(child(case, spec["report"])), flush=True)
        return 0
    if args.smoke:
        cases = [Case("smoke", SMOKE, args.repeat)]
    elif args.national:
        cases = [Case("national", NATIONAL, args.large_repeat)]
    else:
        cases = [Case("quickstart", (), args.repeat)]
        if not args.quick:
            cases.append(Case("large", LARGE, args.large_repeat))
            cases.append(Case("metro", METRO, args.large_repeat))
    rows = bench(cases, report=not args.no_report)
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "commit": _git("rev-parse", "--short", "HEAD"),
            "twin_modified": bool(_git("status", "--porcelain", "twin")),
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
