"""What the live twin shows the world: the OSS's alarms, tickets and service problems as TM
Forum resources, refreshed after every step, and the events between two refreshes.

Everything here is read from the OSS's own objects through the same exporters ``twin
export`` uses (:mod:`twin.oss.exports`) — never from ground truth. A refresh builds new
immutable lists and swaps them in, so a request reads one consistent picture without
holding up the simulation. Events come from comparing the OSS with what was last seen: a new
alarm (``AlarmCreateEvent``), one acknowledged (``AlarmAttributeValueChangeEvent``), one
cleared (``AlarmStateChangeEvent``), a new ticket or a change of its status, a new or
resolved service problem — in simulated-time order.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from twin.oss import exports
from twin.oss.alarms import ALARMS_SCHEMA, Alarm
from twin.oss.center import INCIDENTS_SCHEMA, incident_row
from twin.oss.customer import CUSTOMER_TICKETS_SCHEMA
from twin.oss.tickets import NOTES_SCHEMA, STATUS_SCHEMA, TICKETS_SCHEMA
from twin.wiring import Assembly

# which API each event belongs to, and the key of its resource in the event payload
EVENT_API = {
    "AlarmCreateEvent": ("TMF642", "alarm"),
    "AlarmAttributeValueChangeEvent": ("TMF642", "alarm"),
    "AlarmStateChangeEvent": ("TMF642", "alarm"),
    "AckAlarmsCreateEvent": ("TMF642", "ackAlarms"),
    "ClearAlarmsCreateEvent": ("TMF642", "clearAlarms"),
    "TroubleTicketCreateEvent": ("TMF621", "troubleTicket"),
    "TroubleTicketStatusChangeEvent": ("TMF621", "troubleTicket"),
    "ServiceProblemCreateEvent": ("TMF656", "serviceProblem"),
    "ServiceProblemStateChangeEvent": ("TMF656", "serviceProblem"),
}


@dataclass(frozen=True)
class Event:
    t: float  # simulated time
    event_type: str
    resource: dict[str, Any]

    @property
    def api(self) -> str:
        return EVENT_API[self.event_type][0]

    def body(self, event_id: int, start: datetime) -> dict[str, Any]:
        """The TM Forum notification: ``{eventId, eventTime, eventType, event: {…}}``."""
        return {"eventId": str(event_id), "eventTime": exports.instant(start, self.t),
                "eventType": self.event_type,
                "event": {EVENT_API[self.event_type][1]: self.resource}}


def _frame(rows: list[dict[str, Any]], schema: Any) -> pd.DataFrame:
    """Rows as the run's table would hold them (the exporters' input)."""
    if not rows:
        return pd.DataFrame({f.name: pd.Series(dtype=object) for f in schema})
    return pd.DataFrame(rows, columns=[f.name for f in schema])


class Snapshot:
    """One consistent picture of the OSS, as TM Forum resources (read-only once built)."""

    def __init__(self, alarms: list[dict[str, Any]], tickets: list[dict[str, Any]],
                 problems: list[dict[str, Any]], t: float) -> None:
        self.t = t
        self.alarms = alarms
        self.tickets = tickets
        self.problems = problems
        self.alarm_by_id = {str(a["id"]): a for a in alarms}
        self.ticket_by_id = {str(x["id"]): x for x in tickets}
        self.problem_by_id = {str(p["id"]): p for p in problems}


class LiveState:
    def __init__(self, asm: Assembly, base_url: str,
                 publish: Callable[[list[Event]], None] = lambda events: None) -> None:
        self.asm = asm
        self.base_url = base_url
        self.start = asm.scenario.start
        self.publish = publish
        self.snapshot = Snapshot([], [], [], 0.0)
        self._alarms_seen = 0
        self._open: dict[int, Alarm] = {}  # alarms seen but not yet cleared
        self._acked: set[int] = set()
        self._ticket_status: dict[str, str] = {}
        self._problems_seen = 0
        self._problems_open: set[int] = set()
        self.events_total = 0
        self.rebuilds = 0
        self._seq = itertools.count(1)
        self._signature: tuple[object, ...] | None = None

    # --- resources --------------------------------------------------------------------------

    def _build(self) -> Snapshot:
        oss = self.asm.oss
        alarm_rows = [a.row() for a in oss.alarms.all]
        alarms_df = _frame(alarm_rows, ALARMS_SCHEMA)
        alarms = exports.tmf642_alarms(alarms_df, self.start, self.base_url)
        wf = oss.workforce.tickets
        tickets_df = _frame([t.row() for t in wf], TICKETS_SCHEMA)
        status_df = _frame([dict(ticket_id=t.id, t=at, status=s, reason=r)
                            for t in wf for at, s, r in t.history], STATUS_SCHEMA)
        notes_df = _frame([dict(ticket_id=t.id, t=at, text=x)
                           for t in wf for at, x in t.notes], NOTES_SCHEMA)
        tickets = exports.tmf621_tickets(tickets_df, status_df, notes_df, self.start,
                                         self.base_url)
        complaints = [c.row() for c in oss.customer.tickets]
        if complaints:
            tickets += exports.tmf621_customer_tickets(
                _frame(complaints, CUSTOMER_TICKETS_SCHEMA), self.start, self.base_url)
        incidents_df = _frame([incident_row(i) for i in oss.correlator.incidents],
                              INCIDENTS_SCHEMA)
        problems = exports.tmf656_problems(incidents_df, alarms_df, tickets_df, self.start,
                                           None, self.base_url)
        return Snapshot(alarms, tickets, problems, self.asm.sim.now)

    def _changed(self) -> bool:
        """Whether anything the resources show changed since the last build (cheap: only
        what is still open is looked at; what closed shows in the counts)."""
        oss = self.asm.oss
        wf, cust, incs = oss.workforce.tickets, oss.customer.tickets, oss.correlator.incidents
        sig = (
            len(oss.alarms.all),
            tuple((a.id, a.changed, a.repeat_count, a.incident_id, a.role, a.acknowledged,
                   a.cleared) for a in oss.alarms.active.values()),
            len(incs), tuple((i.id, i.acknowledged, len(i.alarms), len(i.cells), i.ticket_id)
                             for i in incs if i.cleared is None and i.merged_into == 0),
            sum(i.cleared is not None or i.merged_into != 0 for i in incs),
            len(wf), tuple((t.id, len(t.history), len(t.notes), t.crew, t.escalation)
                           for t in wf if t.is_open), sum(not t.is_open for t in wf),
            len(cust), tuple((c.id, c.status) for c in cust if c.status != "closed"),
        )
        if sig == self._signature:
            return False
        self._signature = sig
        return True

    # --- events -----------------------------------------------------------------------------

    def _alarm_changes(self) -> list[tuple[float, int, int, str]]:
        all_ = self.asm.oss.alarms.all
        out: list[tuple[float, int, int, str]] = []
        for a in all_[self._alarms_seen:]:
            out.append((a.raised, 0, a.id, "AlarmCreateEvent"))
            self._open[a.id] = a
        self._alarms_seen = len(all_)
        for aid, a in list(self._open.items()):
            if a.acknowledged is not None and aid not in self._acked:
                self._acked.add(aid)
                out.append((a.acknowledged, 1, aid, "AlarmAttributeValueChangeEvent"))
            if a.cleared is not None:
                del self._open[aid]
                out.append((a.cleared, 2, aid, "AlarmStateChangeEvent"))
        return out

    def refresh(self) -> list[Event]:
        """Rebuild the picture and hand the events since the last refresh to ``publish``
        (call with the simulation still: in its thread, or under its lock)."""
        changes = self._alarm_changes()
        if not changes and not self._changed():
            return []
        self._changed()  # remember what this build shows
        snap = self._build()
        self.rebuilds += 1
        events: list[tuple[float, int, int, Event]] = []
        for t, order, aid, kind in changes:
            alarm = snap.alarm_by_id[str(aid)]
            if kind == "AlarmCreateEvent" and alarm.get("state") == "cleared":
                # raised and cleared within one step: announce it as it was raised
                alarm = {k: v for k, v in alarm.items()
                         if k not in ("alarmClearedTime",)}
                alarm["state"] = "raised"
                alarm["perceivedSeverity"] = self.asm.oss.alarms.all[aid - 1].severity
            events.append((t, order, aid, Event(t, kind, alarm)))
        for tk in snap.tickets:
            tid, status = str(tk["id"]), str(tk["status"])
            before = self._ticket_status.get(tid)
            if before != status:
                self._ticket_status[tid] = status
                kind = ("TroubleTicketCreateEvent" if before is None
                        else "TroubleTicketStatusChangeEvent")
                t = snap.t
                events.append((t, 3, 0, Event(t, kind, tk)))
        incidents = self.asm.oss.correlator.incidents
        for inc in incidents[self._problems_seen:]:
            self._problems_open.add(inc.id)
            events.append((inc.created, 4, inc.id, Event(
                inc.created, "ServiceProblemCreateEvent", snap.problem_by_id[str(inc.id)])))
        self._problems_seen = len(incidents)
        for iid in sorted(self._problems_open):
            inc = incidents[iid - 1]
            if inc.cleared is not None or inc.merged_into:
                self._problems_open.discard(iid)
                t = inc.cleared if inc.cleared is not None else snap.t
                events.append((t, 5, iid, Event(
                    t, "ServiceProblemStateChangeEvent", snap.problem_by_id[str(iid)])))
        self.snapshot = snap
        ordered = [e for *_, e in sorted(events, key=lambda x: x[:3])]
        self.events_total += len(ordered)
        if ordered:
            self.publish(ordered)
        return ordered
