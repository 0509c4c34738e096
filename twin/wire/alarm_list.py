"""An element manager's active alarm list as JSON: alarm synchronisation over HTTP.

The OSS asks ``GET /alarms/active`` (3GPP's Alarm IRP ``getAlarmList``, here as a REST
call); the element manager answers with a document of its active alarms, each the raise
notification it sent (X.733 fields, times in RFC 3339 UTC with microseconds)::

    {"ems": "ems-alpha", "takenAt": "2026-01-06T10:15:00.000000Z",
     "alarms": [{"notificationId": 12, "eventTime": "…", "alarmedObject": "site2",
                 "resource": "site1-site2", "alarmType": "communicationsAlarm",
                 "probableCause": "lossOfSignal", "specificProblem": "…",
                 "perceivedSeverity": "major"}]}

Times are carried as microseconds since the scenario's start instant (``start_us``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from twin.messages import AlarmNotification
from twin.wire import DecodeError

PATH = "/alarms/active"
PORT = 8080
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIELDS = (("alarmedObject", "alarmed_object"), ("resource", "resource"),
           ("alarmType", "alarm_type"), ("probableCause", "probable_cause"),
           ("specificProblem", "specific_problem"), ("perceivedSeverity", "perceived_severity"))


def stamp(us: int) -> str:
    return (_EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _us(text: Any, where: str) -> int:
    if not isinstance(text, str) or not text.endswith("Z"):
        raise DecodeError(f"{where}: not a UTC time")
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        raise DecodeError(f"{where}: bad time {text[:40]!r}") from None
    return (when - _EPOCH) // timedelta(microseconds=1)


def _sim_us(t: float, start_us: int) -> int:
    return start_us + round(t * 1e6)


def encode(ems: str, taken_at: float, alarms: Iterable[AlarmNotification],
           start_us: int) -> bytes:
    doc = {"ems": ems, "takenAt": stamp(_sim_us(taken_at, start_us)), "alarms": [
        {"notificationId": a.notification_id,
         "eventTime": stamp(_sim_us(a.event_time, start_us)),
         **{key: getattr(a, attr) for key, attr in _FIELDS}}
        for a in alarms]}
    return json.dumps(doc, separators=(",", ":")).encode("utf-8")


def decode(body: bytes, start_us: int) -> tuple[str, float, tuple[AlarmNotification, ...]]:
    """(element manager, taken at, alarms) of an alarm list document."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise DecodeError(f"invalid JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("ems"), str) or not isinstance(
            doc.get("alarms"), list):
        raise DecodeError("not an alarm list (ems, takenAt, alarms)")
    ems = doc["ems"]
    taken = (_us(doc.get("takenAt"), "takenAt") - start_us) / 1e6
    alarms = []
    for i, item in enumerate(doc["alarms"]):
        where = f"alarms[{i}]"
        if not isinstance(item, dict):
            raise DecodeError(f"{where}: not an object")
        nid = item.get("notificationId")
        if not isinstance(nid, int) or isinstance(nid, bool):
            raise DecodeError(f"{where}.notificationId: not an integer")
        values = {}
        for key, attr in _FIELDS:
            if not isinstance(item.get(key), str):
                raise DecodeError(f"{where}.{key}: not a string")
            values[attr] = item[key]
        t = (_us(item.get("eventTime"), f"{where}.eventTime") - start_us) / 1e6
        alarms.append(AlarmNotification(ems, nid, t, **values))
    return ems, taken, tuple(alarms)
