"""OSS numbers for the summary beyond the skeleton's: the alarm lifecycle and the NOC.

Definitions (also in docs/oss.md):

* MTTA — incident acknowledgement by a NOC operator minus the incident's creation, over
  acknowledged incidents (not merged ones).
* alarms_flapping — alarms opened as flapping; alarms_suppressed — clears and re-raises of
  flapping alarms that changed nothing.
* auto_tickets — tickets released to the field because nobody acknowledged the incident in
  time.
"""

from __future__ import annotations

from typing import Any

from twin.oss import OperationsCenter


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 3) if xs else None


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
