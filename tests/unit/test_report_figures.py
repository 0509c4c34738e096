"""The traffic figure's sums per period, read in slices of the PM table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twin.report.figures import PLOTTED, _sums_by_period


@pytest.mark.parametrize("rows", [1, 7, 1_000_000])
def test_sums_per_period_are_those_of_the_whole_table(tmp_path: Path, rows: int) -> None:
    """Whatever the slice, each period's sums are the whole table's — periods split across
    slices included — in period order, integers exact."""
    rng = np.random.default_rng(5)
    n = 60
    df = pd.DataFrame({
        "period_start": np.repeat(np.arange(12) * 900.0, 5),
        "cell": np.tile(np.arange(5), 12),
        "carried_erlang": rng.random(n) * 10,
        "calls_blocked": rng.integers(0, 9, n), "calls_lost_outage": rng.integers(0, 9, n),
        "calls_dropped": rng.integers(0, 9, n), "data_mb": rng.random(n),
    })
    path = tmp_path / "traffic.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=11)
    got = _sums_by_period(path, PLOTTED, rows=rows)
    want = df.groupby("period_start")[PLOTTED].sum()
    assert list(got.columns) == PLOTTED and got.index.tolist() == want.index.tolist()
    for c in PLOTTED[1:]:
        assert got[c].tolist() == want[c].tolist()
    assert np.allclose(got["carried_erlang"], want["carried_erlang"], rtol=1e-12, atol=0)


def test_an_empty_table_gives_no_periods(tmp_path: Path) -> None:
    path = tmp_path / "traffic.parquet"
    pq.write_table(pa.table({"period_start": pa.array([], pa.float64()),
                             **{c: pa.array([], pa.int64()) for c in PLOTTED}}), path)
    assert _sums_by_period(path, PLOTTED).empty
