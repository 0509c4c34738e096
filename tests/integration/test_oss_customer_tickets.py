"""Care contacts about the network reach the OSS as complaint tickets linked to the incident
behind them, and export as TMF621 trouble tickets."""

from __future__ import annotations

import pytest

import twin
from twin.oss.exports import tmf621_customer_tickets

from .support import QUICKSTART, SMALL, RunScenario
from .test_oss_exports import start_of
from .tmf import check


@pytest.fixture(scope="module")
def run(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=SMALL)


def test_every_network_complaint_reaches_the_oss_linked(run: twin.Run) -> None:
    care = run.table("care_tickets")
    cust = run.table("customer_tickets")
    horizon = run.summary["sim_days"] * 86_400
    sent = care[care["reason"].isin(["network outage", "dropped calls"])
                & (care["opened"] <= horizon)]
    assert len(sent) > 20
    assert sorted(cust["care_ticket_id"]) == sorted(sent["ticket_id"])
    m = cust.merge(sent, left_on="care_ticket_id", right_on="ticket_id",
                   suffixes=("", "_care"))
    assert (m["received"] == m["opened"]).all()  # no integration latency in this run
    named = m[m["incident_id_care"] > 0]
    assert (named["incident_id"] == named["incident_id_care"]).all()
    assert (named["linked_by"] == "named incident").all()
    inc = run.table("incidents").set_index("incident_id")
    assert (named["network_ticket_id"].to_numpy()
            == inc.loc[named["incident_id"], "ticket_id"].to_numpy()).all()
    # the outage was over before the customers called: restored, nothing left to do
    assert named["resolution"].str.contains("restored").all()
    assert run.summary["bss"]["trouble_reports"] == len(cust)
    assert run.summary["oss"]["customer_tickets"] == len(cust)


def test_complaints_export_as_tmf621(run: twin.Run) -> None:
    exported = tmf621_customer_tickets(run.table("customer_tickets"), start_of(run))
    check("TMF621", "TroubleTicket", exported)
    linked = [t for t in exported if t.get("troubleTicketRelationship")]
    assert linked and all(t["ticketType"] == "complaint" for t in exported)
    rel = linked[0]["troubleTicketRelationship"][0]
    assert rel["relationshipType"] == "isChild"
    roles = {e["role"] for e in linked[0]["relatedEntity"]}
    assert roles == {"affectedResource", "serviceProblem"}
