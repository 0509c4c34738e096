"""TMF exports of a run validate against the TM Forum Open API schemas in tests/data/tmf/."""

from __future__ import annotations

from datetime import datetime

import pytest

import twin
from twin.oss.exports import tmf642_alarms

from .support import QUICKSTART, SMALL, RunScenario
from .tmf import check


@pytest.fixture(scope="module")
def run(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=SMALL)


def start_of(run: twin.Run) -> datetime:
    return datetime.fromisoformat(str(run.scenario["start"]).replace("Z", "+00:00"))


def test_alarms_export_as_tmf642(run: twin.Run) -> None:
    alarms = run.table("alarms")
    exported = tmf642_alarms(alarms, start_of(run))
    assert len(exported) == len(alarms) > 0
    check("TMF642", "Alarm", exported)
    roots = [a for a in exported if a.get("isRootCause")]
    assert roots and all(a["ackState"] == "acknowledged" for a in roots)
    with_symptoms = [a for a in roots if a.get("correlatedAlarm")]
    assert with_symptoms, "the fibre cut's root alarm lists its symptoms"
    by_id = {a["id"]: a for a in exported}
    for root in with_symptoms:
        for ref in root["correlatedAlarm"]:
            child = by_id[int(ref["id"])]
            assert child["isRootCause"] is False
            assert {"id": str(root["id"])} .items() <= child["parentAlarm"][0].items()
    cleared = [a for a in exported if a["state"] == "cleared"]
    assert cleared and all(a["perceivedSeverity"] == "cleared" and "alarmClearedTime" in a
                           for a in cleared)


def test_tickets_export_as_tmf621(run: twin.Run) -> None:
    from twin.oss.exports import tmf621_tickets

    tickets = run.table("tickets")
    exported = tmf621_tickets(tickets, run.table("ticket_status"), run.table("ticket_notes"),
                              start_of(run))
    assert len(exported) == len(tickets) > 0
    check("TMF621", "TroubleTicket", exported)
    closed = [t for t in exported if t["status"] == "closed"]
    assert closed
    for t in closed:
        states = [c["status"] for c in t["statusChange"]]
        assert states[0] == "acknowledged" and states[-1] == "closed"
        assert "resolved" in states and t["resolutionDate"] <= t["lastUpdate"]
        assert t["priority"] in ("Critical", "High", "Medium", "Low")


def test_incidents_export_as_tmf656_service_problems(run: twin.Run) -> None:
    from twin.oss.exports import tmf656_problems

    incidents = run.table("incidents")
    exported = tmf656_problems(incidents, run.table("alarms"), run.table("tickets"),
                               start_of(run))
    assert len(exported) == len(incidents) > 0
    check("TMF656", "ServiceProblem", exported)
    cut = [p for p in exported if p["name"] == "link failure: site1-site2"]
    assert len(cut) == 1
    (problem,) = cut
    assert problem["rootCauseResource"] == [{"id": "site1-site2", "@referredType": "Resource"}]
    assert problem["affectedNumberOfServices"] == len(problem["affectedResource"]) > 0
    assert len(problem["underlyingAlarm"]) > len(problem["affectedResource"])
    assert problem["troubleTicket"][0]["@referredType"] == "TroubleTicket"
