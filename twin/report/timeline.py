"""The incident timeline: one lane per target, the truth above what the OSS and crews did.

Each lane holds a target's faults (coloured by kind: a failure, a storm's failure, a silent
degradation, a power cut, planned maintenance), the OSS incidents rooted there and the ticket
work (a crew, or a remote action). A bar shorter than the eye can see on a week's axis is
drawn at a minimum width with its true duration written beside it, so a three-minute crash
is as visible as a day-long outage. Lanes are made only from bars, so none is empty; a large
network keeps the ``MAX_LANES`` lanes with the most time down and says so in the title.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from twin.analysis.story import duration

HOUR = 3600.0
MAX_LANES = 40
MIN_WIDTH = 0.006  # of the horizon: the narrowest bar drawn (40 min on a week)

# kind → (legend label, colour, hatch, row within the lane)
STYLE: dict[str, tuple[str, str, str, float]] = {
    "failure": ("failure (truth)", "#d62728", "", 0.27),
    "storm": ("failure in a storm (truth)", "#8c2d04", "////", 0.27),
    "silent": ("silent degradation (truth: no alarm)", "#7b3294", "xxxx", 0.27),
    "power": ("power outage (truth)", "#e6ab02", "", 0.27),
    "maintenance": ("planned maintenance (truth)", "#607d8b", "\\\\\\\\", 0.27),
    "incident": ("incident (OSS)", "#ff7f0e", "", 0.0),
    "incident_unknown": ("incident, root unknown, no ticket (OSS)", "#fdd0a2", "", 0.0),
    "crew": ("crew work (ticket in progress)", "#1f77b4", "", -0.27),
    "remote": ("remote action (ticket in progress)", "#9ecae1", "", -0.27),
}
FAULT_KINDS = ("failure", "storm", "silent", "power", "maintenance")


@dataclass(frozen=True)
class Bar:
    lane: str
    start: float
    end: float
    kind: str  # a key of STYLE
    note: str = ""  # written beside a bar drawn wider than it is


@dataclass(frozen=True)
class Timeline:
    lanes: list[str]  # top to bottom, in order of their first bar
    bars: list[Bar]
    lanes_in_run: int  # before the cap
    storms: list[tuple[float, float, str]]  # (start, end, region)
    horizon: float

    @property
    def min_width(self) -> float:
        return MIN_WIDTH * self.horizon


def fault_kind(fault: Any) -> str:
    """``maintenance``, ``power``, ``silent``, ``storm`` or ``failure`` for a faults row."""
    if fault.mode == "planned_maintenance":
        return "maintenance"
    if fault.mode == "power_outage":
        return "power"
    if bool(getattr(fault, "silent", False)):
        return "silent"
    return "storm" if fault.source == "storm" else "failure"


def _read(run_dir: Path, name: str) -> pd.DataFrame:
    path = run_dir / "tables" / f"{name}.parquet"
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def timeline(run_dir: Path, horizon: float, max_lanes: int | None = None,
             storms: list[tuple[float, float, str]] | None = None) -> Timeline:
    """The lanes and bars of a run's timeline (at most ``max_lanes``, default MAX_LANES);
    ``storms`` as :func:`storm_windows` gives them (default: read from the run)."""
    cap = MAX_LANES if max_lanes is None else max_lanes
    bars: list[Bar] = []
    faults = _read(run_dir, "faults")
    if not faults.empty:
        faults = faults.merge(_read(run_dir, "fault_ends")[["fault_id", "end"]],
                              on="fault_id", how="left")
        faults["end"] = faults["end"].fillna(horizon)
        for f in faults.itertuples():
            kind = fault_kind(f)
            what = str(f.mode).replace("_", " ")
            bars.append(Bar(str(f.target), float(f.start), float(f.end), kind,
                            f"{what}, {duration(f.end - f.start)}"))
    incidents = _read(run_dir, "incidents")
    if not incidents.empty:
        if "merged_into" in incidents:  # folded into another incident: drawn there
            incidents = incidents[incidents["merged_into"] == 0]
        for i in incidents.itertuples():
            end = float(i.cleared) if pd.notna(i.cleared) else horizon
            kind = "incident_unknown" if i.root_kind == "unknown" else "incident"
            bars.append(Bar(str(i.root), float(i.created), end, kind,
                            f"incident, {duration(end - i.created)}"))
    tickets = _read(run_dir, "tickets")
    if not tickets.empty:
        tickets = tickets[(tickets["status"] != "cancelled") & tickets["in_progress"].notna()]
        for t in tickets.itertuples():
            end = float(t.closed) if pd.notna(t.closed) else horizon
            kind = "crew" if int(t.crew) > 0 else "remote"
            bars.append(Bar(str(t.root), float(t.in_progress), end, kind))
    first: dict[str, float] = {}
    down: dict[str, float] = {}
    for b in bars:
        first[b.lane] = min(first.get(b.lane, b.start), b.start)
        if b.kind in FAULT_KINDS:
            down[b.lane] = down.get(b.lane, 0.0) + b.end - b.start
    lanes = sorted(first, key=lambda name: (first[name], name))
    total = len(lanes)
    if total > cap:  # a large network: the lanes with the most time down, then the rest
        keep = set(sorted(lanes, key=lambda name: (-down.get(name, 0.0), name))[:cap])
        lanes = [name for name in lanes if name in keep]
        bars = [b for b in bars if b.lane in keep]
    if storms is None:
        storms = storm_windows(yaml.safe_load((run_dir / "scenario.yaml").read_text()))
    return Timeline(lanes, bars, total, storms, horizon)


def storm_windows(scenario: Mapping[str, Any]) -> list[tuple[float, float, str]]:
    """(start, end, region) of the storms of a resolved scenario."""
    storms = ((scenario.get("faults") or {}).get("storms")) or []
    return [(float(s["at"]), float(s["at"]) + float(s["duration"]), str(s["region"]))
            for s in storms]


def draw_timeline(tl: Timeline, out: Path) -> Figure:
    lane = {name: i for i, name in enumerate(tl.lanes)}
    fig = Figure(figsize=(11, max(2.8, 0.42 * len(tl.lanes) + 1.8)))
    ax = fig.subplots()
    span = tl.horizon / HOUR
    for start, end, region in tl.storms:
        ax.axvspan(start / HOUR, min(end, tl.horizon) / HOUR, color="#8c2d04", alpha=0.07)
        ax.text(start / HOUR, -0.72, f" storm over {region}", fontsize=7, color="#8c2d04",
                va="bottom")
    kinds: list[str] = []
    for b in tl.bars:
        _, colour, hatch, row = STYLE[b.kind]
        width = max(b.end - b.start, tl.min_width)
        y = lane[b.lane] - row
        ax.barh(y, width / HOUR, left=b.start / HOUR, height=0.24, color=colour, hatch=hatch,
                edgecolor="white", linewidth=0)
        if b.end - b.start < tl.min_width and b.note and b.kind in FAULT_KINDS:
            right = (b.start + width) / HOUR + span * 0.004
            if right < span * 0.8:  # the true duration beside the widened bar
                ax.text(right, y, b.note, fontsize=7, va="center", ha="left", color=colour)
            else:
                ax.text(b.start / HOUR - span * 0.004, y, b.note, fontsize=7, va="center",
                        ha="right", color=colour)
        if b.kind not in kinds:
            kinds.append(b.kind)
    if not tl.lanes:
        ax.text(0.5, 0.5, "no faults, incidents or ticket work in this run",
                transform=ax.transAxes, ha="center", va="center", color="#616161")
    ax.set_yticks(range(len(tl.lanes)), tl.lanes, fontsize=8)
    ax.set_ylim(len(tl.lanes) - 0.5, -1.0)  # first lane at the top
    ax.set_xlim(0, span)
    ax.set_xlabel("hours since start")
    ax.grid(axis="x", color="#eeeeee")
    ax.set_axisbelow(True)
    shown = len(tl.lanes)
    ax.set_title("Faults, incidents and repairs" + (
        f" — the {shown} of {tl.lanes_in_run} targets down longest"
        if shown < tl.lanes_in_run else ""))
    handles = [Patch(facecolor=STYLE[k][1], hatch=STYLE[k][2], edgecolor="white",
                     label=STYLE[k][0]) for k in STYLE if k in kinds]
    if tl.storms:
        handles.append(Patch(facecolor="#8c2d04", alpha=0.15, label="storm window"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
              frameon=False)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return fig
