"""Failure modes, as a NOC meets them: each has its own effect and its own cure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import twin

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BASE: dict[str, Any] = {
    "extends": "quickstart.yaml", "name": "modes", "duration": "2d",
    "subscribers": {"count": 2000},
    "faults": {"random": {"mtbf_h": {}}, "scripted": []},
}


def run(tmp_path: Path, scripted: list[dict[str, Any]], **extra: Any) -> twin.Run:
    sc = {**BASE, "faults": {**BASE["faults"], "scripted": scripted}, **extra}
    return twin.simulate(twin.load_scenario(sc, base_dir=SCENARIOS), out=tmp_path / "run",
                         report=False)


def alarms(r: twin.Run, cause: str) -> pd.DataFrame:
    """Raises the element managers sent for ``cause`` (the raw truth, lost ones included),
    whatever the OSS made of them."""
    a = r.table("alarm_causes")
    return a[a["probable_cause"] == cause]


def received(r: twin.Run, cause: str) -> pd.DataFrame:
    """Raises of ``cause`` as they reached the OSS (with their port)."""
    a = r.table("alarms_raw")
    return a[(a["probable_cause"] == cause) & (a["perceived_severity"] != "cleared")]


# The NOC takes ten minutes over an incident, so a critical one is released by the 5-minute
# auto-ticket rule, when the element's software error (it reaches the OSS well after the
# heartbeat failure) is part of the incident; with the default triage the NOC can release the
# ticket before that alarm is correlated, and a crew is sent without a restart.
SLOW_NOC = {"oss": {"noc": {"triage_mean_s": 600, "triage_dist": "deterministic"}}}


def test_software_crash_is_cleared_by_a_remote_restart(tmp_path: Path) -> None:
    r = run(tmp_path, [{"at": "10h", "target": "site5", "mode": "software_crash"}], **SLOW_NOC)
    assert not alarms(r, "softwareError").empty
    ends = r.table("fault_ends")
    assert list(ends["cleared_by"]) == ["restart"]
    (t,) = r.table("tickets").itertuples()
    assert (t.root, t.resolution, t.restarts, t.truck_rolls) == ("site5", "remote restart", 1, 0)
    # cleared the moment the restart was sent, minutes after the crash (a crew takes hours)
    assert float(ends["end"].iloc[0]) == t.in_progress < 10 * 3600 + 900
    assert r.summary["traffic"]["calls_lost_outage"] > 0


def test_a_restart_does_not_fix_hardware(tmp_path: Path) -> None:
    """The same element failing in hardware: the automation tries nothing remote (no software
    error), or when told to restart anyway, the restart does not help and a crew repairs it."""
    r = run(tmp_path, [{"at": "10h", "target": "site5", "mode": "element_failure"}],
            oss={**SLOW_NOC["oss"], "automation": {"restart": "always"}})
    assert list(r.table("fault_ends")["cleared_by"]) == ["repair"]
    (t,) = r.table("tickets").itertuples()
    assert (t.resolution, t.restarts, t.truck_rolls) == ("repaired", 1, 1)


def test_silent_sleeping_cell_raises_no_alarm_but_loses_calls(tmp_path: Path) -> None:
    r = run(tmp_path, [{"at": "6h", "target": "site2-c1", "mode": "degradation",
                        "capacity_factor": 0.0, "silent": True, "duration": "12h"}])
    causes = r.table("alarm_causes")
    assert causes["noise"].all()  # no element manager said a word but transient noise
    usage = r.table("usage")
    lost = usage[(usage["cell"] == "site2-c1") & (usage["outcome"] == "lost_outage")]
    assert len(lost) > 50
    assert lost["start"].between(6 * 3600, 18 * 3600 + 900).all()
    # the OSS may find it from its counters and send a crew: asleep until the fault ended
    ends = r.table("fault_ends")
    until = min(float(ends["end"].iloc[0]) if len(ends) else 18 * 3600.0, 18 * 3600.0)
    pm = r.table("traffic")
    asleep = pm[(pm["cell"] == "site2-c1")
                & pm["period_start"].between(7 * 3600, until - 900)]
    assert len(asleep) >= 4
    assert (asleep["carried_erlang"] == 0).all() and (asleep["available_s"] == 900).all()


def test_degradation_drops_calls_and_is_alarmed(tmp_path: Path) -> None:
    base = run(tmp_path / "a", [])
    bad = run(tmp_path / "b", [{"at": "9h", "target": "site3-c2", "mode": "degradation",
                                "drop_rate": 0.3, "duration": "1d"}])
    degraded = alarms(bad, "performanceDegraded")
    assert set(degraded["alarmed_object"]) == {"site3-c2"}
    assert (degraded["fault_id"] == bad.table("faults")["fault_id"].iloc[0]).all()
    ends = bad.table("fault_ends")
    until = float(ends["end"].iloc[0]) if len(ends) else 33 * 3600.0  # a crew may fix it
    assert until > 10 * 3600
    usage = bad.table("usage")
    cell = usage[(usage["cell"] == "site3-c2") & (usage["kind"] == "voice")
                 & usage["outcome"].isin(["completed", "dropped"])
                 & usage["start"].between(9 * 3600 + 900, until - 900)]
    share = (cell["outcome"] == "dropped").mean()
    assert 0.15 < share < 0.45, (share, len(cell))
    assert bad.summary["traffic"]["calls_dropped"] > base.summary["traffic"]["calls_dropped"]
    # offered demand is the same draw (common random numbers)
    assert bad.summary["traffic"]["calls_offered"] == base.summary["traffic"]["calls_offered"]


def test_flapping_raises_and_clears_repeatedly_until_replaced(tmp_path: Path) -> None:
    r = run(tmp_path, [{"at": "3h", "target": "site7", "mode": "flapping",
                        "flap_down": "2m", "flap_up": "8m"}])
    raw = r.table("alarms_raw")
    hb = raw[(raw["alarmed_object"] == "site7") & (raw["probable_cause"] == "heartbeatFailure")]
    assert (hb["perceived_severity"] == "cleared").sum() >= 3
    assert list(r.table("fault_ends")["cleared_by"]) == ["repair"]


def test_power_outage_runs_on_battery_then_fails(tmp_path: Path) -> None:
    r = run(tmp_path, [{"at": "8h", "target": "site4", "mode": "power_outage",
                        "duration": "5h"}],
            network={"power": {"battery_h": {"site_router": 2.0, "cell": 1.0}}})
    mains = alarms(r, "powerProblem")
    assert set(mains["alarmed_object"]) == {"site4", "site4-c1", "site4-c2", "site4-c3"}
    out = r.table("cell_outages")
    site4 = out[out["cell"].str.startswith("site4-")]
    assert len(site4) == 3
    assert site4["start"].min() == pytest.approx(9 * 3600)  # the cells' 1 h battery ran out
    assert site4["end"].max() == pytest.approx(13 * 3600)  # mains back after 5 h
    assert list(r.table("fault_ends")["cleared_by"]) == ["self"]


def test_fibre_cut_takes_every_link_in_the_cable(tmp_path: Path) -> None:
    sc = {
        "name": "cable", "description": "two links in one cable",
        "start": "2026-01-05T00:00:00Z", "duration": "1d",
        "network": {
            "elements": [{"id": "core1", "type": "core_router"},
                         {"id": "r1", "type": "site_router"},
                         {"id": "c1", "type": "cell"}, {"id": "c2", "type": "cell"}],
            "links": [{"a": "r1", "b": "core1", "id": "north", "cable": "duct7"},
                      {"a": "r1", "b": "core1", "id": "south", "cable": "duct7"},
                      {"a": "c1", "b": "r1"}, {"a": "c2", "b": "r1"}]},
        "subscribers": {"count": 200, "mix": {"consumer_postpaid": 1.0}},
        "faults": {"scripted": [{"at": "5h", "target": "duct7", "mode": "fibre_cut"}]},
        "bss": {"catalog": "catalogs/default.yaml"},
    }
    r = twin.simulate(twin.load_scenario(sc, base_dir=SCENARIOS), out=tmp_path / "c",
                      report=False)
    assert set(r.table("cell_outages")["cell"]) == {"c1", "c2"}
    assert set(received(r, "lossOfSignal")["resource"]) == {"north", "south"}


def test_a_storm_raises_failures_in_its_region_only(tmp_path: Path) -> None:
    calm = {"random": {"mtbf_h": {"cell": 2000}}, "scripted": []}
    stormy = {**calm, "storms": [{"at": "12h", "duration": "24h", "region": "region2",
                                  "factor": 100}]}
    a = twin.simulate(twin.load_scenario({**BASE, "faults": calm}, base_dir=SCENARIOS),
                      out=tmp_path / "calm", report=False)
    b = twin.simulate(twin.load_scenario({**BASE, "faults": stormy}, base_dir=SCENARIOS),
                      out=tmp_path / "storm", report=False)
    fa, fb = a.table("faults"), b.table("faults")
    storm = fb[fb["source"] == "storm"]
    assert len(storm) >= 5
    assert storm["target"].str.fullmatch(r"site[5-8](-c\d)?").all()  # region2: 2nd chain
    assert storm["start"].between(12 * 3600, 36 * 3600).all()
    pd.testing.assert_frame_equal(  # the ordinary failures are the same draw
        fa.drop(columns="fault_id").reset_index(drop=True),
        fb[fb["source"] != "storm"].drop(columns="fault_id").reset_index(drop=True))
