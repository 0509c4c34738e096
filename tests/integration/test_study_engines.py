"""The same study gives the same tables wherever its runs execute: in this process, on a
local cluster of one or two workers, and on a cluster started as separate ``dask scheduler``
and ``dask worker`` processes on loopback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import twin
from twin.cli import main
from twin.study.cache import code_version
from twin.study.engine import Engine, RunSpec
from twin.study.study import sweep

from .study_support import METRICS, SCENARIO, TINY, external_cluster

VARY = {"oss.crews.count": [1, 2]}


def _study(tmp: Path, name: str, **kw: object) -> twin.Study:
    return sweep(SCENARIO, VARY, replications=2, seed=3, overrides=TINY, metrics=METRICS,
                 out=tmp / name, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def inline(tmp_path_factory: pytest.TempPathFactory) -> twin.Study:
    return _study(tmp_path_factory.mktemp("inline"), "study", workers=0)


def _same(a: twin.Study, b: twin.Study) -> None:
    pd.testing.assert_frame_equal(a.summaries, b.summaries)
    pd.testing.assert_frame_equal(a.table, b.table)
    pd.testing.assert_frame_equal(pd.read_parquet(a.path / "summaries.parquet"),  # type: ignore[operator]
                                  pd.read_parquet(b.path / "summaries.parquet"))  # type: ignore[operator]


def test_the_study_compares_real_differences(inline: twin.Study) -> None:
    assert inline.executed == 4 and inline.cached == 0 and not inline.failed
    faults = inline.runs.pivot(index="seed", columns="variant", values="faults.injected")
    assert (faults.nunique(axis=1) == 1).all()  # common random numbers: the same faults
    mttr = inline.runs.pivot(index="seed", columns="variant", values="oss.mttr_s")
    assert (mttr.iloc[:, 0] != mttr.iloc[:, 1]).any()  # and the crews made a difference


def test_one_and_two_local_workers_give_identical_tables(inline: twin.Study,
                                                         tmp_path: Path) -> None:
    one = _study(tmp_path, "one", workers=1)
    assert one.where == "a local cluster (1 worker processes)" and one.executed == 4
    _same(inline, one)
    two = _study(tmp_path, "two", workers=2)
    assert two.where == "a local cluster (2 worker processes)" and two.executed == 4
    _same(inline, two)


def test_an_external_scheduler_and_workers_give_identical_tables(
        inline: twin.Study, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with external_cluster(tmp_path) as address:
        out = tmp_path / "external"
        code = main(["sweep", SCENARIO, "--vary", "oss.crews.count=1,2", "-n", "2",
                     "--seed", "3", *(a for s in TINY for a in ("--set", s)),
                     *(a for m in METRICS for a in ("--metric", m)),
                     "--scheduler", address, "--out", str(out), "-q"])
        printed = capsys.readouterr().out
        assert code == 0, printed
        assert f"runs: 4 executed, 0 from the cache ({address}" in printed
        pd.testing.assert_frame_equal(pd.read_parquet(out / "summaries.parquet"),
                                      inline.summaries)
        pd.testing.assert_frame_equal(pd.read_csv(out / "statistics.csv"),
                                      pd.read_csv(inline.path / "statistics.csv"))  # type: ignore[operator]

        # A failing run on a worker is reported with its variant and seed; the rest go on.
        outcomes = []
        with Engine(scheduler=address) as engine:
            specs = [RunSpec(f"k{i}", "name: x\n", i, f"variant {i}") for i in range(3)]
            engine.run(specs, "0.0.0+not-this-twin", outcomes.append)
        assert sorted(o.spec.seed for o in outcomes) == [0, 1, 2]
        assert all(o.result is None and "install the same twin" in (o.error or "")
                   for o in outcomes)
        assert code_version() in outcomes[0].error  # type: ignore[operator]


def test_an_unreachable_scheduler_is_an_argument_error(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    out = tmp_path / "nowhere"
    code = main(["compare", SCENARIO, "--vary", "oss.crews.count=1,2", "-n", "2",
                 *(a for s in TINY for a in ("--set", s)),
                 "--scheduler", "tcp://127.0.0.1:9", "--out", str(out), "-q"])
    assert code == 2
    assert "tcp://127.0.0.1:9" in capsys.readouterr().err
    assert not out.exists()


def test_the_engine_says_when_a_worker_has_no_run_left() -> None:
    """``idle`` fires once, as soon as fewer runs remain than workers (the study then loads
    its table and figure libraries on the freed core)."""
    with Engine(workers=2) as engine:
        # three runs: when the second finishes (before it is handed over), one is left;
        # one run: at once
        for n, expect in ((3, [1]), (1, [0])):
            outcomes: list[object] = []
            calls: list[int] = []
            specs = [RunSpec(f"k{i}", "name: x\n", i, f"variant {i}") for i in range(n)]
            engine.run(specs, "0.0.0+not-this-twin", outcomes.append,
                       idle=lambda: calls.append(len(outcomes)))  # noqa: B023
            assert len(outcomes) == n and calls == expect
