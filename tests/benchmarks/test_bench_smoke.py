"""The benchmark machinery works end to end on a six-hour toy run — the twin, the naive
reference model on the same simulated hours, the ratio and the memory samples (timings are not
checked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import run as bench


def test_smoke_benchmark_writes_table_and_json(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert bench.main(["--smoke", "--repeat", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "records/s" in printed and "smoke" in printed and "naive model" in printed
    result = json.loads(out.read_text())
    row, naive, memory = result["results"]
    assert row["scenario"] == "smoke" and row["subscribers"] == 300 and row["sim_days"] == 0.25
    assert row["usage_rows"] > 0 and row["cdr_rows"] > 0 and row["disk_mb"] > 0
    assert row["wall_s"] > 0 and row["report_s"] > 0 and row["peak_rss_mb"] > 0
    assert len(row["runs"]) == 1
    # the naive model on the same network and hours makes about as many records
    assert naive["model"] == "naive" and naive["sim_days"] == 0.25
    assert 0.5 < naive["usage_rows"] / row["usage_rows"] < 2  # a few dozen records
    (ratio,) = result["ratios"]
    assert ratio["ratio"] == round(row["usage_rows_per_s"] / naive["usage_rows_per_s"], 2)
    assert len(memory["rss_mb"]) == 12 and all(mb > 0 for _, mb in memory["rss_mb"])


def test_options_that_make_a_case_invalid_are_a_clear_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    """One simulated day of the metro case ends before the quickstart's scripted fault: the
    benchmark says so and exits 2 before running anything (no traceback)."""
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--metro-only", "--metro-days", "1"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "metro case (twin)" in err and "faults.scripted[0].at" in err
    assert "Traceback" not in err


def test_large_case_is_a_valid_scenario() -> None:
    from twin.scenario import load

    sc = load(bench.QUICKSTART, bench.LARGE)
    assert sc.subscribers.count == 100_000 and sc.duration == 30 * 86_400
    assert sc.network.sites * sc.network.cells_per_site == 300


def test_national_case_is_a_valid_scenario() -> None:
    from twin.network.topology import build_topology
    from twin.scenario import load

    sc = load(bench.QUICKSTART, bench.NATIONAL)
    assert sc.subscribers.count == 1_000_000 and sc.duration == 30 * 86_400
    topo = build_topology(sc.network)
    assert 9_000 <= len(topo.cells) <= 11_000
    assert "site1-site2" in topo.links


def test_table_formats_missing_values() -> None:
    row = {"scenario": "x", "model": "twin", "subscribers": 1, "sim_days": 1.0,
           "usage_rows": 10, "cdr_rows": 9, "repeat": 1, "wall_s": 0.5, "cpu_s": 0.4,
           "report_s": None, "peak_rss_mb": 100.0, "disk_mb": None, "usage_rows_per_s": 20}
    lines = bench.table([row]).splitlines()
    assert len(lines) == 3 and lines[2].split()[8] == "-"


def test_pairs_alternate_the_twin_and_the_naive_model(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """``--pairs 2``: each model runs twice, alternately; the ratio is the median of the two
    pairs' ratios, each from the runs' own records per second."""
    import statistics

    out = tmp_path / "bench.json"
    assert bench.main(["--smoke", "--pairs", "2", "--no-report", "--json", str(out)]) == 0
    assert "alternating pairs" in capsys.readouterr().out
    result = json.loads(out.read_text())
    twin, naive = result["results"][:2]
    assert (twin["model"], naive["model"]) == ("twin", "naive")
    assert twin["repeat"] == naive["repeat"] == 2
    per_s = [[r["usage_rows"] / r["wall_s"] for r in row["runs"]] for row in (twin, naive)]
    pairs = [round(t / n, 2) for t, n in zip(*per_s, strict=True)]
    assert twin["pair_ratios"] == pairs
    (ratio,) = result["ratios"]
    assert ratio["ratio"] == round(statistics.median(pairs), 2)
    assert ratio["pair_ratios"] == pairs


def test_pairs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--smoke", "--pairs", "0"])
    assert exit_.value.code == 2
    assert "--pairs must be at least 1, not 0" in capsys.readouterr().err


def test_an_unmeasured_warm_up_runs_first_unless_refused(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    """The measured cases find the compiled loops' cache filled by a run before them (a
    valid two-day metro scenario); ``--no-warm-up`` and ``--smoke`` measure from cold."""
    from twin.scenario import load

    assert load(bench.QUICKSTART, bench.WARM_UP).duration == 2 * 86_400
    calls: list[str] = []

    def measure(case: bench.Case, report: bool) -> dict[str, float]:
        calls.append(case.name)
        return {"wall_s": 1.0}

    def cases_run(cases: list[bench.Case], **_: object) -> list[dict[str, object]]:
        calls.extend(f"measured {c.name}" for c in cases)
        return []

    monkeypatch.setattr(bench, "measure", measure)
    monkeypatch.setattr(bench, "bench", cases_run)
    assert bench.main(["--metro-only", "--no-naive", "--metro-days", "2"]) == 0
    assert calls == ["warm-up", "measured metro"]
    calls.clear()
    assert bench.main(["--metro-only", "--no-naive", "--metro-days", "2", "--no-warm-up"]) == 0
    assert calls == ["measured metro"]
    calls.clear()
    assert bench.main(["--smoke"]) == 0
    assert "warm-up" not in calls
    assert "warm-up" in capsys.readouterr().err
