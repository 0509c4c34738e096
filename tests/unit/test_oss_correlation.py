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
from twin.messages import RepairCommand, ServiceOutageReport


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
    assert len(r) == len(SITE2_DEAD)


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
    with pytest.raises(RuntimeError, match="inventory"):
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
