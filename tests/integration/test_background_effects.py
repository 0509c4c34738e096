"""Background effects of an operator's network: radio drops drawn per call, records the
network writes corrupt or with an unknown subscriber, transient alarm noise and CDR files cut
in transfer. Each is a real mechanism on its own random stream: switched on, it changes what
it touches and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

import twin
from twin.messages import ABNORMAL_RELEASE

from .support import CLEAN, QUICKSTART, SMALL, RunScenario

# the OSS's PM threshold alarms are off: a noisy drop rate could page crews, and their
# repairs would move the outages (a real effect, but not the one checked here)
OFF = (*SMALL, "oss.pm.enabled=false", *CLEAN)
RADIO = (*OFF, "traffic.radio.drop_rate=0.02")
DEFECTS = (*OFF, "traffic.records.malformed_share=0.01",
           "traffic.records.unknown_subscriber_share=0.01")
NOISE = (*OFF, "network.telemetry.transient_per_ne_day=0.5")
CUTS = (*OFF, "bss.mediation.file_cut_share=0.05")


@pytest.fixture(scope="module")
def off(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=OFF)


@pytest.fixture(scope="module")
def radio(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=RADIO)


@pytest.fixture(scope="module")
def defects(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=DEFECTS)


def test_radio_drops_are_drawn_per_call_and_leave_the_rest_alone(off: twin.Run,
                                                                 radio: twin.Run) -> None:
    u0, u1 = off.table("usage"), radio.table("usage")
    # the same demand and the same faults: radio drops have their own stream
    assert sorted(u0["id"]) == sorted(u1["id"])
    assert off.table("faults").equals(radio.table("faults"))
    calls0 = u0[u0["kind"] == "voice"].set_index("id").sort_index()
    calls1 = u1[u1["kind"] == "voice"].set_index("id").sort_index()
    new_drops = (calls1["outcome"] == "dropped") & (calls0["outcome"] != "dropped")
    assert new_drops.sum() > 100
    # a radio drop cuts a call short; every other call ends as it did
    assert (calls1.loc[new_drops, "actual_s"] < calls0.loc[new_drops, "actual_s"]).all()
    same = ~new_drops
    assert (calls1.loc[same, "outcome"] == calls0.loc[same, "outcome"]).all()
    # about drop_rate × (coverage mix × factors) × (1 + load) of the answered calls
    answered = calls1["outcome"].isin(["completed", "dropped"]).sum()
    share = float(new_drops.sum()) / answered
    assert 0.02 * 0.8 * 0.7 < share < 0.02 * 0.8 * 2.0
    # the counters the OSS sees, and the records the BSS gets, carry them
    pm = radio.table("traffic")
    assert int(pm["calls_dropped"].sum()) == int((calls1["outcome"] == "dropped").sum())
    cdrs = radio.table("cdrs")
    voice = cdrs[(cdrs["kind"] == 0) & (cdrs["seq"] == 0)].drop_duplicates("charging_id")
    abnormal = set(voice.loc[voice["cause"] == ABNORMAL_RELEASE, "charging_id"])
    assert set(calls1.index[new_drops]) <= abnormal | set(
        calls1.index[new_drops & (calls1["actual_s"] <= calls1["answer_s"])])
    assert radio.summary["oss"]["kpi_drop_rate"] > 50 * off.summary["oss"]["kpi_drop_rate"]


def test_radio_drops_are_worse_in_poor_coverage(radio: twin.Run) -> None:
    u = radio.table("usage")
    calls = u[(u["kind"] == "voice") & u["outcome"].isin(["completed", "dropped"])]
    by_cell = calls.groupby("cell")["outcome"].apply(lambda s: (s == "dropped").mean())
    # coverage factors: the worst cells drop several times what the best do
    assert by_cell.max() > 3 * max(by_cell.min(), 1e-9)


def test_defective_records_are_rejected_and_leak_to_the_unit(off: twin.Run,
                                                             defects: twin.Run) -> None:
    assert off.table("usage").equals(defects.table("usage"))
    cdrs = defects.table("cdrs")
    reasons = cdrs.loc[cdrs["state"] == "rejected", "reason"].value_counts()
    offline = int((off.table("cdrs")["state"] == "guided").sum())
    for reason in ("negative quantity", "unknown subscriber"):
        assert 0.005 * offline < reasons.get(reason, 0) < 0.02 * offline, reason
    assert off.table("cdrs")["reason"].isin(["negative quantity",
                                             "unknown subscriber"]).sum() == 0
    rec = defects.summary["reconciliation"]
    assert rec["identity_holds"] is True
    assert rec["leaked_rejected_minor"] > 0 == off.summary["reconciliation"][
        "leaked_rejected_minor"]
    assert rec["leaked_minor"] == sum(rec[f"leaked_{k}_minor"] for k in (
        "collector", "rejected", "suspense", "late", "fail_open", "terminated"))
    assert np.isclose(rec["carried_usage_minor"],
                      off.summary["reconciliation"]["carried_usage_minor"])


def test_alarm_noise_leaves_the_faults_alarms_and_the_oss_work_alone(
        off: twin.Run, run_scenario: RunScenario) -> None:
    noisy = run_scenario(QUICKSTART, overrides=NOISE)
    causes = noisy.table("alarm_causes")
    assert causes["noise"].sum() > 50
    # the faults' alarms come as before (their delays and duplicates have their own draws) …
    real = causes[~causes["noise"]].drop(columns="notification_id").reset_index(drop=True)
    before = off.table("alarm_causes").drop(columns="notification_id")
    assert real.equals(before.reset_index(drop=True))
    # … and the OSS opens no incident, no ticket and no truck roll for the noise
    for key in ("incidents", "tickets", "truck_rolls", "remote_restarts", "false_tickets",
                "faults_detected", "mttd_s", "mttr_s"):
        assert noisy.summary["oss"][key] == off.summary["oss"][key], key
    assert noisy.summary["oss"]["alarms_raw"] > off.summary["oss"]["alarms_raw"] + 50


def test_files_cut_in_transfer_leak_at_the_collector_to_the_unit(
        off: twin.Run, run_scenario: RunScenario) -> None:
    cut = run_scenario(QUICKSTART, overrides=CUTS)
    assert off.table("usage").equals(cut.table("usage"))
    lost = cut.summary["bss"]["cdrs_lost_collector"]
    written = off.summary["bss"]["cdrs_received"]
    # a file in 20 cut, at a uniform point: about a fortieth of the records
    assert 0.01 * written < lost < 0.05 * written
    assert off.summary["bss"]["cdrs_lost_collector"] == 0
    assert cut.summary["bss"]["cdrs_received"] == written - lost
    rec, rec0 = cut.summary["reconciliation"], off.summary["reconciliation"]
    assert rec["identity_holds"] is True
    assert rec["leaked_collector_minor"] > 0 == rec0["leaked_collector_minor"]
    assert rec["records_collected"] < rec0["records_collected"]
    assert rec["carried_usage_minor"] == rec0["carried_usage_minor"]


@pytest.mark.parametrize(("override", "named"), [
    ("traffic.radio.coverage_mix={good: 0.5, great: 0.5}", "unknown coverage class 'great'"),
    ("traffic.radio.coverage_mix={good: 0.5, poor: 0.2}", "must add up to 1"),
    ("traffic.radio.coverage_factor={good: 1.0}", "no factor for class 'fair'"),
    ("traffic.radio.drop_rate=1.5", "traffic.radio.drop_rate"),
    ("traffic.records.malformed_share=-0.1", "traffic.records.malformed_share"),
    ("bss.mediation.file_cut_share=2", "bss.mediation.file_cut_share"),
    ("bss.mediation.file_late_share=2", "bss.mediation.file_late_share"),
    ("bss.mediation.file_late_mean=0", "bss.mediation.file_late_mean"),
    ("network.telemetry.transient_per_ne_day=-1", "network.telemetry.transient_per_ne_day"),
    ("oss.alarms.qualification={transmissionError: -5}", "oss.alarms.qualification"),
])
def test_bad_background_settings_name_the_field(override: str, named: str) -> None:
    with pytest.raises(twin.ScenarioError, match=named):
        twin.load_scenario(QUICKSTART, (override,))
