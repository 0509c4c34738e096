"""Benchmark the twin against the model a user writes by hand, and its targets.

    python -m tests.benchmarks.run                    # everything below but national (slow)
    python -m tests.benchmarks.run --quick            # quickstart, demo and memory only
    python -m tests.benchmarks.run --metro-days 3     # metro, twin and naive, 3 days only
    python -m tests.benchmarks.run --naive-days 3     # the naive model over 3 days only
    python -m tests.benchmarks.run --metro-only       # the metro case, twin and naive, only
    python -m tests.benchmarks.run --metro-only --naive-days 3 --pairs 3   # alternating
    python -m tests.benchmarks.run --repeat 5 --json bench.json
    python -m tests.benchmarks.run --smoke            # a six-hour toy run: checks the machinery
    python -m tests.benchmarks.run --national         # the national preset, 30 days (optional)
    python -m tests.benchmarks.run --national --national-days 1   # ... one day

The cases: the quickstart (simulate three times; target ≤ 3 s), ``make demo``'s command
(``twin run`` with the report, interpreter start included; target well under 15 s), a
generated 100-site network and the ``metro`` preset (about 1,040 cells, 100k subscribers,
all layers, records stored) for 30 days, then the naive reference model
(:mod:`tests.benchmarks.naive`: one simpy process per call, Python rating, nothing stored)
on the same network, demand and simulated days, and the ratio of their records per second
(target ≥ 20×, twin peak memory ≤ 2 GB); and a 365-day quickstart whose resident memory is
sampled every simulated month (it must stay flat). ``--national``: the national preset
(about 10,000 cells, 1M subscribers) for 30 days (target ≤ 10 min, ≤ 8 GB).

Before the cases, an unmeasured two-day run of the metro network fills the twin's compiled
loops' on-disk cache, as a machine that has run the twin before has it (``--no-warm-up``
measures from cold: a fresh clone's first run then also compiles them, about ten seconds).
Every run is a fresh subprocess, so its peak memory (``ru_maxrss``) is its own and nothing
is cached between runs; a large run draws its traffic in a child process, whose CPU time is
added to the run's and whose peak memory to the run's peak. *wall* is the
``twin.simulate(..., report=False)`` call: loading the scenario, simulation, Parquet writing
and analysis (the twin's modules imported before it, as the naive model's are before its
timer; compiled loops are loaded from their cache inside it).
*report* is ``build_report`` on the same run directory — what ``report=True`` adds. *run MB*
is the run directory's size. Times are medians over the repeats, peak memory the maximum.
The machine may be shared: *cpu* (process CPU time, all threads and child processes) beside
*wall* shows how much of the wall time was spent waiting for a core, and the load average
before and after each case is printed and kept in the JSON. A ratio of two models measured
one after the other on the same machine holds better under load than either time does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
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
# The `national` preset (issue 3): ~10,000 cells on 1,900 sites, 1M subscribers, 30 days.
# Not in the default set.
NATIONAL = (
    "name=national", "duration=30d", "network.preset=national", "network.sites=null",
    "network.sites_per_chain=null", "network.cells_per_site=null", "network.transport=ring",
    "subscribers.count=1000000", "oss.crews.count=40",
    "faults.random.mtbf_h={site_router: 2000, cell: 5000, agg_router: 8000, msc: 4000}",
    "faults.scripted=[{at: 10h, target: site1-site2, mode: fibre_cut}]",
)
# Run before the measured cases, not measured: two days of the metro network compile the
# twin's loops into their on-disk cache, as any run after a machine's first finds them (a
# fresh clone's first run compiles them, about ten seconds here, once).
WARM_UP = ("name=warm-up", *METRO[1:], "duration=2d")
SMOKE = ("name=smoke", "duration=6h", "subscribers.count=300", "faults.scripted[0].at=2h")
YEAR = ("name=quickstart-year", "duration=365d")


@dataclass(frozen=True)
class Case:
    name: str
    overrides: tuple[str, ...] = ()
    repeat: int = 1
    scenario: str = QUICKSTART
    kind: str = "twin"  # twin | naive | demo | memory


# --- one run, in a child process --------------------------------------------------------------


def _maxrss_mb() -> float:
    """Peak resident memory of this process plus the largest of its ended child processes
    (a large run draws its traffic in one): an upper bound on the two together."""
    import resource

    return sum(resource.getrusage(who).ru_maxrss for who in
               (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024  # KiB on Linux


def _cpu_s() -> float:
    """CPU time of this process, all threads, and of its ended child processes."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def child(case: Case, report: bool) -> dict[str, Any]:
    """Run ``case`` once in this (fresh) process and measure it."""
    if case.kind == "naive":
        from .naive import run_naive

        out = run_naive(case.overrides, case.scenario)
        return {**out, "usage_rows": out["records"], "rss_peak_mb": out["rss_peak_mb"]}
    if case.kind == "demo":
        return demo(case)
    if case.kind == "memory":
        return memory(case)
    return simulate(case, report)


