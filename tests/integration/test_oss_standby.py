"""Switch to standby: the OSS restores service by a switchover, a crew repairs later.

``scenarios/standby_switchover.yaml`` has deterministic times: detection 30 s, correlation
60 s, no NOC triage, one crew with 2 h travel and 1 h repair. agg1 (standby unit) fails at
1d and again at 1d1h (the unit in service, before the crew came); the microwave hop
agg1-site1 (protection path) fails at 2d; site3 (no standby) at 3d.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import twin
from twin.messages import RepairCommand
from twin.wiring import assemble

from .support import SCENARIOS, RunScenario

STANDBY = SCENARIOS / "standby_switchover.yaml"
DAY = 86_400.0
TO_SWITCH = 90.0  # detection 30 s + correlation window 60 s
CREW = 3 * 3600.0  # travel 2 h + repair 1 h


def _outages(run: twin.Run) -> dict[int, tuple[float, float]]:
    co = run.table("cell_outages")
    g = co.groupby("root_fault_id").agg(start=("start", "min"), end=("end", "max"))
    return {int(k): (float(r.start), float(r.end)) for k, r in g.iterrows()}


def _ends(run: twin.Run) -> dict[int, tuple[float, str]]:
    ends = run.table("fault_ends")
    return {int(r.fault_id): (float(r.end), str(r.cleared_by)) for r in ends.itertuples()}


def test_switchover_restores_and_a_crew_repairs_later(run_scenario: RunScenario) -> None:
    run = run_scenario(STANDBY)
    sw = run.table("switchovers")
    assert list(zip(sw["target"], sw["result"], strict=True)) == [
        ("agg1", "switched"), ("agg1", "standby failed"), ("agg1-site1", "switched")]
    assert list(sw["t"]) == pytest.approx([DAY + TO_SWITCH, DAY + 3600 + TO_SWITCH,
                                           2 * DAY + TO_SWITCH])
    out, ends = _outages(run), _ends(run)
    # restore: the cells come back at the switchover …
    assert out[1] == pytest.approx((DAY, DAY + TO_SWITCH))
    assert out[3] == pytest.approx((2 * DAY, 2 * DAY + TO_SWITCH))
    # … repair: the failed unit is replaced by the crew, dispatched once service was back
    # (the clear reaches the OSS after the 30 s detection delay)
    assert ends[1] == pytest.approx((DAY + TO_SWITCH + 30 + CREW, "repair"), abs=1e-6)
    assert ends[3][0] == pytest.approx(2 * DAY + TO_SWITCH + 30 + CREW)
    # the standby had failed too: no switchover helps; the cells wait for the crew's repair
    assert out[2] == pytest.approx((DAY + 3600, ends[1][0]))
    assert ends[2] == (ends[1][0], "repair")
    # no standby: nothing is switched, restore = repair
    assert out[4][1] == pytest.approx(ends[4][0])
    assert ends[4][0] == pytest.approx(3 * DAY + TO_SWITCH + CREW)
    t = run.table("tickets").set_index("root")
    assert t.loc["agg1-site1", "resolution"] == "switched to standby, unit repaired"
    assert t.loc["agg1-site1", "resolved"] == pytest.approx(2 * DAY + TO_SWITCH + 30)
    assert t.loc["agg1-site1", "closed"] == pytest.approx(ends[3][0])
    assert t.loc["site3", "switchovers"] == 0
    oss = run.summary["oss"]
    assert oss["standby_switchovers"] == 3
    assert oss["restored_by_switchover"] == 2
    assert oss["mttr_s"] < oss["mttr_repair_s"]


def test_without_the_policy_service_waits_for_the_crew(run_scenario: RunScenario) -> None:
    on = run_scenario(STANDBY)
    off = run_scenario(STANDBY, overrides=("oss.automation.switch_standby=false",))
    assert off.table("switchovers").empty
    out, ends = _outages(off), _ends(off)
    assert out[1][1] == pytest.approx(ends[1][0])  # restore = repair
    assert out[1][1] - out[1][0] == pytest.approx(TO_SWITCH + CREW)
    assert off.summary["oss"]["mttr_s"] > 2 * on.summary["oss"]["mttr_s"]
    assert off.summary["oss"]["standby_switchovers"] == 0


def _network_at(tmp_path: Path, extra: tuple[str, ...]) -> object:
    sc = twin.load_scenario(STANDBY, (
        "oss.automation.switch_standby=false", "oss.automation.restart=never",
        "oss.crews.travel_mean_min=100000", *extra))
    return assemble(sc, tmp_path)


@pytest.mark.parametrize(("faults", "target", "result", "down_after"), [
    # a hardware failure of the working unit: switched, up, the fault still active
    ("[{at: 1h, target: agg1, mode: element_failure}]", "agg1", "switched", False),
    # a software crash: the standby's software takes over too
    ("[{at: 1h, target: agg1, mode: software_crash}]", "agg1", "switched", False),
    # no standby recorded on site3
    ("[{at: 1h, target: site3, mode: element_failure}]", "site3", "no standby", True),
    # a flapping unit, a maintenance: nothing a switchover works around
    ("[{at: 1h, target: agg1, mode: flapping}]", "agg1", "no effect", True),
    ("[{at: 1h, target: agg1, mode: planned_maintenance, duration: 5h}]", "agg1", "no effect",
     True),
    # up: nothing to switch
    ("[{at: 5h, target: agg1, mode: element_failure}]", "agg1", "not down", False),
])
def test_the_network_decides_whether_a_switchover_helps(
        tmp_path: Path, faults: str, target: str, result: str, down_after: bool) -> None:
    asm = _network_at(tmp_path, (f"faults.scripted={faults}",))
    sim, net = asm.sim, asm.network  # type: ignore[attr-defined]
    sim.env.run(until=3630)
    assert net.switch_over(RepairCommand(0, target, action="switch_standby")) == result
    assert net.state.is_down(target) is down_after
    if result == "switched":
        assert net.state.active, "the fault stays active until a replacement"
        assert target in net.bypassed
        # a replacement repairs the failed unit: the fault ends, the standby is healthy again
        net.on_repair(RepairCommand(0, target))
        assert not net.state.active and target not in net.bypassed


def test_guard_stops_repeated_switchovers(run_scenario: RunScenario) -> None:
    run = run_scenario(STANDBY, overrides=("oss.automation.guard=2h",))
    sw = run.table("switchovers")
    # agg1's second failure comes an hour after its switchover: no second command
    assert list(sw["target"]) == ["agg1", "agg1-site1"]
    t = run.table("tickets").set_index("ticket_id")
    assert t.loc[2, "switchovers"] == 0 and t.loc[2, "truck_rolls"] == 1
