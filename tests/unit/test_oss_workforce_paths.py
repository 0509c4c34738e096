"""Every path a ticket can take through the workforce, with its times and reasons: remote
actions in turn, the guard's boundary, clearing and merging at each stage (before release,
queued, backordered, with a reserved part, during a remote action), and the random stream
crews draw from. The harness correlates in 60 s and the NOC acknowledges at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from oss_harness import FIBRE_CUT, SITE5_DEAD, Harness, harness_factory

from twin.kernel import Sim
from twin.messages import RepairCommand

H = 3600.0
CRASH5 = [*SITE5_DEAD, ("site5", "softwareError")]
DEPOT5 = ("region2", "site_router")  # site5's region depot and element type
LINK_LOS = [("site1", "lossOfSignal", "site1-site2"), ("site3", "lossOfSignal", "site2-site3")]


def commands(h: Harness) -> list[tuple[float, str, str]]:
    return [(t, m.target, m.action) for t, m in h.log if isinstance(m, RepairCommand)]


def spare_events(h: Harness) -> list[tuple[float, str, int, int]]:
    """(time, event, ticket, on hand) of the spare-parts log so far."""
    _, staged, rows = h.oc.workforce.spares.log.unflushed()
    out = [r for t in [*staged, *([rows] if rows is not None else [])] for r in t.to_pylist()]
    return [(r["t"], r["event"], r["ticket_id"], r["on_hand"]) for r in out]


@pytest.fixture
def make(make_sim: Callable[..., Sim]) -> Callable[..., Harness]:
    harness = harness_factory(make_sim)

    def build(crews: int = 1, travel_min: float = 60, **oss: Any) -> Harness:
        return harness(crews={"count": crews, "travel_mean_min": travel_min,
                              "repair_mean_min": 30, "repair_dist": "deterministic",
                              "travel_dist": "deterministic", **oss.pop("crew_extra", {})},
                       **oss)
    return build


def test_a_switchover_then_a_restart_then_a_crew_each_stamped(
        make: Callable[..., Harness]) -> None:
    """Neither remote action helps: the switchover's verify, the restart's, then a crew.
    Work on the ticket started with the first action and every step is in its history."""
    h = make(automation={"verify": 900, "switch_standby": True})
    h.oc.workforce.has_standby = lambda target: target == "site5"
    h.send(0, *CRASH5)
    h.send(9000, *CRASH5, cleared=True)
    h.run(until=10 * H)
    (t,) = h.oc.workforce.tickets
    assert commands(h) == [(60.0, "site5", "switch_standby"), (960.0, "site5", "restart"),
                           (1860.0 + H + 1800, "site5", "replace")]
    assert t.history == [
        (60.0, "acknowledged", "opened for incident 1"),
        (60.0, "inProgress", "switch to standby"),
        (960.0, "inProgress", "remote restart"),
        (1860.0, "inProgress", "crew 1 dispatched"),
        (9000.0, "resolved", "alarms cleared"),
        (9000.0, "closed", "repaired"),
    ]
    assert (960.0, "switchover did not help") in t.notes
    assert (1860.0, "restart did not help") in t.notes
    assert (t.switchovers, t.restarts, t.truck_rolls) == (1, 1, 1)
    assert (t.in_progress, t.resolved, t.closed) == (60.0, 9000.0, 9000.0)


def test_a_cut_link_with_a_protection_path_is_switched_over(
        make: Callable[..., Harness]) -> None:
    h = make(automation={"verify": 900, "switch_standby": True})
    h.oc.workforce.has_standby = lambda target: target == "site1-site2"
    h.send(0, *FIBRE_CUT)
    h.send(300, *FIBRE_CUT, cleared=True)
    h.run(until=400)
    (t,) = h.oc.workforce.tickets
    assert commands(h) == [(60.0, "site1-site2", "switch_standby")]
    assert (t.status, t.resolution, t.switchovers) == ("resolved", "switched to standby", 1)


@pytest.mark.parametrize(("switch_standby", "standby"), [(False, "site5"), (True, "")])
def test_no_switchover_when_off_or_without_a_standby(
        make: Callable[..., Harness], switch_standby: bool, standby: str) -> None:
    h = make(automation={"verify": 900, "switch_standby": switch_standby, "restart": "never"})
    h.oc.workforce.has_standby = lambda target: target == standby
    h.send(0, *SITE5_DEAD)
    h.run(until=2 * H)
    (t,) = h.oc.workforce.tickets
    assert commands(h)[0] == (60.0 + H + 1800, "site5", "replace")
    assert (t.switchovers, t.restarts) == (0, 0)


def test_a_second_switchover_waits_for_the_guard(make: Callable[..., Harness]) -> None:
    h = make(automation={"verify": 300, "guard": 1000, "switch_standby": True,
                         "restart": "never"}, crews=2, travel_min=600)
    h.oc.workforce.has_standby = lambda target: target == "site5"
    h.send(0, *SITE5_DEAD)
    h.send(200, *SITE5_DEAD, cleared=True)  # the standby took over; a crew repairs the unit
    h.send(400, *SITE5_DEAD)  # the standby fails too, 400 s after the switchover: a crew
    h.run(until=10 * H)
    first, second = h.oc.workforce.tickets
    assert (first.switchovers, second.switchovers) == (1, 0)
    assert second.truck_rolls == 1 and second.history[1][2] == "crew 2 dispatched"


@pytest.mark.parametrize(("again", "restarted"), [(1000.0, True), (999.0, False)])
def test_the_restart_guard_counts_from_the_last_restart(
        make: Callable[..., Harness], again: float, restarted: bool) -> None:
    """Guard 1000 s: a crash released 1000 s after the last restart is restarted again,
    one released 999 s after it goes to a crew."""
    h = make(automation={"verify": 100, "guard": 1000, "switch_standby": False}, crews=2)
    h.send(0, *CRASH5)
    h.send(100, *CRASH5, cleared=True)  # restarted at 60: fixed
    h.send(again, *CRASH5)  # released 60 s later, as the first
    h.run(until=again + 120)
    first, second = h.oc.workforce.tickets
    assert first.restarts == 1
    assert second.restarts == int(restarted)
    assert (second.status, second.history[1][2]) == (
        ("inProgress", "remote restart") if restarted else ("inProgress", "crew 1 dispatched"))


def test_restart_never_sends_a_crew_to_a_crashed_element(make: Callable[..., Harness]) -> None:
    h = make(automation={"restart": "never", "switch_standby": False})
    h.send(0, *CRASH5)
    h.run(until=2 * H)
    (t,) = h.oc.workforce.tickets
    assert [c[2] for c in commands(h)] == ["replace"]
    assert (t.restarts, t.truck_rolls) == (0, 1)


def test_cleared_before_the_noc_released_it(make: Callable[..., Harness]) -> None:
    h = make(noc={"operators": 1, "triage_mean_s": 600, "triage_dist": "deterministic"})
    h.send(0, *SITE5_DEAD)
    h.send(300, *SITE5_DEAD, cleared=True)
    h.run(until=2 * H)
    (t,) = h.oc.workforce.tickets
    assert t.released is None and commands(h) == []
    assert t.history[1:] == [(300.0, "resolved", "alarms cleared"),
                             (300.0, "closed", "cleared before dispatch")]
    assert (t.resolution, t.closed) == ("cleared before dispatch", 300.0)


def test_cleared_while_queued_gives_the_reserved_part_back(make: Callable[..., Harness]) -> None:
    h = make(spares={"enabled": True, "stock": {"site_router": 1}, "lead_time": "3h"},
             automation={"restart": "never", "switch_standby": False})
    h.send(0, ("site2", "heartbeatFailure"), ("site1", "lossOfSignal", "site1-site2"))
    h.send(0, *SITE5_DEAD)  # waits with site5's unit reserved: the only crew is busy
    h.send(600, *SITE5_DEAD, cleared=True)
    h.run(until=700)
    busy, waiting = sorted(h.oc.workforce.tickets, key=lambda x: x.root != "site2")
    assert busy.on_site
    assert waiting.root == "site5" and h.oc.workforce.waiting == []
    assert (waiting.queued, waiting.part, waiting.truck_rolls) == (False, None, 0)
    assert waiting.history[-1] == (600.0, "closed", "cleared before dispatch")
    assert (600.0, "returned", waiting.id, 0) in spare_events(h)
    assert h.oc.workforce.spares.on_hand[DEPOT5] == 1


def test_cleared_while_backordered_leaves_no_pending_part(make: Callable[..., Harness]) -> None:
    h = make(spares={"enabled": True, "stock": {"site_router": 0}, "lead_time": "3h"},
             automation={"restart": "never", "switch_standby": False})
    h.send(0, *SITE5_DEAD)
    h.send(H, *SITE5_DEAD, cleared=True)
    h.run(until=5 * H)
    (t,) = h.oc.workforce.tickets
    assert (t.part_pending, t.part, t.resolution) == (None, None, "cleared before dispatch")
    assert (H, "cancelled", t.id, 0) in spare_events(h)


# --- merged incidents: the ticket is cancelled whatever it was doing ----------------------


def merge(h: Harness, t: Any, into: int = 99) -> None:
    t.incident.merged_into = into
    h.oc.workforce.incident_merged(t.incident)


def test_a_merged_ticket_leaves_the_queue_and_stays_cancelled(
        make: Callable[..., Harness]) -> None:
    h = make(automation={"restart": "never", "switch_standby": False},
             tickets={"escalate_at": [0.5]})
    h.send(0, ("site2", "heartbeatFailure"), ("site1", "lossOfSignal", "site1-site2"))
    h.send(0, *SITE5_DEAD)  # queued behind site2
    h.run(until=100)
    t = next(x for x in h.oc.workforce.tickets if x.root == "site5")
    assert t.queued
    merge(h, t)
    assert h.oc.workforce.waiting == [] and t.queued is False
    assert (t.status, t.closed, t.resolution) == ("cancelled", 100.0, "merged into incident 99")
    assert t.history[-1] == (100.0, "cancelled", "merged into incident 99")
    h.oc.workforce.incident_cleared(t.incident)  # its alarms clear later: still cancelled
    h.run(until=10 * H)  # past half the Critical target
    assert (t.status, t.resolved, t.escalation) == ("cancelled", None, 0)
    assert [c[1] for c in commands(h)] == ["site2"]  # no crew for the cancelled ticket


def test_a_merged_backorder_is_cancelled(make: Callable[..., Harness]) -> None:
    h = make(spares={"enabled": True, "stock": {"site_router": 0}, "lead_time": "3h"},
             automation={"restart": "never", "switch_standby": False})
    h.send(0, *SITE5_DEAD)
    h.run(until=100)
    (t,) = h.oc.workforce.tickets
    merge(h, t)
    assert t.part_pending is None
    assert h.oc.workforce.spares.backorders[DEPOT5] == []
    assert (100.0, "cancelled", t.id, 0) in spare_events(h)
    h.run(until=5 * H)  # the unit ordered for it goes on the shelf, nobody is sent
    assert h.oc.workforce.spares.on_hand[DEPOT5] == 1 and commands(h) == []


def test_a_merged_ticket_gives_back_its_part_unless_on_site(
        make: Callable[..., Harness]) -> None:
    h = make(spares={"enabled": True, "stock": {"site_router": 1}, "lead_time": "3h"},
             automation={"restart": "never", "switch_standby": False})
    h.send(0, ("site2", "heartbeatFailure"), ("site1", "lossOfSignal", "site1-site2"))
    h.send(0, *SITE5_DEAD)
    h.run(until=100)
    by_root = {t.root: t for t in h.oc.workforce.tickets}
    queued, travelling = by_root["site5"], by_root["site2"]
    assert queued.part == DEPOT5 and travelling.on_site
    merge(h, queued)
    assert queued.part is None and (100.0, "returned", queued.id, 0) in spare_events(h)
    assert h.oc.workforce.spares.on_hand[DEPOT5] == 1
    part = travelling.part
    merge(h, travelling)  # the crew has it: it comes back when the crew does
    assert travelling.part == part
    h.run(until=H + 61)
    assert [e[:3] for e in spare_events(h) if e[2] == travelling.id and e[1] == "returned"] == (
        [] if part is None else [(60.0 + H, "returned", travelling.id)])


def test_a_merge_during_a_restart_sends_no_crew(make: Callable[..., Harness]) -> None:
    h = make(automation={"verify": 900, "switch_standby": False})
    h.send(0, *CRASH5)
    h.run(until=100)
    (t,) = h.oc.workforce.tickets
    assert t.remote == "restart"
    merge(h, t)
    h.run(until=10 * H)
    assert [c[2] for c in commands(h)] == ["restart"] and t.truck_rolls == 0


# --- held tickets, escalation notes, the random stream --------------------------------------


def test_held_tickets_close_with_what_ended_the_hold(make: Callable[..., Harness]) -> None:
    h = make()
    h.oc.workforce.on_maintenance = lambda target: target == "site5"
    h.send(0, *SITE5_DEAD)
    h.send(H, *SITE5_DEAD, cleared=True)
    h.run(until=2 * H)
    (t,) = h.oc.workforce.tickets
    assert t.history[1:] == [(60.0, "held", "planned maintenance overran its window"),
                             (H, "resolved", "alarms cleared"),
                             (H, "closed", "maintenance completed")]


def test_escalation_notes_name_the_level_and_the_share(make: Callable[..., Harness]) -> None:
    h = make(tickets={"escalate_at": [0.5, 1.0]}, travel_min=5 * 60)
    h.send(0, *FIBRE_CUT)  # Critical: 4 h target
    h.run(until=5 * H)
    (t,) = h.oc.workforce.tickets
    assert [n for n in t.notes if n[1].startswith("escalated")] == [
        (60.0 + 2 * H, "escalated to level 1: 50% of the Critical target"),
        (60.0 + 4 * H, "escalated to level 2: 100% of the Critical target")]


@pytest.mark.parametrize("travel_min", [60.0, 0.0])
def test_crews_draw_from_the_workforce_stream(make_sim: Callable[..., Sim],
                                              travel_min: float) -> None:
    """Travel and repair times come from the stream ``oss.workforce`` alone (common random
    numbers: other layers' draws do not move them); a mean of zero takes no draw."""
    h = harness_factory(make_sim)(crews={"count": 1, "travel_mean_min": travel_min,
                                         "repair_mean_min": 30},
                                  automation={"restart": "never", "switch_standby": False})
    h.send(0, *SITE5_DEAD)
    h.run(until=20 * H)
    (t,) = h.oc.workforce.tickets
    ref = make_sim(horizon=86_400.0).rng.stream("oss.workforce")
    travel = float(ref.exponential(travel_min * 60)) if travel_min else 0.0
    assert (t.travel_s, t.repair_s) == (travel, float(ref.exponential(1800.0)))
    assert not np.isclose(t.repair_s, 1800.0)


# --- on site: no fault found, cleared during the repair, the part used --------------------


def test_cleared_while_the_crew_travels_is_no_fault_found(make: Callable[..., Harness]) -> None:
    h = make(automation={"restart": "never", "switch_standby": False})
    h.send(0, *SITE5_DEAD)
    h.send(1800, *SITE5_DEAD, cleared=True)
    h.run(until=3 * H)
    (t,) = h.oc.workforce.tickets
    assert commands(h) == []
    assert t.history[-2:] == [(1800.0, "resolved", "alarms cleared"),
                              (60.0 + H, "closed", "no fault found on site")]
    assert (t.on_site, t.repaired, h.oc.workforce.crews[0].busy) == (False, None, False)


def test_cleared_during_the_repair_closes_as_repaired_with_the_part_used(
        make: Callable[..., Harness]) -> None:
    h = make(spares={"enabled": True, "stock": {"site_router": 1}, "lead_time": "3h"},
             automation={"restart": "never", "switch_standby": False})
    h.send(0, *SITE5_DEAD)
    h.send(60 + H + 600, *SITE5_DEAD, cleared=True)  # the crew is repairing
    h.run(until=3 * H)
    (t,) = h.oc.workforce.tickets
    done = 60.0 + H + 1800
    assert commands(h) == [(done, "site5", "replace")]
    assert t.history[-2:] == [(60.0 + H + 600, "resolved", "alarms cleared"),
                              (done, "closed", "repaired")]
    assert t.part is None
    assert [e[:3] for e in spare_events(h)] == [(60.0, "reserved", t.id), (done, "used", t.id),
                                               (done, "ordered", t.id)]


def test_a_crew_adds_up_its_time_on_every_job(make: Callable[..., Harness]) -> None:
    h = make(automation={"restart": "never", "switch_standby": False})
    h.send(0, *SITE5_DEAD)
    h.send(0, *FIBRE_CUT)
    h.run(until=10 * H)
    assert len(commands(h)) == 2
    assert h.oc.workforce.crews[0].busy_s == 2 * (H + 1800)
    assert all(t.queued is False for t in h.oc.workforce.tickets)


# --- spare parts: the pending ticket's history ----------------------------------------------


def test_a_backordered_ticket_records_its_wait_and_the_arrival(
        make: Callable[..., Harness]) -> None:
    """A restart did not help, so work had started: the part's arrival puts the ticket back
    in progress. The only crew is away on a cut fibre; the fault clears while it waits."""
    h = make(spares={"enabled": True, "stock": {"site_router": 0}, "lead_time": "3h"},
             automation={"restart": "always", "switch_standby": False, "verify": 900},
             travel_min=5 * 60)
    h.send(0, *FIBRE_CUT)
    h.send(0, *SITE5_DEAD)
    arrived = 960.0 + 3 * H
    h.send(4 * H, *SITE5_DEAD, cleared=True)
    h.run(until=arrived + 1)
    t = next(x for x in h.oc.workforce.tickets if x.root == "site5")
    assert t.history[2:] == [(960.0, "pending", "awaiting spare part site_router (depot region2)"),
                             (arrived, "inProgress", "spare part arrived")]
    assert (t.queued, t.part, t.part_wait_s) == (True, DEPOT5, 3 * H)
    h.run(until=10 * H)
    assert t.history[-1] == (4 * H, "closed", "cleared before dispatch")
    assert h.oc.workforce.waiting == [] and t.truck_rolls == 0
    assert [c[1:] for c in commands(h)] == [("site5", "restart"), ("site1-site2", "replace")]


# --- who is sent: regions and skills nobody covers, shifts, the policy's clock --------------


@pytest.mark.parametrize("team", [{"region": "region1"}, {"skills": ["radio"]}])
def test_a_ticket_nobody_covers_goes_to_any_crew(make: Callable[..., Harness],
                                                 team: dict[str, Any]) -> None:
    """site5 is in region2 and needs transmission skills: no team has them, so the crew
    there is goes."""
    h = make(crews=1, automation={"restart": "never", "switch_standby": False},
             crew_extra={"teams": [{"count": 1, **team}]})
    h.send(0, *SITE5_DEAD)
    h.run(until=2 * H)
    assert commands(h) == [(60.0 + H + 1800, "site5", "replace")]


def test_a_shift_start_dispatches_the_waiting_tickets(make: Callable[..., Harness]) -> None:
    h = make(automation={"restart": "never", "switch_standby": False}, travel_min=0,
             tickets={"escalate_at": []},
             crew_extra={"teams": [{"count": 1, "shifts": [{"hours": [8, 12]}]},
                                   {"count": 1, "shifts": [{"hours": [14, 18]}]}]})
    h.send(12.5 * H, *SITE5_DEAD)
    h.run(until=20 * H)
    (t,) = h.oc.workforce.tickets
    assert (t.crew, t.in_progress) == (2, 14 * H)


def test_the_policy_ranks_with_the_current_time(make: Callable[..., Harness]) -> None:
    seen: list[tuple[int, float]] = []

    class Recording:
        name = "recording"

        def rank(self, ticket: Any, now: float) -> tuple[float, ...]:
            seen.append((ticket.id, now))
            return (ticket.id,)

    h = make(automation={"restart": "never", "switch_standby": False})
    h.oc.workforce.policy = Recording()
    h.send(0, *SITE5_DEAD)
    h.send(100, *FIBRE_CUT)
    h.run(until=10 * H)
    assert seen[0] == (1, 60.0) and (2, 60.0 + H + 1800) in seen


# --- travel from a depot, or from the centre of a region ----------------------------------


def travel_from(h: Harness, base: tuple[float, float] | None) -> float:
    from twin.oss.crews import drive_s, location_of

    site = location_of("site5", h.oc.inventory)
    assert base is not None and site is not None
    return drive_s(h.oc.workforce.crew_spec, base, site)


@pytest.mark.parametrize(("team", "bases", "origin"), [
    ("*", {"region2": (3.0, 4.0)}, "base"),  # the ticket's region's depot
    ("*", {}, "region2"),  # no depot: the centre of the ticket's region
    ("region1", {}, "region1"),  # a regional crew from the centre of its own region
])
def test_distance_travel_starts_where_the_crew_is_based(
        make: Callable[..., Harness], team: str, bases: dict[str, Any], origin: str) -> None:
    from twin.oss.crews import region_centre

    h = make(automation={"restart": "never", "switch_standby": False},
             crew_extra={"travel": "distance", "bases": bases,
                         "teams": [{"count": 1, "region": team}]})
    h.send(0, *SITE5_DEAD)
    h.run(until=10 * H)
    (t,) = h.oc.workforce.tickets
    base = bases["region2"] if origin == "base" else region_centre(origin, h.oc.inventory)
    assert t.travel_s == pytest.approx(travel_from(h, base))
    assert t.travel_s != pytest.approx(travel_from(h, region_centre("*", h.oc.inventory)))



def test_a_ticket_merged_before_the_noc_released_it_is_never_released(
        make: Callable[..., Harness]) -> None:
    h = make(noc={"operators": 1, "triage_mean_s": 600, "triage_dist": "deterministic"})
    h.send(0, *SITE5_DEAD)
    h.run(until=100)
    (t,) = h.oc.workforce.tickets
    merge(h, t)
    h.run(until=3 * H)  # the NOC's triage ends at 660
    assert (t.status, t.released, t.truck_rolls, commands(h)) == ("cancelled", None, 0, [])


def test_the_ticket_tables_hold_every_status_change_and_note(
        make: Callable[..., Harness]) -> None:
    h = make(automation={"verify": 900, "switch_standby": False})
    h.send(0, *CRASH5)
    h.send(0, *FIBRE_CUT)
    h.send(3 * H, *FIBRE_CUT, cleared=True)
    h.run(until=4 * H)
    h.oc.finish()
    h.sim.records.close()
    tables = h.sim.records.directory
    tickets = h.oc.workforce.tickets
    status = pq.read_table(tables / "ticket_status.parquet").to_pylist()
    assert [(r["ticket_id"], r["t"], r["status"], r["reason"]) for r in status] == [
        (t.id, *row) for t in tickets for row in t.history]
    notes = pq.read_table(tables / "ticket_notes.parquet").to_pylist()
    assert [(r["ticket_id"], r["t"], r["text"]) for r in notes] == [
        (t.id, *row) for t in tickets for row in t.notes]
    assert len(status) > 6 and len(notes) > 3
