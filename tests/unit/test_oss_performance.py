"""Silent-failure detection from PM counters, on hand-made PmReports: a rolling window,
threshold crossing with hysteresis, too-few-calls and not-available windows ignored, and
cells an alarm already accounts for left alone."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from twin.kernel import Sim
from twin.messages import AlarmNotification, PmReport
from twin.oss.performance import PmWatch
from twin.scenario.schema import PmDetectionSpec

CELLS = ("a", "b", "c")
P = 900.0


def report(k: int, attempts: list[int], failed: list[int], dropped: list[int] | None = None,
           available: list[float] | None = None) -> PmReport:
    att = np.array(attempts, float)
    fail = np.array(failed, float)
    drop = np.array(dropped or [0, 0, 0], float)
    answered = att - fail
    return PmReport(k * P, P, "cell", CELLS, {
        "calls_attempted": att, "calls_blocked": np.zeros(3), "calls_failed": fail,
        "calls_dropped": drop, "available_s": np.array(available or [P, P, P]),
        "drop_rate": drop / np.maximum(answered, 1)})


@pytest.fixture
def watch(make_sim: Callable[..., Sim]) -> tuple[PmWatch, list[AlarmNotification], set[str]]:
    got: list[AlarmNotification] = []
    alarmed: set[str] = set()
    spec = PmDetectionSpec.model_validate({
        "enabled": True,
        "call_setup_success": {"raise_at": 0.8, "clear_at": 0.95, "window": 2, "periods": 2,
                               "clear_periods": 2, "min_attempts": 10},
        "drop_rate": {"raise_at": 0.1, "clear_at": 0.03, "window": 1, "periods": 1,
                      "clear_periods": 1, "min_attempts": 5}})
    return PmWatch(make_sim(), spec, got.append, lambda: alarmed), got, alarmed


def test_a_sleeping_cell_is_raised_then_cleared_with_hysteresis(
        watch: tuple[PmWatch, list[AlarmNotification], set[str]]) -> None:
    w, got, _ = watch
    ok = ([8, 8, 8], [0, 0, 0])
    asleep = ([8, 8, 8], [0, 8, 0])  # b fails every call
    for k, (att, fail) in enumerate([ok, asleep, asleep, asleep, ok]):
        w.on_report(report(k, att, fail))
    # a window of 2 periods: 0.5 at the end of period 1, 0.0 at the end of period 2: raised
    assert [(n.alarmed_object, n.event_time, n.perceived_severity) for n in got] == [
        ("b", 3 * P, "major")]
    n = got[0]
    assert (n.ems, n.resource, n.alarm_type, n.probable_cause) == (
        "oss-pm", "kpi/call_setup_success", "qualityOfServiceAlarm", "thresholdCrossed")
    # period 4 gave 0.5 (between the thresholds: no change); period 5 is good once
    w.on_report(report(5, *ok))
    assert len(got) == 1
    w.on_report(report(6, *ok))  # good twice: cleared
    assert [(x.alarmed_object, x.event_time, x.perceived_severity) for x in got[1:]] == [
        ("b", 7 * P, "cleared")]


def test_too_few_calls_or_an_outage_count_neither_way(
        watch: tuple[PmWatch, list[AlarmNotification], set[str]]) -> None:
    w, got, _ = watch
    for k in range(6):  # c fails all its calls, but there are only 2 per period
        w.on_report(report(k, [8, 8, 2], [0, 0, 2]))
    for k in range(6, 12):  # a fails all, but it was out of service part of the time
        w.on_report(report(k, [8, 8, 8], [8, 0, 0], available=[600.0, P, P]))
    assert got == []


def test_drops_raise_and_cells_with_their_own_alarm_are_left_to_it(
        watch: tuple[PmWatch, list[AlarmNotification], set[str]]) -> None:
    w, got, alarmed = watch
    alarmed.add("a")  # a's element manager already raised an alarm
    w.on_report(report(0, [10, 10, 10], [0, 0, 0], dropped=[5, 5, 0]))
    assert [(x.alarmed_object, x.resource) for x in got] == [("b", "kpi/drop_rate")]
    alarmed.clear()  # a's alarm cleared: its next bad window counts again
    w.on_report(report(1, [10, 10, 10], [0, 0, 0], dropped=[5, 0, 0]))
    w.on_report(report(2, [10, 10, 10], [0, 0, 0], dropped=[0, 0, 0]))
    assert [(x.alarmed_object, x.perceived_severity) for x in got[1:]] == [
        ("a", "major"), ("b", "cleared"), ("a", "cleared")]


def test_a_period_out_of_service_stops_counting_once_it_leaves_the_window(
        watch: tuple[PmWatch, list[AlarmNotification], set[str]]) -> None:
    """The window moves on: a period in which a was out of service voids only the windows it
    is in (two periods here); the ones after it count again, and a's failures raise."""
    w, got, _ = watch
    w.on_report(report(0, [8, 8, 8], [8, 0, 0], available=[600.0, P, P]))
    for k in range(1, 4):
        w.on_report(report(k, [8, 8, 8], [8, 0, 0]))
    # period 1's window holds period 0: neither way; periods 2 and 3 bad: raised at 3's end
    assert [(x.alarmed_object, x.event_time, x.perceived_severity) for x in got] == [
        ("a", 4 * P, "major")]
