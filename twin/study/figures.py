"""A study's figures: the effect of each variant, and a tornado for sampled ranges.

Money metrics (``*_minor``) are drawn in major units (e.g. EUR). A difference whose interval
survives Holm's correction is drawn dark; one that does not, grey — so a reader sees at a
glance which differences the design made and which could be luck.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path

MAX_PANELS = 12
DARK, GREY = "#1f4e79", "#9a9a9a"


def _scale(metric: str, per_major: int) -> tuple[float, str]:
    return (float(per_major), " (major units)") if metric.endswith("_minor") else (1.0, "")


WIDTH = 9.0  # inches
LABEL_PT = 8  # the font size of tick labels
# inches: above the first panel (the figure's title and the panel's), below the last (its
# tick labels), between panels (tick labels above, a panel title below), right of them
TOP, BOTTOM, GAP, RIGHT = 0.62, 0.35, 0.62, 0.2


def _panels(rows_each: list[int], labels: Sequence[str]) -> tuple[Figure, list[Axes]]:
    """A figure of one panel per metric, stacked, each as tall as its rows, laid out from
    the font's metrics: matplotlib's constrained layout would draw the figure once more
    only to measure it (half a CPU-second per figure, on the path every sweep waits for)."""
    height = max(2.5, sum(max(1.2, 0.35 * r + 0.9) for r in rows_each))
    font = FontProperties(size=LABEL_PT)
    widest = max((text_to_path.get_text_width_height_descent(t, font, ismath=False)[0]
                  for t in labels), default=0.0) / 72
    left = widest + 0.25  # the labels, the tick marks and a margin
    n = len(rows_each)
    plot = height - TOP - BOTTOM - GAP * (n - 1)
    fig = Figure(figsize=(WIDTH, height))
    axes = fig.subplots(n, 1, squeeze=False, gridspec_kw={
        "height_ratios": [max(1, r) for r in rows_each],
        "left": left / WIDTH, "right": 1 - RIGHT / WIDTH,
        "top": 1 - TOP / height, "bottom": BOTTOM / height,
        "hspace": GAP / (plot / n)})[:, 0]
    return fig, list(axes)


def _title(fig: Figure, text: str) -> None:
    """The figure's title, a fixed distance from the top (clear of the first panel's)."""
    fig.suptitle(text, fontsize=10, y=1 - 0.1 / fig.get_figheight(), va="top")


def effects(table: pd.DataFrame, out: Path, per_major: int) -> Path | None:
    """Each variant's paired difference to the baseline with its 95 % interval."""
    diffs = table[table["verdict"] != "baseline"]
    metrics = list(dict.fromkeys(diffs["metric"]))[:MAX_PANELS]
    if diffs.empty or not metrics:
        return None
    sizes = [int((diffs["metric"] == m).sum()) for m in metrics]
    fig, axes = _panels(sizes, [str(v) for v in diffs["variant"]])
    for ax, m in zip(axes, metrics, strict=True):
        rows = diffs[diffs["metric"] == m].reset_index(drop=True)
        div, unit = _scale(m, per_major)
        for i, r in rows.iterrows():
            significant = r["verdict"] in ("lower", "higher")
            half = 0.0 if math.isnan(r["diff_ci95"]) else r["diff_ci95"] / div
            ax.errorbar(r["diff"] / div, i, xerr=half, fmt="o", capsize=4,
                        color=DARK if significant else GREY)
            if r["verdict"] == "identical on every seed":
                ax.annotate(" identical on every seed", (r["diff"] / div, i), fontsize=7,
                            va="center", color=GREY)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(range(len(rows)), [str(v) for v in rows["variant"]], fontsize=LABEL_PT)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_title(f"{m}: difference to the baseline{unit}", fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=8)
    _title(fig, "Paired differences, 95 % intervals (dark: significant after Holm)")
    path = out / "effects.png"
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def _parameter(r: Any) -> str:
    return f"{str(r.parameter).split('=')[0]}: {r.low} → {r.high}"


def tornado(sens: pd.DataFrame, out: Path, per_major: int) -> Path | None:
    """Per metric, each parameter's effect from its low to its high end, largest on top."""
    metrics = list(dict.fromkeys(sens["metric"]))[:MAX_PANELS]
    if sens.empty or not metrics:
        return None
    sizes = [int((sens["metric"] == m).sum()) for m in metrics]
    fig, axes = _panels(sizes, [_parameter(r) for r in sens.itertuples()])
    for ax, m in zip(axes, metrics, strict=True):
        rows = sens[sens["metric"] == m].copy()
        rows["size"] = rows["effect"].abs().fillna(-1)
        rows = rows.sort_values(["size", "parameter"], ascending=[False, True])
        rows = rows.reset_index(drop=True)
        div, unit = _scale(m, per_major)
        for i, r in rows.iterrows():
            significant = r["verdict"] in ("increases it", "decreases it")
            effect = 0.0 if math.isnan(r["effect"]) else r["effect"] / div
            half = 0.0 if math.isnan(r["ci95"]) else r["ci95"] / div
            ax.barh(i, effect, color=DARK if significant else GREY, alpha=0.85)
            ax.errorbar(effect, i, xerr=half, fmt="none", ecolor="black", capsize=3, lw=0.8)
        ax.axvline(0, color="black", lw=0.8)
        if rows["effect"].isna().all():
            ax.text(0.5, 0.5, "not estimable (too few runs define this metric)",
                    transform=ax.transAxes, ha="center", va="center", fontsize=8)
        ax.set_yticks(range(len(rows)), [_parameter(r) for r in rows.itertuples()],
                      fontsize=LABEL_PT)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_title(f"{m}: change from low to high{unit}", fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=8)
    _title(fig, "Sensitivity: effect of each parameter over its range, 95 % intervals "
           "(dark: significant after Holm)")
    path = out / "tornado.png"
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
