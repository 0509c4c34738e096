"""Design comparisons: common seeds across variants, statistics, files, bad input."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from scipy import stats

from twin.cli import main
from twin.compare import compare, parse_vary
from twin.scenario import ScenarioError

SHORT = ["duration=1d"]


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("cmp") / "crews"
    return compare("scenarios/crew_shortage.yaml", {"oss.crews.count": [1, 3]},
                   replications=3, seed=5, overrides=SHORT, out=out, keep_runs=True,
                   workers=0, metrics=["faults.injected", "oss.mttr_s", "bss.lost_outage_minor"])


def test_every_variant_runs_the_same_seeds_and_faults(result) -> None:  # type: ignore[no-untyped-def]
    runs = result.runs
    assert result.seeds == [5, 6, 7]
    assert result.variants == ["oss.crews.count=1", "oss.crews.count=3"]
    by = runs.pivot(index="seed", columns="variant", values="faults.injected")
    assert (by.iloc[:, 0] == by.iloc[:, 1]).all()  # common random numbers: same faults
    kept = sorted(p.name for p in (result.path / "runs").iterdir())
    assert kept == ["00-oss.crews.count=1", "01-oss.crews.count=3"]
    for variant in kept:
        assert sorted(p.name for p in (result.path / "runs" / variant).iterdir()) == [
            "seed-5", "seed-6", "seed-7"]


def test_statistics_are_student_t_intervals_and_paired_differences(result) -> None:  # type: ignore[no-untyped-def]
    runs, table = result.runs, result.table
    m = "bss.lost_outage_minor"
    base = runs[runs["variant"] == result.variants[0]].set_index("seed")[m]
    other = runs[runs["variant"] == result.variants[1]].set_index("seed")[m]
    row = result.metric(m).loc[result.variants[1]]
    assert row["mean"] == pytest.approx(other.mean())
    half = stats.t.ppf(0.975, 2) * other.std(ddof=1) / math.sqrt(3)
    assert row["ci95"] == pytest.approx(half)
    diff = other - base
    assert row["diff"] == pytest.approx(diff.mean())
    half = stats.t.ppf(0.975, 2) * diff.std(ddof=1) / math.sqrt(3)
    assert row["diff_ci95"] == pytest.approx(half)
    assert result.metric(m).loc[result.variants[0]]["diff"] == 0
    assert set(table["metric"]) == {"faults.injected", "oss.mttr_s", m}


def test_result_files(result) -> None:  # type: ignore[no-untyped-def]
    on_disk = pd.read_parquet(result.path / "summaries.parquet")
    pd.testing.assert_frame_equal(on_disk[result.runs.columns], result.runs)
    pd.testing.assert_frame_equal(pd.read_csv(result.path / "summaries.csv"), on_disk,
                                  check_dtype=False)
    assert len(pd.read_csv(result.path / "statistics.csv")) == 2 * 3
    marker = json.loads((result.path / "sweep.json").read_text())
    assert marker["kind"] == "twin-study" and marker["command"] == "compare"
    assert marker["status"] == "complete" and marker["runs"] == 6
    assert (result.path / "figures" / "effects.png").exists()


def test_two_dask_workers_give_the_same_numbers(result) -> None:  # type: ignore[no-untyped-def]
    again = compare("scenarios/crew_shortage.yaml", {"oss.crews.count": [1, 3]},
                    replications=3, seed=5, overrides=SHORT, workers=2,
                    metrics=["faults.injected", "oss.mttr_s", "bss.lost_outage_minor"])
    pd.testing.assert_frame_equal(again.runs, result.runs)


def test_parse_vary_keeps_bracketed_values_whole() -> None:
    assert parse_vary(["a.b=1,2", "c=[1,2],[]"]) == {"a.b": ["1", "2"], "c": ["[1,2]", "[]"]}
    with pytest.raises(ScenarioError, match="PATH=VALUE"):
        parse_vary(["nothing"])


def test_bad_variant_names_the_field_and_writes_nothing(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "keep.txt").write_text("earlier result")
    code = main(["compare", "scenarios/quickstart.yaml", "--vary",
                 "oss.crews.count=1,-2", "--out", str(out), "-q"])
    assert code == 2
    err = capsys.readouterr().err
    assert "oss.crews.count" in err and "Traceback" not in err
    assert (out / "keep.txt").read_text() == "earlier result"
    assert [p.name for p in tmp_path.iterdir()] == ["cmp"]
    assert main(["compare", "scenarios/quickstart.yaml", "--vary", "oss.nope=1,2",
                 "--out", str(out), "-q"]) == 2
    assert "oss.nope" in capsys.readouterr().err
