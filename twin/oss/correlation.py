"""Correlation and root-cause analysis over the OSS inventory.

New alarms wait a short correlation window (like Alertmanager's ``group_wait``) so the burst
a failure causes can be read as one picture. Then, using only the inventory:

* a *heartbeat failure* means the element itself is dead — a root cause — unless the element
  lies in the shadow of another that lost its heartbeat: then it may only be unreachable
  (management that rides the transport, in-band, is cut off with it) and is a symptom;
* *loss of signal* on a port is a symptom of a dead neighbour if there is one, otherwise
  the link itself is cut — a root cause;
* every other alarm (cell out of service, core adjacency lost) is a symptom of the root
  whose failure cuts its object off from the core (its *shadow* in the inventory graph).

One incident per root cause, holding its root and symptom alarms. A symptom that arrives
after its incident opened joins it. An alarm nothing explains waits a few windows for its
root to show up, then becomes its own incident. When a dead element is recognised late (its
heartbeat failure can take longer to detect than the loss of signal its neighbours see),
the link incidents opened for those neighbours' ports are merged into the element's
incident and their tickets cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twin.kernel import Sim
from twin.messages import ImpactAnswer
from twin.oss.alarms import SEVERITY_RANK, Alarm
from twin.oss.inventory import Inventory
from twin.oss.performance import EMS as PM_EMS

SERVICE_CAUSES = ("heartbeatFailure", "backhaulFailure")


@dataclass
class Incident:
    id: int
    root: str
    root_kind: str  # element | link | power (a mains failure of a power domain) | unknown
    created: float
    alarms: list[Alarm] = field(default_factory=list)
    cells: frozenset[str] = frozenset()
    ticket_id: int = 0
    cleared: float | None = None
    merged_into: int = 0
    first_alarm: float = float("inf")
    acknowledged: float | None = None
    ack_user: str = ""
    released: bool = False  # its ticket has been released to the field
    services: tuple[str, ...] = ()  # services its cells carry (twin/oss/impact.py)
    impact: ImpactAnswer | None = None  # the BSS's latest answer: what is at stake

    @property
    def severity(self) -> str:
        """The most severe of its alarms."""
        return min((a.severity for a in self.alarms), key=lambda s: SEVERITY_RANK.get(s, 9),
                   default="indeterminate")

    def attach(self, alarm: Alarm, role: str, now: float | None = None) -> None:
        self.first_alarm = min(self.first_alarm, alarm.raised)
        alarm.incident_id = self.id
        alarm.role = role
        self.alarms.append(alarm)
        if self.acknowledged is not None:  # joins an acknowledged incident
            alarm.acknowledge(self.acknowledged if now is None else now, self.ack_user)


class Correlator:
    def __init__(self, sim: Sim, window_s: float,
                 on_incident: Callable[[Incident], None],
                 on_cleared: Callable[[Incident], None],
                 on_merged: Callable[[Incident], None],
                 on_grown: Callable[[Incident], None]) -> None:
        self.sim = sim
        self.on_grown = on_grown  # an open incident's shadow grew
        self.dark: dict[str, Incident] = {}  # element dark after a mains failure → incident
        self.window = window_s
        self.on_incident = on_incident
        self.on_cleared = on_cleared
        self.on_merged = on_merged
        self.inventory: Inventory | None = None
        self.pending: list[Alarm] = []
        self.open: dict[int, Incident] = {}
        self.incidents: list[Incident] = []
        self._scheduled = False

    def add(self, alarm: Alarm) -> None:
        self.pending.append(alarm)
        if not self._scheduled:
            self._scheduled = True
            self.sim.env.process(self._after_window())

    def _after_window(self) -> Any:
        yield self.sim.env.timeout(self.window)
        self._scheduled = False
        self.correlate()
        if self.pending and not self._scheduled:
            self._scheduled = True
            self.sim.env.process(self._after_window())

    def alarm_cleared(self, alarm: Alarm) -> None:
        inc = self.open.get(alarm.incident_id)
        if inc is not None and all(a.cleared is not None for a in inc.alarms):
            inc.cleared = self.sim.now
            del self.open[inc.id]
            self.on_cleared(inc)
        if alarm.incident_id == 0 and alarm in self.pending:
            self.pending.remove(alarm)

    # --- root-cause analysis -------------------------------------------------------------

    def correlate(self) -> None:
        inv = self.inventory
        if inv is None:
            raise RuntimeError("alarms arrived before the OSS inventory was discovered")
        alarms = [a for a in self.pending if a.cleared is None]
        alarms, dark, new_power = self._group_power(inv, alarms)
        # an element incident whose root alarm has cleared (the element came back; the
        # incident is held open only by a symptom whose clear was lost) does not catch the
        # element's next failure: that is a new incident with a ticket of its own
        dead_open = {i.root: i for i in self.open.values() if i.root_kind == "element"
                     and any(a.role == "root" and a.cleared is None for a in i.alarms)}
        dead_open.update(dark)  # dark after a mains failure: their power incident
        hb = {a.obj: a for a in alarms if a.cause == "heartbeatFailure"}
        later: list[tuple[Alarm, str]] = []  # (alarm, root it belongs to)
        # silent behind another silent element: unreachable, perhaps alive (in-band)
        behind: dict[str, str] = {}
        for obj in hb:
            ups = [r for r in [*hb, *dead_open] if r != obj and obj in inv.shadow(r)]
            if ups and obj not in dead_open:
                behind[obj] = max(ups, key=lambda r: (len(inv.shadow(r)), r))
        for obj, up in behind.items():
            later.append((hb.pop(obj), up))
        new_roots: dict[str, tuple[str, list[Alarm]]] = {
            obj: ("element", [a]) for obj, a in hb.items() if obj not in dead_open}
        for obj, a in hb.items():
            if obj in dead_open:
                later.append((a, obj))
        rest: list[Alarm] = []
        own: list[tuple[Alarm, str]] = []  # (alarm, open element incident it is the root of)
        for a in alarms:
            if a.cause == "heartbeatFailure":
                continue
            if a.cause == "lossOfSignal" and a.note.resource in inv.links:
                link = inv.links[a.note.resource]
                other = link.b if link.a == a.obj else link.a
                if other in hb or other in dead_open:
                    later.append((a, other))
                elif link.id in new_roots:
                    new_roots[link.id][1].append(a)
                else:
                    open_link = [i for i in self.open.values() if i.root == link.id]
                    if open_link:
                        later.append((a, link.id))
                    else:
                        new_roots[link.id] = ("link", [a])
                continue
            if a.note.ems == PM_EMS and a.obj not in hb and a.obj not in dead_open:
                # a KPI threshold the OSS raised from counters: a problem of the cell itself
                new_roots.setdefault(a.obj, ("element", []))[1].append(a)
                continue
            if a.obj in hb or a.obj in dead_open:  # a dead element's own alarm (e.g. the
                if a.obj in new_roots:  # software error behind its heartbeat failure)
                    new_roots[a.obj][1].append(a)
                else:
                    own.append((a, a.obj))
                continue
            rest.append(a)
        # an open incident explains new symptoms only while its root is still down (a stale
        # symptom whose clear was lost must not keep it catching the next failure's alarms)
        candidates = list(new_roots) + [i.root for i in self.open.values() if any(
            a.role == "root" and a.cleared is None for a in i.alarms)
            and i.root_kind != "power"] + list(dark)
        unexplained: list[Alarm] = []
        for a in rest:
            root = self._explain(inv, a.obj, candidates)
            if root is None:
                unexplained.append(a)
            else:
                later.append((a, root))
        by_root = {i.root: i for i in self.open.values()}
        by_root.update(dark)
        for root, (kind, root_alarms) in new_roots.items():
            inc = self._open_incident(inv, root, kind)
            for a in root_alarms:
                inc.attach(a, "root")
            by_root[root] = inc
        for a, root in later:
            by_root[root].attach(a, "symptom", self.sim.now)
        for a, root in own:
            by_root[root].attach(a, "root", self.sim.now)
        for root, (kind, _) in new_roots.items():
            if kind == "element":
                self._absorb_port_incidents(inv, by_root[root])
        self.pending = []
        for a in unexplained:
            if self.sim.now - a.raised >= 3 * self.window:
                inc = self._open_incident(inv, a.obj, "unknown")
                inc.attach(a, "root")
            else:
                self.pending.append(a)
        for inc in new_power:
            self.on_incident(inc)
        for root in new_roots:
            self.on_incident(by_root[root])

    @staticmethod
    def _domain(inv: Inventory, obj: str) -> str | None:
        el = inv.elements.get(obj)
        return (el.power_domain or el.site) if el is not None else None

    def _group_power(self, inv: Inventory, alarms: list[Alarm]
                     ) -> tuple[list[Alarm], dict[str, Incident], list[Incident]]:
        """One incident per mains failure: the power alarms of a power domain, and the
        heartbeat failures of its elements while it is open (they went dark when their
        batteries ran out), form one incident rooted at the domain, whose shadow grows as
        elements go dark. Returns the alarms left for the usual analysis, the elements dark
        in open power incidents (→ incident) and the power incidents opened now."""
        power = {i.root: i for i in self.open.values() if i.root_kind == "power"}
        new_power: list[Incident] = []
        rest: list[Alarm] = []
        for a in alarms:
            domain = self._domain(inv, a.obj) if a.cause == "powerProblem" else None
            if domain is None:
                rest.append(a)
                continue
            inc = power.get(domain)
            if inc is None:
                inc = power[domain] = self._open_incident(inv, domain, "power", cells=())
                new_power.append(inc)
            inc.attach(a, "root", self.sim.now)
        self.dark = {obj: inc for obj, inc in self.dark.items() if inc.id in self.open}
        left: list[Alarm] = []
        grown: list[Incident] = []
        for a in rest:
            domain = self._domain(inv, a.obj) if a.cause == "heartbeatFailure" else None
            inc = power.get(domain) if domain is not None else None
            if inc is None:
                left.append(a)
                continue
            inc.attach(a, "symptom", self.sim.now)
            self.dark[a.obj] = inc
            cells = frozenset(c for c in inv.shadow(a.obj) | {a.obj} if inv.is_cell(c))
            if not cells <= inc.cells:
                inc.cells = inc.cells | cells
                if inc not in new_power and inc not in grown:
                    grown.append(inc)
            self._absorb_port_incidents(inv, inc, element=a.obj)
        for inc in grown:
            self.on_grown(inc)
        dark = {obj: inc for obj, inc in self.dark.items() if any(
            x.obj == obj and x.cause == "heartbeatFailure" and x.cleared is None
            for x in inc.alarms)}
        return left, dark, new_power

    def _absorb_port_incidents(self, inv: Inventory, dead: Incident,
                               element: str | None = None) -> None:
        """Merge open link incidents whose only evidence is loss of signal facing the dead
        ``element`` (by default ``dead``'s root) into ``dead``."""
        element = element or dead.root
        for inc in list(self.open.values()):
            if inc is dead or inc.root_kind != "link":
                continue
            link = inv.links[inc.root]
            if element not in (link.a, link.b):
                continue
            roots = [a for a in inc.alarms if a.role == "root"]
            if any(a.obj == element for a in roots):
                continue
            for a in inc.alarms:
                dead.attach(a, "symptom", self.sim.now)
            inc.alarms = []
            inc.merged_into = dead.id
            inc.cleared = self.sim.now
            del self.open[inc.id]
            self.on_merged(inc)

    def _open_incident(self, inv: Inventory, root: str, kind: str,
                       cells: tuple[str, ...] | None = None) -> Incident:
        if cells is None:
            shadow = inv.shadow(root) | ({root} if root in inv.elements else set())
            cells = tuple(c for c in shadow if inv.is_cell(c))
        inc = Incident(len(self.incidents) + 1, root, kind, self.sim.now,
                       cells=frozenset(cells))
        self.incidents.append(inc)
        self.open[inc.id] = inc
        return inc

    @staticmethod
    def _explain(inv: Inventory, obj: str, candidates: list[str]) -> str | None:
        hits = [r for r in candidates if obj in inv.shadow(r)]
        if hits:  # the most upstream single failure that explains it
            return max(hits, key=lambda r: (len(inv.shadow(r)), r))
        if len(candidates) > 1 and inv.cut_off(obj, frozenset(candidates)):
            # only several failures together cut it off (e.g. a ring cut twice)
            return min(candidates, key=lambda r: (inv.distance(obj, r), r))
        return None
