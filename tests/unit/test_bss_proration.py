"""Proration by hand: lines that start, end or change offer mid-cycle.

Convention (twin/bss/lines.py): daily, on the actual days of the cycle; the activation day
counts in full, the leaving day not; an offer change switches the fee at the start of its
day; each (line, offer) segment is rounded half to even. Allowances of a line activated
mid-cycle are prorated the same way (rounded down to whole increments) when the offer says
``prorate_allowances``.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from twin.bss.catalog import PriceTable
from twin.bss.lines import Lines, round_half_even
from twin.bss.rating import Rater, TariffClock
from twin.kernel import Calendar
from twin.messages import SubscriberBase
from twin.scenario.schema import CatalogSpec

DAY = 86_400.0
H = 3_600.0


def base(offers: list[int], existing: int) -> SubscriberBase:
    n = len(offers)
    return SubscriberBase(("c1",), ("m", "l", "tiny"), np.zeros(n, np.int32),
                          np.array(offers, np.int16), np.arange(n, dtype=np.int32),
                          existing=existing)


def test_half_even_rounding() -> None:
    num = np.array([3, 5, 7, 9, 10, 11], dtype=np.int64)
    assert round_half_even(num, 2).tolist() == [2, 2, 4, 4, 5, 6]  # 1.5 2.5 3.5 4.5 5 5.5


def test_recurring_prorated_by_days_in_april() -> None:
    """April 2026 has 30 days; the cycle runs 1 April → 1 May and the run covers it all."""
    cal = Calendar(datetime(2026, 4, 1, tzinfo=UTC))
    fee = np.array([1680, 2520, 45], dtype=np.int64)
    # line 0: M all month; 1: M, changes to L on 16 April 09:00; 2: M, leaves 21 April;
    # 3: M activated 10 April 14:00; 4, 5: "tiny" (45 a month) activated on 30 and 28 April
    lines = Lines(base([0, 0, 0, 0, 2, 2], existing=3), cal)
    lines.change(1, 15 * DAY + 9 * H, 1)
    lines.activate(3, 9 * DAY + 14 * H)
    lines.activate(4, 29 * DAY + 6 * H)
    lines.activate(5, 27 * DAY + 23 * H)
    leaves = np.array([np.inf, np.inf, 20 * DAY, np.inf, np.inf, np.inf])
    seg = lines.recurring(fee, 0.0, 30 * DAY, 30 * DAY, leaves)
    got = {(int(s), int(o)): (int(a), (e - b) / DAY)
           for s, o, a, b, e in zip(seg.sub, seg.offer, seg.amount, seg.start, seg.end,
                                    strict=True)}
    assert got == {
        (0, 0): (1680, 30.0),
        (1, 0): (840, 15.0),   # 1680 × 15/30, 1–15 April on M
        (1, 1): (1260, 15.0),  # 2520 × 15/30, from 16 April on L
        (2, 0): (1120, 20.0),  # 1680 × 20/30: 1–20 April, the leaving day is not charged
        (3, 0): (1176, 21.0),  # 1680 × 21/30: 10–30 April, the activation day counts
        (4, 2): (2, 1.0),      # 45 × 1/30 = 1.5 → 2 (to even)
        (5, 2): (4, 3.0),      # 45 × 3/30 = 4.5 → 4 (to even; half up would give 5)
    }
    assert seg.per_line(6).tolist() == [1680, 2100, 1120, 1176, 2, 4]
    # nobody churned: line 2 would have paid the whole month
    assert lines.recurring(fee, 0.0, 30 * DAY, 30 * DAY, None).per_line(6)[2] == 1680
    # offers by instant: the change takes effect when the order completed
    at = lines.offer_at(np.array([1, 1, 1]), np.array([15 * DAY, 15 * DAY + 9 * H,
                                                       20 * DAY]))
    assert at.tolist() == [0, 1, 1]


def test_offers_by_instant_of_lines_changed_and_not() -> None:
    """Each record's offer is its line's last change at or before its start (the base's
    offer before the first), lines without changes mixed in, in any order."""
    rng = np.random.default_rng(7)
    lines = Lines(base([0, 1, 2, 0, 1, 2, 0, 1], existing=8), Calendar(datetime(2026, 4, 1,
                                                                           tzinfo=UTC)))
    changes: dict[int, list[tuple[float, int]]] = {}
    for t in np.sort(rng.uniform(0, 30 * DAY, 12)):
        s, o = int(rng.choice([1, 4, 6])), int(rng.integers(0, 3))
        lines.change(s, float(t), o)
        changes.setdefault(s, []).append((float(t), o))
    sub = rng.integers(0, 8, 400)
    start = rng.uniform(0, 30 * DAY, 400)
    offer0 = [0, 1, 2, 0, 1, 2, 0, 1]
    want = [max(((t, o) for t, o in changes.get(int(s), []) if t <= st),
                default=(0.0, offer0[int(s)]))[1] for s, st in zip(sub, start, strict=True)]
    assert lines.offer_at(sub, start).tolist() == want
    assert lines.offer_at(sub[:0], start[:0]).size == 0


CATALOG: dict[str, Any] = {
    "offers": {
        "m": {"name": "M", "segment": "consumer", "account_type": "postpaid",
              "recurring_fee": 1680, "allowances": {"voice_min": 300},
              "voice": {"increment": 60, "price": 8}, "data": {"increment": 100, "price": 1}},
        "l": {"name": "L", "segment": "consumer", "account_type": "postpaid",
              "recurring_fee": 2520, "allowances": {"voice_min": 1000},
              "voice": {"increment": 60, "price": 8}, "data": {"increment": 100, "price": 1}},
        "tiny": {"name": "T", "segment": "consumer", "account_type": "postpaid",
                 "recurring_fee": 45, "voice": {"increment": 60, "price": 8},
                 "data": {"increment": 100, "price": 1}},
    },
}


@pytest.mark.parametrize(("prorate", "covered", "charge"), [
    # 300 min × 22/31 days = 12,774.19 s → 12,720 s (whole minutes, rounded down);
    # 13,000 s → 13,020 s billable (217 started minutes): 300 s charged at 8 per minute
    (True, 12_720, 40),
    (False, 13_020, 0),  # the full 300 minutes cover it all
])
def test_allowance_prorated_from_activation(prorate: bool, covered: int, charge: int) -> None:
    cal = Calendar(datetime(2026, 1, 1, tzinfo=UTC))
    cat = copy.deepcopy(CATALOG)
    cat["offers"]["m"]["prorate_allowances"] = prorate
    prices = PriceTable.build(CatalogSpec.model_validate(cat), ("m", "l", "tiny"))
    lines = Lines(base([0, 0], existing=1), cal)
    lines.activate(1, 9 * DAY + 14 * H)  # 10 January 14:00: 22 days of 31 to go
    horizon = 31 * DAY
    rater = Rater(prices, [0.0, horizon], horizon, 2, TariffClock(cal, []),
                  line_start=lines.bill_from)
    r = rater.rate(np.array([1, 0]), np.array([0, 0]), np.array([0, 0]),
                   np.array([12 * DAY, 12 * DAY]), np.array([13_000, 13_000]))
    assert r.covered.tolist() == [covered, 13_020]  # the existing line has all 300 minutes
    assert r.charge.tolist() == [charge, 0]


def rater_for(cat: dict[str, Any], boundaries: list[float], horizon: float,
              line_start: list[float]) -> Rater:
    prices = PriceTable.build(CatalogSpec.model_validate(cat), ("m", "l", "tiny"))
    cal = Calendar(datetime(2026, 1, 1, tzinfo=UTC))
    return Rater(prices, boundaries, horizon, len(line_start), TariffClock(cal, []),
                 line_start=np.array(line_start))


def test_allowance_of_a_line_activated_in_a_later_cycle() -> None:
    """Cycles 1 January, 1 February, 1 March; a line billed from 10 February has 19 of
    February's 28 days: 300 min × 19/28 = 12,214.3 s → 12,180 s (203 whole minutes)."""
    rater = rater_for(CATALOG, [0.0, 31 * DAY, 59 * DAY], 59 * DAY, [-np.inf, 40 * DAY])
    r = rater.rate(np.array([0, 1]), np.array([0, 0]), np.array([0, 0]),
                   np.array([45 * DAY, 45 * DAY]), np.array([20_000, 20_000]))
    assert r.cycle.tolist() == [1, 1]
    assert r.covered.tolist() == [18_000, 12_180]  # the line there all along: all 300 minutes