def _rss_mb() -> float:
    """Resident memory now (Linux), in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def demo(case: Case) -> dict[str, Any]:
    """``make demo``'s command, timed from the shell: ``twin run`` with the report."""
    import tempfile
    import time

    twin_cmd = Path(sys.executable).parent / "twin"
    with tempfile.TemporaryDirectory(prefix="twin-bench-") as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run([str(twin_cmd), "run", case.scenario, "--out", f"{tmp}/run",
                               *[a for o in case.overrides for a in ("--set", o)]],
                              capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-3000:])
    return {"wall_s": round(wall, 4)}


def memory(case: Case) -> dict[str, Any]:
    """A long run with its resident memory sampled twelve times along the way."""
    import tempfile

    import twin

    samples: list[tuple[float, float]] = []
    marks = iter(i / 12 for i in range(1, 13))
    nxt = [next(marks)]

    def progress(f: float) -> None:
        while nxt[0] is not None and f >= nxt[0] - 1e-9:
            samples.append((round(nxt[0], 4), round(_rss_mb(), 1)))
            nxt[0] = next(marks, None)  # type: ignore[call-overload]

    import time

    with tempfile.TemporaryDirectory(prefix="twin-bench-") as tmp:
        t0 = time.perf_counter()
        run = twin.simulate(case.scenario, out=Path(tmp) / "run",
                            overrides=list(case.overrides), report=False, progress=progress)
        wall = time.perf_counter() - t0
        days = run.summary["sim_days"]
    return {"sim_days": days, "rss_mb": samples, "rss_peak_mb": _maxrss_mb(),
            "wall_s": round(wall, 3)}


def simulate(case: Case, report: bool) -> dict[str, Any]:
    """``twin.simulate`` of ``case``, its report, its tables' sizes."""
    import tempfile
    import time

    import pyarrow.parquet as pq

    import twin
    from twin.report import build_report

    simulate_ = twin.simulate  # its modules imported outside the timer, as the naive model's
    with tempfile.TemporaryDirectory(prefix="twin-bench-") as tmp:
        rss0 = _maxrss_mb()
        t0, c0 = time.perf_counter(), _cpu_s()
        run = simulate_(case.scenario, out=Path(tmp) / "run", overrides=list(case.overrides),
                        report=False)
        wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
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


def summary(case: Case, runs: list[dict[str, Any]], load: list[float]) -> dict[str, Any]:
    """One row for the runs of ``case``: median times, peak memory, records per second."""
    first = runs[0]
    wall = statistics.median(r["wall_s"] for r in runs)
    row: dict[str, Any] = {
        "scenario": case.name, "model": case.kind, "overrides": list(case.overrides),
        "repeat": len(runs), "wall_s": round(wall, 3),
        "load_avg_1m": [round(x, 2) for x in load], "runs": runs}
    if case.kind in ("twin", "naive"):
        reports = [r.get("report_s") for r in runs if r.get("report_s") is not None]
        row.update({k: first.get(k) for k in ("subscribers", "cells", "sim_days", "faults",
                                              "usage_rows", "cdr_rows", "rated_rows")})
        row.update({
            "cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
            "report_s": round(statistics.median(reports), 3) if reports else None,
            "peak_rss_mb": round(max(r["rss_peak_mb"] for r in runs), 1),
            "disk_mb": round(first["disk_mb"], 1) if "disk_mb" in first else None,
            "usage_rows_per_s": round(first["usage_rows"] / wall) if wall > 0 else None})
    elif case.kind == "memory":
        row.update({"sim_days": first["sim_days"], "rss_mb": first["rss_mb"],
                    "peak_rss_mb": round(first["rss_peak_mb"], 1)})
    return row


def _per_s(run: dict[str, Any]) -> float:
    return float(run["usage_rows"] / run["wall_s"])


