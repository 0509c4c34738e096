"""Planned maintenance: announced ahead, alarms suppressed in the window, no SLA credit.

The runs take the SLA tier family of ``test_sla_credits`` (agg2 carries twelve cells with
enterprise offices; the only crew is kept far away): a five-hour outage of agg2 is either an
unplanned failure, announced maintenance, or maintenance that overruns its five-hour window
by an hour. The default catalog's Business Connect credits 20 % of 581 cents (4/31 of the
fee) for an outage over 4 h and 10 % (58 cents) for one over 45 min.
"""

from __future__ import annotations

import pytest

import twin

from .support import SCENARIOS, RunScenario, without_noise

SLA_BREACH = SCENARIOS / "sla_breach.yaml"
PINNED = ("start=2026-01-05T00:00:00Z", "bss.bill_cycle_day=1", "subscribers.count=2000",
          "faults.random.mtbf_h={}", "oss.crews.travel_mean_min=1000000",
          "traffic.interval=6h", "traffic.data.sessions_per_sub_day=0", "duration=4d")
START, WINDOW = 154_800.0, 5 * 3600.0  # 1d19h, 5 h


def _run(run_scenario: RunScenario, *faults: str, extra: tuple[str, ...] = ()) -> twin.Run:
    return run_scenario(SLA_BREACH, overrides=(*PINNED, *extra,
                                               f"faults.scripted=[{', '.join(faults)}]"))


MAINT = "{at: 1d19h, target: agg2, mode: planned_maintenance, duration: 5h}"
FAIL = "{at: 1d19h, target: agg2, mode: element_failure, duration: 5h}"
OVERRUN = "{at: 1d19h, target: agg2, mode: planned_maintenance, duration: 6h, window: 5h}"
LATER = "{at: 2d10h, target: agg2, mode: element_failure, duration: 30m}"


def test_window_is_announced_ahead_to_oss_and_bss(run_scenario: RunScenario) -> None:
    run = _run(run_scenario, MAINT, extra=("faults.maintenance_notice=2h",))
    msgs = run.table("messages")
    ann = msgs[msgs["type"] == "MaintenanceWindow"]
    note = msgs[msgs["type"] == "PlannedMaintenanceNotice"]
    assert list(ann["t"]) == [START - 7200.0]
    assert list(note["t"]) == [START - 7200.0]  # passed on to the BSS at once
    win = run.table("maintenance_windows").iloc[0]
    assert (win["start"], win["end"], win["announced"]) == (START, START + WINDOW, START - 7200)
    assert win["targets"] == "agg2" and win["cells"] == 12


def test_alarms_in_the_window_are_kept_but_not_ticketed(run_scenario: RunScenario) -> None:
    run = _run(run_scenario, MAINT, LATER)
    every = run.table("alarms")
    alarms = without_noise(run, every)  # transient noise elsewhere is not the work's
    during = alarms[(alarms["event_time"] >= START) & (alarms["event_time"] < START + WINDOW)]
    after = alarms[alarms["event_time"] >= START + WINDOW]
    assert len(during) >= 13  # agg2's heartbeat failure and its twelve cells at least
    assert (during["maintenance"] == 1).all() and (during["incident_id"] == 0).all()
    # the failure after the window is an ordinary incident with a ticket
    assert len(after) and (after["maintenance"] == 0).all() and (after["incident_id"] > 0).all()
    inc = run.table("incidents")
    assert list(inc["root"].unique()) == ["agg2"]
    assert (inc["created"] > START + WINDOW).all()
    oss = run.summary["oss"]
    assert oss["maintenance_windows"] == 1
    assert oss["alarms_maintenance"] == int((every["maintenance"] == 1).sum()) >= len(during)
    assert oss["maintenance_overruns"] == 0
    # the maintenance is neither an undetected fault nor a false ticket; the failure is found
    assert oss["faults_undetected"] == 0 and oss["faults_detected"] == 1
    assert oss["false_tickets"] == 0 and oss["rca_recall"] == 1.0


def test_maintenance_in_window_earns_no_credit_unlike_equal_failure(
        run_scenario: RunScenario) -> None:
    planned = _run(run_scenario, MAINT)
    failed = _run(run_scenario, FAIL)
    # the OSS measures both outages alike …
    for run in (planned, failed):
        out = run.table("service_outages")
        assert out["cell"].nunique() == 12
        assert (out["end"] - out["start"]).max() == pytest.approx(WINDOW, abs=120)
    # … but only the unplanned one earns the table's credit (20 % of 581 = 116 per line)
    credits = failed.table("sla_credits")
    assert not credits.empty and set(credits["credit_minor"]) == {116}
    assert planned.table("sla_credits").empty
    assert planned.summary["bss"]["sla_credits_minor"] == 0
    assert failed.summary["bss"]["sla_credits_minor"] == 116 * len(credits)
    # nor do customers call care about announced work
    care = planned.table("care_tickets")
    assert (care["reason"] != "network outage").all()
    assert (failed.table("care_tickets")["reason"] == "network outage").sum() > 0
    # and the truth agrees: announced maintenance earns nothing there either
    assert planned.summary["bss"]["sla_credits_true_minor"] == 0


def test_overrun_is_a_real_outage(run_scenario: RunScenario) -> None:
    run = _run(run_scenario, OVERRUN)
    oss = run.summary["oss"]
    assert oss["maintenance_overruns"] == 1
    inc = run.table("incidents")
    assert list(inc["root"]) == ["agg2"]
    grace = 300.0
    assert inc["created"].iloc[0] >= START + WINDOW + grace
    t = run.table("tickets").iloc[0]
    assert t["resolution"] == "maintenance completed" and t["truck_rolls"] == 0
    status = run.table("ticket_status")
    assert "held" in set(status["status"])
    # only the hour past the window counts: over 45 min → 10 % of 581 = 58 per line
    credits = run.table("sla_credits")
    assert not credits.empty
    assert credits["outage_s"].to_numpy() == pytest.approx(3600.0, abs=120)
    assert set(credits["credit_minor"]) == {58}
    # detected from the window's end: correlation after the grace period
    assert oss["faults_detected"] == 1
    assert oss["mttd_s"] == pytest.approx(grace + 60.0, abs=60)


def test_oss_can_ignore_announcements(run_scenario: RunScenario) -> None:
    run = _run(run_scenario, MAINT, extra=("oss.maintenance.enabled=false",))
    assert run.summary["oss"]["maintenance_windows"] == 0
    assert run.summary["oss"]["incidents"] >= 1  # it looks like a failure again
    assert not run.table("sla_credits").empty  # and the BSS was not told
