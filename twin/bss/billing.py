"""Bill runs: recurring charges, rated usage and SLA credits into invoices.

Bill cycles run from the account's bill-cycle day to the same day next month. A bill run
for a cycle happens ``cutoff`` after the cycle ends, so the usage of the cycle's last
interval is in; usage rated after its cycle was billed is *late* and goes on the next open
bill. At the end of the run every cycle not yet billed is billed for the part the run covers
(recurring fees are prorated to that part). All amounts are integer minor units; prorating
and percentages round half up.

An SLA credit is due on a subscription whose offer has an SLA when its availability over the
billed part of the cycle — from the outages the OSS measured on its cell — falls below the
target: the credit table gives the percentage for the cumulative outage, capped, applied to
the subscription's recurring charge for that cycle. The OSS reports an outage when it
clears; one reported after its cycle was billed raises that cycle's credit, and the
difference goes on the next open bill as an adjustment. ``sla_credits`` holds the final
credit per subscription and cycle.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import simpy

from twin.bss.catalog import PriceTable
from twin.kernel import Calendar, Sim, labels
from twin.messages import ServiceOutageReport, SubscriberBase
from twin.scenario.schema import BssSpec, SlaSpec

I64 = npt.NDArray[np.int64]

INVOICE_SCHEMA = pa.schema([
    ("invoice_id", pa.int64()), ("account", pa.int64()), ("account_type", pa.string()),
    ("cycle_start", pa.timestamp("s", tz="UTC")), ("cycle_end", pa.timestamp("s", tz="UTC")),
    ("billed_from", pa.float64()), ("billed_to", pa.float64()), ("bill_run", pa.float64()),
    ("recurring_minor", pa.int64()), ("usage_minor", pa.int64()),
    ("sla_credit_minor", pa.int64()), ("total_minor", pa.int64()), ("currency", pa.string()),
])
LINE_SCHEMA = pa.schema([
    ("invoice_id", pa.int64()), ("account", pa.int64()), ("sub", pa.int64()),
    ("offer", pa.string()), ("line_type", pa.string()), ("amount_minor", pa.int64()),
])
SLA_SCHEMA = pa.schema([
    ("sub", pa.int64()), ("account", pa.int64()), ("cell", pa.string()),
    ("cycle_start", pa.timestamp("s", tz="UTC")), ("billed_s", pa.float64()),
    ("outage_s", pa.float64()), ("availability_pct", pa.float64()),
    ("target_pct", pa.float64()), ("credit_pct", pa.float64()), ("base_minor", pa.int64()),
    ("credit_minor", pa.int64()),
])
LINE_TYPES = ("recurring", "usage_voice", "usage_data", "sla_credit")


def cycle_boundaries(cal: Calendar, day: int, horizon: float) -> list[float]:
    """Bill-cycle boundaries from the last one at or before the start to the first at or
    after the horizon."""
    s = cal.start
    y, m = s.year, s.month
    if datetime(y, m, day, tzinfo=s.tzinfo) > s:
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    out: list[float] = []
    while True:
        b = cal.seconds(datetime(y, m, day, tzinfo=s.tzinfo))
        out.append(b)
        if b >= horizon:
            return out
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def round_div(num: I64 | int, den: int) -> I64:
    """Integer division rounding half up (for non-negative values)."""
    return (np.asarray(num, dtype=np.int64) * 2 + den) // (2 * den)


def prorate(amount: I64, part_s: float, whole_s: float) -> I64:
    return round_div(amount * round(part_s), round(whole_s))


def percent_of(amount: I64, pct: npt.NDArray[np.float64]) -> I64:
    basis_points = np.rint(np.asarray(pct) * 100).astype(np.int64)
    return round_div(amount * basis_points, 10_000)


def credit_pct(sla: SlaSpec, outage_s: float, billed_s: float) -> tuple[float, float]:
    """(availability %, credit %) for one subscription-cycle."""
    availability = 100.0 * (1.0 - outage_s / billed_s) if billed_s > 0 else 100.0
    if availability >= sla.availability_target:
        return availability, 0.0
    pct = max((step.credit_pct for step in sla.credit_table if outage_s > step.over), default=0.0)
    return availability, min(pct, sla.cap_pct)


def merged_seconds(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Length of the union of intervals, clipped to [lo, hi)."""
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted(intervals):
        s, e = max(s, lo), min(e, hi)
        if e <= s:
            continue
        if cur_e is None or s > cur_e:
            if cur_e is not None and cur_s is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None and cur_s is not None:
        total += cur_e - cur_s
    return total


