"""Order to activation to cash: product orders → service orders → network activation.

One run of ``scenarios/order_to_cash.yaml``: new lines ordered all along, upgrades, churn
notices as cancel orders, and the quickstart's fibre cut (one far-away crew: a nine-hour
outage) during which orders for the isolated cells fall out and are retried.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

import twin
from twin.bss.exports import tmf622_orders, tmf678_bills, tmf678_rates
from twin.bss.lines import round_half_even
from twin.oss.provisioning import tmf641_orders

from .support import SCENARIOS
from .tmf import check

SCENARIO = SCENARIOS / "order_to_cash.yaml"
LATENCY, PROCESSING, RETRY, ATTEMPTS = 60.0, 1800.0, 3600.0, 6
START = datetime(2026, 1, 24, tzinfo=UTC)
FEB1 = (datetime(2026, 2, 1, tzinfo=UTC) - START).total_seconds()


@pytest.fixture(scope="module")
def run(run_scenario: twin.Run) -> twin.Run:
    r: twin.Run = run_scenario(SCENARIO)  # type: ignore[operator]
    return r


def test_orders_flow_and_reconcile(run: twin.Run) -> None:
    s = run.summary["bss"]
    po = run.table("product_orders")
    assert s["orders_new"] == (po["action"] == "add").sum() > 500
    assert s["orders_change"] > 0 and s["orders_cancel"] == s["churned"] > 0
    assert set(po["state"]) <= {"acknowledged", "inProgress", "held", "completed", "failed"}
    so = run.table("service_orders")
    assert len(so) == (po["state"] != "acknowledged").sum()  # cancels wait for their date
    assert run.summary["reconciliation"]["identity_holds"] is True


def test_a_cell_that_drops_too_many_calls_still_takes_orders(run: twin.Run) -> None:
    """An incident of PM threshold crossings alone (a drop rate over its threshold) degrades a
    cell; it does not take it out of service, so provisioning goes on there."""
    alarms = run.table("alarms")
    qos = alarms[alarms["incident_id"] > 0].groupby("incident_id")["ems"].agg(
        lambda e: (e == "oss-pm").all())
    inc = run.table("incidents")
    inc = inc[inc["incident_id"].isin(qos[qos].index)]
    so = run.table("service_orders")
    during = so.merge(inc, left_on="cell", right_on="root")
    during = during[(during["received"] > during["created"])
                    & (during["received"] < during["cleared"].fillna(np.inf))]
    assert len(during) > 0  # the seeded run has such an order (site4-c2, day 11)
    assert (during["fallouts"] == 0).all()


def test_fallout_and_retry_while_the_cell_is_down(run: twin.Run) -> None:
    so = run.table("service_orders")
    out = run.table("cell_outages")
    cut = out[out["root_fault_id"] == out.loc[(out["end"] - out["start"]).idxmax(),
                                              "root_fault_id"]]
    down_from, back = cut["start"].min(), cut["end"].max()
    fell = so[so["fallouts"] > 0]
    assert len(fell) >= 5
    # only orders for the isolated cells fell out, while they were out of service
    assert set(fell["cell"]) <= set(cut["cell"])
    assert (fell["received"] < back).all()
    assert (fell["fallout_reason"] != "").all()
    # retried every retry_interval: the attempts fit between reception and completion
    done = fell[fell["state"] == "completed"]
    assert len(done) > 0
    assert (done["completed"] >= back).all()  # activated only once the cell was back
    assert (done["completed"] - done["received"] >= done["fallouts"] * RETRY).all()
    assert (done["attempts"] == done["fallouts"] + 1).all()
    # out of attempts while the cell stayed down: failed, the line never came into service
    failed = fell[fell["state"] == "failed"]
    assert len(failed) > 0 and (failed["attempts"] == ATTEMPTS).all()
    assert ((failed["received"] + (ATTEMPTS - 1) * RETRY) < back).all()
    usage = run.table("usage")
    assert not usage["sub"].isin(failed["sub"]).any()
    po = run.table("product_orders").set_index("product_order_id")
    assert (po.loc[failed["product_order_id"], "state"] == "failed").all()
    lines = run.table("invoice_lines")
    assert not lines["sub"].isin(failed["sub"]).any()  # never billed
    # no activation happened on a cell that was truly out of service at that instant
    ok = so[so["state"] == "completed"].merge(
        out.rename(columns={"start": "down", "end": "up"}), on="cell")
    assert not ((ok["completed"] > ok["down"]) & (ok["completed"] < ok["up"])).any()
    assert down_from > 0


def test_lines_carry_traffic_only_while_active(run: twin.Run) -> None:
    po = run.table("product_orders")
    usage = run.table("usage")
    added = po[(po["action"] == "add") & (po["state"] == "completed")]
    u = usage.merge(added[["sub", "activated"]], on="sub")
    assert len(u) > 1000
    assert (u["start"] >= u["activated"]).all()
    pending = po[(po["action"] == "add") & (po["state"] != "completed")]
    assert not usage["sub"].isin(pending["sub"]).any()
    # churned lines: no usage after the network deactivated them
    gone = po[(po["action"] == "delete") & (po["state"] == "completed")]
    assert len(gone) > 0
    g = usage.merge(gone[["sub", "activated", "requested_start"]], on="sub")
    assert (g["start"] < g["activated"]).all()
    assert (g["activated"] > g["requested_start"]).all()  # deactivated after the notice date
    # what they did between leaving (billing stops) and deactivation is leakage, exactly
    left = po[po["action"] == "delete"]
    a = usage.merge(left[["sub", "requested_start"]], on="sub")
    between = a["outcome"].isin(["completed", "dropped"]) & (a["start"] >= a["requested_start"])
    assert between.sum() > 0
    ra = run.table("revenue_assurance").set_index("stage")
    assert ra.loc["leaked: usage after termination", "records"] == between.sum()
    assert run.summary["bss"]["cdrs_terminated"] >= between.sum()


def test_order_to_activation_lead_time(run: twin.Run) -> None:
    """No fallout: lead time = integration latency + exponential OSS processing (mean 30 min).
    Over n orders the mean is within 4 standard errors of theory."""
    po = run.table("product_orders")
    so = run.table("service_orders")[["product_order_id", "fallouts"]]
    add = po[(po["action"] == "add") & (po["state"] == "completed")].merge(
        so, on="product_order_id", suffixes=("", "_so"))
    clean = add[add["fallouts_so"] == 0]
    lead = clean["activated"] - clean["ordered"]
    assert (lead >= LATENCY - 1e-6).all()
    n = len(lead)
    assert n > 800
    assert abs(lead.mean() - (LATENCY + PROCESSING)) < 4 * PROCESSING / np.sqrt(n)
    # the BSS completes the product order one integration latency after the activation; an
    # answer still in flight at the end of the run arrives then (the bus is drained)
    end = run.summary["sim_days"] * 86_400.0
    due = np.minimum(clean["activated"] + LATENCY, end)
    assert np.allclose(clean["completed"], due)
    assert run.summary["bss"]["order_lead_time_s"] == pytest.approx(
        (add["activated"] - add["ordered"]).mean(), abs=1e-3)


def _days(t: pd.Series) -> np.ndarray:
    return np.floor(t.to_numpy() / 86_400.0)  # the scenario starts at midnight


def test_billing_starts_at_activation_prorated_by_days(run: twin.Run) -> None:
    po = run.table("product_orders")
    inv, lines = run.table("invoices"), run.table("invoice_lines")
    jan = inv[inv["billed_to"] == FEB1]
    fee = {"consumer_postpaid": 1680, "enterprise": 4500}
    add = po[(po["action"] == "add") & (po["state"] == "completed")
             & (po["activated"] < FEB1) & po["offer"].isin(list(fee))]
    changed = set(po.loc[po["action"] == "modify", "sub"])
    churned = set(po.loc[po["action"] == "delete", "sub"])
    add = add[~add["sub"].isin(changed | churned)]
    rec = lines[(lines["line_type"] == "recurring") & lines["invoice_id"].isin(jan["invoice_id"])]
    got = add.merge(rec, on="sub", suffixes=("", "_l"))
    assert len(got) == len(add) > 50
    days = FEB1 / 86_400 - _days(got["activated"])  # the activation day counts in full
    want = round_half_even(np.array([fee[o] for o in got["offer"]]) * days.astype(np.int64),
                           31)
    assert (got["amount_minor"].to_numpy() == want).all()
    one = lines[(lines["line_type"] == "one_time") & lines["invoice_id"].isin(jan["invoice_id"])]
    assert set(add.loc[add["offer"] == "consumer_postpaid", "sub"]) <= set(one["sub"])


def test_offer_change_rates_and_bills_each_offer_for_its_days(run: twin.Run) -> None:
    po = run.table("product_orders")
    ch = po[(po["action"] == "modify") & (po["state"] == "completed")]
    ch = ch[~ch["sub"].isin(po.loc[po["action"] == "delete", "sub"])]
    assert len(ch) > 10
    rated = run.table("rated").merge(ch[["sub", "completed", "offer", "from_offer"]],
                                     on="sub", suffixes=("", "_new"))
    before = rated["start"] < rated["completed"]
    assert (rated.loc[before, "offer"] == rated.loc[before, "from_offer"]).all()
    assert (rated.loc[~before, "offer"] == rated.loc[~before, "offer_new"]).all()
    assert (~before).sum() > 0
    # a change in January: old fee up to the change's day, new fee from it
    inv, lines = run.table("invoices"), run.table("invoice_lines")
    jan = ch[(ch["completed"] < FEB1) & (ch["sub"] < 3000)]  # lines existing since the start
    rec = lines[(lines["line_type"] == "recurring")
                & lines["invoice_id"].isin(inv.loc[inv["billed_to"] == FEB1, "invoice_id"])]
    got = jan.merge(rec, on="sub", suffixes=("", "_l"))
    assert len(got) >= len(jan) > 0
    # one line per offer: the old one up to the change's day, the new one from it (the
    # billed part of January starts with the run, at midnight)
    day = _days(got["completed"])
    mobile_m = got["offer_l"] == "consumer_postpaid"
    days = np.where(mobile_m, day, FEB1 / 86_400 - day).astype(np.int64)
    want = round_half_even(np.where(mobile_m, 1680, 2520) * days, 31)
    assert (got["amount_minor"].to_numpy() == want).all()
    assert np.allclose(got["period_to"] - got["period_from"], days * 86_400.0)
    assert (~mobile_m).sum() == len(jan)


def test_orders_export_as_tmf622_and_tmf641(run: twin.Run) -> None:
    po, so = run.table("product_orders"), run.table("service_orders")
    sample_po = pd.concat([po.groupby(["action", "state"]).head(5)])
    orders = tmf622_orders(sample_po, START)
    check("TMF622", "ProductOrder", orders)
    assert {o["productOrderItem"][0]["action"] for o in orders} == {"add", "modify", "delete"}
    sample_so = pd.concat([so.groupby(["action", "state"]).head(5), so[so["fallouts"] > 0]])
    services = tmf641_orders(sample_so, START)
    check("TMF641", "ServiceOrder", services)
    assert any("note" in s for s in services)
    assert {s["state"] for s in services} >= {"completed", "failed"}


def test_prorated_lines_export_their_period_as_tmf678(run: twin.Run) -> None:
    po, inv, lines = run.table("product_orders"), run.table("invoices"), run.table("invoice_lines")
    changed = po.loc[(po["action"] == "modify") & (po["state"] == "completed"), "sub"]
    mine = lines[lines["sub"].isin(changed) & (lines["line_type"] == "recurring")].head(40)
    rates = tmf678_rates(mine, inv, START, 100)
    check("TMF678", "AppliedCustomerBillingRate", rates)
    for rate, row in zip(rates, mine.itertuples(), strict=True):
        cover = rate["periodCoverage"]
        span = (datetime.fromisoformat(cover["endDateTime"].replace("Z", "+00:00"))
                - datetime.fromisoformat(cover["startDateTime"].replace("Z", "+00:00")))
        assert span.total_seconds() == pytest.approx(row.period_to - row.period_from)
    bills = tmf678_bills(inv.head(20), START, 100, 19.0)
    check("TMF678", "CustomerBill", bills)
    assert all(b["billCycle"]["id"] == "day-1" for b in bills)
