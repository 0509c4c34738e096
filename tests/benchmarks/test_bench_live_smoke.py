"""The live load benchmark runs end to end for a few seconds at a low rate (timings not
checked; the full load runs in `python -m tests.benchmarks.live`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import live


def test_live_benchmark_prints_a_table_and_json(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "live.json"
    assert live.main(["--seconds", "2", "--rate", "20", "--clients", "2", "--speed", "600",
                      "--subscribers", "300", "--cut-at", "5m", "--json", str(out)]) == 0
    assert "p99_ms" in capsys.readouterr().out
    r = json.loads(out.read_text())["results"]
    assert r["requests"] == 40 and r["failed"] == 0
    assert r["events"] > 0 and r["delivered"] == r["events"]  # the cut's alarms, all of them


def test_live_benchmark_polls_usage(tmp_path: Path) -> None:
    out = tmp_path / "usage.json"
    assert live.main(["--seconds", "2", "--rate", "10", "--clients", "2", "--speed", "600",
                      "--subscribers", "300", "--resource", "usage", "--start",
                      "2026-01-05T10:00:00Z", "--json", str(out)]) == 0
    r = json.loads(out.read_text())["results"]
    assert r["resource"] == "usage" and r["requests"] == 20 and r["failed"] == 0
