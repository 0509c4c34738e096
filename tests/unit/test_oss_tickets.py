"""Trouble tickets and crews: acknowledged → inProgress → resolved → closed, repairs sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq
import pytest
from oss_harness import FIBRE_CUT, SITE5_DEAD, Harness, harness_factory

from twin.kernel import Sim
from twin.messages import RepairCommand

CELL_DEAD = [("site4-c1", "heartbeatFailure"), ("site4", "lossOfSignal", "site4-c1-up")]
REPAIR_S = 30 * 60


def statuses(h: Harness) -> list[str]:
    return [t.status for t in h.oc.workforce.tickets]


def repairs(h: Harness) -> list[tuple[int, str, float]]:
    """The repair commands the OSS sent to the network: (ticket, target, time)."""
    return [(m.ticket_id, m.target, t) for t, m in h.log if isinstance(m, RepairCommand)]


@pytest.fixture
def crew_of_one(make_sim: Callable[..., Sim]) -> Callable[..., Harness]:
    harness = harness_factory(make_sim)

    def make(**oss: Any) -> Harness:
        return harness(crews={"count": 1, "travel_mean_min": 0, "repair_mean_min": 30,
                              "repair_dist": "deterministic"}, **oss)
    return make


def test_ticket_lifecycle_with_one_crew(crew_of_one: Callable[..., Harness]) -> None:
    h = crew_of_one()
    h.send(100, *FIBRE_CUT, *SITE5_DEAD)  # two incidents in one window, one crew
    h.run(until=161)
    tickets = h.oc.workforce.tickets
    assert [t.incident.root for t in tickets] == ["site5", "site1-site2"]
    # the crew took the first ticket; the second is acknowledged and waits
    assert statuses(h) == ["inProgress", "acknowledged"]
    assert tickets[0].in_progress == 160 and tickets[1].in_progress is None

    h.run(until=160 + REPAIR_S + 1)
    # the repair is sent to the network; the ticket waits for the alarms to clear
    assert repairs(h) == [(1, "site5", 160 + REPAIR_S)]
    assert statuses(h) == ["inProgress", "inProgress"]
    assert tickets[0].repaired == 160 + REPAIR_S

    h.send(2500, *SITE5_DEAD, cleared=True)
    h.run(until=2501)
    assert statuses(h)[0] == "closed"
    assert (tickets[0].resolved, tickets[0].closed) == (2500, 2500)
    assert tickets[0].resolution == "repaired"

    # the second incident clears while its crew is still repairing: resolved, then closed
    h.send(3000, *FIBRE_CUT, cleared=True)
    h.run(until=3001)
    assert statuses(h) == ["closed", "resolved"]
    h.run(until=160 + 2 * REPAIR_S + 1)
    assert statuses(h) == ["closed", "closed"]
    assert tickets[1].closed == 160 + 2 * REPAIR_S
    assert repairs(h)[-1] == (2, "site1-site2", 160 + 2 * REPAIR_S)


def test_ticket_cleared_before_dispatch_sends_no_crew(crew_of_one: Callable[..., Harness]) -> None:
    h = crew_of_one()
    h.send(100, *SITE5_DEAD, *FIBRE_CUT)
    h.send(500, *FIBRE_CUT, cleared=True)  # restores by itself while the crew is busy
    h.run(until=3 * REPAIR_S)
    second = h.oc.workforce.tickets[1]
    assert second.incident.root == "site1-site2"
    assert second.status == "closed"
    assert second.resolution == "cleared before dispatch"
    assert second.repaired is None
    assert [r[1] for r in repairs(h)] == ["site5"]  # no truck roll for the cleared one


@pytest.mark.parametrize(("policy", "first_after"), [("fifo", "site4-c1"),
                                                     ("impact", "site1-site2")])
def test_repair_policy_orders_the_queue(crew_of_one: Callable[..., Harness], policy: str,
                                        first_after: str) -> None:
    h = crew_of_one(repair_policy=policy)
    h.send(0, *SITE5_DEAD)  # occupies the only crew
    h.send(300, *CELL_DEAD)  # one cell affected, ticketed first
    h.send(600, *FIBRE_CUT)  # four cells affected, ticketed later
    h.run(until=10 * REPAIR_S)
    order = [r[1] for r in repairs(h)]
    assert order[0] == "site5"
    assert order[1] == first_after
    assert len(order) == 3


def test_tickets_table(crew_of_one: Callable[..., Harness]) -> None:
    h = crew_of_one()
    h.send(100, *SITE5_DEAD)
    h.send(4000, *SITE5_DEAD, cleared=True)
    h.run(until=5000)
    h.oc.finish()
    h.sim.records.close()
    rows = pq.read_table(h.sim.records.directory / "tickets.parquet").to_pylist()
    assert len(rows) == 1
    row = rows[0]
    assert (row["ticket_id"], row["incident_id"], row["root"]) == (1, 1, "site5")
    assert row["status"] == "closed"
    assert (row["created"], row["in_progress"], row["repaired"]) == (160, 160, 160 + REPAIR_S)
    assert (row["resolved"], row["closed"]) == (4000, 4000)
    assert row["repair_s"] == REPAIR_S
    assert row["resolution"] == "repaired"


LATE_HEARTBEAT_LOS = [("site1", "lossOfSignal", "site1-site2"),
                      ("site3", "lossOfSignal", "site2-site3")]


def test_late_heartbeat_merges_port_incidents_and_cancels_their_tickets(
        make_sim: Callable[..., Sim]) -> None:
    """The neighbours' loss of signal is read as two link cuts; when site2's heartbeat
    failure arrives, both fold into one element incident and their tickets are cancelled."""
    h = harness_factory(make_sim)(crews={"count": 3, "travel_mean_min": 60,
                                         "repair_mean_min": 30, "repair_dist": "deterministic"})
    h.send(0, *LATE_HEARTBEAT_LOS)
    h.run(until=61)
    assert sorted((i.root, i.root_kind) for i in h.incidents) == [
        ("site1-site2", "link"), ("site2-site3", "link")]
    h.send(100, ("site2", "heartbeatFailure"))
    h.run(until=161)
    first, second, dead = h.incidents
    assert (dead.root, dead.root_kind) == ("site2", "element")
    assert first.merged_into == second.merged_into == dead.id
    assert first.alarms == [] and second.alarms == []
    assert {(a.obj, a.role) for a in dead.alarms} == {
        ("site2", "root"), ("site1", "symptom"), ("site3", "symptom")}
    tickets = h.oc.workforce.tickets
    assert [t.status for t in tickets[:2]] == ["cancelled", "cancelled"]
    assert {t.resolution for t in tickets[:2]} == {f"merged into incident {dead.id}"}
    assert tickets[2].incident is dead
    h.run(until=86_000)
    assert "site2" in [r[1] for r in repairs(h)]  # the dead element is repaired
    assert [t.status for t in tickets] == ["cancelled", "cancelled", "inProgress"]


def test_merge_during_repair_recalls_the_crew(make_sim: Callable[..., Sim]) -> None:
    h = harness_factory(make_sim)(crews={"count": 3, "travel_mean_min": 0,
                                         "repair_mean_min": 30, "repair_dist": "deterministic"})
    h.send(0, *LATE_HEARTBEAT_LOS)  # link tickets at 60, crews on site at once
    h.send(100, ("site2", "heartbeatFailure"))  # merged at 160, mid-repair
    h.run(until=86_000)
    tickets = h.oc.workforce.tickets
    assert [t.status for t in tickets[:2]] == ["cancelled", "cancelled"]
    assert {t.resolution for t in tickets[:2]} == {"merged into incident 3"}
    assert [r[1] for r in repairs(h)] == ["site2"]
