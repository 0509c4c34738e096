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

import numpy as np
import numpy.typing as npt

from twin.bss.catalog import NO_TIER, PriceTable
from twin.kernel import Calendar
from twin.kernel.compiled import kernel
from twin.scenario.schema import TariffPeriod

I64 = npt.NDArray[np.int64]
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


@kernel
def _rate_loop(ok: I64, period: I64, qty: I64, allow: I64, key: I64, n_p: int,
               inc: I64, first: I64, per: I64, rounding: npt.NDArray[np.int8], connect: I64,
               price: I64, tiered: npt.NDArray[np.bool_], tier_over: I64, tier_price: I64,
               used: I64, charged: I64, bill: I64, covered: I64, before: I64,
               charge: I64) -> None:  # pragma: no cover - compiled; tested via Rater.rate
    """Record by record, in order, steps 1–4 of the module's docstring. ``ok`` is the flat
    (offer, kind) of each record, indexing the flat price arrays (``price`` by
    ``ok * n_p + period``, the tiers by row ``ok``); ``key`` its counter in the flat
    ``used``/``charged``. Only records with an allowance or tiers read and advance their
    counter; ``before`` is what the counter charged before the record."""
    n_t = tier_over.shape[1]
    for i in range(ok.size):
        o = ok[i]
        q = qty[i]
        b = 0
        if q > 0:
            b = max(-(-q // inc[o]) * inc[o], first[o])
        c = 0
        was = 0
        if allow[i] > 0 or tiered[o]:
            k = key[i]
            c = min(max(allow[i] - used[k], 0), b)
            was = charged[k]
            used[k] += b
            charged[k] += b - c
        rest = b - c
        if tiered[o]:
            num = 0
            for t in range(n_t):
                upper = tier_over[o, t + 1] if t + 1 < n_t else _NO_TIER
                inside = min(was + rest, upper) - max(was, tier_over[o, t])
                if inside > 0:
                    num += inside * tier_price[o, t]
        else:
            num = price[o * n_p + period[i]] * rest
        d = per[o]
        mode = rounding[o]
        if mode == 0:
            m = -(-num // d)
        elif mode == 1:
            m = (2 * num + d) // (2 * d)
        else:
            m = num // d
        bill[i] = b
        covered[i] = c
        before[i] = was
        charge[i] = m + (connect[o] if rest > 0 else 0)


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
        self.b = self.B[0]
        self.n_cycles = self.B.shape[1] - 1
        self.n_subs = n_subs
        self.clock = clock
        self.used = np.zeros((self.n_cycles, n_subs, 3), dtype=np.int64)
        self.charged = np.zeros((self.n_cycles, n_subs, 3), dtype=np.int64)
        allow = np.zeros((self.B.shape[0], self.n_cycles, len(prices.offers), 3), dtype=np.int64)
        for g, b in enumerate(self.B):
            for c in range(self.n_cycles):
                lo, hi = max(b[c], 0.0), min(b[c + 1], horizon)
                part, whole = round(max(hi - lo, 0.0)), max(round(b[c + 1] - b[c]), 1)
                full = prices.allowance * part // whole
                allow[g, c] = full // prices.increment * prices.increment
        self.allowance_by_group = allow  # (groups, cycles, offers, kinds)
        self.allowance = allow[0]  # (cycles, offers, kinds): the first (or only) group's

    def cycle_of(self, start: npt.ArrayLike, sub: npt.ArrayLike) -> I64:
        """The bill cycle of each record (of line ``sub``, starting at ``start``): its
        group's, clipped to the run's cycles."""
        start = np.asarray(start, dtype=np.float64)
        if self.B.shape[0] == 1:
            k = np.searchsorted(self.b, start, side="right") - 1
        else:
            g = self.group[np.asarray(sub, dtype=np.int64)]
            k = np.zeros(start.shape, dtype=np.int64)
            for grp in np.unique(g):
                m = g == grp
                k[m] = np.searchsorted(self.B[grp], start[m], side="right") - 1
        return np.clip(k, 0, self.n_cycles - 1).astype(np.int64)

    def _prorate_allowance(self, allow: I64, cycle: I64, sub: npt.NDArray[np.integer],
                           offer: npt.NDArray[np.integer],
                           kind: npt.NDArray[np.integer]) -> None:
        """Allowances of lines activated inside the cycle: prorated from their start, to
        whole increments, like the cycle's share the run covers."""
        assert self.line_start is not None
        began = self.line_start[sub]
        g = self.group[sub]
        rows = np.flatnonzero((began > self.B[g, cycle]) & self.prorate[offer])
        if rows.size == 0:
            return
        c, o, k, g = cycle[rows], offer[rows], kind[rows], g[rows]
        lo = np.maximum(np.maximum(self.B[g, c], 0.0), began[rows])
        hi = np.minimum(self.B[g, c + 1], self.horizon)
        part = np.rint(np.clip(hi - lo, 0.0, None)).astype(np.int64)
        whole = np.maximum(np.rint(self.B[g, c + 1] - self.B[g, c]).astype(np.int64), 1)
        inc = self.prices.increment[o, k]
        allow[rows] = self.prices.allowance[o, k] * part // whole // inc * inc

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
        cycle = self.cycle_of(start, sub)
        period = self.clock.period(start)
        ok = offer * 3 + kind  # flat (offer, kind): one gather per price array
        if self.B.shape[0] == 1:
            allow = self.allowance.reshape(-1)[cycle * self.allowance[0].size + ok]
        else:
            allow = self.allowance_by_group[self.group[sub], cycle, offer, kind]
        if self.line_start is not None:
            self._prorate_allowance(allow, cycle, sub, offer, kind)
        n = sub.size
        bill, covered, before, charge = (np.empty(n, dtype=np.int64) for _ in range(4))
        _rate_loop(ok, period, qty, allow, (cycle * self.n_subs + sub) * 3 + kind,
                   p.price.shape[2], p.increment.ravel(), p.first.ravel(), p.per.ravel(),
                   p.rounding.ravel(), p.connect_fee.ravel(), p.price.ravel(),
                   p.tiered.ravel(), p.tier_over.reshape(-1, p.tier_over.shape[2]),
                   p.tier_price.reshape(-1, p.tier_price.shape[2]),
                   self.used.reshape(-1), self.charged.reshape(-1), bill, covered, before,
                   charge)
        chargeable = bill - covered
        inc = p.increment.ravel()[ok]
        return Rating(cycle=cycle, period=period, billable=bill, covered=covered,
                      before=before, chargeable=chargeable,
                      units=bill // inc, charge=charge)
