"""Invoices: late usage within the window goes on the next bill, older late usage is written
off; one-time fees on the first bill only; volume discounts; VAT per invoice."""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from twin.bss import BusinessSupport
from twin.kernel import Sim
from twin.messages import SubscriberBase, UsageBatch

DAY, HOUR = 86_400.0, 3_600.0
FEB_1 = 27 * DAY  # the runs start on Monday 5 January; January's cycle ends on 1 February


def catalog(base: dict[str, Any]) -> dict[str, Any]:
    c = copy.deepcopy(base)
    c["vat_pct"] = 19
    post = c["offers"]["consumer_postpaid"]
    post.update(recurring_fee=3100, one_time_fee=2000, allowances={})
    post["voice"] = {"increment": 60, "price": 10}
    c["offers"]["enterprise"].update(recurring_fee=1000, discount={"min_lines": 3, "pct": 10})
    return c


def voice(record_id: int, sub: int, start: float, seconds: int = 60) -> UsageBatch:
    return UsageBatch({
        "record_id": np.array([record_id], dtype=np.int64),
        "node_id": np.array([1], dtype=np.int64), "sub": np.array([sub], dtype=np.int64),
        "kind": np.array([0], dtype=np.int8), "start": np.array([start]),
        "duration_s": np.array([seconds], dtype=np.int64),
        "volume_bytes": np.array([0], dtype=np.int64), "cause": np.array([0], dtype=np.int8)})


@pytest.fixture
def run(make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> Callable[..., Any]:
    """Run a BSS over 40 days with a feed of (arrival time, batch), return the tables."""

    def go(feed: list[tuple[float, UsageBatch]], subs: SubscriberBase,
           **bss: Any) -> tuple[BusinessSupport, dict[str, list[dict[str, Any]]]]:
        from twin.scenario.schema import BssSpec

        sim = make_sim(horizon=40 * DAY)
        b = BusinessSupport(sim, BssSpec.model_validate(
            {"catalog": catalog(default_catalog), "mediation": {"mode": "streaming"}, **bss}),
            subs)

        def send() -> Generator[Any, None, None]:
            for at, batch in feed:
                yield sim.env.timeout(at - sim.now)
                b.on_usage(batch)

        sim.env.process(send())
        sim.at_end(b.finish)
        sim.run()
        tables = {n: pq.read_table(sim.records.directory / f"{n}.parquet").to_pylist()
                  for n in ("invoices", "invoice_lines", "cdrs", "rated")}
        return b, tables

    return go


def one_line(offer: int = 0, n: int = 1, accounts: list[int] | None = None) -> SubscriberBase:
    return SubscriberBase(cells=("A",), offers=("consumer_postpaid", "enterprise"),
                          cell=np.zeros(n, dtype=np.int32),
                          offer=np.full(n, offer, dtype=np.int16),
                          account=np.array(accounts or list(range(n)), dtype=np.int32))


def test_late_usage_within_the_window_goes_on_the_next_bill_older_is_written_off(
        run: Callable[..., Any]) -> None:
    feed = [
        (26 * DAY, voice(1, 0, 26 * DAY - 100)),           # on time: January's bill
        (FEB_1 + 2 * HOUR, voice(2, 0, 26.5 * DAY)),       # January's, after its bill run
        (FEB_1 + 1 * HOUR + 3 * DAY, voice(3, 0, 26.7 * DAY)),  # 3 days after: too late
        (FEB_1 + 4 * DAY, voice(4, 0, FEB_1 + 3 * DAY)),   # February's, on time
    ]
    bss, t = run(feed, one_line(), late_window="2d")
    jan, feb = sorted(t["invoices"], key=lambda r: r["bill_run"])
    assert jan["bill_run"] == FEB_1 + HOUR
    assert jan["usage_minor"] == 10
    assert feb["usage_minor"] == 10 + 10  # the late January call rides on February's bill
    assert bss.billing.late_records == 1 and bss.billing.late_minor == 10
    by_id = {r["record_id"]: r for r in t["cdrs"]}
    assert (by_id[3]["state"], by_id[3]["reason"]) == ("rejected", "too late")
    assert bss.mediation.too_late == 1 and bss.mediation.rejected == 0
    assert sorted(r["record_id"] for r in t["rated"]) == [1, 2, 4]


def test_one_time_fee_on_the_first_bill_and_vat_per_invoice(run: Callable[..., Any]) -> None:
    bss, t = run([], one_line(n=2), new_lines_share=1.0)
    jan, feb = (sorted((r for r in t["invoices"] if r["account"] == 0),
                       key=lambda r: r["bill_run"]))
    # January: 27 of 31 days of 31.00 = 27.00, plus the 20.00 one-time fee
    assert (jan["recurring_minor"], jan["one_time_minor"]) == (2700, 2000)
    assert jan["tax_minor"] == round(0.19 * 4700) and jan["total_minor"] == 4700 + 893
    # February (28 days): 13 of them billed = 14.39…; no one-time fee again
    assert (feb["recurring_minor"], feb["one_time_minor"]) == (1439, 0)
    assert feb["tax_minor"] == 273  # 273.41
    assert bss.billing.totals["one_time_minor"] == 2 * 2000


def test_volume_discount_for_accounts_with_enough_lines(run: Callable[..., Any]) -> None:
    # three enterprise lines in account 0 (discounted), two in account 1 (not)
    _, t = run([], one_line(offer=1, n=5, accounts=[0, 0, 0, 1, 1]))
    lines = [r for r in t["invoice_lines"] if r["line_type"] == "discount"]
    assert sorted(r["sub"] for r in lines) == [0, 0, 1, 1, 2, 2]  # two cycles
    jan = [r for r in lines if r["amount_minor"] == -87]  # 10 % of 871 (27/31 of 10.00)
    assert len(jan) == 3
    inv = {(r["account"], r["bill_run"]): r for r in t["invoices"]}
    first = inv[(0, FEB_1 + HOUR)]
    assert first["discount_minor"] == 3 * 87
    assert first["net_minor"] == 3 * 871 - 3 * 87
    assert inv[(1, FEB_1 + HOUR)]["discount_minor"] == 0
