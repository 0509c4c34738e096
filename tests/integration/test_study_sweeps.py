"""Sweeps end to end (in this process, to keep them quick): sampled designs and their
sensitivity, --until-ci, failing runs, kept run directories, and the metric list."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

import twin.api
from twin.cli import main
from twin.store.run import flatten
from twin.study.metrics import NON_NUMERIC_KEYS, SUMMARY_KEYS
from twin.study.study import sweep

from .study_support import METRICS, SCENARIO, TINY
from .support import QUICKSTART, SMALL, RunScenario


def test_the_metric_list_is_what_a_run_writes(run_scenario: RunScenario) -> None:
    summary = flatten(run_scenario(QUICKSTART, overrides=SMALL).summary)
    numeric = [k for k in summary if k not in NON_NUMERIC_KEYS]
    assert numeric == list(SUMMARY_KEYS), (
        f"add to twin/study/metrics.py: {sorted(set(numeric) - set(SUMMARY_KEYS))}; "
        f"remove: {sorted(set(SUMMARY_KEYS) - set(numeric))}")
    assert all(isinstance(summary[k], int | float | None) for k in numeric)


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sampled") / "study"
    code = main(["sweep", SCENARIO, "--sample", "oss.crews.travel_mean_min=20..180",
                 "--sample", "oss.crews.count=1..3", "--points", "5", "-n", "2", "--seed", "3",
                 *(a for s in TINY for a in ("--set", s)),
                 "--metric", "oss.mttr_s", "--metric", "faults.injected",
                 "--workers", "0", "--out", str(out), "-q"])
    assert code == 0
    return out


def test_a_latin_hypercube_sweep(sampled: Path) -> None:
    runs = pd.read_parquet(sampled / "summaries.parquet")
    assert len(runs) == 5 * 2 and set(runs["seed"]) == {3, 4}
    travel = sorted(runs.drop_duplicates("variant")["set.oss.crews.travel_mean_min"])
    strata = [int((t - 20) / 160 * 5) for t in travel]  # one point in each fifth
    assert sorted(strata) == [0, 1, 2, 3, 4]
    assert runs["set.oss.crews.count"].between(1, 3).all()
    assert set(runs.columns) >= set(SUMMARY_KEYS)
    sens = pd.read_csv(sampled / "sensitivity.csv").set_index(["metric", "parameter"])
    row = sens.loc[("oss.mttr_s", "oss.crews.travel_mean_min")]
    assert row["effect"] > 0 and row["verdict"] == "increases it"  # longer travel, slower
    # the faults do not depend on the crews: exactly no effect on faults.injected
    assert (sens.loc["faults.injected", "effect"].abs() < 1e-9).all()
    assert (sampled / "figures" / "tornado.png").stat().st_size > 10_000
    assert not (sampled / "figures" / "effects.png").exists()
    marker = json.loads((sampled / "sweep.json").read_text())
    assert marker["design"]["kind"] == "lhs" and marker["design"]["points"] == 5
    assert marker["files"] == ["figures/tornado.png", "sensitivity.csv", "statistics.csv",
                               "summaries.csv", "summaries.parquet"]


def test_the_same_directory_takes_another_design(sampled: Path, tmp_path: Path) -> None:
    """A grid study in a sampled study's directory: its own files replace the others'."""
    study = sweep(SCENARIO, {"oss.crews.count": [1, 3]}, replications=2, seed=3,
                  overrides=TINY, metrics=["oss.mttr_s"], out=sampled, workers=0)
    assert study.sensitivity is None
    assert not (sampled / "sensitivity.csv").exists()
    assert not (sampled / "figures" / "tornado.png").exists()
    assert (sampled / "figures" / "effects.png").exists()
    assert study.cached + study.executed == 4
    assert len(list((sampled / "cache").glob("*.json"))) == 10 + study.executed  # kept too


def test_until_ci_adds_seeds_until_the_differences_are_narrow(tmp_path: Path) -> None:
    study = sweep(SCENARIO, {"oss.crews.count": [1, 2]}, replications=2, seed=3,
                  overrides=TINY, metrics=["faults.injected", "traffic.calls_offered"],
                  until_ci={"traffic.calls_offered": 1e9, "faults.injected": 0.5},
                  out=tmp_path / "ci", workers=0)
    # the same faults and demand in both variants: every difference is exactly zero
    assert study.until_ci is not None and study.until_ci["reached"]
    assert study.until_ci["seeds"] == 2 and study.seeds == [3, 4]

    capped = sweep(SCENARIO, {"oss.crews.count": [1, 2]}, replications=2, seed=3,
                   overrides=TINY, metrics=["oss.mttr_s"], until_ci=1.0, max_seeds=5,
                   out=tmp_path / "ci", workers=0)
    u = capped.until_ci
    assert u is not None and not u["reached"] and u["seeds"] == 5 and capped.seeds == [3, 4, 5,
                                                                                       6, 7]
    assert u["widest"]["metric"] == "oss.mttr_s" and u["widest"]["half_width"] > 1.0
    assert capped.cached == 4 and capped.executed == 6  # seeds 3–4 came from the cache
    row = capped.metric("oss.mttr_s").iloc[1]
    assert row["n"] == 5 and math.isclose(row["diff_ci95"], u["widest"]["half_width"])


def test_until_ci_reaches_a_reachable_target(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["compare", SCENARIO, "--vary", "oss.crews.count=1,2", "-n", "2", "--seed", "3",
                 *(a for s in TINY for a in ("--set", s)), "--metric", "oss.crew_utilisation",
                 "--until-ci", "0.15", "--max-seeds", "12", "--workers", "0",
                 "--out", str(tmp_path / "ci")])
    printed = capsys.readouterr().out
    assert code == 0
    marker = json.loads((tmp_path / "ci" / "sweep.json").read_text())
    u = marker["until_ci"]
    assert u["reached"], u
    assert 2 < u["seeds"] < 12 and u["widest"]["half_width"] <= 0.15
    assert f"reached its half-width with {u['seeds']} seeds" in printed
    stats = pd.read_csv(tmp_path / "ci" / "statistics.csv")
    assert (stats["n"] == u["seeds"]).all()


def test_a_failing_run_is_reported_and_the_others_go_on(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    real = twin.api.simulate

    def flaky(scenario, *, seed=None, **kw):  # type: ignore[no-untyped-def]
        if seed == 4 and scenario["oss"]["crews"]["count"] == 2:
            raise RuntimeError("reconciliation does not add up")
        return real(scenario, seed=seed, **kw)

    monkeypatch.setattr(twin.api, "simulate", flaky)
    out = tmp_path / "flaky"
    code = main(["sweep", SCENARIO, "--vary", "oss.crews.count=1,2", "-n", "2", "--seed", "3",
                 *(a for s in TINY for a in ("--set", s)), "--metric", "oss.mttr_s",
                 "--workers", "0", "--out", str(out), "-q"])
    assert code == 1
    err = capsys.readouterr().err
    assert "run failed: oss.crews.count=2 seed 4: RuntimeError: reconciliation does not add " \
           "up" in err
    runs = pd.read_parquet(out / "summaries.parquet")
    assert len(runs) == 3
    marker = json.loads((out / "sweep.json").read_text())
    assert marker["status"] == "failed" and marker["failures"][0]["seed"] == 4
    assert "Traceback" not in err and "reconciliation" in marker["failures"][0]["traceback"]
    stats = pd.read_csv(out / "statistics.csv").set_index("variant")
    assert stats.loc["oss.crews.count=2", "n"] == 1

    monkeypatch.setattr(twin.api, "simulate", real)  # fixed: only the failed run runs again
    again = sweep(SCENARIO, {"oss.crews.count": [1, 2]}, replications=2, seed=3,
                  overrides=TINY, metrics=["oss.mttr_s"], out=out, workers=0)
    assert again.executed == 1 and again.cached == 3 and not again.failed


def test_kept_run_directories(tmp_path: Path) -> None:
    out = tmp_path / "kept"
    study = sweep(SCENARIO, {"oss.crews.count": [1, 2]}, replications=1, seed=3,
                  overrides=TINY, metrics=METRICS, out=out, keep_runs=True, workers=0)
    kept = sorted(p.relative_to(out).as_posix() for p in (out / "runs").glob("*/*"))
    assert kept == ["runs/00-oss.crews.count=1/seed-3", "runs/01-oss.crews.count=2/seed-3"]
    summary = json.loads((out / kept[1] / "summary.json").read_text())
    assert summary["oss"]["mttr_s"] == study.runs.set_index("variant").loc[
        "oss.crews.count=2", "oss.mttr_s"]
    again = sweep(SCENARIO, {"oss.crews.count": [1, 2]}, replications=1, seed=3,
                  overrides=TINY, metrics=METRICS, out=out, keep_runs=True, workers=0)
    assert again.executed == 0
