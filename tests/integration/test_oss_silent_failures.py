"""Silent failures are found from PM counters — later than a hard failure would be.

``scenarios/oss_silent_failures.yaml`` (with ``oss.pm.enabled``):

Two cells fail at the same instant (10:00 on a weekday): site5-c1 dies outright (its element
manager notices, a heartbeat alarm arrives within about a minute and a half) and site2-c1
falls asleep silently (up as far as its element manager can tell, serving nobody). A day
later site7-c2 silently starts dropping 40 % of its calls. The OSS finds the sleeping cell
from its call setup success counters and the dropping one from its drop rate, roots an
incident at each, tickets and repairs them. At the time of writing: the hard failure is
detected after 99 s, the sleeping cell after 61 min (counters arrive per 15-minute period and
the rolling hour must fill with failed calls), the dropping cell after 91 min.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import twin

from .support import RunScenario

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "oss_silent_failures.yaml"


@pytest.fixture(scope="module")
def run(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(SCENARIO)


def detected_after(run: twin.Run, target: str) -> float:
    faults = run.table("faults").set_index("target")
    inc = run.table("incidents")
    mine = inc[(inc["root"] == target) & (inc["merged_into"] == 0)]
    assert len(mine) == 1, mine
    return float(mine["created"].iloc[0] - faults.loc[target, "start"])


def test_silent_failures_are_found_later_than_a_hard_one(run: twin.Run) -> None:
    hard = detected_after(run, "site5-c1")
    asleep = detected_after(run, "site2-c1")
    dropping = detected_after(run, "site7-c2")
    assert hard < 300  # alarm, detection delay and the correlation window
    assert 900 <= asleep <= 3 * 3600  # at least one PM period, within a few
    assert 900 <= dropping <= 3 * 3600
    assert asleep > 10 * hard and dropping > 10 * hard
    oss = run.summary["oss"]
    assert oss["faults_silent"] == 2 and oss["silent_detected"] == 2
    assert oss["mttd_silent_s"] == pytest.approx((asleep + dropping) / 2)


def test_the_counters_raise_and_clear_a_threshold_alarm(run: twin.Run) -> None:
    crossings = run.table("pm_crossings")
    assert set(zip(crossings["cell"], crossings["kpi"], crossings["state"], strict=True)) == {
        ("site2-c1", "call_setup_success", "raised"),
        ("site2-c1", "call_setup_success", "cleared"),
        ("site7-c2", "drop_rate", "raised"), ("site7-c2", "drop_rate", "cleared")}
    alarms = run.table("alarms")
    pm = alarms[alarms["ems"] == "oss-pm"]
    assert set(pm["probable_cause"]) == {"thresholdCrossed"}
    assert (pm["role"] == "root").all() and pm["cleared"].notna().all()


def test_silent_failures_are_ticketed_and_repaired(run: twin.Run) -> None:
    ends = run.table("fault_ends").merge(run.table("faults")[["fault_id", "target"]],
                                         on="fault_id")
    by_target: pd.DataFrame = ends.set_index("target")
    for target in ("site2-c1", "site7-c2", "site5-c1"):
        assert by_target.loc[target, "cleared_by"] == "repair"
    tickets = run.table("tickets").set_index("root")
    assert tickets.loc["site2-c1", "status"] == "closed"
    assert tickets.loc["site2-c1", "resolution"] == "repaired"
    assert run.summary["oss"]["false_tickets"] == 0


def test_without_the_pm_watch_the_sleeping_cell_goes_unnoticed(
        run_scenario: RunScenario) -> None:
    off = run_scenario(SCENARIO, overrides=("oss.pm.enabled=false",))
    assert off.summary["oss"]["silent_detected"] == 0
    assert "site2-c1" not in set(off.table("incidents")["root"])