def test_a_line_activated_on_the_runs_first_day_gets_the_allowance_of_the_run() -> None:
    """The cycle began four days before the run (1 January; the run starts on the 5th): a
    line billed from the run's start and a line there all along both get the 27 days of 31
    the run covers, 310 min × 27/31 = 270 min exactly."""
    cat = copy.deepcopy(CATALOG)
    cat["offers"]["m"]["allowances"] = {"voice_min": 310}
    rater = rater_for(cat, [-4 * DAY, 27 * DAY], 27 * DAY, [-np.inf, 0.0])
    r = rater.rate(np.array([0, 1]), np.array([0, 0]), np.array([0, 0]),
                   np.array([DAY, DAY]), np.array([20_000, 20_000]))
    assert r.covered.tolist() == [16_200, 16_200]


def test_the_allowance_counts_the_cycle_left_in_whole_seconds() -> None:
    """A line billed from 0.2 s before the run ends has no whole second of the cycle left,
    so no allowance — even of 10,000 MB, which would give kilobytes for a single second."""
    cat = copy.deepcopy(CATALOG)
    cat["offers"]["m"]["allowances"] = {"data_mb": 10_000}
    cat["offers"]["m"]["data"] = {"increment": 1, "price": 1, "per": 1000}
    end = 31 * DAY
    rater = rater_for(cat, [0.0, end], end, [-np.inf, end - 0.2, end - 2.0])
    r = rater.rate(np.array([1, 2]), np.array([0, 0]), np.array([1, 1]),
                   np.array([end - 0.1, end - 0.1]), np.array([5_000, 10_000]))
    # 2 s of 31 days: 10^10 B × 2 / 2,678,400 = 7,467 B → 7 whole KB increments
    assert r.covered.tolist() == [0, 7_000]


