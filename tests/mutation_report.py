"""Mutation testing of the twin's logic, module by module (``make mutation``).

``python -m tests.mutation_report run [module ...]`` runs mutmut (configured in
pyproject.toml's ``[tool.mutmut]``) on each module in turn with one worker process, timing
each (wall and CPU seconds of the children), then prints the table; ``python -m
tests.mutation_report`` only prints the table of what was run so far (mutmut keeps its
results under ``mutants/``). Each mutant runs only the tests that call the function it
mutates (mutmut finds them in a first traced run of the test selection).

Kill rate = (killed + timed out) / mutants checked: a mutant that makes the tests run past
their time limit was detected too (it is usually an endless loop).

``python -m tests.mutation_report screen [module ...]`` is the fast pass: every mutant mutmut
generated for the module (a ``mutmut run`` must have generated them, even if stopped) runs
against the module's unit tests only (``SCREEN_TESTS``), in one process that calls pytest
again for each mutant instead of starting a new one, with Hypothesis not shrinking. Its
tests are a subset of mutmut's selection, so its kill rate is a lower bound of mutmut's; it
takes seconds a mutant where mutmut's survivors take minutes (they run every scenario test
that reaches the function). Results go to ``mutants/screen/``; a second run re-checks only
the survivors, against the tests as they are now.
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MUTANTS = Path(os.environ.get("TWIN_MUTANTS_DIR", REPO / "mutants"))  # (elsewhere: tests)
TIMES = MUTANTS / "module-times.json"
# mutmut's exit codes → our columns (see mutmut.stats.status_by_exit_code)
STATUS = {1: "killed", 3: "killed", 0: "survived", 36: "timed out", 24: "timed out",
          -24: "timed out", 152: "timed out", 255: "timed out", 5: "no tests", 33: "no tests",
          37: "killed"}


# the fast tests of each module, for the screen (all of them in mutmut's selection)
SCREEN_TESTS = {
    "twin/bss/rating.py": ["test_bss_rating.py", "test_bss_proration.py",
                           "test_bss_rating_properties.py", "test_bss_invoices.py",
                           "test_bss_online_charging.py"],
    "twin/bss/mediation.py": ["test_bss_mediation.py", "test_bss_invoices.py",
                              "test_bss_online_charging.py", "test_bss_billing.py",
                              "test_bss_mediation_fuzz.py", "test_bss_rating_properties.py"],
    "twin/bss/billing.py": ["test_bss_billing.py", "test_bss_invoices.py",
                            "test_bss_proration.py", "test_bss_online_charging.py"],
    "twin/oss/workforce.py": ["test_oss_workforce.py", "test_oss_workforce_paths.py",
                              "test_oss_field_crews.py",
                              "test_oss_tickets.py", "test_oss_customer_tickets.py"],
    "twin/analysis/reconcile.py": ["test_reconcile.py"],
    "twin/oss/correlation.py": ["test_oss_correlation.py", "test_oss_correlation_paths.py",
                                "test_oss_power_grouping.py",
                                "test_oss_alarm_sync.py", "test_oss_impact.py",
                                "test_oss_tickets.py"],
    "twin/network/traffic.py": ["test_network_traffic.py", "test_network_records.py",
                                "test_network_online.py"],
}
SCREEN = MUTANTS / "screen"
SCREEN_LIMIT_S = 60  # one mutant's tests; far past their usual few seconds
# address space of a screen worker: a mutant that asks for far more memory (a rate made
# 3600² times larger draws billions of calls) fails its tests with MemoryError, killed,
# instead of bringing the kernel's out-of-memory killer down on the worker
SCREEN_MEMORY_GB = 8.0


def modules() -> list[str]:
    """The files ``[tool.mutmut] only_mutate`` names, in its order."""
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return list(cfg["tool"]["mutmut"]["only_mutate"])


def dotted(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def generated(path: str) -> dict[str, int | None]:
    """mutmut's exit code of each mutant of ``path`` as generated now (None: not run)."""
    meta = MUTANTS / f"{path}.meta"
    if not meta.exists():
        return {}
    codes: dict[str, int | None] = json.loads(meta.read_text(encoding="utf-8"))[
        "exit_code_by_key"]
    return codes


