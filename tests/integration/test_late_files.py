"""CDR files held back in transfer (``bss.mediation.file_late_share``) and re-sent days later:
over a bill run, their records come late — billed on the next bill while inside
``bss.late_window`` of the bill run, written off ``too late`` after it — and the revenue
identity holds with the new leak."""

from __future__ import annotations

import pytest

import twin

from .support import CLEAN, QUICKSTART, RunScenario

# The quickstart over the 1 January bill run, the other background effects off. A two-day
# late window (default 7 d) lets a twelve-day run see both fates of a late file: re-sent
# within two days of the bill run (late, billed) or after them (written off).
OVER_BILL_RUN = ("start=2025-12-25T00:00:00Z", "duration=12d", "subscribers.count=1500",
                 "bss.late_window=2d", "oss.pm.enabled=false", *CLEAN)
HELD = (*OVER_BILL_RUN, "bss.mediation.file_late_share=0.05")
NEW_YEAR = 7 * 86_400.0  # run seconds: the December cycle ends (bill_cycle_day 1)


@pytest.fixture(scope="module")
def held(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=HELD)


@pytest.fixture(scope="module")
def on_time(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=OVER_BILL_RUN)


def test_held_files_reach_mediation_late_and_december_usage_is_written_off(
        held: twin.Run, on_time: twin.Run) -> None:
    assert held.table("usage").equals(on_time.table("usage"))
    bss, bss0 = held.summary["bss"], on_time.summary["bss"]
    assert bss0["cdrs_late_collected"] == 0 == bss0["cdrs_too_late"]
    # about a file in 20 of each recording entity's pickups held, each for days
    assert 0.02 * bss0["cdrs_received"] < bss["cdrs_late_collected"] < 0.08 * bss0[
        "cdrs_received"]
    cdrs = held.table("cdrs")
    too_late = cdrs[cdrs["reason"] == "too late"]
    assert len(too_late) > 0 and bss["cdrs_too_late"] > 0
    assert (too_late["start"] < NEW_YEAR).all()  # December's usage, its cycle billed
    # files re-sent inside the window go on the next bill: late, not leaked
    assert bss["late_usage_minor"] > 0 == bss0["late_usage_minor"]
    rec, rec0 = held.summary["reconciliation"], on_time.summary["reconciliation"]
    assert rec["identity_holds"] is True and rec0["identity_holds"] is True
    assert rec["leaked_late_minor"] > 0 == rec0["leaked_late_minor"]
    assert rec["carried_usage_minor"] == rec0["carried_usage_minor"]
    # files still held at the end are lost to the run: the collector cause
    assert bss["cdrs_lost_collector"] > 0 == bss0["cdrs_lost_collector"]
    assert rec["leaked_collector_minor"] > 0 == rec0["leaked_collector_minor"]
    assert rec["leaked_minor"] == sum(rec[f"leaked_{k}_minor"] for k in (
        "collector", "rejected", "suspense", "late", "fail_open", "terminated"))
    assert held.summary["bss"]["cdrs_received"] + bss["cdrs_lost_collector"] == bss0[
        "cdrs_received"]


def test_no_share_no_file_late(on_time: twin.Run, run_scenario: RunScenario) -> None:
    # with no file held the delay never matters: no draw, no late record, the same tables
    other = run_scenario(QUICKSTART,
                         overrides=(*OVER_BILL_RUN, "bss.mediation.file_late_mean=1d"))
    assert on_time.summary["bss"]["cdrs_late_collected"] == 0
    assert on_time.summary["bss"] == other.summary["bss"]
    for name in ("usage", "cdrs", "invoices"):
        assert on_time.table(name).equals(other.table(name)), name


def test_parts_held_back_past_the_retention_are_late_parts_not_a_second_session(
        run_scenario: RunScenario) -> None:
    """Sessions written as many partial records, files held back for a day, and mediation
    forgetting dedup keys and assembled sessions after an hour: a held-back part of a
    session already assembled without it is a late part, never a second record of the
    session (it was: the BSS rated 483 records more than the truth, and the run failed)."""
    run = run_scenario(QUICKSTART, overrides=(
        "duration=3d", "subscribers.count=1000", "traffic.records.partial_time_limit=300",
        "bss.mediation.file_late_share=0.3", "bss.mediation.file_late_mean=1d",
        "bss.mediation.dedup_retention=1h", "bss.mediation.assembly_timeout=1h"))
    bss = run.summary["bss"]
    assert bss["sessions_assembled_incomplete"] > 0 and bss["cdrs_late_partial"] > 0
    assert run.summary["reconciliation"]["identity_holds"] is True
    rated = run.table("rated")
    first = rated[rated["state"] == "rated"]
    assert not first.duplicated(["node_id", "charging_id"]).any()  # each session rated once
