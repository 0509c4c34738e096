"""The BSS's product inventory: when each line is active and on which offer.

Lines of the subscriber base existing at the start are active from the beginning of time on
their offer. Prospects (lines a product order will create) become active when the BSS learns
that their service order completed; the activation instant is the network's, as the OSS
reported it. An offer change takes effect when the BSS completes the change order (every
usage record starting later reaches the BSS later, so it is rated with the new offer, and a
record starting earlier with the old one, whenever it arrives: :meth:`Lines.offer_at` is a
pure function of the record's start).

Proration convention (recurring fees and allowances): *daily, on the actual days of the bill
cycle* — a line pays from the start of the calendar day it was activated (that day counts in
full), until the start of the day it leaves (that day is not charged); an offer change
switches the fee at the start of the day of the change. The fee of a line and cycle is
``round(fee × days on it / days in the cycle)`` per offer it was on — an invoice line each —
rounded half to even (banker's rounding, so systematic half-cents do not pile up on one
side). A line on one offer for the whole billed part pays it as before (the billed share of
the cycle by seconds, half up), so runs without orders bill exactly as they did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from twin.bss.money import prorate
from twin.kernel import Calendar
from twin.messages import SubscriberBase

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
DAY = 86_400.0
_SHIFT = 42  # key = sub << 42 | milliseconds: 139 years of milliseconds per line


def _key(sub: npt.ArrayLike, t: npt.ArrayLike) -> I64:
    ms = np.floor(np.asarray(t, dtype=np.float64) * 1000.0).astype(np.int64)
    out: I64 = (np.asarray(sub, dtype=np.int64) << _SHIFT) | ms
    return out


def round_half_even(num: I64, den: int) -> I64:
    """``num / den`` to the nearest integer, ties to even (``num`` ≥ 0, ``den`` > 0)."""
    num = np.asarray(num, dtype=np.int64)
    q, r = np.divmod(num, den)
    up = (2 * r > den) | ((2 * r == den) & (q % 2 == 1))
    out: I64 = q + up
    return out


class Lines:
    def __init__(self, subs: SubscriberBase, calendar: Calendar) -> None:
        n = subs.count
        self.offer0 = subs.offer.astype(np.int64)
        self.current = self.offer0.copy()
        existing = np.arange(n) < subs.n_existing
        # when the line became active (the network's instant); +inf: not (yet) activated
        self.active_from = np.where(existing, -np.inf, np.inf)
        self.bill_from = self.active_from.copy()  # the start of that day: charged from it
        s = calendar.start
        self._offset = s.hour * 3600.0 + s.minute * 60.0 + s.second
        self._c_sub: list[int] = []
        self._c_t: list[float] = []
        self._c_old: list[int] = []
        self._c_new: list[int] = []
        self._changed = np.zeros(n, dtype=bool)  # lines with a change (the rest: offer0)
        self._sorted: tuple[I64, I64, I64, F64, I64] | None = None

    def day_start(self, t: F64) -> F64:
        """The start of the calendar day of ``t`` (in the scenario's time zone)."""
        t = np.asarray(t, dtype=np.float64)
        out: F64 = t - (t + self._offset) % DAY
        return out

    def activate(self, sub: int, at: float) -> None:
        self.active_from[sub] = at
        self.bill_from[sub] = float(self.day_start(np.array(at)))

    def change(self, sub: int, at: float, offer: int) -> None:
        """``sub`` is on ``offer`` from ``at`` on (``at`` no earlier than any record rated)."""
        self._c_sub.append(sub)
        self._c_t.append(at)
        self._c_old.append(int(self.current[sub]))
        self._c_new.append(offer)
        self._changed[sub] = True
        self.current[sub] = offer
        self._sorted = None

    @property
    def changes(self) -> int:
        return len(self._c_sub)

    def _changes_sorted(self) -> tuple[I64, I64, I64, F64, I64]:
        if self._sorted is None:
            key = _key(self._c_sub, self._c_t)
            order = np.argsort(key, kind="stable")
            self._sorted = (key[order], np.asarray(self._c_sub, np.int64)[order],
                            np.asarray(self._c_new, np.int64)[order],
                            np.asarray(self._c_t, np.float64)[order],
                            np.asarray(self._c_old, np.int64)[order])
        return self._sorted

    def offer_at(self, sub: npt.ArrayLike, start: npt.ArrayLike) -> I64:
        """The offer each line was on at each instant."""
        sub = np.asarray(sub, dtype=np.int64)
        out: I64 = self.offer0[sub]
        if not self._c_sub or sub.size == 0:
            return out
        rows = np.flatnonzero(self._changed[sub])  # only these can differ from offer0
        if rows.size == 0:
            return out
        sub = sub[rows]
        start = np.broadcast_to(np.asarray(start, dtype=np.float64), out.shape)[rows]
        key, c_sub, c_new, _, _ = self._changes_sorted()
        pos = np.searchsorted(key, _key(sub, start), side="right") - 1
        hit = (pos >= 0) & (c_sub[np.maximum(pos, 0)] == sub)
        out[rows[hit]] = c_new[pos[hit]]
        return out

    def recurring(self, fee: I64, lo: float, hi: float, cycle_s: float,
                  leaves: F64 | None) -> Segments:
        """The recurring charges of the billed part ``[lo, hi)`` of a cycle of ``cycle_s``
        seconds, one segment per line and offer it was on. A line on one offer for all of it
        pays the billed part's share (by seconds, half up: the run's own cut of a cycle, as
        before orders existed); a line activated, leaving or changing offer inside it pays
        each offer by days (see the module docstring), each segment rounded half to even."""
        n = self.offer0.size
        start = np.maximum(self.bill_from, lo)
        end = np.full(n, hi)
        if leaves is not None:
            left = np.isfinite(leaves)
            end[left] = np.minimum(hi, self.day_start(leaves[left]))
        subs = np.arange(n, dtype=np.int64)
        p_sub, p_t = subs, start  # segment starts: the line's start, then each change inside
        p_off = self.offer_at(subs, np.minimum(start, hi))
        changed = np.zeros(n, dtype=bool)
        if self._c_sub:
            _, c_sub, c_new, c_t, _ = self._changes_sorted()
            # a change not yet in the offer at ``start`` switches the fee from its day on
            eff = np.maximum(self.day_start(c_t), start[c_sub])
            inside = (c_t >= start[c_sub]) & (eff < end[c_sub])
            changed[c_sub[inside]] = True
            p_sub = np.concatenate([p_sub, c_sub[inside]])
            p_t = np.concatenate([p_t, eff[inside]])
            p_off = np.concatenate([p_off, c_new[inside]])
            order = np.lexsort((np.arange(p_sub.size), p_t, p_sub))
            p_sub, p_t, p_off = p_sub[order], p_t[order], p_off[order]
        nxt = np.append(p_t[1:], np.inf)
        last = np.append(p_sub[1:] != p_sub[:-1], True)
        p_end = np.where(last, end[p_sub], np.minimum(nxt, end[p_sub]))
        dur = np.rint(np.clip(p_end - p_t, 0.0, None)).astype(np.int64)
        amount = round_half_even(fee[p_off] * dur, round(cycle_s))
        whole = ((start <= lo) & (end >= hi) & ~changed)[p_sub]
        amount[whole] = prorate(fee[p_off[whole]], hi - lo, cycle_s)
        keep = dur > 0
        return Segments(p_sub[keep], p_off[keep], p_t[keep], p_end[keep], amount[keep])


@dataclass(frozen=True, eq=False)
class Segments:
    """Recurring charges of a bill run: one row per line and offer (``sub`` ascending)."""

    sub: I64
    offer: I64
    start: F64
    end: F64
    amount: I64

    def only(self, lines: npt.NDArray[np.bool_]) -> Segments:
        """The segments of the lines selected by the mask ``lines``."""
        m = lines[self.sub]
        return Segments(self.sub[m], self.offer[m], self.start[m], self.end[m], self.amount[m])

    def per_line(self, n: int) -> I64:
        out = np.zeros(n, dtype=np.int64)
        np.add.at(out, self.sub, self.amount)
        return out