def test_each_bill_cycle_group_has_its_own_cycles_and_allowances() -> None:
    """Lines in three bill cycle groups (cycles from the 1st, 8th and 15th of January; the
    run starts on the 5th and lasts 20 days): a record on the 17th is in each group's first
    cycle, whose allowance is the part of that cycle the run covers — 20, 17 and 10 days of
    31: 310 min → 200, 170 and 100 min."""
    cat = copy.deepcopy(CATALOG)
    cat["offers"]["m"]["allowances"] = {"voice_min": 310}
    prices = PriceTable.build(CatalogSpec.model_validate(cat), ("m", "l", "tiny"))
    cal = Calendar(datetime(2026, 1, 5, tzinfo=UTC))
    bounds = [[-4 * DAY, 27 * DAY], [3 * DAY, 34 * DAY], [10 * DAY, 41 * DAY]]
    rater = Rater(prices, bounds, 20 * DAY, 3, TariffClock(cal, []),
                  group=np.array([0, 1, 2]))
    r = rater.rate(np.array([0, 1, 2]), np.zeros(3, np.int64), np.zeros(3, np.int64),
                   np.full(3, 12 * DAY), np.full(3, 20_000))
    assert r.cycle.tolist() == [0, 0, 0]
    assert r.covered.tolist() == [12_000, 10_200, 6_000]
    # before its group's first cycle began, a record is counted in that cycle
    assert rater.cycle_of(np.array([DAY, DAY, DAY]), np.array([0, 1, 2])).tolist() == [0, 0, 0]


