"""Tickets and the workforce: TMF621 priority and SLA targets, escalation, remote restart
before a truck roll, crews per region, pluggable repair policies."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq
import pytest
from oss_harness import FIBRE_CUT, SITE5_DEAD, Harness, harness_factory

from twin.kernel import Sim
from twin.messages import RepairCommand
from twin.oss.policies import POLICIES, RepairPolicy, policy_for

H = 3600.0
CRASH5 = [*SITE5_DEAD, ("site5", "softwareError")]
CELL4_LOS = [("site4", "lossOfSignal", "site4-c1-up"), ("site4-c1", "lossOfSignal",
                                                          "site4-c1-up")]


def commands(h: Harness) -> list[tuple[float, int, str, str]]:
    return [(t, m.ticket_id, m.target, m.action) for t, m in h.log
            if isinstance(m, RepairCommand)]


@pytest.fixture
def make(make_sim: Callable[..., Sim]) -> Callable[..., Harness]:
    harness = harness_factory(make_sim)

    def build(crews: int = 1, travel_min: float = 0, repair_min: float = 30,
              **oss: Any) -> Harness:
        return harness(crews={"count": crews, "travel_mean_min": travel_min,
                              "repair_mean_min": repair_min, "repair_dist": "deterministic",
                              "travel_dist": "deterministic", **oss.pop("crew_extra", {})},
                       **oss)
    return build


def test_priority_and_restore_target_follow_the_incident(make: Callable[..., Harness]) -> None:
    h = make(crews=3)
    h.send(0, *FIBRE_CUT)  # critical, cuts cells off
    h.send(0, *CELL4_LOS)  # a cell's uplink: major, one cell cut off
    h.send(0, ("site6", "transmissionError"))  # minor, on its own
    h.run(until=1000)
    by_root = {t.root: t for t in h.oc.workforce.tickets}
    assert by_root["site1-site2"].priority == "Critical"
    assert by_root["site1-site2"].target_s == 4 * H
    assert by_root["site4-c1-up"].priority == "High"
    assert by_root["site4-c1-up"].deadline == 60 + 8 * H
    assert "site6" not in by_root  # an alarm nothing explains is not ticketed at once


def test_late_tickets_escalate_and_miss_their_sla(make: Callable[..., Harness]) -> None:
    h = make(crews=1, repair_min=3 * 60)
    h.send(0, *FIBRE_CUT)  # the only crew works on it for 3 h
    h.send(0, *CELL4_LOS)  # High: 8 h target, waits 3 h, repaired after 6 h
    h.send(7 * H, *FIBRE_CUT, cleared=True)
    h.send(7 * H, *CELL4_LOS, cleared=True)
    h.run(until=20 * H)
    first, second = h.oc.workforce.tickets
    assert (first.escalation, second.escalation) == (2, 1)  # past 2 h and 4 h; past 4 h
    assert first.resolved == second.resolved == 7 * H
    assert first.sla_met() is False and second.sla_met() is True
    assert [s for _, s, _ in second.history] == [
        "acknowledged", "inProgress", "resolved", "closed"]


def test_remote_restart_fixes_a_software_crash_without_a_truck(
        make: Callable[..., Harness]) -> None:
    h = make(crews=1, travel_min=60, automation={"verify": 900})
    h.send(0, *CRASH5)
    h.send(400, *CRASH5, cleared=True)  # the restart worked
    h.run(until=10 * H)
    (t,) = h.oc.workforce.tickets
    assert commands(h) == [(60.0, 1, "site5", "restart")]
    assert (t.status, t.resolution, t.restarts, t.truck_rolls) == (
        "closed", "remote restart", 1, 0)


def test_a_restart_that_does_not_help_is_followed_by_a_truck_roll(
        make: Callable[..., Harness]) -> None:
    h = make(crews=1, travel_min=60, automation={"verify": 900})
    h.send(0, *CRASH5)
    h.run(until=10 * H)
    (t,) = h.oc.workforce.tickets
    assert commands(h) == [(60.0, 1, "site5", "restart"),
                           (60.0 + 900 + 3600 + 1800, 1, "site5", "replace")]
    assert (t.restarts, t.truck_rolls) == (1, 1)


def test_no_restart_without_a_software_error_or_within_the_guard(
        make: Callable[..., Harness]) -> None:
    h = make(crews=2, automation={"verify": 300, "guard": "2h"})
    h.send(0, *SITE5_DEAD)  # a hardware-looking failure: straight to a crew
    h.send(1000, *CRASH5[:1], ("site5", "softwareError"))
    h.send(2000, *SITE5_DEAD, ("site5", "softwareError"), cleared=True)
    h.send(3000, *CRASH5)  # crashes again: restarted
    h.send(3400, *CRASH5, cleared=True)
    h.send(4000, *CRASH5)  # and again, within the guard: a truck
    h.run(until=10 * H)
    actions = [(c[2], c[3]) for c in commands(h)]
    assert actions[0] == ("site5", "replace")
    assert ("site5", "restart") in actions
    last = h.oc.workforce.tickets[-1]
    assert (last.restarts, last.truck_rolls) == (0, 1)


def test_crews_serve_their_region(make: Callable[..., Harness]) -> None:
    h = make(crew_extra={"regions": {"region1": 1, "region2": 1},
                         "region_travel_mean_min": {"region2": 90}})
    h.send(0, *SITE5_DEAD)  # region2
    h.send(100, *CELL4_LOS)  # region2 as well: waits for region2's crew
    h.run(until=10 * H)
    first, second = h.oc.workforce.tickets
    assert first.region == second.region == "region2"
    assert first.crew == second.crew == 2
    assert first.travel_s == 90 * 60
    assert second.in_progress == 60 + 90 * 60 + 30 * 60
    assert h.oc.workforce.crews[0].busy_s == 0  # region1's crew never moved


@pytest.mark.parametrize(("policy", "order"), [
    ("fifo", ["site5", "site4-c1-up", "site6-c2-up", "site1-site2"]),
    ("impact", ["site5", "site1-site2", "site4-c1-up", "site6-c2-up"]),
    ("severity", ["site5", "site1-site2", "site4-c1-up", "site6-c2-up"]),
])
def test_policies_order_the_queue(make: Callable[..., Harness], policy: str,
                                  order: list[str]) -> None:
    h = make(repair_policy=policy)
    h.send(0, *SITE5_DEAD)  # keeps the crew busy while the others queue
    h.send(100, *CELL4_LOS)
    h.send(200, ("site6", "lossOfSignal", "site6-c2-up"))
    h.send(300, *FIBRE_CUT)
    h.run(until=20 * H)
    assert [c[2] for c in commands(h)] == order


def test_sla_policy_takes_the_earliest_deadline(make: Callable[..., Harness]) -> None:
    h = make(repair_policy="sla",
             tickets={"sla_target_h": {"Critical": 10, "High": 1, "Medium": 24, "Low": 72}})
    h.send(0, *SITE5_DEAD)
    h.send(100, *FIBRE_CUT)  # Critical: deadline 10 h
    h.send(200, *CELL4_LOS)  # High: deadline 1 h, later but more urgent
    h.run(until=20 * H)
    assert [c[2] for c in commands(h)] == ["site5", "site4-c1-up", "site1-site2"]


def test_policies_are_pluggable() -> None:
    class Newest:
        name = "newest"

        def rank(self, ticket: Any, now: float) -> tuple[float, ...]:
            return (-ticket.created,)

    policies: list[RepairPolicy] = [*POLICIES.values(), Newest()]
    assert {p.name for p in policies} >= {"fifo", "impact", "severity", "sla", "newest"}
    with pytest.raises(ValueError, match="unknown repair policy"):
        policy_for("coin-flip")


def test_ticket_tables(make: Callable[..., Harness]) -> None:
    h = make()
    h.send(0, *CRASH5)
    h.send(500, *CRASH5, cleared=True)
    h.run(until=H)
    h.oc.finish()
    h.sim.records.close()
    tables = h.sim.records.directory
    (row,) = pq.read_table(tables / "tickets.parquet").to_pylist()
    assert (row["priority"], row["priority_name"], row["resolution"]) == (1, "Critical",
                                                                          "remote restart")
    assert row["sla_met"] is True and row["restarts"] == 1 and row["truck_rolls"] == 0
    history = pq.read_table(tables / "ticket_status.parquet").to_pylist()
    assert [r["status"] for r in history] == ["acknowledged", "inProgress", "resolved",
                                              "closed"]


def test_a_site_dark_after_a_mains_failure_is_held_not_dispatched(
        make: Callable[..., Harness]) -> None:
    h = make(crews=1)
    h.send(0, ("site5", "powerProblem"))  # mains lost: on battery
    h.send(7200, *SITE5_DEAD)  # batteries empty: the site goes dark
    h.send(9000, *SITE5_DEAD, cleared=True)  # mains back
    h.send(9000, ("site5", "powerProblem"), cleared=True)
    h.run(until=5 * H)
    (t,) = [t for t in h.oc.workforce.tickets if t.root == "site5"]
    assert [s for _, s, _ in t.history] == ["acknowledged", "held", "resolved", "closed"]
    assert (t.truck_rolls, t.resolution) == (0, "power restored")
    assert not [c for c in commands(h) if c[2] == "site5"]


@pytest.mark.parametrize(("hook", "status", "reason", "hold"), [  # hold: what clears it
    ("on_mains_failure", "held", "mains power failure: waiting for the utility", ""),
    ("on_maintenance", "held", "planned maintenance overran its window", "maintenance"),
])
def test_a_dark_element_no_crew_can_fix_is_held_not_dispatched(
        make: Callable[..., Harness], hook: str, status: str, reason: str,
        hold: str) -> None:
    """An element dark because the mains failed (and its batteries ran out), or because
    planned work overran its window, is held: no restart, no truck; other elements are
    not."""
    h = make(crews=1, travel_min=60)
    setattr(h.oc.workforce, hook, lambda target: target == "site5")
    h.send(0, *CRASH5)
    h.send(0, *CELL4_LOS)  # another incident on an element the hook does not name
    h.run(until=2 * H)
    by_root = {t.root: t for t in h.oc.workforce.tickets}
    held = by_root["site5"]
    assert held.released is not None
    assert (held.status, held.history[-1], held.hold) == (status, (60.0, status, reason), hold)
    assert (held.restarts, held.truck_rolls) == (0, 0)
    assert [c for c in commands(h) if c[2] == "site5"] == []
    assert by_root["site4-c1-up"].status != "held"


def test_a_ticket_is_released_to_the_field_once(make: Callable[..., Harness]) -> None:
    h = make(crews=2, travel_min=60)
    h.send(0, *FIBRE_CUT)
    h.run(until=30 * 60)  # released, the crew on its way
    (t,) = h.oc.workforce.tickets
    first = t.released
    h.oc.workforce.release(t.incident, "again")  # the NOC sends it once more
    h.run(until=2 * H)
    assert t.released == first
    assert len([n for _, n in t.notes if n.startswith("released")]) == 1
    assert "released: again" not in [n for _, n in t.notes]
    assert t.truck_rolls == 1


def test_a_ticket_opens_with_its_incidents_severity_and_a_history_line(
        make: Callable[..., Harness]) -> None:
    h = make(crews=1)
    h.send(0, *FIBRE_CUT)
    h.run(until=1000)
    (t,) = h.oc.workforce.tickets
    inc = t.incident
    assert (t.severity, inc.ticket_id) == (inc.severity, t.id)
    assert inc.severity == "critical"
    assert t.history[0] == (t.created, "acknowledged", f"opened for incident {inc.id}")
    # the workforce finds an incident's ticket by it, and none for an incident without one
    status = t.status
    h.oc.workforce.incident_cleared(dataclasses.replace(inc, ticket_id=0))
    assert (t.status, t.resolved) == (status, None)


def test_a_switch_to_standby_restores_service_and_queues_the_failed_unit(
        make: Callable[..., Harness]) -> None:
    """An element with a standby unit fails: the NOC switches over; the alarms clear, the
    ticket is resolved as switched to standby, and a crew repairs the failed unit."""
    h = make(crews=1, travel_min=60, repair_min=30,
             automation={"switch_standby": True, "verify": 900})
    h.oc.workforce.has_standby = lambda target: target == "site5"
    h.send(0, *SITE5_DEAD)
    h.send(300, *SITE5_DEAD, cleared=True)  # the standby took over
    h.run(until=400)
    (t,) = h.oc.workforce.tickets
    assert (t.status, t.resolution) == ("resolved", "switched to standby")  # crew on its way
    h.run(until=10 * H)
    assert [c[3] for c in commands(h)][:1] == ["switch_standby"]
    assert (t.switchovers, t.restarts, t.unit_repair) == (1, 0, True)
    assert t.resolution == "switched to standby, unit repaired" and t.remote == ""
    assert t.truck_rolls == 1  # the failed unit, after service was back
    assert (300.0, "restored on the standby; failed unit queued for repair") in t.notes
    assert (300.0, "crew 1 dispatched to repair the failed unit") in t.notes
    assert t.history[-1] == (300.0 + H + 1800, "closed", "switched to standby, unit repaired")
