"""Service provisioning: service orders from the BSS activate lines on the network.

A service order (TMF641) arrives from the BSS over the integration bus. The OSS designs and
assigns it (an exponential ``processing_mean``), then pushes the configuration to the
network with an :class:`ActivationCommand` for the line's serving cell. The order is
*completed* when the network confirms. It *falls out* — state ``held``, the BSS is told —
when the OSS already knows the serving cell is out of service (an open incident or an active
service-affecting alarm on it: no point pushing configuration to a dead site), or when the
network rejects the activation; it is retried every ``retry_interval``, and after
``max_attempts`` attempts it is *failed*. Like a real order-management fallout queue, the
OSS judges from its own view: a cell that died silently, unalarmed, is tried — and the
network's rejection is what tells.

The ``service_orders`` table has one row per order, in its final state.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import simpy

from twin.kernel import Sim
from twin.messages import (
    MSISDN_BASE,
    TMF_BASE_URL,
    ActivationCommand,
    ActivationResult,
    ServiceOrder,
    ServiceOrderUpdate,
    tmf_href,
)
from twin.scenario.schema import ProvisioningSpec

SERVICE_ORDERS_SCHEMA = pa.schema([
    ("service_order_id", pa.int64()), ("product_order_id", pa.int64()),
    ("action", pa.string()), ("sub", pa.int64()), ("cell", pa.string()),
    ("offer", pa.string()), ("ordered", pa.float64()), ("received", pa.float64()),
    ("state", pa.string()), ("attempts", pa.int64()), ("fallouts", pa.int64()),
    ("fallout_reason", pa.string()), ("completed", pa.float64()),
])
OSS_KNOWS_DOWN = "serving cell out of service (OSS alarms)"


@dataclass
class _Order:
    so: ServiceOrder
    received: float
    state: str = "acknowledged"
    attempts: int = 0
    fallouts: int = 0
    reason: str = ""
    completed: float = math.nan


class Provisioning:
    def __init__(self, sim: Sim, spec: ProvisioningSpec, publish: Callable[[Any], None],
                 cell_out: Callable[[str], bool]) -> None:
        self.sim, self.spec, self.publish, self.cell_out = sim, spec, publish, cell_out
        self.rng = sim.rng.stream("oss.provisioning")
        self.orders: dict[int, _Order] = {}
        self.counts = dict(received=0, completed=0, failed=0, fallouts=0)

    def on_service_order(self, so: ServiceOrder) -> None:
        order = _Order(so, self.sim.now)
        self.orders[so.service_order_id] = order
        self.counts["received"] += 1
        mean = self.spec.processing_mean
        delay = float(self.rng.exponential(mean)) if mean > 0 else 0.0
        self.sim.env.process(self._attempt_after(order, delay))

    def _attempt_after(self, order: _Order, delay: float) -> Generator[simpy.Event, None, None]:
        yield self.sim.env.timeout(delay)
        self._attempt(order)

    def _attempt(self, order: _Order) -> None:
        order.attempts += 1
        so = order.so
        if self.cell_out(so.cell):
            self._fallout(order, OSS_KNOWS_DOWN)
            return
        order.state = "inProgress"
        self.publish(ActivationCommand(so.service_order_id, so.sub, so.action, so.cell))

    def on_activation_result(self, res: ActivationResult) -> None:
        order = self.orders[res.service_order_id]
        if not res.ok:
            self._fallout(order, f"activation rejected: {res.reason}")
            return
        order.state, order.completed = "completed", self.sim.now
        self.counts["completed"] += 1
        self._notify(order)

    def _fallout(self, order: _Order, reason: str) -> None:
        order.fallouts += 1
        order.reason = reason
        self.counts["fallouts"] += 1
        if order.attempts >= self.spec.max_attempts:
            order.state = "failed"
            self.counts["failed"] += 1
        else:
            order.state = "held"
            self.sim.env.process(self._attempt_after(order, self.spec.retry_interval))
        self._notify(order)

    def _notify(self, order: _Order) -> None:
        so = order.so
        self.publish(ServiceOrderUpdate(so.service_order_id, so.product_order_id, order.state,
                                        self.sim.now, order.attempts, order.reason))

    def write(self) -> None:
        buf = self.sim.records.buffer("service_orders", SERVICE_ORDERS_SCHEMA)
        for o in self.orders.values():
            so = o.so
            buf.append(service_order_id=so.service_order_id,
                       product_order_id=so.product_order_id, action=so.action, sub=so.sub,
                       cell=so.cell, offer=so.offer, ordered=so.ordered, received=o.received,
                       state=o.state, attempts=o.attempts, fallouts=o.fallouts,
                       fallout_reason=o.reason, completed=o.completed)


SERVICE_STATE = {"add": "active", "modify": "active", "delete": "terminated"}


def tmf641_orders(orders: Any, start: Any,
                  base_url: str = TMF_BASE_URL) -> list[dict[str, Any]]:
    """Every row of the ``service_orders`` table (a DataFrame) as a TMF641 ``ServiceOrder``
    with one item: the mobile line's service on its serving cell; ``start`` is the scenario's
    start instant (a ``datetime``); the product order it realises is an external reference
    (TMF622, by id and ``href``)."""
    from datetime import timedelta

    def iso(t: float) -> str:
        text: str = (start + timedelta(seconds=float(t))).isoformat()
        return text.replace("+00:00", "Z")

    out = []
    for r in orders.itertuples():
        done = r.state == "completed"
        service = {
            "id": f"svc-{r.sub}", "serviceType": "mobileLine", "name": f"line {r.sub}",
            "state": SERVICE_STATE[r.action] if done else (
                "active" if r.action == "delete" else "inactive"),
            "serviceSpecification": {"id": str(r.offer), "name": str(r.offer)},
            "serviceCharacteristic": [
                {"name": "MSISDN", "valueType": "string",
                 "value": str(MSISDN_BASE + int(r.sub))},
                {"name": "servingCell", "valueType": "string", "value": str(r.cell)}],
            "place": [{"id": str(r.cell), "role": "servingCell"}],
            "@type": "Service",
        }
        order: dict[str, Any] = {
            "id": str(r.service_order_id),
            "href": tmf_href(base_url, "/serviceOrdering/v4/serviceOrder", r.service_order_id),
            "orderDate": iso(r.ordered), "startDate": iso(r.received),
            "state": r.state, "category": "provisioning",
            "externalReference": [{
                "id": str(r.product_order_id), "name": str(r.product_order_id),
                "externalReferenceType": "productOrder",
                "href": tmf_href(base_url, "/productOrderingManagement/v4/productOrder",
                                 r.product_order_id)}],
            "serviceOrderItem": [{"id": "1", "quantity": 1, "action": r.action,
                                  "state": r.state, "service": service}],
            "@type": "ServiceOrder",
        }
        if done:
            order["completionDate"] = iso(r.completed)
        if r.fallouts:
            order["note"] = [{"text": f"attempt {r.attempts}: {r.fallout_reason}",
                              "author": "OSS provisioning"}]
        out.append(order)
    return out
