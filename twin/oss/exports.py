"""TM Forum JSON exports of what the OSS knows: alarms (TMF642), trouble tickets (TMF621) and
service problems (TMF656).

They read the OSS's own tables of a run (``alarms``, ``incidents``, ``tickets``) — never the
truth — and turn each row into the resource the TM Forum Open API (v4) describes, with times
as ISO 8601 instants on the scenario's calendar. For example::

    run = twin.Run("runs/quickstart")
    start = datetime.fromisoformat(run.scenario["start"])
    alarms = tmf642_alarms(run.table("alarms"), start)
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from twin.messages import TMF_BASE_URL, tmf_href

SYSTEM = "twin-oss"
ALARM = "/alarmManagement/v4/alarm"
TICKET = "/troubleTicket/v4/troubleTicket"
PROBLEM = "/serviceProblemManagement/v4/serviceProblem"
ORIGINATOR = {"id": SYSTEM, "name": "OSS/BSS Twin fault management", "role": "originator",
              "@referredType": "Organization"}
SERVICE_CAUSES = ("heartbeatFailure", "backhaulFailure")


def instant(start: datetime, t: Any) -> str | None:
    """ISO 8601 (UTC, ``Z``) of simulated second ``t``; None for a missing time."""
    if t is None or (isinstance(t, float) and math.isnan(t)) or t is pd.NA:
        return None
    return (start + timedelta(seconds=float(t))).isoformat().replace("+00:00", "Z")


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None and v != []}


def _alarm_ref(alarm_id: int, base: str) -> dict[str, Any]:
    return {"id": str(alarm_id), "href": tmf_href(base, ALARM, alarm_id),
            "@referredType": "Alarm"}


def tmf642_alarms(alarms: pd.DataFrame, start: datetime,
                  base_url: str = TMF_BASE_URL) -> list[dict[str, Any]]:
    """Every alarm of the ``alarms`` table as a TMF642 ``Alarm`` (``href`` under
    ``base_url``)."""
    roots: dict[int, list[int]] = defaultdict(list)
    symptoms: dict[int, list[int]] = defaultdict(list)
    for r in alarms.itertuples():
        if r.incident_id:
            (roots if r.role == "root" else symptoms)[int(r.incident_id)].append(int(r.alarm_id))
    out = []
    for r in alarms.itertuples():
        aid, inc = int(r.alarm_id), int(r.incident_id)
        cleared = instant(start, r.cleared) is not None
        is_root = r.role == "root"
        comments = []
        if r.flapping:
            comments.append({"comment": f"flapping: {int(r.flaps)} clear/raise cycles "
                                        "suppressed", "systemId": SYSTEM,
                             "time": instant(start, r.changed)})
        out.append(_drop_none({
            "id": aid,  # an integer in TMF642 v4
            "href": tmf_href(base_url, ALARM, aid),
            "@type": "Alarm",
            "externalAlarmId": f"{r.ems}/{int(r.notification_id)}",
            "sourceSystemId": r.ems,
            "reportingSystemId": SYSTEM,
            "state": "cleared" if cleared else ("updated" if r.repeat_count > 1
                                                or r.ack_state == "acknowledged"
                                                else "raised"),
            "alarmType": r.alarm_type,
            "perceivedSeverity": "cleared" if cleared else r.perceived_severity,
            "probableCause": r.probable_cause,
            "specificProblem": r.specific_problem,
            "alarmedObject": {"id": r.alarmed_object, "@referredType": "Resource"},
            "alarmDetails": f"reduction key {r.reduction_key}; repeat count "
                            f"{int(r.repeat_count)}" + (f"; port {r.resource}" if r.resource
                                                        else ""),
            "alarmRaisedTime": instant(start, r.event_time),
            "alarmReportingTime": instant(start, r.raised),
            "alarmChangedTime": instant(start, r.changed),
            "alarmClearedTime": instant(start, r.clear_event_time) if cleared else None,
            "ackState": r.ack_state,
            "ackUserId": r.ack_user or None,
            "ackSystemId": SYSTEM if r.ack_state == "acknowledged" else None,
            "isRootCause": is_root if inc else None,
            "serviceAffecting": r.probable_cause in SERVICE_CAUSES,
            "correlatedAlarm": [_alarm_ref(s, base_url) for s in symptoms[inc]]
            if is_root and inc else [],
            "parentAlarm": [_alarm_ref(p, base_url) for p in roots[inc]]
            if not is_root and inc else [],
            "comment": comments,
        }))
    return out


def _ticket_ref(ticket_id: int, base: str) -> dict[str, Any]:
    return {"id": str(ticket_id), "href": tmf_href(base, TICKET, ticket_id),
            "@referredType": "TroubleTicket"}


def _problem_ref(incident_id: int, base: str, role: str | None = None) -> dict[str, Any]:
    ref = {"id": str(incident_id), "href": tmf_href(base, PROBLEM, incident_id),
           "@referredType": "ServiceProblem"}
    return {**ref, "role": role} if role else ref


def tmf621_tickets(tickets: pd.DataFrame, status: pd.DataFrame, notes: pd.DataFrame,
                   start: datetime, base_url: str = TMF_BASE_URL) -> list[dict[str, Any]]:
    """Every ticket of the ``tickets`` table as a TMF621 ``TroubleTicket``, with its status
    history (``ticket_status``) and notes (``ticket_notes``)."""
    history = {k: g for k, g in status.groupby("ticket_id")}
    noted = {k: g for k, g in notes.groupby("ticket_id")}
    out = []
    for r in tickets.itertuples():
        tid = int(r.ticket_id)
        changes = history.get(tid, status.iloc[0:0])
        last = max([r.created, *changes["t"].tolist()])
        out.append(_drop_none({
            "id": str(tid),
            "href": tmf_href(base_url, TICKET, tid),
            "@type": "TroubleTicket",
            "name": f"{r.priority_name}: {r.root}",
            "description": f"incident {int(r.incident_id)} rooted at {r.root}; "
                           f"resolution: {r.resolution or 'open'}",
            "ticketType": "incident",
            "severity": str(r.severity).capitalize(),
            "priority": r.priority_name,
            "status": r.status,
            "statusChangeDate": instant(start, last),
            "statusChangeReason": changes["reason"].iloc[-1] if len(changes) else None,
            "creationDate": instant(start, r.created),
            "lastUpdate": instant(start, last),
            "expectedResolutionDate": instant(start, r.deadline),
            "resolutionDate": instant(start, r.resolved),
            "statusChange": [{"changeDate": instant(start, c.t), "changeReason": c.reason,
                              "status": c.status} for c in changes.itertuples()],
            "note": [{"id": str(i + 1), "author": SYSTEM, "date": instant(start, n.t),
                      "text": n.text}
                     for i, n in enumerate(noted.get(tid, notes.iloc[0:0]).itertuples())],
            "relatedEntity": [
                _problem_ref(int(r.incident_id), base_url, "serviceProblem"),
                {"id": r.root, "role": "rootCause", "@referredType": "Resource"},
            ],
            "relatedParty": [{"id": f"crew-{int(r.crew)}", "role": "fieldCrew",
                              "@referredType": "Organization"}] if r.crew else [],
        }))
    return out


_PROBLEM_PRIORITY = {1: 1, 2: 3, 3: 5, 4: 7}  # TMF621 level → TMF656 1 (highest)…10


def _impact_fields(imp: Any, top: float) -> dict[str, Any]:
    """TMF656 impact of an incident from its latest ``incident_impact`` row: the services
    hit, the sites, what the BSS said is at stake (as characteristics), and an importance
    0–100 relative to the costliest incident of the export."""
    services = [s for s in str(imp.services).split(",") if s]
    sites = [s for s in str(imp.sites).split(",") if s]
    at_risk = int(imp.revenue_at_risk_minor_per_h)
    chars = [("cellsAffected", int(imp.cells_affected)), ("linesAffected", int(imp.lines)),
             ("customersAffected", int(imp.customers)),
             ("enterpriseAccountsAffected", int(imp.enterprise_accounts)),
             ("slaLinesAffected", int(imp.sla_lines)),
             ("revenueAtRiskMinorPerHour", at_risk),
             ("slaExposureMinor", int(imp.sla_exposure_minor))]
    return {
        "impactImportanceFactor": str(round(100 * at_risk / top) if top > 0 else 0),
        "affectedService": [{"id": s, "name": f"mobile {s}", "@referredType": "Service"}
                            for s in services],
        "affectedLocation": [{"id": s, "name": s, "role": "cell site",
                              "@referredType": "GeographicSite"} for s in sites],
        "characteristic": [{"name": n, "valueType": "integer", "value": v} for n, v in chars],
    }


def tmf656_problems(incidents: pd.DataFrame, alarms: pd.DataFrame, tickets: pd.DataFrame,
                    start: datetime, impact: pd.DataFrame | None = None,
                    base_url: str = TMF_BASE_URL) -> list[dict[str, Any]]:
    """Every incident of the ``incidents`` table as a TMF656 ``ServiceProblem``: its root
    cause, the alarms underneath, the cells it affects and its ticket; with the
    ``incident_impact`` table, the services, sites, customers and revenue at stake too."""
    latest: dict[int, Any] = {}
    top = 0.0
    if impact is not None and len(impact):
        for r in impact.sort_values(["incident_id", "query_id"]).itertuples():
            latest[int(r.incident_id)] = r
        top = float(max(int(r.revenue_at_risk_minor_per_h) for r in latest.values()))
    by_incident = {k: g for k, g in alarms.groupby("incident_id")}
    ticket = tickets.set_index("ticket_id") if len(tickets) else tickets
    out = []
    for r in incidents.itertuples():
        iid = int(r.incident_id)
        mine = by_incident.get(iid, alarms.iloc[0:0]).sort_values("raised")
        t = ticket.loc[int(r.ticket_id)] if r.ticket_id and int(r.ticket_id) in ticket.index \
            else None
        if r.merged_into:
            status = "cancelled"
        elif instant(start, r.cleared) is not None:
            status = "closed" if t is not None and t["status"] == "closed" else "resolved"
        elif t is not None and t["status"] == "inProgress":
            status = "inProgress"
        else:
            status = "acknowledged" if instant(start, r.acknowledged) else "pending"
        cells = [c for c in str(r.cells).split(",") if c]
        out.append(_drop_none({
            "id": str(iid),
            "href": tmf_href(base_url, PROBLEM, iid),
            "@type": "ServiceProblem",
            "name": f"{r.root_kind} failure: {r.root}",
            "description": f"{int(r.alarms)} alarms correlated; {len(cells)} cells cut off "
                           "in the OSS inventory",
            "category": "system.originated",
            "originatingSystem": SYSTEM,
            "originatorParty": ORIGINATOR,
            "reason": "root cause unknown" if r.root_kind == "unknown"
            else f"{r.root_kind} {r.root} failed",
            "status": status,
            "priority": _PROBLEM_PRIORITY[int(t["priority"])] if t is not None else 10,
            "problemEscalation": str(int(t["escalation"])) if t is not None else "0",
            "affectedNumberOfServices": len(cells),
            "impactImportanceFactor": str(min(100, len(cells))),
            "creationDate": instant(start, r.created),
            "lastUpdate": instant(start, r.cleared if instant(start, r.cleared)
                                  else r.created),
            "resolutionDate": instant(start, r.cleared) if status in ("resolved", "closed")
            else None,
            "affectedResource": [{"id": c, "@referredType": "Resource"} for c in cells]
            or [{"id": r.root, "@referredType": "Resource"}],
            "rootCauseResource": [{"id": r.root, "@referredType": "Resource"}]
            if r.root_kind != "unknown" else [],
            "underlyingAlarm": [_alarm_ref(int(a), base_url) for a in mine["alarm_id"]],
            "firstAlert": {**_alarm_ref(int(mine["alarm_id"].iloc[0]), base_url),
                           "role": "firstAlert"} if len(mine) else None,
            "troubleTicket": [_ticket_ref(int(r.ticket_id), base_url)] if r.ticket_id else [],
            "parentProblem": [_problem_ref(int(r.merged_into), base_url)] if r.merged_into
            else [],
            **(_impact_fields(latest[iid], top) if iid in latest else {}),
        }))
    return out


def tmf621_customer_tickets(customer_tickets: pd.DataFrame, start: datetime,
                            base_url: str = TMF_BASE_URL) -> list[dict[str, Any]]:
    """Every row of ``customer_tickets`` as a TMF621 ``TroubleTicket`` of type ``complaint``:
    the customer (``relatedParty``), the cell and the service problem it was linked to
    (``relatedEntity``), and the network ticket as its parent (``troubleTicketRelationship``).
    Ids are prefixed ``C`` so they never collide with network tickets."""
    out = []
    for r in customer_tickets.itertuples():
        cid = f"C{int(r.customer_ticket_id)}"
        inc, parent = int(r.incident_id), int(r.network_ticket_id)
        investigated = instant(start, r.investigated) is not None
        changes: list[dict[str, Any]] = [{
            "changeDate": instant(start, r.received),
            "status": "inProgress" if investigated else "acknowledged",
            "changeReason": f"complaint from care: {r.reason}"
            + ("; NOC engineer investigating" if investigated else "")}]
        if instant(start, r.linked) and r.status == "pending":
            changes.append({"changeDate": instant(start, r.linked), "status": "pending",
                            "changeReason": f"linked to incident {inc} ({r.linked_by})"})
        if instant(start, r.resolved):
            changes.append({"changeDate": instant(start, r.resolved), "status": "closed",
                            "changeReason": r.resolution})
        last = changes[-1]
        out.append(_drop_none({
            "id": cid,
            "href": tmf_href(base_url, TICKET, cid),
            "@type": "TroubleTicket",
            "name": f"complaint: {r.reason} on {r.cell}",
            "description": f"customer line {int(r.sub)} on {r.cell}: {r.reason}"
                           + (f"; linked to incident {inc} ({r.linked_by})" if inc else ""),
            "externalId": f"care-{int(r.care_ticket_id)}",
            "ticketType": "complaint",
            "channel": {"id": "care", "name": "customer care"},
            "severity": "Minor",
            "priority": "Medium",
            "status": r.status,
            "statusChangeDate": last["changeDate"],
            "statusChangeReason": last["changeReason"],
            "creationDate": instant(start, r.received),
            "lastUpdate": last["changeDate"],
            "resolutionDate": instant(start, r.resolved),
            "statusChange": changes,
            "relatedParty": [{"id": f"cust-{int(r.account)}", "role": "customer",
                              "@referredType": "Customer"}],
            "relatedEntity": [
                {"id": r.cell, "role": "affectedResource", "@referredType": "Resource"},
                *([_problem_ref(inc, base_url, "serviceProblem")] if inc else []),
            ],
            "troubleTicketRelationship": [
                {"id": str(parent), "relationshipType": "isChild",
                 "href": tmf_href(base_url, TICKET, parent)}] if parent
            else [],
        }))
    return out
