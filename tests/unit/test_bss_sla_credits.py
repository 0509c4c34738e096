"""SLA credits of a few lines driven by hand: outages as the OSS reports them, the credit per
bill cycle, a late report raising an already billed cycle's credit, announced maintenance.

Numbers worked out on paper: cycles of 100 000 s, a 99 % target (1 000 s of outage allowed),
credit 10 % over 1 000 s and 50 % over 5 000 s (capped at 40 %), a recurring base of 1 000
minor units per cycle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from twin.bss.sla import SlaCredits, credit_pct, merged_seconds
from twin.kernel import Sim
from twin.messages import PlannedMaintenanceNotice, ServiceOutageReport, SubscriberBase
from twin.scenario.schema import SlaSpec

CYCLE = 100_000.0
SLA = SlaSpec.model_validate({
    "availability_target": 99.0, "cap_pct": 40,
    "credit_table": [{"over": 1000, "credit_pct": 10}, {"over": 5000, "credit_pct": 50}]})
BASE = np.full(4, 1000, dtype=np.int64)


def base(k: int) -> Any:
    return BASE


@pytest.fixture
def credits(make_sim: Callable[..., Sim]) -> SlaCredits:
    """Lines 0 and 1 on cell a, line 2 on cell b (all with the SLA); line 3 on cell a without."""
    subs = SubscriberBase(cells=("a", "b"), offers=("sla", "plain"),
                          cell=np.array([0, 0, 1, 0], dtype=np.int32),
                          offer=np.array([0, 0, 0, 1], dtype=np.int16),
                          account=np.array([0, 0, 1, 2], dtype=np.int32))
    return SlaCredits(make_sim(horizon=3 * CYCLE), subs, [SLA, None], [0.0, CYCLE, 2 * CYCLE,
                                                                        3 * CYCLE])


def outage(c: SlaCredits, cell: str, start: float, end: float, billed: int = 0) -> None:
    c.on_outage(ServiceOutageReport(1, cell, start, end), billed, base)


def test_credit_steps_and_cap() -> None:
    assert credit_pct(SLA, 1000.0, CYCLE) == (99.0, 0.0)  # exactly at the target: no credit
    assert credit_pct(SLA, 1001.0, CYCLE)[1] == 10.0
    assert credit_pct(SLA, 5000.0, CYCLE)[1] == 10.0  # "over" is strict
    assert credit_pct(SLA, 5001.0, CYCLE)[1] == 40.0  # 50 % capped at 40 %
    assert credit_pct(SLA, 0.0, 0.0) == (100.0, 0.0)
    assert merged_seconds([(0, 10), (5, 20), (30, 40), (35, 36)], 0, 100) == 30.0
    assert merged_seconds([(0, 10), (5, 20)], 8, 12) == 4.0
    assert merged_seconds([(0, 10), (10, 20)], 0, 100) == 20.0
    assert merged_seconds([(50, 60)], 0, 50) == 0.0
    assert merged_seconds([(10, 20), (30, 40), (50, 55), (52, 60)], 0, 100) == 30.0
    assert merged_seconds([(0, 5), (10, 20)], 8, 100) == 10.0  # the first falls before lo
    # no credit exactly at the target, even under a table that credits any outage
    first_second = SlaSpec.model_validate({"availability_target": 99.0,
                                           "credit_table": [{"over": 0, "credit_pct": 5}]})
    assert credit_pct(first_second, 1000.0, CYCLE) == (99.0, 0.0)
    assert credit_pct(first_second, 1000.5, CYCLE)[1] == 5.0
    assert credit_pct(SLA, 0.5, 1.0) == (50.0, 0.0)  # a line billed for one second


def test_credits_for_some_lines_leave_the_others_pending(credits: SlaCredits) -> None:
    """A bill run of one bill-cycle group: only its lines are credited and cleared; the
    others keep their pending adjustments for their own bill. Credits are minor units."""
    outage(credits, "a", 50_000, 57_000, billed=1)  # late for cycle 0: 40 % on lines 0, 1
    outage(credits, "a", 110_000, 112_000)  # cycle 1: 10 % on lines 0, 1
    assert credits.pending.tolist() == [400, 400, 0, 0]
    got = credits.credits(1, BASE, lines=np.array([False, True, True, False]))
    assert got.dtype == np.int64
    assert got.tolist() == [0, 500, 0, 0]
    assert credits.pending.tolist() == [400, 0, 0, 0]
    assert (1, 0) not in credits.rows and credits.rows[(1, 1)]["credit_minor"] == 100


def test_credits_per_cycle_from_the_outages_on_the_line_cell(credits: SlaCredits) -> None:
    outage(credits, "a", 10_000, 12_000)  # 2 000 s: 10 %
    outage(credits, "a", 11_000, 13_500)  # overlaps: 3 500 s in all, still 10 %
    outage(credits, "b", 99_000, 106_000)  # 1 000 s in cycle 0, 6 000 s in cycle 1
    first = credits.credits(0, BASE)
    assert first.tolist() == [100, 100, 0, 0]  # the line without an SLA gets nothing
    assert credits.rows[(0, 0)]["outage_s"] == 3500.0
    assert credits.rows[(0, 0)]["availability_pct"] == pytest.approx(96.5)
    second = credits.credits(1, BASE)
    assert second.tolist() == [0, 0, 400, 0]  # 6 000 s: the 50 % step, capped at 40 %
    row = credits.rows[(0, 2)]  # 1 000 s is within the target: a row, no credit
    assert (row["outage_s"], row["credit_pct"], row["credit_minor"]) == (1000.0, 0.0, 0)
    assert (1, 0) not in credits.rows  # no outage on cell a in cycle 1
    assert credits.late_minor == 0


def test_a_late_outage_raises_the_billed_cycle_credit_on_the_next_bill(
        credits: SlaCredits) -> None:
    outage(credits, "a", 10_000, 12_000)
    assert credits.credits(0, BASE).tolist() == [100, 100, 0, 0]
    # reported after cycle 0 was billed: cycle 0 now has 7 000 s, 40 % instead of 10 %
    outage(credits, "a", 50_000, 55_000, billed=1)
    assert credits.late_minor == 2 * 300
    assert credits.pending.tolist() == [300, 300, 0, 0]
    assert credits.rows[(0, 0)]["credit_minor"] == 400
    # the adjustment goes on the next bill with that cycle's own credit (none), once
    assert credits.credits(1, BASE).tolist() == [300, 300, 0, 0]
    assert credits.credits(2, BASE).tolist() == [0, 0, 0, 0]


def test_a_late_outage_of_an_unbilled_cycle_or_another_cell_adjusts_nothing(
        credits: SlaCredits) -> None:
    outage(credits, "a", 150_000, 160_000, billed=1)  # in cycle 1, not billed yet
    outage(credits, "b", 1_000, 1_500, billed=1)  # billed cycle, within the target
    assert credits.late_minor == 0 and not credits.pending.any()
    outage(credits, "b", 2_000, 9_000, billed=2)  # cycle 0 of cell b: 7 500 s, 40 %
    assert credits.pending.tolist() == [0, 0, 400, 0]
    # spanning cycles 0 and 1 when both were billed: each cycle assessed on its own
    outage(credits, "a", 95_000, 101_500, billed=2)  # 5 000 s in cycle 0 (10 %); with the
    assert credits.pending.tolist() == [500, 500, 400, 0]  # first, 11 500 s in 1 (40 %)
    assert credits.rows[(0, 0)]["credit_minor"] == 100
    assert credits.rows[(1, 0)]["credit_minor"] == 400
    assert credits.late_minor == 400 + 2 * (100 + 400)


def test_announced_maintenance_is_excluded_and_written(credits: SlaCredits,
                                                        tmp_path: Any) -> None:
    credits.on_maintenance(PlannedMaintenanceNotice(1, ("a",), 20_000, 24_000, 0.0))
    outage(credits, "a", 20_000, 24_500)  # 4 000 s announced, a 500 s overrun counts
    outage(credits, "b", 20_000, 24_500)  # cell b was not announced: 4 500 s count
    assert credits.credits(0, BASE).tolist() == [0, 0, 100, 0]
    assert credits.planned == {"a": [(20_000, 24_000)]}
    credits.write()
    credits.sim.records.close()
    rows = pq.read_table(tmp_path / "tables" / "sla_credits.parquet").to_pylist()
    assert [(r["sub"], r["account"], r["credit_minor"], r["outage_s"]) for r in rows] == [
        (0, 0, 0, 500.0), (1, 0, 0, 500.0), (2, 1, 100, 4500.0)]


def test_late_outages_are_assessed_in_every_billed_cycle_they_touch(
        credits: SlaCredits) -> None:
    """Cycles 0 and 1 billed: an outage only in cycle 1 adjusts cycle 1 (cycle 0 untouched);
    one whose cycle-0 part is announced maintenance adjusts only its cycle-1 part."""
    outage(credits, "b", 120_000, 127_000, billed=2)  # 7 000 s in cycle 1: 40 %
    assert credits.pending.tolist() == [0, 0, 400, 0]
    credits.on_maintenance(PlannedMaintenanceNotice(1, ("a",), 90_000, 100_000, 0.0))
    outage(credits, "a", 95_000, 101_500, billed=2)  # cycle 0: all announced; cycle 1: 1 500 s
    assert (0, 0) not in credits.rows
    assert credits.pending.tolist() == [100, 100, 400, 0]


def test_even_a_one_second_outage_is_recorded(credits: SlaCredits) -> None:
    outage(credits, "b", 250_000, 250_001)
    assert credits.credits(2, BASE).tolist() == [0, 0, 0, 0]
    assert credits.rows[(2, 2)]["outage_s"] == 1.0
    assert credits.rows[(2, 2)]["availability_pct"] == pytest.approx(99.999)


def test_bill_cycle_groups_are_billed_apart(make_sim: Callable[..., Sim]) -> None:
    """Two groups whose cycles are offset by half a cycle; only group 1 has billed its first
    cycle: a late outage adjusts its line only."""
    subs = SubscriberBase(cells=("a",), offers=("sla",), cell=np.zeros(2, dtype=np.int32),
                          offer=np.zeros(2, dtype=np.int16),
                          account=np.array([0, 1], dtype=np.int32))
    half = CYCLE / 2
    c = SlaCredits(make_sim(horizon=3 * CYCLE), subs, [SLA],
                   [[0.0, CYCLE, 2 * CYCLE, 3 * CYCLE], [0.0, half, half + CYCLE, 3 * CYCLE]],
                   group=np.array([0, 1], dtype=np.int64))
    c.on_outage(ServiceOutageReport(1, "a", 10_000, 12_000), np.array([0, 1]),
                lambda k: BASE[:2])
    assert c.pending.tolist() == [0, 100]
