"""The alarm list: raw notifications → one alarm per activation of a reduction key.

Like a ward's patient board: a new complaint opens a line, the same complaint again only
adds a tick (``repeat_count`` — deduplication by reduction key
``alarmedObject:port:probableCause``), and the line is wiped when the matching all-clear
arrives (a problem/resolution pair clears automatically). Every raw notification is kept in
``alarms_raw``; every alarm, with its lifecycle, in ``alarms``.

*Flapping.* A key raised ``flap_count`` times within ``flap_window`` is flapping — a loose
connector, a rebooting card. Its next alarm is marked ``flapping`` and no longer follows each
clear and re-raise: a clear only pauses it and a re-raise within ``flap_quiet`` resumes it
(suppressed: counted in ``repeat_count`` and ``flaps``, no new alarm, no new incident). It
clears once the key has stayed quiet for ``flap_quiet``.

*Acknowledgement.* ``ack_state`` is ``unacknowledged`` until a NOC operator acknowledges the
incident the alarm belongs to (``twin/oss/noc.py``); alarms that join an acknowledged incident
are acknowledged with it.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from twin.kernel import Sim
from twin.messages import AlarmNotification
from twin.scenario.schema import AlarmHandlingSpec

RAW_SCHEMA = pa.schema([
    ("received", pa.float64()), ("ems", pa.string()), ("notification_id", pa.int64()),
    ("event_time", pa.float64()), ("alarmed_object", pa.string()), ("resource", pa.string()),
    ("alarm_type", pa.string()), ("probable_cause", pa.string()),
    ("perceived_severity", pa.string()), ("alarm_id", pa.int64()), ("via", pa.string()),
])
ALARMS_SCHEMA = pa.schema([
    ("alarm_id", pa.int64()), ("reduction_key", pa.string()), ("alarmed_object", pa.string()),
    ("resource", pa.string()), ("alarm_type", pa.string()), ("probable_cause", pa.string()),
    ("specific_problem", pa.string()), ("perceived_severity", pa.string()),
    ("raised", pa.float64()), ("cleared", pa.float64()), ("repeat_count", pa.int64()),
    ("incident_id", pa.int64()), ("role", pa.string()),
    ("event_time", pa.float64()), ("clear_event_time", pa.float64()),
    ("changed", pa.float64()), ("ack_state", pa.string()), ("acknowledged", pa.float64()),
    ("ack_user", pa.string()), ("flapping", pa.bool_()), ("flaps", pa.int64()),
    ("ems", pa.string()), ("notification_id", pa.int64()), ("maintenance", pa.int64()),
])

SEVERITY_RANK = {"critical": 0, "major": 1, "minor": 2, "warning": 3, "indeterminate": 4,
                 "cleared": 5}


@dataclass
class Alarm:
    id: int
    note: AlarmNotification
    raised: float
    cleared: float | None = None
    repeat_count: int = 1
    incident_id: int = 0
    role: str = ""  # root | symptom
    changed: float = 0.0
    acknowledged: float | None = None
    ack_user: str = ""
    flapping: bool = False
    flaps: int = 0  # clear/re-raise cycles suppressed while flapping
    up: bool = True  # the condition is currently raised (False: a flapping alarm paused)
    up_since: float = 0.0  # event time of the current activation's raise
    clear_event: float | None = None
    _quiet: int = 0  # generation of the flap quiet timer
    maintenance: int = 0  # the planned-maintenance window it was raised in (suppressed)

    @property
    def obj(self) -> str:
        return self.note.alarmed_object

    @property
    def cause(self) -> str:
        return self.note.probable_cause

    @property
    def severity(self) -> str:
        return self.note.perceived_severity

    def row(self) -> dict[str, Any]:
        """The alarm as a row of the ``alarms`` table (as of now)."""
        n = self.note
        return dict(alarm_id=self.id, reduction_key=n.reduction_key,
                    alarmed_object=n.alarmed_object, resource=n.resource,
                    alarm_type=n.alarm_type,
                    probable_cause=n.probable_cause, specific_problem=n.specific_problem,
                    perceived_severity=n.perceived_severity, raised=self.raised,
                    cleared=self.cleared, repeat_count=self.repeat_count,
                    incident_id=self.incident_id, role=self.role, event_time=n.event_time,
                    clear_event_time=self.clear_event if self.cleared is not None else None,
                    changed=self.changed,
                    ack_state="acknowledged" if self.acknowledged is not None
                    else "unacknowledged",
                    acknowledged=self.acknowledged, ack_user=self.ack_user,
                    flapping=self.flapping, flaps=self.flaps, ems=n.ems,
                    notification_id=n.notification_id, maintenance=self.maintenance)

    def acknowledge(self, t: float, user: str) -> None:
        if self.acknowledged is None:
            self.acknowledged, self.ack_user, self.changed = t, user, max(self.changed, t)


@dataclass(frozen=True)
class Outcome:
    """What a notification did to the alarm list.

    ``kind``: ``new`` (a new alarm), ``repeat`` (a duplicate raise), ``resumed`` (a flapping
    alarm re-raised, suppressed), ``paused`` (a flapping alarm's clear), ``cleared`` (the alarm
    closed), ``orphan`` (a clear with no active alarm). ``ended`` is the (start, end) event
    times of an activation that just ended (for measured outages), else None.
    """

    alarm: Alarm | None
    kind: str
    ended: tuple[float, float] | None = None


class AlarmList:
    def __init__(self, sim: Sim, spec: AlarmHandlingSpec | None = None,
                 on_closed: Callable[[Alarm], None] | None = None) -> None:
        self.sim = sim
        self.spec = spec or AlarmHandlingSpec()
        self.on_closed = on_closed  # a flapping alarm closed after its quiet time
        self.active: dict[str, Alarm] = {}
        self.all: list[Alarm] = []
        self._ids = itertools.count(1)
        self._raises_of: dict[str, deque[float]] = {}  # activation times per key
        self.raw = sim.records.buffer("alarms_raw", RAW_SCHEMA)
        self.orphan_clears = 0
        self.raises = 0
        self.suppressed = 0  # raises and clears of flapping alarms that changed nothing

    def receive(self, note: AlarmNotification, via: str = "notification") -> Outcome:
        """Apply one raise or clear; ``via`` says how it came (``notification``, or ``sync``:
        recovered by alarm synchronisation)."""
        key = note.reduction_key
        alarm = self.active.get(key)
        now = self.sim.now
        if note.is_clear:
            out = self._clear(alarm, note, now)
        else:
            self.raises += 1
            out = self._raise(alarm, note, key, now)
        self._log(note, out.alarm, via)
        return out

    def _raise(self, alarm: Alarm | None, note: AlarmNotification, key: str,
               now: float) -> Outcome:
        if alarm is not None:
            alarm.repeat_count += 1
            if alarm.up:
                return Outcome(alarm, "repeat")
            alarm.up, alarm.up_since, alarm.changed = True, note.event_time, now
            alarm.flaps += 1
            alarm._quiet += 1  # cancels the quiet timer
            self.suppressed += 1
            return Outcome(alarm, "resumed")
        history = self._raises_of.setdefault(key, deque())
        history.append(now)
        while history and history[0] < now - self.spec.flap_window:
            history.popleft()
        alarm = Alarm(next(self._ids), note, now, changed=now, up_since=note.event_time,
                      flapping=len(history) >= self.spec.flap_count)
        self.active[key] = alarm
        self.all.append(alarm)
        return Outcome(alarm, "new")

    def _clear(self, alarm: Alarm | None, note: AlarmNotification, now: float) -> Outcome:
        if alarm is None or not alarm.up:
            self.orphan_clears += 1
            return Outcome(alarm, "orphan")
        ended = (alarm.up_since, note.event_time)
        alarm.up, alarm.changed, alarm.clear_event = False, now, note.event_time
        if alarm.flapping:
            self.suppressed += 1
            alarm._quiet += 1
            self.sim.env.process(self._quiet_timer(alarm, alarm._quiet))
            return Outcome(alarm, "paused", ended)
        self._close(alarm, now)
        return Outcome(alarm, "cleared", ended)

    def _quiet_timer(self, alarm: Alarm, generation: int) -> Any:
        yield self.sim.env.timeout(self.spec.flap_quiet)
        if alarm._quiet == generation and not alarm.up and alarm.cleared is None:
            self._close(alarm, self.sim.now)
            if self.on_closed is not None:
                self.on_closed(alarm)

    def _close(self, alarm: Alarm, now: float) -> None:
        alarm.cleared, alarm.changed = now, now
        del self.active[alarm.note.reduction_key]

    def _log(self, note: AlarmNotification, alarm: Alarm | None, via: str) -> None:
        self.raw.append(received=self.sim.now, ems=note.ems, notification_id=note.notification_id,
                        event_time=note.event_time, alarmed_object=note.alarmed_object,
                        resource=note.resource, alarm_type=note.alarm_type,
                        probable_cause=note.probable_cause,
                        perceived_severity=note.perceived_severity,
                        alarm_id=alarm.id if alarm else 0, via=via)

    def write(self) -> None:
        buf = self.sim.records.buffer("alarms", ALARMS_SCHEMA)
        for a in self.all:
            buf.append(**a.row())
