"""One mains failure, one incident: the power alarms of a power domain and the elements that go
dark there when their batteries run out are grouped under one incident rooted at the domain,
whose shadow grows as they go dark; its ticket is held for the utility."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from oss_harness import SITE2_DEAD, Harness, harness_factory

from twin.kernel import Sim
from twin.messages import ImpactQuery, RepairCommand

H = 3600.0
MAINS2 = [("site2", "powerProblem"), ("site2-c1", "powerProblem"),
          ("site2-c2", "powerProblem")]
CELLS_DARK = [("site2-c1", "heartbeatFailure"), ("site2-c2", "heartbeatFailure")]


@pytest.fixture
def make(make_sim: Callable[..., Sim]) -> Callable[..., Harness]:
    return harness_factory(make_sim)


def test_a_mains_failure_is_one_incident_however_many_go_dark(
        make: Callable[..., Harness]) -> None:
    h = make()
    h.send(0, *MAINS2)  # mains lost at site2: everything there on battery
    h.send(2 * H, *CELLS_DARK)  # the cells' batteries run out first...
    h.send(2.5 * H, *SITE2_DEAD)  # ...then the site router's: site3 is cut off too
    h.send(6 * H, *MAINS2, *CELLS_DARK, *SITE2_DEAD, cleared=True)  # power back
    h.run(until=8 * H)
    (inc,) = h.incidents
    assert (inc.root, inc.root_kind, inc.created) == ("site2", "power", 60.0)
    assert inc.cells == {"site2-c1", "site2-c2", "site3-c1", "site3-c2"}
    assert inc.cleared == 6 * H
    assert {(a.obj, a.cause) for a in inc.alarms} >= {*MAINS2, *CELLS_DARK,
                                                     ("site2", "heartbeatFailure")}
    (t,) = h.oc.workforce.tickets
    assert [s for _, s, _ in t.history] == ["acknowledged", "held", "resolved", "closed"]
    assert (t.resolution, t.truck_rolls) == ("power restored", 0)
    assert not h.of_type(RepairCommand)
    # asked again each time the shadow grew: on battery, cells dark, router dark
    asked = [set(q.cells) for q in h.of_type(ImpactQuery)]
    assert asked == [set(), {"site2-c1", "site2-c2"},
                     {"site2-c1", "site2-c2", "site3-c1", "site3-c2"}]


def test_two_domains_are_two_incidents(make: Callable[..., Harness]) -> None:
    h = make()
    h.send(0, *MAINS2, ("site5", "powerProblem"))
    h.send(2 * H, *CELLS_DARK, ("site5", "heartbeatFailure"))
    h.run(until=3 * H)
    assert sorted((i.root, i.root_kind) for i in h.incidents) == [("site2", "power"),
                                                                 ("site5", "power")]
    by_root = {i.root: i for i in h.incidents}
    assert by_root["site5"].cells == {"site5-c1", "site5-c2", "site6-c1", "site6-c2"}
    assert by_root["site2"].cells == {"site2-c1", "site2-c2"}


def test_a_dead_element_without_a_mains_alarm_is_its_own_incident(
        make: Callable[..., Harness]) -> None:
    h = make()
    h.send(0, *MAINS2)
    h.send(H, ("site5", "heartbeatFailure"))  # another domain, no power alarm: hardware
    h.run(until=2 * H)
    assert sorted((i.root, i.root_kind) for i in h.incidents) == [("site2", "power"),
                                                                 ("site5", "element")]


def test_cells_dark_when_the_mains_alarm_arrives_are_asked_about_once(
        make: Callable[..., Harness]) -> None:
    h = make()
    h.send(0, *MAINS2, *CELLS_DARK)  # one correlation pass: mains lost, cells already dark
    h.run(until=H)
    (inc,) = h.incidents
    assert inc.cells == {"site2-c1", "site2-c2"}
    assert [set(q.cells) for q in h.of_type(ImpactQuery)] == [{"site2-c1", "site2-c2"}]
