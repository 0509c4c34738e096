"""Running the installed ``twin`` command as a user does, and watching what it leaves."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
ENV = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}
EARLIER = json.dumps({"twin_version": "0.1.0", "scenario": "earlier"})


def twin_script() -> str:
    beside = Path(sys.executable).parent / "twin"
    found = str(beside) if beside.exists() else shutil.which("twin")
    if found is None:
        pytest.fail("the `twin` console script is not installed")
    return found


def _default_signals() -> None:
    # a shell's foreground job: Ctrl-C and SIGTERM act (a test runner may ignore SIGINT)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def spawn(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None,
          ) -> subprocess.Popen[str]:
    """``twin ARGS`` in a process group of its own (as a shell runs a job)."""
    return subprocess.Popen([twin_script(), *args], cwd=cwd, env=env or ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_default_signals)


def twin(*args: str, cwd: Path = REPO, timeout: float = 300,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = spawn(*args, cwd=cwd, env=env)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str],
             timeout: float = 120.0) -> None:
    """Wait until ``condition()`` holds while ``proc`` still runs."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"finished (exit {proc.returncode}) before the moment awaited: {err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("timed out")
        time.sleep(0.05)


def partials(parent: Path, name: str) -> list[Path]:
    return sorted(parent.glob(f".{name}.partial-*"))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def earlier_run(path: Path) -> dict[str, bytes]:
    """A run directory from before (as the twin marks one); its snapshot."""
    (path / "tables").mkdir(parents=True)
    (path / "manifest.json").write_text(EARLIER)
    (path / "summary.json").write_text('{"scenario": "earlier"}\n')
    (path / "tables" / "alarms.parquet").write_bytes(b"earlier table")
    return snapshot(path)
