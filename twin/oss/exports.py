"""TM Forum JSON exports of what the OSS knows: alarms (TMF642), trouble tickets (TMF621) and
service problems (TMF656).

They read the OSS's own tables of a run (``alarms``, ``incidents``, ``tickets``) — never the
truth — and turn each row into the resource the TM Forum Open API (v4) describes, with times
as ISO 8601 instants on the scenario's calendar. For example::

    run = twin.Run("runs/quickstart")
    start = datetime.fromisoformat(run.scenario["start"])
    alarms = tmf642_alarms(run.table("alarms"), start)
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

SYSTEM = "twin-oss"
SERVICE_CAUSES = ("heartbeatFailure", "backhaulFailure")


def instant(start: datetime, t: Any) -> str | None:
    """ISO 8601 (UTC, ``Z``) of simulated second ``t``; None for a missing time."""
    if t is None or (isinstance(t, float) and math.isnan(t)) or t is pd.NA:
        return None
    return (start + timedelta(seconds=float(t))).isoformat().replace("+00:00", "Z")


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != []}


def _alarm_ref(alarm_id: int) -> dict[str, Any]:
    return {"id": str(alarm_id), "href": f"/tmf-api/alarmManagement/v4/alarm/{alarm_id}",
            "@referredType": "Alarm"}


def tmf642_alarms(alarms: pd.DataFrame, start: datetime) -> list[dict[str, Any]]:
    """Every alarm of the ``alarms`` table as a TMF642 ``Alarm``."""
    roots: dict[int, list[int]] = defaultdict(list)
    symptoms: dict[int, list[int]] = defaultdict(list)
    for r in alarms.itertuples():
        if r.incident_id:
            (roots if r.role == "root" else symptoms)[int(r.incident_id)].append(int(r.alarm_id))
    out = []
    for r in alarms.itertuples():
        aid, inc = int(r.alarm_id), int(r.incident_id)
        cleared = instant(start, r.cleared) is not None
        is_root = r.role == "root"
        comments = []
        if r.flapping:
            comments.append({"comment": f"flapping: {int(r.flaps)} clear/raise cycles "
                                        "suppressed", "systemId": SYSTEM,
                             "time": instant(start, r.changed)})
        out.append(_drop_none({
            "id": aid,
            "href": f"/tmf-api/alarmManagement/v4/alarm/{aid}",
            "@type": "Alarm",
            "externalAlarmId": f"{r.ems}/{int(r.notification_id)}",
            "sourceSystemId": r.ems,
            "reportingSystemId": SYSTEM,
            "state": "cleared" if cleared else ("updated" if r.repeat_count > 1
                                                or r.ack_state == "acknowledged"
                                                else "raised"),
            "alarmType": r.alarm_type,
            "perceivedSeverity": "cleared" if cleared else r.perceived_severity,
            "probableCause": r.probable_cause,
            "specificProblem": r.specific_problem,
            "alarmedObject": {"id": r.alarmed_object, "@referredType": "Resource"},
            "alarmDetails": f"reduction key {r.reduction_key}; repeat count "
                            f"{int(r.repeat_count)}" + (f"; port {r.resource}" if r.resource
                                                        else ""),
            "alarmRaisedTime": instant(start, r.event_time),
            "alarmReportingTime": instant(start, r.raised),
            "alarmChangedTime": instant(start, r.changed),
            "alarmClearedTime": instant(start, r.clear_event_time) if cleared else None,
            "ackState": r.ack_state,
            "ackUserId": r.ack_user or None,
            "ackSystemId": SYSTEM if r.ack_state == "acknowledged" else None,
            "isRootCause": is_root if inc else None,
            "serviceAffecting": r.probable_cause in SERVICE_CAUSES,
            "correlatedAlarm": [_alarm_ref(s) for s in symptoms[inc]] if is_root and inc
            else [],
            "parentAlarm": [_alarm_ref(p) for p in roots[inc]] if not is_root and inc
            else [],
            "comment": comments,
        }))
    return out
