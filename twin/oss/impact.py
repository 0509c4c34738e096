"""Service impact per incident: which cells and services are hit, and what the BSS says that
puts at stake.

From its inventory alone the OSS knows an incident's shadow — the cells cut off from the core
if its root is down — and which services those cells carry (every cell carries voice, data
and SMS). A core network function (msc, pgw, hss, dns) that was the last working instance of
its kind in the OSS's view takes every cell's service with it; one that still has a twin
elsewhere costs redundancy, not service. What the cells are *worth* only the BSS knows, so
the OSS asks it over the integration bus (:class:`~twin.messages.ImpactQuery`, answered with
an :class:`~twin.messages.ImpactAnswer`: customers, enterprise accounts and SLA lines
affected, revenue at risk per hour, SLA exposure) and keeps the answer on the incident, where
the ``customers`` and ``revenue`` repair policies read it. An incident whose shadow grows is
asked again; only the latest answer counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from twin.kernel import Sim
from twin.messages import ImpactAnswer, ImpactQuery
from twin.oss.correlation import Incident
from twin.oss.inventory import Inventory

CELL_SERVICES = ("voice", "data", "sms")
SERVICE_FUNCTIONS = ("msc", "pgw", "hss", "dns")  # service needs a working instance of each

IMPACT_SCHEMA = pa.schema([
    ("incident_id", pa.int64()), ("query_id", pa.int64()), ("asked", pa.float64()),
    ("answered", pa.float64()), ("received", pa.float64()), ("cells_affected", pa.int64()),
    ("sites_affected", pa.int64()),
    ("regions", pa.string()), ("services", pa.string()), ("lines", pa.int64()),
    ("customers", pa.int64()), ("enterprise_accounts", pa.int64()), ("sla_lines", pa.int64()),
    ("revenue_at_risk_minor_per_h", pa.int64()), ("sla_exposure_minor", pa.int64()),
    ("cells", pa.string()), ("sites", pa.string()),
])


class ServiceImpact:
    def __init__(self, sim: Sim, publish: Callable[[Any], None],
                 open_incidents: Callable[[], list[Incident]]) -> None:
        self.sim, self.publish = sim, publish
        self.open_incidents = open_incidents
        self.inventory: Inventory | None = None
        self.by_id: dict[int, Incident] = {}
        self.asked: dict[int, tuple[int, float, frozenset[str], tuple[str, ...]]] = {}
        self.queries = 0
        self.answers = 0
        self.rows = sim.records.buffer("incident_impact", IMPACT_SCHEMA)

    def cells_and_services(self, inc: Incident) -> tuple[frozenset[str], tuple[str, ...]]:
        """The cells whose service the incident takes, and the services they carry."""
        inv = self.inventory
        cells = inc.cells
        if inv is not None and inc.root_kind == "element":
            el = inv.elements.get(inc.root)
            if el is not None and el.type in SERVICE_FUNCTIONS:
                twins = {e.id for e in inv.elements.values() if e.type == el.type}
                down = {i.root for i in self.open_incidents() if i.root_kind == "element"}
                if twins <= down | {inc.root}:  # no working instance left: no service anywhere
                    cells = frozenset(e.id for e in inv.elements.values() if e.type == "cell")
        return cells, CELL_SERVICES if cells else ()

    def ask(self, inc: Incident) -> None:
        """Ask the BSS about ``inc`` if its shadow is new or has changed since last asked."""
        cells, services = self.cells_and_services(inc)
        last = self.asked.get(inc.id)
        if last is not None and last[2] == cells:
            return
        self.queries += 1
        qid = (last[0] + 1) if last is not None else 1
        self.asked[inc.id] = (qid, self.sim.now, cells, services)
        self.by_id[inc.id] = inc
        inc.services = services
        self.publish(ImpactQuery(inc.id, qid, tuple(sorted(cells)), services, self.sim.now))

    def on_answer(self, a: ImpactAnswer) -> None:
        qid, asked, cells, services = self.asked[a.incident_id]
        if a.query_id != qid:  # an answer overtaken by a newer question
            return
        self.answers += 1
        self.by_id[a.incident_id].impact = a
        inv = self.inventory
        els = [inv.elements[c] for c in cells if c in inv.elements] if inv is not None else []
        self.rows.append(
            incident_id=a.incident_id, query_id=a.query_id, asked=asked, answered=a.answered,
            received=self.sim.now,
            cells_affected=len(cells), sites_affected=len({e.site for e in els}),
            regions=",".join(sorted({e.region for e in els})), services=",".join(services),
            lines=a.lines, customers=a.customers, enterprise_accounts=a.enterprise_accounts,
            sla_lines=a.sla_lines, revenue_at_risk_minor_per_h=a.revenue_at_risk_minor_per_h,
            sla_exposure_minor=a.sla_exposure_minor, cells=",".join(sorted(cells)),
            sites=",".join(sorted({e.site for e in els})))
