"""The sweep benchmark works end to end on tiny runs (timings are not checked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import sweep as bench


def test_sweep_benchmark_writes_table_and_json(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert bench.main(["--smoke", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "speed-up" in printed and "typo refused" in printed and "load 1m" in printed
    result = json.loads(out.read_text())
    assert result["runs"] == 4 and result["workers"] == 2 and result["smoke"]
    assert result["serial_s"] > 0 and result["parallel_s"] > 0 and result["speedup"] > 0
    assert result["detail"]["parallel"][0]["phases"]["cluster_s"] > 0
    assert result["detail"]["serial"][0]["phases"]["cluster_s"] == 0
    # the runs' own seconds: at most the runs phase on each worker
    for mode, workers in (("serial", 1), ("parallel", 2)):
        phases = result["detail"][mode][0]["phases"]
        assert 0 < phases["busy_s"] <= phases["runs_s"] * workers
        assert phases["run_cpu_s"] > 0
    assert len(result["detail"]["typo"]) == 2
