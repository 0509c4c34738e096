"""Figures of a run: incident timeline, traffic and blocking, revenue breakdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

HOUR = 3600.0
MAX_LANES = 40


def _read(run_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(run_dir / "tables" / f"{name}.parquet")


def incident_timeline(run_dir: Path, out: Path, horizon: float) -> None:
    """One lane per target: true fault (red), OSS incident (orange), ticket work (blue)."""
    faults = _read(run_dir, "faults").merge(_read(run_dir, "fault_ends"), on="fault_id",
                                            how="left")
    faults["end"] = faults["end"].fillna(horizon)
    incidents = _read(run_dir, "incidents")
    if "merged_into" in incidents:  # folded into another incident: not a lane of its own
        incidents = incidents[incidents["merged_into"] == 0]
    tickets = _read(run_dir, "tickets")
    tickets = tickets[tickets["status"] != "cancelled"]
    targets = sorted(set(faults["target"]) | set(incidents["root"]) | set(tickets["root"]))
    shown = len(targets)
    if shown > MAX_LANES:  # a large network: the targets with the most time down
        down = (faults["end"] - faults["start"]).groupby(faults["target"]).sum()
        targets = sorted(sorted(targets, key=lambda t: -float(down.get(t, 0.0)))[:MAX_LANES])
        faults = faults[faults["target"].isin(targets)]
        incidents = incidents[incidents["root"].isin(targets)]
        tickets = tickets[tickets["root"].isin(targets)]
    lane = {t: i for i, t in enumerate(targets)}
    fig = Figure(figsize=(11, max(2.5, 0.35 * len(targets) + 1.2)))
    ax = fig.subplots()
    for f in faults.itertuples():
        ax.barh(lane[f.target] + 0.25, (f.end - f.start) / HOUR, left=f.start / HOUR,
                height=0.22, color="#d62728", label="fault (truth)")
    for i in incidents.itertuples():
        end = i.cleared if pd.notna(i.cleared) else horizon
        ax.barh(lane[i.root], (end - i.created) / HOUR, left=i.created / HOUR, height=0.22,
                color="#ff7f0e", label="incident (OSS)")
    for t in tickets.itertuples():
        if pd.notna(t.in_progress):
            end = t.closed if pd.notna(t.closed) else horizon
            ax.barh(lane[t.root] - 0.25, (end - t.in_progress) / HOUR,
                    left=t.in_progress / HOUR, height=0.22, color="#1f77b4",
                    label="crew dispatched")
    # element ids are user text: a "$" in one must not start matplotlib's math notation
    ax.set_yticks(range(len(targets)), targets, fontsize=8, parse_math=False)
    ax.set_xlim(0, horizon / HOUR)
    ax.set_xlabel("hours since start")
    ax.set_title("Faults, incidents and repairs" + (
        f" — the {len(targets)} of {shown} targets down longest" if shown > len(targets) else ""))
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=False))
    ax.legend(uniq.values(), uniq.keys(), loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


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


def revenue_breakdown(summary: dict[str, Any], out: Path) -> None:
    b = summary["bss"]
    scale = b["minor_per_major"]
    items = [
        ("recurring fees", b["recurring_minor"], "#2ca02c", ""),
        ("usage billed", b["usage_minor"], "#1f77b4", ""),
        ("SLA credits", b["sla_credits_minor"], "#8c564b", "−"),
        ("lost to outages", b["lost_outage_minor"], "#d62728", "not earned "),
        ("lost to blocking", b["lost_blocking_minor"], "#9467bd", "not earned "),
    ]
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    vals = [i[1] / scale for i in items]
    ax.barh([i[0] for i in items], vals, color=[i[2] for i in items])
    for y, (v, item) in enumerate(zip(vals, items, strict=True)):
        ax.annotate(f"{item[3]}{v:,.2f}", (v, y), xytext=(4, 0), textcoords="offset points",
                    va="center", ha="left", fontsize=8)
    ax.set_xlim(0, max([*vals, 1.0]) * 1.25)
    ax.invert_yaxis()
    ax.set_xlabel(f"{b['currency']} — invoiced net of credits: {b['billed_minor'] / scale:,.2f}",
                  parse_math=False)
    ax.set_title("Revenue: billed, credited and lost")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
