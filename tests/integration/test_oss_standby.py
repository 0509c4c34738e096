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


# --- a core function pair with manual failover --------------------------------------------

CORE_PAIR: dict[str, object] = {
    "name": "core_pair", "description": "an MSC pair switched over by hand", "seed": 1,
    "start": "2026-01-05T00:00:00Z", "duration": "1d",
    "network": {
        "core_failover": "manual",
        "elements": [
            {"id": "core1", "type": "core_router"}, {"id": "core2", "type": "core_router"},
            {"id": "msc1", "type": "msc", "site": "core1"},
            {"id": "msc2", "type": "msc", "site": "core2"},
            {"id": "site1", "type": "site_router"},
            {"id": "cell1", "type": "cell", "site": "site1"},
            {"id": "cell2", "type": "cell", "site": "site1"}],
        "links": [{"a": "core1", "b": "core2"}, {"a": "msc1", "b": "core1"},
                  {"a": "msc2", "b": "core2"}, {"a": "site1", "b": "core1"},
                  {"a": "cell1", "b": "site1"}, {"a": "cell2", "b": "site1"}],
        "telemetry": {"detection_delay": {"dist": "deterministic", "mean_s": 30},
                      "duplicate_rate": 0.0, "malformed_rate": 0.0}},
    "subscribers": {"count": 200},
    "faults": {"scripted": [{"at": "2h", "target": "msc1", "mode": "element_failure"}]},
    "oss": {"noc": {"operators": 0},
            "crews": {"count": 1, "travel_mean_min": 120, "travel_dist": "deterministic",
                      "repair_mean_min": 60, "repair_dist": "deterministic"}},
    "bss": {"catalog": str(SCENARIOS / "catalogs" / "default.yaml")},
}


@pytest.mark.parametrize(("failover", "policy", "down_s", "switched"), [
    ("automatic", True, None, False),  # the mate takes over by itself: no outage at all
    ("manual", True, TO_SWITCH, True),  # every cell out until the OSS's switchover
    ("manual", False, TO_SWITCH + CREW, False),  # … or until the crew's repair
])
def test_core_function_pair_with_manual_failover(tmp_path: Path, failover: str, policy: bool,
                                                 down_s: float | None, switched: bool) -> None:
    sc = {**CORE_PAIR, "network": {**CORE_PAIR["network"],  # type: ignore[dict-item]
                                   "core_failover": failover},
          "oss": {**CORE_PAIR["oss"], "automation": {"switch_standby": policy}}}  # type: ignore[dict-item]
    run = twin.simulate(sc, out=tmp_path / "r", report=False)
    co = run.table("cell_outages")
    if down_s is None:
        assert co.empty
    else:
        assert set(co["cell"]) == {"cell1", "cell2"}
        assert (co["end"] - co["start"]).to_numpy() == pytest.approx([down_s, down_s])
    sw = run.table("switchovers")
    assert list(sw["result"]) == (["switched"] if switched else [])
    ends = _ends(run)
    assert ends[1][1] == "repair"  # the failed instance is repaired by a crew either way
    inc = run.table("incidents")
    assert list(inc["root"]) == ["msc1"]
    # the OSS knows every cell hangs on a manually switched instance: one incident, impact 2
    assert inc["cells_affected"].iloc[0] == (2 if failover == "manual" else 0)
    assert run.summary["oss"]["false_tickets"] == 0


def test_a_dead_mate_cannot_take_over(tmp_path: Path) -> None:
    sc = twin.load_scenario(CORE_PAIR, (
        "faults.scripted=[{at: 1h, target: msc2, mode: element_failure},"
        " {at: 2h, target: msc1, mode: element_failure}]",
        "oss.automation.switch_standby=false", "oss.crews.travel_mean_min=100000"))
    asm = assemble(sc, tmp_path)
    asm.sim.env.run(until=2 * 3600 + 10)
    net = asm.network
    assert not net.state.in_service.any()  # msc1 was the active instance
    cmd = RepairCommand(0, "msc1", action="switch_standby")
    assert net.switch_over(cmd) == "standby failed"
    assert net.switch_over(RepairCommand(0, "msc2", action="switch_standby")) == "no effect"
    net.on_repair(RepairCommand(0, "msc2"))  # the mate repaired: now the switchover helps
    assert net.switch_over(cmd) == "switched"
    assert net.state.in_service.all() and net.state.is_down("msc1")