def counts(path: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for code in generated(path).values():
        out["not checked" if code is None else STATUS.get(code, "suspicious")] += 1
    return out


def run(selected: list[str]) -> None:
    times = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    for path in selected:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "mutmut", "run", f"{dotted(path)}.*",
                        "--max-children", "1"], cwd=REPO, check=False,
                       stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        MUTANTS.mkdir(exist_ok=True)
        times[path] = {"wall_s": round(time.monotonic() - t0, 1),
                       "cpu_s": round(after.ru_utime + after.ru_stime
                                      - before.ru_utime - before.ru_stime, 1),
                       "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
        TIMES.write_text(json.dumps(times, indent=1))
        print(f"{path}: {times[path]['wall_s']:.0f} s", file=sys.stderr)


def screen(selected: list[str]) -> int:
    """The fast pass over each module, one worker process per module, two at a time (a
    lone module split between two); 1 if a worker failed (its tests fail without a
    mutant)."""
    unknown = [m for m in selected if m not in SCREEN_TESTS]
    if unknown:
        raise SystemExit(f"no unit tests listed for the screen of {', '.join(unknown)}")
    missing = [m for m in selected if not generated(m)]
    if missing:
        raise SystemExit(f"no mutants generated for {', '.join(missing)}: run "
                         "`make mutation MODULES=…` first (it may be stopped once it runs)")
    SCREEN.mkdir(parents=True, exist_ok=True)
    # one screen at a time: a second one would replace the tests under the first one's feet
    guard = open(SCREEN / ".screen.lock", "w")  # noqa: SIM115 (held until the process ends)
    try:
        fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit("another mutation screen is running on these mutants; wait for it "
                         "(it screens up to two modules at once)") from None
    # the tests as they are now, where the mutated sources can import them
    shutil.rmtree(MUTANTS / "tests", ignore_errors=True)
    shutil.copytree(REPO / "tests", MUTANTS / "tests",
                    ignore=shutil.ignore_patterns("__pycache__"))
    # a lone module is split between both workers (every other mutant each)
    shards = 2 if len(selected) == 1 else 1
    pending = [[m, str(i), str(shards)] for m in selected for i in range(shards)]
    running: list[subprocess.Popen[bytes]] = []
    failed = False
    while pending or running:
        while pending and len(running) < 2:
            running.append(subprocess.Popen([sys.executable, "-m", "tests.mutation_report",
                                             "_screen", *pending.pop(0)], cwd=REPO))
        running[0].wait()
        for p in running:
            if p.poll():  # ended and failed: its tests fail unmutated, or a signal ended it
                print(f"screen worker {' '.join(map(str, p.args[3:]))} exited with "
                      f"{p.returncode}", file=sys.stderr)
                failed = True
        running = [p for p in running if p.returncode is None]
    return 1 if failed else 0


def _record(out: Path, name: str, code: int) -> None:
    """Add one mutant's result to the module's results, which another worker screening
    the other half of the module may be writing too."""
    with open(out.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = json.loads(out.read_text()) if out.exists() else {}
        done[name] = code
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(done, indent=0))
        tmp.replace(out)


def _screen_worker(path: str, shard: int = 0, shards: int = 1) -> int:
    import contextlib
    import io
    import resource
    import signal

    limit = int(float(os.environ.get("TWIN_SCREEN_MEMORY_GB", SCREEN_MEMORY_GB)) * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.chdir(MUTANTS)
    sys.path.insert(0, str(MUTANTS))
    os.environ["MUTANT_UNDER_TEST"] = "none"  # set before the conftest picks a profile
    import pytest

    tests = [f"tests/unit/{t}" for t in SCREEN_TESTS[path]]
    out = SCREEN / f"{Path(path).stem}.json"
    done: dict[str, int] = json.loads(out.read_text()) if out.exists() else {}
    codes = generated(path)

    def timed_out(*_: object) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, timed_out)

    def run(name: str) -> int:
        os.environ["MUTANT_UNDER_TEST"] = name
        signal.alarm(SCREEN_LIMIT_S)
        try:
            with contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()):
                return int(pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p",
                                        "no:xdist", "-p", "no:randomly", *tests]))
        except TimeoutError:
            return 36
        finally:
            signal.alarm(0)

    # the tests must pass unmutated, twice in one process: otherwise a kill means nothing
    if run("none") != 0 or run("none") != 0:
        print(f"{path}: the screen's tests fail without a mutant", file=sys.stderr)
        return 1
    todo = [k for i, k in enumerate(codes)  # the shard by position: the same every run
            if i % shards == shard and done.get(k) in (None, 0)]
    t0 = time.monotonic()
    for name in todo:
        _record(out, name, run(name))
    print(f"{path}: screened {len(todo)} mutants in {time.monotonic() - t0:.0f} s",
          file=sys.stderr)
    return 0


def screen_table() -> str:
    rows = ["| module | mutants | killed | survived | timed out | not checked "
            "| kill rate (lower bound) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for path in SCREEN_TESTS:
        f = SCREEN / f"{Path(path).stem}.json"
        if not f.exists():
            continue
        names = generated(path)  # as generated now (a changed function's old ones are gone)
        done = json.loads(f.read_text())
        c = Counter(STATUS.get(done[k], "killed") if k in done else "not checked"
                    for k in names)
        checked = c["killed"] + c["survived"] + c["timed out"]
        rate = f"{(c['killed'] + c['timed out']) / checked:.1%}" if checked else "—"
        rows.append(f"| `{path}` | {len(names)} | {c['killed']} | {c['survived']} | "
                    f"{c['timed out']} | {c['not checked']} | {rate} |")
    return "\n".join(rows)


def table() -> str:
    times = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    cols = ("killed", "survived", "timed out", "no tests", "not checked")
    rows = ["| module | mutants | " + " | ".join(cols) + " | kill rate | wall | CPU |",
            "|---|" + "---:|" * (len(cols) + 4)]
    for path in modules():
        c = counts(path)
        checked = sum(c[k] for k in ("killed", "survived", "timed out", "no tests",
                                     "suspicious"))
        rate = f"{(c['killed'] + c['timed out']) / checked:.1%}" if checked else "—"
        t = times.get(path, {})
        wall = f"{t['wall_s'] / 60:.0f} min" if t else "—"
        cpu = f"{t['cpu_s'] / 60:.0f} min" if t else "—"
        rows.append(f"| `{path}` | {sum(c.values())} | "
                    + " | ".join(str(c[k]) for k in cols) + f" | {rate} | {wall} | {cpu} |")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    if argv[:1] == ["run"]:
        known = modules()
        chosen = argv[1:] or known
        unknown = [m for m in chosen if m not in known]
        if unknown:
            print(f"not a module of [tool.mutmut] only_mutate: {', '.join(unknown)}",
                  file=sys.stderr)
            return 2
        run(chosen)
    elif argv[:1] == ["screen"]:
        code = screen(argv[1:] or list(SCREEN_TESTS))
        print(screen_table())
        return code
    elif argv[:1] == ["_screen"]:
        return _screen_worker(argv[1], *(int(a) for a in argv[2:4]))
    elif argv:
        print("usage: python -m tests.mutation_report [run|screen [twin/…/module.py …]]",
              file=sys.stderr)
        return 2
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
