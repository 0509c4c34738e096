"""Interrupting the twin: Ctrl-C, SIGTERM and SIGKILL mid-run, and a kill during the swap.

The README promises: an interrupted run prints one line and exits 130 (SIGINT) or 143
(SIGTERM), leaves no partial directory and leaves an earlier run at the target as it was; a
run killed outright (SIGKILL) leaves its partial directory, which the next run removes; and a
kill at any instant of the commit leaves either the old or the new run at the target.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import ENV, SCENARIOS, earlier_run, partials, snapshot, spawn, twin, wait_for

from twin.store import rundir

LONG = [str(SCENARIOS / "quickstart.yaml"), "-q", "--set", "duration=21d"]


def started(parent: Path, name: str) -> bool:
    """The run's partial directory exists and the simulation is under way."""
    return any((p / rundir.OWNER).exists() for p in partials(parent, name))


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGINT, 130, "SIGINT"),
                                                   (signal.SIGTERM, 143, "SIGTERM")])
def test_an_interrupted_run_says_one_line_and_leaves_no_trace(
        tmp_path: Path, sig: int, code: int, name: str) -> None:
    out = tmp_path / "run"
    before = earlier_run(out)
    proc = spawn("run", *LONG, "--out", str(out))
    wait_for(lambda: started(tmp_path, "run"), proc)
    time.sleep(1.0)
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # Ctrl-C: the whole foreground job
    else:
        proc.send_signal(sig)  # kill PID
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [
        f"twin: interrupted ({name}); no partial output was left behind"]
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_killed_run_leaves_its_partial_which_the_next_run_removes(
        tmp_path: Path, explicit_scenario: dict[str, Any]) -> None:
    out = tmp_path / "runs" / "run"
    before = earlier_run(out)
    proc = spawn("run", *LONG, "--out", str(out))
    wait_for(lambda: started(out.parent, "run"), proc)
    time.sleep(0.5)
    proc.kill()
    proc.wait()
    left, = partials(out.parent, "run")
    assert json.loads((left / rundir.OWNER).read_text())["pid"] == proc.pid
    assert snapshot(out) == before  # killed: the earlier run is still whole

    explicit_scenario["duration"] = "2h"
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(yaml.safe_dump(explicit_scenario))
    done = twin("run", str(tiny), "-q", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["run"]  # the leftover is gone
    assert json.loads((out / "summary.json").read_text())["scenario"] == "tiny"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_comparison_stops_its_workers_and_leaves_nothing(
        tmp_path: Path, sig: int) -> None:
    """The study's workers stop with it, their temporary runs go, and what it keeps is only
    its cache of finished runs (to resume from): no partial run directory anywhere."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    out = tmp_path / "cmp"
    proc = spawn("compare", str(SCENARIOS / "crew_shortage.yaml"), "--vary",
                 "oss.crews.count=1,2", "-n", "2", "--workers", "2", "--set", "duration=4d",
                 "-q", "--out", str(out), env={**ENV, "TMPDIR": str(tmpdir)})
    wait_for(lambda: len(list(tmpdir.rglob(".run.partial-*"))) >= 2, proc)
    time.sleep(0.5)
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # Ctrl-C reaches the workers too: they leave it to the parent
    else:
        proc.send_signal(sig)  # only the parent is told: it stops the workers
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "run the same command again to resume" in err
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # every worker of the job has gone
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("worker processes outlived the comparison")
    assert list(tmpdir.rglob(".*partial-*")) == []
    assert [p for p in tmpdir.iterdir() if not p.name.startswith(("dask-", "tmp"))] == []
    assert {p.name for p in tmp_path.iterdir()} <= {"tmp", "cmp"}
    if out.exists():
        assert {p.name for p in out.iterdir()} <= {"cache", "sweep.json"}
        assert list(out.rglob("*partial*")) == []


# --- the commit itself ------------------------------------------------------------------------

# the committer loads rundir.py alone (it needs only the standard library), so it starts in
# milliseconds and can be killed many times
COMMITTER = """
import importlib.util, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("rundir", sys.argv[3])
rundir = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rundir)
RunDirectory = rundir.RunDirectory
target, gen = Path(sys.argv[1]), int(sys.argv[2])
while True:
    gen += 1
    with RunDirectory(target) as rd:
        for k in range(20):
            rd.write_text(f"part-{k}.txt", str(gen))
        rd.write_json("manifest.json", {"twin_version": "test", "gen": gen})
        rd.commit()
"""


def generation(target: Path) -> int | None:
    """The generation of the run at ``target``, read through one directory handle (so from
    one directory even if a swap happens meanwhile); None if it was swapped out and removed
    while being read. Raises if ``target`` is missing or mixes generations."""
    fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)  # FileNotFoundError: no run at all
    try:
        gens = set()
        for name in [*(f"part-{k}.txt" for k in range(20)), "manifest.json"]:
            with open(name, opener=lambda p, flags: os.open(p, flags, dir_fd=fd)) as f:
                text = f.read()
            gens.add(int(json.loads(text)["gen"]) if name == "manifest.json" else int(text))
    except FileNotFoundError:
        return None  # an old directory, swapped out and being removed
    finally:
        os.close(fd)
    assert len(gens) == 1, f"a mix of runs: {sorted(gens)}"
    return gens.pop()


def committer(target: Path, gen: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", COMMITTER, str(target), str(gen),
                             rundir.__file__], env=ENV, stderr=subprocess.DEVNULL)


def test_the_run_at_the_target_is_never_missing_nor_mixed(tmp_path: Path) -> None:
    if rundir._renameat2_fn is None:
        pytest.skip("the atomic exchange needs Linux renameat2; elsewhere two renames")
    target = tmp_path / "run"
    proc = committer(target, 0)
    try:
        deadline = time.monotonic() + 120
        while not target.exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
        seen: set[int] = set()
        watch = time.monotonic() + 5
        while time.monotonic() < watch:
            for _ in range(50):  # the swap's instant is short: look often
                os.stat(target)  # FileNotFoundError: neither run was there
            gen = generation(target)  # never a mix
            if gen is not None:
                seen.add(gen)
        assert len(seen) >= 50, f"the committer swapped only {len(seen)} times"
    finally:
        proc.kill()
        proc.wait()
    rng = random.Random(9)
    gen = max(seen) + 1_000
    for _ in range(12):  # killed at random instants, often inside a commit
        proc = committer(target, gen)
        first = generation(target)
        while generation(target) in (None, first) and proc.poll() is None:
            time.sleep(0.001)  # until it commits
        time.sleep(rng.uniform(0, 0.05))
        proc.kill()
        proc.wait()
        assert generation(target) is not None  # whole: the old run or the new
        gen += 1_000
    rundir.clean_stale(tmp_path)  # what the next run does first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
