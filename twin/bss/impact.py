"""What an OSS incident puts at stake, answered from the BSS's own books.

When the OSS opens an incident it asks (:class:`~twin.messages.ImpactQuery`) what the cells in
its shadow are worth; the BSS answers (:class:`~twin.messages.ImpactAnswer`) the way a revenue
desk would, from what it knows — never from ground truth:

* who: the lines homed on those cells in its subscriber base (lines that have left are not
  counted), their accounts (customers), the enterprise accounts among them and the lines
  with an SLA;
* revenue at risk per hour: the usage revenue those lines brought in per hour over the last
  ``window`` (7 days, or the run so far if shorter), from the charges it rated, bucketed by
  the hour the usage happened in — what an hour of outage there costs, on recent form;
* SLA exposure: the credit their SLAs pay once the outage passes the first step of the
  credit table (the first step's percentage of each line's recurring fee) — from the tariffs.

The usage history is one counter per cell and hour in a ring (``window`` hours long), filled
as records are rated, so memory does not grow with the run.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twin.bss.catalog import PriceTable
from twin.bss.money import percent_of
from twin.kernel import Sim
from twin.messages import ImpactAnswer, ImpactQuery, SubscriberBase

I64 = npt.NDArray[np.int64]
HOUR = 3600.0
WINDOW_H = 7 * 24


class ImpactDesk:
    def __init__(self, sim: Sim, subs: SubscriberBase, prices: PriceTable,
                 leaves: npt.NDArray[np.float64], window_h: int = WINDOW_H) -> None:
        self.sim, self.subs, self.leaves = sim, subs, leaves
        self.window_h = window_h
        self.cell_index = {c: i for i, c in enumerate(subs.cells)}
        specs = prices.specs
        self.enterprise = np.array([s.segment == "enterprise" for s in specs])[subs.offer]
        first_pct = np.array([min(s.sla.credit_table, key=lambda st: st.over).credit_pct
                              if s.sla is not None else 0.0 for s in specs])
        self.has_sla = np.array([s.sla is not None for s in specs])[subs.offer]
        # what one line's SLA pays once an outage passes the table's first step
        self.sla_credit = percent_of(prices.recurring[subs.offer.astype(np.int64)],
                                     first_pct[subs.offer])
        self.sub_cell = subs.cell.astype(np.int64)
        # usage charges per (hour slot in the ring, cell), and which hour each slot holds
        self.ring = np.zeros((window_h, len(subs.cells)), dtype=np.int64)
        self.slot_hour = np.full(window_h, -1, dtype=np.int64)
        self.queries = 0

    def on_rated(self, sub: I64, start: npt.NDArray[np.float64], charge: I64) -> None:
        """Charges the BSS just rated, credited to the lines' cells and the hour of use."""
        paid = np.flatnonzero(charge)  # most records are inside an allowance: no charge
        if paid.size == 0:
            return
        hour = np.floor(start[paid] / HOUR).astype(np.int64)
        now_h = int(self.sim.now // HOUR)
        keep = (hour > now_h - self.window_h) & (hour <= now_h)
        if not keep.any():
            return
        rows = paid[keep]
        hour, cell, charge = hour[keep], self.sub_cell[sub[rows]], charge[rows]
        slot = hour % self.window_h
        for s in np.unique(slot):  # a slot reused for a newer hour starts again from zero
            h = int(hour[slot == s].max())
            if self.slot_hour[s] < h:
                self.ring[s] = 0
                self.slot_hour[s] = h
        current = hour == self.slot_hour[slot]  # older than the slot's hour: out of window
        np.add.at(self.ring, (slot[current], cell[current]), charge[current])

    def revenue_per_h(self, cells: npt.NDArray[np.int64]) -> int:
        """Usage revenue per hour of the lines on ``cells`` over the trailing window."""
        now_h = int(self.sim.now // HOUR)
        live = (self.slot_hour > now_h - self.window_h) & (self.slot_hour >= 0)
        hours = min(float(self.window_h), self.sim.now / HOUR)
        if hours <= 0 or cells.size == 0:
            return 0
        total = int(self.ring[np.ix_(live, cells)].sum())
        return round(total / hours)

    def answer(self, q: ImpactQuery) -> ImpactAnswer:
        self.queries += 1
        cells = np.array(sorted({self.cell_index[c] for c in q.cells if c in self.cell_index}),
                         dtype=np.int64)
        lines = np.flatnonzero(np.isin(self.sub_cell, cells) & (self.leaves > self.sim.now))
        accounts = self.subs.account[lines]
        ent = self.enterprise[lines]
        sla = self.has_sla[lines]
        return ImpactAnswer(
            q.incident_id, q.query_id, lines=int(lines.size),
            customers=int(np.unique(accounts).size),
            enterprise_accounts=int(np.unique(accounts[ent]).size),
            sla_lines=int(sla.sum()),
            revenue_at_risk_minor_per_h=self.revenue_per_h(cells),
            sla_exposure_minor=int(self.sla_credit[lines[sla]].sum()),
            answered=self.sim.now)
