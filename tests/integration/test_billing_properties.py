"""Property: whatever the timing of orders, activations and bill runs, every run's books
balance — every invoice line on one invoice, every invoice its lines plus tax, every one-time
fee billed once, every rated record on a bill or a balance (``twin/analysis/ledger.py``).

Hypothesis draws the bill cycle day(s), a start a little before a cycle ends (so a bill run
falls inside the run, an hour after the cycle's end), the order rate, the provisioning time
and the OSS→BSS latency — the timings that once left connection fees on no invoice. The
run fails (``ReconciliationError``) if any identity breaks; the test also checks the two
that matter most from the tables themselves.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import twin

CI = settings.get_profile("ci")


@st.composite
def timings(draw: st.DrawFn) -> dict[str, Any]:
    day = draw(st.integers(1, 28))
    other = draw(st.none() | st.integers(1, 28).filter(lambda d: d != day))
    month = draw(st.sampled_from([1, 2, 3]))
    before_h = draw(st.integers(0, 60))  # the start, this long before the cycle ends
    start = datetime(2026, month, day, tzinfo=UTC) - timedelta(hours=before_h)
    return {
        "seed": draw(st.integers(0, 2**31 - 1)),
        "start": start.isoformat().replace("+00:00", "Z"),
        "duration": f"{draw(st.integers(before_h + 2, before_h + 48))}h",
        "bss": {
            "bill_cycle_day": day,
            "bill_cycle_days": {day: 0.5, other: 0.5} if other else {},
            "integration_latency_s": draw(st.sampled_from([0, 30, 600, 3600, 5400])),
            "new_lines_share": draw(st.sampled_from([0.0, 0.2])),
            "orders": {"new_lines_per_day": draw(st.sampled_from([20, 60, 150])),
                       "changes_monthly": draw(st.sampled_from([0.0, 0.5])),
                       "change_to": {"consumer_postpaid": "consumer_postpaid_l"}},
        },
        "oss": {"provisioning": {"processing_mean":
                                 draw(st.sampled_from(["1m", "20m", "2h", "6h"]))}},
    }


@settings(CI, max_examples=30)
@given(t=timings())
def test_books_balance_whatever_the_order_and_cycle_timings(
        t: dict[str, Any], default_catalog: dict[str, Any], tmp_path_factory: Any) -> None:
    sc = {"name": "timings", "description": "Orders around bill runs.",
          "network": {"preset": "small", "sites": 3, "sites_per_chain": 3,
                      "cells_per_site": 1, "transport": "tree"},
          "subscribers": {"count": 40}, **t,
          "bss": {"catalog": copy.deepcopy(default_catalog), **t["bss"]}}
    out: Path = tmp_path_factory.mktemp("timings") / "run"
    run = twin.simulate(sc, out=out, report=False)  # raises if an identity breaks
    assert run.summary["reconciliation"]["identity_holds"] is True
    orphans = run.sql("SELECT count(*) AS n FROM invoice_lines WHERE invoice_id NOT IN "
                      "(SELECT invoice_id FROM invoices)")["n"].iloc[0]
    assert orphans == 0
    fees = {o: v.get("one_time_fee", 0) for o, v in default_catalog["offers"].items()}
    owed = run.sql("""
        SELECT s.offer FROM subscriptions s WHERE s.new_line AND NOT EXISTS (
            SELECT 1 FROM product_orders o WHERE o.sub = s.sub AND o.action = 'add'
            AND o.state <> 'completed')""")["offer"].map(fees).sum()
    assert run.summary["bss"]["one_time_minor"] == int(owed)
