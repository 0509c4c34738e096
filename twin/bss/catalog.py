"""The product catalog as arrays indexed by offer and usage kind, for vectorised rating.

The catalog file is shaped after TMF620: a product offering (an *offer*) has prices — a
recurring fee, a one-time fee, usage prices per kind (voice, data, SMS) — and allowances
bundled into the recurring fee. A usage price names its charging increment (every started
increment is charged, with an optional longer first increment: ``60/1`` billing), the
price per quantity, a price per tariff period or per tier, a connect fee and the rounding
of each record's charge to the minor unit.

Internally every quantity is in base units: seconds (voice), bytes (data), messages (SMS).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from twin.messages import DATA, VOICE
from twin.scenario.schema import CatalogSpec, OfferSpec, UsagePrice

KB = 1_000
MB = 1_000_000
KINDS = ("voice", "data", "sms")
UNIT_BYTES = (1, KB, 1)  # base units per catalog unit: seconds, KB, messages
ROUNDING = ("up", "half_up", "down")
PEAK = "peak"
NO_TIER = np.iinfo(np.int64).max // 4  # "never reached" tier boundary

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class PriceTable:
    """Prices of the offers ``offers`` (index = offer code), kinds in columns.

    Usage arrays have shape (offers, 3); ``price`` is (offers, 3, periods) with ``peak``
    first; ``tier_over``/``tier_price`` are (offers, 3, tiers) with the base price as tier 0
    (over 0) and unused tiers padded with a boundary never reached.
    """

    offers: tuple[str, ...]
    specs: tuple[OfferSpec, ...]
    periods: tuple[str, ...]
    recurring: I64
    one_time: I64
    discount_min_lines: I64
    discount_pct: npt.NDArray[np.float64]
    increment: I64
    first: I64
    per: I64
    rounding: npt.NDArray[np.int8]
    connect_fee: I64
    price: I64
    tiered: npt.NDArray[np.bool_]
    tier_over: I64
    tier_price: I64
    allowance: I64

    @classmethod
    def build(cls, catalog: CatalogSpec, offers: tuple[str, ...]) -> PriceTable:
        specs = tuple(catalog.offers[o] for o in offers)
        periods = (PEAK, *(p.name for p in catalog.tariff_periods))
        n, n_p = len(specs), len(periods)
        n_t = 1 + max((len(u.tiers) for s in specs for u in _usages(s) if u is not None),
                      default=0)
        shape = (n, 3)
        inc, first, per = (np.ones(shape, np.int64) for _ in range(3))
        rounding = np.zeros(shape, np.int8)
        connect = np.zeros(shape, np.int64)
        price = np.zeros((n, 3, n_p), np.int64)
        tiered = np.zeros(shape, bool)
        tier_over = np.full((n, 3, n_t), NO_TIER, np.int64)
        tier_over[:, :, 0] = 0
        tier_price = np.zeros((n, 3, n_t), np.int64)
        allowance = np.zeros(shape, np.int64)
        for o, spec in enumerate(specs):
            a = spec.allowances
            allowance[o] = (a.voice_min * 60, a.data_mb * MB, a.sms)
            for k, u in enumerate(_usages(spec)):
                if u is None:  # no price for this kind: charged nothing
                    continue
                unit = UNIT_BYTES[k]
                inc[o, k] = u.increment * unit
                first[o, k] = (u.first_increment or u.increment) * unit
                per[o, k] = (u.per or u.increment) * unit
                rounding[o, k] = ROUNDING.index(u.rounding)
                connect[o, k] = u.connect_fee
                price[o, k, :] = u.price
                for p, name in enumerate(periods[1:], start=1):
                    price[o, k, p] = u.period_prices.get(name, u.price)
                tier_price[o, k, 0] = u.price
                if u.tiers:
                    tiered[o, k] = True
                    for t, tier in enumerate(u.tiers, start=1):
                        tier_over[o, k, t] = tier.over * unit
                        tier_price[o, k, t] = tier.price
        discount_min = np.array([s.discount.min_lines if s.discount else 0 for s in specs],
                                dtype=np.int64)
        discount_pct = np.array([s.discount.pct if s.discount else 0.0 for s in specs])
        return cls(offers, specs, periods,
                   recurring=np.array([s.recurring_fee for s in specs], dtype=np.int64),
                   one_time=np.array([s.one_time_fee for s in specs], dtype=np.int64),
                   discount_min_lines=discount_min, discount_pct=discount_pct,
                   increment=inc, first=first, per=per, rounding=rounding,
                   connect_fee=connect, price=price, tiered=tiered, tier_over=tier_over,
                   tier_price=tier_price, allowance=allowance)

    # --- views kept for callers of the walking skeleton ---------------------------------------

    @property
    def voice_inc_s(self) -> I64:
        return self.increment[:, VOICE]

    @property
    def data_inc_bytes(self) -> I64:
        return self.increment[:, DATA]

    def with_price(self, offer: int, kind: int, price: int) -> PriceTable:
        """A copy where ``offer``'s ``kind`` costs ``price`` in every period and tier 0 (a
        misconfigured or corrected tariff)."""
        p, tp = self.price.copy(), self.tier_price.copy()
        p[offer, kind, :] = price
        tp[offer, kind, 0] = price
        return replace(self, price=p, tier_price=tp)


def _usages(spec: OfferSpec) -> tuple[UsagePrice | None, UsagePrice | None, UsagePrice | None]:
    return spec.voice, spec.data, spec.sms


def quantity(kind: npt.NDArray[np.integer], duration_s: I64, volume_bytes: I64) -> I64:
    """The rated quantity of each record: seconds, bytes, or one message."""
    return np.where(kind == VOICE, duration_s,
                    np.where(kind == DATA, volume_bytes, 1)).astype(np.int64)


def billable(prices: PriceTable, offer: npt.NDArray[np.integer], kind: npt.NDArray[np.integer],
             qty: I64) -> I64:
    """Quantity after charging increments: every started increment counts, and a record
    with any usage is charged at least its first increment."""
    inc = prices.increment[offer, kind]
    rounded = -(-qty // inc) * inc
    return np.where(qty > 0, np.maximum(rounded, prices.first[offer, kind]), 0)


def money(numerator: I64, per: I64, mode: npt.NDArray[np.int8]) -> I64:
    """``numerator / per`` rounded to whole minor units: up, half up or down."""
    up = -(-numerator // per)
    half = (2 * numerator + per) // (2 * per)
    down = numerator // per
    out: I64 = np.where(mode == 0, up, np.where(mode == 1, half, down))
    return out


def usage_numerator(prices: PriceTable, offer: npt.NDArray[np.integer],
                    kind: npt.NDArray[np.integer], period: npt.NDArray[np.integer],
                    before: I64, chargeable: I64) -> I64:
    """Price × quantity (in minor units × ``per``) of ``chargeable`` base units, charged
    after ``before`` units already charged in the cycle (tiers) and in ``period``."""
    flat: I64 = prices.price[offer, kind, period] * chargeable
    rows = np.flatnonzero(prices.tiered[offer, kind])
    if rows.size == 0:
        return flat
    o, k = offer[rows], kind[rows]
    over = prices.tier_over[o, k]  # (rows, tiers)
    upper = np.concatenate([over[:, 1:], np.full((rows.size, 1), NO_TIER)], axis=1)
    lo = before[rows][:, None]
    hi = (before[rows] + chargeable[rows])[:, None]
    inside = np.clip(np.minimum(hi, upper) - np.maximum(lo, over), 0, None)
    flat[rows] = (inside * prices.tier_price[o, k]).sum(axis=1)
    return flat


def rate(prices: PriceTable, offer: npt.NDArray[np.integer], kind: npt.NDArray[np.integer],
         duration_s: I64, volume_bytes: I64,
         period: npt.NDArray[np.integer] | None = None) -> tuple[I64, I64]:
    """Charged increments and charge (minor units) per record, each on its own: no
    allowance, the first tier, the peak period unless ``period`` is given.

    Stateful rating (allowances and tiers across a cycle) is :class:`twin.bss.rating.Rater`.
    """
    offer = np.asarray(offer, dtype=np.int64)
    kind = np.asarray(kind, dtype=np.int64)
    qty = quantity(kind, np.asarray(duration_s), np.asarray(volume_bytes))
    bill = billable(prices, offer, kind, qty)
    per_ = period if period is not None else np.zeros(offer.size, dtype=np.int64)
    num = usage_numerator(prices, offer, kind, per_, np.zeros_like(bill), bill)
    charge = money(num, prices.per[offer, kind], prices.rounding[offer, kind])
    charge = charge + np.where(bill > 0, prices.connect_fee[offer, kind], 0)
    return bill // prices.increment[offer, kind], charge.astype(np.int64)