def test_two_bill_cycle_groups_count_cycles_apart() -> None:
    """The run starts on 1 January; one group's cycles begin on the 1st (1 December, 1
    January, 1 February), the other's on the 15th. A record is in the cycle that began last
    at or before it, of its line's group."""
    prices = PriceTable.build(CatalogSpec.model_validate(CATALOG), ("m", "l", "tiny"))
    cal = Calendar(datetime(2026, 1, 1, tzinfo=UTC))
    bounds = [[-31 * DAY, 0.0, 31 * DAY], [-17 * DAY, 14 * DAY, 45 * DAY]]
    rater = Rater(prices, bounds, 40 * DAY, 2, TariffClock(cal, []), group=np.array([0, 1]))
    # each group's allowance is the share of its cycle the run (to 10 February) covers: the
    # 1st's second cycle whole (300 min), the 15th's 26 days of 31 (251 whole minutes)
    r = rater.rate(np.array([0, 1]), np.zeros(2, np.int64), np.zeros(2, np.int64),
                   np.array([35 * DAY, 35 * DAY]), np.array([30_000, 30_000]))
    assert r.cycle.tolist() == [1, 1] and r.covered.tolist() == [18_000, 15_060]
    lines = np.array([0, 1, 0, 1, 0, 1, 1])
    at = np.array([9 * DAY, 9 * DAY, 19 * DAY, 19 * DAY, 0.0, 14 * DAY, 14 * DAY - 1])
    assert rater.cycle_of(at, lines).tolist() == [1, 0, 1, 1, 1, 1, 0]
    one = Rater(prices, bounds[0], 40 * DAY, 2, TariffClock(cal, []))  # a single group
    assert one.cycle_of(np.array([-40 * DAY, -1.0, 0.0, 31 * DAY]),
                        np.array([0, 0, 1, 0])).tolist() == [0, 0, 1, 1]
    # the first cycle holds whatever came before it, the last whatever comes after it


def test_the_counters_are_kept_by_cycle_line_and_kind() -> None:
    """``Rater.used`` (quantity used) and ``charged`` (of which past the allowance) are
    indexed [cycle, line, kind]: the revenue assurance copies them slot by slot."""
    cat = copy.deepcopy(CATALOG)
    cat["offers"]["m"]["allowances"] = {"voice_min": 10, "data_mb": 1, "sms": 3}
    cat["offers"]["m"]["sms"] = {"increment": 1, "price": 9}
    rater = rater_for(cat, [0.0, 10 * DAY, 20 * DAY], 20 * DAY, [-np.inf] * 3)
    r = rater.rate(np.array([1, 2, 2, 0]), np.zeros(4, np.int64), np.array([2, 1, 0, 2]),
                   np.array([DAY, 11 * DAY, 11 * DAY, 12 * DAY]),
                   np.array([5, 400_000, 30, 2]))
    assert r.covered.tolist() == [3, 400_000, 60, 2]
    assert r.units.dtype == r.charge.dtype == np.int64  # whole increments, minor units
    assert r.units.tolist() == [5, 4, 1, 2] and r.charge.tolist() == [18, 0, 0, 0]
    used = {tuple(int(i) for i in ix): int(v) for ix, v in np.ndenumerate(rater.used) if v}
    assert used == {(0, 1, 2): 5, (1, 2, 1): 400_000, (1, 2, 0): 60, (1, 0, 2): 2}
    charged = {tuple(int(i) for i in ix): int(v) for ix, v in np.ndenumerate(rater.charged)
               if v}
    assert charged == {(0, 1, 2): 2}  # the two SMS past line 1's allowance
    # a later batch carries on from the counters
    r = rater.rate(np.array([1, 1]), np.zeros(2, np.int64), np.array([2, 2]),
                   np.array([2 * DAY, 3 * DAY]), np.array([1, 4]))
    assert r.covered.tolist() == [0, 0] and r.before.tolist() == [2, 3]
    assert (rater.used[0, 1, 2], rater.charged[0, 1, 2]) == (10, 7)
