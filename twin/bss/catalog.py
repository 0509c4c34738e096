"""The product catalog as arrays indexed by offer, for vectorised rating and billing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from twin.scenario.schema import CatalogSpec, OfferSpec

KB = 1_000


@dataclass(frozen=True, eq=False)
class PriceTable:
    offers: tuple[str, ...]
    specs: tuple[OfferSpec, ...]
    recurring: npt.NDArray[np.int64]
    voice_inc_s: npt.NDArray[np.int64]
    voice_price: npt.NDArray[np.int64]
    data_inc_bytes: npt.NDArray[np.int64]
    data_price: npt.NDArray[np.int64]

    @classmethod
    def build(cls, catalog: CatalogSpec, offers: tuple[str, ...]) -> PriceTable:
        specs = tuple(catalog.offers[o] for o in offers)

        def arr(values: list[int]) -> npt.NDArray[np.int64]:
            return np.array(values, dtype=np.int64)

        return cls(offers, specs,
                   recurring=arr([s.recurring_fee for s in specs]),
                   voice_inc_s=arr([s.voice.increment for s in specs]),
                   voice_price=arr([s.voice.price for s in specs]),
                   data_inc_bytes=arr([s.data.increment * KB for s in specs]),
                   data_price=arr([s.data.price for s in specs]))


def rate(prices: PriceTable, offer: npt.NDArray[np.integer], kind: npt.NDArray[np.integer],
         duration_s: npt.NDArray[np.int64], volume_bytes: npt.NDArray[np.int64],
         ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Charged units and charge (minor units) per record: every started increment is paid."""
    voice = kind == 0
    inc = np.where(voice, prices.voice_inc_s[offer], prices.data_inc_bytes[offer])
    qty = np.where(voice, duration_s, volume_bytes).astype(np.int64)
    units = -(-qty // inc)
    price = np.where(voice, prices.voice_price[offer], prices.data_price[offer])
    return units, units * price
