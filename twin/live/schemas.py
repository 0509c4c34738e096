"""The TM Forum schemas the live twin serves, from the Open API v4 specifications.

``tmf_definitions.json`` holds, per API, the Swagger 2.0 ``definitions`` the served routes
use and everything they refer to, copied unchanged from the TM Forum specifications
(Apache License 2.0; the tests compare them with the full specs in ``tests/data/tmf``).
:func:`components` turns them into OpenAPI 3 components named ``TMF642_Alarm`` and so on.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

# the routes of each API: base path, and the definitions its routes and events use
APIS: dict[str, tuple[str, tuple[str, ...]]] = {
    "TMF642": ("/tmf-api/alarmManagement/v4", (
        "Alarm", "Alarm_Update", "AckAlarms", "AckAlarms_Create", "ClearAlarms",
        "ClearAlarms_Create", "EventSubscription", "EventSubscriptionInput", "Error",
        "AlarmCreateEvent", "AlarmAttributeValueChangeEvent", "AlarmStateChangeEvent",
        "AckAlarmsCreateEvent", "ClearAlarmsCreateEvent")),
    "TMF621": ("/tmf-api/troubleTicket/v4", (
        "TroubleTicket", "TroubleTicket_Create", "EventSubscription", "EventSubscriptionInput",
        "Error", "TroubleTicketCreateEvent", "TroubleTicketStatusChangeEvent")),
    "TMF656": ("/tmf-api/serviceProblemManagement/v4", (
        "ServiceProblem", "EventSubscription", "EventSubscriptionInput", "Error",
        "ServiceProblemCreateEvent", "ServiceProblemStateChangeEvent")),
    "TMF635": ("/tmf-api/usageManagement/v4", ("Usage", "Error")),
    "TMF678": ("/tmf-api/customerBillManagement/v4", ("CustomerBill", "AppliedCustomerBillingRate",
                                                       "Error")),
}


def closure(definitions: dict[str, Any], roots: tuple[str, ...]) -> dict[str, Any]:
    """``roots`` and every definition they refer to, directly or not."""
    out: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out[name] = definitions[name]
        todo.extend(refs(definitions[name]))
    return dict(sorted(out.items()))


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"].rsplit("/", 1)[1]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


@cache
def definitions() -> dict[str, dict[str, Any]]:
    """Per API, the Swagger 2.0 definitions served (as in the TM Forum specifications)."""
    text = resources.files("twin.live").joinpath("tmf_definitions.json").read_text("utf-8")
    data: dict[str, dict[str, Any]] = json.loads(text)
    return data


def to_openapi3(node: Any, api: str, prefixed: bool = True) -> Any:
    """A Swagger 2.0 schema as an OpenAPI 3 one: references into ``components`` (under the
    API's prefix, ``TMF642_Alarm``, unless not ``prefixed``: ``Alarm``); a string
    ``discriminator`` as an object."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out[k] = f"#/components/schemas/{api + '_' if prefixed else ''}" \
                         f"{v.rsplit('/', 1)[1]}"
            elif k == "discriminator" and isinstance(v, str):
                out[k] = {"propertyName": v}
            else:
                out[k] = to_openapi3(v, api, prefixed)
        return out
    if isinstance(node, list):
        return [to_openapi3(v, api, prefixed) for v in node]
    return node


def unprefixed(node: Any, api: str) -> Any:
    """``node`` with its references to the API's prefixed components made plain."""
    if isinstance(node, dict):
        return {k: v.replace(f"/schemas/{api}_", "/schemas/", 1)
                if k == "$ref" and isinstance(v, str) else unprefixed(v, api)
                for k, v in node.items()}
    if isinstance(node, list):
        return [unprefixed(v, api) for v in node]
    return node


def components() -> dict[str, Any]:
    return {f"{api}_{name}": to_openapi3(schema, api)
            for api, defs in definitions().items() for name, schema in defs.items()}


def ref(api: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{api}_{name}"}
