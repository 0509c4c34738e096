"""OSS numbers for the summary beyond the skeleton's: the alarm lifecycle and the NOC.

Definitions (also in docs/oss.md):

* MTTA — incident acknowledgement by a NOC operator minus the incident's creation, over
  acknowledged incidents (not merged ones).
* alarms_flapping — alarms opened as flapping; alarms_suppressed — clears and re-raises of
  flapping alarms that changed nothing.
* auto_tickets — tickets released to the field because nobody acknowledged the incident in
  time.
* ticket_sla_compliance — tickets restored (resolved) within their priority's target, over
  those resolved plus those still open past their deadline at the end of the run.
* ticket_restore_s — mean resolved − created over resolved tickets: time to restore as the
  OSS sees it (its own alarms clearing).

Against ground truth (:func:`score_rca`):

* A fault *explains* an incident when the incident's root names the fault's target (a link of
  a cut cable, an element of a failed power domain) and the fault was active then: started no
  later than the incident's creation and not ended before its first alarm (1 s slack).
* rca_precision — share of incidents (merged ones left out) some fault explains.
* rca_recall — share of alarmed faults (at least one alarm the OSS read traces to them in
  ``alarm_causes``) whose target some incident names while they were active.
* symptom_precision — of the alarms the OSS attached to an incident whose root is right, the
  share the truth blames on a fault that incident's root names; symptom_recall — of the
  alarms whose fault was found (named by some incident), the share attached to such an
  incident.
* false_tickets — tickets of incidents no fault explains (a crew sent for nothing, or to the
  wrong place).
* silent_detected, mttd_silent_s — silent faults (no alarm; only counters show them) some
  incident named while they were active, and the mean time from their start to the first
  such incident.
* mttr_repair_s — mean time from fault start to the fault's end by repair or restart, over
  faults so ended: the time to *repair*, as against ``mttr_s``, the time to restore service.

Planned maintenance that ended within its announced window is not a fault the OSS should
find (:func:`planned_work`): it is left out of detection, RCA recall and undetected faults.
Work that overran its window counts as a fault from the window's end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from twin.network import Topology
from twin.oss import OperationsCenter


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 3) if xs else None


def operations(oss: OperationsCenter, duration: float) -> dict[str, Any]:
    return {**alarm_lifecycle(oss, duration), **tickets(oss, duration),
            **field_operations(oss)}


def field_operations(oss: OperationsCenter) -> dict[str, Any]:
    cal, ts = oss.maintenance, oss.workforce.tickets
    return {
        "maintenance_windows": len(cal.windows),
        "alarms_maintenance": cal.alarms_suppressed,
        "maintenance_overruns": cal.overruns,
        "standby_switchovers": sum(t.switchovers for t in ts),
        "restored_by_switchover": sum(t.unit_repair for t in ts),
        "spares_used": oss.workforce.spares.used,
        "spares_stockouts": oss.workforce.spares.stockouts,
        "ticket_part_wait_s": _mean([t.part_wait_s for t in ts if t.part_wait_s > 0]),
    }


def planned_work(f: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Masks over faults (with ``end``): planned maintenance done within its window, and
    planned maintenance that overran it."""
    if "window" not in f:
        none = pd.Series(False, index=f.index)
        return none, none
    planned = (f["mode"] == "planned_maintenance") & f["window"].notna()
    over = planned & (f["end"] > f["start"] + f["window"].fillna(0.0) + 1e-6)
    return planned & ~over, over


def as_faults(f: pd.DataFrame) -> pd.DataFrame:
    """Faults as the OSS should see them: planned work in its window dropped, an overrun
    starting at its window's end."""
    within, over = planned_work(f)
    f = f[~within].copy()
    over = over[~within]
    f.loc[over, "start"] = f.loc[over, "start"] + f.loc[over, "window"]
    return f


def tickets(oss: OperationsCenter, duration: float) -> dict[str, Any]:
    ts = oss.workforce.tickets
    met = sum(t.sla_met() is True for t in ts)
    late = sum(t.sla_met() is False for t in ts) + sum(
        t.is_open and t.resolved is None and t.deadline < duration for t in ts)
    restored = [t.resolved - t.created for t in ts
                if t.resolved is not None and t.status != "cancelled"]
    return {
        "ticket_sla_met": met,
        "ticket_sla_breached": late,
        "ticket_sla_compliance": round(met / (met + late), 4) if met + late else None,
        "ticket_restore_s": _mean(restored),
        "ticket_escalations": sum(t.escalation for t in ts),
        "remote_restarts": sum(t.restarts for t in ts),
        "restored_remotely": sum(t.resolution == "remote restart" for t in ts),
        "truck_rolls": sum(t.truck_rolls for t in ts),
    }


