"""A whole run through the EMS dialects: every vendor's messages reach the OSS, a cut message
is a reject with a reason, and the accounting adds up."""

from __future__ import annotations

import twin

from .support import QUICKSTART, SMALL, RunScenario

NOISY = (*SMALL, "network.telemetry.malformed_rate=0.3")


def test_every_ems_message_is_an_alarm_or_a_reject(run_scenario: RunScenario) -> None:
    run: twin.Run = run_scenario(QUICKSTART, overrides=NOISY)
    oss = run.summary["oss"]
    raw = run.table("alarms_raw")
    synced = raw[raw["via"] == "sync"]  # recovered by alarm synchronisation, not an EMS event
    assert len(synced) == oss["alarms_resync_raised"] + oss["alarms_resync_cleared"] > 0
    raw = raw[raw["via"] == "notification"]
    rejects = run.table("alarm_rejects")
    assert oss["alarm_rejects"] == len(rejects) > 0
    assert oss["ems_events"] == len(raw) + len(rejects)
    assert set(rejects["dialect"]) <= {"snmp", "syslog", "ves"}
    assert rejects["reason"].str.len().gt(0).all()
    messages = run.table("messages")
    ems = messages[messages["type"] == "EmsEvent"]
    assert len(ems) == oss["ems_events"]
    # alpha, beta and gamma speak snmp, syslog and ves
    assert {d.split("(")[1].split(")")[0] for d in ems["detail"]} == {"snmp", "syslog", "ves"}
    causes = run.table("alarm_causes")
    joined = raw.merge(causes, on=["ems", "notification_id"], suffixes=("", "_truth"))
    raises = raw[raw["perceived_severity"] != "cleared"]
    assert len(joined) == len(raises)  # every raise the OSS read is the one the EMS sent
    assert (joined["alarmed_object"] == joined["alarmed_object_truth"]).all()


def test_a_clean_channel_has_no_rejects(run_scenario: RunScenario) -> None:
    run = run_scenario(QUICKSTART, overrides=(*SMALL, "network.telemetry.malformed_rate=0"))
    assert run.summary["oss"]["alarm_rejects"] == 0
    assert run.table("alarm_rejects").empty
