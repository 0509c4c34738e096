"""A study's figures: the effect of each variant, and a tornado for sampled ranges.

Money metrics (``*_minor``) are drawn in major units (e.g. EUR). A difference whose interval
survives Holm's correction is drawn dark; one that does not, grey — so a reader sees at a
glance which differences the design made and which could be luck.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

MAX_PANELS = 12
DARK, GREY = "#1f4e79", "#9a9a9a"


def _scale(metric: str, per_major: int) -> tuple[float, str]:
    return (float(per_major), " (major units)") if metric.endswith("_minor") else (1.0, "")


def _panels(rows_each: list[int]) -> Figure:
    height = sum(max(1.2, 0.35 * r + 0.9) for r in rows_each)
    return Figure(figsize=(9, max(2.5, height)), layout="constrained")


def effects(table: pd.DataFrame, out: Path, per_major: int) -> Path | None:
    """Each variant's paired difference to the baseline with its 95 % interval."""
    diffs = table[table["verdict"] != "baseline"]
    metrics = list(dict.fromkeys(diffs["metric"]))[:MAX_PANELS]
    if diffs.empty or not metrics:
        return None
    sizes = [int((diffs["metric"] == m).sum()) for m in metrics]
    fig = _panels(sizes)
    axes = fig.subplots(len(metrics), 1, squeeze=False,
                        gridspec_kw={"height_ratios": [max(1, s) for s in sizes]})[:, 0]
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
        ax.set_yticks(range(len(rows)), [str(v) for v in rows["variant"]], fontsize=8)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_title(f"{m}: difference to the baseline{unit}", fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle("Paired differences, 95 % intervals (dark: significant after Holm)",
                 fontsize=10)
    path = out / "effects.png"
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


def tornado(sens: pd.DataFrame, out: Path, per_major: int) -> Path | None:
    """Per metric, each parameter's effect from its low to its high end, largest on top."""
    metrics = list(dict.fromkeys(sens["metric"]))[:MAX_PANELS]
    if sens.empty or not metrics:
        return None
    sizes = [int((sens["metric"] == m).sum()) for m in metrics]
    fig = _panels(sizes)
    axes = fig.subplots(len(metrics), 1, squeeze=False,
                        gridspec_kw={"height_ratios": [max(1, s) for s in sizes]})[:, 0]
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
        labels = [f"{r.parameter.split('=')[0]}: {r.low} → {r.high}" for r in rows.itertuples()]
        ax.set_yticks(range(len(rows)), labels, fontsize=8)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_title(f"{m}: change from low to high{unit}", fontsize=9, loc="left")
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle("Sensitivity: effect of each parameter over its range, 95 % intervals "
                 "(dark: significant after Holm)", fontsize=10)
    path = out / "tornado.png"
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
