"""The ``twin`` command: run, validate, report and list scenarios.

``compare`` and ``sweep`` run design studies over common seeds on Dask (see
:mod:`twin.study`).

Exit codes: 0 success; 2 an invalid scenario, argument or output path (nothing written); 1 a
failed run (a write error such as a full disk in one line, other failures with their
traceback); 130 interrupted by SIGINT (Ctrl-C), 143 by SIGTERM (the partial output removed).

Everything a user wrote — names, descriptions, paths — is printed as plain text: the consoles
interpret no markup and highlight nothing (rich's highlighter also takes time quadratic in a
line's length).
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from twin import __version__
from twin.messages import TMF_BASE_URL
from twin.scenario import ScenarioError, load
from twin.store import OutputError, OutputWriteError
from twin.store.rundir import STORAGE_ERRNOS

console = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def plain(text: object, lines: bool = True) -> str:
    """User text safe to print: control characters (a terminal's escape sequences among them)
    shown as escapes; newlines too unless ``lines``."""
    pattern = _CONTROL if lines else _CONTROL_OR_NEWLINE
    return pattern.sub(lambda m: repr(m.group())[1:-1], str(text))


def error(message: str) -> None:
    """One line on stderr: ``error: message`` (the message as plain text)."""
    err.print(Text.assemble(("error:", "bold red"), " ", plain(message, lines=False)))


def _progress(counter: str, quiet: bool) -> Progress:
    return Progress(TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
                    TextColumn(counter), TimeElapsedColumn(), console=err, transient=True,
                    disable=quiet)


def _summary_table(summary: dict[str, object]) -> Table:
    from twin.store.run import flatten

    table = Table(title=plain(f"{summary['scenario']} (seed {summary['seed']})"),
                  show_header=True)
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
            error(f"--emulate: {problem}")
            return 2
    out = Path(args.out) if args.out else Path("runs") / scenario.name
    with _progress("{task.percentage:>3.0f}%", args.quiet) as progress:
        task = progress.add_task(f"simulating {scenario.name}", total=1.0)
        run = simulate(scenario, seed=args.seed, out=out, emulate=args.emulate,
                       progress=lambda f: progress.update(task, completed=f))
    if not args.quiet:
        console.print(_summary_table(run.summary))
    console.print(plain(f"run directory: {run.path}"))
    console.print(plain(f"report: {run.path / 'report.html'}"))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from twin.live.forward import ForwardError, parse_target
    from twin.live.pacing import MAX_SPEED, MIN_SPEED
    from twin.live.serve import serve

    scenario = load(args.scenario, args.set)  # validate before anything starts
    if args.seed is not None:
        from twin.scenario import reseed

        scenario = reseed(scenario, args.seed)
    if not MIN_SPEED <= args.speed <= MAX_SPEED:
        error(f"--speed: must be between {MIN_SPEED} and {MAX_SPEED:g}")
        return 2
    if not 0 <= args.port <= 65535:
        error("--port: must be between 0 and 65535")
        return 2
    try:
        trap_to = parse_target("--trap-to", args.trap_to) if args.trap_to else None
        syslog_to = parse_target("--syslog-to", args.syslog_to) if args.syslog_to else None
    except ForwardError as e:
        error(str(e))
        return 2
    out = Path(args.out) if args.out else Path("runs") / scenario.name
    twin = serve(scenario, out, host=args.host, port=args.port, speed=args.speed,
                 trap_to=trap_to, syslog_to=syslog_to, token=args.token,
                 expose_truth=args.expose_truth, exit_at_end=args.exit_at_end,
                 paused=args.paused,
                 say=lambda text: console.print(plain(text)))
    if twin.error is not None:
        error(f"the run failed: {twin.error}")
        return 1
    assert twin.run is not None
    console.print(plain(f"run directory: {twin.run.path}"))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from twin.live.score import ScoreError, score, show

    try:
        result = score(Path(args.run_dir))
    except ScoreError as e:
        error(str(e))
        return 2
    console.print(plain(show(result)))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    scenario = load(args.scenario, args.set)
    console.print(plain(f"{args.scenario}: valid — {scenario.name}: {scenario.description}"))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from twin.report import build_report

    run_dir = Path(args.run_dir)
    if not (run_dir / "summary.json").exists():
        error(f"{run_dir} is not a run directory (no summary.json)")
        return 2
    console.print(plain(f"report: {build_report(run_dir)}"))
    return 0


def _study(args: argparse.Namespace, command: str) -> int:
    from twin.study import sweep
    from twin.study.console import parse_until_ci, show
    from twin.study.design import parse_vary
    from twin.study.metrics import choose_metrics

    vary = parse_vary(args.vary or [])
    until = parse_until_ci(args.until_ci, choose_metrics(args.metric))
    scenario = load(args.scenario, args.set)  # validate the base before any output exists
    out = Path(args.out) if args.out else Path("runs") / f"{scenario.name}-{command}"
    with _progress("{task.completed}/{task.total} runs", args.quiet) as progress:
        task = progress.add_task(f"{command} {scenario.name}", total=None)
        try:
            study = sweep(args.scenario, vary, sample=getattr(args, "sample", None) or [],
                          points=getattr(args, "points", 10),
                          design=getattr(args, "design", "lhs"),
                          replications=args.replications, seed=args.seed, overrides=args.set,
                          metrics=args.metric, out=out, keep_runs=args.keep_runs,
                          workers=args.workers, scheduler=args.scheduler, until_ci=until,
                          max_seeds=args.max_seeds,
                          progress=lambda d, n: progress.update(task, completed=d, total=n),
                          log=None if args.quiet else progress.console.print,
                          command=command)
        except KeyboardInterrupt as exc:
            name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
            err.print(plain(f"twin: interrupted ({name}); finished runs are kept in "
                            f"{out / 'cache'}: run the same command again to resume"))
            return 143 if isinstance(exc, Terminated) else 130
    show(study, console, err, int(scenario.bss.catalog.minor_per_major), scenario.name)
    return 1 if study.failed else 0


def cmd_compare(args: argparse.Namespace) -> int:
    return _study(args, "compare")


def cmd_sweep(args: argparse.Namespace) -> int:
    return _study(args, "sweep")


def _study_options(c: argparse.ArgumentParser, default_out: str) -> None:
    """Options twin compare and twin sweep share."""
    c.add_argument("-n", "--replications", type=int, default=5,
                   help="seeds per variant (default 5)")
    c.add_argument("--seed", type=int, help="first seed (default the scenario's)")
    c.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field in every variant")
    c.add_argument("--metric", action="append", metavar="KEY",
                   help="summary key to compare, e.g. bss.lost_outage_minor; 'all' for "
                        "every numeric key (default: a standard set)")
    c.add_argument("--until-ci", action="append", metavar="[KEY=]HALF_WIDTH",
                   help="add seeds until every reported difference has this 95%% half-width "
                        "(in the metric's unit; repeatable per metric)")
    c.add_argument("--max-seeds", type=int, default=40,
                   help="the cap of seeds for --until-ci (default 40)")
    c.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask cluster, e.g. tcp://host:8786 (default: a local "
                        "cluster)")
    c.add_argument("--workers", "-j", "--jobs", type=int, dest="workers",
                   help="local worker processes (default one per core; 0: run here, "
                        "without Dask)")
    c.add_argument("--out", help=f"result directory (default {default_out})")
    c.add_argument("--keep-runs", action="store_true",
                   help="keep every run directory under <out>/runs")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def cmd_story(args: argparse.Namespace) -> int:
    from twin.analysis.story import render
    from twin.store import Run

    try:
        run = Run(args.run_dir)
        steps = run.story(args.fault)
    except (FileNotFoundError, KeyError) as exc:
        error(str(exc.args[0]))
        return 2
    if steps.empty:
        console.print("no faults in this run")
        return 0
    console.print(plain(render(steps, run.scenario["start"])))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from twin.export import ExportError, export

    def said(name: str, n: int) -> None:
        console.print(f"{name}: {n:,} resources" if n else
                      f"{name}: none (no data in this run, no file written)",
                      highlight=False, markup=False)

    try:
        written = export(args.run_dir, args.out, args.api, args.limit, progress=said,
                         base_url=args.base_url, ndjson=args.ndjson)
    except ExportError as exc:
        error(str(exc))
        return 2
    out = Path(args.out) if args.out else Path(args.run_dir) / "tmf"
    files = sum(1 for n in written.values() if n)
    console.print(plain(f"{files} files in {out}"))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from twin.scenario.yamlfile import read_mapping

    folder = Path(args.dir)
    if not folder.is_dir():
        error(f"--dir {folder}: {'not a directory' if folder.exists() else 'no such directory'}")
        return 2
    table = Table(show_header=True)
    table.add_column("scenario")
    table.add_column("description")
    for path in sorted(folder.glob("*.yaml")):
        try:
            desc = str(read_mapping(path).get("description", "")).strip().split(". ")[0]
        except ScenarioError:
            desc = "(unreadable)"
        table.add_row(plain(path, lines=False), plain(desc, lines=False))
    console.print(table)
    return 0


def cmd_topologies(args: argparse.Namespace) -> int:
    from twin.network.backbone import catalogue

    rows = [r for r in catalogue(args.group)
            if not args.match or args.match.lower() in r.key.lower()]
    table = Table(title="real backbones for network.backbone (topohub, shipped with the "
                        "package)", show_header=True)
    table.add_column("backbone", no_wrap=True)
    for name in ("PoPs", "links", "km", "demand pairs", "left out"):
        table.add_column(name, justify="right", no_wrap=True)
    for r in rows:
        if not r.refused:
            table.add_row(r.key, str(r.pops), str(r.links), f"{r.km:,.0f}",
                          str(r.demands) if r.demands else "–", str(r.left_out or "–"))
    console.print(table)
    for r in rows:
        if r.refused:
            console.print(f"refused {r.key}: it {r.refused}", highlight=False)
    console.print(f"{len(rows)} listed, {sum(not r.refused for r in rows)} usable")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="twin", description="OSS/BSS Twin: telecom operations "
                                "simulation from network faults to revenue.",
                                epilog="exit codes: 0 success, 2 invalid scenario, argument or "
                                       "output path (nothing written), 1 failed run, 130/143 "
                                       "interrupted (SIGINT/SIGTERM)")
    p.add_argument("--version", action="version", version=f"twin {__version__}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           help="run, serve, score, validate, compare, report, story, export "
                                "or list")
    r = sub.add_parser("run", help="simulate a scenario and write a run directory")
    r.add_argument("scenario", help="scenario YAML file")
    r.add_argument("--out", help="run directory (default runs/<scenario name>): a new path, "
                                 "or an earlier run directory, which is replaced")
    r.add_argument("--seed", type=int, help="replace the scenario's seed")
    r.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a scenario field, e.g. --set oss.crews.count=3")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar or table")
    r.add_argument("--emulate", action="store_true",
                   help="carry the alarms over an emulated management network (Mininet, "
                        "root; see docs/emulation.md)")
    r.set_defaults(func=cmd_run)
    sv = sub.add_parser("serve", help="run a scenario in paced real time and serve it: TM "
                        "Forum Open APIs and hub, forwarded traps, /metrics (docs/live.md)")
    sv.add_argument("scenario", help="scenario YAML file")
    sv.add_argument("--speed", type=float, default=60.0,
                    help="simulated seconds per real second (default 60)")
    sv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8642, help="port to bind (default 8642)")
    sv.add_argument("--trap-to", metavar="HOST:PORT",
                    help="forward the element managers' SNMPv2c traps there")
    sv.add_argument("--syslog-to", metavar="HOST:PORT",
                    help="forward the element managers' syslog (RFC 5424 over UDP) there")
    sv.add_argument("--token", help="require this bearer token on every API request")
    sv.add_argument("--expose-truth", action="store_true",
                    help="serve the ground truth too (/twin/v1/truth/faults)")
    sv.add_argument("--out", help="run directory (default runs/<scenario name>)")
    sv.add_argument("--seed", type=int, help="replace the scenario's seed")
    sv.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                    help="override a scenario field, e.g. --set oss.crews.count=3")
    sv.add_argument("--paused", action="store_true",
                    help="start paused (resume with POST /twin/v1/control), so that tools "
                         "can subscribe before anything happens")
    sv.add_argument("--exit-at-end", action="store_true",
                    help="stop serving when the run is written (default: serve until stopped)")
    sv.set_defaults(func=cmd_serve)
    sc = sub.add_parser("score", help="score an outside tool's actions in a served run "
                        "against the ground truth")
    sc.add_argument("run_dir", help="run directory written by twin serve")
    sc.set_defaults(func=cmd_score)
    v = sub.add_parser("validate", help="check a scenario without running it")
    v.add_argument("scenario", help="scenario YAML file")
    v.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a scenario field, e.g. --set oss.crews.count=3")
    v.set_defaults(func=cmd_validate)
    rep = sub.add_parser("report", help="(re)build figures and report.html of a run")
    rep.add_argument("run_dir", help="a run directory written by `twin run`")
    rep.set_defaults(func=cmd_report)
    c = sub.add_parser("compare", help="run design variants over the same seeds and compare "
                       "their metrics with confidence intervals")
    c.add_argument("scenario", help="scenario YAML file (the baseline design)")
    c.add_argument("--vary", action="append", required=True, metavar="PATH=V1,V2,…",
                   help="a field and its values, e.g. --vary oss.repair_policy=fifo,sla; "
                        "several --vary give every combination")
    _study_options(c, "runs/<scenario>-compare")
    c.set_defaults(func=cmd_compare)
    sw = sub.add_parser("sweep", help="a design study on Dask: grid, random or Latin-hypercube "
                        "designs, cached and resumable, with paired statistics")
    sw.add_argument("scenario", help="scenario YAML file (the baseline design)")
    sw.add_argument("--vary", action="append", metavar="PATH=V1,V2,…",
                    help="a field and its values; several --vary give every combination")
    sw.add_argument("--sample", action="append", metavar="PATH=LOW..HIGH",
                    help="a numeric field sampled over a range (integers if both ends are)")
    sw.add_argument("--points", type=int, default=10,
                    help="design points drawn over the --sample ranges (default 10)")
    sw.add_argument("--design", choices=("lhs", "random"), default="lhs",
                    help="Latin hypercube (default) or independent random points")
    _study_options(sw, "runs/<scenario>-sweep")
    sw.set_defaults(func=cmd_sweep)
    st = sub.add_parser("story", help="tell each fault's chain from failure to bill")
    st.add_argument("run_dir", help="a run directory written by `twin run`")
    st.add_argument("--fault", type=int, help="only this fault id")
    st.set_defaults(func=cmd_story)
    ex = sub.add_parser("export", help="write a run's alarms, tickets, problems, usage, bills "
                        "and orders as TM Forum Open API JSON")
    ex.add_argument("run_dir", help="a run directory written by `twin run`")
    ex.add_argument("--api", action="append", metavar="TMFnnn",
                    help="TMF642, TMF621, TMF656, TMF635, TMF678, TMF622 or TMF641 "
                         "(repeatable; default every one the run has data for)")
    ex.add_argument("--out", help="directory (default RUN_DIR/tmf): a new path, or an earlier "
                                  "export, which is replaced")
    ex.add_argument("--limit", type=int, help="at most this many rows of each source table")
    ex.add_argument("--base-url", default=TMF_BASE_URL, metavar="URL",
                    help=f"where the resources' href point (default {TMF_BASE_URL})")
    ex.add_argument("--ndjson", action="store_true",
                    help="one resource per line (.ndjson files) instead of JSON arrays")
    ex.set_defaults(func=cmd_export)
    ls = sub.add_parser("list", help="the scenarios with their descriptions")
    ls.add_argument("--dir", default="scenarios",
                    help="the directory of scenario files (default scenarios)")
    ls.set_defaults(func=cmd_list)
    tp = sub.add_parser("topologies", help="the real backbones a scenario can name in "
                        "network.backbone (Topology Zoo, SNDlib)")
    tp.add_argument("match", nargs="?", help="only keys containing this (any case)")
    tp.add_argument("--group", choices=["topozoo", "sndlib"], help="only this collection")
    tp.set_defaults(func=cmd_topologies)
    return p


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C: unwind (removing partial output), then exit 143."""


def _stop(signum: int, frame: FrameType | None) -> None:
    # a second signal must not cut short the clean-up the first one started
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


@contextmanager
def _interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM raise (so ``with`` blocks clean up) while a command runs. A signal
    ignored when the process started stays ignored (a shell's background job ignores
    Ctrl-C)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig, handler in old.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, _stop)
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with _interruptible():
            code: int = args.func(args)
        return code
    except ScenarioError as exc:
        what = "invalid argument" if exc.source.startswith("--") else "invalid scenario"
        error(f"{exc.source}: {what}")
        for problem in exc.problems:
            err.print(f"  {plain(problem, lines=False)}")
        return 2
    except OutputError as exc:
        error(str(exc))
        return 2
    except OutputWriteError as exc:
        error(str(exc))
        return 1
    except OSError as exc:
        if exc.errno not in STORAGE_ERRNOS:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        error(f"{where}{exc.strerror or exc}")
        return 1
    except KeyboardInterrupt as exc:
        name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
        err.print(f"twin: interrupted ({name}); no partial output was left behind")
        return 143 if isinstance(exc, Terminated) else 130


# Commands after which this process only exits: a study has imported pandas, scipy,
# matplotlib and Dask, and tearing that heap down object by object takes the interpreter
# most of a second (on the one core every sweep waits for), after every result is written
# and closed. They exit once the atexit handlers have run, leaving the memory to the OS.
QUICK_EXIT = ("sweep", "compare")


def run() -> None:
    """Console-script entry point."""
    argv = sys.argv[1:]
    code = main(argv)
    if argv[:1] and argv[0] in QUICK_EXIT:
        exit_now(code)
    sys.exit(code)


def exit_now(code: int) -> None:
    """Exit as the interpreter would (other threads joined, atexit handlers run, output
    flushed) but without freeing every object first."""
    import atexit
    import contextlib
    import os

    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:  # what the interpreter does first: join non-daemon threads
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
