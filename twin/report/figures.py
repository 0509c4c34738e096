"""Figures of a run: traffic and blocking (the timeline, waterfall, maps and swimlanes have
modules of their own)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

HOUR = 3600.0


def _read(run_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "tables" / f"{name}.parquet")


def traffic_and_blocking(run_dir: Path, out: Path) -> None:
    pm = _read(run_dir, "traffic")
    g = pm.groupby("period_start").sum(numeric_only=True)
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