class Billing:
    def __init__(self, sim: Sim, spec: BssSpec, subs: SubscriberBase, prices: PriceTable,
                 account_type: npt.NDArray[np.object_], cutoff_s: float = 3600.0) -> None:
        self.sim, self.spec, self.subs, self.prices = sim, spec, subs, prices
        self.account_type = account_type
        self.b = cycle_boundaries(sim.calendar, spec.bill_cycle_day, sim.horizon)
        self.n_cycles = len(self.b) - 1
        self.usage = np.zeros((self.n_cycles, subs.count, 2), dtype=np.int64)
        self.first_unbilled = 0
        self.late_records = 0
        self.late_minor = 0
        self.outages: dict[str, list[tuple[float, float]]] = {}
        self._invoice_ids = itertools.count(1)
        self.invoices = sim.records.buffer("invoices", INVOICE_SCHEMA)
        self.lines = sim.records.buffer("invoice_lines", LINE_SCHEMA)
        self.sla_rows: dict[tuple[int, int], dict[str, Any]] = {}
        self._recurring: dict[int, I64] = {}
        self._pending_credit = np.zeros(subs.count, dtype=np.int64)
        self.late_credit_minor = 0
        with_sla = np.array([s.sla is not None for s in prices.specs])[subs.offer]
        self._sla_subs: dict[str, list[int]] = {}
        for s in np.flatnonzero(with_sla):
            self._sla_subs.setdefault(subs.cells[subs.cell[s]], []).append(int(s))
        self.totals = dict(invoices=0, billed_minor=0, recurring_minor=0, usage_minor=0,
                           sla_credits_minor=0)
        for k in range(self.n_cycles):
            if self.b[k + 1] + cutoff_s < sim.horizon:
                sim.env.process(self._bill_at(k, self.b[k + 1] + cutoff_s))

    def add_usage(self, sub: I64, kind: npt.NDArray[np.int8], start: npt.NDArray[np.float64],
                  charge: I64) -> None:
        k = np.searchsorted(self.b, start, side="right") - 1
        k = np.clip(k, 0, self.n_cycles - 1)
        late = k < self.first_unbilled
        if late.any():
            self.late_records += int(late.sum())
            self.late_minor += int(charge[late].sum())
            k = np.maximum(k, self.first_unbilled)
        flat = (k * self.subs.count + sub) * 2 + kind
        sums = np.bincount(flat, weights=charge, minlength=self.usage.size)
        self.usage += np.rint(sums).astype(np.int64).reshape(self.usage.shape)

    def on_outage(self, report: ServiceOutageReport) -> None:
        self.outages.setdefault(report.cell, []).append((report.start, report.end))
        if report.start < self.b[self.first_unbilled]:
            self._late_outage(report)

    def _bill_at(self, k: int, at: float) -> Generator[simpy.Event, None, None]:
        yield self.sim.env.timeout(at - self.sim.now)
        self.bill(k)

    def final_bill_run(self) -> None:
        for k in range(self.first_unbilled, self.n_cycles):
            self.bill(k)
        self.write_sla()

    def bill(self, k: int) -> None:
        subs, prices, cal = self.subs, self.prices, self.sim.calendar
        lo, hi = max(self.b[k], 0.0), min(self.b[k + 1], self.sim.horizon)
        billed_s, cycle_s = hi - lo, self.b[k + 1] - self.b[k]
        offer = subs.offer.astype(np.int64)
        recurring = prorate(prices.recurring[offer], billed_s, cycle_s)
        self._recurring[k] = recurring
        credit = self._sla_credits(k)
        amounts = np.stack([recurring, self.usage[k, :, 0], self.usage[k, :, 1], -credit])
        n_acc = int(subs.account.max()) + 1
        accounts = np.unique(subs.account)
        inv_ids = np.zeros(n_acc, dtype=np.int64)
        inv_ids[accounts] = [next(self._invoice_ids) for _ in accounts]
        acc = subs.account.astype(np.int64)
        for row in range(len(LINE_TYPES)):
            nz = np.flatnonzero(amounts[row] != 0)
            self.lines.extend({"invoice_id": inv_ids[acc[nz]], "account": acc[nz],
                               "sub": nz.astype(np.int64),
                               "offer": labels(offer[nz], prices.offers),
                               "line_type": labels(np.full(nz.size, row), LINE_TYPES),
                               "amount_minor": amounts[row][nz]})

        def per_account(x: I64) -> I64:
            return np.bincount(acc, weights=x, minlength=n_acc).round().astype(np.int64)[accounts]

        rec_a, use_a = per_account(recurring), per_account(amounts[1] + amounts[2])
        cred_a = per_account(credit)
        first_sub = np.full(n_acc, -1)
        first_sub[acc[::-1]] = np.arange(acc.size)[::-1]
        self.invoices.extend({
            "invoice_id": inv_ids[accounts], "account": accounts.astype(np.int64),
            "account_type": self.account_type[offer[first_sub[accounts]]],
            "cycle_start": np.full(accounts.size, cal.at(self.b[k])),
            "cycle_end": np.full(accounts.size, cal.at(self.b[k + 1])),
            "billed_from": np.full(accounts.size, lo), "billed_to": np.full(accounts.size, hi),
            "bill_run": np.full(accounts.size, self.sim.now),
            "recurring_minor": rec_a, "usage_minor": use_a, "sla_credit_minor": cred_a,
            "total_minor": rec_a + use_a - cred_a,
            "currency": np.full(accounts.size, self.spec.catalog.currency),
        })
        self.totals["invoices"] += int(accounts.size)
        self.totals["recurring_minor"] += int(rec_a.sum())
        self.totals["usage_minor"] += int(use_a.sum())
        self.totals["sla_credits_minor"] += int(cred_a.sum())
        self.totals["billed_minor"] += int((rec_a + use_a - cred_a).sum())
        self.first_unbilled = k + 1

    def _assess(self, k: int, sub: int) -> dict[str, Any] | None:
        """The SLA credit due to ``sub`` for cycle ``k`` from the outages known now."""
        sla = self.prices.specs[int(self.subs.offer[sub])].sla
        cell = self.subs.cells[self.subs.cell[sub]]
        lo, hi = max(self.b[k], 0.0), min(self.b[k + 1], self.sim.horizon)
        outage = merged_seconds(self.outages.get(cell, []), lo, hi)
        if sla is None or outage <= 0:
            return None
        avail, pct = credit_pct(sla, outage, hi - lo)
        base = self._recurring[k][sub]
        return dict(sub=sub, account=int(self.subs.account[sub]), cell=cell,
                    cycle_start=self.sim.calendar.at(self.b[k]), billed_s=hi - lo,
                    outage_s=outage, availability_pct=avail, target_pct=sla.availability_target,
                    credit_pct=pct, base_minor=int(base),
                    credit_minor=int(percent_of(np.array([base]), np.array([pct]))[0]))

    def _sla_credits(self, k: int) -> I64:
        """Credits for cycle ``k``, plus late adjustments for cycles already billed."""
        credit = self._pending_credit
        self._pending_credit = np.zeros(self.subs.count, dtype=np.int64)
        for cell in self.outages:
            for s in self._sla_subs.get(cell, ()):
                row = self._assess(k, int(s))
                if row is not None:
                    self.sla_rows[(k, int(s))] = row
                    credit[s] += row["credit_minor"]
        return credit

    def _late_outage(self, report: ServiceOutageReport) -> None:
        """An outage reported after a cycle it touches was billed: the extra credit goes on
        the next open bill as an adjustment (like late usage)."""
        for k in range(self.first_unbilled):
            if report.end <= self.b[k] or report.start >= self.b[k + 1]:
                continue
            for s in self._sla_subs.get(report.cell, ()):
                row = self._assess(k, int(s))
                if row is None:
                    continue
                old = self.sla_rows.get((k, int(s)), {}).get("credit_minor", 0)
                self.sla_rows[(k, int(s))] = row
                delta = row["credit_minor"] - old
                self._pending_credit[s] += delta
                self.late_credit_minor += delta

    def write_sla(self) -> None:
        buf = self.sim.records.buffer("sla_credits", SLA_SCHEMA)
        for key in sorted(self.sla_rows):
            buf.append(**self.sla_rows[key])
