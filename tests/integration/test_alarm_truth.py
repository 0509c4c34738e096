"""Every alarm the element managers raise can be traced to the true fault behind it."""

from __future__ import annotations

from pathlib import Path

import twin

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_every_alarm_traces_to_an_active_root_cause_fault(tmp_path: Path) -> None:
    run = twin.simulate(SCENARIOS / "crew_shortage.yaml", out=tmp_path / "r", report=False,
                        overrides=["duration=4d", "subscribers.count=1000",
                                   "faults.scripted=[{at: 1d, target: site1-site2, "
                                   "mode: fibre_cut}, {at: 2d, target: site9, "
                                   "mode: power_outage, duration: 5h}]",
                                   "network.telemetry.transient_per_ne_day=0.05"])
    causes = run.table("alarm_causes")
    faults = run.table("faults").set_index("fault_id")
    ends = run.table("fault_ends").set_index("fault_id")["end"]
    raw = run.table("alarms_raw")
    raised = raw[raw["perceived_severity"] != "cleared"]
    assert len(causes) >= len(raised) > 20  # every raise the OSS received has a recorded cause
    assert causes["noise"].sum() >= 3  # transient noise, labelled as such: no fault behind it
    assert (causes.loc[causes["noise"], "fault_id"] == 0).all()
    causes = causes[~causes["noise"]]
    raised = raised.merge(causes[["ems", "notification_id"]], on=["ems", "notification_id"])
    assert (causes["fault_id"] > 0).all()
    assert set(causes["fault_id"]) <= set(faults.index)
    merged = raised.merge(causes, on=["ems", "notification_id", "alarmed_object"])
    assert len(merged) == len(raised)
    for row in merged.itertuples():
        f = faults.loc[row.fault_id]
        end = ends.get(row.fault_id, float("inf"))
        assert f["start"] - 0.01 <= row.event_time <= end + 0.01, row  # dialects round to ms
    # symptoms, not only roots: most alarms are on objects other than the fault's target
    assert (merged["alarmed_object"] != merged["fault_id"].map(faults["target"])).mean() > 0.5
