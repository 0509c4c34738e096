"""The OSS driven by hand-made alarms: dedup, root-cause analysis, incidents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq
import pytest
from oss_harness import (
    CUT_CELLS,
    FIBRE_CUT,
    SITE2_DEAD,
    SITE5_DEAD,
    Harness,
    harness_factory,
)

from twin.kernel import Sim
from twin.messages import AlarmNotification, ImpactQuery, RepairCommand, ServiceOutageReport
from twin.network import build_topology
from twin.oss.performance import EMS as PM_EMS
from twin.scenario.schema import NetworkSpec


@pytest.fixture
def harness(make_sim: Callable[..., Sim]) -> Callable[..., Harness]:
    return harness_factory(make_sim)


def roles(inc: Any) -> dict[tuple[str, str, str], str]:
    return {(a.obj, a.note.resource, a.cause): a.role for a in inc.alarms}


def test_fibre_cut_gives_one_incident_rooted_at_the_link(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(100, *FIBRE_CUT[:3])
    h.send(105, *FIBRE_CUT[3:])
    h.run(until=159)
    assert h.incidents == []  # still inside the correlation window
    h.run(until=200)
    assert len(h.incidents) == 1
    inc = h.incidents[0]
    assert (inc.root, inc.root_kind) == ("site1-site2", "link")
    assert inc.cells == CUT_CELLS
    assert inc.first_alarm == 100
    assert inc.created == 160
    r = roles(inc)
    assert len(r) == len(FIBRE_CUT)
    assert r[("site1", "site1-site2", "lossOfSignal")] == "root"
    assert r[("site2", "site1-site2", "lossOfSignal")] == "root"
    symptoms = {k[0] for k, v in r.items() if v == "symptom"}
    assert symptoms == {"site2", "site3"} | CUT_CELLS
    assert all(a.incident_id == inc.id for a in inc.alarms)
    assert inc.ticket_id == 1


def test_dead_element_with_los_on_neighbours_is_the_root(
        harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(50, *SITE2_DEAD[1:4])  # the neighbours' LOS arrive before the heartbeat
    h.send(80, *SITE2_DEAD[:1], *SITE2_DEAD[4:])
    h.run(until=200)
    assert len(h.incidents) == 1
    inc = h.incidents[0]
    assert (inc.root, inc.root_kind) == ("site2", "element")
    assert inc.cells == CUT_CELLS
    r = roles(inc)
    assert r[("site2", "", "heartbeatFailure")] == "root"
    assert [k for k, v in r.items() if v == "root"] == [("site2", "", "heartbeatFailure")]
    assert r[("site1", "site1-site2", "lossOfSignal")] == "symptom"
    assert len(r) == len(inc.alarms) == len(SITE2_DEAD)  # each alarm attached once


def test_two_failures_in_one_window_give_two_incidents(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(10, *FIBRE_CUT, *SITE5_DEAD)
    h.run(until=200)
    by_root = {i.root: i for i in h.incidents}
    assert set(by_root) == {"site1-site2", "site5"}
    assert {a.obj for a in by_root["site5"].alarms} == {"site5", "site4", "site6", "site5-c1",
                                                        "site6-c2"}
    assert by_root["site5"].cells == {"site5-c1", "site5-c2", "site6-c1", "site6-c2"}


def test_late_symptom_joins_the_open_incident(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(10, *FIBRE_CUT[:-1])
    h.send(400, FIBRE_CUT[-1])  # arrives long after the incident opened
    h.run(until=600)
    assert len(h.incidents) == 1
    assert roles(h.incidents[0])[("site3-c2", "", "backhaulFailure")] == "symptom"
    # it joins an acknowledged incident: acknowledged with it, when it joined
    late = h.oc.alarms.all[-1]
    assert (late.obj, late.ack_user, late.acknowledged) == ("site3-c2", "noc-auto", 460.0)


def test_cut_on_a_ring_has_no_symptoms(harness: Callable[..., Harness]) -> None:
    h = harness(transport="ring")
    h.send(10, *FIBRE_CUT[:2])
    h.run(until=200)
    assert len(h.incidents) == 1
    inc = h.incidents[0]
    assert inc.root == "site1-site2"
    assert inc.cells == frozenset()  # the ring reroutes: no cell is affected


def test_unexplained_alarm_waits_then_becomes_its_own_incident(
        harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(0, ("site4-c1", "backhaulFailure"))  # nothing upstream is reported failing
    h.run(until=150)
    assert h.incidents == []
    h.run(until=400)
    assert len(h.incidents) == 1
    assert (h.incidents[0].root, h.incidents[0].root_kind) == ("site4-c1", "unknown")
    assert h.incidents[0].cells == {"site4-c1"}  # the cell itself is out
    assert h.incidents[0].created >= 180  # waited three correlation windows


def test_repeated_raise_is_deduplicated(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(10, *FIBRE_CUT)
    h.send(15, FIBRE_CUT[4], FIBRE_CUT[0])  # the EMS sends two alarms again
    h.send(300, FIBRE_CUT[4])  # and once more, after correlation
    h.run(until=400)
    alarms = h.oc.alarms
    assert alarms.raises == len(FIBRE_CUT) + 3
    assert len(alarms.all) == len(FIBRE_CUT)
    repeat = {(a.obj, a.cause): a.repeat_count for a in alarms.all}
    assert repeat[("site2-c1", "backhaulFailure")] == 3
    assert repeat[("site1", "lossOfSignal")] == 2
    assert repeat[("site3", "routingAdjacencyLost")] == 1
    assert len(h.incidents) == 1
    assert len(h.incidents[0].alarms) == len(FIBRE_CUT)


def test_raise_after_clear_is_a_new_alarm_and_orphan_clears_are_counted(
        harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(10, ("site4-c1", "backhaulFailure"))
    h.send(20, ("site4-c1", "backhaulFailure"), cleared=True)
    h.send(30, ("site4-c1", "backhaulFailure"))
    h.send(40, ("site6", "routingAdjacencyLost"), cleared=True)  # never raised
    h.run(until=50)
    alarms = h.oc.alarms
    assert [(a.id, a.raised, a.cleared) for a in alarms.all] == [(1, 10, 20), (2, 30, None)]
    assert alarms.orphan_clears == 1
    assert list(alarms.active) == ["site4-c1::backhaulFailure"]


def test_alarms_before_inventory_fail_loudly(harness: Callable[..., Harness]) -> None:
    h = harness(inventory=False)
    h.send(10, *FIBRE_CUT)
    with pytest.raises(RuntimeError,
                       match=r"^alarms arrived before the OSS inventory was discovered$"):
        h.run(until=200)


def test_cleared_cell_alarm_is_reported_as_a_measured_outage(
        harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(100, *FIBRE_CUT)
    h.send(1000, *FIBRE_CUT, cleared=True)
    h.run(until=1100)
    reports = h.of_type(ServiceOutageReport)
    assert {r.cell for r in reports} == CUT_CELLS  # cells only, not routers or ports
    assert {(r.start, r.end, r.incident_id) for r in reports} == {(100, 1000, 1)}
    inc = h.incidents[0]
    assert inc.cleared == 1000
    assert h.oc.correlator.open == {}


def test_finish_writes_alarm_incident_and_outage_tables(
        harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(100, *FIBRE_CUT)
    h.send(101, FIBRE_CUT[0])  # duplicate
    h.run(until=5000)
    h.oc.finish()  # still-active cell alarms become outages lasting to the horizon
    h.sim.records.close()
    tables = h.sim.records.directory
    alarms = pq.read_table(tables / "alarms.parquet").to_pylist()
    assert len(alarms) == len(FIBRE_CUT)
    assert {a["role"] for a in alarms} == {"root", "symptom"}
    assert max(a["repeat_count"] for a in alarms) == 2
    assert pq.read_table(tables / "alarms_raw.parquet").num_rows == len(FIBRE_CUT) + 1
    incidents = pq.read_table(tables / "incidents.parquet").to_pylist()
    assert [(i["root"], i["cells_affected"], i["alarms"]) for i in incidents] == [
        ("site1-site2", 4, len(FIBRE_CUT))]
    outages = pq.read_table(tables / "service_outages.parquet").to_pylist()
    assert {(o["cell"], o["end"]) for o in outages} == {(c, 86_400.0) for c in CUT_CELLS}
    assert len(h.of_type(RepairCommand)) == 1


def test_an_element_back_up_fails_again_as_a_new_incident(
        harness: Callable[..., Harness]) -> None:
    """A symptom whose clear was lost holds the old incident open; the element's next failure
    must still get an incident (and a ticket) of its own, not vanish into the old one."""
    h = harness()
    h.send(0, *SITE5_DEAD)
    h.send(3600, *[a for a in SITE5_DEAD if a[0] != "site6-c2"], cleared=True)  # one lost
    h.send(7200, *SITE5_DEAD[:3])  # site5 dies again
    h.run(until=9000)
    old, new = h.incidents
    assert old.cleared is None  # still held open by site6-c2's stale backhaul alarm
    assert (new.root, new.root_kind, new.created) == ("site5", "element", 7260.0)
    assert {a.cause for a in new.alarms} == {"heartbeatFailure", "lossOfSignal",
                                             "routingAdjacencyLost"}
    assert new.ticket_id and new.ticket_id != old.ticket_id


def test_a_symptom_joins_the_most_upstream_of_two_roots(
        harness: Callable[..., Harness]) -> None:
    """A fibre cut and, behind it, an element that lost its heartbeat in the same window: the
    cells behind both are cut off by either, and belong to the cut (the single failure that
    explains the most); the downstream element keeps only its own alarms."""
    h = harness()
    h.send(10, *FIBRE_CUT, ("site3", "heartbeatFailure"))
    h.run(until=200)
    by_root = {i.root: i for i in h.incidents}
    assert set(by_root) == {"site1-site2", "site3"}
    assert {(a.obj, a.cause) for a in by_root["site3"].alarms} == {
        ("site3", "heartbeatFailure"), ("site3", "routingAdjacencyLost")}
    cut = roles(by_root["site1-site2"])
    for cell in ("site3-c1", "site3-c2", "site2-c1", "site2-c2"):
        assert cut[(cell, "", "backhaulFailure")] == "symptom"


def test_a_silent_element_behind_two_dead_ones_hangs_on_the_most_upstream(
        harness: Callable[..., Harness]) -> None:
    """site1, site2 and site3 of one chain all lose their heartbeat: site2 and site3 may only
    be unreachable behind site1 (in-band management), so they are site1's symptoms, not
    site2's (which is itself behind site1)."""
    h = harness()
    h.send(10, ("site1", "heartbeatFailure"), ("site2", "heartbeatFailure"),
           ("site3", "heartbeatFailure"), ("site3-c1", "backhaulFailure"))
    h.run(until=200)
    assert [i.root for i in h.incidents] == ["site1"]
    r = roles(h.incidents[0])
    assert r == {("site1", "", "heartbeatFailure"): "root",
                 ("site2", "", "heartbeatFailure"): "symptom",
                 ("site3", "", "heartbeatFailure"): "symptom",
                 ("site3-c1", "", "backhaulFailure"): "symptom"}


