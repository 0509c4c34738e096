"""Calibration: the twin's default KPIs against published ranges.

``docs/calibration.yaml`` lists each KPI — its published range, the source, the parameters
that set it, and the value measured in the quickstart and in a short run of the ``metro``
preset. :func:`measure` computes every KPI of a finished run; :func:`markdown_table` renders
the file as the table in ``docs/domain.md``. The calibration test runs both scenarios and
holds each measured value against its range and against the value the file records, so the
file, the doc table and the code cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from twin.store import Run

if TYPE_CHECKING:
    import pandas as pd


def _drop_rate(run: Run) -> float:
    return float(run.summary["oss"]["kpi_drop_rate"])


def _cssr(run: Run) -> float:
    return float(run.summary["oss"]["kpi_cssr"])


def _busy_hour_blocking(run: Run) -> float:
    """Blocked / offered calls over every cell in each day's busy hour (the hour with the
    most offered calls network-wide), as TRAI's TCH congestion is read."""
    t = run.table("traffic")
    hour = (t["period_start"] // 3600).astype(np.int64)
    per_hour = t.groupby(hour)[["calls_offered", "calls_blocked"]].sum()
    busy = per_hour.groupby(per_hour.index // 24)["calls_offered"].idxmax()
    rows = per_hour.loc[busy.to_numpy()]
    return float(rows["calls_blocked"].sum() / max(int(rows["calls_offered"].sum()), 1))


def _cell_downtime(run: Run) -> float:
    return float(1.0 - run.summary["oss"]["kpi_availability"])


def _mttr_h(run: Run) -> float:
    mttr = run.summary["oss"]["mttr_s"]
    return float("nan") if mttr is None else float(mttr) / 3600.0


def _alarms_per_10_min(run: Run) -> float:
    """Alarms the OSS raised per 10 minutes of the run (every operator together)."""
    return float(run.summary["oss"]["alarms_raw"]) / (float(run.summary["sim_days"]) * 144.0)


def _noise_share(run: Run) -> float:
    """Raw alarm raises the OSS received whose alarm cleared by itself without joining an
    incident (so without a ticket), over all raw raises; alarms of planned maintenance left
    out of both."""
    raw = run.table("alarms_raw")
    raw = raw[(raw["perceived_severity"] != "cleared") & (raw["alarm_id"] > 0)]
    alarms = run.table("alarms").set_index("alarm_id")
    a = alarms.loc[raw["alarm_id"].to_numpy()]
    a = a[a["maintenance"] == 0]
    if a.empty:
        return float("nan")
    alone = (a["incident_id"] == 0) & a["cleared"].notna()
    return float(alone.mean())


def _mttr_of(*modes: str) -> Callable[[Run], float]:
    """Mean time to repair (fault start to its end by repair or restart, on the truth) over
    the faults of ``modes`` that ended in the run; NaN where the run has none."""
    def mttr(run: Run) -> float:
        f = run.table("faults").merge(run.table("fault_ends"), on="fault_id")
        f = f[f["mode"].isin(modes) & f["cleared_by"].isin(("repair", "restart"))]
        return float((f["end"] - f["start"]).mean() / 3600.0) if len(f) else float("nan")
    return mttr


def _usage_leakage(run: Run) -> float:
    rec = run.summary["reconciliation"]
    return float(rec["leaked_minor"]) / max(float(rec["carried_usage_minor"]), 1.0)


MONTH_DAYS = 30.44


def _line_months(run: Run, account_type: str | None = None) -> tuple[pd.DataFrame, float]:
    """The lines that existed from the start (of one account type), and their line-months
    in the run."""
    subs = run.table("subscriptions")
    subs = subs[~subs["new_line"]]
    if account_type is not None:
        subs = subs[subs["account_type"] == account_type]
    return subs, len(subs) * float(run.summary["sim_days"]) / MONTH_DAYS


def _whole_cycle(run: Run) -> tuple[float, float] | None:
    """The first bill cycle the run billed whole (start and end, in simulated seconds)."""
    inv = run.table("invoices")
    whole = inv[(inv["billed_to"] - inv["billed_from"])
                == (inv["cycle_end"] - inv["cycle_start"]).dt.total_seconds()]
    if whole.empty:
        return None
    first = whole.sort_values(["billed_from", "billed_to"]).iloc[0]
    return float(first["billed_from"]), float(first["billed_to"])


def _arpu(account_type: str) -> Callable[[Run], float]:
    def arpu(run: Run) -> float:
        """Revenue (net of VAT) per line of the account type in the first bill cycle the run
        covers whole: a postpaid line's invoice (fees, usage, discounts, credits), a prepaid
        line's charged usage; NaN in a run shorter than a cycle."""
        cycle = _whole_cycle(run)
        subs, _ = _line_months(run, account_type)
        if cycle is None or subs.empty:
            return float("nan")
        lo, hi = cycle
        if account_type == "prepaid":
            rated = run.table("rated")
            mine = rated["sub"].isin(subs["sub"]) & (rated["start"] >= lo) & (rated["start"] < hi)
            revenue = float(rated.loc[mine, "charge_minor"].sum())
        else:
            inv = run.table("invoices")
            inv = inv[(inv["billed_from"] == lo) & (inv["billed_to"] == hi)
                      & (inv["account_type"] == account_type)]
            lines = run.table("invoice_lines")
            lines = lines[lines["invoice_id"].isin(inv["invoice_id"])
                          & lines["sub"].isin(subs["sub"])
                          & (lines["line_type"] != "tax")]
            revenue = float(lines["amount_minor"].sum())
        return revenue / len(subs) / _minor_per_major(run)
    return arpu


def _minor_per_major(run: Run) -> float:
    return float(run.scenario["bss"]["catalog"]["minor_per_major"])


def _care_contacts_per_1000(run: Run) -> float:
    """Care contacts a month per 1,000 lines, every reason together."""
    subs, months = _line_months(run)
    tickets = run.table("care_tickets")
    return 1000.0 * int(tickets["sub"].isin(subs["sub"]).sum()) / max(months, 1e-12)


def _churn(account_type: str) -> Callable[[Run], tuple[int, float]]:
    def notices(run: Run) -> tuple[int, float]:
        """Lines of the account type that gave notice, and the line-months at risk."""
        subs, months = _line_months(run, account_type)
        churn = run.table("churn")
        return int(churn["sub"].isin(subs["sub"]).sum()), months
    return notices


# KPIs that count rare events (a week of a small network sees a handful): measured as events
# over exposure, and held against their range with the count's Poisson interval
RATES: dict[str, Callable[[Run], tuple[int, float]]] = {
    "churn_prepaid_monthly": _churn("prepaid"),
    "churn_postpaid_monthly": _churn("postpaid"),
}

KPIS: dict[str, Callable[[Run], float]] = {
    "call_drop_rate": _drop_rate,
    "call_setup_success_rate": _cssr,
    "busy_hour_blocking": _busy_hour_blocking,
    "cell_downtime": _cell_downtime,
    "mttr_h": _mttr_h,
    "alarms_per_10_min": _alarms_per_10_min,
    "alarm_noise_share": _noise_share,
    "mttr_hardware_h": _mttr_of("element_failure"),
    "mttr_software_crash_h": _mttr_of("software_crash"),
    "mttr_fibre_cut_h": _mttr_of("fibre_cut"),
    "usage_revenue_leakage": _usage_leakage,
    "care_contacts_per_1000_month": _care_contacts_per_1000,
    "arpu_prepaid": _arpu("prepaid"),
    "arpu_postpaid": _arpu("postpaid"),
}
LEAK_CAUSES = ("collector", "rejected", "suspense", "late", "fail_open", "terminated")


def load(path: str | Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    unknown = sorted({row["kpi"] for row in data["kpis"]} - set(KPIS) - set(RATES))
    if unknown:
        raise ValueError(f"{path}: kpis: unknown KPI {unknown[0]!r}")
    return data


def measure(run: Run) -> dict[str, float]:
    """Every KPI of :data:`KPIS` for ``run``, and the leak of each cause as a share of the
    carried usage revenue; for each KPI of :data:`RATES` also ``<kpi>_events``."""
    out = {name: f(run) for name, f in KPIS.items()}
    for name, rate in RATES.items():
        events, exposure = rate(run)
        out[name] = events / exposure if exposure > 0 else float("nan")
        out[f"{name}_events"] = float(events)
        out[f"{name}_exposure"] = float(exposure)
    rec = run.summary["reconciliation"]
    carried = max(float(rec["carried_usage_minor"]), 1.0)
    for cause in LEAK_CAUSES:
        out[f"leak_{cause}"] = float(rec[f"leaked_{cause}_minor"]) / carried
    out.update(noise_in_incidents(run))
    return out


def noise_in_incidents(run: Run) -> dict[str, float]:
    """Transient noise raises the OSS received (the truth's ``noise`` flag), and how many of
    them joined an incident (a ticket for nothing)."""
    causes = run.table("alarm_causes")
    noise = causes[causes["noise"]][["ems", "notification_id"]]
    raw = run.table("alarms_raw").merge(noise, on=["ems", "notification_id"])
    raw = raw[raw["alarm_id"] > 0]
    incident = run.table("alarms").set_index("alarm_id")["incident_id"]
    return {"noise_raises": float(len(raw)),
            "noise_in_incidents": float((incident.loc[raw["alarm_id"].to_numpy()] > 0).sum())}


def measured(value: float | None) -> bool:
    """The run has what the KPI measures (e.g. a fault of the type)."""
    return value is not None and bool(np.isfinite(value))


def rate_interval(events: float, exposure: float, level: float = 0.95) -> tuple[float, float]:
    """The exact (Garwood) ``level`` interval of a Poisson rate: ``events`` over
    ``exposure``."""
    from scipy.special import gammaincinv

    a = (1.0 - level) / 2.0
    low = gammaincinv(events, a) / exposure if events > 0 else 0.0
    return float(low), float(gammaincinv(events + 1.0, 1.0 - a) / exposure)


def in_range(value: float, bounds: list[float], events: float | None = None,
             exposure: float | None = None) -> bool:
    """``value`` inside ``bounds``; for a rate of ``events`` Poisson events over
    ``exposure``, the rate's 95 % interval overlaps them (a run that short tells no more)."""
    lo, hi = bounds
    if events is None or exposure is None:
        return bool(np.isfinite(value)) and lo <= value <= hi
    if not exposure > 0:
        return False
    low, high = rate_interval(events, exposure)
    return bool(low <= hi and high >= lo)


def _fmt(value: float, unit: str) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    if unit == "%":
        return f"{100 * value:.3g} %"
    return f"{value:.3g}{' ' + unit if unit else ''}"


def markdown_table(data: Mapping[str, Any]) -> str:
    """The calibration table of ``docs/domain.md``, and the leakage by cause below it."""
    runs = list(data["runs"])
    names = [data["runs"][r].get("label", r) for r in runs]
    head = ("| KPI | published range | source | " + " | ".join(names)
            + " | set by |")
    lines = [head, "|" + "---|" * (4 + len(runs))]
    for row in data["kpis"]:
        unit = row.get("unit", "")
        lo, hi = row["range"]
        events = row.get("events", {})
        values = " | ".join(_fmt(row["values"].get(r), unit)
                            + (f" ({events[r]:,} {row.get('event', 'events')})"
                               if r in events else "") for r in runs)
        lines.append(f"| {row['label']} | {_fmt(lo, unit)} – {_fmt(hi, unit)} | "
                     f"{row['source']} | {values} | "
                     + ", ".join(f"`{p}`" for p in row["parameters"]) + " |")
    leaks = data.get("leak_values", {})
    if leaks:
        lines += ["", "The revenue leakage row by cause (share of the carried usage revenue):",
                  "", "| cause | " + " | ".join(names) + " |", "|" + "---|" * (1 + len(runs))]
        for cause, label in data["leak_causes"].items():
            lines.append(f"| {label} | " + " | ".join(
                _fmt(leaks.get(r, {}).get(cause), "%") for r in runs) + " |")
    return "\n".join(lines) + "\n"
