"""Customer-originated trouble tickets: complaints from BSS care, linked to network incidents.

BSS customer care forwards complaints about the network (:class:`CustomerTroubleReport`: an
outage the customer went through, repeated dropped calls) to the OSS, which opens a TMF621
ticket of type ``complaint`` for each and looks for the network problem behind it, as a
service desk does before anyone is sent out:

* the complaint names an incident the OSS knows (care tied it to a measured outage) — linked
  to it (``linked_by`` ``named incident``);
* else the customer's home cell is in the shadow of an open incident — linked to that one
  (``open incident``);
* else a NOC engineer investigates (``investigate_mean_min``, exponential): if an incident
  has opened over the cell meanwhile, the complaint is linked to it (``investigation``);
  otherwise it is resolved with *no network fault found*.

A complaint linked to an open incident is ``pending`` until the incident clears (the network
ticket is its parent); one linked to an incident already cleared is resolved at once with
*service already restored*. Resolved complaints are closed (the customer is told).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import simpy

from twin.kernel import Sim
from twin.messages import CustomerTroubleReport
from twin.oss.correlation import Incident
from twin.scenario.schema import CustomerTicketSpec

CUSTOMER_TICKETS_SCHEMA = pa.schema([
    ("customer_ticket_id", pa.int64()), ("care_ticket_id", pa.int64()), ("sub", pa.int64()),
    ("account", pa.int64()), ("cell", pa.string()), ("reason", pa.string()),
    ("experienced", pa.float64()), ("received", pa.float64()), ("incident_id", pa.int64()),
    ("network_ticket_id", pa.int64()), ("linked_by", pa.string()), ("linked", pa.float64()),
    ("status", pa.string()), ("investigated", pa.float64()), ("resolved", pa.float64()),
    ("closed", pa.float64()), ("resolution", pa.string()),
])


@dataclass
class CustomerTicket:
    id: int
    report: CustomerTroubleReport
    received: float
    status: str = "acknowledged"
    incident: Incident | None = None
    linked_by: str = ""
    linked: float | None = None
    investigated: float | None = None
    resolved: float | None = None
    resolution: str = ""

    def row(self) -> dict[str, Any]:
        """The complaint as a row of the ``customer_tickets`` table (as of now)."""
        r, inc = self.report, self.incident
        return dict(customer_ticket_id=self.id, care_ticket_id=r.care_ticket_id, sub=r.sub,
                    account=r.account, cell=r.cell, reason=r.reason,
                    experienced=r.experienced, received=self.received,
                    incident_id=inc.id if inc else 0,
                    network_ticket_id=inc.ticket_id if inc else 0,
                    linked_by=self.linked_by, linked=self.linked, status=self.status,
                    investigated=self.investigated, resolved=self.resolved,
                    closed=self.resolved, resolution=self.resolution)


class CustomerTickets:
    def __init__(self, sim: Sim, spec: CustomerTicketSpec,
                 incidents: Callable[[], list[Incident]]) -> None:
        self.sim, self.spec = sim, spec
        self.incidents = incidents  # every incident so far, in id order
        self.rng = sim.rng.stream("oss.customer")
        self.tickets: list[CustomerTicket] = []
        self.pending: dict[int, list[CustomerTicket]] = {}  # incident id → waiting complaints
        self._ids = itertools.count(1)

    def _open_over(self, cell: str) -> Incident | None:
        """The oldest open, unmerged incident whose shadow holds ``cell``."""
        for inc in self.incidents():
            if inc.cleared is None and inc.merged_into == 0 and cell in inc.cells:
                return inc
        return None

    def on_report(self, r: CustomerTroubleReport) -> None:
        t = CustomerTicket(next(self._ids), r, self.sim.now)
        self.tickets.append(t)
        known = self.incidents()
        if 0 < r.incident_id <= len(known):
            inc = known[r.incident_id - 1]
            while inc.merged_into:  # follow a merge to the incident that stands
                inc = known[inc.merged_into - 1]
            self._link(t, inc, "named incident")
            return
        over = self._open_over(r.cell)
        if over is not None:
            self._link(t, over, "open incident")
            return
        t.status = "inProgress"
        self.sim.env.process(self._investigate(t))

    def _investigate(self, t: CustomerTicket) -> Generator[simpy.Event, None, None]:
        mean = self.spec.investigate_mean_min * 60.0
        yield self.sim.env.timeout(float(self.rng.exponential(mean)) if mean > 0 else 0.0)
        t.investigated = self.sim.now
        inc = self._open_over(t.report.cell)
        if inc is not None:
            self._link(t, inc, "investigation")
        else:
            self._resolve(t, "no network fault found")

    def _link(self, t: CustomerTicket, inc: Incident, how: str) -> None:
        t.incident, t.linked_by, t.linked = inc, how, self.sim.now
        if inc.cleared is not None:
            self._resolve(t, f"service already restored: incident {inc.id}")
        else:
            t.status = "pending"
            self.pending.setdefault(inc.id, []).append(t)

    def incident_cleared(self, inc: Incident) -> None:
        for t in self.pending.pop(inc.id, []):
            self._resolve(t, f"restored with incident {inc.id}")

    def incident_merged(self, inc: Incident) -> None:
        """Complaints waiting on a merged incident wait on the one it joined."""
        waiting = self.pending.pop(inc.id, [])
        if waiting:
            target = self.incidents()[inc.merged_into - 1]
            for t in waiting:
                t.incident = target
            self.pending.setdefault(target.id, []).extend(waiting)

    def _resolve(self, t: CustomerTicket, resolution: str) -> None:
        t.resolved, t.resolution, t.status = self.sim.now, resolution, "closed"

    def write(self) -> None:
        buf = self.sim.records.buffer("customer_tickets", CUSTOMER_TICKETS_SCHEMA)
        for t in self.tickets:
            buf.append(**t.row())