def bench(cases: list[Case], report: bool = True, log: Any = print,
          pairs: int = 1) -> list[dict[str, Any]]:
    """Run every case ``case.repeat`` times; one summary row per case. With ``pairs`` > 1 a
    twin case and the naive case of the same name run alternately ``pairs`` times each, and
    the twin's row keeps each pair's ratio of records per second (``pair_ratios``): a
    machine whose speed drifts slows both runs of a pair alike."""
    out = []
    paired: set[Case] = set()
    for case in cases:
        if case in paired:
            continue
        naive = next((c for c in cases if c.kind == "naive" and c.name == case.name), None)
        load0 = os.getloadavg()[0]
        if pairs > 1 and case.kind == "twin" and naive is not None:
            runs: dict[Case, list[dict[str, Any]]] = {case: [], naive: []}
            for i in range(pairs):
                for c in (case, naive):
                    log(f"  {c.name} ({c.kind}): pair {i + 1}/{pairs} ...", file=sys.stderr,
                        flush=True)
                    runs[c].append(measure(c, report and c.kind == "twin"))
            load = [load0, os.getloadavg()[0]]
            twin_row, naive_row = summary(case, runs[case], load), summary(naive, runs[naive], load)
            twin_row["pair_ratios"] = [round(_per_s(t) / _per_s(n), 2)
                                       for t, n in zip(runs[case], runs[naive], strict=True)]
            out += [twin_row, naive_row]
            paired.add(naive)
            continue
        done = []
        for i in range(case.repeat):
            log(f"  {case.name}: run {i + 1}/{case.repeat} ...", file=sys.stderr, flush=True)
            done.append(measure(case, report and case.kind == "twin"))
        out.append(summary(case, done, [load0, os.getloadavg()[0]]))
    return out


COLUMNS = (  # header, key, format
    ("scenario", "scenario", "{}"), ("model", "model", "{}"), ("subs", "subscribers", "{:,}"),
    ("days", "sim_days", "{:g}"), ("records", "usage_rows", "{:,}"),
    ("n", "repeat", "{}"), ("wall s", "wall_s", "{:.2f}"), ("cpu s", "cpu_s", "{:.2f}"),
    ("+report s", "report_s", "{:.2f}"), ("peak MB", "peak_rss_mb", "{:,.0f}"),
    ("run MB", "disk_mb", "{:,.0f}"), ("records/s", "usage_rows_per_s", "{:,}"),
)


