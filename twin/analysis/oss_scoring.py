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
"""

from __future__ import annotations

from typing import Any

from twin.oss import OperationsCenter


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 3) if xs else None


def operations(oss: OperationsCenter, duration: float) -> dict[str, Any]:
    return {**alarm_lifecycle(oss, duration), **tickets(oss, duration)}


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
