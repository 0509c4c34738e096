"""The live twin served over HTTP, with an outside tool acting as the NOC.

One run of a small fibre-cut scenario, served by uvicorn on loopback: a hub listener
subscribed to TMF642 and TMF621 before the start, the twin paused five minutes after the cut,
the cut's alarm acknowledged and a ticket opened through the APIs, then run to the end.
The listener must have every alarm's create and clear, in order; the acknowledgement must
show in the incidents table and in MTTA; ``/metrics`` must agree with the tables.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import twin
from twin.cli import main
from twin.live.score import score

from .live_support import CUT, CUT_AT, Listener, Served, served, small_scenario
from .tmf import check

A642 = "/tmf-api/alarmManagement/v4"
A621 = "/tmf-api/troubleTicket/v4"
A656 = "/tmf-api/serviceProblemManagement/v4"
PAUSE_AT = CUT_AT + 300
USER = "noc-tool"


class Acted:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.acked: dict[str, Any] = {}
        self.ticket: dict[str, Any] = {}
        self.metrics: str = ""
        self.alarms_api: list[dict[str, Any]] = []
        self.tickets_api: list[dict[str, Any]] = []
        self.problems_api: list[dict[str, Any]] = []
        self.run: twin.Run
        self.hub: dict[str, int] = {}


@pytest.fixture(scope="module")
def acted(tmp_path_factory: pytest.TempPathFactory) -> Acted:
    tmp = tmp_path_factory.mktemp("live")
    _, sc = small_scenario(tmp)
    out = Acted()
    listener = Listener(fail_first=2)  # the hub retries the first deliveries
    try:
        with served(sc, tmp / "run") as s:
            c = s.client
            for api in (A642, A621, A656):
                r = c.post(f"{api}/hub", json={"callback": listener.url})
                assert r.status_code == 201, r.text
                assert r.json()["callback"] == listener.url
            assert c.post("/twin/v1/control", json={"action": "pause", "at": PAUSE_AT}
                          ).status_code == 200
            assert c.post("/twin/v1/control", json={"action": "resume"}).status_code == 200
            s.wait_state("paused")
            assert s.twin.pacer.now == PAUSE_AT
            _act(s, out)
            assert c.post("/twin/v1/control", json={"action": "resume"}).status_code == 200
            s.twin.wait(120)
            assert s.twin.error is None, s.twin.error
            assert s.twin.run is not None
            out.run = s.twin.run
            out.metrics = c.get("/metrics").text
            limit = {"limit": 1000}
            out.alarms_api = c.get(f"{A642}/alarm", params=limit).json()
            out.tickets_api = c.get(f"{A621}/troubleTicket", params=limit).json()
            out.problems_api = c.get(f"{A656}/serviceProblem", params=limit).json()
            s.twin.hub.close()
            out.hub = dict(s.twin.hub.totals)
    finally:
        listener.close()
    out.events = listener.received
    return out


def _act(s: Served, out: Acted) -> None:
    c = s.client
    r = c.get(f"{A642}/alarm", params={"probableCause": "lossOfSignal", "isRootCause": "true"})
    assert r.status_code == 200
    roots = r.json()
    assert roots, "no root alarm of the cut five minutes after it"
    r = c.post(f"{A642}/ackAlarms", json={"ackUserId": USER, "ackSystemId": "outside-fm",
                                          "alarmPattern": [{"id": str(roots[0]["id"])}]})
    assert r.status_code == 201, r.text
    out.acked = r.json()
    r = c.post(f"{A621}/troubleTicket", json={
        "description": "fibre cut suspected", "severity": "Critical", "ticketType": "incident",
        "externalId": "EXT-1", "relatedEntity": [
            {"id": CUT, "role": "rootCause", "@referredType": "Resource"}]})
    assert r.status_code == 201, r.text
    out.ticket = r.json()


def test_hub_listener_receives_every_alarm_create_and_clear_in_order(acted: Acted) -> None:
    alarms = acted.run.table("alarms")
    assert len(alarms) > 3
    seen = [(p.rsplit("/", 1)[1], b) for p, b in acted.events if "/listener/alarm" in p]
    creates = [int(b["event"]["alarm"]["id"]) for n, b in seen if n == "alarmCreateEvent"]
    clears = [int(b["event"]["alarm"]["id"]) for n, b in seen if n == "alarmStateChangeEvent"]
    assert creates == sorted(alarms["alarm_id"].tolist())  # none missing, in order
    assert sorted(clears) == sorted(alarms.loc[alarms["cleared"].notna(), "alarm_id"].tolist())
    assert len(set(clears)) == len(clears)
    position = {(n, int(b["event"]["alarm"]["id"])): i for i, (n, b) in enumerate(seen)}
    for aid in clears:
        assert position[("alarmCreateEvent", aid)] < position[("alarmStateChangeEvent", aid)]
    times = [b["eventTime"] for _, b in seen]
    assert times == sorted(times)  # simulated-time order (ISO instants of one zone)
    for n, b in seen:
        assert b["eventType"] == n[0].upper() + n[1:]
        check("TMF642", b["eventType"], [b])
    assert all(b["event"]["alarm"]["state"] == "cleared" for n, b in seen
               if n == "alarmStateChangeEvent")
    assert acted.hub.get("dropped", 0) == 0 and acted.hub.get("failed", 0) == 0


def test_ticket_events_reach_the_tmf621_listener(acted: Acted) -> None:
    names = [p.rsplit("/", 1)[1] for p, _ in acted.events if "/listener/troubleTicket" in p]
    tickets = acted.run.table("tickets")
    complaints = acted.run.table("customer_tickets")  # care's and the tool's
    assert names.count("troubleTicketCreateEvent") == len(tickets) + len(complaints)
    assert "troubleTicketStatusChangeEvent" in names


def test_service_problem_events_reach_the_tmf656_listener(acted: Acted) -> None:
    seen = [(p.rsplit("/", 1)[1], b) for p, b in acted.events
            if "/listener/serviceProblem" in p]
    incidents = acted.run.table("incidents")
    assert len(incidents) >= 1
    creates = [b["event"]["serviceProblem"]["id"] for n, b in seen
               if n == "serviceProblemCreateEvent"]
    changes = [b["event"]["serviceProblem"]["id"] for n, b in seen
               if n == "serviceProblemStateChangeEvent"]
    assert creates == [str(i) for i in sorted(incidents["incident_id"])]  # each, in order
    ended = incidents[incidents["cleared"].notna() | (incidents["merged_into"] != 0)]
    assert sorted(changes, key=int) == [str(i) for i in sorted(ended["incident_id"])]
    position = {(n, b["event"]["serviceProblem"]["id"]): i for i, (n, b) in enumerate(seen)}
    for pid in changes:
        assert position[("serviceProblemCreateEvent", pid)] < position[
            ("serviceProblemStateChangeEvent", pid)]
    for n, b in seen:
        assert b["eventType"] == n[0].upper() + n[1:]
        check("TMF656", b["eventType"], [b])
    cut = incidents[incidents["root"] == CUT].iloc[0]
    final = next(b["event"]["serviceProblem"] for n, b in seen
                 if n == "serviceProblemStateChangeEvent"
                 and b["event"]["serviceProblem"]["id"] == str(cut["incident_id"]))
    assert final["status"] == next(p["status"] for p in acted.problems_api
                                   if p["id"] == str(cut["incident_id"]))


def test_outside_acknowledgement_shows_in_mtta(acted: Acted) -> None:
    incidents = acted.run.table("incidents")
    cut = incidents[incidents["root"] == CUT].iloc[0]
    assert cut["ack_user"] == USER
    assert cut["acknowledged"] == PAUSE_AT
    live = incidents[(incidents["merged_into"] == 0) & incidents["acknowledged"].notna()]
    mtta = round(float((live["acknowledged"] - live["created"]).mean()), 3)
    assert acted.run.summary["oss"]["mtta_s"] == mtta
    # the NOC operator would have taken 30 minutes: the tool's 5 minutes lower the MTTA
    assert PAUSE_AT - cut["created"] < 1800
    assert [a["id"] for a in acted.acked["ackedAlarm"]] == [a["id"] for a in
                                                           acted.acked["alarmPattern"]]
    alarms = acted.run.table("alarms")
    mine = alarms[alarms["incident_id"] == cut["incident_id"]]
    assert (mine["ack_user"] == USER).all()
    actions = acted.run.table("operator_actions")
    assert actions["action"].tolist() == ["acknowledge", "ticket"]


def test_outside_ticket_joins_the_oss_flow(acted: Acted) -> None:
    assert acted.ticket["id"].startswith("C")
    ct = acted.run.table("customer_tickets")
    row = ct[ct["reason"].str.contains("EXT-1")].iloc[0]
    incidents = acted.run.table("incidents")
    cut = incidents[incidents["root"] == CUT].iloc[0]
    assert row["incident_id"] == cut["incident_id"]  # linked to the open incident
    assert row["status"] == "closed" and "restored" in row["resolution"]


def test_score_holds_the_tool_against_the_truth(acted: Acted,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    result = score(acted.run.path)
    incidents = acted.run.table("incidents")
    cut = incidents[incidents["root"] == CUT].iloc[0]
    assert result["incidents_acknowledged_by_tool"] == 1
    assert result["tool_acks_on_real_faults"] == 1
    assert result["tool_mtta_s"] == round(PAUSE_AT - cut["created"], 3)
    assert result["tickets_naming_true_root"] == 1
    assert result["ticket_root_precision"] == 1.0
    assert result["tool_time_to_ticket_s"] == 300.0  # the cut began at CUT_AT
    assert result["faults_named_by_tool"] == 1
    assert main(["score", str(acted.run.path)]) == 0
    assert "tool_mtta_s" in capsys.readouterr().out
    assert main(["score", str(acted.run.path / "tables")]) == 2


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_agree_with_the_tables(acted: Acted) -> None:
    m = _samples(acted.metrics)
    run = acted.run
    alarms = run.table("alarms")
    assert m[("twin_alarms_raised_total", ())] == len(alarms)
    active = alarms[alarms["cleared"].isna()]["perceived_severity"].value_counts()
    for sev in ("critical", "major", "minor", "warning"):
        assert m[("twin_active_alarms", (("severity", sev),))] == active.get(sev, 0)
    tickets = run.table("tickets")
    assert m[("twin_tickets_created_total", ())] == len(tickets)
    open_ = tickets[tickets["status"].isin(["acknowledged", "inProgress", "pending", "held"])]
    for prio in ("Critical", "High", "Medium", "Low"):
        assert m[("twin_open_tickets", (("priority", prio),))] == (
            open_["priority_name"] == prio).sum()
    rated = run.table("rated")
    assert m[("twin_usage_records_rated_total", ())] == (rated["state"] == "rated").sum() > 0
    assert m[("twin_revenue_rated_minor_total", ())] == rated["charge_minor"].sum()
    kpis = run.table("kpis")
    regions = kpis[kpis["level"] == "region"].groupby("object")["calls_attempted"].sum()
    assert len(regions) > 1
    for region, calls in regions.items():
        assert m[("twin_region_calls_attempted_total", (("region", region),))] == calls
    assert m[("twin_sim_time_seconds", ())] == 12 * 3600


def test_served_resources_are_the_exports_and_valid(acted: Acted) -> None:
    check("TMF642", "Alarm", acted.alarms_api)
    check("TMF621", "TroubleTicket", acted.tickets_api)
    check("TMF656", "ServiceProblem", acted.problems_api)
    from twin.export import export

    files = export(acted.run.path, acted.run.path.parent / "export",
                   apis=("TMF642",), base_url="http://127.0.0.1:1/tmf-api")
    assert files  # the run exports as any run does
    exported = json.loads((acted.run.path.parent / "export" / "TMF642-alarm.json").read_text())
    strip = [{k: v for k, v in a.items() if "href" not in json.dumps(v) and k != "href"}
             for a in acted.alarms_api]
    assert [{k: v for k, v in a.items() if "href" not in json.dumps(v) and k != "href"}
            for a in exported] == strip  # the API serves what twin export writes
