"""Prepaid lines on online charging in a full run: their usage is charged to balances, not
invoiced, and the revenue funnel still adds up to the cent."""

from __future__ import annotations

import twin

from .support import QUICKSTART, SMALL, RunScenario


def test_prepaid_usage_goes_to_balances_and_the_funnel_holds(
        run_scenario: RunScenario) -> None:
    run = run_scenario(QUICKSTART, overrides=(*SMALL, "bss.ocs.enabled=true"))
    b, rec = run.summary["bss"], run.summary["reconciliation"]
    assert b["ocs_enabled"] is True
    rated = run.table("rated")
    subs = run.table("subscriptions").set_index("sub")
    prepaid = subs.loc[rated["sub"], "account_type"].to_numpy() == "prepaid"
    assert (rated.loc[prepaid, "channel"] == "balance").all()
    assert (rated.loc[~prepaid, "channel"] == "invoice").all()
    online = int(rated.loc[prepaid, "charge_minor"].sum())
    assert online > 0 and rec["charged_online_minor"] == online == b["ocs_debited_minor"]
    assert rec["invoiced_usage_minor"] + online == rec["rated_minor"]
    # the network asks for quota before serving prepaid lines: every record had a reservation
    assert b["ocs_requests"] > 0 and b["ocs_post_charged"] == 0
    assert b["ocs_open_sessions"] == 0
    assert (b["ocs_opening_balance_minor"] + b["ocs_topup_minor"] - b["ocs_debited_minor"]
            == b["ocs_balance_minor"])
    lines = run.table("invoice_lines")
    pre_lines = lines[lines["sub"].isin(subs.index[subs["account_type"] == "prepaid"])]
    assert not pre_lines["line_type"].str.startswith("usage").any()
    ra = run.table("revenue_assurance").set_index("stage")["amount_minor"]
    assert ra["charged to prepaid balances"] == -online
    assert "CreditRequest" in run.manifest["message_routes"]


def test_without_online_charging_prepaid_usage_is_debited_from_balances(
        run_scenario: RunScenario) -> None:
    """Online charging off: the network asks nothing before serving prepaid lines, and the
    BSS debits each prepaid record from its line's balance afterwards (hot billing). A
    prepaid account is never invoiced for usage: it gets no invoice at all here (the
    default catalog's prepaid offer has no fees)."""
    run: twin.Run = run_scenario(QUICKSTART, overrides=SMALL)
    b, rec = run.summary["bss"], run.summary["reconciliation"]
    assert b["ocs_enabled"] is False and b["ocs_requests"] == 0
    rated = run.table("rated")
    subs = run.table("subscriptions").set_index("sub")
    prepaid = subs.loc[rated["sub"], "account_type"].to_numpy() == "prepaid"
    assert prepaid.any() and (rated.loc[prepaid, "channel"] == "balance").all()
    assert (rated.loc[~prepaid, "channel"] == "invoice").all()
    online = int(rated.loc[prepaid, "charge_minor"].sum())
    assert online > 0 and rec["charged_online_minor"] == online == b["ocs_debited_minor"]
    # every prepaid record was charged from its record, none had a reservation
    assert b["ocs_post_charged"] == int(prepaid.sum()) == rec["records_charged_online"]
    assert (b["ocs_opening_balance_minor"] + b["ocs_topup_minor"] - b["ocs_debited_minor"]
            == b["ocs_balance_minor"])
    inv = run.table("invoices")
    assert set(inv["account_type"]) == {"postpaid"}
    pre_accounts = set(subs.loc[subs["account_type"] == "prepaid", "account"])
    assert not pre_accounts & set(inv["account"])
