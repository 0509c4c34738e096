"""The live twin's HTTP surface, checked by someone else's code: schemathesis generates
requests from the served OpenAPI document (zero server errors, every response valid against
its schema, status and content type documented); the served schemas are the TM Forum
specifications' own; bad requests are 4xx naming the field; a bearer token guards every
route when set; pages are capped and counted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from twin.live.api import MAX_LIMIT, create_app
from twin.live.schemas import APIS, definitions, to_openapi3
from twin.live.service import LiveTwin

from .live_support import small_scenario

TMF = Path(__file__).resolve().parents[1] / "data" / "tmf"
A642 = APIS["TMF642"][0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveTwin]:
    tmp = tmp_path_factory.mktemp("live_api")
    _, sc = small_scenario(tmp)
    twin = LiveTwin(sc, tmp / "run", speed=1e6)
    twin.start()
    assert twin.wait(120) and twin.error is None, twin.error
    yield twin
    twin.close()


@pytest.fixture(scope="module")
def client(finished: LiveTwin) -> TestClient:
    return TestClient(create_app(finished))


def test_served_schemas_are_the_tm_forum_specs(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    served = doc["components"]["schemas"]
    for api, (base, _roots) in APIS.items():
        (path,) = TMF.glob(f"{api}-*.swagger.json")
        spec = json.loads(path.read_text(encoding="utf-8"))
        assert spec["basePath"].rstrip("/") == base
        assert definitions()[api]  # every definition served is the spec's, unchanged
        for name, schema in definitions()[api].items():
            assert schema == spec["definitions"][name], (api, name)
            assert served[f"{api}_{name}"] == to_openapi3(spec["definitions"][name], api)
        # every served path of the API is a path of the spec, with a method the spec has
        for p, ops in doc["paths"].items():
            if p.startswith(base + "/"):
                rel = p[len(base):]
                assert rel in spec["paths"], (api, rel)
                assert set(ops) <= set(spec["paths"][rel]), (api, rel)
    alarm = doc["paths"][f"{A642}/alarm"]["get"]["responses"]["200"]
    assert alarm["content"]["application/json"]["schema"]["items"] == {
        "$ref": "#/components/schemas/TMF642_Alarm"}


def _spec(api: str) -> dict[str, Any]:
    (path,) = TMF.glob(f"{api}-*.swagger.json")
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return spec


@pytest.mark.parametrize("api", list(APIS))
def test_each_api_has_its_own_document_agreeing_with_its_spec(client: TestClient,
                                                             api: str) -> None:
    """``{base}/openapi.json``: the API's paths relative to its base path, each operation's
    success response and request body the spec's own schema for that path and method, the
    components the spec's definitions under their own names."""
    base = APIS[api][0]
    spec = _spec(api)
    doc = client.get(f"{base}/openapi.json").json()
    assert doc["servers"] == [{"url": spec["basePath"].rstrip("/")}]
    served = doc["components"]["schemas"]
    assert served and all(s == to_openapi3(spec["definitions"][n], api, prefixed=False)
                          for n, s in served.items())
    assert set(doc["paths"]) == {p[len(base):] for p in
                                 client.get("/openapi.json").json()["paths"]
                                 if p.startswith(base + "/")}
    operations = 0
    for rel, ops in doc["paths"].items():
        for method, op in ops.items():
            want = spec["paths"][rel][method]
            for code, resp in op["responses"].items():
                if code in ("200", "201"):
                    assert resp["content"]["application/json"]["schema"] == to_openapi3(
                        want["responses"][code]["schema"], api, prefixed=False), (rel, method)
                    operations += 1
                elif code == "204":
                    assert "204" in want["responses"]
            body = [p for p in want.get("parameters", []) if p.get("in") == "body"]
            if "requestBody" in op:
                (b,) = body
                assert op["requestBody"]["content"]["application/json"]["schema"] == \
                    to_openapi3(b["schema"], api, prefixed=False), (rel, method)
    assert operations >= 2  # at least a list and a get


def test_lists_page_count_and_select(client: TestClient, finished: LiveTwin) -> None:
    n = len(finished.state.snapshot.alarms)  # type: ignore[union-attr]
    r = client.get(f"{A642}/alarm", params={"offset": 1, "limit": 2, "fields": "state"})
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == str(n) and r.headers["X-Result-Count"] == "2"
    assert all(set(a) <= {"id", "href", "@type", "state"} for a in r.json())
    assert [a["id"] for a in r.json()] == [2, 3]
    r = client.get(f"{A642}/alarm", params={"state": "cleared"})
    assert all(a["state"] == "cleared" for a in r.json())
    one = client.get(f"{A642}/alarm/1").json()
    assert one["id"] == 1 and "perceivedSeverity" in one


