"""Summary values as people read them: money in major units, durations as h:mm, ratios as %.

``summary.json`` keeps what machines want — integer minor units, seconds, fractions — and
the report turns each value into text by the key's name: ``…_minor`` is money, ``…_s`` a
duration, a ratio, share, accuracy or KPI a percentage. The rules go by suffix, so a key
another part of the twin adds later is shown in its unit without a change here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twin.store.run import flatten

# keys whose value is a fraction of one, shown as a percentage
RATIO_SUFFIXES = ("_ratio", "_accuracy", "_precision", "_recall", "_utilisation",
                  "_compliance", "_share")
RATIO_KEYS = frozenset({"kpi_availability", "kpi_cssr", "kpi_drop_rate", "kpi_blocking"})
NOT_RATIOS = frozenset({"compression_ratio"})  # alarms per incident: "6.3 : 1"

GROUPS = {  # the summary's sections in the order a reader meets them, with their titles
    "": "Run",
    "network": "Network",
    "traffic": "Traffic (ground truth)",
    "faults": "Faults (ground truth)",
    "oss": "OSS",
    "bss": "BSS",
    "reconciliation": "Revenue assurance",
}


@dataclass(frozen=True)
class Money:
    """How a run counts money: ``minor_per_major`` minor units make one ``currency``."""

    currency: str = "EUR"
    minor_per_major: int = 100

    @classmethod
    def of(cls, summary: Mapping[str, Any]) -> Money:
        bss = summary.get("bss") or {}
        return cls(str(bss.get("currency", "EUR")), int(bss.get("minor_per_major", 100)))

    def __call__(self, minor: float | None) -> str:
        if minor is None:
            return "—"
        return f"{minor / self.minor_per_major:,.2f} {self.currency}"


def hmm(seconds: float | None) -> str:
    """A duration as ``h:mm`` (``27:05`` is a day and three hours); under an hour with
    seconds too (``0:04:10``), where whole minutes would hide the difference."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    s = round(float(seconds))
    sign, s = ("−", -s) if s < 0 else ("", s)
    if s < 3600:
        return f"{sign}0:{s // 60:02d}:{s % 60:02d}"
    h, m = divmod(round(s / 60), 60)
    return f"{sign}{h}:{m:02d}"


def after(seconds: float) -> str:
    """Time after an event, as the story tells it: ``+0:01:03``, ``+3:09:45``,
    ``+5d 14:00:00``."""
    days, rest = divmod(max(0.0, float(seconds)), 86_400)
    return (f"+{int(days)}d " if days else "+") + \
        f"{int(rest // 3600)}:{int(rest % 3600 // 60):02d}:{int(rest % 60):02d}"


def percent(fraction: float | None) -> str:
    """A fraction as a percentage, with enough digits to tell small rates from zero."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return "—"
    v = float(fraction) * 100
    if v == 0:
        return "0 %"
    digits = 2 if abs(v) >= 1 else min(6, 1 - math.floor(math.log10(abs(v))))  # 2 significant
    return f"{v:.{digits}f} %"


def kind_of(key: str) -> str:
    """``money``, ``duration``, ``ratio``, ``compression``, ``days``, ``mb``, ``mbps``,
    ``minutes`` or ``plain`` for a (dotted) summary key."""
    leaf = key.rsplit(".", 1)[-1]
    if leaf in NOT_RATIOS:
        return "compression"
    if leaf.endswith("_minor"):
        return "money"
    if leaf.endswith("_s"):
        return "duration"
    if leaf in RATIO_KEYS or leaf.endswith(RATIO_SUFFIXES):
        return "ratio"
    for suffix, kind in (("_days", "days"), ("_mbps", "mbps"), ("_mb", "mb"),
                         ("_min", "minutes")):
        if leaf.endswith(suffix):
            return kind
    return "plain"


def show(key: str, value: Any, money: Money) -> str:
    """``value`` of summary key ``key`` as text in its unit."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, int | float):
        return str(value)
    kind = kind_of(key)
    if kind == "money":
        return money(value)
    if kind == "duration":
        return hmm(value)
    if kind == "ratio":
        return percent(value)
    if kind == "compression":
        return f"{value:,.1f} : 1"
    unit = {"days": " days", "mb": " MB", "mbps": " Mbit/s", "minutes": " min"}.get(kind, "")
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}{unit}"
    return f"{value:,.1f}{unit}" if abs(value) >= 10 else f"{value:,.3g}{unit}"


@dataclass(frozen=True)
class Row:
    key: str  # the dotted summary key (what a QA script asserts on)
    label: str  # the key within its group
    value: str  # shown in its unit
    raw: Any


@dataclass(frozen=True)
class Group:
    name: str
    title: str
    rows: list[Row]


def grouped(summary: Mapping[str, Any]) -> list[Group]:
    """The summary by layer — run, network, traffic, faults, OSS, BSS, revenue assurance,
    then any other section — every leaf in its unit."""
    money = Money.of(summary)
    sections: dict[str, list[Row]] = {}
    for key, value in flatten(summary).items():
        top = key.split(".", 1)[0] if "." in key else ""
        label = key[len(top) + 1:] if top else key
        sections.setdefault(top, []).append(Row(key, label, show(key, value, money), value))
    order = [g for g in GROUPS if g in sections] + [g for g in sections if g not in GROUPS]
    return [Group(g, GROUPS.get(g, g.replace("_", " ").capitalize()), sections[g])
            for g in order]


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    note: str
    key: str


KPIS = (  # (dotted key, label, what it means)
    ("oss.kpi_availability", "Availability", "cell time in service (PM counters)"),
    ("oss.kpi_cssr", "Call setup success", "calls set up of calls attempted"),
    ("traffic.blocking_ratio", "Blocking", "calls refused for want of a channel"),
    ("oss.mttd_s", "MTTD", "fault to diagnosed incident"),
    ("oss.mttr_s", "MTTR", "fault to service restored"),
    ("oss.rca_accuracy", "Root cause right", "incidents naming a truly failed target"),
    ("oss.compression_ratio", "Alarm compression", "raw alarms per incident"),
    ("oss.ticket_sla_compliance", "Tickets in target", "restored within the restore target"),
    ("bss.billed_minor", "Invoiced", "invoice totals, tax included"),
    ("bss.sla_credits_minor", "SLA credits", "paid back for outages"),
    ("reconciliation.lost_minor", "Usage revenue lost", "outages, drops, denials, blocking"),
    ("reconciliation.leaked_minor", "Revenue leaked", "carried but never rated"),
)


def kpi_panel(summary: Mapping[str, Any]) -> list[Kpi]:
    """The headline numbers for the panel at the top of the report (those the run has)."""
    flat = flatten(summary)
    money = Money.of(summary)
    return [Kpi(label, show(key, flat[key], money), note, key)
            for key, label, note in KPIS if key in flat]
