"""BSS exports validate against the TM Forum schemas: usage (TMF635), bills (TMF678)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

import twin
from twin.bss.exports import tmf678_bills, tmf678_rates
from twin.export import export

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


def test_usage_exports_as_tmf635_with_its_states(run: twin.Run, tmp_path: Path) -> None:
    export(run.path, tmp_path / "t", ["TMF635"])
    usage = json.loads((tmp_path / "t" / "TMF635-usage.json").read_text(encoding="utf-8"))
    assert len(usage) == run.summary["bss"]["cdrs_received"]
    status = Counter(u["status"] for u in usage)
    assert set(status) <= STATES
    # every rated record was billed by the end of the run, or charged to a prepaid balance;
    # duplicates were rejected
    online = run.summary["reconciliation"]["records_charged_online"]
    assert status["billed"] == run.summary["bss"]["cdrs_rated"] - online
    assert status["rated"] == online > 0
    dups = [u for u in usage
            if {"name": "rejectReason", "valueType": "string", "value": "duplicate"}
            in u["usageCharacteristic"]]
    assert len(dups) == run.summary["bss"]["cdrs_duplicate"] > 0
    assert all(u["status"] == "rejected" and "-dup-" in u["id"] for u in dups)
    check("TMF635", "Usage", usage[:300] + dups[:20])
