"""KPIs from PM counters: per cell, site, region, network and service, per period and run;
groups are ratios of summed counters, never averages of ratios."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from twin.kernel import Sim
from twin.messages import ElementInfo, InventorySnapshot, PmReport
from twin.oss import kpis as kpis_module
from twin.oss.inventory import Inventory
from twin.oss.kpis import KpiBook

P = 900.0
START = datetime(2026, 1, 5, tzinfo=UTC)
CELLS = ("a1", "a2", "b1", "c1")  # sites A (a1, a2) and B in region r1, site C in r2


def report(t0: float, **counters: list[float]) -> PmReport:
    base = {"calls_attempted": [0] * 4, "calls_blocked": [0] * 4, "calls_failed": [0] * 4,
            "calls_dropped": [0] * 4, "traffic_erlang": [0.0] * 4,
            "sessions_attempted": [0] * 4, "sms_attempted": [0] * 4, "data_mb": [0.0] * 4,
            "available_s": [P] * 4, "throughput_factor": [1.0] * 4}
    base.update(counters)
    return PmReport(t0, P, "cell", CELLS, {k: np.asarray(v, dtype=float)
                                          for k, v in base.items()})


@pytest.fixture
def book(make_sim: Callable[..., Sim]) -> KpiBook:
    b = KpiBook(make_sim())
    els = [ElementInfo("a1", "cell", "A", "v", "r1"), ElementInfo("a2", "cell", "A", "v", "r1"),
           ElementInfo("b1", "cell", "B", "v", "r1"), ElementInfo("c1", "cell", "C", "v", "r2")]
    b.inventory = Inventory(InventorySnapshot(tuple(els), ()))
    return b


def rows(b: KpiBook, name: str) -> dict[tuple[str, str], dict[str, Any]]:
    b.flush()  # the rows of periods not yet written
    b.sim.records.close()
    return {(r["level"], r["object"]): r
            for r in pq.read_table(b.sim.records.directory / f"{name}.parquet").to_pylist()}


def test_groups_are_ratios_of_summed_counters(book: KpiBook) -> None:
    # a1 busy and fine, a2 quiet and failing every call: site A's CSSR is 990/1010, not 49.5 %
    book.on_report(report(0.0, calls_attempted=[1000, 10, 100, 50],
                          calls_failed=[10, 10, 0, 0], calls_blocked=[0, 0, 20, 0],
                          calls_dropped=[99, 0, 8, 1], traffic_erlang=[10.0, 0.1, 2.0, 1.0],
                          data_mb=[900.0, 100.0, 0.0, 450.0],
                          throughput_factor=[0.5, 1.0, 1.0, 1.0],
                          available_s=[P, P / 3, P, P]))
    r = rows(book, "kpis")
    a1, a2, site_a = r[("cell", "a1")], r[("cell", "a2")], r[("site", "A")]
    assert (a1["cssr"], a2["cssr"]) == (0.99, 0.0)
    assert site_a["cssr"] == pytest.approx(990 / 1010)
    assert site_a["cssr"] != pytest.approx((a1["cssr"] + a2["cssr"]) / 2)
    assert site_a["drop_rate"] == pytest.approx(99 / 990)
    assert site_a["availability"] == pytest.approx((P + P / 3) / (2 * P))
    assert site_a["calls_attempted"] == 1010 and site_a["cells"] == 2
    assert site_a["traffic_erlang"] == pytest.approx(10.1)
    assert site_a["throughput_mbps"] == pytest.approx(1000 * 8 / P)
    assert site_a["user_throughput"] == pytest.approx((0.5 * 900 + 100) / 1000)  # by volume
    b1 = r[("cell", "b1")]
    assert (b1["blocking"], b1["cssr"], b1["drop_rate"]) == (0.2, 0.8, 0.1)
    assert b1["user_throughput"] is None or np.isnan(b1["user_throughput"])  # no data
    region = r[("region", "r1")]
    assert region["cssr"] == pytest.approx((1000 - 10 + 10 - 10 + 100 - 20) / 1110)
    assert region["blocking"] == pytest.approx(20 / 1110)
    net = r[("network", "network")]
    assert net["calls_attempted"] == 1160 and net["cells"] == 4
    assert net["availability"] == pytest.approx((3 * P + P / 3) / (4 * P))
    voice, data = r[("service", "voice")], r[("service", "data")]
    assert voice["cssr"] == net["cssr"] and voice["data_mb"] == 0
    assert data["throughput_mbps"] == net["throughput_mbps"] and data["calls_attempted"] == 0
    assert data["cssr"] is None or np.isnan(data["cssr"])


def test_rows_alike_however_many_periods_are_computed_together(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows of several periods computed at once (up to a number of cells × periods,
    and never across a change of period length) are those of each period on its own, in
    the periods' order."""
    rng = np.random.default_rng(3)
    reports = [PmReport(i * P, P if i < 5 else P / 2, "cell", CELLS, {
        "calls_attempted": rng.integers(0, 500, 4).astype(float),
        "calls_blocked": rng.integers(0, 5, 4).astype(float),
        "calls_failed": rng.integers(0, 5, 4).astype(float),
        "calls_dropped": rng.integers(0, 5, 4).astype(float),
        "traffic_erlang": rng.random(4) * 9, "sessions_attempted": rng.integers(0, 99, 4) * 1.0,
        "sms_attempted": rng.integers(0, 99, 4) * 1.0, "data_mb": rng.random(4) * 500,
        "available_s": np.where(rng.random(4) < 0.2, P / 3, P),
        "throughput_factor": rng.random(4)}) for i in range(7)]
    tables = []
    for cells in (1, 8, 12, 1 << 17):  # a period at a time, two, three, all at once
        monkeypatch.setattr(kpis_module, "_BATCH_CELLS", cells)
        (tmp_path / f"t{cells}").mkdir()
        b = KpiBook(Sim.create(START, 86_400.0, 1, tmp_path / f"t{cells}"))
        for r in reports:
            b.on_report(r)
        b.write()
        b.sim.records.close()
        tables.append(pq.read_table(tmp_path / f"t{cells}" / "kpis.parquet").to_pandas())
    for t in tables[1:]:  # value for value (a NaN where the other has one)
        pd.testing.assert_frame_equal(t, tables[0], check_exact=True)
    starts = tables[0]["period_start"]
    assert starts.is_monotonic_increasing and starts.nunique() == 7
    assert set(tables[0].loc[starts >= 5 * P, "period_s"]) == {P / 2}


