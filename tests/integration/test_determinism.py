"""Reproducibility: one scenario and seed give the same run, byte for byte in content.

Two runs of the same (shortened) quickstart with the same seed must agree on every Parquet
table, compared as DataFrames exactly, on ``summary.json`` and on the resolved scenario; the
manifests may differ only in wall time. A different seed must give a different run.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import twin

from .support import QUICKSTART, SMALL, fresh_run

SEED = 1234


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> tuple[twin.Run, twin.Run]:
    base = tmp_path_factory.mktemp("determinism")
    return (fresh_run(QUICKSTART, base / "a", seed=SEED, overrides=SMALL),
            fresh_run(QUICKSTART, base / "b", seed=SEED, overrides=SMALL))


def test_same_seed_same_tables(twins: tuple[twin.Run, twin.Run]) -> None:
    a, b = twins
    assert a.tables == b.tables
    assert len(a.tables) >= 7
    for name in a.tables:
        ta, tb = a.table(name), b.table(name)
        assert len(ta) == len(tb), name
        pd.testing.assert_frame_equal(ta, tb, check_exact=True, obj=f"table {name}")


def test_same_seed_same_summary_and_scenario(twins: tuple[twin.Run, twin.Run]) -> None:
    a, b = twins
    assert (a.path / "summary.json").read_bytes() == (b.path / "summary.json").read_bytes()
    assert (a.path / "scenario.yaml").read_bytes() == (b.path / "scenario.yaml").read_bytes()
    assert a.summary["seed"] == SEED


def test_manifests_differ_only_in_wall_time(twins: tuple[twin.Run, twin.Run]) -> None:
    ma, mb = dict(twins[0].manifest), dict(twins[1].manifest)
    assert "wall_time_s" in ma and "wall_time_s" in mb
    ma.pop("wall_time_s")
    mb.pop("wall_time_s")
    assert ma == mb


def test_different_seed_different_results(twins: tuple[twin.Run, twin.Run],
                                          tmp_path: Path) -> None:
    a = twins[0]
    c = fresh_run(QUICKSTART, tmp_path / "c", seed=SEED + 1, overrides=SMALL)
    assert c.summary != a.summary
    assert c.summary["traffic"]["calls_offered"] != a.summary["traffic"]["calls_offered"]
    for name in ("usage", "cdrs", "rated", "subscriptions"):
        assert not c.table(name).equals(a.table(name)), f"table {name} did not change"
    # Same scenario, so the same network and scripted fault: only the dice changed.
    assert c.scenario == {**a.scenario, "seed": SEED + 1}
    assert c.summary["network"] == a.summary["network"]


def test_same_seed_same_run_whatever_the_string_hash_seed(tmp_path: Path) -> None:
    """Python randomises string hashing per process: nothing may depend on the iteration
    order of a set of names. Congested links (many threshold alarms) once did."""
    import json
    import os
    import subprocess
    import sys

    summaries = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"h{hash_seed}"
        subprocess.run([sys.executable, "-m", "twin.cli", "run", str(QUICKSTART), "-q",
                        "--out", str(out), "--seed", str(SEED), *(f"--set={o}" for o in SMALL),
                        "--set=network.link_capacity_mbps={fibre: 45, microwave: 45}"],
                       check=True, capture_output=True,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed})
        summaries.append(json.loads((out / "summary.json").read_text()))
    assert summaries[0] == summaries[1]
