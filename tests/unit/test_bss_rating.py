"""Rating: every started charging increment is paid, in integer minor units."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from twin.bss.catalog import PriceTable, rate
from twin.scenario.schema import CatalogSpec

OFFERS = ("consumer_postpaid", "consumer_prepaid", "enterprise")
POST, PRE, ENT = range(3)
VOICE, DATA = 0, 1
MB10 = 10_000_000  # a data increment of 10,000 KB of 1,000 bytes

# A catalog of our own, so the tests pin the charging rule, not today's tariff.
CATALOG: dict[str, Any] = {
    "currency": "EUR",
    "offers": {
        "consumer_postpaid": {
            "name": "post", "segment": "consumer", "account_type": "postpaid",
            "recurring_fee": 2000, "voice": {"increment": 60, "price": 9},
            "data": {"increment": 10_000, "price": 2}},
        "consumer_prepaid": {
            "name": "pre", "segment": "consumer", "account_type": "prepaid",
            "recurring_fee": 0, "voice": {"increment": 60, "price": 12},
            "data": {"increment": 10_000, "price": 3}},
        "enterprise": {
            "name": "ent", "segment": "enterprise", "account_type": "postpaid",
            "recurring_fee": 4500, "voice": {"increment": 1, "price": 0},
            "data": {"increment": 10_000, "price": 1}},
    },
}


@pytest.fixture
def prices() -> PriceTable:
    return PriceTable.build(CatalogSpec.model_validate(CATALOG), OFFERS)


def rate_one(prices: PriceTable, offer: int, kind: int, seconds: int = 0,
             volume: int = 0) -> tuple[int, int]:
    units, charge = rate(prices, np.array([offer]), np.array([kind], dtype=np.int8),
                         np.array([seconds], dtype=np.int64), np.array([volume], dtype=np.int64))
    assert units.dtype == np.int64 and charge.dtype == np.int64
    return int(units[0]), int(charge[0])


@pytest.mark.parametrize(("seconds", "units"), [(0, 0), (1, 1), (59, 1), (60, 1), (61, 2),
                                                (120, 2), (121, 3), (3600, 60)])
def test_voice_every_started_minute_is_charged(prices: PriceTable, seconds: int,
                                               units: int) -> None:
    assert rate_one(prices, POST, VOICE, seconds=seconds) == (units, units * 9)
    assert rate_one(prices, PRE, VOICE, seconds=seconds) == (units, units * 12)


@pytest.mark.parametrize(("volume", "units"), [(0, 0), (1, 1), (MB10 - 1, 1), (MB10, 1),
                                               (MB10 + 1, 2), (5 * MB10, 5)])
def test_data_every_started_increment_is_charged(prices: PriceTable, volume: int,
                                                 units: int) -> None:
    assert rate_one(prices, POST, DATA, volume=volume) == (units, units * 2)
    assert rate_one(prices, ENT, DATA, volume=volume) == (units, units * 1)


def test_default_catalog_charges_started_increments(default_catalog: dict[str, Any]) -> None:
    """The shipped catalog under the same rule: one unit over an increment (past the first
    increment) pays one more increment; nothing used, nothing charged."""
    offers = tuple(default_catalog["offers"])
    table = PriceTable.build(CatalogSpec.model_validate(default_catalog), offers)
    for i, name in enumerate(offers):
        for kind, key, unit in ((VOICE, "voice", 1), (DATA, "data", 1_000)):
            usage = default_catalog["offers"][name][key]
            inc = usage["increment"] * unit
            first = usage.get("first_increment", usage["increment"]) * unit
            per = usage.get("per", usage["increment"]) * unit
            args = {"seconds": first + 1} if kind == VOICE else {"volume": first + 1}
            units, charge = rate_one(table, i, kind, **args)
            assert units == first // inc + 1
            assert charge == -(-(first + inc) * usage["price"] // per)  # rounded up
        assert rate_one(table, i, VOICE) == (0, 0)
        assert rate_one(table, i, DATA) == (0, 0)


def test_zero_volume_zero_charge(prices: PriceTable) -> None:
    for offer in (POST, PRE, ENT):
        assert rate_one(prices, offer, VOICE) == (0, 0)
        assert rate_one(prices, offer, DATA) == (0, 0)


def test_voice_uses_duration_and_data_uses_volume(prices: PriceTable) -> None:
    # a voice record's volume and a data record's duration are ignored
    assert rate_one(prices, POST, VOICE, seconds=30, volume=10 * MB10) == (1, 9)
    assert rate_one(prices, POST, DATA, seconds=3600, volume=1) == (1, 2)


def test_bundled_voice_counts_seconds_at_zero_price(prices: PriceTable) -> None:
    assert rate_one(prices, ENT, VOICE, seconds=125) == (125, 0)


def test_vectorised_rating_of_mixed_records(prices: PriceTable) -> None:
    offer = np.array([POST, PRE, ENT, POST, PRE])
    kind = np.array([VOICE, VOICE, DATA, DATA, DATA], dtype=np.int8)
    duration = np.array([61, 180, 0, 0, 0], dtype=np.int64)
    volume = np.array([0, 0, 25_000_000, 1, 0], dtype=np.int64)
    units, charge = rate(prices, offer, kind, duration, volume)
    assert units.tolist() == [2, 3, 3, 1, 0]
    assert charge.tolist() == [18, 36, 3, 2, 0]


def test_price_table_follows_the_requested_offer_order() -> None:
    table = PriceTable.build(CatalogSpec.model_validate(CATALOG),
                             ("enterprise", "consumer_prepaid"))
    assert table.recurring.tolist() == [4500, 0]
    assert table.voice_inc_s.tolist() == [1, 60]
    assert table.data_inc_bytes.tolist() == [MB10, MB10]
