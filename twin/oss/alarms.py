"""Alarm collection: raw notifications → one active alarm per reduction key.

A raise whose reduction key is already active is a duplicate: it bumps the alarm's repeat
count instead of creating a new alarm (this is deduplication). A clear closes the active
alarm with that key. Every raw notification is kept in ``alarms_raw``; every alarm, with its
lifecycle and the incident it was correlated into, in ``alarms``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pyarrow as pa

from twin.kernel import Sim
from twin.messages import AlarmNotification

RAW_SCHEMA = pa.schema([
    ("received", pa.float64()), ("ems", pa.string()), ("notification_id", pa.int64()),
    ("event_time", pa.float64()), ("alarmed_object", pa.string()), ("resource", pa.string()),
    ("alarm_type", pa.string()), ("probable_cause", pa.string()),
    ("perceived_severity", pa.string()), ("alarm_id", pa.int64()),
])
ALARMS_SCHEMA = pa.schema([
    ("alarm_id", pa.int64()), ("reduction_key", pa.string()), ("alarmed_object", pa.string()),
    ("resource", pa.string()), ("alarm_type", pa.string()), ("probable_cause", pa.string()),
    ("specific_problem", pa.string()), ("perceived_severity", pa.string()),
    ("raised", pa.float64()), ("cleared", pa.float64()), ("repeat_count", pa.int64()),
    ("incident_id", pa.int64()), ("role", pa.string()),
])


@dataclass
class Alarm:
    id: int
    note: AlarmNotification
    raised: float
    cleared: float | None = None
    repeat_count: int = 1
    incident_id: int = 0
    role: str = ""  # root | symptom
    notifications: list[int] = field(default_factory=list)

    @property
    def obj(self) -> str:
        return self.note.alarmed_object

    @property
    def cause(self) -> str:
        return self.note.probable_cause


class AlarmList:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.active: dict[str, Alarm] = {}
        self.all: list[Alarm] = []
        self._ids = itertools.count(1)
        self.raw = sim.records.buffer("alarms_raw", RAW_SCHEMA)
        self.orphan_clears = 0
        self.raises = 0

    def receive(self, note: AlarmNotification) -> tuple[Alarm | None, bool]:
        """Returns (alarm, is_new). A clear returns the alarm it cleared, is_new False."""
        key = note.reduction_key
        alarm = self.active.get(key)
        if note.is_clear:
            if alarm is None:
                self.orphan_clears += 1
            else:
                alarm.cleared = self.sim.now
                del self.active[key]
            self._log(note, alarm)
            return alarm, False
        self.raises += 1
        if alarm is not None:
            alarm.repeat_count += 1
            self._log(note, alarm)
            return alarm, False
        alarm = Alarm(next(self._ids), note, self.sim.now)
        self.active[key] = alarm
        self.all.append(alarm)
        self._log(note, alarm)
        return alarm, True

    def _log(self, note: AlarmNotification, alarm: Alarm | None) -> None:
        self.raw.append(received=self.sim.now, ems=note.ems, notification_id=note.notification_id,
                        event_time=note.event_time, alarmed_object=note.alarmed_object,
                        resource=note.resource, alarm_type=note.alarm_type,
                        probable_cause=note.probable_cause,
                        perceived_severity=note.perceived_severity,
                        alarm_id=alarm.id if alarm else 0)

    def write(self) -> None:
        buf = self.sim.records.buffer("alarms", ALARMS_SCHEMA)
        for a in self.all:
            n = a.note
            buf.append(alarm_id=a.id, reduction_key=n.reduction_key,
                       alarmed_object=n.alarmed_object, resource=n.resource,
                       alarm_type=n.alarm_type,
                       probable_cause=n.probable_cause, specific_problem=n.specific_problem,
                       perceived_severity=n.perceived_severity, raised=a.raised,
                       cleared=a.cleared, repeat_count=a.repeat_count,
                       incident_id=a.incident_id, role=a.role)
