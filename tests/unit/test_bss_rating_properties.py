"""Rating properties (hypothesis) and the TMF620-style price features, by hand.

The vectorised :class:`Rater` is held against a record-by-record reference written in plain
Python: allowances consumed first, in record order, per subscription, cycle and kind; then
tiers or the tariff period's price; rounding to the minor unit as the offer says; connect
fees on records not wholly covered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.analysis.revenue import StepCounters, step_bits
from twin.bss import BusinessSupport
from twin.bss.catalog import PriceTable, quantity
from twin.bss.rating import Rater, TariffClock
from twin.kernel import Calendar, Sim
from twin.messages import DATA, SMS, VOICE, SubscriberBase, UsageBatch
from twin.scenario.schema import BssSpec, CatalogSpec, TariffPeriod

DAY, HOUR = 86_400.0, 3_600.0
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday; its bill cycle began on 1 January
PERIODS = [{"name": "weekend", "days": ["sat", "sun"]},
           {"name": "off_peak", "days": ["mon", "tue", "wed", "thu", "fri"], "hours": [20, 8]}]


def usage_price(draw: st.DrawFn, tiered: bool) -> dict[str, Any]:
    inc = draw(st.sampled_from([1, 10, 60, 100]))
    price: dict[str, Any] = {
        "increment": inc,
        "first_increment": inc * draw(st.integers(1, 3)),
        "per": draw(st.sampled_from([inc, 60, 1000])),
        "price": draw(st.integers(0, 50)),
        "rounding": draw(st.sampled_from(["up", "half_up", "down"])),
        "connect_fee": draw(st.integers(0, 5)),
    }
    if tiered:
        overs = sorted(draw(st.sets(st.integers(1, 5000), min_size=1, max_size=3)))
        price["tiers"] = [{"over": o, "price": draw(st.integers(0, 50))} for o in overs]
    else:
        price["period_prices"] = {"off_peak": draw(st.integers(0, 50)),
                                  "weekend": draw(st.integers(0, 50))}
    return price


@st.composite
def catalogs(draw: st.DrawFn) -> dict[str, Any]:
    offers = {}
    for name in ("a", "b"):
        offers[name] = {
            "name": name, "segment": "consumer", "account_type": "postpaid",
            "recurring_fee": 1000,
            "allowances": {"voice_min": draw(st.integers(0, 30)),
                           "data_mb": draw(st.integers(0, 3)), "sms": draw(st.integers(0, 5))},
            "voice": usage_price(draw, draw(st.booleans())),
            "data": usage_price(draw, draw(st.booleans())),
            "sms": usage_price(draw, False),
        }
    return {"currency": "EUR", "tariff_periods": PERIODS, "offers": offers}


@st.composite
def records(draw: st.DrawFn, n_subs: int = 3) -> dict[str, np.ndarray]:
    n = draw(st.integers(1, 40))
    kind = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64)
    qty = np.array(draw(st.lists(st.integers(0, 4_000), min_size=n, max_size=n)),
                   dtype=np.int64)
    qty = np.where(kind == DATA, qty * 1_000, np.where(kind == SMS, 1, qty))
    start = np.array(draw(st.lists(st.floats(0, 40 * DAY), min_size=n, max_size=n)))
    sub = np.array(draw(st.lists(st.integers(0, n_subs - 1), min_size=n, max_size=n)),
                   dtype=np.int64)
    return {"sub": sub, "kind": kind, "qty": qty, "start": start}


BOUNDS = [-4 * DAY, 27 * DAY, 55 * DAY]  # 1 Jan, 1 Feb, 1 Mar (seconds from 5 Jan)
HORIZON = 41 * DAY
OFFER_OF_SUB = np.array([0, 1, 0], dtype=np.int64)


def make_rater(catalog: dict[str, Any]) -> Rater:
    spec = CatalogSpec.model_validate(catalog)
    prices = PriceTable.build(spec, ("a", "b"))
    return Rater(prices, BOUNDS, HORIZON, 3, TariffClock(Calendar(MONDAY), spec.tariff_periods))


def reference(catalog: dict[str, Any], recs: dict[str, np.ndarray]) -> list[dict[str, int]]:
    """Record by record, in plain Python, with exact fractions."""
    spec = CatalogSpec.model_validate(catalog)
    used: dict[tuple[int, int, int], int] = {}
    charged: dict[tuple[int, int, int], int] = {}
    out = []
    for sub, kind, qty, start in zip(recs["sub"], recs["kind"], recs["qty"], recs["start"],
                                     strict=True):
        offer = spec.offers["ab"[OFFER_OF_SUB[sub]]]
        usage = (offer.voice, offer.data, offer.sms)[kind]
        assert usage is not None
        unit = (1, 1000, 1)[kind]
        inc = usage.increment * unit
        first = (usage.first_increment or usage.increment) * unit
        per = (usage.per or usage.increment) * unit
        cycle = 0 if start < BOUNDS[1] else 1
        lo, hi = max(BOUNDS[cycle], 0.0), min(BOUNDS[cycle + 1], HORIZON)
        a = offer.allowances
        full = (a.voice_min * 60, a.data_mb * 1_000_000, a.sms)[kind]
        allowance = full * round(hi - lo) // round(BOUNDS[cycle + 1] - BOUNDS[cycle])
        allowance = allowance // inc * inc
        billable = 0 if qty == 0 else max(first, -(-int(qty) // inc) * inc)
        key = (cycle, int(sub), int(kind))
        covered = max(0, min(billable, allowance - used.get(key, 0)))
        used[key] = used.get(key, 0) + billable
        chargeable = billable - covered
        before = charged.get(key, 0)
        charged[key] = before + chargeable
        day = int(start // DAY)  # the run starts on a Monday at midnight
        hour = (start - day * DAY) / HOUR
        if day % 7 >= 5:
            period = "weekend"
        elif hour >= 20 or hour < 8:
            period = "off_peak"
        else:
            period = "peak"
        if usage.tiers:
            bounds = [0] + [t.over * unit for t in usage.tiers] + [10**18]
            prices = [usage.price] + [t.price for t in usage.tiers]
            num = sum(p * max(0, min(before + chargeable, bounds[i + 1]) - max(before, bounds[i]))
                      for i, p in enumerate(prices))
        else:
            num = usage.period_prices.get(period, usage.price) * chargeable
        exact = Fraction(num, per)
        if usage.rounding == "up":
            money = -(-exact.numerator // exact.denominator)
        elif usage.rounding == "down":
            money = exact.numerator // exact.denominator
        else:
            money = int((exact + Fraction(1, 2)) // 1)
        charge = money + (usage.connect_fee if chargeable > 0 else 0)
        out.append(dict(billable=billable, covered=covered, chargeable=chargeable,
                        charge=charge, num=num, per=per, rounding=usage.rounding,
                        connect=usage.connect_fee, period=period))
    return out


@settings(max_examples=150, deadline=None)
@given(catalogs(), records())
def test_vectorised_rating_matches_the_record_by_record_reference(
        catalog: dict[str, Any], recs: dict[str, np.ndarray]) -> None:
    rater = make_rater(catalog)
    r = rater.rate(recs["sub"], OFFER_OF_SUB[recs["sub"]], recs["kind"], recs["start"],
                   recs["qty"])
    want = reference(catalog, recs)
    assert r.billable.tolist() == [w["billable"] for w in want]
    assert r.covered.tolist() == [w["covered"] for w in want]
    assert r.charge.tolist() == [w["charge"] for w in want]
    assert [rater.prices.periods[p] for p in r.period] == [w["period"] for w in want]


@settings(max_examples=150, deadline=None)
@given(catalogs(), records(), st.integers(0, 40))
def test_properties_hold_however_the_records_are_batched(
        catalog: dict[str, Any], recs: dict[str, np.ndarray], cut: int) -> None:
    """Charges never negative; allowances never below zero (never over-consumed); rounding
    as the offer says; and the same records in two batches rate exactly as in one."""
    whole = make_rater(catalog)
    one = whole.rate(recs["sub"], OFFER_OF_SUB[recs["sub"]], recs["kind"], recs["start"],
                     recs["qty"])
    split = make_rater(catalog)
    parts = []
    for sl in (slice(0, cut), slice(cut, None)):
        s = {k: v[sl] for k, v in recs.items()}
        parts.append(split.rate(s["sub"], OFFER_OF_SUB[s["sub"]], s["kind"], s["start"],
                                s["qty"]))
    assert np.concatenate([p.charge for p in parts]).tolist() == one.charge.tolist()
    assert np.array_equal(split.used, whole.used)

    assert (one.charge >= 0).all()
    assert (one.covered >= 0).all() and (one.covered <= one.billable).all()
    allowance = whole.allowance[:, OFFER_OF_SUB, :]  # (cycles, subs, kinds)
    left = allowance - np.minimum(whole.used, allowance)
    assert (left >= 0).all()
    covered_total = np.zeros_like(whole.used)
    np.add.at(covered_total, (one.cycle, recs["sub"], recs["kind"]), one.covered)
    assert (covered_total <= allowance).all()

    for w, charge in zip(reference(catalog, recs), one.charge.tolist(), strict=True):
        money = charge - (w["connect"] if w["chargeable"] > 0 else 0)
        gap = money * w["per"] - w["num"]  # rounding error, in units of 1/per minor unit
        if w["rounding"] == "up":
            assert 0 <= gap < w["per"]
        elif w["rounding"] == "down":
            assert -w["per"] < gap <= 0
        else:
            assert -w["per"] < 2 * gap <= w["per"]


STREAM = {"mediation": {"mode": "streaming"}}  # records reach mediation as they arrive


def _batch(recs: dict[str, np.ndarray], ids: np.ndarray) -> UsageBatch:
    kind = recs["kind"]
    return UsageBatch({
        "record_id": ids, "node_id": np.where(kind == DATA, 2, 1).astype(np.int64),
        "sub": recs["sub"], "kind": kind.astype(np.int8), "start": recs["start"],
        "duration_s": np.where(kind == VOICE, recs["qty"], 0),
        "volume_bytes": np.where(kind == DATA, recs["qty"], 0),
        "cause": np.zeros(kind.size, dtype=np.int8)})


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(catalogs(), records(), st.data())
def test_a_record_rated_twice_is_billed_once(make_sim: Callable[..., Sim],
                                             catalog: dict[str, Any],
                                             recs: dict[str, np.ndarray],
                                             data: st.DataObject) -> None:
    """Sent again — in the same batch or a later one — a record is billed once."""
    subs = SubscriberBase(cells=("A",), offers=("a", "b"), cell=np.zeros(3, dtype=np.int32),
                          offer=OFFER_OF_SUB.astype(np.int16),
                          account=np.arange(3, dtype=np.int32))
    once = BusinessSupport(make_sim(horizon=HORIZON),
                           BssSpec.model_validate({"catalog": catalog, **STREAM}), subs)
    ids = np.arange(1, recs["sub"].size + 1, dtype=np.int64)
    once.on_usage(_batch(recs, ids))
    twice = BusinessSupport(make_sim(horizon=HORIZON),
                            BssSpec.model_validate({"catalog": catalog, **STREAM}), subs)
    again = np.array(data.draw(st.lists(st.integers(0, ids.size - 1), min_size=1)))
    both = {k: np.concatenate([v, v[again]]) for k, v in recs.items()}
    twice.on_usage(_batch(both, np.concatenate([ids, ids[again]])))
    twice.on_usage(_batch({k: v[again] for k, v in recs.items()}, ids[again]))
    assert twice.rated_minor == once.rated_minor
    assert twice.rated_records == once.rated_records == ids.size
    assert np.array_equal(twice.billing.usage, once.billing.usage)
    assert twice.mediation.duplicates == 2 * again.size


# --- the price features, by hand ----------------------------------------------------------

CATALOG: dict[str, Any] = {
    "currency": "EUR",
    "tariff_periods": PERIODS,
    "offers": {
        "a": {"name": "a", "segment": "consumer", "account_type": "prepaid", "recurring_fee": 0,
              "voice": {"increment": 1, "first_increment": 60, "per": 60, "price": 9,
                        "period_prices": {"off_peak": 3, "weekend": 1}, "connect_fee": 5},
              "data": {"increment": 100, "per": 1000, "price": 2,
                       "tiers": [{"over": 1000, "price": 1}, {"over": 2000, "price": 0}]}},
        "b": {"name": "b", "segment": "consumer", "account_type": "postpaid",
              "recurring_fee": 3100, "allowances": {"voice_min": 31, "data_mb": 31},
              "voice": {"increment": 60, "price": 10}, "data": {"increment": 1000, "price": 1},
              "sms": {"increment": 1, "price": 9, "rounding": "down"}},
    },
}


def rate(recs: list[tuple[int, int, int, float]], rater: Rater | None = None) -> list[int]:
    """Charges of (sub, kind, quantity, start) records; sub 0 and 2 on offer a, 1 on b."""
    rater = rater or make_rater(CATALOG)
    sub, kind, qty, start = (np.array(x) for x in zip(*recs, strict=True))
    r = rater.rate(sub, OFFER_OF_SUB[sub], kind, start.astype(float), qty.astype(np.int64))
    return r.charge.tolist()


@pytest.mark.parametrize(("seconds", "start", "charge"), [
    (1, 10 * HOUR, 9 + 5),               # 60/1: the first minute in full, plus the connect fee
    (61, 10 * HOUR, -(-61 * 9 // 60) + 5),  # then per second: 9.15 → 10, rounded up
    (61, 21 * HOUR, -(-61 * 3 // 60) + 5),  # Monday 21:00 is off-peak
    (61, 5 * DAY + 10 * HOUR, -(-61 // 60) + 5),  # Saturday: weekend
    (0, 10 * HOUR, 0),                   # nothing used, no connect fee
])
def test_sixty_one_billing_periods_and_connect_fee(seconds: int, start: float,
                                                   charge: int) -> None:
    assert rate([(0, VOICE, seconds, start)]) == [charge]


def test_tiers_apply_to_the_cycles_cumulative_quantity() -> None:
    # 2 ct per MB up to 1 GB... here 1,000 KB = 1 MB: 2 per MB to 1 MB, 1 to 2 MB, then free
    mb = 1_000_000
    charges = rate([(0, DATA, mb // 2, HOUR), (0, DATA, mb, HOUR), (0, DATA, mb, HOUR),
                    (2, DATA, mb, HOUR)])
    assert charges == [1, 2 // 2 + 1 // 2 + 1, 0 + 1, 2]  # 0.5 MB × 2; 0.5 × 2 + 0.5 × 1 …
    assert sum(charges[:3]) == 1 + 2 + 1


def test_allowance_first_in_record_order_then_the_tariff() -> None:
    # offer b: 31 minutes a month, prorated to the billed part of January (27 of 31 days)
    rater = make_rater(CATALOG)
    assert rater.allowance[0, 1, VOICE] == 31 * 60 * 27 // 31 // 60 * 60  # 27 minutes
    charges = rate([(1, VOICE, 20 * 60, HOUR), (1, VOICE, 10 * 60, HOUR),
                    (1, VOICE, 60, HOUR), (1, VOICE, 60, 30 * DAY)], rater)
    # 20 min covered; 7 of 10 covered → 3 charged; then 1 charged; February starts afresh
    assert charges == [0, 30, 10, 0]
    assert rater.used[0, 1, VOICE] == 31 * 60


def test_sms_rounding_down_and_missing_sms_price() -> None:
    assert rate([(1, SMS, 1, HOUR)]) == [9]
    assert rate([(0, SMS, 1, HOUR)]) == [0]  # offer a has no SMS price


def test_quantity_of_each_kind() -> None:
    q = quantity(np.array([0, 1, 2]), np.array([30, 40, 50]), np.array([7, 8, 9]))
    assert q.tolist() == [30, 8, 1]


def test_tariff_clock_wraps_midnight_and_prefers_the_first_period() -> None:
    spec = CatalogSpec.model_validate(CATALOG)
    clock = TariffClock(Calendar(MONDAY), spec.tariff_periods)
    names = ("peak", "weekend", "off_peak")
    t = [7.99 * HOUR, 8 * HOUR, 19.99 * HOUR, 20 * HOUR, 4 * DAY + 23 * HOUR,
         5 * DAY + 10 * HOUR, 6 * DAY + 23.5 * HOUR, 7 * DAY + 1 * HOUR]
    assert [names[p] for p in clock.period(t)] == [
        "off_peak", "peak", "peak", "off_peak", "off_peak", "weekend", "weekend", "off_peak"]


@pytest.mark.parametrize(("bad", "message"), [
    ({"first_increment": 90}, "multiple of the increment"),
    ({"tiers": [{"over": 5, "price": 1}, {"over": 5, "price": 0}]}, "must increase"),
    ({"tiers": [{"over": 5, "price": 1}], "period_prices": {"weekend": 1}}, "not both"),
    ({"period_prices": {"night": 1}}, "no such tariff period"),
])
def test_catalog_checks(bad: dict[str, Any], message: str) -> None:
    catalog = {"tariff_periods": PERIODS, "offers": {"x": {
        "name": "x", "segment": "consumer", "account_type": "postpaid", "recurring_fee": 0,
        "voice": {"increment": 60, "price": 1, **bad}, "data": {"increment": 1, "price": 0}}}}
    with pytest.raises(ValueError, match=message):
        CatalogSpec.model_validate(catalog)


def reference_period(start: datetime, periods: list[dict[str, Any]], t: int) -> int:
    """The tariff period of the instant ``t`` s after ``start``, by the calendar."""
    at = start + timedelta(seconds=t)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[at.weekday()]
    hour = at.hour + at.minute / 60 + at.second / 3600
    for i, p in enumerate(periods, start=1):
        lo, hi = p.get("hours", (0, 24))
        inside = lo <= hour < hi if lo < hi else (hour >= lo or hour < hi)
        if day in p.get("days", [day]) and inside:
            return i
    return 0


@pytest.mark.parametrize("periods", [
    PERIODS,  # whole hours: looked up in a table
    [{"name": "lunch", "days": ["mon", "tue", "wed", "thu", "fri"], "hours": [11.5, 13.25]},
     {"name": "night", "hours": [22.75, 6.5]},  # every day, before the weekend: it wins
     {"name": "weekend", "days": ["sat", "sun"]}],
    [{"name": "lunch", "hours": [11.5, 13.25]}, {"name": "night", "hours": [22.75, 6.5]}],
    [{"name": "office", "days": ["mon", "tue", "wed", "thu", "fri"], "hours": [9, 17]},
     {"name": "evening", "hours": [17, 20]}],
], ids=["whole hours", "quarter hours", "only quarter hours", "daytime whole hours"])
def test_tariff_clock_counts_from_the_calendars_start_time(periods: list[dict[str, Any]]
                                                            ) -> None:
    """A run starting on a Friday at 19:59:30: every instant of nine days, every 433 s and
    at the periods' edges, is in the period a calendar gives."""
    start = datetime(2026, 1, 9, 19, 59, 30, tzinfo=UTC)
    clock = TariffClock(Calendar(start), [TariffPeriod.model_validate(p) for p in periods])
    edges = [h * 3600 + d for h in (6.5, 8, 9, 11.5, 13.25, 17, 20, 22.75, 24)
             for d in (-1, 0)]
    t = sorted({*range(0, 9 * 86_400, 433),
                *(int(day * 86_400 + e - 71_970) for day in range(1, 9) for e in edges)})
    got = clock.period(np.array(t, dtype=np.float64)).tolist()
    assert got == [reference_period(start, periods, x) for x in t]


