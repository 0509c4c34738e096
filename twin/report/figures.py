"""Figures of a run: traffic and blocking (the timeline, waterfall, maps and swimlanes have
modules of their own)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from matplotlib.figure import Figure

HOUR = 3600.0


PLOTTED = ["carried_erlang", "calls_blocked", "calls_lost_outage", "calls_dropped"]


def _sums_by_period(path: Path, columns: list[str], rows: int = 1_000_000) -> pd.DataFrame:
    """``columns`` of a per-cell PM table summed per period, read a million rows at a time:
    a national month's table (30 million rows) never sits in memory whole."""
    parts = [b.to_pandas().groupby("period_start").sum()
             for b in pq.ParquetFile(path, pre_buffer=False).iter_batches(
                 batch_size=rows, columns=["period_start", *columns])]
    if not parts:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="period_start"))
    return pd.concat(parts).groupby(level=0).sum()


def traffic_and_blocking(run_dir: Path, out: Path) -> None:
    g = _sums_by_period(run_dir / "tables" / "traffic.parquet", PLOTTED)
    hours = g.index / HOUR
    fig = Figure(figsize=(11, 5.5))
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    ax1.plot(hours, g["carried_erlang"], color="#1f77b4", lw=1)
    ax1.set_ylabel("carried voice (Erlang)")
    ax1.set_title("Voice traffic and lost calls per 15-minute period")
    ax2.plot(hours, g["calls_blocked"], label="blocked (congestion)", color="#9467bd", lw=1)
    ax2.plot(hours, g["calls_lost_outage"], label="lost (cell out of service)",
             color="#d62728", lw=1)
    ax2.plot(hours, g["calls_dropped"], label="dropped by a failure", color="#ff7f0e", lw=1)
    ax2.set_ylabel("calls")
    ax2.set_xlabel("hours since start")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
