"""Billing: cycle boundaries, half-up rounding, SLA credits from the credit table."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from twin.bss import BusinessSupport
from twin.bss.billing import (
    credit_pct,
    cycle_boundaries,
    cycle_groups,
    cycle_table,
    merged_seconds,
    percent_of,
    prorate,
    round_div,
)
from twin.kernel import Calendar, Sim
from twin.messages import ServiceOutageReport, SubscriberBase
from twin.scenario.schema import BssSpec, SlaSpec

DAY, HOUR, MIN = 86_400.0, 3_600.0, 60.0
JAN5 = datetime(2026, 1, 5, tzinfo=UTC)


def arr(*v: int) -> np.ndarray:
    return np.array(v, dtype=np.int64)


# --- cycle boundaries ----------------------------------------------------------------------


def test_cycle_boundaries_cover_the_run() -> None:
    cal = Calendar(JAN5)
    # the cycle containing the start began on 1 Jan, four days before it
    assert cycle_boundaries(cal, 1, 7 * DAY) == [-4 * DAY, 27 * DAY]
    assert cycle_boundaries(cal, 1, 60 * DAY) == [-4 * DAY, 27 * DAY, 55 * DAY, 86 * DAY]


def test_cycle_boundaries_when_the_run_starts_on_the_cycle_day() -> None:
    cal = Calendar(datetime(2026, 1, 1, tzinfo=UTC))
    assert cycle_boundaries(cal, 1, 31 * DAY) == [0.0, 31 * DAY]


def test_cycle_boundaries_mid_month_cycle_day_and_year_end() -> None:
    cal = Calendar(JAN5)
    assert cycle_boundaries(cal, 15, 7 * DAY) == [-21 * DAY, 10 * DAY]
    cal = Calendar(datetime(2025, 12, 20, tzinfo=UTC))
    assert cycle_boundaries(cal, 28, 40 * DAY) == [-22 * DAY, 8 * DAY, 39 * DAY, 70 * DAY]


def test_cycle_boundaries_fall_on_the_calendars_local_midnight() -> None:
    """A run in UTC+2 starting on 5 January: its cycles begin at midnight there."""
    cal = Calendar(datetime(2026, 1, 5, tzinfo=timezone(timedelta(hours=2))))
    assert cycle_boundaries(cal, 1, 7 * DAY) == [-4 * DAY, 27 * DAY]


def test_cycle_table_pads_shorter_groups_with_empty_cycles() -> None:
    """Run from 5 January for 59 days: the group of the 1st has cycles from 1 January, 1
    February and 1 March (ending 1 April), the group of the 5th from 5 January and 5
    February (ending 5 March, the horizon) — one boundary fewer, repeated at its end."""
    table = cycle_table(Calendar(JAN5), [1, 5], 59 * DAY)
    assert table.tolist() == [[-4 * DAY, 27 * DAY, 55 * DAY, 86 * DAY],
                              [0.0, 31 * DAY, 59 * DAY, 59 * DAY]]


def test_accounts_are_drawn_into_bill_cycle_groups_by_their_shares() -> None:
    """20,000 accounts of two lines each, half on the 1st, 30 % on the 15th, 20 % on the
    28th: the shares within 1.5 points (about 4 standard errors), the days in order, and
    both lines of an account in its group."""
    account = np.repeat(np.arange(20_000), 2)
    subs = SimpleNamespace(account=account, count=account.size)
    spec = SimpleNamespace(bill_cycle_days={28: 0.2, 1: 0.5, 15: 0.3}, bill_cycle_day=1)
    days, group = cycle_groups(spec, subs, np.random.default_rng(7))  # type: ignore[arg-type]
    assert days == [1, 15, 28]
    assert group.dtype == np.int64 and group.size == account.size
    assert (group[0::2] == group[1::2]).all()
    share = np.bincount(group[0::2], minlength=3) / 20_000
    assert np.abs(share - [0.5, 0.3, 0.2]).max() < 0.015
    # shares need not add up to 1: they are weights
    half = SimpleNamespace(bill_cycle_days={1: 0.4, 15: 0.4}, bill_cycle_day=1)
    _, group = cycle_groups(half, subs, np.random.default_rng(7))  # type: ignore[arg-type]
    assert abs(float(np.mean(group[0::2])) - 0.5) < 0.015
    one = SimpleNamespace(bill_cycle_days={}, bill_cycle_day=15)
    days, group = cycle_groups(one, subs, np.random.default_rng(7))  # type: ignore[arg-type]
    assert days == [15] and (group == 0).all() and group.size == account.size


# --- rounding -----------------------------------------------------------------------------


@pytest.mark.parametrize(("num", "den", "expected"), [
    (5, 2, 3), (7, 2, 4), (1, 2, 1), (3, 4, 1), (1, 4, 0), (10, 5, 2), (0, 7, 0), (14, 4, 4),
])
def test_round_div_rounds_half_up(num: int, den: int, expected: int) -> None:
    assert int(round_div(num, den)) == expected


def test_prorate_rounds_half_up() -> None:
    # 20.00 EUR for 1 of 31 days = 64.516… cents → 65
    assert prorate(arr(2000), DAY, 31 * DAY).tolist() == [65]
    # exactly half a cent rounds up (banker's rounding would give 2 and 4)
    assert prorate(arr(5, 3, 7), 1.0, 2.0).tolist() == [3, 2, 4]
    assert prorate(arr(4500, 0), 7 * DAY, 31 * DAY).tolist() == [1016, 0]
    assert prorate(arr(4500), 31 * DAY, 31 * DAY).tolist() == [4500]


def test_percent_of_rounds_half_up() -> None:
    assert percent_of(arr(4500), np.array([10.0])).tolist() == [450]
    assert percent_of(arr(4515), np.array([5.0])).tolist() == [226]  # 225.75
    assert percent_of(arr(10), np.array([25.0])).tolist() == [3]  # 2.5


@pytest.mark.parametrize("pct", [np.nan, np.inf, None])
def test_percent_of_refuses_a_percentage_that_is_not_a_number(pct: Any) -> None:
    with pytest.raises(ValueError, match="percentages must be finite numbers"):
        percent_of(arr(100, 200), np.array([10.0, pct], dtype=object))
    assert percent_of(arr(10, 10, 1016), np.array([0.0, 100.0, 20.0])).tolist() == [0, 10, 203]


# --- SLA credits, against the default catalog's credit table -----------------------------------
#
# enterprise: availability target 99.9 %; credit when the cycle's outage exceeds
# 10 m → 5 %, 45 m → 10 %, 4 h → 20 %, 8 h → 30 %, 12 h → 40 %, 16 h → 50 %, 24 h → 100 %.
# Over a 30-day cycle (2,592,000 s) the target allows 2,592 s (43.2 min) of outage.

CYCLE = 30 * DAY


@pytest.fixture
def sla(default_catalog: dict[str, Any]) -> SlaSpec:
    return SlaSpec.model_validate(default_catalog["offers"]["enterprise"]["sla"])


@pytest.mark.parametrize(("outage_s", "billed_s", "pct"), [
    (0, CYCLE, 0),
    (30 * MIN, CYCLE, 0),  # over 10 m, but 99.958 % meets the 99.9 % target
    (43 * MIN, CYCLE, 0),  # 99.9005 %: still meets it
    (44 * MIN, CYCLE, 5),  # 99.898 %: target missed; over 10 m, not over 45 m
    (45 * MIN, CYCLE, 5),  # exactly 45 m is not *over* 45 m
    (50 * MIN, CYCLE, 10),
    (4 * HOUR, CYCLE, 10),
    (5 * HOUR, CYCLE, 20),
    (8 * HOUR + 1, CYCLE, 30),
    (12 * HOUR, CYCLE, 30),
    (13 * HOUR, CYCLE, 40),
    (20 * HOUR, CYCLE, 50),
    (25 * HOUR, CYCLE, 100),
    (5 * MIN, DAY, 0),  # one billed day: 99.65 % misses the target, but not over 10 m
    (11 * MIN, DAY, 5),
])
def test_credit_pct_against_the_credit_table(sla: SlaSpec, outage_s: float, billed_s: float,
                                             pct: float) -> None:
    availability, got = credit_pct(sla, outage_s, billed_s)
    assert got == pct
    assert availability == pytest.approx(100.0 * (1 - outage_s / billed_s))


def test_credit_pct_is_capped(sla: SlaSpec) -> None:
    capped = sla.model_copy(update={"cap_pct": 25.0})
    assert credit_pct(capped, 25 * HOUR, CYCLE)[1] == 25.0
    assert credit_pct(capped, 5 * HOUR, CYCLE)[1] == 20.0


def test_credit_pct_with_nothing_billed(sla: SlaSpec) -> None:
    assert credit_pct(sla, 0.0, 0.0) == (100.0, 0.0)


# --- merged outage seconds ------------------------------------------------------------------


@pytest.mark.parametrize(("intervals", "lo", "hi", "expected"), [
    ([], 0, 100, 0),
    ([(0, 10), (5, 20), (30, 40)], 0, 100, 30),  # overlap counted once
    ([(30, 40), (0, 10), (5, 20)], 0, 100, 30),  # order does not matter
    ([(0, 10), (10, 20)], 0, 100, 20),  # touching
    ([(0, 100), (10, 20), (50, 60)], 0, 100, 100),  # contained
    ([(-10, 10)], 0, 100, 10),  # clipped at lo
    ([(90, 120)], 0, 100, 10),  # clipped at hi
    ([(-50, -10), (120, 130)], 0, 100, 0),  # outside
    ([(10, 20), (10, 20)], 0, 100, 10),  # the same outage reported twice
])
def test_merged_seconds(intervals: list[tuple[float, float]], lo: float, hi: float,
                        expected: float) -> None:
    assert merged_seconds(intervals, lo, hi) == expected


# --- a bill run with an SLA credit, by hand -------------------------------------------------


def test_bill_run_with_sla_credit(make_sim: Callable[..., Sim],
                                  default_catalog: dict[str, Any]) -> None:
    """Three subscriptions for 7 days from 5 Jan (cycle 1 Jan – 1 Feb, 31 days):

    * sub 0 consumer_postpaid on cell A: 2000 × 7/31 = 451.6 → 452 recurring, usage 18
    * sub 1 enterprise on cell B (5 h outage): 4500 × 7/31 = 1016.1 → 1016 recurring;
      availability 97.0 % misses 99.9 %, outage over 4 h → 20 % credit = 203.2 → 203
    * sub 2 enterprise on cell A (no outage): 1016 recurring, no credit
    Subs 1 and 2 share one enterprise account (two lines: too few for the volume discount).
    VAT 19 % on each invoice's net: 470 → 89.3 → 89; 2032 − 203 = 1829 → 347.51 → 348.
    """
    # fixed fees, so the hand computation below holds whatever today's tariff is
    catalog = copy.deepcopy(default_catalog)
    catalog["offers"]["consumer_postpaid"]["recurring_fee"] = 2000
    catalog["offers"]["enterprise"]["recurring_fee"] = 4500
    catalog["vat_pct"] = 19
    catalog["offers"]["enterprise"]["sla"] = {
        "availability_target": 99.9, "cap_pct": 100,
        "credit_table": [{"over": "10m", "credit_pct": 5}, {"over": "45m", "credit_pct": 10},
                         {"over": "4h", "credit_pct": 20}, {"over": "8h", "credit_pct": 30}]}
    sim = make_sim(horizon=7 * DAY)
    subs = SubscriberBase(
        cells=("A", "B"), offers=("consumer_postpaid", "enterprise"),
        cell=np.array([0, 1, 0], dtype=np.int32), offer=np.array([0, 1, 1], dtype=np.int16),
        account=np.array([0, 1, 1], dtype=np.int32))
    # a BSS on its own: the trouble reports care forwards to the OSS go nowhere
    bss = BusinessSupport(sim, BssSpec.model_validate({"catalog": catalog}), subs,
                          publish=lambda msg: None)
    bss.on_outage(ServiceOutageReport(1, "B", 2 * DAY, 2 * DAY + 3 * HOUR))
    bss.on_outage(ServiceOutageReport(2, "B", 2 * DAY + 2 * HOUR, 2 * DAY + 5 * HOUR))  # overlaps
    bss.billing.add_usage(np.array([0], dtype=np.int64), np.array([0], dtype=np.int8),
                          np.array([DAY]), np.array([18], dtype=np.int64))
    sim.at_end(bss.finish)
    sim.run()

    totals = bss.billing.totals
    assert totals["invoices"] == 2
    assert totals["recurring_minor"] == 452 + 1016 + 1016
    assert totals["usage_minor"] == 18
    assert totals["sla_credits_minor"] == 203
    assert totals["net_billed_minor"] == 452 + 18 + 1016 + 1016 - 203
    assert totals["tax_minor"] == 89 + 348
    assert totals["billed_minor"] == 452 + 18 + 1016 + 1016 - 203 + 89 + 348

    tables = sim.records.directory
    invoices = {r["account"]: r for r in pq.read_table(tables / "invoices.parquet").to_pylist()}
    assert (invoices[0]["net_minor"], invoices[0]["tax_minor"]) == (470, 89)
    assert invoices[0]["total_minor"] == 470 + 89
    assert invoices[1]["recurring_minor"] == 2032
    assert invoices[1]["sla_credit_minor"] == 203
    assert invoices[1]["net_minor"] == 2032 - 203
    assert invoices[1]["total_minor"] == 2032 - 203 + 348
    assert invoices[1]["account_type"] == "postpaid"
    assert invoices[0]["cycle_start"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert (invoices[0]["billed_from"], invoices[0]["billed_to"]) == (0.0, 7 * DAY)

    credits = pq.read_table(tables / "sla_credits.parquet").to_pylist()
    assert len(credits) == 1
    c = credits[0]
    assert (c["sub"], c["cell"], c["outage_s"]) == (1, "B", 5 * HOUR)  # overlap merged
    assert (c["credit_pct"], c["base_minor"], c["credit_minor"]) == (20.0, 1016, 203)

    lines = pq.read_table(tables / "invoice_lines.parquet").to_pylist()
    by_type: dict[str, int] = {}
    for line in lines:
        by_type[line["line_type"]] = by_type.get(line["line_type"], 0) + line["amount_minor"]
    assert by_type == {"recurring": 2484, "usage_voice": 18, "sla_credit": -203, "tax": 437}
    assert sum(i["total_minor"] for i in invoices.values()) == sum(by_type.values())


# --- two bill cycle groups, by hand -------------------------------------------------------


def two_groups(make_sim: Callable[..., Sim], catalog: dict[str, Any],
               horizon: float = 59 * DAY) -> tuple[Any, Sim, np.ndarray]:
    """40 consumer lines of their own accounts from Monday 5 January, billed on the 1st or
    the 15th: group 0 has cycles from 1 January, 1 February and 1 March; group 1 from 15
    December, 15 January and 15 February (to 15 March). Returns the BSS, its simulation
    and one line of each group."""
    sim = make_sim(horizon=horizon)
    n = 40
    subs = SubscriberBase(cells=("A",), offers=("consumer_postpaid",),
                          cell=np.zeros(n, np.int32), offer=np.zeros(n, np.int16),
                          account=np.arange(n, dtype=np.int32))
    bss = BusinessSupport(sim, BssSpec.model_validate({"catalog": catalog,
                                                  "bill_cycle_days": {1: 0.5, 15: 0.5}}),
                          subs, publish=lambda msg: None)
    group = bss.billing.group
    assert set(group.tolist()) == {0, 1}
    return bss, sim, np.array([int(np.flatnonzero(group == g)[0]) for g in (0, 1)])


def test_each_line_takes_its_groups_cycles(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    bss, _, (a, b) = two_groups(make_sim, default_catalog)
    billing = bss.billing
    assert billing.days == [1, 15] and billing.n_cycles == 3
    assert billing.B.tolist() == [[-4 * DAY, 27 * DAY, 55 * DAY, 86 * DAY],
                                  [-21 * DAY, 10 * DAY, 41 * DAY, 69 * DAY]]
    starts = np.array([-30 * DAY, 0.0, 10 * DAY - 1, 10 * DAY, 27 * DAY - 1, 27 * DAY,
                       41 * DAY, 55 * DAY, 200 * DAY])
    for sub, want in ((a, [0, 0, 0, 0, 0, 1, 1, 2, 2]), (b, [0, 0, 0, 1, 1, 1, 2, 2, 2])):
        got = billing.cycle_of(np.full(starts.size, sub), starts)
        assert got.tolist() == want
    mixed = billing.cycle_of(np.array([a, b, a, b]), np.array([10 * DAY] * 2 + [41 * DAY] * 2))
    assert mixed.tolist() == [0, 1, 1, 2]


def test_bill_runs_of_each_group_bill_their_own_cycles(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    """In 59 days, group 0 bills January and February an hour after each cycle ends, group
    1 its December–January and January–February cycles; the final run adds what is left
    (group 0's March and group 1's February–March, each to the horizon)."""
    bss, sim, (a, b) = two_groups(make_sim, default_catalog)
    sim.at_end(bss.finish)
    sim.run()
    billing = bss.billing
    assert billing.bill_time == [[27 * DAY + HOUR, 55 * DAY + HOUR, 59 * DAY],
                                 [10 * DAY + HOUR, 41 * DAY + HOUR, 59 * DAY]]
    assert billing.billed.tolist() == [3, 3]
    rows = pq.read_table(sim.records.directory / "invoices.parquet").to_pylist()
    periods = {(r["account"], r["billed_from"], r["billed_to"]) for r in rows}
    acc_a, acc_b = int(bss.subs.account[a]), int(bss.subs.account[b])
    assert {p[1:] for p in periods if p[0] == acc_a} == {
        (0.0, 27 * DAY), (27 * DAY, 55 * DAY), (55 * DAY, 59 * DAY)}
    assert {p[1:] for p in periods if p[0] == acc_b} == {
        (0.0, 10 * DAY), (10 * DAY, 41 * DAY), (41 * DAY, 59 * DAY)}
    # the recurring base of each cycle is what each line was billed for it
    fee = bss.prices.recurring[0]
    assert billing.recurring_base(0)[a] == round(fee * 27 / 31)  # 5 Jan – 1 Feb
    assert billing.recurring_base(0)[b] == round(fee * 10 / 31)  # 5 Jan – 15 Jan
    assert billing.recurring_base(1)[a] == billing.recurring_base(1)[b] == fee  # in full
    assert billing.recurring_base(7).tolist() == [0] * bss.subs.count


def test_a_line_that_leaves_is_billed_to_its_leaving_day(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    bss, sim, (a, _) = two_groups(make_sim, default_catalog, horizon=40 * DAY)
    bss.care.leaves[a] = 10 * DAY
    sim.at_end(bss.finish)
    sim.run()
    fee = bss.prices.recurring[0]
    assert bss.billing.recurring_base(0)[a] == round(fee * 10 / 31)  # 5 – 15 January
    assert bss.billing.recurring_base(1)[a] == 0
    assert bss.billing.totals["recurring_potential_minor"] > bss.billing.totals[
        "recurring_minor"]


def test_late_usage_goes_on_the_next_open_bill(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    bss, sim, (a, b) = two_groups(make_sim, default_catalog)
    billing = bss.billing
    sim.env.run(until=12 * DAY)  # group 1 billed its first cycle at 10 d 1 h
    assert billing.billed.tolist() == [0, 1]
    sub = np.array([a, b, b])
    posted = billing.add_usage_in(np.array([0, 0, 1]), sub, np.array([0, 1, 2]),
                                  np.array([5, 7, 11]))
    assert posted.tolist() == [0, 1, 1]  # b's cycle 0 is billed: its bill is cycle 1's
    assert (billing.late_records, billing.late_minor) == (1, 7)
    billing.add_usage_in(np.array([0]), np.array([b]), np.array([2]), np.array([13]))
    assert (billing.late_records, billing.late_minor) == (2, 20)
    assert billing.usage[0, a].tolist() == [5, 0, 0]
    assert billing.usage[1, b].tolist() == [0, 7, 11 + 13]
    assert billing.usage[0, b].tolist() == [0, 0, 0]
    # every real cycle billed: late usage goes on the last one
    billing.bill_time[1] += [41 * DAY, 60 * DAY]
    assert billing.add_usage_in(np.array([0]), np.array([b]), np.array([0]),
                                np.array([1])).tolist() == [2]


def test_usage_charged_elsewhere_is_not_posted(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    """Rows ``elsewhere`` marks (charged to a prepaid balance) go on no bill: posted -1,
    not added, not counted late, even of a billed cycle; the others as without them."""
    bss, sim, (a, b) = two_groups(make_sim, default_catalog)
    billing = bss.billing
    sim.env.run(until=12 * DAY)  # group 1 billed its first cycle
    posted = billing.add_usage_in(np.array([0, 0, 0, 1]), np.array([a, b, b, b]),
                                  np.array([0, 1, 2, 2]), np.array([5, 7, 11, 13]),
                                  elsewhere=np.array([True, True, False, False]))
    assert posted.tolist() == [-1, -1, 1, 1]
    assert (billing.late_records, billing.late_minor) == (1, 11)
    assert billing.usage[0, a].tolist() == [0, 0, 0]
    assert billing.usage[1, b].tolist() == [0, 0, 11 + 13]


def test_usage_is_too_late_once_its_bill_is_older_than_the_window(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    bss, sim, (a, b) = two_groups(make_sim, default_catalog)
    billing = bss.billing
    window = bss.spec.late_window
    sim.env.run(until=10 * DAY + HOUR + window)  # exactly the window after group 1's bill
    before = billing.write_off_before()
    assert isinstance(before, np.ndarray)
    assert (before[a], before[b]) == (-np.inf, -np.inf)
    sim.env.run(until=10 * DAY + HOUR + window + 1)
    before = billing.write_off_before()
    assert isinstance(before, np.ndarray)
    assert (before[a], before[b]) == (-np.inf, 10 * DAY)
    assert (before == np.where(billing.group == 1, 10 * DAY, -np.inf)).all()


def test_one_group_gives_one_write_off_instant(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    sim = make_sim(horizon=40 * DAY)
    subs = SubscriberBase(cells=("A",), offers=("consumer_postpaid",),
                          cell=np.zeros(3, np.int32), offer=np.zeros(3, np.int16),
                          account=np.arange(3, dtype=np.int32))
    bss = BusinessSupport(sim, BssSpec.model_validate({"catalog": default_catalog}), subs,
                          publish=lambda msg: None)
    assert bss.billing.write_off_before() == -np.inf
    sim.env.run(until=27 * DAY + HOUR + bss.spec.late_window + 1)
    assert bss.billing.write_off_before() == 27 * DAY


def test_an_activated_line_owes_its_offers_one_time_fee(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    bss, _, (a, _) = two_groups(make_sim, default_catalog)
    billing = bss.billing
    billing.one_time_due[a] = 0
    billing.fee_due(a)
    assert billing.one_time_due[a] == bss.prices.one_time[0] > 0


def test_a_late_outage_report_is_credited_on_what_was_billed(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    """An outage of January reported after January's bill run: the credit is a share of
    the recurring charge that bill carried (4500 × 27/31 = 3919; 30 % over 8 h: 1176)."""
    catalog = copy.deepcopy(default_catalog)
    catalog["offers"]["enterprise"]["recurring_fee"] = 4500
    catalog["offers"]["enterprise"]["sla"] = {
        "availability_target": 99.9, "cap_pct": 100,
        "credit_table": [{"over": "4h", "credit_pct": 20}, {"over": "8h", "credit_pct": 30}]}
    sim = make_sim(horizon=40 * DAY)
    subs = SubscriberBase(cells=("A", "B"), offers=("enterprise",),
                          cell=np.array([0, 0, 1], np.int32), offer=np.zeros(3, np.int16),
                          account=np.array([0, 0, 1], np.int32))
    bss = BusinessSupport(sim, BssSpec.model_validate({"catalog": catalog}), subs,
                          publish=lambda msg: None)
    sim.env.run(until=28 * DAY)
    assert bss.billing.recurring_base(0).tolist() == [3919, 3919, 3919]
    bss.on_outage(ServiceOutageReport(1, "A", 10 * DAY, 10 * DAY + 10 * HOUR))
    assert bss.billing.late_credit_minor == 2 * 1176


def test_each_group_bills_its_own_lines_usage_fees_and_credits(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    """Forty enterprise lines on one cell, billed on the 1st or the 15th, for 30 days from
    5 January; a 5-hour outage on 8 January (20 % credit). Usage of every kind posted to
    one line of each group, a one-time fee owed by one: each appears once, on its own
    line's bill of its own cycle; every line is credited once, on its group's first bill."""
    sim = make_sim(horizon=30 * DAY)
    n = 40
    subs = SubscriberBase(cells=("A",), offers=("enterprise",), cell=np.zeros(n, np.int32),
                          offer=np.zeros(n, np.int16), account=np.arange(n, dtype=np.int32))
    bss = BusinessSupport(sim, BssSpec.model_validate({"catalog": default_catalog,
                                                       "bill_cycle_days": {1: 0.5, 15: 0.5}}),
                          subs, publish=lambda msg: None)
    billing = bss.billing
    a, b = (int(np.flatnonzero(billing.group == g)[0]) for g in (0, 1))
    bss.on_outage(ServiceOutageReport(1, "A", 3 * DAY, 3 * DAY + 5 * HOUR))
    bss.on_outage(ServiceOutageReport(2, "A", 12 * DAY, 12 * DAY + 5 * HOUR))
    for sub, kind, start, charge in ((a, 0, DAY, 10), (a, 1, 2 * DAY, 20), (a, 2, 3 * DAY, 30),
                                     (b, 1, DAY, 40), (b, 2, 12 * DAY, 7)):
        billing.add_usage(np.array([sub]), np.array([kind], np.int8), np.array([start]),
                          np.array([charge], np.int64))
    billing.one_time_due[a] = 500
    sim.at_end(bss.finish)
    sim.run()
    tables = sim.records.directory
    lines = pq.read_table(tables / "invoice_lines.parquet").to_pylist()
    period = {0: [(0.0, 27 * DAY), (27 * DAY, 30 * DAY)], 1: [(0.0, 10 * DAY),
                                                                (10 * DAY, 30 * DAY)]}
    assert {(r["sub"], r["line_type"], r["amount_minor"], r["period_from"], r["period_to"])
            for r in lines if r["line_type"].startswith("usage") or r["line_type"] == "one_time"
            } == {(a, "usage_voice", 10, *period[0][0]), (a, "usage_data", 20, *period[0][0]),
                  (a, "usage_sms", 30, *period[0][0]), (a, "one_time", 500, *period[0][0]),
                  (b, "usage_data", 40, *period[1][0]), (b, "usage_sms", 7, *period[1][1])}
    # group 0's January has both outages (10 h: 30 %); group 1 has one in each cycle (20 %)
    due = {(s, k): pct for s in range(n) for k, pct in (
        ((0, 30.0),) if billing.group[s] == 0 else ((0, 20.0), (1, 20.0)))}
    credits = pq.read_table(tables / "sla_credits.parquet").to_pylist()
    starts = {0: [datetime(2026, 1, 1, tzinfo=UTC)],
              1: [datetime(2025, 12, 15, tzinfo=UTC), datetime(2026, 1, 15, tzinfo=UTC)]}
    got = {(c["sub"], starts[int(billing.group[c["sub"]])].index(c["cycle_start"])):
           (c["credit_pct"], c["base_minor"], c["credit_minor"]) for c in credits}
    assert len(credits) == len(got)  # one credit a line and cycle
    assert got == {(s, k): (pct, billing.recurring_base(k)[s],
                            round(billing.recurring_base(k)[s] * pct / 100))
                   for (s, k), pct in due.items()}
    assert got[(a, 0)][1] == round(4500 * 27 / 31) and got[(b, 0)][1] == round(4500 * 10 / 31)
    credit_lines = [(r["sub"], r["amount_minor"], r["period_from"], r["period_to"])
                    for r in lines if r["line_type"] == "sla_credit"]
    assert sorted(credit_lines) == sorted(
        (s, -got[(s, k)][2], *period[int(billing.group[s])][k]) for s, k in due)
    invoices = pq.read_table(tables / "invoices.parquet").to_pylist()
    assert sorted((r["account"], r["billed_from"], r["billed_to"]) for r in invoices) == sorted(
        (s, *p) for s in range(n) for p in period[int(billing.group[s])])
    assert billing.totals["recurring_minor"] == sum(r["recurring_minor"] for r in invoices)
    totals = billing.totals  # added up over every bill run
    assert totals["invoices"] == len(invoices)
    for total, column in (("usage_minor", "usage_minor"), ("one_time_minor", "one_time_minor"),
                          ("sla_credits_minor", "sla_credit_minor"),
                          ("discounts_minor", "discount_minor"), ("tax_minor", "tax_minor"),
                          ("net_billed_minor", "net_minor"), ("billed_minor", "total_minor")):
        assert totals[total] == sum(r[column] for r in invoices), total
    assert (totals["usage_minor"], totals["one_time_minor"]) == (107, 500)
    # what the fees would have been had nobody churned: every cycle of every line, summed
    churned = bss.care.leaves < 30 * DAY
    assert churned.any()
    parts = {0: (27 / 31, 3 / 28), 1: (10 / 31, 20 / 31)}  # of January, February; of 15 Jan
    assert billing.totals["recurring_potential_minor"] == sum(
        round(4500 * f) for s in range(n) for f in parts[int(billing.group[s])])


@pytest.mark.parametrize(("min_lines", "lines", "discounted"), [
    (1, 1, True), (3, 3, True), (3, 2, False)])
def test_volume_discount_from_the_accounts_lines_of_the_offer(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any], min_lines: int,
        lines: int, discounted: bool) -> None:
    """An account with ``lines`` lines of an offer discounting 10 % from ``min_lines`` and a
    line activated as its first cycle's billed part ends (it counts from the next cycle
    on); a second account of one line never qualifies (unless one line is enough). Two bill
    runs: 5 January – 1 February (27 of 31 days billed), 1 – 10 February."""
    catalog = copy.deepcopy(default_catalog)
    catalog["offers"]["consumer_postpaid"]["discount"] = {"min_lines": min_lines, "pct": 10}
    sim = make_sim(horizon=36 * DAY)
    account = np.array([0] * (lines + 1) + [1], dtype=np.int32)
    subs = SubscriberBase(cells=("A",), offers=("consumer_postpaid",),
                          cell=np.zeros(account.size, np.int32),
                          offer=np.zeros(account.size, np.int16), account=account)
    bss = BusinessSupport(sim, BssSpec.model_validate({"catalog": catalog, "care": {
        "churn_base_monthly": 0, "churn_per_outage_hour": 0}}), subs,
                          publish=lambda msg: None)
    late = lines  # the account's extra line, active from the first cycle's end on
    bss.lines.active_from[late] = bss.lines.bill_from[late] = 27 * DAY
    sim.at_end(bss.finish)
    sim.run()
    rows = pq.read_table(sim.records.directory / "invoice_lines.parquet").to_pylist()
    first = {r["sub"]: r["amount_minor"] for r in rows
             if r["line_type"] == "discount" and r["period_from"] == 0}
    fee = round(1680 * 27 / 31)
    want = {s: -round(fee * 0.1) for s in range(lines)} if discounted else {}
    if min_lines == 1:
        want[lines + 1] = -round(fee * 0.1)
    assert first == want
    second = {r["sub"] for r in rows
              if r["line_type"] == "discount" and r["period_from"] == 27 * DAY}
    assert late in second  # counted once active
    assert bss.billing.totals["discounts_minor"] == -sum(
        r["amount_minor"] for r in rows if r["line_type"] == "discount")


def test_an_invoice_row_and_its_lines_column_by_column(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    """A week from 5 January, one bill run (the final one) for cycle 1 Jan – 1 Feb:

    * account 0: a prepaid line (its first, in the south) and a postpaid one: an invoice
      of type prepaid in the south, the postpaid fee 1680 × 7/31 = 379, no line for the
      prepaid line's zero fee;
    * account 1: a prepaid line with nothing to bill: no invoice;
    * account 2: a prepaid line owing a one-time fee of 500: an invoice for it alone;
    * account 3: a postpaid line activated at the very end of the billed week: not billed;
    * account 4: a prepaid line owing 5: an invoice with a tax of 1;
    * account 5: a postpaid line never activated: no invoice.
    """
    sim = make_sim(horizon=7 * DAY)
    subs = SubscriberBase(cells=("A", "B"), offers=("consumer_postpaid", "consumer_prepaid"),
                          cell=np.array([1, 0, 0, 0, 0, 0, 0], np.int32),
                          offer=np.array([1, 0, 1, 1, 0, 1, 0], np.int16),
                          account=np.array([0, 0, 1, 2, 3, 4, 5], np.int32),
                          cell_region=("north", "south"))
    spec = BssSpec.model_validate({"catalog": default_catalog, "care": {
        "churn_base_monthly": 0, "churn_per_outage_hour": 0}})
    bss = BusinessSupport(sim, spec, subs, publish=lambda msg: None)
    bss.billing.one_time_due[3] = 500
    bss.billing.one_time_due[4] = 500
    bss.billing.one_time_due[5] = 5
    bss.lines.active_from[4] = bss.lines.bill_from[4] = 7 * DAY
    bss.lines.active_from[6] = bss.lines.bill_from[6] = np.inf  # never activated
    sim.at_end(bss.finish)
    sim.run()
    tables = sim.records.directory
    invoices = pq.read_table(tables / "invoices.parquet").to_pylist()
    vat = default_catalog["vat_pct"]
    tax = [int(percent_of(np.array([n]), vat)[0]) for n in (379, 500, 5)]
    assert tax[2] == 1
    jan1, feb1 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    common = {"cycle_start": jan1, "cycle_end": feb1, "billed_from": 0.0,
              "billed_to": 7 * DAY, "bill_run": 7 * DAY, "discount_minor": 0, "usage_minor": 0,
              "sla_credit_minor": 0, "currency": "EUR", "bill_cycle_day": 1, "bill_cycle": 0}
    assert invoices == [
        {"invoice_id": 1, "account": 0, "account_type": "prepaid", "recurring_minor": 379,
         "one_time_minor": 0, "net_minor": 379, "tax_minor": tax[0],
         "total_minor": 379 + tax[0], "region": "south", **common},
        {"invoice_id": 2, "account": 2, "account_type": "prepaid", "recurring_minor": 0,
         "one_time_minor": 500, "net_minor": 500, "tax_minor": tax[1],
         "total_minor": 500 + tax[1], "region": "north", **common},
        {"invoice_id": 3, "account": 4, "account_type": "prepaid", "recurring_minor": 0,
         "one_time_minor": 5, "net_minor": 5, "tax_minor": 1, "total_minor": 6,
         "region": "north", **common}]
    lines = pq.read_table(tables / "invoice_lines.parquet").to_pylist()
    assert [(r["invoice_id"], r["account"], r["sub"], r["offer"], r["line_type"],
             r["amount_minor"], r["period_from"], r["period_to"]) for r in lines] == [
        (1, 0, 1, "consumer_postpaid", "recurring", 379, 0.0, 7 * DAY),
        (2, 2, 3, "consumer_prepaid", "one_time", 500, 0.0, 7 * DAY),
        (3, 4, 5, "consumer_prepaid", "one_time", 5, 0.0, 7 * DAY),
        (1, 0, -1, "", "tax", tax[0], 0.0, 7 * DAY),
        (2, 2, -1, "", "tax", tax[1], 0.0, 7 * DAY),
        (3, 4, -1, "", "tax", 1, 0.0, 7 * DAY)]
    assert bss.billing.totals == {
        "invoices": 3, "billed_minor": 884 + sum(tax), "recurring_minor": 379,
        "usage_minor": 0, "sla_credits_minor": 0, "one_time_minor": 505,
        "discounts_minor": 0, "net_billed_minor": 884, "tax_minor": sum(tax),
        "recurring_potential_minor": 379}


def test_a_groups_padding_is_never_billed(make_sim: Callable[..., Sim],
                                          default_catalog: dict[str, Any]) -> None:
    """45 days: the group of the 1st has two cycles (January, February to the horizon), the
    group of the 15th three; the first group's third cycle is padding, billed by nobody."""
    bss, sim, (a, b) = two_groups(make_sim, default_catalog, horizon=45 * DAY)
    assert bss.billing.B[0].tolist() == [-4 * DAY, 27 * DAY, 55 * DAY, 55 * DAY]
    sim.at_end(bss.finish)
    sim.run()
    assert bss.billing.billed.tolist() == [2, 3]
    rows = pq.read_table(sim.records.directory / "invoices.parquet").to_pylist()
    mine = sorted((r["billed_from"], r["billed_to"]) for r in rows
                  if r["account"] == bss.subs.account[a])
    assert mine == [(0.0, 27 * DAY), (27 * DAY, 45 * DAY)]
    assert len([r for r in rows if r["account"] == bss.subs.account[b]]) == 3
