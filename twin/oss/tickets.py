"""Trouble tickets: TMF621 states, priority, SLA restore targets and escalation.

Every ticketed incident gets one ticket. Its life, in TMF621 states:

``acknowledged`` (the ticketing system took it) → ``inProgress`` (a remote restart or a crew
is working on it) → ``resolved`` (the OSS saw the incident's alarms clear: service restored)
→ ``closed`` (the work is done too). A ticket whose incident is folded into another is
``cancelled``. Every change is kept in its status history with a reason.

Priority follows what the OSS knows about the incident: ``Critical`` for a critical,
service-affecting incident (its root cuts cells off in the OSS inventory), ``High`` for other
service-affecting or critical ones, ``Medium`` for major, ``Low`` for the rest. Each priority
has a restore target (``oss.tickets.sla_target_h``, by default 4/8/24/72 h — in the spirit of
public enterprise SLAs such as Verizon's 2–24 h time-to-repair tiers); the deadline is the
creation time plus the target, and a ticket still unresolved at each share in
``escalate_at`` (half-way, at the deadline) escalates one level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from twin.oss.correlation import Incident

PRIORITIES = ("Critical", "High", "Medium", "Low")
PRIORITY_LEVEL = {p: i + 1 for i, p in enumerate(PRIORITIES)}
OPEN_STATES = ("acknowledged", "inProgress", "pending", "held")

TICKETS_SCHEMA = pa.schema([
    ("ticket_id", pa.int64()), ("incident_id", pa.int64()), ("root", pa.string()),
    ("priority", pa.int64()), ("status", pa.string()), ("created", pa.float64()),
    ("in_progress", pa.float64()), ("repaired", pa.float64()), ("resolved", pa.float64()),
    ("closed", pa.float64()), ("crew", pa.int64()), ("travel_s", pa.float64()),
    ("repair_s", pa.float64()), ("resolution", pa.string()), ("released", pa.float64()),
    ("priority_name", pa.string()), ("severity", pa.string()), ("region", pa.string()),
    ("sla_target_s", pa.float64()), ("deadline", pa.float64()), ("sla_met", pa.bool_()),
    ("escalation", pa.int64()), ("restarts", pa.int64()), ("truck_rolls", pa.int64()),
    ("switchovers", pa.int64()), ("skill", pa.string()), ("part_wait_s", pa.float64()),
])
NOTES_SCHEMA = pa.schema([
    ("ticket_id", pa.int64()), ("t", pa.float64()), ("text", pa.string()),
])
STATUS_SCHEMA = pa.schema([
    ("ticket_id", pa.int64()), ("t", pa.float64()), ("status", pa.string()),
    ("reason", pa.string()),
])


def priority_of(inc: Incident) -> str:
    affecting = bool(inc.cells)
    sev = inc.severity
    if sev == "critical" and affecting:
        return "Critical"
    if affecting or sev == "critical":
        return "High"
    return "Medium" if sev == "major" else "Low"


@dataclass
class Ticket:
    id: int
    incident: Incident
    created: float
    priority: str = "Low"
    severity: str = "indeterminate"
    target_s: float = 0.0
    region: str = ""
    status: str = "acknowledged"
    history: list[tuple[float, str, str]] = field(default_factory=list)
    released: float | None = None  # sent to the field (acknowledged or auto-ticketed)
    in_progress: float | None = None
    repaired: float | None = None
    resolved: float | None = None
    closed: float | None = None
    crew: int = 0
    on_site: bool = False
    travel_s: float = 0.0
    repair_s: float = 0.0
    resolution: str = ""
    escalation: int = 0
    restarts: int = 0
    truck_rolls: int = 0
    queued: bool = False  # waiting for a crew
    hold: str = ""  # why it is held: "" (mains power) or "maintenance"
    switchovers: int = 0
    remote: str = ""  # the remote action being verified: "restart" or "switch_standby"
    unit_repair: bool = False  # restored on the standby: a crew still repairs the failed unit
    skill: str = "transmission"  # what the repair needs (radio, transmission, power, core)
    part: tuple[str, str] | None = None  # spare reserved for it (depot, element type)
    part_pending: tuple[str, str] | None = None  # backordered spare it waits for
    part_wait_from: float = 0.0
    part_wait_s: float = 0.0  # time spent pending, waiting for spare parts
    notes: list[tuple[float, str]] = field(default_factory=list)

    @property
    def deadline(self) -> float:
        return self.created + self.target_s

    @property
    def root(self) -> str:
        return self.incident.root

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    def set_status(self, now: float, status: str, reason: str) -> None:
        self.status = status
        self.history.append((now, status, reason))

    def sla_met(self) -> bool | None:
        """Restored within the target; None while open and not yet late (or cancelled)."""
        if self.status == "cancelled":
            return None
        if self.resolved is not None:
            return self.resolved <= self.deadline + 1e-9
        return None

    def row(self) -> dict[str, Any]:
        return dict(ticket_id=self.id, incident_id=self.incident.id, root=self.root,
                    priority=PRIORITY_LEVEL[self.priority], status=self.status,
                    created=self.created, in_progress=self.in_progress,
                    repaired=self.repaired, resolved=self.resolved, closed=self.closed,
                    crew=self.crew, travel_s=self.travel_s, repair_s=self.repair_s,
                    resolution=self.resolution, released=self.released,
                    priority_name=self.priority, severity=self.severity, region=self.region,
                    sla_target_s=self.target_s, deadline=self.deadline,
                    sla_met=self.sla_met(), escalation=self.escalation,
                    restarts=self.restarts, truck_rolls=self.truck_rolls,
                    switchovers=self.switchovers, skill=self.skill,
                    part_wait_s=self.part_wait_s)