RING_TWICE = [  # agg1-site1 and site2-site3 cut on the ring: site1 and site2 islanded
    ("agg1", "lossOfSignal", "agg1-site1"), ("site1", "lossOfSignal", "agg1-site1"),
    ("site2", "lossOfSignal", "site2-site3"), ("site3", "lossOfSignal", "site2-site3"),
    ("site1", "routingAdjacencyLost"), ("site2", "routingAdjacencyLost"),
    ("site1-c1", "backhaulFailure"), ("site1-c2", "backhaulFailure"),
    ("site2-c1", "backhaulFailure"), ("site2-c2", "backhaulFailure"),
]


def test_what_only_two_cuts_together_cut_off_joins_the_nearest_cut(
        harness: Callable[..., Harness]) -> None:
    """No single cut of a ring cuts anything off; the two together island site1 and site2.
    Each islanded alarm joins the cut nearest to it, not the first by name."""
    h = harness(transport="ring")
    h.send(10, *RING_TWICE)
    h.run(until=400)
    by_root = {i.root: i for i in h.incidents}
    assert set(by_root) == {"agg1-site1", "site2-site3"}
    assert {a.obj for a in by_root["agg1-site1"].alarms if a.role == "symptom"} == {
        "site1", "site1-c1", "site1-c2"}
    assert {a.obj for a in by_root["site2-site3"].alarms if a.role == "symptom"} == {
        "site2", "site2-c1", "site2-c2"}