def table(rows: list[dict[str, Any]]) -> str:
    """The twin's and the naive model's runs (records: usage rows for the twin — every
    call, session and message offered —, calls, sessions and messages for the naive model)."""
    rows = [r for r in rows if r.get("model", "twin") in ("twin", "naive", "demo")]
    cells = [[h for h, _, _ in COLUMNS]]
    cells += [["-" if r.get(k) is None else f.format(r[k]) for _, k, f in COLUMNS]
              for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Twin over naive records per second, per scenario measured with both."""
    out = []
    for naive in (r for r in rows if r.get("model") == "naive"):
        twin = next((r for r in rows if r.get("model") == "twin"
                     and r["scenario"] == naive["scenario"]), None)
        if twin is None or not naive["usage_rows_per_s"]:
            continue
        pair = twin.get("pair_ratios")
        out.append({"scenario": naive["scenario"], "twin_days": twin["sim_days"],
                    "naive_days": naive["sim_days"],
                    "twin_per_s": twin["usage_rows_per_s"],
                    "naive_per_s": naive["usage_rows_per_s"],
                    # alternating pairs: the median of their ratios; else the two medians'
                    "ratio": (round(statistics.median(pair), 2) if pair else
                              round(twin["usage_rows_per_s"] / naive["usage_rows_per_s"], 2)),
                    "pair_ratios": pair,
                    # per CPU second (the twin's both threads): steadier on a shared machine
                    "cpu_ratio": round((twin["usage_rows"] / twin["cpu_s"])
                                       / (naive["usage_rows"] / naive["cpu_s"]), 2)})
    return out


def notes(rows: list[dict[str, Any]]) -> str:
    """The ratio lines, the targets and the memory samples of long runs."""
    lines = []
    for r in ratios(rows):
        same = "same" if r["twin_days"] == r["naive_days"] else "NOT the same"
        lines.append(f"{r['scenario']}: twin {r['twin_per_s']:,} records/s, naive model "
                     f"{r['naive_per_s']:,} records/s ({same} simulated days): "
                     f"{r['ratio']:.1f}x (target >= 20x); per CPU second {r['cpu_ratio']:.1f}x")
        if r["pair_ratios"]:
            lines.append(f"  median of {len(r['pair_ratios'])} alternating pairs of runs: "
                         + ", ".join(f"{x:.1f}x" for x in r["pair_ratios"]))
    for r in rows:
        if r.get("model") == "twin" and r["scenario"] == "quickstart":
            lines.append(f"quickstart simulate: {r['wall_s']:.2f} s median (target <= 3 s)")
        if r.get("model") == "demo":
            lines.append(f"make demo's command (twin run with the report): {r['wall_s']:.2f} s "
                         "(target well under 15 s)")
        if r.get("model") in ("twin", "naive"):
            lines.append(f"{r['scenario']} ({r['model']}): load average "
                         f"{r['load_avg_1m'][0]:.1f} before, {r['load_avg_1m'][1]:.1f} after")
        if r.get("model") == "memory" and r["rss_mb"]:
            mb = [m for _, m in r["rss_mb"]]
            days = r["sim_days"]
            lines.append(f"{r['scenario']}, resident MB at each twelfth of {days:g} days: "
                         + " ".join(f"{m:,.0f}" for m in mb))
            half = mb[len(mb) // 2 - 1:]
            lines.append(f"  second half: {min(half):,.0f}–{max(half):,.0f} MB "
                         f"(growth {max(half) - half[0]:+,.0f} MB after the first half)")
    return "\n".join(lines)


def _git(*args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="the quickstart, the demo and the memory check only")
    p.add_argument("--smoke", action="store_true", help="only a six-hour toy run")
    p.add_argument("--national", action="store_true",
                   help="only the national preset, 30 days (1M subscribers; slow)")
    p.add_argument("--repeat", type=int, default=3, metavar="N", help="quickstart runs (3)")
    p.add_argument("--large-repeat", type=int, default=1, metavar="N", help="large runs (1)")
    p.add_argument("--metro-days", type=float, default=30.0, metavar="D",
                   help="simulated days of the metro case (30)")
    p.add_argument("--naive-days", type=float, metavar="D",
                   help="days of the naive model (default: the metro case's)")
    p.add_argument("--national-days", type=float, default=30.0, metavar="D",
                   help="simulated days of the national case (30)")
    p.add_argument("--year-days", type=float, default=365.0, metavar="D",
                   help="simulated days of the quickstart memory check (365)")
    p.add_argument("--metro-only", action="store_true",
                   help="only the metro case (twin and naive), no quickstart, demo or year")
    p.add_argument("--pairs", type=int, default=1, metavar="N",
                   help="run the metro twin and the naive model alternately N times; the "
                        "ratio is the median of each pair's (1)")
    p.add_argument("--no-naive", action="store_true", help="leave the naive model out")
    p.add_argument("--no-large", action="store_true", help="leave the 100-site network out")
    p.add_argument("--no-report", action="store_true", help="do not time report generation")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write results here")
    p.add_argument("--no-warm-up", action="store_true",
                   help="measure from a cold start: no unmeasured run first (a fresh clone's "
                        "first run then includes compiling the twin's loops)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        spec = json.loads(args.child)
        case = Case(**{**spec["case"], "overrides": tuple(spec["case"]["overrides"])})
        print(MARK + json.dumps(child(case, spec["report"])), flush=True)
        return 0
    if args.smoke:
        cases = [Case("smoke", SMOKE, args.repeat), Case("smoke", SMOKE, 1, kind="naive"),
                 Case("smoke", SMOKE, 1, kind="memory")]
    elif args.national:
        cases = [Case("national", (*NATIONAL, f"duration={args.national_days:g}d"),
                      args.large_repeat)]
    else:
        cases = [] if args.metro_only else [
            Case("quickstart", (), args.repeat), Case("demo", (), 1, kind="demo"),
            Case("quickstart-year", (*YEAR, f"duration={args.year_days:g}d"), 1,
                 kind="memory")]
        if not args.quick:
            if not args.no_large and not args.metro_only:
                cases.append(Case("large", LARGE, args.large_repeat))
            metro = (*METRO, f"duration={args.metro_days:g}d")
            cases.append(Case("metro", metro, args.large_repeat))
            if not args.no_naive:
                days = args.naive_days or args.metro_days
                cases.append(Case("metro", (*METRO, f"duration={days:g}d"), 1, kind="naive"))
    if args.pairs < 1:
        p.error(f"--pairs must be at least 1, not {args.pairs}")
    from twin.scenario import ScenarioError, load

    for case in cases:  # a scenario the options make invalid: said now, before any run
        try:
            load(case.scenario, list(case.overrides))
        except ScenarioError as e:
            p.error(f"the {case.name} case ({case.kind}) is not a valid scenario with these "
                    f"options: {e}")
    if not args.smoke and not args.no_warm_up:
        print("  warm-up (not measured): the compiled loops' cache ...", file=sys.stderr,
              flush=True)
        warm = measure(Case("warm-up", WARM_UP), report=False)
        print(f"  warm-up: {warm['wall_s']:.1f} s", file=sys.stderr, flush=True)
    rows = bench(cases, report=not args.no_report, pairs=args.pairs)
    print(table(rows))
    print(notes(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "commit": _git("rev-parse", "--short", "HEAD"),
            "twin_modified": bool(_git("status", "--porcelain", "twin")),
            "python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "results": rows, "ratios": ratios(rows)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
