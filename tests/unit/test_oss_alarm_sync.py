"""Alarm synchronisation: the OSS reconciles its alarm list with each EMS's active list."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from oss_harness import SITE2_DEAD, Harness, harness_factory

from twin.kernel import Sim
from twin.messages import ActiveAlarmList, AlarmListRequest


@pytest.fixture
def make(make_sim: Callable[..., Sim]) -> Callable[..., Harness]:
    return harness_factory(make_sim)


def test_a_lost_heartbeat_is_recovered_and_the_incident_rerooted(
        make: Callable[..., Harness]) -> None:
    h = make(alarms={"resync_interval": 0})
    symptoms = [a for a in SITE2_DEAD if a[1] != "heartbeatFailure"]
    h.send(100, *symptoms)  # the heartbeat failure's notification was lost in transit
    h.run(until=300)
    assert all(i.root != "site2" for i in h.incidents)
    hb = h.note("site2", "heartbeatFailure", t=100)
    held = tuple(a.note for a in h.oc.alarms.active.values())
    listing = ActiveAlarmList("ems-test", 900.0, (*held, hb))

    def sync() -> object:
        yield h.sim.env.timeout(900 - h.sim.now)
        h.oc.on_alarm_list(listing)
    h.sim.env.process(sync())
    h.run(until=1200)
    live = [i for i in h.incidents if not i.merged_into]
    assert [i.root for i in live] == ["site2"]
    assert h.oc.resync == {"requests": 0, "raised": 1, "cleared": 0}
    alarm = h.oc.alarms.active[hb.reduction_key]
    assert alarm.note.event_time == 100  # the element manager's original event time
    assert alarm.raised == 900  # but the OSS learnt of it only now


def test_an_alarm_whose_clear_was_lost_is_cleared_as_of_the_listing(
        make: Callable[..., Harness]) -> None:
    h = make(alarms={"resync_interval": 0})
    h.send(100, ("site2-c1", "backhaulFailure"), ("site2-c2", "backhaulFailure"))
    h.run(until=1000)
    still = h.oc.alarms.active["site2-c2::backhaulFailure"].note
    h.oc.on_alarm_list(ActiveAlarmList("ems-test", 1000.0, (still,)))
    h.oc.on_alarm_list(ActiveAlarmList("ems-other", 1000.0, ()))  # another EMS: not ours
    assert set(h.oc.alarms.active) == {"site2-c2::backhaulFailure"}
    gone = next(a for a in h.oc.alarms.all if a.obj == "site2-c1")
    assert gone.cleared == 1000 and gone.clear_event == 1000
    assert h.oc.resync == {"requests": 0, "raised": 0, "cleared": 1}


def test_the_oss_asks_every_interval(make: Callable[..., Harness]) -> None:
    h = make(alarms={"resync_interval": 600})
    h.run(until=3000)
    asked = [t for t, m in h.log if isinstance(m, AlarmListRequest)]
    assert asked == [600, 1200, 1800, 2400]
