"""Helpers for the study tests: a one-day stormy quickstart, and a Dask cluster started as
separate ``dask scheduler`` / ``dask worker`` processes on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .support import QUICKSTART

# One stormy day on the quickstart network: nine faults, so crew counts make a difference;
# well under a second a run.
TINY = ("duration=1d", "subscribers.count=600", "faults.scripted[0].at=6h",
        "faults.random.mtbf_h={site_router: 100, cell: 200}")
METRICS = ("faults.injected", "oss.mttr_s", "bss.lost_outage_minor", "traffic.calls_offered")
SCENARIO = str(QUICKSTART)
BIN = Path(sys.executable).parent


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End a process this test started, and its children (its own process group)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def external_cluster(tmp: Path, workers: int = 2) -> Iterator[str]:
    """A scheduler and a worker command with ``workers`` processes, all on 127.0.0.1; yields
    the scheduler's address."""
    info = tmp / "scheduler.json"
    logs = [open(tmp / "scheduler.log", "wb"), open(tmp / "worker.log", "wb")]  # noqa: SIM115
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
             "--scheduler-file", str(info)],
            stdout=logs[0], stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            assert procs[0].poll() is None, (tmp / "scheduler.log").read_text()
            time.sleep(0.2)
        time.sleep(0.2)  # the file is written whole, but give the writer a moment
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen(
            [str(BIN / "dask"), "worker", "--scheduler-file", str(info), "--host", "127.0.0.1",
             "--nworkers", str(workers), "--nthreads", "1", "--no-dashboard",
             "--local-directory", str(tmp / "worker-space")],
            stdout=logs[1], stderr=subprocess.STDOUT, start_new_session=True,
            cwd=tmp))
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for log in logs:
            log.close()
