"""Rerating: a misconfigured prepaid voice price (free calls) from Tuesday 08:00, corrected on
Thursday 20:00: the calls rated in between are rerated, the differences charged (to the
prepaid balances); an error never corrected leaks. A correction after a bill run goes on
the next bill."""

from __future__ import annotations

import numpy as np
import pytest

import twin

from .support import SCENARIOS, RunScenario

SCENARIO = SCENARIOS / "tariff_correction.yaml"
AT, FIXED = 86_400 + 8 * 3600, 3 * 86_400 + 20 * 3600
SMALLER = ("subscribers.count=1500",)


@pytest.fixture(scope="module")
def corrected(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(SCENARIO, overrides=SMALLER)


def test_the_misrated_calls_are_rerated_at_the_correction(corrected: twin.Run) -> None:
    rated = corrected.table("rated")
    first, again = rated[rated["state"] == "rated"], rated[rated["state"] == "rerated"]
    window = first[(first["rated_at"] >= AT) & (first["rated_at"] < FIXED)
                   & (first["offer"] == "consumer_prepaid") & (first["kind"] == 0)]
    assert (window["charge_minor"] == 0).all()  # free while the error lasted
    assert len(again) > 0 and (again["rated_at"] == FIXED).all()
    assert set(again["offer"]) == {"consumer_prepaid"} and set(again["kind"]) == {0}
    # every answered call had a charge due (an unanswered one, 0 s, has none)
    assert set(again["record_id"]) == set(window.loc[window["duration_s"] > 0, "record_id"])
    assert (again["charge_minor"] > 0).all()
    # prepaid calls outside the window were charged normally
    before = first[(first["rated_at"] < AT) & (first["offer"] == "consumer_prepaid")
                   & (first["kind"] == 0) & (first["duration_s"] > 0)]
    assert (before["charge_minor"] > 0).all()
    b, rec = corrected.summary["bss"], corrected.summary["reconciliation"]
    assert b["rerated_records"] == len(again) == b["misrated_records"]
    assert b["rerated_minor"] == int(again["charge_minor"].sum()) \
        == rec["rerate_adjustments_minor"]
    # nothing left uncorrected: only the records the network wrote wrong and those of files
    # cut in transfer go unbilled
    assert rec["tariff_error_minor"] == 0
    assert rec["unbilled_minor"] == rec["leaked_minor"] == (
        rec["leaked_rejected_minor"] + rec["leaked_collector_minor"])


def test_the_rerated_charges_are_what_the_catalog_says(corrected: twin.Run) -> None:
    """Original plus difference equals the price list: 8 ct a minute in 60/1 steps (4 ct
    evenings and weekends), rounded up — the allowance-free prepaid offer."""
    rated = corrected.table("rated")
    again = rated[rated["state"] == "rerated"]
    price = np.where(again["period"] == "peak", 8, 4)
    billable = np.maximum(60, again["duration_s"].to_numpy())
    assert (again["billable"].to_numpy() == billable).all()
    assert (again["charge_minor"].to_numpy() == -(-billable * price // 60)).all()


def test_an_error_never_corrected_leaks(run_scenario: RunScenario,
                                        corrected: twin.Run) -> None:
    run = run_scenario(SCENARIO, overrides=(*SMALLER, "bss.tariff_errors[0].corrected_at=null"))
    rec = run.summary["reconciliation"]
    assert run.summary["bss"]["rerated_records"] == 0
    assert rec["tariff_error_minor"] > corrected.summary["bss"]["rerated_minor"] > 0
    assert rec["unbilled_minor"] == (rec["tariff_error_minor"] + rec["leaked_rejected_minor"]
                                     + rec["leaked_collector_minor"])
    assert run.table("revenue_assurance").set_index("stage").loc[
        "tariff error not corrected", "amount_minor"] == -rec["tariff_error_minor"]


def test_prepaid_rerating_without_online_charging_adjusts_balances(
        corrected: twin.Run) -> None:
    """The prepaid calls rerated at the correction are debited from the balances (online
    charging is off: prepaid is charged from its records), not invoiced."""
    rated = corrected.table("rated")
    again = rated[rated["state"] == "rerated"]
    assert (again["channel"] == "balance").all()
    b = corrected.summary["bss"]
    assert b["ocs_adjusted_minor"] == int(again["charge_minor"].sum()) > 0


def test_a_correction_after_the_bill_run_goes_on_the_next_bill(
        run_scenario: RunScenario) -> None:
    """A wrong price on business calls (8 ct a minute instead of free) from 29 January,
    corrected on 2 February after January's bill run: January's calls are credited back on
    February's invoices."""
    run = run_scenario(SCENARIO, overrides=(
        *SMALLER, "start=2026-01-28T00:00:00Z", "duration=6d",
        "bss.tariff_errors[0].offer=enterprise", "bss.tariff_errors[0].price=8",
        "bss.tariff_errors[0].at=1d", "bss.tariff_errors[0].corrected_at=5d"))
    rated = run.table("rated")
    again = rated[rated["state"] == "rerated"]
    feb_1 = 4 * 86_400
    jan = again[again["start"] < feb_1]
    assert len(jan) > 0 and (jan["charge_minor"] < 0).all()  # credits
    inv = run.table("invoices")
    feb = inv[inv["billed_from"] >= feb_1]
    # February's invoices carry February's usage plus January's rerating differences
    billed = rated[rated["channel"] == "invoice"]
    feb_usage = billed[(billed["start"] >= feb_1)]["charge_minor"].sum()
    assert int(feb["usage_minor"].sum()) == int(feb_usage + jan["charge_minor"].sum())
    rec = run.summary["reconciliation"]
    assert rec["tariff_error_minor"] == 0
    # carried to a later bill: posted to February's cycle (1) though January's (0) usage
    assert (jan["bill_cycle"] == 1).all()
    carried = billed[(billed["start"] < feb_1) & (billed["bill_cycle"] == 1)]
    assert rec["billed_late_minor"] == int(carried["charge_minor"].sum())
