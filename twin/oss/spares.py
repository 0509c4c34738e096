"""Spare parts: depot stock, one-for-one reordering with a lead time, tickets that wait.

A crew replacing an element takes a unit of the element's type from its region's depot
(``oss.spares``; one central depot with ``central``). The part is *reserved* when the ticket
joins the crew queue and *used* when the crew repairs; every used unit is reordered at once
and arrives ``lead_time`` later — a base-stock policy, as for most repairable spares. A
reserved unit the crew did not need (the fault cleared) goes back on the shelf. When the
shelf is empty the ticket is backordered — ``pending`` in TMF621 terms — and a unit is ordered
for it unless enough are already on the way; the next unit to arrive goes to the oldest
backorder. Stock on hand + on order + reserved − backordered stays equal to the initial
stock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from twin.kernel import Sim
from twin.scenario.schema import SparesSpec

SPARES_SCHEMA = pa.schema([
    ("t", pa.float64()), ("depot", pa.string()), ("type", pa.string()),
    ("event", pa.string()), ("ticket_id", pa.int64()), ("on_hand", pa.int64()),
    ("on_order", pa.int64()),
])

Key = tuple[str, str]  # (depot, element type)


class SpareParts:
    def __init__(self, sim: Sim, spec: SparesSpec,
                 on_arrival: Callable[[int], None]) -> None:
        self.sim, self.spec = sim, spec
        self.on_arrival = on_arrival  # the ticket id that got the arriving unit
        self.on_hand: dict[Key, int] = {}
        self.on_order: dict[Key, int] = {}
        self.backorders: dict[Key, list[int]] = {}
        self.log = sim.records.buffer("spare_parts", SPARES_SCHEMA)
        self.used = 0
        self.stockouts = 0

    def depot(self, region: str) -> str:
        return "central" if self.spec.central else (region or "*")

    def _init(self, key: Key) -> None:
        if key not in self.on_hand:
            self.on_hand[key] = self.spec.stock.get(key[1],  # type: ignore[call-overload]
                                                    self.spec.default_stock)
            self.on_order[key] = 0

    def _event(self, key: Key, event: str, ticket: int) -> None:
        self.log.append(t=self.sim.now, depot=key[0], type=key[1], event=event,
                        ticket_id=ticket, on_hand=self.on_hand[key],
                        on_order=self.on_order[key])

    def reserve(self, key: Key, ticket: int) -> bool:
        """Reserve a unit for ``ticket``; False: backordered (the ticket waits)."""
        self._init(key)
        if self.on_hand[key] > 0:
            self.on_hand[key] -= 1
            self._event(key, "reserved", ticket)
            return True
        waiting = self.backorders.setdefault(key, [])
        waiting.append(ticket)
        self.stockouts += 1
        self._event(key, "backordered", ticket)
        if self.on_order[key] < len(waiting):
            self._order(key, ticket)
        return False

    def use(self, key: Key, ticket: int) -> None:
        """The crew fitted the reserved unit: reorder one."""
        self.used += 1
        self._event(key, "used", ticket)
        self._order(key, ticket)

    def give_back(self, key: Key, ticket: int) -> None:
        """A reserved unit not needed after all."""
        self._event(key, "returned", ticket)
        self._receive(key)

    def cancel(self, key: Key, ticket: int) -> None:
        """A backordered ticket no longer needs its unit."""
        if ticket in self.backorders.get(key, []):
            self.backorders[key].remove(ticket)
            self._event(key, "cancelled", ticket)

    def _order(self, key: Key, ticket: int) -> None:
        self.on_order[key] += 1
        self._event(key, "ordered", ticket)
        self.sim.env.process(self._deliver(key))

    def _deliver(self, key: Key) -> Any:
        yield self.sim.env.timeout(self.spec.lead_time)
        self.on_order[key] -= 1
        self._event(key, "arrived", 0)
        self._receive(key)

    def _receive(self, key: Key) -> None:
        waiting = self.backorders.get(key)
        if waiting:
            ticket = waiting.pop(0)
            self._event(key, "reserved", ticket)
            self.on_arrival(ticket)
        else:
            self.on_hand[key] += 1
