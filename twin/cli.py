"""The ``twin`` command: run, validate, report and list scenarios.

``compare`` runs design variants over common seeds (see :mod:`twin.compare`).

Exit codes: 0 success, 2 invalid scenario or arguments (nothing written), 1 a failed run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from twin.scenario import ScenarioError, load

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _summary_table(summary: dict[str, object]) -> Table:
    from twin.store.run import flatten

    table = Table(title=f"{summary['scenario']} (seed {summary['seed']})", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    bss: dict[str, object] = summary["bss"]  # type: ignore[assignment]
    per_major = int(bss["minor_per_major"])  # type: ignore[call-overload]
    for k, v in flatten(summary).items():  # type: ignore[arg-type]
        if k in ("scenario", "seed"):
            continue
        if k.endswith("_minor") and isinstance(v, int):
            text = f"{v / per_major:,.2f} {bss['currency']}"
        elif isinstance(v, bool) or v is None:
            text = str(v)
        elif isinstance(v, int | float):
            text = f"{v:,}"
        else:
            text = str(v)
        table.add_row(k, text)
    return table


def cmd_run(args: argparse.Namespace) -> int:
    from twin.api import simulate

    scenario = load(args.scenario, args.set)  # validate before any output exists
    if args.emulate:
        from twin.emulation import unavailable

        problem = unavailable()
        if problem is not None:
            err.print(f"[red]error:[/] --emulate: {problem}", highlight=False)
            return 2
    out = Path(args.out) if args.out else Path("runs") / scenario.name
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                  console=err, transient=True, disable=args.quiet) as progress:
        task = progress.add_task(f"simulating {scenario.name}", total=1.0)
        run = simulate(scenario, seed=args.seed, out=out, emulate=args.emulate,
                       progress=lambda f: progress.update(task, completed=f))
    if not args.quiet:
        console.print(_summary_table(run.summary))
    console.print(f"run directory: {run.path}")
    console.print(f"report: {run.path / 'report.html'}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    scenario = load(args.scenario, args.set)
    console.print(f"{args.scenario}: valid — {scenario.name}: {scenario.description}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from twin.report import build_report

    run_dir = Path(args.run_dir)
    if not (run_dir / "summary.json").exists():
        err.print(f"[red]error:[/] {run_dir} is not a run directory (no summary.json)")
        return 2
    console.print(f"report: {build_report(run_dir)}")
    return 0


def _fmt(metric: str, value: float, per_major: int) -> str:
    if value != value:  # NaN: undefined (e.g. no faults in any run)
        return "–"
    if metric.endswith("_minor"):
        return f"{value / per_major:,.2f}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def cmd_compare(args: argparse.Namespace) -> int:
    from twin.compare import compare, parse_vary

    vary = parse_vary(args.vary)
    scenario = load(args.scenario, args.set)  # validate the base before any output exists
    out = Path(args.out) if args.out else Path("runs") / f"{scenario.name}-compare"
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} runs"), TimeElapsedColumn(),
                  console=err, transient=True, disable=args.quiet) as progress:
        task = progress.add_task(f"comparing {scenario.name}", total=None)
        result = compare(args.scenario, vary, replications=args.replications, seed=args.seed,
                         overrides=args.set, metrics=args.metric or None, out=out,
                         keep_runs=args.keep_runs, jobs=args.jobs,
                         progress=lambda d, n: progress.update(task, completed=d, total=n))
    per_major = int(load(args.scenario, args.set).bss.catalog.minor_per_major)
    table = Table(title=f"{scenario.name}: mean ± 95% CI over seeds "
                        f"{result.seeds[0]}–{result.seeds[-1]}; Δ paired with "
                        f"{result.variants[0]}", show_header=True)
    table.add_column("metric")
    for v in result.variants:
        table.add_column(v, justify="right")
    for metric, rows in result.table.groupby("metric", sort=False):
        cells = []
        for i, (_, r) in enumerate(rows.iterrows()):
            text = f"{_fmt(metric, r['mean'], per_major)} ± {_fmt(metric, r['ci95'], per_major)}"
            if i:
                text += (f"\nΔ {_fmt(metric, r['diff'], per_major)} ± "
                         f"{_fmt(metric, r['diff_ci95'], per_major)}")
            cells.append(text)
        table.add_row(str(metric), *cells)
    console.print(table)
    console.print(f"comparison: {result.path}")
    return 0


def cmd_story(args: argparse.Namespace) -> int:
    from twin.analysis.story import render
    from twin.store import Run

    try:
        run = Run(args.run_dir)
        steps = run.story(args.fault)
    except (FileNotFoundError, KeyError) as exc:
        err.print(f"[red]error:[/] {exc.args[0]}", highlight=False)
        return 2
    if steps.empty:
        console.print("no faults in this run")
        return 0
    console.print(render(steps, run.scenario["start"]), highlight=False, markup=False)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from twin.export import ExportError, export

    try:
        written = export(args.run_dir, args.out, args.api, args.limit,
                         progress=lambda name, n: console.print(f"{name}: {n:,} resources"))
    except ExportError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        return 2
    out = Path(args.out) if args.out else Path(args.run_dir) / "tmf"
    console.print(f"{len(written)} files in {out}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    table = Table(show_header=True)
    table.add_column("scenario")
    table.add_column("description")
    for path in sorted(Path(args.dir).glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text())
            desc = str(data.get("description", "")).strip().split(". ")[0]
        except (yaml.YAMLError, AttributeError):
            desc = "(unreadable)"
        table.add_row(str(path), desc)
    console.print(table)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="twin", description="OSS/BSS Twin: telecom operations "
                                "simulation from network faults to revenue.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="simulate a scenario and write a run directory")
    r.add_argument("scenario")
    r.add_argument("--out", help="run directory (default runs/<scenario name>)")
    r.add_argument("--seed", type=int, help="replace the scenario's seed")
    r.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a scenario field, e.g. --set oss.crews.count=3")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar or table")
    r.add_argument("--emulate", action="store_true",
                   help="carry the alarms over an emulated management network (Mininet, "
                        "root; see docs/emulation.md)")
    r.set_defaults(func=cmd_run)
    v = sub.add_parser("validate", help="check a scenario without running it")
    v.add_argument("scenario")
    v.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    v.set_defaults(func=cmd_validate)
    rep = sub.add_parser("report", help="(re)build figures and report.html of a run")
    rep.add_argument("run_dir")
    rep.set_defaults(func=cmd_report)
    c = sub.add_parser("compare", help="run design variants over the same seeds and compare "
                       "their metrics with confidence intervals")
    c.add_argument("scenario")
    c.add_argument("--vary", action="append", required=True, metavar="PATH=V1,V2,…",
                   help="a field and its values, e.g. --vary oss.repair_policy=fifo,sla; "
                        "several --vary give every combination")
    c.add_argument("-n", "--replications", type=int, default=5,
                   help="seeds per variant (default 5)")
    c.add_argument("--seed", type=int, help="first seed (default the scenario's)")
    c.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field in every variant")
    c.add_argument("--metric", action="append", metavar="KEY",
                   help="summary key to compare, e.g. bss.lost_outage_minor; 'all' for "
                        "every numeric key (default: a standard set)")
    c.add_argument("--out", help="result directory (default runs/<scenario>-compare)")
    c.add_argument("--keep-runs", action="store_true",
                   help="keep every run directory under <out>/runs")
    c.add_argument("-j", "--jobs", type=int, default=1, help="runs in parallel processes")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=cmd_compare)
    st = sub.add_parser("story", help="tell each fault's chain from failure to bill")
    st.add_argument("run_dir")
    st.add_argument("--fault", type=int, help="only this fault id")
    st.set_defaults(func=cmd_story)
    ex = sub.add_parser("export", help="write a run's alarms, tickets, problems, usage, bills "
                        "and orders as TM Forum Open API JSON")
    ex.add_argument("run_dir")
    ex.add_argument("--api", action="append", metavar="TMFnnn",
                    help="TMF642, TMF621, TMF656, TMF635, TMF678, TMF622 or TMF641 "
                         "(repeatable; default every one the run has data for)")
    ex.add_argument("--out", help="directory (default RUN_DIR/tmf)")
    ex.add_argument("--limit", type=int, help="at most this many rows of each source table")
    ex.set_defaults(func=cmd_export)
    ls = sub.add_parser("list", help="the scenarios with their descriptions")
    ls.add_argument("--dir", default="scenarios")
    ls.set_defaults(func=cmd_list)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except ScenarioError as exc:
        err.print(f"[red]error:[/] {exc.source}: invalid scenario", highlight=False)
        for problem in exc.problems:
            err.print(f"  {problem}", highlight=False, markup=False)
        return 2


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
