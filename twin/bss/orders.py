"""Product orders (TMF622): new lines, offer changes and cancellations, through provisioning.

The BSS takes three kinds of product order during the run:

* **add** — a new subscription. Customers arrive as a Poisson stream
  (``orders.new_lines_per_day``); each is one of the base's prospects (its offer, cell and
  account were drawn with the base).
* **modify** — an offer change: each day, every active line whose offer has a target in
  ``orders.change_to`` orders the change with the daily share of ``orders.changes_monthly``.
* **delete** — a cancellation: care decides churn (:mod:`twin.bss.care`); the customer's
  notice becomes a cancel order, requested for the end of the bill cycle.

Each product order decomposes into one service order (TMF641, same action) sent to the OSS
over the integration bus — for a cancellation, on its requested date. The product order goes
``acknowledged`` → ``inProgress`` (service order sent) → ``held`` while its service order is
in fallout → ``completed`` or ``failed``, following the OSS's :class:`ServiceOrderUpdate`.
On completion the BSS's product inventory (:class:`~twin.bss.lines.Lines`) changes: an added
line is active from the network's activation instant (billing starts then, the one-time fee
is due, and the line reaches mediation's guiding table); a change switches the offer.

The ``product_orders`` table has one row per order, in its final state.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import simpy

from twin.bss.lines import Lines
from twin.kernel import Sim
from twin.messages import ServiceOrder, ServiceOrderUpdate, SubscriberBase
from twin.scenario.schema import OrdersSpec

I64 = npt.NDArray[np.int64]
DAY = 86_400.0
PRODUCT_ORDERS_SCHEMA = pa.schema([
    ("product_order_id", pa.int64()), ("action", pa.string()), ("sub", pa.int64()),
    ("account", pa.int64()), ("offer", pa.string()), ("from_offer", pa.string()),
    ("cell", pa.string()), ("ordered", pa.float64()), ("requested_start", pa.float64()),
    ("state", pa.string()), ("service_order_id", pa.int64()), ("attempts", pa.int64()),
    ("fallouts", pa.int64()), ("fallout_reason", pa.string()), ("activated", pa.float64()),
    ("completed", pa.float64()),
])


@dataclass
class ProductOrder:
    id: int
    action: str  # add | modify | delete
    sub: int
    offer: int  # the offer ordered (add, modify) or held (delete)
    from_offer: int
    ordered: float
    requested_start: float
    state: str = "acknowledged"
    service_order_id: int = 0
    attempts: int = 0
    fallouts: int = 0
    reason: str = ""
    activated: float = math.nan  # the network's instant (completed service order)
    completed: float = math.nan  # when the BSS completed the product order


class ProductOrders:
    def __init__(self, sim: Sim, spec: OrdersSpec, subs: SubscriberBase, lines: Lines,
                 publish: Callable[[Any], None], on_activated: Callable[[int], None],
                 leaves: npt.NDArray[np.float64]) -> None:
        self.sim, self.spec, self.subs, self.lines = sim, spec, subs, lines
        self.leaves = leaves  # when lines leave (churn notice given)
        self.publish = publish
        self.on_activated = on_activated
        self.orders: dict[int, ProductOrder] = {}
        self._ids = itertools.count(1)
        self.open = np.zeros(subs.count, dtype=bool)  # a line with an order in flight
        self.counts = dict.fromkeys(("add", "modify", "delete"), 0) | dict(
            completed=0, failed=0, fallouts=0)
        self.change_to = np.full(len(subs.offers), -1, dtype=np.int64)
        for a, b in spec.change_to.items():
            if a in subs.offers:
                self.change_to[subs.offers.index(a)] = subs.offers.index(b)
        prospects = np.arange(subs.n_existing, subs.count, dtype=np.int64)
        if prospects.size:
            rng = sim.rng.stream("bss.orders.arrivals")
            # a Poisson process given its count: sorted uniform instants over the run
            at = np.sort(rng.random(prospects.size) * sim.horizon)
            sim.env.process(self._arrivals(prospects, at))
        if spec.changes_monthly > 0 and (self.change_to >= 0).any():
            sim.env.process(self._daily_changes())

    # --- order capture ------------------------------------------------------------------------

    def _arrivals(self, subs: I64, at: npt.NDArray[np.float64]) -> Generator[simpy.Event, None,
                                                                                    None]:
        for sub, t in zip(subs.tolist(), at.tolist(), strict=True):
            yield self.sim.env.timeout(t - self.sim.now)
            off = int(self.subs.offer[sub])
            self._start(self._new("add", sub, off, off, self.sim.now))

    def _daily_changes(self) -> Generator[simpy.Event, None, None]:
        rng = self.sim.rng.stream("bss.orders.changes")
        daily = 1.0 - (1.0 - self.spec.changes_monthly) ** (1.0 / 30.44)
        while self.sim.now + DAY <= self.sim.horizon:
            yield self.sim.env.timeout(DAY)
            now = self.sim.now
            target = self.change_to[self.lines.current]
            can = ((target >= 0) & (self.lines.active_from <= now) & ~self.open
                   & np.isinf(self.leaves))
            go = np.flatnonzero(can & (rng.random(can.size) < daily))
            for sub in go.tolist():
                self._start(self._new("modify", sub, int(target[sub]),
                                      int(self.lines.current[sub]), now))

    def cancel(self, subs: I64, leaves: npt.NDArray[np.float64]) -> None:
        """Customers gave notice: cancel orders for their lines, effective ``leaves``."""
        for sub, t in zip(np.asarray(subs, dtype=np.int64).tolist(),
                          np.broadcast_to(leaves, np.shape(subs)).tolist(), strict=True):
            off = int(self.lines.current[sub])
            order = self._new("delete", sub, off, off, t)
            self.sim.env.process(self._at(order, t))

    def _new(self, action: str, sub: int, offer: int, from_offer: int,
             requested: float) -> ProductOrder:
        order = ProductOrder(next(self._ids), action, sub, offer, from_offer, self.sim.now,
                             requested)
        self.orders[order.id] = order
        self.open[sub] = True
        self.counts[action] += 1
        return order

    def _at(self, order: ProductOrder, t: float) -> Generator[simpy.Event, None, None]:
        yield self.sim.env.timeout(max(t - self.sim.now, 0.0))
        self._start(order)

    def _start(self, order: ProductOrder) -> None:
        """Decompose into the service order and send it to the OSS."""
        order.state = "inProgress"
        order.service_order_id = order.id  # one service order per product order
        self.publish(ServiceOrder(order.service_order_id, order.id, order.action, order.sub,
                                  self.subs.cells[int(self.subs.cell[order.sub])],
                                  self.subs.offers[order.offer], self.sim.now))

    # --- the OSS's answers --------------------------------------------------------------------

    def on_update(self, u: ServiceOrderUpdate) -> None:
        order = self.orders[u.product_order_id]
        order.attempts = u.attempts
        if u.state == "held":
            order.state, order.reason = "held", u.reason
            order.fallouts += 1
            self.counts["fallouts"] += 1
            return
        order.completed = self.sim.now
        self.open[order.sub] = False
        if u.state == "failed":
            order.state, order.reason = "failed", u.reason
            order.fallouts += 1
            self.counts["fallouts"] += 1
            self.counts["failed"] += 1
            return
        order.state, order.activated = "completed", u.at
        self.counts["completed"] += 1
        if order.action == "add":
            self.lines.activate(order.sub, u.at)
            self.on_activated(order.sub)
        elif order.action == "modify":
            self.lines.change(order.sub, self.sim.now, order.offer)

    def write(self) -> None:
        buf = self.sim.records.buffer("product_orders", PRODUCT_ORDERS_SCHEMA)
        offers, subs = self.subs.offers, self.subs
        for o in self.orders.values():
            buf.append(product_order_id=o.id, action=o.action, sub=o.sub,
                       account=int(subs.account[o.sub]), offer=offers[o.offer],
                       from_offer=offers[o.from_offer],
                       cell=subs.cells[int(subs.cell[o.sub])], ordered=o.ordered,
                       requested_start=o.requested_start, state=o.state,
                       service_order_id=o.service_order_id, attempts=o.attempts,
                       fallouts=o.fallouts, fallout_reason=o.reason, activated=o.activated,
                       completed=o.completed)