def test_an_alarm_two_open_failures_do_not_explain_waits_for_its_own_root(
        harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(10, *FIBRE_CUT[:2], *SITE5_DEAD[:2])  # two failures, neither near site4's cells
    h.send(20, ("site4-c1", "backhaulFailure"))
    h.run(until=400)
    by_root = {i.root: i for i in h.incidents}
    assert set(by_root) == {"site1-site2", "site5", "site4-c1"}
    assert by_root["site4-c1"].root_kind == "unknown"


def test_a_dead_element_recognised_late_takes_over_its_neighbours_link_incidents(
        harness: Callable[..., Harness]) -> None:
    """Loss of signal facing site2 opened link incidents before site2's heartbeat failure
    was detected: they merge into site2's incident. Incidents of other links, of other kinds,
    or whose own evidence comes from site2 itself stay as they are."""
    h = harness()
    h.send(10, ("site5", "heartbeatFailure"))  # 1: an element incident elsewhere
    h.send(100, ("site4", "lossOfSignal", "agg2-site4"))  # 2: a link far from site2
    h.send(200, ("site2", "lossOfSignal", "site2-c1-up"))  # 3: site2 itself saw it
    h.send(300, ("site1", "lossOfSignal", "site1-site2"),  # 4 and 5: facing site2
           ("site3", "lossOfSignal", "site2-site3"))
    h.send(500, ("site2", "heartbeatFailure"))  # 6: site2 found dead
    h.run(until=600)
    inc = {i.id: i for i in h.incidents}
    assert [(i.root, i.merged_into) for i in h.incidents] == [
        ("site5", 0), ("agg2-site4", 0), ("site2-c1-up", 0), ("site1-site2", 6),
        ("site2-site3", 6), ("site2", 0)]
    for merged in (inc[4], inc[5]):
        assert (merged.alarms, merged.cleared) == ([], 560.0)
    assert {(a.obj, a.role, a.incident_id) for a in inc[6].alarms} == {
        ("site2", "root", 6), ("site1", "symptom", 6), ("site3", "symptom", 6)}
    assert all(inc[i].cleared is None for i in (1, 2, 3, 6))


def hub_harness(harness: Callable[..., Harness], **oss: Any) -> Harness:
    """r1, r2 and r1's cell c1 on one power feed, "hub", each router hanging off core1."""
    h = harness(inventory=False, **oss)
    h.oc.on_inventory(build_topology(NetworkSpec.model_validate({
        "elements": [{"id": "core1", "type": "core_router"},
                     {"id": "r1", "type": "site_router", "power_domain": "hub"},
                     {"id": "r2", "type": "site_router", "power_domain": "hub"},
                     {"id": "c1", "type": "cell", "site": "r1", "power_domain": "hub"}],
        "links": [{"a": "core1", "b": "r1"}, {"a": "core1", "b": "r2"},
                  {"a": "r1", "b": "c1"}]})).inventory())
    return h


def test_a_power_alarm_groups_under_its_elements_power_domain(
        harness: Callable[..., Harness]) -> None:
    """Two sites and a cell on one power feed ("hub") lose mains: one power incident rooted
    at the feed, its power alarms its roots (a late one acknowledged when it joins). r1 goes
    dark; a later alarm behind r1 joins the incident, but an alarm of r2 — on the same feed,
    still on battery, not dark — is not the power incident's. A power alarm from an object
    the inventory does not know is left unexplained."""
    h = hub_harness(harness)
    h.send(10, ("r1", "powerProblem"), ("r2", "powerProblem"), ("ghost", "powerProblem"))
    h.send(200, ("c1", "powerProblem"))
    h.send(300, ("r1", "heartbeatFailure"))  # r1's battery runs out
    h.send(500, ("c1", "backhaulFailure"))
    h.send(600, ("c1", "heartbeatFailure"))  # dark too, but nothing new is cut off
    h.send(700, ("r2", "softwareError"))
    h.run(until=1200)
    assert sorted((i.root, i.root_kind) for i in h.incidents) == [
        ("ghost", "unknown"), ("hub", "power"), ("r2", "unknown")]
    (hub,) = [i for i in h.incidents if i.root == "hub"]
    assert {(a.obj, a.cause, a.role) for a in hub.alarms} == {
        ("r1", "powerProblem", "root"), ("r2", "powerProblem", "root"),
        ("c1", "powerProblem", "root"), ("r1", "heartbeatFailure", "symptom"),
        ("c1", "backhaulFailure", "symptom"), ("c1", "heartbeatFailure", "symptom")}
    # the BSS is asked what is at stake when the incident opens and when its shadow grows
    assert [set(q.cells) for q in h.of_type(ImpactQuery)] == [set(), {"c1"}]
    assert hub.acknowledged == 70.0
    assert [(a.obj, a.acknowledged) for a in hub.alarms if a.raised > 10] == [
        ("c1", 260.0), ("r1", 360.0), ("c1", 560.0), ("c1", 660.0)]  # each when it joined


def test_a_link_incident_taken_over_by_an_acknowledged_power_incident_is_acknowledged_then(
        harness: Callable[..., Harness]) -> None:
    """One NOC operator, 100 s a triage: the power incident is acknowledged at 170; the link
    incident core1 saw facing r1 opens at 290 and is merged when r1 goes dark at 360, before
    its own triage ends — its alarm is acknowledged with the power incident, at 360."""
    h = hub_harness(harness, noc={"operators": 1, "triage_mean_s": 100,
                                  "triage_dist": "deterministic"})
    h.send(10, ("r1", "powerProblem"), ("r2", "powerProblem"))
    h.send(230, ("core1", "lossOfSignal", "core1-r1"))
    h.send(300, ("r1", "heartbeatFailure"))
    h.run(until=1000)
    power, link = h.incidents
    assert (power.root, power.acknowledged, link.root, link.merged_into) == (
        "hub", 170.0, "core1-r1", power.id)
    (los,) = [a for a in power.alarms if a.cause == "lossOfSignal"]
    assert (los.role, los.acknowledged) == ("symptom", 360.0)


def test_an_element_back_from_the_dark_no_longer_explains_alarms_behind_it(
        harness: Callable[..., Harness]) -> None:
    """Mains lost at the hub, r1 goes dark, then comes back (its heartbeat clears) while the
    mains alarms stand: a later fault of its cell is not the power incident's."""
    h = hub_harness(harness)
    h.send(10, ("r1", "powerProblem"), ("r2", "powerProblem"))
    h.send(300, ("r1", "heartbeatFailure"))
    h.send(400, ("r1", "heartbeatFailure"), cleared=True)
    h.send(600, ("c1", "backhaulFailure"))
    h.run(until=1200)
    assert sorted((i.root, i.root_kind) for i in h.incidents) == [
        ("c1", "unknown"), ("hub", "power")]


def test_the_far_end_of_an_open_link_incident_joins_it(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(10, FIBRE_CUT[0])  # site1 sees the cut first
    h.send(300, FIBRE_CUT[1])  # site2's side, long after the incident opened
    h.run(until=600)
    (inc,) = h.incidents
    assert inc.root == "site1-site2"
    assert [(a.obj, a.role) for a in inc.alarms] == [("site1", "root"), ("site2", "symptom")]


def test_a_kpi_threshold_crossing_is_a_problem_of_the_cell_itself(
        harness: Callable[..., Harness]) -> None:
    """An alarm the OSS raised from PM counters (too many dropped calls on a cell) is an
    incident of that cell, unless the cell is dead: then it is the dead cell's."""
    h = harness()

    def kpi(obj: str, t: float) -> AlarmNotification:
        return AlarmNotification(PM_EMS, int(t), t, obj, "", "qualityOfServiceAlarm",
                                 "callDropRateHigh", "drops over threshold", "minor")

    h.deliver(10, kpi("site4-c1", 10))
    h.deliver(20, kpi("site5-c2", 20))
    h.send(20, ("site5-c2", "heartbeatFailure"))
    h.run(until=400)
    by_root = {i.root: i for i in h.incidents}
    assert set(by_root) == {"site4-c1", "site5-c2"}
    assert by_root["site4-c1"].root_kind == "element"
    assert [a.cause for a in by_root["site4-c1"].alarms] == ["callDropRateHigh"]
    assert sorted((a.cause, a.role) for a in by_root["site5-c2"].alarms) == [
        ("callDropRateHigh", "root"), ("heartbeatFailure", "root")]
