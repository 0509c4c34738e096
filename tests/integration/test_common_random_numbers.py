"""Common random numbers: a design change leaves the faults and the offered traffic alone.

The fault schedule and subscriber demand come from their own random streams, so changing
the OSS — the crew count, the repair policy — must not move a single fault or offered call;
only what happens to them (ticket timings, outage lengths, lost calls) may change. That is
what makes an A/B comparison of two designs meaningful with few replications.
"""

from __future__ import annotations

import pandas as pd
import pytest

import twin

from .support import SCENARIOS, RunScenario

# A stormy fortnight shortened to a week: many faults for one crew, so tickets queue.
STORM = SCENARIOS / "crew_shortage.yaml"
BASE = ("duration=7d", "subscribers.count=1500", "faults.random.mtbf_h.site_router=200",
        "faults.random.mtbf_h.cell=500")
OFFERED = ["id", "kind", "sub", "cell", "start", "intended_s", "intended_bytes"]


def offered(run: twin.Run) -> pd.DataFrame:
    """What subscribers tried to do, whatever the network made of it."""
    return run.table("usage")[OFFERED].sort_values("id").reset_index(drop=True)


def waits(run: twin.Run) -> pd.Series:
    t = run.table("tickets")
    return (t["in_progress"] - t["created"]).dropna()


@pytest.fixture(scope="module")
def one_crew(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(STORM, overrides=(*BASE, "oss.crews.count=1"))


@pytest.fixture(scope="module")
def four_crews(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(STORM, overrides=(*BASE, "oss.crews.count=4"))


def test_crew_count_leaves_faults_identical(one_crew: twin.Run, four_crews: twin.Run) -> None:
    f1, f4 = one_crew.table("faults"), four_crews.table("faults")
    assert len(f1) >= 5, "too few faults to make the comparison meaningful"
    pd.testing.assert_frame_equal(f1, f4, check_exact=True)
    assert one_crew.summary["faults"]["injected"] == four_crews.summary["faults"]["injected"]


def test_crew_count_leaves_offered_traffic_identical(one_crew: twin.Run,
                                                     four_crews: twin.Run) -> None:
    t1, t4 = one_crew.summary["traffic"], four_crews.summary["traffic"]
    assert t1["calls_offered"] == t4["calls_offered"]
    assert t1["sessions_offered"] == t4["sessions_offered"]
    pd.testing.assert_frame_equal(offered(one_crew), offered(four_crews), check_exact=True)


def test_crew_count_changes_ticket_timings(one_crew: twin.Run, four_crews: twin.Run) -> None:
    w1, w4 = waits(one_crew), waits(four_crews)
    assert w1.sum() > w4.sum(), "one crew should leave tickets waiting longer than four"
    assert (w1 > 0).any(), "no ticket ever waited for the single crew"
    ends1 = one_crew.table("fault_ends").sort_values("fault_id")["end"].to_numpy()
    ends4 = four_crews.table("fault_ends").sort_values("fault_id")["end"].to_numpy()
    assert ends1.shape != ends4.shape or (ends1 != ends4).any(), "repairs did not move"
    # More crews restore service sooner; the lost traffic follows.
    assert (one_crew.summary["traffic"]["calls_lost_outage"]
            > four_crews.summary["traffic"]["calls_lost_outage"])


def test_repair_policy_leaves_faults_and_demand_identical(one_crew: twin.Run,
                                                          run_scenario: RunScenario) -> None:
    impact = run_scenario(STORM, overrides=(*BASE, "oss.crews.count=1",
                                            "oss.repair_policy=impact"))
    pd.testing.assert_frame_equal(one_crew.table("faults"), impact.table("faults"),
                                  check_exact=True)
    pd.testing.assert_frame_equal(offered(one_crew), offered(impact), check_exact=True)