def test_usage_and_bills_of_the_written_run(client: TestClient, finished: LiveTwin) -> None:
    from .tmf import check

    run = finished.run
    assert run is not None
    r = client.get("/tmf-api/usageManagement/v4/usage", params={"offset": 5, "limit": 50})
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == str(run.summary["bss"]["cdrs_received"])
    usage = r.json()
    assert len(usage) == 50
    check("TMF635", "Usage", usage)
    first = client.get("/tmf-api/usageManagement/v4/usage", params={"limit": 55}).json()
    assert first[5:] == usage  # pages are slices of one order
    r = client.get("/tmf-api/customerBillManagement/v4/customerBill", params={"limit": 1000})
    bills = r.json()
    assert r.headers["X-Total-Count"] == str(len(run.table("invoices"))) != "0"
    check("TMF678", "CustomerBill", bills)
    one = client.get(f"/tmf-api/customerBillManagement/v4/customerBill/{bills[0]['id']}")
    assert one.json() == bills[0]


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), [
    ("get", f"{A642}/alarm?limit={MAX_LIMIT + 1}", None, 400, "limit"),
    ("get", f"{A642}/alarm?offset=-1", None, 400, "offset"),
    ("get", f"{A642}/alarm?limit=x", None, 400, "limit"),
    ("get", f"{A642}/alarm/999999", None, 404, "id"),
    ("post", f"{A642}/ackAlarms", {"ackUserId": "u", "ackSystemId": "s"}, 400,
     "alarmPattern"),
    ("post", f"{A642}/ackAlarms", {"ackUserId": "u", "ackSystemId": "s",
                                   "alarmPattern": [{"id": "x1"}]}, 400, "alarmPattern.id"),
    ("post", f"{A642}/clearAlarms", {"clearUserId": "u"}, 400, "clearSystemId"),
    ("patch", f"{A642}/alarm/1", {"ackState": "unacknowledged"}, 400, "ackState"),
    ("patch", f"{A642}/alarm/1", {"bogus": 1}, 400, "bogus"),
    ("post", "/tmf-api/troubleTicket/v4/troubleTicket", {"severity": "x"}, 400,
     "description"),
    ("post", f"{A642}/hub", {"callback": "ftp://x"}, 400, "callback"),
    ("post", f"{A642}/hub", {"callback": "http://x", "query": "eventType=nope"}, 400,
     "query"),
    ("delete", f"{A642}/hub/77", None, 404, "id"),
    ("get", "/tmf-api/customerBillManagement/v4/customerBill/nope", None, 404, "id"),
    ("post", "/twin/v1/control", {"action": "jump"}, 400, "action"),
    ("post", "/twin/v1/control", "[1]", 400, "body"),
    ("post", f"{A642}/ackAlarms", "{not json", 400, "body"),
    # the run is over: actions are refused, not lost
    ("post", f"{A642}/ackAlarms", {"ackUserId": "u", "ackSystemId": "s",
                                   "alarmPattern": [{"id": "1"}]}, 409, "run has ended"),
])
def test_bad_requests_are_4xx_naming_the_field(client: TestClient, method: str, path: str,
                                               body: Any, status: int, field: str) -> None:
    kw: dict[str, Any] = {}
    if isinstance(body, str):
        kw["content"] = body
        kw["headers"] = {"content-type": "application/json"}
    elif body is not None:
        kw["json"] = body
    r = client.request(method.upper(), path, **kw)
    assert r.status_code == status, r.text
    err = r.json()
    assert err["code"] == str(status) and field in err["message"]


def test_bearer_token_guards_every_route(finished: LiveTwin) -> None:
    c = TestClient(create_app(finished, token="s3cret"))
    for path in (f"{A642}/alarm", "/metrics", "/twin/v1/status"):
        assert c.get(path).status_code == 401
        assert c.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.get(path, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert "Authorization" in c.get(f"{A642}/alarm").json()["message"]


def test_truth_is_withheld_unless_asked(client: TestClient, finished: LiveTwin) -> None:
    assert client.get("/twin/v1/truth/faults").status_code == 404
    finished.expose_truth = True
    try:
        faults = TestClient(create_app(finished)).get("/twin/v1/truth/faults").json()
    finally:
        finished.expose_truth = False
    assert any(f["target"] == "site1-site2" and f["mode"] == "fibre_cut" for f in faults)
    served = json.dumps(client.get(f"{A642}/alarm", params={"limit": MAX_LIMIT}).json())
    assert "fibre_cut" not in served  # the failure mode is truth: the OSS never names it


def test_schemathesis_finds_no_server_error(client: TestClient) -> None:
    """Every operation of the served document, a dozen generated requests each (valid and
    invalid ones): no 5xx, every response documented and valid against its schema."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance,
              content_type_conformance]
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 18
    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=12, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.call_and_validate(checks=checks)

        run()


@pytest.mark.parametrize("api", ["TMF635", "TMF678"])
def test_schemathesis_reads_an_api_document(client: TestClient, api: str) -> None:
    """An API's own document is one a third-party tool loads and calls by: its operations
    found under the server's base path, their responses valid against it."""
    schema = schemathesis.openapi.from_asgi(f"{APIS[api][0]}/openapi.json", client.app)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 2
    for op in operations:
        _call_through(op)


def _call_through(op: Any) -> None:
    by_id = "/{id}" in op.path

    @given(case=op.as_strategy())
    @settings(max_examples=4, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        response = case.call_and_validate(checks=[
            not_a_server_error, response_schema_conformance, status_code_conformance])
        assert response.status_code != 404 or by_id  # routed, not lost

    run()
