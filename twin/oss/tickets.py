"""Trouble tickets and the field workforce.

Each incident opens a trouble ticket (TMF621 states: acknowledged → inProgress → resolved →
closed). Crews are a simpy priority resource: a ticket waits for a free crew in the order the
repair policy gives (``fifo``: oldest first; ``impact``: most cells affected first), the crew
travels to site, repairs, and sends the repair command to the network. The ticket is
resolved when the OSS sees the incident's alarms clear, and closed when the crew is done.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import simpy

from twin.kernel import Sim
from twin.messages import RepairCommand
from twin.oss.correlation import Incident
from twin.scenario.schema import CrewSpec

TICKETS_SCHEMA = pa.schema([
    ("ticket_id", pa.int64()), ("incident_id", pa.int64()), ("root", pa.string()),
    ("priority", pa.int64()), ("status", pa.string()), ("created", pa.float64()),
    ("in_progress", pa.float64()), ("repaired", pa.float64()), ("resolved", pa.float64()),
    ("closed", pa.float64()), ("crew", pa.int64()), ("travel_s", pa.float64()),
    ("repair_s", pa.float64()), ("resolution", pa.string()), ("released", pa.float64()),
])


@dataclass
class Ticket:
    id: int
    incident: Incident
    priority: int
    created: float
    status: str = "acknowledged"
    in_progress: float | None = None
    repaired: float | None = None
    resolved: float | None = None
    closed: float | None = None
    crew: int = 0
    on_site: bool = False
    travel_s: float = 0.0
    repair_s: float = 0.0
    resolution: str = ""
    released: float | None = None  # sent to the field (acknowledged or auto-ticketed)
    release: Any = None  # simpy event that lets the ticket queue for a crew


class Workforce:
    def __init__(self, sim: Sim, spec: CrewSpec, policy: str,
                 publish: Callable[[Any], None]) -> None:
        self.sim, self.spec, self.policy, self.publish = sim, spec, policy, publish
        self.crews = simpy.PriorityResource(sim.env, capacity=spec.count)
        self.free = list(range(spec.count, 0, -1))
        self.rng = sim.rng.stream("oss.workforce")
        self.tickets: list[Ticket] = []
        self._ids = itertools.count(1)
        self.busy_s = 0.0

    def open_ticket(self, inc: Incident) -> Ticket:
        tid = next(self._ids)
        prio = tid if self.policy == "fifo" else -len(inc.cells) * 1_000_000 + tid
        t = Ticket(tid, inc, prio, self.sim.now, release=self.sim.env.event())
        inc.ticket_id = tid
        self.tickets.append(t)
        self.sim.env.process(self._dispatch(t))
        return t

    def release(self, inc: Incident, how: str) -> None:
        """The NOC sends the incident's ticket to the field."""
        t = self._ticket_of(inc)
        if t is not None and t.released is None:
            t.released = self.sim.now
            t.release.succeed(how)

    def _ticket_of(self, inc: Incident) -> Ticket | None:
        return self.tickets[inc.ticket_id - 1] if inc.ticket_id else None

    def incident_cleared(self, inc: Incident) -> None:
        t = self._ticket_of(inc)
        if t is None:
            return
        if t.status == "cancelled":
            return
        t.resolved = self.sim.now
        t.status = "resolved"
        if t.released is None:  # restored before the NOC sent anyone
            self._close(t, "cleared before dispatch")
            return
        if not t.on_site and t.closed is None and t.in_progress is not None:
            self._close(t, t.resolution or "restored")

    def incident_merged(self, inc: Incident) -> None:
        """The incident was folded into another: its ticket is cancelled, its crew recalled."""
        t = self._ticket_of(inc)
        if t is None:
            return
        t.status = "cancelled"
        t.resolution = f"merged into incident {inc.merged_into}"
        t.closed = self.sim.now

    def _draw(self, mean_min: float, dist: str) -> float:
        mean = mean_min * 60.0
        return mean if dist == "deterministic" else float(self.rng.exponential(mean))

    def _dispatch(self, t: Ticket) -> Any:
        yield t.release
        if t.status == "cancelled":
            return
        with self.crews.request(priority=t.priority) as req:
            yield req
            if t.status == "cancelled":
                return
            crew = self.free.pop()
            t.crew, t.in_progress, t.status, t.on_site = crew, self.sim.now, "inProgress", True
            began = self.sim.now
            try:
                if t.resolved is not None:
                    t.resolution = "cleared before dispatch"
                    return
                t.travel_s = self._draw(self.spec.travel_mean_min, "exponential")
                yield self.sim.env.timeout(t.travel_s)
                if t.status == "cancelled":
                    return
                if t.resolved is not None:
                    t.resolution = "no fault found on site"
                    return
                t.repair_s = self._draw(self.spec.repair_mean_min, self.spec.repair_dist)
                yield self.sim.env.timeout(t.repair_s)
                if t.status == "cancelled":
                    return
                t.repaired = self.sim.now
                t.resolution = "repaired"
                self.publish(RepairCommand(t.id, t.incident.root))
            finally:
                self.busy_s += self.sim.now - began
                self.free.append(crew)
                t.on_site = False
                if t.resolved is not None and t.status != "cancelled":
                    self._close(t, t.resolution)

    def _close(self, t: Ticket, resolution: str) -> None:
        t.closed = self.sim.now
        t.status = "closed"
        t.resolution = resolution

    def write(self) -> None:
        buf = self.sim.records.buffer("tickets", TICKETS_SCHEMA)
        for t in self.tickets:
            buf.append(ticket_id=t.id, incident_id=t.incident.id, root=t.incident.root,
                       priority=t.priority, status=t.status, created=t.created,
                       in_progress=t.in_progress, repaired=t.repaired, resolved=t.resolved,
                       closed=t.closed, crew=t.crew, travel_s=t.travel_s, repair_s=t.repair_s,
                       resolution=t.resolution, released=t.released)
