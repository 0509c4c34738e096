"""Alarm lifecycle: repeats, clears, flapping and its suppression, NOC acknowledgement."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from oss_harness import FIBRE_CUT, SITE5_DEAD, Harness, harness_factory

from twin.kernel import Sim
from twin.messages import RepairCommand, ServiceOutageReport

HB5 = ("site5", "heartbeatFailure")
CELL = ("site6-c2", "backhaulFailure")


@pytest.fixture
def make(make_sim: Callable[..., Sim]) -> Callable[..., Harness]:
    return harness_factory(make_sim)


def flap(h: Harness, alarm: tuple[str, ...], start: float, down: float, up: float,
         times: int) -> float:
    """Raise and clear ``alarm`` ``times`` times; returns the time of the last clear."""
    t = start
    for _ in range(times):
        h.send(t, alarm)
        h.send(t + down, alarm, cleared=True)
        t += down + up
    return t - up


def test_repeats_count_and_a_clear_closes(make: Callable[..., Harness]) -> None:
    h = make()
    h.send(100, HB5)
    h.send(105, HB5)  # the EMS sent it twice
    h.send(900, HB5, cleared=True)
    h.send(950, HB5, cleared=True)  # nothing left to clear
    h.run(until=1000)
    (alarm,) = h.oc.alarms.all
    assert alarm.repeat_count == 2
    assert alarm.cleared == 900 and alarm.clear_event == 900
    assert h.oc.alarms.orphan_clears == 1
    assert h.oc.alarms.active == {}


def test_flapping_is_detected_and_suppressed(make: Callable[..., Harness]) -> None:
    h = make(alarms={"flap_count": 3, "flap_window": "1h", "flap_quiet": "30m"})
    last = flap(h, HB5, start=0, down=120, up=600, times=8)  # every 12 minutes
    h.run(until=last + 1799)
    alarms = h.oc.alarms.all
    # two ordinary alarms, then the third raise within the hour opens a flapping alarm
    assert [a.flapping for a in alarms] == [False, False, True]
    flapper = alarms[2]
    assert flapper.raised == 2 * 720
    assert flapper.repeat_count == 6 and flapper.flaps == 5
    assert flapper.cleared is None  # paused, waiting for quiet
    assert flapper.row()["clear_event_time"] is None  # its last clear only paused it
    assert len(h.incidents) == 3  # not one incident per flap
    h.run(until=last + 1801)
    assert flapper.cleared == last + 1800
    assert h.incidents[2].cleared == last + 1800


def test_every_activation_of_a_flapping_cell_is_a_measured_outage(
        make: Callable[..., Harness]) -> None:
    h = make(alarms={"flap_count": 2})
    last = flap(h, CELL, start=0, down=100, up=500, times=4)
    h.run(until=last + 10_000)
    outages = [(m.start, m.end) for m in h.of_type(ServiceOutageReport)]
    assert outages == [(600.0 * i, 600.0 * i + 100) for i in range(4)]


def test_operator_acknowledges_then_the_crew_goes(make: Callable[..., Harness]) -> None:
    h = make(noc={"operators": 1, "triage_mean_s": 300, "triage_dist": "deterministic"})
    h.send(100, *SITE5_DEAD[:3])
    h.send(400, *SITE5_DEAD[3:])  # joins the incident after its acknowledgement
    h.run(until=10_000)
    (inc,) = h.incidents
    assert inc.created == 160
    assert (inc.acknowledged, inc.ack_user) == (460, "noc-operator-1")
    ticket = h.oc.workforce.tickets[0]
    assert ticket.released == 460 and ticket.in_progress == 460
    acks = {a.obj: a.acknowledged for a in inc.alarms}
    assert acks == {"site5": 460, "site4": 460, "site6": 460, "site5-c1": 460,
                    "site6-c2": 460}


def test_late_joiners_are_acknowledged_when_they_join(make: Callable[..., Harness]) -> None:
    h = make(noc={"operators": 1, "triage_mean_s": 30, "triage_dist": "deterministic"})
    h.send(100, *SITE5_DEAD[:2])
    h.send(500, SITE5_DEAD[4])
    h.run(until=10_000)
    late = [a for a in h.incidents[0].alarms if a.obj == "site6-c2"]
    assert late[0].acknowledged == 560  # at its correlation, after the window


def test_most_severe_incident_is_triaged_first_and_floods_auto_ticket(
        make: Callable[..., Harness]) -> None:
    h = make(noc={"operators": 1, "triage_mean_s": 3000, "triage_dist": "deterministic",
                  "auto_ticket_after": 1200, "auto_ticket_after_critical": 600})
    h.send(0, ("site1", "lossOfSignal", "site1-c1-up"))  # a major incident at 60
    h.send(100, ("site3-c2", "lossOfSignal", "site3-c2-up"))  # major, queued at 160
    h.send(200, *SITE5_DEAD)  # critical at 260: queued ahead of the second
    h.run(until=20_000)
    first, second, critical = h.incidents
    assert (first.created, second.created, critical.created) == (60, 160, 260)
    assert critical.severity == "critical" and second.severity == "major"
    assert first.acknowledged == 60 + 3000
    assert critical.acknowledged == 60 + 6000
    assert second.acknowledged == 60 + 9000
    tickets = {t.incident.id: t for t in h.oc.workforce.tickets}
    # the operator is busy: waiting tickets are released unacknowledged
    assert tickets[first.id].released == 60 + 1200  # triage takes longer than that
    assert tickets[critical.id].released == 260 + 600
    assert tickets[second.id].released == 160 + 1200
    assert h.oc.noc.auto_tickets == 3


def test_without_operators_incidents_are_acknowledged_at_once(
        make: Callable[..., Harness]) -> None:
    h = make()
    h.send(100, *FIBRE_CUT)
    h.run(until=3000)
    (inc,) = h.incidents
    assert inc.acknowledged == inc.created == 160
    assert inc.ack_user == "noc-auto"
    assert len(h.of_type(RepairCommand)) == 1


def test_an_alarms_row_carries_its_notification_and_its_lifecycle(
        make: Callable[..., Harness]) -> None:
    """The ``alarms`` table row: the first notification's fields, then what happened to the
    alarm — repeats, the incident it joined and its role, acknowledgement, the clear."""
    h = make()
    h.send(100, ("site5", "heartbeatFailure", "port1"))
    h.send(160, ("site5", "heartbeatFailure", "port1"))
    h.send(900, ("site5", "heartbeatFailure", "port1"), cleared=True)
    h.run(until=130)  # raised; not yet correlated nor acknowledged (a 60 s window)
    (alarm,) = h.oc.alarms.all
    first = dict(alarm_id=1, reduction_key="site5:port1:heartbeatFailure",
                 alarmed_object="site5", resource="port1", alarm_type="communicationsAlarm",
                 probable_cause="heartbeatFailure", specific_problem="heartbeatFailure on site5",
                 perceived_severity="critical", raised=100.0, event_time=100, ems="ems-test",
                 notification_id=1, maintenance=0, flapping=False, flaps=0)
    assert alarm.row() == first | dict(
        cleared=None, clear_event_time=None, repeat_count=1, incident_id=0, role="",
        changed=100.0, ack_state="unacknowledged", acknowledged=None, ack_user="")
    h.run(until=1000)
    assert alarm.row() == first | dict(
        cleared=900.0, clear_event_time=900, repeat_count=2, incident_id=1, role="root",
        changed=900.0, ack_state="acknowledged", acknowledged=160.0, ack_user="noc-auto")


def test_each_notification_says_what_it_did_to_the_alarm_list(
        make: Callable[..., Harness]) -> None:
    """``AlarmList.receive``'s outcomes, one of each kind, and the counters they move."""
    h = make(alarms={"flap_count": 2, "flap_window": "1h", "flap_quiet": "30m"})
    alarms = h.oc.alarms

    def rx(t: float, cleared: bool = False) -> tuple[int, str, tuple[float, float] | None]:
        out = alarms.receive(h.note(*HB5, t=t, cleared=cleared))
        return (out.alarm.id if out.alarm else 0), out.kind, out.ended

    assert rx(10) == (1, "new", None)
    assert rx(20) == (1, "repeat", None)
    assert rx(30, cleared=True) == (1, "cleared", (10, 30))
    assert rx(40, cleared=True) == (0, "orphan", None)  # nothing active to clear
    assert rx(50) == (2, "new", None)  # the key's second raise within the hour: flapping
    assert alarms.all[1].flapping
    assert rx(60, cleared=True) == (2, "paused", (50, 60))
    assert rx(70, cleared=True) == (2, "orphan", None)  # the paused alarm, already down
    assert rx(80) == (2, "resumed", None)
    assert rx(85, cleared=True) == (2, "paused", (80, 85))
    assert (alarms.raises, alarms.orphan_clears, alarms.suppressed) == (4, 2, 3)
    assert list(alarms.active) == [alarms.all[1].note.reduction_key]
    alarms.receive(h.note(*HB5, t=90), via="sync")  # recovered by alarm synchronisation
    h.sim.records.close()
    raw = h.sim.records.read("alarms_raw").to_pylist()
    assert [(r["event_time"], r["alarm_id"], r["via"]) for r in raw] == [
        (10, 1, "notification"), (20, 1, "notification"), (30, 1, "notification"),
        (40, 0, "notification"), (50, 2, "notification"), (60, 2, "notification"),
        (70, 2, "notification"), (80, 2, "notification"), (85, 2, "notification"),
        (90, 2, "sync")]
    assert raw[0] == dict(received=0.0, ems="ems-test", notification_id=raw[0]["notification_id"],
                          event_time=10.0, alarmed_object="site5", resource="",
                          alarm_type="communicationsAlarm", probable_cause="heartbeatFailure",
                          perceived_severity="critical", alarm_id=1, via="notification")
    assert [r["notification_id"] for r in raw] == sorted({r["notification_id"] for r in raw})


def test_a_raise_exactly_one_flap_window_after_the_last_counts_as_flapping(
        make: Callable[..., Harness]) -> None:
    h = make(alarms={"flap_count": 2, "flap_window": "1h"})
    h.send(0, HB5)
    h.send(60, HB5, cleared=True)
    h.send(3600, HB5)  # the second raise, at the window's very edge
    h.run(until=3700)
    assert [a.flapping for a in h.oc.alarms.all] == [False, True]
