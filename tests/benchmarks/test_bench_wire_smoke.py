"""The wire benchmark's decoding part runs end to end on a few traps (timings not checked;
the wire and quickstart cases run in `python -m tests.benchmarks.wire`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import wire


def test_wire_benchmark_prints_a_table_and_json(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "wire.json"
    assert wire.main(["--traps", "200", "--repeat", "1", "--quick", "--json", str(out)]) == 0
    assert "per s/core" in capsys.readouterr().out
    rows = json.loads(out.read_text())["results"]
    assert [r["case"] for r in rows] == ["collector decode", "scapy decode", "pysnmp decode"]
    assert rows[0]["items"] == 200 and all(r["per_s_per_core"] > 0 for r in rows)
