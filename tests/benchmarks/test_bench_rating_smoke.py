"""The rating benchmark runs end to end on a few records (timings are not checked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import rating


def test_rating_benchmark_prints_a_table_and_json(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rating.json"
    assert rating.main(["--records", "20000", "--batch", "5000", "--repeat", "1",
                        "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "rec/s/core" in printed
    rows = json.loads(out.read_text())["results"]
    assert [r["case"] for r in rows] == ["stateless", "rater", "bss"]
    assert all(r["records"] == 20000 and r["rec_per_s_per_core"] > 0 for r in rows)
