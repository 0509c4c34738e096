"""The field workforce and remote remediation: who works a released ticket, and how.

A ticket for an element that went dark after reporting a mains power failure is ``held``
(TMF621): no crew can fix the utility's outage; it closes when power and alarms return.
Otherwise a ticket released by the NOC first gets a **remote restart** when the automation policy
believes it helps (the dead element reports a software/processing error, or always): the
OSS sends ``RepairCommand(action="restart")`` and waits ``verify`` for the alarms to clear.
If they do, the ticket is resolved without a truck roll; if not — or if the guard forbids
another restart of that element so soon — it queues for a crew.

Crews belong to regions (``oss.crews.regions``; by default one pool serves every region).
Whenever a crew is free it takes the waiting ticket of its region that the **repair policy**
ranks first (``twin/oss/policies.py``). The crew travels (a per-region mean, exponential by
default), checks on arrival whether the fault is still there (*no fault found* if the
incident cleared meanwhile), repairs, and sends ``RepairCommand(action="replace")`` for the
incident's root. Crews repair what the OSS diagnosed: a wrong root sends them to the wrong
place.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from twin.kernel import Sim
from twin.messages import RepairCommand
from twin.oss.correlation import Incident
from twin.oss.crews import (
    ANY_REGION,
    Crew,
    build_crews,
    drive_s,
    location_of,
    region_centre,
    skill_of,
)
from twin.oss.inventory import Inventory
from twin.oss.policies import policy_for
from twin.oss.spares import SpareParts
from twin.oss.tickets import NOTES_SCHEMA, STATUS_SCHEMA, TICKETS_SCHEMA, Ticket, priority_of
from twin.scenario.schema import OssSpec

REMOTE_STATUS = {"restart": "remote restart", "switch_standby": "switch to standby"}
REMOTE_FAILED = {"restart": "restart did not help", "switch_standby": "switchover did not help"}

__all__ = ["ANY_REGION", "Crew", "Workforce"]


class Workforce:
    def __init__(self, sim: Sim, spec: OssSpec, publish: Callable[[Any], None], *,
                 region_of: Callable[[str], str],
                 on_mains_failure: Callable[[str], bool],
                 on_maintenance: Callable[[str], bool],
                 has_standby: Callable[[str], bool],
                 inventory: Callable[[], Inventory | None]) -> None:
        """``region_of`` an element's region; ``on_mains_failure``, ``on_maintenance``
        and ``has_standby`` whether an element is dark from a mains failure, inside an
        overrunning planned change, has a standby unit; ``inventory`` the OSS's inventory
        as it is now (the operations centre wires them)."""
        self.sim, self.spec, self.publish = sim, spec, publish
        self.crew_spec = spec.crews
        self.policy = policy_for(spec.repair_policy)
        self.region_of = region_of
        self.on_mains_failure = on_mains_failure
        self.on_maintenance = on_maintenance
        self.has_standby = has_standby
        self.inventory = inventory
        self.rng = sim.rng.stream("oss.workforce")
        self.crews = build_crews(spec.crews)
        self.spares = SpareParts(sim, spec.spares, on_arrival=self._part_arrived)
        self._centres: dict[str, tuple[float, float] | None] = {}
        starts = sorted({s for c in self.crews for s in c.shift_starts(sim.horizon,
                                                                       sim.calendar)})
        if starts:
            sim.env.process(self._shift_changes(starts))
        self.tickets: list[Ticket] = []
        self.waiting: list[Ticket] = []
        self._last_remote: dict[tuple[str, str], float] = {}  # (action, target) → when
        self._ids = itertools.count(1)

    @property
    def crew_count(self) -> int:
        return len(self.crews)

    @property
    def busy_s(self) -> float:
        return sum(c.busy_s for c in self.crews)

    def duty_s(self, horizon: float) -> float:
        """Crew-seconds on duty (shift or on call) in the run: utilisation's denominator."""
        return sum(c.duty_s(horizon, self.sim.calendar) for c in self.crews)

    def _shift_changes(self, starts: list[float]) -> Any:
        """A shift begins: its crews take the waiting tickets."""
        for t in starts:
            yield self.sim.env.timeout(t - self.sim.now)
            self._dispatch()

    # --- ticket lifecycle ------------------------------------------------------------------

    def open_ticket(self, inc: Incident) -> Ticket:
        now = self.sim.now
        prio = priority_of(inc)
        t = Ticket(next(self._ids), inc, now, priority=prio, severity=inc.severity,
                   target_s=self.spec.tickets.sla_target_h[prio] * 3600.0,  # type: ignore[index]
                   region=self.region_of(inc.root), skill=skill_of(inc, self.inventory()))
        t.set_status(now, "acknowledged", f"opened for incident {inc.id}")
        inc.ticket_id = t.id
        self.tickets.append(t)
        for share in self.spec.tickets.escalate_at:
            self.sim.env.process(self._escalate(t, share))
        return t

    def _ticket_of(self, inc: Incident) -> Ticket | None:
        return self.tickets[inc.ticket_id - 1] if inc.ticket_id else None

    def release(self, inc: Incident, how: str) -> None:
        """The NOC sends the incident's ticket to the field."""
        t = self._ticket_of(inc)
        if t is None or t.released is not None or not t.is_open:  # (resolved: not open)
            return
        t.released = self.sim.now
        t.notes.append((self.sim.now, f"released: {how}"))
        if inc.root_kind == "power" or (inc.root_kind == "element"
                                        and self.on_mains_failure(inc.root)):
            # dark because the mains failed and the batteries ran out: no crew can fix that
            t.set_status(self.sim.now, "held", "mains power failure: waiting for the utility")
            return
        if self.on_maintenance(inc.root):
            # planned work overran its window: the change owner on site finishes it
            t.set_status(self.sim.now, "held", "planned maintenance overran its window")
            t.hold = "maintenance"
            return
        if self._switch_helps(t):
            self.sim.env.process(self._remote(t, "switch_standby", self._remote_or_crew))
        else:
            self._remote_or_crew(t)

    def _remote_or_crew(self, t: Ticket) -> None:
        if self._restart_helps(t):
            self.sim.env.process(self._remote(t, "restart", self._enqueue))
        else:
            self._enqueue(t)

    def incident_cleared(self, inc: Incident) -> None:
        t = self._ticket_of(inc)
        if t is None or t.status == "cancelled":
            return
        now = self.sim.now
        was_held = t.status == "held"
        t.resolved = now
        t.set_status(now, "resolved", "alarms cleared")
        if t.released is None:  # restored before the NOC sent anyone
            self._close(t, "cleared before dispatch")
        elif t.part_pending is not None:  # restored while waiting for a spare part
            self.spares.cancel(t.part_pending, t.id)
            t.part_pending = None
            self._close(t, "cleared before dispatch")
        elif t.queued:  # restored while waiting for a crew
            self.waiting.remove(t)
            t.queued = False
            self._close(t, "cleared before dispatch")
        elif t.remote == "switch_standby":  # back on the standby: the failed unit needs a crew
            t.remote = ""
            t.unit_repair = True
            t.resolution = "switched to standby"
            t.notes.append((now, "restored on the standby; failed unit queued for repair"))
            self._enqueue(t)
        elif t.remote == "restart":
            t.remote = ""
            self._close(t, "remote restart")
        elif was_held:  # mains back, or the overrunning work done
            self._close(t, "maintenance completed" if t.hold == "maintenance"
                        else "power restored")
        elif not t.on_site:
            self._close(t, t.resolution or "restored")

    def incident_merged(self, inc: Incident) -> None:
        """The incident was folded into another: its ticket is cancelled, its crew recalled."""
        t = self._ticket_of(inc)
        if t is None:
            return
        if t.queued:
            self.waiting.remove(t)
            t.queued = False
        if t.part_pending is not None:
            self.spares.cancel(t.part_pending, t.id)
            t.part_pending = None
        if t.part is not None and not t.on_site:
            self.spares.give_back(t.part, t.id)
            t.part = None
        t.resolution = f"merged into incident {inc.merged_into}"
        t.closed = self.sim.now
        t.set_status(self.sim.now, "cancelled", t.resolution)

    def _close(self, t: Ticket, resolution: str) -> None:
        if t.part is not None:  # reserved, never fitted: back on the shelf
            self.spares.give_back(t.part, t.id)
            t.part = None
        t.closed = self.sim.now
        t.resolution = resolution
        t.set_status(self.sim.now, "closed", resolution)

    def _escalate(self, t: Ticket, share: float) -> Any:
        yield self.sim.env.timeout(t.target_s * share)
        if t.is_open and t.resolved is None:
            t.escalation += 1
            t.notes.append((self.sim.now, f"escalated to level {t.escalation}: "
                                          f"{share:.0%} of the {t.priority} target"))
            self._dispatch()

    # --- remote restart --------------------------------------------------------------------

    def _restart_helps(self, t: Ticket) -> bool:
        mode = self.spec.automation.restart
        inc = t.incident
        if mode == "never" or inc.root_kind != "element":
            return False
        if mode == "software" and not any(
                a.obj == inc.root and a.note.alarm_type == "processingErrorAlarm"
                for a in inc.alarms):
            return False
        return self._unguarded("restart", inc.root)

    # --- switchover to standby ---------------------------------------------------------------

    def _switch_helps(self, t: Ticket) -> bool:
        inc = t.incident
        if not self.spec.automation.switch_standby or inc.root_kind not in ("element", "link"):
            return False
        return self.has_standby(inc.root) and self._unguarded("switch_standby", inc.root)

    # --- remote actions, verified ---------------------------------------------------------------

    def _unguarded(self, action: str, target: str) -> bool:
        """Not sent to ``target`` within the guard time (no repeating an action too often)."""
        last = self._last_remote.get((action, target))
        return last is None or self.sim.now - last >= self.spec.automation.guard

    def _remote(self, t: Ticket, action: str, fallback: Callable[[Ticket], None]) -> Any:
        """Send ``action`` (``restart`` or ``switch_standby``) from the NOC and wait
        ``verify`` for the alarms to clear; if they do not, ``fallback`` (a crew, or a restart
        first)."""
        now = self.sim.now
        self._last_remote[(action, t.root)] = now
        if action == "restart":
            t.restarts += 1
        else:
            t.switchovers += 1
        t.remote = action
        t.in_progress = t.in_progress if t.in_progress is not None else now
        t.set_status(now, "inProgress", REMOTE_STATUS[action])
        self.publish(RepairCommand(t.id, t.root, action=action))
        yield self.sim.env.timeout(self.spec.automation.verify)
        if t.remote == action and t.is_open:  # the alarms did not clear
            t.remote = ""
            t.notes.append((self.sim.now, REMOTE_FAILED[action]))
            fallback(t)

    # --- crews ------------------------------------------------------------------------------

    def _part_key(self, t: Ticket) -> tuple[str, str] | None:
        """The spare an element replacement needs (depot, type); None: none needed."""
        if not self.spec.spares.enabled:
            return None
        inv = self.inventory()
        el = inv.elements.get(t.root) if inv is not None else None
        return None if el is None else (self.spares.depot(t.region), el.type)

    def _enqueue(self, t: Ticket) -> None:
        key = self._part_key(t)  # a ticket joins the queue once: no part reserved yet
        if key is not None and not self.spares.reserve(key, t.id):
            t.part_pending, t.part_wait_from = key, self.sim.now
            t.set_status(self.sim.now, "pending", f"awaiting spare part {key[1]} "
                                                  f"(depot {key[0]})")
            return
        if key is not None:
            t.part = key
        t.queued = True
        self.waiting.append(t)
        self._dispatch()

    def _part_arrived(self, ticket_id: int) -> None:
        """A unit reached the depot for a backordered ticket: it queues for a crew again."""
        t = self.tickets[ticket_id - 1]
        if t.part_pending is None:
            return
        t.part, t.part_pending = t.part_pending, None
        t.part_wait_s += self.sim.now - t.part_wait_from
        t.set_status(self.sim.now, "inProgress" if t.in_progress is not None
                     else "acknowledged", "spare part arrived")
        t.queued = True
        self.waiting.append(t)
        self._dispatch()

    def _eligible(self, crew: Crew, t: Ticket) -> bool:
        """Free crews on duty, of the ticket's region and with its skill; a ticket nobody
        covers (its region, or its skill, in no team) goes to any crew."""
        if not crew.on_duty(self.sim.now, self.sim.calendar):
            return False
        if crew.region not in (ANY_REGION, t.region) and any(
                c.region == t.region for c in self.crews):
            return False
        return t.skill in crew.skills or not any(t.skill in c.skills for c in self.crews)

    def _dispatch(self) -> None:
        now = self.sim.now
        for crew in self.crews:
            if crew.busy or not self.waiting:
                continue
            mine = [t for t in self.waiting if self._eligible(crew, t)]
            if not mine:
                continue
            t = min(mine, key=lambda x: self.policy.rank(x, now))
            self.waiting.remove(t)
            t.queued = False
            crew.busy = True
            self.sim.env.process(self._work(crew, t))

    def _travel_s(self, crew: Crew, t: Ticket) -> float:
        spec = self.crew_spec
        if spec.travel == "distance":
            inv = self.inventory()
            site = location_of(t.root, inv)
            base = crew.base or spec.bases.get(crew.region) or spec.bases.get(t.region)
            if base is None:
                region = crew.region if crew.region != ANY_REGION else t.region
                if region not in self._centres:  # the inventory does not change
                    self._centres[region] = region_centre(region, inv)
                base = self._centres[region]
            if site is not None and base is not None:
                return drive_s(spec, base, site)
        return self._draw(spec.region_travel_mean_min.get(t.region, spec.travel_mean_min),
                          spec.travel_dist)

    def _draw(self, mean_min: float, dist: str) -> float:
        mean = mean_min * 60.0
        return mean if dist == "deterministic" or mean == 0 else float(self.rng.exponential(mean))

    def _work(self, crew: Crew, t: Ticket) -> Any:
        spec = self.crew_spec
        now = began = self.sim.now
        t.crew, t.on_site = crew.id, True
        t.in_progress = t.in_progress if t.in_progress is not None else now
        t.truck_rolls += 1
        if t.unit_repair:  # service already restored: the crew repairs the failed unit
            t.notes.append((now, f"crew {crew.id} dispatched to repair the failed unit"))
        else:
            t.set_status(now, "inProgress", f"crew {crew.id} dispatched")
        try:
            if crew.call_out_s:  # on call: from home to the depot first
                t.notes.append((now, f"crew {crew.id} called out"))
                yield self.sim.env.timeout(crew.call_out_s)
            t.travel_s = self._travel_s(crew, t)
            yield self.sim.env.timeout(t.travel_s)
            if t.status == "cancelled":
                return
            if t.resolved is not None and not t.unit_repair:
                t.resolution = "no fault found on site"
                return
            t.repair_s = self._draw(spec.repair_mean_min, spec.repair_dist)
            yield self.sim.env.timeout(t.repair_s)
            if t.status == "cancelled":
                return
            t.repaired = self.sim.now
            t.resolution = "switched to standby, unit repaired" if t.unit_repair else "repaired"
            if t.part is not None:
                self.spares.use(t.part, t.id)
                t.part = None
            self.publish(RepairCommand(t.id, t.root))
        finally:
            if t.part is not None and t.status == "cancelled":
                self.spares.give_back(t.part, t.id)
                t.part = None
            crew.busy_s += self.sim.now - began
            crew.busy = False
            t.on_site = False
            if t.resolved is not None and t.closed is None:  # (a cancelled ticket is closed)
                self._close(t, t.resolution)
            self._dispatch()

    # --- tables -----------------------------------------------------------------------------

    def write(self) -> None:
        buf = self.sim.records.buffer("tickets", TICKETS_SCHEMA)
        hist = self.sim.records.buffer("ticket_status", STATUS_SCHEMA)
        notes = self.sim.records.buffer("ticket_notes", NOTES_SCHEMA)
        for t in self.tickets:
            buf.append(**t.row())
            for at, status, reason in t.history:
                hist.append(ticket_id=t.id, t=at, status=status, reason=reason)
            for at, text in t.notes:
                notes.append(ticket_id=t.id, t=at, text=text)
