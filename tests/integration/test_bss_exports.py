"""BSS exports validate against the TM Forum schemas: usage (TMF635), bills (TMF678)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

import twin
from twin.bss.exports import tmf635_usage, tmf678_bills, tmf678_rates, usage_status

from .support import QUICKSTART, SMALL, RunScenario
from .tmf import check

STATES = {"received", "rejected", "recycled", "guided", "rated", "rerated", "billed"}


@pytest.fixture(scope="module")
def run(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=SMALL)


def start_of(run: twin.Run) -> datetime:
    return datetime.fromisoformat(str(run.scenario["start"]).replace("Z", "+00:00"))


def test_bills_export_as_tmf678(run: twin.Run) -> None:
    inv, lines = run.table("invoices"), run.table("invoice_lines")
    per = run.summary["bss"]["minor_per_major"]
    vat = run.scenario["bss"]["catalog"]["vat_pct"]
    bills = tmf678_bills(inv, start_of(run), per, vat)
    assert len(bills) == len(inv) > 0
    check("TMF678", "CustomerBill", bills)
    total = sum(b["amountDue"]["value"] for b in bills)
    assert total == pytest.approx(run.summary["bss"]["billed_minor"] / per, abs=0.01)
    for b in bills:  # the tax is the VAT rate of the net amount, to the cent
        net, tax = b["taxExcludedAmount"]["value"], b["taxItem"][0]["taxAmount"]["value"]
        assert tax == pytest.approx(net * vat / 100, abs=0.0051)

    some = inv.head(50)["invoice_id"]
    rates = tmf678_rates(lines[lines["invoice_id"].isin(some)], inv, start_of(run), per)
    assert rates
    check("TMF678", "AppliedCustomerBillingRate", rates)
    kinds = {r["appliedBillingRateType"] for r in rates}
    assert "appliedBillingCharge" in kinds


def test_usage_exports_as_tmf635_with_its_states(run: twin.Run) -> None:
    cdrs, rated, inv = run.table("cdrs"), run.table("rated"), run.table("invoices")
    status = usage_status(cdrs, rated, inv)
    assert set(status) <= STATES
    # every rated record was billed by the end of the run; duplicates were rejected
    assert (status[cdrs["state"] == "guided"] == "billed").all()
    assert (status[cdrs["reason"] == "duplicate"] == "rejected").all()
    sample = pd.concat([cdrs.head(300), cdrs[cdrs["state"] == "rejected"].head(20)])
    usage = tmf635_usage(sample, rated, inv, start_of(run),
                         run.summary["bss"]["minor_per_major"], run.summary["bss"]["currency"])
    assert len(usage) == len(sample)
    check("TMF635", "Usage", usage)
    assert {u["status"] for u in usage} == {"billed", "rejected"}
    billed = [u for u in usage if u["status"] == "billed"]
    assert all(u["ratedProductUsage"][0]["isBilled"] for u in billed)
