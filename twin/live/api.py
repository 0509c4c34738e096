"""The live twin's HTTP API (FastAPI): TM Forum Open APIs v4, their hubs, control and
``/metrics``.

Paths and payloads follow the TM Forum specifications: resources are built by the same
exporters as ``twin export`` and the served OpenAPI document describes every response with
the specification's own schema (``TMF642_Alarm`` is TMF642's ``Alarm``; see
:mod:`twin.live.schemas`). Every bad request is a 4xx TM Forum ``Error`` whose ``message``
names the field; lists take ``fields``, ``offset`` and ``limit`` (at most :data:`MAX_LIMIT`)
and answer with ``X-Total-Count`` and ``X-Result-Count``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException

from twin.live import metrics
from twin.live.bss import LiveBss, NotFound
from twin.live.hub import SubscriptionError
from twin.live.operator import RunEnded
from twin.live.schemas import (
    APIS,
    closure,
    components,
    definitions,
    ref,
    refs,
    to_openapi3,
    unprefixed,
)
from twin.live.service import LiveTwin
from twin.oss.exports import instant

MAX_LIMIT = 1000
ALARM_FILTERS = ("state", "ackState", "perceivedSeverity", "alarmType", "probableCause",
                 "sourceSystemId", "isRootCause", "serviceAffecting")
TICKET_FILTERS = ("status", "priority", "severity", "ticketType")
PROBLEM_FILTERS = ("status", "impactImportanceFactor", "priority")


class ApiError(HTTPException):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(status, message)
        self.reason = reason


def _error(status: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse({"code": str(status), "reason": reason, "message": message,
                         "status": str(status)}, status_code=status)


# --- request bodies: checked leniently (extra members ignored), errors name the field -----

class _Ref(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int | str


class _AckIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    ackUserId: str = Field(min_length=1, max_length=200)
    ackSystemId: str = Field(min_length=1, max_length=200)
    alarmPattern: list[_Ref] = Field(min_length=1, max_length=MAX_LIMIT)


class _ClearIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    clearUserId: str = Field(min_length=1, max_length=200)
    clearSystemId: str = Field(min_length=1, max_length=200)
    alarmClearedTime: str = Field(max_length=100)
    alarmPattern: list[_Ref] = Field(min_length=1, max_length=MAX_LIMIT)


class _AlarmPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ackState: str | None = None
    ackUserId: str | None = Field(None, min_length=1, max_length=200)
    ackSystemId: str | None = Field(None, max_length=200)
    state: str | None = None
    perceivedSeverity: str | None = None
    clearUserId: str | None = Field(None, min_length=1, max_length=200)
    clearSystemId: str | None = Field(None, max_length=200)
    alarmClearedTime: str | None = Field(None, max_length=100)


class _Entity(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    id: str = Field(max_length=200)
    role: str | None = Field(None, max_length=200)
    referredType: str = Field("", alias="@referredType", max_length=200)


class _TicketIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    description: str = Field(max_length=2000)
    severity: str = Field(max_length=100)
    ticketType: str = Field(max_length=100)
    name: str | None = Field(None, max_length=200)
    externalId: str | None = Field(None, max_length=200)
    relatedEntity: list[_Entity] = Field(default_factory=list, max_length=100)


class _SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    callback: str = Field(min_length=1, max_length=2000)
    query: str | None = Field(None, max_length=2000)


class _ControlIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(max_length=20)
    at: float | None = Field(None, ge=0, le=1e12, description="pause: at this simulated "
                             "second instead of now")


def _field_message(e: ValidationError | RequestValidationError, where: str) -> str:
    parts = []
    for err in e.errors()[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body" or where != "body")
        parts.append(f"{loc or where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    if len(raw) > 1_000_000:
        raise ApiError(413, "body too large", "body: at most 1 MB")
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid body", "body: not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid body", "body: must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ApiError(400, "invalid field", _field_message(e, "body")) from None


# --- lists --------------------------------------------------------------------------------

def _select(item: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return item
    keep = {f.strip() for f in fields.split(",")} | {"id", "href", "@type"}
    return {k: v for k, v in item.items() if k in keep}


def _matches(item: dict[str, Any], filters: dict[str, str]) -> bool:
    for key, want in filters.items():
        value = item.get(key)
        if key == "alarmedObject.id":
            value = (item.get("alarmedObject") or {}).get("id")
        if isinstance(value, bool):
            value = "true" if value else "false"
        if value is None or str(value) != want:
            return False
    return True


def _page(items: list[dict[str, Any]], filters: dict[str, str | None], fields: str | None,
          offset: int, limit: int) -> JSONResponse:
    chosen = [i for i in items if _matches(i, {k: v for k, v in filters.items()
                                              if v is not None})]
    page = [_select(i, fields) for i in chosen[offset:offset + limit]]
    return JSONResponse(page, headers={"X-Total-Count": str(len(chosen)),
                                       "X-Result-Count": str(len(page))})


def _responses(status: int, schema: dict[str, Any] | None, api: str,
               extra: tuple[int, ...] = ()) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    if schema is not None:
        out[status] = {"description": "OK" if status == 200 else "Created",
                       "content": {"application/json": {"schema": schema}}}
    else:
        out[status] = {"description": "Deleted"}
    for code in (400, 401, 404, *extra):
        out[code] = {"description": {400: "Bad Request", 401: "Unauthorized",
                                     404: "Not Found", 409: "Conflict",
                                     413: "Payload Too Large"}[code],
                     "content": {"application/json": {"schema": ref(api, "Error")}}}
    return out


def _body_doc(api: str, name: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": ref(api, name)}}}}


def _array(api: str, name: str) -> dict[str, Any]:
    return {"type": "array", "items": ref(api, name)}


Offset = Query(0, ge=0, le=1_000_000_000, description="index of the first resource")
Limit = Query(100, ge=1, le=MAX_LIMIT, description=f"page size (at most {MAX_LIMIT})")
Fields = Query(None, max_length=1000, description="comma-separated attributes to return")


def create_app(twin: LiveTwin, token: str | None = None) -> FastAPI:
    def auth(request: Request) -> None:
        if token is None:
            return
        got = request.headers.get("authorization", "")
        if not hmac.compare_digest(got.encode(), f"Bearer {token}".encode()):
            raise ApiError(401, "unauthorized", "Authorization: a valid bearer token is "
                                                "required")

    app = FastAPI(title="OSS/BSS Twin — live", version="1.0.0",
                  description="TM Forum Open APIs v4 served by a running twin",
                  dependencies=[Depends(auth)])

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, e: RequestValidationError) -> JSONResponse:
        return _error(400, "invalid field", _field_message(e, "request"))

    @app.exception_handler(HTTPException)
    async def _http(_r: Request, e: HTTPException) -> JSONResponse:
        reason = getattr(e, "reason", None) or {404: "not found", 405: "method not allowed"}.get(
            e.status_code, "error")
        return _error(e.status_code, reason, str(e.detail))

    def snap() -> Any:
        if twin.state is None:
            raise ApiError(409, "not started", "the twin is still starting")
        return twin.state.snapshot

    def refreshed() -> None:
        assert twin.state is not None
        twin.state.refresh()

    def act(fn: Callable[[], Any]) -> Any:
        if twin.operator is None:
            raise ApiError(409, "not started", "the twin is still starting")
        with twin.lock:
            try:
                out = fn()
            except RunEnded as e:
                raise ApiError(409, "run ended", str(e)) from None
            refreshed()
        return out

    def get_one(kind: str, table: Callable[[Any], dict[str, Any]], rid: str) -> JSONResponse:
        item = table(snap()).get(rid)
        if item is None:
            raise ApiError(404, "not found", f"id: no {kind} {rid!r}")
        return JSONResponse(item)

    # --- TMF642 -----------------------------------------------------------------------------
    a642 = APIS["TMF642"][0]

    @app.get(f"{a642}/alarm", tags=["TMF642"], response_model=None,
             responses=_responses(200, _array("TMF642", "Alarm"), "TMF642", (409,)))
    def list_alarms(fields: str | None = Fields, offset: int = Offset, limit: int = Limit,
                    state: str | None = Query(None, max_length=100),
                    ackState: str | None = Query(None, max_length=100),
                    perceivedSeverity: str | None = Query(None, max_length=100),
                    alarmType: str | None = Query(None, max_length=100),
                    probableCause: str | None = Query(None, max_length=100),
                    sourceSystemId: str | None = Query(None, max_length=100),
                    isRootCause: str | None = Query(None, max_length=10),
                    serviceAffecting: str | None = Query(None, max_length=10),
                    alarmed_object: str | None = Query(None, alias="alarmedObject.id",
                                                       max_length=200)) -> JSONResponse:
        filters = dict(state=state, ackState=ackState, perceivedSeverity=perceivedSeverity,
                       alarmType=alarmType, probableCause=probableCause,
                       sourceSystemId=sourceSystemId, isRootCause=isRootCause,
                       serviceAffecting=serviceAffecting)
        filters["alarmedObject.id"] = alarmed_object
        return _page(snap().alarms, filters, fields, offset, limit)

    @app.get(f"{a642}/alarm/{{id}}", tags=["TMF642"], response_model=None,
             responses=_responses(200, ref("TMF642", "Alarm"), "TMF642", (409,)))
    def get_alarm(id: str, fields: str | None = Fields) -> JSONResponse:
        item = snap().alarm_by_id.get(id)
        if item is None:
            raise ApiError(404, "not found", f"id: no alarm {id!r}")
        return JSONResponse(_select(item, fields))

    def _alarm_ids(pattern: list[Any]) -> list[int]:
        ids = []
        for p in pattern:
            try:
                ids.append(int(str(p.id)))
            except ValueError:
                raise ApiError(400, "invalid field",
                               f"alarmPattern.id: {p.id!r} is not an alarm id") from None
        return ids

    @app.patch(f"{a642}/alarm/{{id}}", tags=["TMF642"], response_model=None,
               responses=_responses(200, ref("TMF642", "Alarm"), "TMF642", (409, 413)),
               openapi_extra=_body_doc("TMF642", "Alarm_Update"))
    async def patch_alarm(id: str, request: Request) -> JSONResponse:
        body: _AlarmPatch = await _body(request, _AlarmPatch)
        if id not in snap().alarm_by_id:
            raise ApiError(404, "not found", f"id: no alarm {id!r}")
        if body.ackState not in (None, "acknowledged"):
            raise ApiError(400, "invalid field", "ackState: only 'acknowledged' can be set "
                                                 "(the twin's OSS does not unacknowledge)")
        clearing = body.state == "cleared" or body.perceivedSeverity == "cleared"
        if body.state not in (None, "cleared") or body.perceivedSeverity not in (None,
                                                                                 "cleared"):
            raise ApiError(400, "invalid field",
                           "state/perceivedSeverity: only 'cleared' can be set")
        if body.ackState is None and not clearing:
            raise ApiError(400, "invalid field", "ackState or state: nothing to change "
                                                 "(set ackState 'acknowledged' or state "
                                                 "'cleared')")
        assert twin.operator is not None
        op = twin.operator
        if body.ackState == "acknowledged":
            user = body.ackUserId or body.ackSystemId or "tmf642-client"
            act(lambda: op.on_alarms("acknowledge", [int(id)], user))
        if clearing:
            user = body.clearUserId or body.clearSystemId or "tmf642-client"
            act(lambda: op.on_alarms("clear", [int(id)], user))
        return JSONResponse(snap().alarm_by_id[id])

    def _task(kind: str, body: Any, done: list[int], user: str, system: str,
              time_key: str, when: str | None) -> dict[str, Any]:
        base = f"{twin.base_url}{a642[len('/tmf-api'):]}/{kind}"
        refs = [{"id": str(a), "href": f"{twin.base_url}/alarmManagement/v4/alarm/{a}",
                 "@referredType": "Alarm"} for a in done]
        op = twin.operator
        tid = op.count if op is not None else 0
        out = {"id": str(tid), "href": f"{base}/{tid}", "state": "done",
               "alarmPattern": [{"id": str(p.id)} for p in body.alarmPattern],
               "@type": kind[0].upper() + kind[1:]}
        if kind == "ackAlarms":
            out.update(ackUserId=user, ackSystemId=system, ackedAlarm=refs,
                       ackTime=when or snap_time())
        else:
            out.update(clearUserId=user, clearSystemId=system, clearedAlarm=refs,
                       alarmClearedTime=when or snap_time())
        return out

    def snap_time_of(t: float) -> str:
        return instant(twin.scenario.start, t) or ""

    def snap_time() -> str:
        return snap_time_of(twin.pacer.now)

    @app.post(f"{a642}/ackAlarms", tags=["TMF642"], status_code=201, response_model=None,
              responses=_responses(201, ref("TMF642", "AckAlarms"), "TMF642", (409, 413)),
              openapi_extra=_body_doc("TMF642", "AckAlarms_Create"))
    async def ack_alarms(request: Request) -> JSONResponse:
        body: _AckIn = await _body(request, _AckIn)
        ids = _alarm_ids(body.alarmPattern)
        done = act(lambda: twin.operator.on_alarms(  # type: ignore[union-attr]
            "acknowledge", ids, body.ackUserId))
        return JSONResponse(_task("ackAlarms", body, done, body.ackUserId, body.ackSystemId,
                                  "ackTime", None), status_code=201)

    @app.post(f"{a642}/clearAlarms", tags=["TMF642"], status_code=201, response_model=None,
              responses=_responses(201, ref("TMF642", "ClearAlarms"), "TMF642", (409, 413)),
              openapi_extra=_body_doc("TMF642", "ClearAlarms_Create"))
    async def clear_alarms(request: Request) -> JSONResponse:
        body: _ClearIn = await _body(request, _ClearIn)
        ids = _alarm_ids(body.alarmPattern)
        done = act(lambda: twin.operator.on_alarms(  # type: ignore[union-attr]
            "clear", ids, body.clearUserId))
        return JSONResponse(_task("clearAlarms", body, done, body.clearUserId,
                                  body.clearSystemId, "alarmClearedTime", None),
                            status_code=201)

    # --- TMF621 -----------------------------------------------------------------------------
    a621 = APIS["TMF621"][0]

    @app.get(f"{a621}/troubleTicket", tags=["TMF621"], response_model=None,
             responses=_responses(200, _array("TMF621", "TroubleTicket"), "TMF621", (409,)))
    def list_tickets(fields: str | None = Fields, offset: int = Offset, limit: int = Limit,
                     status: str | None = Query(None, max_length=100),
                     priority: str | None = Query(None, max_length=100),
                     severity: str | None = Query(None, max_length=100),
                     ticketType: str | None = Query(None, max_length=100)) -> JSONResponse:
        return _page(snap().tickets, dict(status=status, priority=priority, severity=severity,
                                          ticketType=ticketType), fields, offset, limit)

    @app.get(f"{a621}/troubleTicket/{{id}}", tags=["TMF621"], response_model=None,
             responses=_responses(200, ref("TMF621", "TroubleTicket"), "TMF621", (409,)))
    def get_ticket(id: str, fields: str | None = Fields) -> JSONResponse:
        item = snap().ticket_by_id.get(id)
        if item is None:
            raise ApiError(404, "not found", f"id: no trouble ticket {id!r}")
        return JSONResponse(_select(item, fields))

    @app.post(f"{a621}/troubleTicket", tags=["TMF621"], status_code=201, response_model=None,
              responses=_responses(201, ref("TMF621", "TroubleTicket"), "TMF621", (409, 413)),
              openapi_extra=_body_doc("TMF621", "TroubleTicket_Create"))
    async def create_ticket(request: Request) -> JSONResponse:
        body: _TicketIn = await _body(request, _TicketIn)
        incident, resource = 0, ""
        for e in body.relatedEntity:
            if e.referredType == "ServiceProblem" or e.role == "serviceProblem":
                if not e.id.isdigit() or len(e.id) > 9:
                    raise ApiError(400, "invalid field", f"relatedEntity.id: {e.id!r} is not "
                                                         "a service problem id")
                incident = int(e.id)
            elif e.referredType == "Resource" or e.role in ("rootCause", "affectedResource"):
                resource = e.id
        name = body.name or body.description[:80]
        ref_id = body.externalId or ""
        tid = act(lambda: twin.operator.open_ticket(  # type: ignore[union-attr]
            ref_id, name, resource, incident, "tmf621-client"))
        return JSONResponse(snap().ticket_by_id[tid], status_code=201)

    # --- TMF656, TMF635, TMF678 -------------------------------------------------------------
    a656 = APIS["TMF656"][0]

    @app.get(f"{a656}/serviceProblem", tags=["TMF656"], response_model=None,
             responses=_responses(200, _array("TMF656", "ServiceProblem"), "TMF656", (409,)))
    def list_problems(fields: str | None = Fields, offset: int = Offset, limit: int = Limit,
                      status: str | None = Query(None, max_length=100),
                      priority: str | None = Query(None, max_length=10)) -> JSONResponse:
        return _page(snap().problems, dict(status=status, priority=priority), fields, offset,
                     limit)

    @app.get(f"{a656}/serviceProblem/{{id}}", tags=["TMF656"], response_model=None,
             responses=_responses(200, ref("TMF656", "ServiceProblem"), "TMF656", (409,)))
    def get_problem(id: str, fields: str | None = Fields) -> JSONResponse:
        item = snap().problem_by_id.get(id)
        if item is None:
            raise ApiError(404, "not found", f"id: no service problem {id!r}")
        return JSONResponse(_select(item, fields))

    # --- TMF635, TMF678: what the BSS has mediated, rated and billed so far ------------------
    a635, a678 = APIS["TMF635"][0], APIS["TMF678"][0]

    def bss() -> LiveBss:
        if twin.bss is None:
            raise ApiError(409, "not started", "the twin is still starting")
        return twin.bss

    def counted(total: int, page: list[dict[str, Any]], fields: str | None) -> JSONResponse:
        out = [_select(i, fields) for i in page]
        return JSONResponse(out, headers={"X-Total-Count": str(total),
                                          "X-Result-Count": str(len(out))})

    def found(kind: str, get: Callable[[str], Any], rid: str) -> Any:
        try:
            return get(rid)
        except NotFound:
            raise ApiError(404, "not found", f"id: no {kind} {rid!r}") from None

    @app.get(f"{a635}/usage", tags=["TMF635"], response_model=None,
             responses=_responses(200, _array("TMF635", "Usage"), "TMF635", (409,)))
    def list_usage(fields: str | None = Fields, offset: int = Offset, limit: int = Limit,
                   usageType: str | None = Query(None, max_length=100),
                   status: str | None = Query(None, max_length=100)) -> Response:
        total, texts = bss().usage(offset, limit, usageType, status)
        if fields:
            return counted(total, [json.loads(t) for t in texts], fields)
        return Response(f"[{','.join(texts)}]", media_type="application/json",  # as built
                        headers={"X-Total-Count": str(total),
                                 "X-Result-Count": str(len(texts))})

    @app.get(f"{a635}/usage/{{id}}", tags=["TMF635"], response_model=None,
             responses=_responses(200, ref("TMF635", "Usage"), "TMF635", (409,)))
    def get_usage(id: str, fields: str | None = Fields) -> JSONResponse:
        return JSONResponse(_select(json.loads(found("usage", bss().one_usage, id)), fields))

    @app.get(f"{a678}/customerBill", tags=["TMF678"], response_model=None,
             responses=_responses(200, _array("TMF678", "CustomerBill"), "TMF678", (409,)))
    def list_bills(fields: str | None = Fields, offset: int = Offset, limit: int = Limit,
                   state: str | None = Query(None, max_length=100),
                   account: str | None = Query(None, alias="billingAccount.id",
                                               max_length=100)) -> JSONResponse:
        return counted(*bss().bills(offset, limit, account, state), fields)

    @app.get(f"{a678}/customerBill/{{id}}", tags=["TMF678"], response_model=None,
             responses=_responses(200, ref("TMF678", "CustomerBill"), "TMF678", (409,)))
    def get_bill(id: str, fields: str | None = Fields) -> JSONResponse:
        return JSONResponse(_select(found("customer bill", bss().one_bill, id), fields))

    @app.get(f"{a678}/appliedCustomerBillingRate", tags=["TMF678"], response_model=None,
             responses=_responses(200, _array("TMF678", "AppliedCustomerBillingRate"),
                                  "TMF678", (409,)))
    def list_rates(fields: str | None = Fields, offset: int = Offset, limit: int = Limit,
                   bill: str | None = Query(None, alias="bill.id", max_length=100)
                   ) -> JSONResponse:
        return counted(*bss().rates(offset, limit, bill), fields)

    @app.get(f"{a678}/appliedCustomerBillingRate/{{id}}", tags=["TMF678"],
             response_model=None, responses=_responses(
                 200, ref("TMF678", "AppliedCustomerBillingRate"), "TMF678", (409,)))
    def get_rate(id: str, fields: str | None = Fields) -> JSONResponse:
        return JSONResponse(_select(found("billing rate", bss().one_rate, id), fields))

    # --- hubs -------------------------------------------------------------------------------
    for api in ("TMF642", "TMF621", "TMF656"):
        _hub_routes(app, twin, api)

    # --- control and metrics ----------------------------------------------------------------
    @app.get("/twin/v1/status", tags=["twin"])
    def status() -> dict[str, Any]:
        return twin.status()

    @app.post("/twin/v1/control", tags=["twin"],
              responses=_responses(200, None, "TMF642", (409, 413)))
    async def control(request: Request) -> dict[str, Any]:
        body: _ControlIn = await _body(request, _ControlIn)
        if body.action == "pause":
            twin.pacer.pause(body.at)
        elif body.at is not None:
            raise ApiError(400, "invalid field", "at: only with action pause")
        elif body.action == "resume":
            twin.pacer.resume()
        elif body.action == "stop":
            twin.pacer.stop()
        else:
            raise ApiError(400, "invalid field", "action: one of pause, resume, stop")
        return twin.status()

    collector = metrics.TwinCollector(lambda: twin.asm, twin.lock, lambda: {
        "sim_time": twin.pacer.now, "speed": twin.pacer.speed, "state": twin.pacer.state,
        "max_lag_s": twin.pacer.max_lag_s, "hub": dict(twin.hub.totals),
        "subscribers": len(twin.hub.subscribers())})
    reg = metrics.registry(collector)

    @app.get("/metrics", tags=["twin"], response_class=Response,
             responses={200: {"description": "Prometheus text format",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}})
    def prometheus() -> Response:
        return Response(metrics.render(reg), media_type=metrics.CONTENT_TYPE)

    if twin.expose_truth:
        @app.get("/twin/v1/truth/faults", tags=["twin"])
        def truth() -> list[dict[str, Any]]:
            """Ground truth (only with ``--expose-truth``): the faults injected so far."""
            if twin.asm is None:
                return []
            with twin.lock:
                net, now = twin.asm.network, twin.pacer.now
                return [{"faultId": f.id, "start": snap_time_of(f.at), "target": f.target,
                         "targetKind": f.target_kind, "mode": f.mode,
                         "active": f.id in net.state.active}
                        for f in net.schedule if f.at <= now]

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    for api in APIS:
        app.add_route(f"{APIS[api][0]}/openapi.json", _api_document_route(app, api),
                      include_in_schema=False)
    return app


def _api_document_route(app: FastAPI, api: str) -> Callable[[Request], Any]:
    async def route(_r: Request) -> JSONResponse:
        return JSONResponse(api_document(app, api))
    return route


def api_document(app: FastAPI, api: str) -> dict[str, Any]:
    """The OpenAPI document of one TM Forum API as served, shaped like its specification:
    the API's base path as the server, paths relative to it, the spec's definitions under
    their own names."""
    doc = _openapi(app)
    base = APIS[api][0]
    paths = {p[len(base):]: unprefixed(ops, api) for p, ops in doc["paths"].items()
             if p.startswith(base + "/")}
    schemas = {name: to_openapi3(s, api, prefixed=False)
               for name, s in definitions()[api].items()}
    used = closure(schemas, tuple(sorted(set(refs(paths)))))
    return {"openapi": doc["openapi"],
            "info": {"title": f"{api} ({base.split('/')[2]}) — OSS/BSS Twin, live",
                     "version": "4.0.0", "description": f"The {api} routes the running twin "
                     "serves, with the TM Forum specification's schemas"},
            "servers": [{"url": base}], "paths": paths,
            "components": {"schemas": used}}


def _hub_routes(app: FastAPI, twin: LiveTwin, api: str) -> None:
    base = APIS[api][0]

    @app.post(f"{base}/hub", tags=[api], status_code=201, response_model=None,
              responses=_responses(201, ref(api, "EventSubscription"), api, (413,)),
              openapi_extra=_body_doc(api, "EventSubscriptionInput"),
              operation_id=f"registerListener{api}")
    async def register(request: Request) -> JSONResponse:
        body: _SubscriptionIn = await _body(request, _SubscriptionIn)
        try:
            sub = twin.hub.subscribe(api, body.callback, body.query)
        except SubscriptionError as e:
            raise ApiError(400, "invalid field", str(e)) from None
        return JSONResponse(sub.resource(), status_code=201)

    @app.delete(f"{base}/hub/{{id}}", tags=[api], status_code=204, response_model=None,
                responses=_responses(204, None, api), operation_id=f"unregisterListener{api}")
    def unregister(id: str) -> Response:
        if not twin.hub.unsubscribe(api, id):
            raise ApiError(404, "not found", f"id: no subscription {id!r} on the {api} hub")
        return Response(status_code=204)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)
        for ops in doc.get("paths", {}).values():
            for op in ops.values():
                op.get("responses", {}).pop("422", None)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        schemas.update(components())
        app.openapi_schema = doc
    return app.openapi_schema
