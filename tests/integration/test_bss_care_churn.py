"""Customer care and churn: outage-hit customers call care (tickets name the OSS incident),
churn rises with the outage hours a line went through, and churned lines stop paying."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import twin

from .support import SCENARIOS, RunScenario

QUICKSTART = SCENARIOS / "quickstart.yaml"

SLA_BREACH = SCENARIOS / "sla_breach.yaml"
# three weeks from 20 January: the outage on day 1 evening, notices in January, lines leave on
# 1 February (the end of their cycle), and February is billed without them
CHURNY = ("start=2026-01-20T00:00:00Z", "duration=20d", "subscribers.count=2000",
          "bss.care.churn_per_outage_hour=0.05", "bss.care.churn_base_monthly=0",
          # prepaid lines that leave use the network like the rest, so records they write after
          # leaving have a price (postpaid ones mostly fall inside an allowance)
          "traffic.account_type_factors={prepaid: 1}")
FEB_1, MAR_1 = 12 * 86_400.0, 40 * 86_400.0


@pytest.fixture(scope="module")
def churny(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(SLA_BREACH, overrides=CHURNY)


def test_outage_hit_customers_contact_care_about_the_incident(run_scenario: RunScenario) -> None:
    run = run_scenario(SLA_BREACH)
    tickets = run.table("care_tickets")
    outages = run.table("service_outages")
    subs = run.table("subscriptions").set_index("sub")
    hit = tickets[tickets["reason"] == "network outage"]
    assert len(hit) == run.summary["bss"]["care_contacts_outage"] > 0
    assert set(hit["incident_id"]) <= set(outages["incident_id"])
    cells = outages.set_index("incident_id")["cell"]
    for t in hit.itertuples():  # the caller's line is on a cell of that incident
        assert subs.loc[t.sub, "cell"] in set(cells.loc[[t.incident_id]])
    assert (hit["opened"] >= hit["experienced"]).all()
    assert (hit["closed"] > hit["opened"]).all()
    # about 1 − exp(−rate × hours) of the lines on the cells call
    rate = run.scenario["bss"]["care"]["outage_contact_rate_per_h"]
    per_cell = outages.assign(h=(outages["end"] - outages["start"]) / 3600).groupby("cell")["h"]
    hours = per_cell.sum()
    lines = subs[subs["cell"].isin(hours.index)]
    expected = float((1 - np.exp(-rate * hours.loc[lines["cell"]])).sum())
    assert abs(len(hit) - expected) < 4 * np.sqrt(expected) + 3


def test_churn_rises_with_outage_hours(churny: twin.Run) -> None:
    churn = churny.table("churn")
    assert len(churn) == churny.summary["bss"]["churned"] > 0
    assert (churn["outage_h"] > 0).all()  # no base churn: only outage-hit lines leave
    assert churn["monthly_prob"].to_numpy() == pytest.approx(
        0.05 * churn["outage_h"].to_numpy())
    # they leave at the end of the cycle they gave notice in
    assert (churn["leaves"] == np.where(churn["notice"] < FEB_1, FEB_1, MAR_1)).all()


def test_churned_lines_stop_paying_and_the_funnel_holds(churny: twin.Run) -> None:
    churn = churny.table("churn").set_index("sub")
    churn = churn[churn["leaves"] == FEB_1]  # gone in February (the others leave in March)
    lines = churny.table("invoice_lines")
    inv = churny.table("invoices")
    feb = inv[inv["billed_from"] >= FEB_1]["invoice_id"]
    feb_lines = lines[lines["invoice_id"].isin(feb)]
    gone = feb_lines[feb_lines["sub"].isin(churn.index)]
    assert gone.empty or not gone["line_type"].isin(["recurring", "usage_voice", "usage_data",
                                                     "usage_sms"]).any()
    cdrs = churny.table("cdrs")
    after = cdrs[cdrs["sub"].isin(churn.index) & (cdrs["start"] >= FEB_1)
                 & (cdrs["reason"] != "duplicate")]
    assert len(after) > 0 and (after["reason"] == "terminated subscription").all()
    rec = churny.summary["reconciliation"]
    assert rec["lost_churn_minor"] > 0 and rec["leaked_terminated_minor"] > 0
    # the recurring fees they would have paid for February's billed days, by hand
    offers = churny.scenario["bss"]["catalog"]["offers"]
    feb_row = inv[inv["billed_from"] >= FEB_1].iloc[0]
    billed = feb_row["billed_to"] - feb_row["billed_from"]
    cycle = (pd.Timestamp(feb_row["cycle_end"]) - pd.Timestamp(feb_row["cycle_start"])
             ).total_seconds()
    fees = [offers[o]["recurring_fee"] for o in churn["offer"]]
    want = sum((2 * f * round(billed) + round(cycle)) // (2 * round(cycle)) for f in fees)
    assert rec["lost_churn_minor"] == want
    assert rec["identity_holds"]


def _poisson_close(count: int, expected: float) -> bool:
    return abs(count - expected) < 4 * np.sqrt(expected) + 2


def test_churn_base_is_per_account_type(run_scenario: RunScenario) -> None:
    run = run_scenario(QUICKSTART, overrides=(
        "duration=4d", "subscribers.count=2000", "bss.care.account_contacts_monthly=0",
        "bss.care.churn_base_monthly={prepaid: 0.6, postpaid: 0.1}"))
    churn = run.table("churn").merge(run.table("subscriptions")[["sub", "account_type"]],
                                     on="sub")
    subs = run.table("subscriptions")["account_type"].value_counts()
    assert len(churn) == run.summary["bss"]["churned"]
    for kind, monthly in (("prepaid", 0.6), ("postpaid", 0.1)):
        mine = churn[churn["account_type"] == kind]
        assert (mine["monthly_prob"] == monthly).all()  # no outage or contact term by default
        # a decision at the start of each of the 4 days; a line gives notice once
        stay = (1 - monthly) ** (4 / 30.44)
        assert _poisson_close(len(mine), subs[kind] * (1 - stay)), (kind, len(mine))
    assert churn["notice"].min() == 0.0 and churn["notice"].max() == 3 * 86_400.0


def test_lines_call_about_their_bills_whatever_the_network_does(
        run_scenario: RunScenario) -> None:
    run = run_scenario(QUICKSTART, overrides=(
        "duration=3d12h", "subscribers.count=2000", "bss.care.account_contacts_monthly=3"))
    tickets = run.table("care_tickets")
    account = tickets[tickets["reason"] == "bill or account"]
    assert len(account) == run.summary["bss"]["care_contacts_account"]
    # 2,000 lines × 3 a month over 3.5 days (the last day a half one)
    assert _poisson_close(len(account), 2000 * 3 * 3.5 / 30.44), len(account)
    end = run.summary["sim_days"] * 86_400.0
    assert account["opened"].between(0, end).all() and (account["closed"] > account["opened"]).all()
    assert (account["incident_id"] == 0).all()
    # spread over the days, the half day too
    per_day = np.bincount((account["opened"] // 86_400).astype(int), minlength=4)
    assert (per_day > 0).all() and per_day[3] < per_day[:3].min()
    # they are the BSS's own affair: no trouble report reaches the OSS
    reports = run.table("customer_tickets")
    assert len(reports) > 0 and not reports["care_ticket_id"].isin(account["ticket_id"]).any()
    assert set(reports["reason"]) <= {"network outage", "dropped calls"}
