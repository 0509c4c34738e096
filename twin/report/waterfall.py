"""The revenue waterfall: what was invoiced, built up from its parts, with what never was.

recurring + usage + one-time − discounts + tax − SLA credits = invoiced (``bss.billed_minor``,
the sum of the invoice totals). Beside the waterfall, outside the sum: usage revenue lost
(outages, drops, denials, blocking; fees of lines that left) and revenue leaked between the
network and rating (carried, never rated). Each bar is a summary key, so the picture and
``summary.json`` cannot disagree; should the parts ever not add up to the invoices, an
``unexplained`` bar says by how much rather than the chart quietly closing the gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from twin.report.units import Money


@dataclass(frozen=True)
class Bar:
    label: str
    minor: int  # signed: what this bar adds to the running total (or, aside, its size)
    key: str  # the summary key it comes from
    kind: str  # up | down | total | unexplained | lost | leaked | online


PARTS = (  # (summary key in bss, label, sign)
    ("recurring_minor", "recurring fees", 1),
    ("usage_minor", "usage", 1),
    ("one_time_minor", "one-time fees", 1),
    ("discounts_minor", "discounts", -1),
    ("tax_minor", "tax (VAT)", 1),
    ("sla_credits_minor", "SLA credits", -1),
)
LOST = (  # reconciliation keys: revenue the network never earned
    ("lost_outage_minor", "outages and drops"),
    ("lost_denied_minor", "online charging denials"),
    ("lost_blocking_minor", "blocking"),
    ("lost_churn_minor", "fees of lines that left"),
)
LEAKED = (  # reconciliation keys: revenue carried but never rated, by cause
    ("leaked_collector_minor", "collector loss"),
    ("leaked_rejected_minor", "rejected records"),
    ("leaked_suspense_minor", "left in suspense"),
    ("leaked_late_minor", "too late to bill"),
    ("leaked_fail_open_minor", "served uncharged (fail-open)"),
    ("leaked_terminated_minor", "usage of lines gone"),
)


@dataclass(frozen=True)
class Waterfall:
    bars: list[Bar]  # the parts, then the invoiced total
    beside: list[Bar]  # lost, leaked and charged online: not part of the sum
    invoiced_minor: int

    @property
    def unexplained_minor(self) -> int:
        return sum(b.minor for b in self.bars if b.kind == "unexplained")


def _int(x: Any) -> int:
    return int(x or 0)


def revenue_waterfall(summary: Mapping[str, Any]) -> Waterfall:
    """The bars of the waterfall from a run's summary; they add up to ``bss.billed_minor``
    (plus an ``unexplained`` bar when they do not)."""
    bss = summary["bss"]
    rec = summary.get("reconciliation") or {}
    bars = [Bar(label, sign * _int(bss.get(key)), f"bss.{key}", "up" if sign > 0 else "down")
            for key, label, sign in PARTS]
    invoiced = _int(bss["billed_minor"])
    gap = invoiced - sum(b.minor for b in bars)
    if gap:
        bars.append(Bar("unexplained", gap, "bss.billed_minor", "unexplained"))
    bars.append(Bar("invoiced", invoiced, "bss.billed_minor", "total"))
    beside: list[Bar] = []
    for key, label in LOST:
        if _int(rec.get(key)):
            beside.append(Bar(f"lost: {label}", _int(rec[key]), f"reconciliation.{key}", "lost"))
    lost_rest = _int(rec.get("lost_minor")) - sum(
        _int(rec.get(k)) for k, _ in LOST if k != "lost_churn_minor")
    if lost_rest:  # a cause the list above does not name yet
        beside.append(Bar("lost: other", lost_rest, "reconciliation.lost_minor", "lost"))
    for key, label in LEAKED:
        if _int(rec.get(key)):
            beside.append(Bar(f"leaked: {label}", _int(rec[key]), f"reconciliation.{key}",
                              "leaked"))
    leak_rest = _int(rec.get("leaked_minor")) - sum(_int(rec.get(k)) for k, _ in LEAKED)
    if leak_rest:
        beside.append(Bar("leaked: other", leak_rest, "reconciliation.leaked_minor", "leaked"))
    if _int(rec.get("charged_online_minor")):
        beside.append(Bar("charged to prepaid balances", _int(rec["charged_online_minor"]),
                          "reconciliation.charged_online_minor", "online"))
    return Waterfall(bars, beside, invoiced)


COLOURS = {"up": "#2ca02c", "down": "#8c564b", "total": "#1f77b4", "unexplained": "#000000",
           "lost": "#d62728", "leaked": "#ff7f0e", "online": "#17becf"}


def draw_waterfall(w: Waterfall, money: Money, out: Path) -> Figure:
    """Bars left to right: each part from the running total, the invoiced total from zero;
    then, after a gap and on the same scale, what was lost, leaked or charged online."""
    scale = money.minor_per_major
    n = len(w.bars) + (len(w.beside) + 1 if w.beside else 0)
    fig = Figure(figsize=(max(8.0, 0.95 * n + 2.0), 4.8))
    ax = fig.subplots()
    running = 0
    labels: list[str] = []
    for x, b in enumerate(w.bars):
        if b.kind == "total":
            bottom, height = 0, b.minor
        else:
            bottom, height = min(running, running + b.minor), abs(b.minor)
        ax.bar(x, height / scale, bottom=bottom / scale, color=COLOURS[b.kind], width=0.7)
        if b.kind != "total":
            if x + 1 < len(w.bars):  # connector to the next bar
                ax.plot([x + 0.35, x + 0.65], [(running + b.minor) / scale] * 2,
                        color="#555555", lw=0.8)
            running += b.minor
        sign = "−" if b.minor < 0 else ("+" if b.kind not in ("total",) and x else "")
        ax.annotate(f"{sign}{abs(b.minor) / scale:,.2f}", (x, (bottom + height) / scale),
                    xytext=(0, 3), textcoords="offset points", ha="center", fontsize=8)
        labels.append(("= " if b.kind == "total" else "") + b.label)
    if w.beside:
        x0 = len(w.bars) + 1
        ax.axvline(x0 - 1, color="#999999", lw=0.8, ls=":")
        for i, b in enumerate(w.beside):
            ax.bar(x0 + i, b.minor / scale, color=COLOURS[b.kind], width=0.7, hatch="//",
                   alpha=0.85, edgecolor="white")
            ax.annotate(f"{b.minor / scale:,.2f}", (x0 + i, b.minor / scale), xytext=(0, 3),
                        textcoords="offset points", ha="center", fontsize=8)
        labels += [""] + [b.label for b in w.beside]
        ax.text(x0 - 0.8, ax.get_ylim()[1] * 0.97, "not invoiced →", fontsize=8,
                va="top", color="#555555")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(money.currency)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.08)
    ax.set_title(f"Invoiced {w.invoiced_minor / scale:,.2f} {money.currency}: its parts, and the "
                 "revenue that never reached an invoice", fontsize=10)
    ax.grid(axis="y", color="#eeeeee")
    ax.set_axisbelow(True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return fig
