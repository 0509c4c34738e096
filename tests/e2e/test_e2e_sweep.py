"""``twin sweep`` as a user runs it: the installed command ends without tearing down its
heap object by object (``twin.cli.exit_now``), and must still say everything, keep its exit
code, stop its workers and leave nothing of theirs behind."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from e2e_support import ENV, SCENARIOS, spawn

TINY = [str(SCENARIOS / "quickstart.yaml"), "--vary", "oss.crews.count=1,2", "-n", "2",
        "--set", "duration=6h", "--set", "subscribers.count=200", "--set",
        "faults.scripted[0].at=1h"]


def finish(*args: str, env: dict[str, str]) -> tuple[int, str, str, int]:
    proc = spawn(*args, env=env)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err, proc.pid


def gone(pgid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_sweep_says_everything_and_leaves_nothing_running(tmp_path: Path,
                                                            workers: str) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    out = tmp_path / "study"
    code, stdout, err, pid = finish("sweep", *TINY, "--workers", workers, "-q", "--out",
                                    str(out), env={**ENV, "TMPDIR": str(tmpdir)})
    assert code == 0, err
    lines = stdout.strip().splitlines()
    assert lines[-2].startswith("runs: 4 executed, 0 from the cache")
    assert lines[-1] == f"results: {out}"  # the last line reached the pipe
    assert (out / "summaries.parquet").is_file() and (out / "figures" / "effects.png").is_file()
    assert gone(pid), "worker processes outlived the sweep"
    # the runs' temporary directories went, and the workers' own under Dask's scratch
    # space (which keeps only the lock files Dask shares between processes)
    assert [p.name for p in tmpdir.iterdir()] in ([], ["dask-scratch-space"])
    assert [p.name for p in tmpdir.rglob("*") if p.suffix != ".lock"
            and p.name != "dask-scratch-space"] == []


def test_a_refused_sweep_keeps_its_exit_code(tmp_path: Path) -> None:
    code, stdout, err, _ = finish("sweep", *TINY, "--metric", "oss.mtr_s", "--out",
                                  str(tmp_path / "study"), env=ENV)
    assert code == 2 and stdout == ""
    assert err.startswith("error: --metric: invalid argument") and "oss.mtr_s" in err
    assert not (tmp_path / "study").exists()
