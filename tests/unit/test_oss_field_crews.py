"""The field workforce in depth: shifts and call-out, skills, travel from site positions,
spare parts with a reorder lead time. The harness runs on Monday 2026-01-05 from 00:00 UTC;
correlation takes 60 s, the NOC acknowledges at once, repairs take 30 min."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from oss_harness import SITE5_DEAD, Harness, harness_factory

from twin.kernel import Sim
from twin.messages import RepairCommand
from twin.oss.crews import Crew
from twin.scenario.schema import ShiftSpec

H = 3600.0
CELL_DEAD = [("site4-c1", "heartbeatFailure"), ("site4", "lossOfSignal", "site4-c1-up")]
DAY_SHIFT = {"hours": [8, 20]}


def replaced(h: Harness) -> dict[str, float]:
    return {m.target: t for t, m in h.log if isinstance(m, RepairCommand)
            and m.action == "replace"}


@pytest.fixture
def make(make_sim: Callable[..., Sim]) -> Callable[..., Harness]:
    harness = harness_factory(make_sim)

    def build(teams: list[dict[str, Any]] | None = None, **crews: Any) -> Harness:
        spares = crews.pop("spares", None)
        extra = {"spares": spares} if spares else {}
        return harness(crews={"count": 1, "travel_mean_min": 0, "repair_mean_min": 30,
                              "repair_dist": "deterministic", "travel_dist": "deterministic",
                              "teams": teams or [], **crews}, **extra)
    return build


# --- shifts -------------------------------------------------------------------------------


def test_a_ticket_at_night_waits_for_the_day_shift(make: Callable[..., Harness]) -> None:
    h = make([{"count": 1, "shifts": [DAY_SHIFT]}])
    h.send(2 * H, *SITE5_DEAD)
    h.run(until=12 * H)
    t = h.oc.workforce.tickets[0]
    assert t.created == 2 * H + 60
    assert replaced(h) == {"site5": pytest.approx(8 * H + 30 * 60)}  # from 08:00 on


def test_the_on_call_crew_comes_at_night_after_its_call_out(
        make: Callable[..., Harness]) -> None:
    h = make([{"count": 1, "shifts": [DAY_SHIFT]},
              {"count": 1, "shifts": [{"hours": [20, 8]}], "call_out_min": 45}])
    h.send(2 * H, *SITE5_DEAD)
    h.run(until=12 * H)
    t = h.oc.workforce.tickets[0]
    assert t.crew == 2 and (2 * H + 60, "crew 2 called out") in t.notes
    assert replaced(h) == {"site5": pytest.approx(2 * H + 60 + 45 * 60 + 30 * 60)}


def test_a_job_started_on_shift_is_finished_after_it(make: Callable[..., Harness]) -> None:
    h = make([{"count": 1, "shifts": [DAY_SHIFT]}], repair_mean_min=120)
    h.send(19 * H, *SITE5_DEAD)
    h.run(until=24 * H)
    assert replaced(h) == {"site5": pytest.approx(19 * H + 60 + 2 * H)}  # overtime to 21:01


def test_duty_time_and_weekday_shifts(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(horizon=7 * 86_400.0)  # Monday to Sunday
    cal = sim.calendar
    weekdays = Crew(1, "*", shifts=(ShiftSpec.model_validate(
        {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": [8, 20]}),))
    nights = Crew(2, "*", shifts=(ShiftSpec.model_validate({"hours": [20, 8]}),))
    assert weekdays.duty_s(7 * 86_400.0, cal) == 5 * 12 * H
    assert nights.duty_s(7 * 86_400.0, cal) == 7 * 12 * H  # 00–08 Monday counts (Sunday's)
    assert weekdays.on_duty(8 * H, cal) and not weekdays.on_duty(5 * 86_400 + 9 * H, cal)
    assert nights.on_duty(1 * H, cal) and nights.on_duty(23 * H, cal)
    assert not nights.on_duty(12 * H, cal)
    assert weekdays.shift_starts(7 * 86_400.0, cal)[:2] == [8 * H, 86_400 + 8 * H]


def test_utilisation_counts_duty_time_only(make: Callable[..., Harness]) -> None:
    h = make([{"count": 2, "shifts": [DAY_SHIFT]}])
    assert h.oc.workforce.duty_s(86_400.0) == 2 * 12 * H
    h.send(9 * H, *SITE5_DEAD)
    h.run(until=86_400.0)
    assert h.oc.workforce.busy_s == pytest.approx(30 * 60)


# --- skills -------------------------------------------------------------------------------


def test_tickets_go_to_crews_with_the_skill(make: Callable[..., Harness]) -> None:
    h = make([{"count": 1, "skills": ["radio"]}, {"count": 1, "skills": ["transmission"]}])
    h.send(0, *CELL_DEAD)
    h.send(0, *SITE5_DEAD)
    h.run(until=4 * H)
    crew = {t.root: (t.crew, t.skill) for t in h.oc.workforce.tickets}
    assert crew == {"site4-c1": (1, "radio"), "site5": (2, "transmission")}


def test_a_ticket_waits_for_the_crew_with_its_skill(make: Callable[..., Harness]) -> None:
    h = make([{"count": 1, "skills": ["radio"]}, {"count": 1, "skills": ["transmission"]}],
             repair_mean_min=60)
    h.send(0, *SITE5_DEAD)
    h.send(600, ("site3", "heartbeatFailure"), ("site2", "lossOfSignal", "site2-site3"))
    h.run(until=6 * H)
    # the radio crew is free all along, but site3 waits for the transmission crew
    assert replaced(h) == {"site5": pytest.approx(60 + H),
                           "site3": pytest.approx(60 + 2 * H)}
    assert all(t.crew == 2 for t in h.oc.workforce.tickets)


# --- travel from positions ----------------------------------------------------------------


def test_travel_time_from_distance(make: Callable[..., Harness]) -> None:
    h = make(travel="distance", bases={"*": [1.0, -2.0]}, speed_kmh=40, road_factor=1.25,
             travel_overhead_min=5)
    h.send(0, *SITE5_DEAD)
    h.run(until=10 * H)
    x, y = h.topo.elements["site5"].location  # type: ignore[misc]
    want = math.hypot(x - 1.0, y + 2.0) * 1.25 / 40 * H + 5 * 60
    t = h.oc.workforce.tickets[0]
    assert t.travel_s == pytest.approx(want)
    assert replaced(h) == {"site5": pytest.approx(60 + want + 30 * 60)}


def test_travel_falls_back_to_the_draw_without_positions(make: Callable[..., Harness]) -> None:
    h = make(travel="distance", travel_mean_min=25)
    h.oc.inventory.elements["site5"] = h.oc.inventory.elements["site5"].__class__(
        **{**h.oc.inventory.elements["site5"].__dict__, "location": None})
    h.send(0, *SITE5_DEAD)
    h.run(until=10 * H)
    assert h.oc.workforce.tickets[0].travel_s == 25 * 60


def test_generated_sites_have_plausible_positions(make: Callable[..., Harness]) -> None:
    topo = make().topo
    sites = {e.site: e.location for e in topo.elements.values()}
    assert all(p is not None for p in sites.values())
    # neighbours on a chain are a few km apart (spacing 3 km × 0.5–1.5)
    for link in topo.links.values():
        a, b = topo.elements[link.a].location, topo.elements[link.b].location
        if topo.elements[link.a].type == topo.elements[link.b].type == "site_router":
            assert a is not None and b is not None
            assert 1.0 <= math.hypot(a[0] - b[0], a[1] - b[1]) <= 4.6


# --- spare parts --------------------------------------------------------------------------


def test_a_stockout_delays_the_repair_by_the_lead_time(make: Callable[..., Harness]) -> None:
    h = make(spares={"enabled": True, "stock": {"site_router": 0}, "lead_time": "3h"})
    h.send(0, *SITE5_DEAD)
    h.run(until=60 + 3 * H + 30 * 60 + 1)
    t = h.oc.workforce.tickets[0]
    assert [s for _, s, _ in t.history][:3] == ["acknowledged", "pending", "acknowledged"]
    assert "awaiting spare part site_router" in t.history[1][2]
    assert t.part_wait_s == pytest.approx(3 * H)
    assert replaced(h) == {"site5": pytest.approx(60 + 3 * H + 30 * 60)}
    sp = h.oc.workforce.spares
    assert sp.used == 1 and sp.stockouts == 1
    key = ("region2", "site_router")  # site5's region depot
    # the unit used is reordered: it arrives 3 h after the repair
    assert sp.on_hand[key] == 0 and sp.on_order[key] == 1
    h.run(until=60 + 6 * H + 30 * 60 + 1)
    assert sp.on_hand[key] == 1 and sp.on_order[key] == 0


def test_stock_on_hand_means_no_wait(make: Callable[..., Harness]) -> None:
    h = make(spares={"enabled": True, "stock": {"site_router": 1}, "lead_time": "3h",
                     "central": True}, count=2)
    h.send(0, *SITE5_DEAD)
    h.send(0, ("site2", "heartbeatFailure"), ("site1", "lossOfSignal", "site1-site2"))
    h.run(until=10 * H)
    by_root = {t.root: t for t in h.oc.workforce.tickets}
    waits = sorted(t.part_wait_s for t in by_root.values())
    assert waits == [0.0, pytest.approx(3 * H)]  # one unit on the shelf, one ordered
    assert replaced(h)["site2"] != replaced(h)["site5"]


def test_no_part_for_a_link_and_none_when_spares_are_off(make: Callable[..., Harness]) -> None:
    h = make(spares={"enabled": True, "default_stock": 0, "lead_time": "3h"})
    h.send(0, ("site1", "lossOfSignal", "site1-site2"), ("site2", "lossOfSignal", "site1-site2"))
    h.run(until=2 * H)
    assert replaced(h) == {"site1-site2": pytest.approx(60 + 30 * 60)}
    off = make()
    off.send(0, *SITE5_DEAD)
    off.run(until=2 * H)
    assert replaced(off) == {"site5": pytest.approx(60 + 30 * 60)}


def test_a_fault_that_clears_while_pending_cancels_the_backorder(
        make: Callable[..., Harness]) -> None:
    h = make(spares={"enabled": True, "stock": {"site_router": 0}, "lead_time": "3h"})
    h.send(0, *SITE5_DEAD)
    h.send(H, *SITE5_DEAD, cleared=True)
    h.run(until=10 * H)
    t = h.oc.workforce.tickets[0]
    assert t.resolution == "cleared before dispatch" and replaced(h) == {}
    sp = h.oc.workforce.spares
    assert sp.on_hand[("region2", "site_router")] == 1  # the unit ordered for it goes on the shelf