def alarm_lifecycle(oss: OperationsCenter, duration: float) -> dict[str, Any]:
    incidents = [i for i in oss.correlator.incidents if i.merged_into == 0]
    acked = [i.acknowledged - i.created for i in incidents if i.acknowledged is not None]
    alarms = oss.alarms.all
    ops = oss.noc.spec.operators
    return {
        "mtta_s": _mean(acked),
        "incidents_acknowledged": len(acked),
        "alarms_acknowledged": sum(a.acknowledged is not None for a in alarms),
        "alarms_flapping": sum(a.flapping for a in alarms),
        "alarms_suppressed": oss.alarms.suppressed,
        "auto_tickets": oss.noc.auto_tickets,
        "operator_utilisation": round(oss.noc.busy_s / (ops * duration), 4) if ops else None,
    }


def _acceptable_roots(faults: pd.DataFrame, topo: Topology) -> pd.DataFrame:
    """One row per (fault, root an incident may name for it)."""
    cables, domains = topo.cables, topo.power_domains
    rows = []
    for f in faults.itertuples():
        names = {f.target}
        names.update(cables.get(f.target, []))
        names.update(domains.get(f.target, []))
        rows += [(f.fault_id, n) for n in names]
    return pd.DataFrame(rows, columns=["fault_id", "root"])


def score_rca(tables: Path, topo: Topology, horizon: float) -> dict[str, Any]:
    faults = pd.read_parquet(tables / "faults.parquet")
    ends = pd.read_parquet(tables / "fault_ends.parquet")
    incidents = pd.read_parquet(tables / "incidents.parquet")
    incidents = incidents[incidents["merged_into"] == 0]
    alarms = pd.read_parquet(tables / "alarms.parquet")
    causes = pd.read_parquet(tables / "alarm_causes.parquet")
    tickets = pd.read_parquet(tables / "tickets.parquet")
    f = faults.merge(ends[["fault_id", "end", "cleared_by"]], on="fault_id", how="left")
    f["end"] = f["end"].fillna(horizon)
    roots = _acceptable_roots(f, topo).merge(f[["fault_id", "start", "end"]], on="fault_id")
    pairs = incidents.merge(roots, on="root")
    pairs = pairs[(pairs["start"] <= pairs["created"])
                  & (pairs["end"] >= pairs["first_alarm"] - 1)]
    explained = set(pairs["incident_id"])
    found = set(pairs["fault_id"])
    blamed = alarms.merge(causes[["ems", "notification_id", "fault_id"]],
                          on=["ems", "notification_id"], how="left")
    blamed["fault_id"] = blamed["fault_id"].fillna(0).astype("int64")
    within, _ = planned_work(f)
    alarmed = set(blamed.loc[blamed["fault_id"] > 0, "fault_id"]) - set(f.loc[within, "fault_id"])
    right = set(zip(pairs["incident_id"], pairs["fault_id"], strict=True))
    attached = blamed[blamed["incident_id"].isin(explained)]
    ok = [(i, fid) in right for i, fid in zip(attached["incident_id"], attached["fault_id"],
                                               strict=True)]
    of_found = blamed[blamed["fault_id"].isin(found)]
    caught = [(i, fid) in right for i, fid in zip(of_found["incident_id"],
                                                  of_found["fault_id"], strict=True)]
    live = tickets[tickets["status"] != "cancelled"]
    repaired = f[f["cleared_by"].isin(["repair", "restart"])]

    def share(num: float, den: float) -> float | None:
        return round(num / den, 4) if den else None

    silent = f[f["silent"].fillna(False).astype(bool)] if "silent" in f else f.iloc[0:0]
    silent_found = pairs[pairs["fault_id"].isin(set(silent["fault_id"]))]
    silent_first = silent_found.groupby("fault_id")[["created", "start"]].min()
    return {
        "faults_silent": len(silent),
        "silent_detected": int(silent_first.shape[0]),
        "mttd_silent_s": _mean((silent_first["created"] - silent_first["start"]).tolist()),
        "faults_alarmed": len(alarmed),
        "rca_precision": share(len(explained), len(incidents)),
        "rca_recall": share(len(found & alarmed), len(alarmed)),
        "symptom_precision": share(sum(ok), len(ok)),
        "symptom_recall": share(sum(caught), len(caught)),
        "false_tickets": int((~live["incident_id"].isin(explained)).sum()),
        "mttr_repair_s": _mean((repaired["end"] - repaired["start"]).tolist()),
    }
