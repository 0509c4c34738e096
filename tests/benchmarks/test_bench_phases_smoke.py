"""The phase profiler: its phase table and the CPU time of each thread of the run."""

from __future__ import annotations

import threading
import time

import pytest

from . import phases


def test_threads_cpu_read_from_proc_by_name() -> None:
    """A busy thread's CPU time is read under its name and kept after it ends."""
    seen: dict[int, tuple[str, float]] = {}

    def spin() -> None:
        end = time.thread_time() + 0.2
        while time.thread_time() < end:
            pass
        phases.thread_cpu(seen)  # read while it runs: it ends right after

    t = threading.Thread(target=spin, name="spinner_1")
    t.start()
    t.join()
    phases.thread_cpu(seen)
    cpu = phases.by_thread(seen)
    assert cpu["spinner"] >= 0.15  # numbered pool threads go together
    assert "MainThread" in cpu


def test_the_profile_prints_phases_and_threads(capsys: pytest.CaptureFixture[str]) -> None:
    assert phases.main(["--set", "duration=6h", "--set", "subscribers.count=300",
                        "--set", "faults.scripted[0].at=2h"]) == 0
    out = capsys.readouterr().out
    assert "phase" in out and "network" in out
    assert "CPU by thread" in out and "MainThread" in out
    total = next(line for line in out.splitlines() if line.strip().startswith("all "))
    assert float(total.split()[1]) > 0
