"""The export benchmark runs end to end on a small run (timings are not checked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import export


def test_export_benchmark_prints_a_table_and_json(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "export.json"
    assert export.main(["--subscribers", "300", "--days", "2", "--repeat", "1",
                        "--json", str(out)]) == 0
    assert "rec/s" in capsys.readouterr().out
    rows = json.loads(out.read_text())["results"]
    assert [r["case"] for r in rows] == ["json array", "ndjson"]
    assert rows[0]["records"] == rows[1]["records"] > 0
    assert all(r["rec_per_s"] > 0 and r["mb"] > 0 for r in rows)
