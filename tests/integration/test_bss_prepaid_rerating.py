"""A tariff correction on prepaid lines charged online adjusts their balances.

The tariff_correction story with online charging on: prepaid calls set up free from 1d8h are
rerated at the correction (3d20h); the differences are debited from the balances (not
invoiced), the balances still close, and revenue assurance stays exact.
"""

from __future__ import annotations

import pytest

import twin

from .support import SCENARIOS, RunScenario

OVERRIDES = ("duration=4d", "subscribers.count=1500", "bss.ocs.enabled=true")


@pytest.fixture(scope="module")
def run(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(SCENARIOS / "tariff_correction.yaml", overrides=OVERRIDES)


def test_rerating_prepaid_adjusts_balances(run: twin.Run) -> None:
    s, r = run.summary["bss"], run.summary["reconciliation"]
    rated = run.table("rated")
    rerated = rated[rated["state"] == "rerated"]
    assert len(rerated) > 0 and (rerated["offer"] == "consumer_prepaid").all()
    assert (rerated["channel"] == "balance").all()  # prepaid: charged online, not invoiced
    # the wrong price was 0: each difference is what the catalog charges for the call
    first = rated[rated["state"] == "rated"].set_index(["node_id", "record_id"])
    wrong = first.loc[rerated.set_index(["node_id", "record_id"]).index, "charge_minor"]
    assert (wrong == 0).all() and (rerated["charge_minor"] >= 0).all()
    assert rerated["charge_minor"].sum() > 0
    assert s["ocs_adjusted_minor"] == rerated["charge_minor"].sum() == s["rerated_minor"]
    # the balances close: opening + top-ups − debits (the adjustments among them)
    assert s["ocs_debited_minor"] == rated.loc[rated["channel"] == "balance",
                                               "charge_minor"].sum()
    assert (s["ocs_opening_balance_minor"] + s["ocs_topup_minor"] - s["ocs_debited_minor"]
            == s["ocs_balance_minor"])
    # nothing of it reached an invoice; the funnel is exact, the error fully corrected
    lines = run.table("invoice_lines")
    assert not lines["sub"].isin(rerated["sub"]).any() or (
        lines[lines["sub"].isin(rerated["sub"])]["line_type"].str.startswith("usage").sum()
        == 0)
    assert r["tariff_error_minor"] == 0 and r["identity_holds"] is True
    assert r["charged_online_minor"] == s["ocs_debited_minor"]
