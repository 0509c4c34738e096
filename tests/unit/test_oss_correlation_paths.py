"""Correlation passes and the alarms that arrive after an incident opened: when each pass
runs, how long an unexplained alarm waits (three windows from its own raise), and where a
dead element's later alarms go. The harness correlates in 60-s windows; the NOC
acknowledges at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from oss_harness import FIBRE_CUT, SITE5_DEAD, Harness, harness_factory

from twin.kernel import Sim


@pytest.fixture
def harness(make_sim: Callable[..., Sim]) -> Callable[..., Harness]:
    return harness_factory(make_sim)


def test_passes_run_a_window_after_the_first_alarm_while_any_wait(
        harness: Callable[..., Harness]) -> None:
    """A cut at 0 starts the passes (60, 120, …, while alarms wait); two alarms nothing
    explains arrive at 10 and 100: each becomes its own incident at the first pass at
    least three windows after its raise — 240 and 300, not sooner."""
    h = harness()
    h.send(0, *FIBRE_CUT)
    h.send(10, ("site4-c1", "backhaulFailure"))
    h.send(100, ("site5-c1", "backhaulFailure"))
    h.run(until=1000)
    by_root = {i.root: i for i in h.incidents}
    assert by_root["site1-site2"].created == 60.0
    assert (by_root["site4-c1"].root_kind, by_root["site4-c1"].created) == ("unknown", 240.0)
    assert by_root["site5-c1"].created == 300.0
    for root in ("site4-c1", "site5-c1"):
        assert [(a.obj, a.role) for a in by_root[root].alarms] == [(root, "root")]
    assert h.oc.correlator.pending == []


def test_a_dead_elements_later_alarms_join_its_incident(
        harness: Callable[..., Harness]) -> None:
    """site5 dead at 0 (its incident opens at 60). At 200: its own software error joins as
    a root alarm; a cell behind it reports and joins as a symptom; a second heartbeat
    failure of it (another resource) joins as a symptom — all in the pass at 260, and
    acknowledged then (the incident is)."""
    h = harness()
    h.send(0, *SITE5_DEAD)
    h.send(200, ("site5", "softwareError"), ("site6-c1", "backhaulFailure"),
           ("site5", "heartbeatFailure", "board2"))
    h.run(until=400)
    (inc,) = h.incidents
    late = {(a.obj, a.cause, a.note.resource): a for a in inc.alarms if a.raised == 200}
    assert {k: a.role for k, a in late.items()} == {
        ("site5", "softwareError", ""): "root",
        ("site6-c1", "backhaulFailure", ""): "symptom",
        ("site5", "heartbeatFailure", "board2"): "symptom"}
    assert all(a.acknowledged == 260.0 for a in late.values())
    assert len(h.incidents) == 1 and h.oc.correlator.pending == []


def test_loss_of_signal_on_a_port_that_is_no_link_is_an_alarm_like_any_other(
        harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(0, ("site4", "lossOfSignal", "port7"))
    h.run(until=400)
    (inc,) = h.incidents
    assert (inc.root, inc.root_kind, inc.created) == ("site4", "unknown", 180.0)


def test_a_mains_failure_explains_nothing_behind_an_element_still_on_battery(
        harness: Callable[..., Harness]) -> None:
    """site5's power incident is rooted at its site, named as its router is; while site5
    runs on battery, a cell behind it that fails is not the power incident's symptom."""
    h = harness()
    h.send(0, ("site5", "powerProblem"))
    h.send(100, ("site6-c2", "backhaulFailure"))
    h.run(until=600)
    power, cell = h.incidents
    assert (power.root, power.root_kind, [a.obj for a in power.alarms]) == (
        "site5", "power", ["site5"])
    assert (cell.root, cell.root_kind, cell.created) == ("site6-c2", "unknown", 280.0)


def test_an_incident_whose_symptoms_cleared_still_explains_while_its_root_is_down(
        harness: Callable[..., Harness]) -> None:
    h = harness()
    h.send(0, *SITE5_DEAD)
    h.send(100, *SITE5_DEAD[1:], cleared=True)  # every symptom clears, site5 is still down
    h.send(200, ("site6-c1", "backhaulFailure"))
    h.run(until=600)
    (inc,) = h.incidents
    assert [(a.obj, a.role, a.acknowledged) for a in inc.alarms if a.raised == 200] == [
        ("site6-c1", "symptom", 260.0)]


def test_an_incident_held_open_by_a_stale_symptom_explains_nothing_new(
        harness: Callable[..., Harness]) -> None:
    """site5 came back (its heartbeat cleared) but one symptom's clear was lost: the old
    incident stays open, yet a cell behind site5 failing later is a problem of its own."""
    h = harness()
    h.send(0, *SITE5_DEAD)
    h.send(3600, *[a for a in SITE5_DEAD if a[0] != "site6-c2"], cleared=True)
    h.send(7200, ("site6-c1", "backhaulFailure"))
    h.run(until=9000)
    old, new = h.incidents
    assert old.cleared is None and [a.obj for a in old.alarms if a.cleared is None] == [
        "site6-c2"]
    assert (new.root, new.root_kind, new.created) == ("site6-c1", "unknown", 7380.0)