@settings(max_examples=80, deadline=None)
@given(catalogs(), records(), st.data())
def test_the_revenue_chain_rates_each_step_as_rating_it_in_full(catalog: dict[str, Any],
                                                                recs: dict[str, np.ndarray],
                                                                data: st.DataObject) -> None:
    """Steps that differ from the step before in which records they hold, in quantities or in
    starts (another tariff period or bill cycle): the revenue chain's loop, which rates at a
    step only the counters where its records differ, sums each step as a fresh rater rating
    the step's records in full — over batches, its counters carried from one to the next."""
    n, steps = recs["sub"].size, 5
    bools = st.lists(st.booleans(), min_size=n, max_size=n)
    shift = np.array(data.draw(st.lists(st.sampled_from([0.0, 3 * HOUR, 2 * DAY, 20 * DAY]),
                                        min_size=n, max_size=n)))
    starts = [recs["start"], recs["start"] + shift]
    m, q, at = [np.ones(n, dtype=bool)], [recs["qty"]], [0]
    for _ in range(1, steps):
        m.append(m[-1] & ~np.array(data.draw(bools)))
        cut = np.array(data.draw(bools))
        q.append(np.where(cut, q[-1] // 2, q[-1]))
        at.append(data.draw(st.integers(0, 1)))
    sub, kind = recs["sub"], recs["kind"]
    offer = OFFER_OF_SUB[sub]
    expected = []
    for i in range(steps):
        rows = np.flatnonzero(m[i])
        expected.append(int(make_rater(catalog).rate(sub[rows], offer[rows], kind[rows],
                                                     starts[at[i]][rows],
                                                     q[i][rows]).charge.sum()))
    chain = StepCounters(make_rater(catalog), steps)
    split = data.draw(st.integers(0, n))
    held, A = step_bits(m), np.array(at, dtype=np.int64)
    for part in (slice(0, split), slice(split, n)):
        chain.rate(held[part], [x[part] for x in q], [x[part] for x in starts], A, sub[part],
                   offer[part], kind[part])
    assert chain.money.tolist() == expected
