"""Customer complaints forwarded by BSS care become TMF621 complaint tickets linked to the
network incident behind them — named by care, found over the customer's cell, or found by a
NOC engineer's investigation — or are resolved with no network fault found."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow.parquet as pq
import pytest
from oss_harness import FIBRE_CUT, SITE2_DEAD, Harness, harness_factory

from twin.kernel import Sim
from twin.messages import CustomerTroubleReport

H = 3600.0


@pytest.fixture
def make(make_sim: Callable[..., Sim]) -> Callable[..., Harness]:
    return harness_factory(make_sim)


def complain(h: Harness, at: float, cell: str, incident: int = 0,
             reason: str = "dropped calls") -> None:
    def go() -> object:
        yield h.sim.env.timeout(at - h.sim.now)
        h.oc.on_customer_report(CustomerTroubleReport(
            int(at), 7, 70, cell, reason, incident, at - 60, at))
    h.sim.env.process(go())


def test_complaints_are_linked_to_the_incident_behind_them(
        make: Callable[..., Harness]) -> None:
    h = make(customer_tickets={"investigate_mean_min": 0})
    h.send(0, *FIBRE_CUT)
    complain(h, 600, "site3-c1")  # in the cut's shadow, care names no incident
    complain(h, 700, "site2-c2", incident=1, reason="network outage")  # care names it
    complain(h, 800, "site5-c1")  # nothing wrong there
    h.send(2 * H, *FIBRE_CUT, cleared=True)
    complain(h, 3 * H, "site2-c1", incident=1, reason="network outage")  # after the repair
    h.run(until=4 * H)
    shadow, named, healthy, late = h.oc.customer.tickets
    assert (shadow.linked_by, shadow.incident.id, shadow.linked) == ("open incident", 1, 600)
    assert (named.linked_by, named.incident.id) == ("named incident", 1)
    for t in (shadow, named):  # pending on the incident until it cleared
        assert (t.status, t.resolved, t.resolution) == ("closed", 2 * H,
                                                        "restored with incident 1")
    assert (healthy.linked_by, healthy.incident, healthy.resolution) == (
        "", None, "no network fault found")
    assert (late.resolved, late.resolution) == (3 * H, "service already restored: incident 1")


def test_an_investigation_finds_an_incident_that_opened_meanwhile(
        make: Callable[..., Harness]) -> None:
    h = make(customer_tickets={"investigate_mean_min": 30})
    complain(h, 0, "site3-c2")  # before any alarm
    h.send(10, *SITE2_DEAD)  # site2 dies: site3's cells are cut off
    h.run(until=1)
    (t,) = h.oc.customer.tickets
    assert t.status == "inProgress"
    h.run(until=10 * H)
    assert t.investigated is not None and t.investigated > 70
    assert (t.linked_by, t.incident.root, t.status) == ("investigation", "site2", "pending")


def test_pending_complaints_follow_a_merge(make: Callable[..., Harness]) -> None:
    h = make()
    h.send(0, ("site1", "lossOfSignal", "site1-site2"))  # looks like a cut link at first
    complain(h, 100, "site2-c1")  # in the link incident's shadow
    h.send(200, ("site2", "heartbeatFailure"))  # the router is dead after all
    h.run(until=H)
    (t,) = h.oc.customer.tickets
    link, dead = h.incidents
    assert link.merged_into == dead.id
    assert t.incident is dead and t.status == "pending"
    assert h.oc.customer.pending == {dead.id: [t]}


def test_customer_tickets_table(make: Callable[..., Harness]) -> None:
    h = make(customer_tickets={"investigate_mean_min": 0})
    h.send(0, *FIBRE_CUT)
    complain(h, 600, "site3-c1")
    h.run(until=H)
    h.oc.finish()
    h.sim.records.close()
    (row,) = pq.read_table(h.sim.records.directory / "customer_tickets.parquet").to_pylist()
    assert (row["incident_id"], row["network_ticket_id"], row["status"], row["cell"]) == (
        1, 1, "pending", "site3-c1")
    assert row["resolved"] is None and row["received"] == 600
