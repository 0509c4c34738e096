"""Alarm to invoice for one fault: network, OSS and BSS lanes on one time axis.

The steps are those of :func:`twin.analysis.story.story` (the same chain ``twin story``
tells): the fault, cells out of service, alarms, incident, ticket, dispatch, the crew on
site, repair, service back, the usage lost, the outage reported to the BSS, care contacts
and the SLA credit on the bill. Seconds after the fault and days after it share one axis —
linear for the first minute, logarithmic after — so the 60-second correlation window and
the bill run a week later are both readable. Spans show how long the fault, the outage and
the ticket lasted; each marker is labelled with its step and its time after the fault.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from twin.report.units import after

LANES = ("network", "oss", "bss")
LANE_TITLES = {"network": "network\n(truth)", "oss": "OSS", "bss": "BSS"}
COLOURS = {"network": "#d62728", "oss": "#ff7f0e", "bss": "#1f77b4"}
SPANS = (  # (lane, opening step, closing steps, label, colour)
    ("network", "fault", ("fault cleared", "still failed"), "fault active", "#fcbba1"),
    ("network", "service lost", ("service restored",), "cells out of service", "#ef3b2c"),
    ("oss", "ticket", ("ticket closed",), "ticket open", "#fdd0a2"),
)
DISPLAY = {"usage gap": "usage lost", "fault cleared": "repaired / ended",
           "sla credit": "SLA credit on the bill", "outage reported": "outage report"}
TICKS = ((0, "0"), (60, "1 min"), (600, "10 min"), (3600, "1 h"), (6 * 3600, "6 h"),
         (86_400, "1 d"), (7 * 86_400, "7 d"), (30 * 86_400, "30 d"))
MAX_LINES = 4  # lines of one marker's label
LINEAR = 60.0  # seconds drawn linearly before the axis turns logarithmic


def _u(t: float) -> float:
    """Position on the symlog axis, for grouping markers that would overlap."""
    return math.copysign(math.log10(1 + abs(t) / LINEAR), t)


def clusters(steps: pd.DataFrame, t0: float) -> list[tuple[str, float, list[str]]]:
    """Per lane, the steps close enough to share one marker: (lane, t, labels)."""
    rel = steps.assign(rel=steps["t"] - t0)
    span = max(_u(float(rel["rel"].max())), 1.0)
    out: list[tuple[str, float, list[str]]] = []
    for lane in LANES:
        mine = rel[rel["layer"] == lane].sort_values("rel", kind="stable")
        group: list[tuple[float, str]] = []
        for r in mine.itertuples():
            if group and _u(r.rel) - _u(group[0][0]) > 0.07 * span:
                out.append(_close(lane, group))
                group = []
            group.append((float(r.rel), str(r.step)))
        if group:
            out.append(_close(lane, group))
    return out


def _close(lane: str, group: list[tuple[float, str]]) -> tuple[str, float, list[str]]:
    names: dict[str, int] = {}
    for _, step in group:
        names[step] = names.get(step, 0) + 1
    labels = [DISPLAY.get(n, n) + (f" ×{k}" if k > 1 else "") for n, k in names.items()]
    labels[0] += f"  {after(group[0][0])}"
    if len(labels) > MAX_LINES:
        labels = [*labels[:MAX_LINES - 1], f"… {len(labels) - MAX_LINES + 1} more"]
    return lane, group[0][0], labels


def draw_swimlane(steps: pd.DataFrame, title: str, out: Path) -> Figure:
    """``steps``: one fault's rows of ``story()`` (its first row the fault itself)."""
    t0 = float(steps["t"].iloc[0])
    rel_end = float((steps["t"] - t0).max())
    y = {lane: len(LANES) - 1 - i for i, lane in enumerate(LANES)}
    fig = Figure(figsize=(11, 4.6))
    ax = fig.subplots()
    ax.set_xscale("symlog", linthresh=LINEAR, linscale=0.6)
    xmax = max(rel_end * 1.6, 3600)
    for lane, opening, closing, label, colour in SPANS:
        opened = steps[steps["step"] == opening]
        closed = steps[steps["step"].isin(closing)]
        if opened.empty:
            continue
        a = float(opened["t"].min()) - t0
        b = float(closed["t"].max()) - t0 if not closed.empty else rel_end
        row = y[lane] + (0.1 if label == "fault active" else -0.1 if lane == "network" else 0)
        ax.plot([a, max(b, a)], [row, row], lw=5, color=colour, solid_capstyle="butt",
                zorder=1, label=label)
    for i, (lane, t, labels) in enumerate(clusters(steps, t0)):
        ax.plot([t], [y[lane]], marker="o", ms=7, color=COLOURS[lane], zorder=3,
                markeredgecolor="white")
        up = i % 2 == 0
        right = _u(t) > 0.75 * _u(xmax)  # near the right edge: the label to the left
        ax.annotate("\n".join(labels), (t, y[lane]), xytext=(-3 if right else 3, 13 if up else -13),
                    textcoords="offset points", fontsize=7, va="bottom" if up else "top",
                    ha="right" if right else "left", zorder=4,
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none",
                          "alpha": 0.8})
    ticks = [(t, name) for t, name in TICKS if t <= max(rel_end * 1.05, 3600)]
    ax.set_xticks([t for t, _ in ticks], [name for _, name in ticks], fontsize=8)
    ax.set_xlim(-2, xmax)
    ax.set_yticks([y[lane] for lane in LANES], [LANE_TITLES[lane] for lane in LANES])
    ax.set_ylim(-0.8, len(LANES) - 0.2)
    for lane in LANES:
        ax.axhline(y[lane], color="#eeeeee", lw=0.8, zorder=0)
    ax.set_xlabel("time after the fault (linear for the first minute, then logarithmic)")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper right", fontsize=7, frameon=False, ncol=3)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    return fig
