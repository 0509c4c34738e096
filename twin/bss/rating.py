"""Rating: vectorised over record batches, with allowances and tiers kept per bill cycle.

Think of a taxi meter that keeps running across rides: each subscription has, per bill cycle
and usage kind, a counter of allowance already used and of quantity already charged. A
batch of records is rated at once: the arithmetic vectorised over the batch, the counters
read and advanced record by record in the batch's order by a compiled loop
(:mod:`twin.kernel.compiled`), which tells each record how much of the allowance and of the
tiers the records before it used. Then:

1. the quantity is rounded up to charging increments (and at least the first increment);
2. the allowance left covers what it can, in record order;
3. the rest is priced by the tariff period of the record's start, or by the tiers of the
   cycle's cumulative chargeable quantity, and rounded to the minor unit as the offer says;
4. a connect fee is added to every record not wholly covered by the allowance.

Allowances are per bill cycle, prorated (like the recurring fee) to the part of the cycle
the run covers, rounded down to whole increments. The same :class:`Rater`, fed the same
records in the same order, always gives the same charges — which is how the revenue
assurance in :mod:`twin.analysis.reconcile` re-rates the ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from twin.bss.catalog import NO_TIER, PriceTable
from twin.kernel import Calendar
from twin.kernel.compiled import kernel
from twin.scenario.schema import TariffPeriod

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Ints = npt.NDArray[np.integer]
Arrays = tuple[Any, ...]  # what a compiled loop takes of the cycles or the prices
DAY = 86_400.0
_NO_TIER = NO_TIER  # a global the compiled loop reads as a constant
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TariffClock:
    """Which tariff period (0 = peak, then the catalog's periods in order) an instant is in."""

    def __init__(self, calendar: Calendar, periods: Sequence[TariffPeriod]) -> None:
        s = calendar.start
        self.offset = s.hour * 3600.0 + s.minute * 60.0 + s.second
        self.weekday0 = s.weekday()
        self.days = np.array([[d in p.days for d in WEEKDAYS] for p in periods],
                             dtype=bool).reshape(len(periods), 7)
        self.hours = [p.hours for p in periods]
        self.table = self._table() if self.hours else None

    def period(self, t: npt.ArrayLike) -> npt.NDArray[np.int64]:
        t = np.asarray(t, dtype=np.float64) + self.offset
        out = np.zeros(t.shape, dtype=np.int64)
        if not self.hours:
            return out
        day = np.floor(t / DAY)
        weekday = ((self.weekday0 + day) % 7).astype(np.int64)
        hour = (t - day * DAY) / 3600.0
        if self.table is not None:  # whole-hour periods: a lookup by weekday and hour
            out = self.table[weekday, hour.astype(np.int64)]
            return out
        for p in range(len(self.hours) - 1, -1, -1):  # the first match wins: apply it last
            lo, hi = self.hours[p]
            in_hours = (hour >= lo) & (hour < hi) if lo < hi else (hour >= lo) | (hour < hi)
            out[self.days[p][weekday] & in_hours] = p + 1
        return out

    def _table(self) -> npt.NDArray[np.int64] | None:
        """Period by weekday and whole hour (0–24: the hour of a day's last instant may round
        up to 24.0), when every period starts and ends on the hour; else None."""
        if any(float(b) != int(b) for h in self.hours for b in h):
            return None
        hour = np.tile(np.arange(25, dtype=np.float64), 7)
        weekday = np.repeat(np.arange(7), 25)
        out = np.zeros(hour.size, dtype=np.int64)
        for p in range(len(self.hours) - 1, -1, -1):
            lo, hi = self.hours[p]
            in_hours = (hour >= lo) & (hour < hi) if lo < hi else (hour >= lo) | (hour < hi)
            out[self.days[p][weekday] & in_hours] = p + 1
        return out.reshape(7, 25)


def _cycle_rows(start: F64, sub: Ints, B: F64, group: I64, out: I64) -> None:
    """The bill cycle of each record: ``np.searchsorted(B[g], start, side="right") - 1`` in
    the row of its line's ``group`` (empty: one row), clipped to the cycles (a NaN sorts
    last)."""
    n_c = B.shape[1] - 1
    for i in range(start.size):
        g = group[sub[i]] if group.size else 0
        k = -1
        for j in range(n_c + 1):
            if start[i] < B[g, j]:
                break
            k = j
        out[i] = min(max(k, 0), n_c - 1)


_cycles = kernel(_cycle_rows)


def bill_cycles(B: F64, group: I64, start: npt.ArrayLike, sub: npt.ArrayLike) -> I64:
    """The bill cycle of each record (of line ``sub``, starting at ``start``) among the
    cycles ``B`` (one row of boundaries per group of ``group``), clipped to them."""
    start = np.asarray(start, dtype=np.float64)
    sub = np.broadcast_to(np.asarray(sub, dtype=np.int64), start.shape)
    out = np.empty(start.size, dtype=np.int64)
    _cycles(start.reshape(-1), sub.reshape(-1), B,
            group if B.shape[0] > 1 else np.empty(0, np.int64), out)
    return out.reshape(start.shape)


def _period_at(t: float, table: I64, weekday0: int, offset: float) -> int:
    """The whole-hour tariff period of instant ``t``: ``table`` by weekday and hour."""
    tt = t + offset
    day = np.floor(tt / 86_400.0)
    # the weekday in integers: a float's remainder is a call into numba's helper library,
    # once per record rated
    pe: int = table[(weekday0 + np.int64(day)) % 7, np.int64((tt - day * 86_400.0) / 3600.0)]
    return pe


hour_period = kernel(_period_at, inline=True, nonzero_divisors=True)


def _rate_record(s: int, k: int, o: int, kd: int, q: int, pe: int, counter: I64,
                 cycles: Arrays, tariff: Arrays) -> tuple[int, int, int, int]:
    """Steps 1–4 of the module's docstring for one record of line ``s`` in bill cycle ``k``
    (offer ``o``, kind ``kd``, quantity ``q``, tariff period ``pe``): the allowance of the
    cycle (prorated from the line's start of billing where the offer says), then the flat
    (offer, kind) prices or the tiers. Only records with an allowance or tiers read and
    advance their ``counter`` (used, charged). Returns (billable, covered, charged before,
    charge). ``cycles`` and ``tariff`` are :meth:`Rater.cycles` and :meth:`Rater.tariff`."""
    B, group, horizon, allowance, line_start, prorate, base_allowance, base_inc = cycles
    inc, first, per, rounding, connect, price, n_p, tiered, tier_over, tier_price = tariff
    g = group[s] if group.size else 0
    ok = o * 3 + kd
    a = allowance[g, k, ok]
    if line_start.size and prorate[o] and line_start[s] > B[g, k]:
        lo = max(max(B[g, k], 0.0), line_start[s])
        hi = min(B[g, k + 1], horizon)
        part = np.int64(np.rint(max(hi - lo, 0.0)))
        whole = max(np.int64(np.rint(B[g, k + 1] - B[g, k])), 1)
        a = base_allowance[ok] * part // whole // base_inc[ok] * base_inc[ok]
    b = 0
    if q > 0:
        b = max(-(-q // inc[ok]) * inc[ok], first[ok])
    c = 0
    was = 0
    if a > 0 or tiered[ok]:
        c = min(max(a - counter[0], 0), b)
        was = counter[1]
        counter[0] += b
        counter[1] += b - c
    rest = b - c
    if tiered[ok]:
        num = 0
        n_t = tier_over.shape[1]
        for j in range(n_t):
            upper = tier_over[ok, j + 1] if j + 1 < n_t else _NO_TIER
            inside = min(was + rest, upper) - max(was, tier_over[ok, j])
            if inside > 0:
                num += inside * tier_price[ok, j]
    else:
        num = price[ok * n_p + pe] * rest
    d = per[ok]
    mode = rounding[ok]
    if mode == 0:
        m = -(-num // d)
    elif mode == 1:
        m = (2 * num + d) // (2 * d)
    else:
        m = num // d
    return b, c, was, m + (connect[ok] if rest > 0 else 0)


rate_one = kernel(_rate_record, inline=True,  # one record, for other compiled loops
                  nonzero_divisors=True)  # increments and `per` are positive


def _rate_records(start: F64, sub: Ints, offer: Ints, kind: Ints, qty: I64, n_subs: int,
                  cycles: Arrays, tariff: Arrays, table: I64, period_in: I64, weekday0: int,
                  offset: float, counters: I64, cycle: I64, period: I64, bill: I64,
                  covered: I64, before: I64, charge: I64) -> int:
    """Record by record, in order: the bill cycle (``B`` row of the line's group), the
    tariff period (``table`` by weekday and hour, or ``period_in`` when given), then
    :func:`_rate_record`; ``before`` is what it charged before the record."""
    B, group, _, _, line_start, _, _, _ = cycles
    # first the cycles, then each record's counter and start of billing read: these loads do
    # not wait for one another, so the memory serves many at once, and the loop below finds
    # them in the cache (a counter array larger than the cache costs a miss a record
    # otherwise)
    _cycles(start, sub, B, group, cycle)
    warm = 0
    for i in range(sub.size):
        s = sub[i]
        warm += counters[(cycle[i] * n_subs + s) * 3 + kind[i], 0]
        if line_start.size:
            warm += np.int64(line_start[s] > 0.0)
    for i in range(sub.size):
        pe = period_in[i] if period_in.size else hour_period(start[i], table, weekday0, offset)
        s, k, kd = sub[i], cycle[i], kind[i]
        b, c, was, m = rate_one(s, k, offer[i], kd, qty[i], pe,
                                 counters[(k * n_subs + s) * 3 + kd], cycles, tariff)
        period[i] = pe
        bill[i] = b
        covered[i] = c
        before[i] = was
        charge[i] = m
    return warm


_rate_loop = kernel(_rate_records, nonzero_divisors=True)


@dataclass(frozen=True, eq=False)
class Rating:
    """The rating of a batch, one value per record (base units: s, bytes, messages)."""

    cycle: I64
    period: I64
    billable: I64  # quantity after charging increments
    covered: I64  # of which inside the allowance
    before: I64  # chargeable quantity of the cycle charged before this record (tiers)
    chargeable: I64  # billable − covered
    units: I64  # billable / increment
    charge: I64  # minor units


class Rater:
    """Stateful rating for ``n_subs`` subscriptions over the bill cycles ``boundaries``."""

    def __init__(self, prices: PriceTable,
                 boundaries: Sequence[float] | npt.NDArray[np.float64], horizon: float,
                 n_subs: int, clock: TariffClock,
                 line_start: npt.NDArray[np.float64] | None = None,
                 group: npt.NDArray[np.int64] | None = None) -> None:
        self.prices = prices
        # bill cycles per group (one row of boundaries each; a line's cycle k is its group's)
        self.B = np.atleast_2d(np.asarray(boundaries, dtype=np.float64))
        self.group = group if group is not None else np.zeros(n_subs, dtype=np.int64)
        self.horizon = horizon
        # when each line's billing starts (lines activated mid-cycle get their allowances
        # prorated from then, if their offer says so); None: every line from the start
        self.line_start = line_start
        self.prorate = np.array([s.prorate_allowances for s in prices.specs], dtype=bool)
        self.n_cycles = self.B.shape[1] - 1
        self.n_subs = n_subs
        self.clock = clock
        # per (cycle, line, kind): quantity used and, of it, charged past the allowance —
        # side by side, so a record's counter is one cache line
        self.counters = np.zeros((self.n_cycles, n_subs, 3, 2), dtype=np.int64)
        allow = np.zeros((self.B.shape[0], self.n_cycles, len(prices.offers), 3), dtype=np.int64)
        for g, b in enumerate(self.B):
            for c in range(self.n_cycles):
                lo, hi = max(b[c], 0.0), min(b[c + 1], horizon)
                part, whole = round(max(hi - lo, 0.0)), max(round(b[c + 1] - b[c]), 1)
                full = prices.allowance * part // whole
                allow[g, c] = full // prices.increment * prices.increment
        self.allowance_by_group = allow  # (groups, cycles, offers, kinds)
        self.allowance = allow[0]  # (cycles, offers, kinds): the first (or only) group's

    @property
    def used(self) -> I64:
        """Quantity used per (cycle, line, kind) (a view)."""
        out: I64 = self.counters[..., 0]
        return out

    @property
    def charged(self) -> I64:
        """Of it, quantity charged past the allowance (a view)."""
        out: I64 = self.counters[..., 1]
        return out

    def cycle_of(self, start: npt.ArrayLike, sub: npt.ArrayLike) -> I64:
        """The bill cycle of each record (of line ``sub``, starting at ``start``): its
        group's, clipped to the run's cycles."""
        return bill_cycles(self.B, self.group, start, sub)

    def cycles(self) -> Arrays:
        """What the compiled loops need of the bill cycles and allowances (see
        :func:`_rate_record`)."""
        return (self.B, self.group if self.B.shape[0] > 1 else np.empty(0, np.int64),
                self.horizon,
                self.allowance_by_group.reshape(*self.allowance_by_group.shape[:2], -1),
                self.line_start if self.line_start is not None else np.empty(0),
                self.prorate, self.prices.allowance.ravel(), self.prices.increment.ravel())

    @staticmethod
    def tariff(p: PriceTable) -> Arrays:
        """What the compiled loops need of the prices ``p`` (see :func:`_rate_record`)."""
        return (p.increment.ravel(), p.first.ravel(), p.per.ravel(), p.rounding.ravel(),
                p.connect_fee.ravel(), p.price.ravel(), p.price.size // p.increment.size,
                p.tiered.ravel(),
                p.tier_over.reshape(-1, p.tier_over.shape[2]),
                p.tier_price.reshape(-1, p.tier_price.shape[2]))

    def period_table(self) -> I64:
        """Tariff period by weekday and whole hour (all peak when the periods are not whole
        hours: then they are computed by :meth:`TariffClock.period`)."""
        table = self.clock.table
        return table if table is not None else np.zeros((7, 25), dtype=np.int64)

    def rate(self, sub: npt.NDArray[np.integer], offer: npt.NDArray[np.integer],
             kind: npt.NDArray[np.integer], start: npt.NDArray[np.float64], qty: I64,
             prices: PriceTable | None = None) -> Rating:
        """Rate a batch in record order and advance the counters. ``prices`` replaces the
        catalog's prices for this batch (not its allowances or increments)."""
        p = prices or self.prices
        sub = np.asarray(sub, dtype=np.int64)
        offer = np.asarray(offer, dtype=np.int64)
        kind = np.asarray(kind, dtype=np.int64)
        qty = np.asarray(qty, dtype=np.int64)
        start = np.asarray(start, dtype=np.float64)
        clock = self.clock
        # whole-hour tariff periods (or none) are looked up record by record in the loop
        table = self.period_table()
        period_in = (clock.period(start) if clock.hours and clock.table is None
                     else np.empty(0, dtype=np.int64))
        out = [np.empty(sub.size, dtype=np.int64) for _ in range(6)]
        _rate_loop(start, sub, offer, kind, qty, self.n_subs, self.cycles(), self.tariff(p),
                   table, period_in, clock.weekday0, clock.offset,
                   self.counters.reshape(-1, 2), *out)
        cycle, period, bill, covered, before, charge = out
        chargeable = bill - covered
        inc = p.increment.ravel()[offer * 3 + kind]
        return Rating(cycle=cycle, period=period, billable=bill, covered=covered,
                      before=before, chargeable=chargeable,
                      units=bill // inc, charge=charge)
