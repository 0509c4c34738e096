"""Tariff errors and rerating: a price set up wrong, noticed, corrected and rerated.

KPMG's revenue assurance survey names new tariff configuration among the top causes of
leakage. A scenario scripts it (``bss.tariff_errors``): from ``at`` the rating engine prices
one offer's usage kind at a wrong price; at ``corrected_at`` the correction is issued. Every
record rated with the wrong price is kept in a small usage store (only those: the rating
inputs of the affected offer and kind). At the correction they are rerated with the catalog's
price — the same allowance cover and tier position, only the price changes — and each
difference becomes a ``rerated`` row of the ``rated`` table (TMF635 state *rerated*) and goes
on the bill of its cycle, or on the next open bill if that cycle was already billed. An error
never corrected stays a leak (``reconciliation.tariff_error_minor``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt
import simpy

from twin.bss.catalog import KINDS, PriceTable, money, usage_numerator
from twin.bss.rating import Rating
from twin.kernel import Sim
from twin.scenario.schema import TariffError

I64 = npt.NDArray[np.int64]
Cols = dict[str, np.ndarray]


@dataclass
class _Error:
    spec: TariffError
    offer: int
    kind: int
    store: list[tuple[Cols, Rating]] = field(default_factory=list)
    records: int = 0


def _take(r: Rating, idx: I64) -> Rating:
    return Rating(**{f.name: getattr(r, f.name)[idx] for f in fields(r)})


class Rerating:
    def __init__(self, sim: Sim, prices: PriceTable, errors: list[TariffError],
                 rerate: Callable[[Cols, Rating, I64], None]) -> None:
        self.sim, self.prices, self.rerate = sim, prices, rerate
        self.errors = [_Error(e, prices.offers.index(e.offer), KINDS.index(e.kind))
                       for e in errors if e.offer in prices.offers]
        self.misrated_records = 0
        self.repriced_minor = 0  # catalog charge − charge of the misrated records …
        self.repriced_rows = 0  # … and how many of them the catalog prices otherwise
        self.rerated_records = 0
        self.rerated_minor = 0
        for err in self.errors:
            if err.spec.corrected_at is not None and err.spec.corrected_at <= sim.horizon:
                sim.env.process(self._correct_at(err))

    def active(self) -> list[_Error]:
        now = self.sim.now
        return [e for e in self.errors if e.spec.at <= now
                and (e.spec.corrected_at is None or now < e.spec.corrected_at)]

    def prices_now(self) -> PriceTable | None:
        """The prices the rating engine uses now; None when they are the catalog's."""
        active = self.active()
        if not active:
            return None
        p = self.prices
        for e in active:
            p = p.with_price(e.offer, e.kind, e.spec.price)
        return p

    def keep(self, c: Cols, offer: I64, kind: I64, r: Rating) -> None:
        """Remember the rating inputs of records just rated with a wrong price."""
        for e in self.active():
            # a record with nothing billable (an unanswered call) has no price to get wrong
            m = (offer == e.offer) & (kind == e.kind) & (r.billable > 0)
            if m.any():
                idx = np.flatnonzero(m)
                kept = _take(r, idx)
                e.store.append(({k: v[idx] for k, v in c.items()}, kept))
                e.records += idx.size
                self.misrated_records += idx.size
                delta = self._catalog(e, kept) - kept.charge
                self.repriced_minor += int(delta.sum())
                self.repriced_rows += int((delta != 0).sum())

    def _catalog(self, err: _Error, r: Rating) -> I64:
        """The catalog's charge of records of ``err``'s offer and kind: the same allowance
        cover and tier position, the right price."""
        p, n = self.prices, r.charge.size
        offer = np.full(n, err.offer, dtype=np.int64)
        kind = np.full(n, err.kind, dtype=np.int64)
        num = usage_numerator(p, offer, kind, r.period, r.before, r.chargeable)
        right = money(num, p.per[offer, kind], p.rounding[offer, kind])
        out: I64 = (right + np.where(r.chargeable > 0, p.connect_fee[offer, kind], 0)).astype(
            np.int64)
        return out

    def _correct_at(self, err: _Error) -> Generator[simpy.Event, None, None]:
        assert err.spec.corrected_at is not None
        yield self.sim.env.timeout(err.spec.corrected_at - self.sim.now)
        self.correct(err)

    def correct(self, err: _Error) -> None:
        """Rerate what the error priced wrong, with the catalog's prices."""
        for c, r in err.store:
            delta = self._catalog(err, r) - r.charge
            moved = delta != 0
            if moved.any():
                sel = np.flatnonzero(moved)
                self.rerate({k: v[sel] for k, v in c.items()}, _take(r, sel), delta[sel])
                self.rerated_records += int(sel.size)
                self.rerated_minor += int(delta[sel].sum())
        err.store = []
