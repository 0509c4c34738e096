"""Online charging for prepaid lines: balances, quota reservation, denial, top-ups.

Like a pay-as-you-go meter with a deposit: before a prepaid session starts the network asks
the online charging system (OCS) for quota (:class:`CreditRequest`, Diameter CCR-Initial).
The OCS prices the requested quota with the subscription's tariff and reserves that much of
the balance; if the balance cannot pay the first increment, the session is denied
(creditLimitReached); if it can pay part, part of the quota is granted. When the session ends
its usage record arrives (the CCR-Terminate): the OCS debits the rated charge and releases
the reservation. Customers top up when their balance runs low, after a while.

When the OCS is down it cannot answer: the answer says so, and the network applies the
configured failure handling — *fail-open* serves the session uncharged (its record says
``online = FAIL_OPEN``; it is written off unless ``post_charge_fail_open``), *fail-closed*
denies it. Usage records of prepaid lines that never asked are charged to the balance
afterwards, with no reservation: with ``bss.ocs.enabled`` off the network asks for nothing,
and every prepaid record is charged this way — the balance is debited from the records,
as prepaid was billed before online charging ("hot billing"), and nothing stops a balance
going below zero. Prepaid lines are never invoiced.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import numpy.typing as npt
import simpy

from twin.bss.catalog import MB, PriceTable, rate
from twin.bss.rating import TariffClock
from twin.kernel import Sim
from twin.messages import (
    DATA,
    DENIED_CREDIT,
    GRANTED,
    OCS_UNAVAILABLE,
    SMS,
    VOICE,
    CreditAnswer,
    CreditRequest,
    SubscriberBase,
)
from twin.scenario.schema import OcsSpec

I64 = npt.NDArray[np.int64]


class OnlineCharging:
    def __init__(self, sim: Sim, spec: OcsSpec, subs: SubscriberBase, prices: PriceTable,
                 clock: TariffClock) -> None:
        self.sim, self.spec, self.subs, self.prices, self.clock = sim, spec, subs, prices, clock
        prepaid_offer = np.array([s.account_type == "prepaid" for s in prices.specs])
        self.prepaid = prepaid_offer[subs.offer]  # charged to balances, online or not
        self.rng = sim.rng.stream("bss.ocs")
        opening = np.rint(self.rng.exponential(max(spec.initial_balance_mean, 1),
                                               subs.count)).astype(np.int64)
        self.balance = np.where(self.prepaid, opening, 0).astype(np.int64)
        self.opening_minor = int(self.balance.sum())
        self.reserved = np.zeros(subs.count, dtype=np.int64)
        self.topup_at = np.full(subs.count, np.inf)
        self.down = [(o.at, o.at + o.duration) for o in spec.outages]
        self._open_ids = np.empty(0, dtype=np.int64)
        self._open_sub = np.empty(0, dtype=np.int64)
        self._open_amount = np.empty(0, dtype=np.int64)
        self.counts = dict(requests=0, granted=0, partial=0, denied_credit=0, unavailable=0,
                           topups=0, topup_minor=0, debited_minor=0, post_charged=0,
                           adjusted_minor=0, released=0)
        self.denied_subs: list[I64] = []  # who was denied (for care)
        if self.prepaid.any():
            self._schedule_topups()
            sim.env.process(self._topups())

    def is_down(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.down)

    # --- CCR-Initial -------------------------------------------------------------------------

    def on_request(self, req: CreditRequest) -> CreditAnswer:
        """Answer row for row. The network sends an interval's requests together, so each
        row is judged at its own ``start``: rows from while the OCS was down are
        ``OCS_UNAVAILABLE``."""
        c = req.columns
        sid = np.asarray(c["session_id"], dtype=np.int64)
        fail_open = self.spec.failure_handling == "fail_open"
        start = np.asarray(c["start"], dtype=np.float64)
        down = np.zeros(sid.size, dtype=bool)
        for lo, hi in self.down:
            down |= (start >= lo) & (start < hi)
        self.counts["unavailable"] += int(down.sum())
        self.counts["requests"] += int(down.sum())
        result = np.full(sid.size, OCS_UNAVAILABLE, dtype=np.int8)
        granted = np.zeros(sid.size, dtype=np.int64)
        up = np.flatnonzero(~down)
        if up.size:
            ans = self._answer({k: np.asarray(v)[up] for k, v in c.items()}, fail_open)
            result[up] = ans.columns["result"]
            granted[up] = ans.columns["granted"]
        return CreditAnswer({"session_id": sid, "result": result, "granted": granted},
                            fail_open)

    def _answer(self, c: dict[str, np.ndarray], fail_open: bool) -> CreditAnswer:
        """Reserve quota for requests while the OCS is up."""
        sid = np.asarray(c["session_id"], dtype=np.int64)
        n = sid.size
        self.counts["requests"] += n
        sub = np.asarray(c["sub"], dtype=np.int64)
        kind = np.asarray(c["kind"], dtype=np.int64)
        default = np.select([kind == VOICE, kind == DATA],
                            [self.spec.quota_voice_s, self.spec.quota_data_mb * MB], 1)
        q = np.where(np.asarray(c["requested"]) > 0, c["requested"], default).astype(np.int64)
        q = np.where(kind == SMS, 1, q)
        offer = self.subs.offer[sub].astype(np.int64)
        period = self.clock.period(c["start"])
        cost = self._price(offer, kind, q, period)
        least = self._price(offer, kind, np.ones(n, dtype=np.int64), period)
        order = np.argsort(sub, kind="stable")
        s_sorted = sub[order]
        first = np.ones(n, dtype=bool)
        first[1:] = s_sorted[1:] != s_sorted[:-1]
        cs = np.cumsum(cost[order])
        base = np.maximum.accumulate(np.where(first, cs - cost[order], 0))
        before = np.empty(n, dtype=np.int64)
        before[order] = cs - cost[order] - base
        left = self.balance[sub] - self.reserved[sub] - before
        full = cost <= left
        part = ~full & (left >= least) & (left > 0)
        granted = np.where(full, q, np.where(part, q * np.maximum(left, 0) // np.maximum(cost, 1),
                                             0))
        # a partial grant in whole charging increments the balance pays for: the session's
        # charge (every started increment) stays within the reservation
        inc = self.prices.increment[offer, kind]
        granted = np.where(part, np.maximum(granted // inc * inc, 1), granted)
        for _ in range(8):
            over = part & (granted > 1) & (self._price(offer, kind, granted, period) > left)
            if not over.any():
                break
            granted[over] = np.maximum(granted[over] - inc[over], 1)
        reserve = np.where(full, cost, np.where(part, left, 0)).astype(np.int64)
        result = np.where(full | part, GRANTED, DENIED_CREDIT).astype(np.int8)
        np.add.at(self.reserved, sub, reserve)
        ok = result == GRANTED
        ids = np.concatenate([self._open_ids, sid[ok]])
        by_id = np.argsort(ids, kind="stable")
        self._open_ids = ids[by_id]
        self._open_sub = np.concatenate([self._open_sub, sub[ok]])[by_id]
        self._open_amount = np.concatenate([self._open_amount, reserve[ok]])[by_id]
        self.counts["granted"] += int(ok.sum())
        self.counts["partial"] += int(part.sum())
        self.counts["denied_credit"] += int((~ok).sum())
        if (~ok).any():
            self.denied_subs.append(sub[~ok])
        return CreditAnswer({"session_id": sid, "result": result, "granted": granted},
                            fail_open)

    def _price(self, offer: I64, kind: I64, q: I64, period: I64) -> I64:
        duration = np.where(kind == VOICE, q, 0)
        volume = np.where(kind == DATA, q, 0)
        return rate(self.prices, offer, kind, duration, volume, period)[1]

    # --- CCR-Terminate: the usage record ----------------------------------------------------------

    def charge(self, session_id: I64, sub: I64, amount: I64) -> None:
        """Debit the rated ``amount`` of finished sessions and release their reservations."""
        hit = self.release(session_id)
        self.counts["post_charged"] += int((~hit).sum())
        self.debit(sub, amount)
        self.counts["debited_minor"] += int(amount.sum())

    def release(self, session_id: I64) -> npt.NDArray[np.bool_]:
        """Release the reservations of ``session_id`` (those that have one: the mask)."""
        hit = np.zeros(session_id.size, dtype=bool)
        if self._open_ids.size == 0:
            return hit
        pos = np.minimum(np.searchsorted(self._open_ids, session_id), self._open_ids.size - 1)
        hit = np.asarray(self._open_ids[pos] == session_id, dtype=bool)
        if hit.any():
            p = pos[hit]
            np.subtract.at(self.reserved, self._open_sub[p], self._open_amount[p])
            keep = np.ones(self._open_ids.size, dtype=bool)
            keep[p] = False
            self._open_ids, self._open_sub, self._open_amount = (
                self._open_ids[keep], self._open_sub[keep], self._open_amount[keep])
        return hit

    def adjust(self, sub: I64, delta: I64) -> None:
        """A rerating difference, debited (or credited back) to the balance."""
        self.debit(sub, delta)
        self.counts["adjusted_minor"] += int(delta.sum())
        self.counts["debited_minor"] += int(delta.sum())

    def debit(self, sub: I64, amount: I64) -> None:
        np.subtract.at(self.balance, sub, amount)
        # only the lines now due a top-up: those few are sorted out of repeats, not every line
        self._top_up(np.unique(sub[self._due_topup(sub)]))

    # --- top-ups ------------------------------------------------------------------------------

    def _schedule_topups(self, subs: I64 | None = None) -> None:
        idx = np.arange(self.subs.count) if subs is None else subs
        self._top_up(idx[self._due_topup(idx)])

    def _top_up(self, low: I64) -> None:
        """Schedule a top-up of each of the lines ``low`` (due one, each once)."""
        if low.size:
            delay = self.rng.exponential(max(self.spec.topup_delay_mean, 1.0), low.size)
            self.topup_at[low] = self.sim.now + delay

    def _due_topup(self, idx: I64) -> npt.NDArray[np.bool_]:
        """Which of the lines ``idx`` are prepaid, below the top-up level, none scheduled."""
        due: npt.NDArray[np.bool_] = (self.prepaid[idx] & np.isinf(self.topup_at[idx])
                                      & (self.balance[idx] < self.spec.topup_below))
        return due

    def _topups(self) -> Generator[simpy.Event, None, None]:
        while self.sim.now + 3600.0 <= self.sim.horizon:
            yield self.sim.env.timeout(3600.0)
            due = np.flatnonzero(self.topup_at <= self.sim.now)
            if due.size:
                self.balance[due] += self.spec.topup_amount
                self.topup_at[due] = np.inf
                self.counts["topups"] += int(due.size)
                self.counts["topup_minor"] += int(due.size) * self.spec.topup_amount
                self._schedule_topups(due)

    @property
    def summary(self) -> dict[str, int]:
        return {**self.counts, "open_sessions": int(self._open_ids.size),
                "balance_minor": int(self.balance[self.prepaid].sum()),
                "opening_balance_minor": self.opening_minor,
                "negative_balances": int((self.balance[self.prepaid] < 0).sum())}