def test_run_kpis_sum_every_period(book: KpiBook) -> None:
    book.on_report(report(0.0, calls_attempted=[100, 0, 0, 0], calls_failed=[0, 0, 0, 0],
                          available_s=[P, P, P, 0.0]))
    book.on_report(report(P, calls_attempted=[300, 0, 0, 0], calls_failed=[60, 0, 0, 0],
                          available_s=[P, P, P, P / 2]))
    book.write()
    r = rows(book, "kpis_run")
    a1, c1 = r[("cell", "a1")], r[("cell", "c1")]
    assert a1["cssr"] == pytest.approx(340 / 400)  # not (1.0 + 0.8) / 2
    assert (a1["start"], a1["end"], a1["observed_s"]) == (0.0, 2 * P, 2 * P)
    assert c1["availability"] == pytest.approx(0.25)
    assert c1["cssr"] is None or np.isnan(c1["cssr"])  # no attempts: no ratio
    summary = book.summary()
    assert summary["kpi_cssr"] == pytest.approx(0.85)
    assert summary["kpi_availability"] == pytest.approx((2 * 3 * P + P / 2) / (8 * P))


def test_rows_of_earlier_cells_are_computed_with_their_groups(tmp_path: Path) -> None:
    """Rows are computed later, on the table's writer: periods reported before the cells
    changed keep the groups of their cells (and the rows a book given only them writes)."""
    def cells_report(t0: float, cells: tuple[str, ...], calls: float) -> PmReport:
        n = len(cells)
        return PmReport(t0, P, "cell", cells, {
            **{k: np.full(n, calls) for k in ("calls_attempted", "sessions_attempted",
                                              "sms_attempted")},
            **{k: np.zeros(n) for k in ("calls_blocked", "calls_failed", "calls_dropped",
                                        "traffic_erlang", "data_mb")},
            "available_s": np.full(n, P), "throughput_factor": np.ones(n)})

    few, more = CELLS[:2], CELLS
    first = [cells_report(i * P, few, 10.0 + i) for i in range(3)]
    then = [cells_report((3 + i) * P, more, 20.0 + i) for i in range(3)]
    tables = {}
    for name, reports in (("both", first + then), ("first", first), ("then", then)):
        (tmp_path / name).mkdir()
        b = KpiBook(Sim.create(START, 86_400.0, 1, tmp_path / name))
        for r in reports:
            b.on_report(r)
        b.flush()
        b.sim.records.close()
        tables[name] = pq.read_table(tmp_path / name / "kpis.parquet").to_pandas()
    alone = pd.concat([tables["first"], tables["then"]], ignore_index=True)
    pd.testing.assert_frame_equal(tables["both"], alone, check_exact=True)
    assert set(tables["both"].loc[tables["both"]["period_start"] < 3 * P, "object"]) >= set(few)
