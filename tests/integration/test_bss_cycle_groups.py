"""Bill cycle groups: accounts spread over bill cycle days 1, 8, 15 and 22, each billed on its
own day, with a region from its home cell — and the revenue identity still exact, with a
collector outage writing off late usage of the one group whose cycle was billed meanwhile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import twin
from twin.network.topology import build_topology

from .support import QUICKSTART, RunScenario

DAYS = (1, 8, 15, 22)
OVERRIDES = ("duration=20d", "subscribers.count=1500",
             "bss.bill_cycle_days={1: 0.25, 8: 0.25, 15: 0.25, 22: 0.25}",
             "bss.late_window=12h",
             "bss.mediation.collector_outages=[{at: 2d12h, duration: 36h}]",
             "bss.mediation.file_late_share=0")  # the outage alone makes usage late
HORIZON = 20 * 86_400.0


@pytest.fixture(scope="module")
def run(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=OVERRIDES)


def test_accounts_spread_over_cycle_days_with_their_region(run: twin.Run) -> None:
    subs = run.table("subscriptions")
    per_account = subs.groupby("account").agg(day=("bill_cycle_day", "nunique"),
                                              first=("bill_cycle_day", "first"))
    assert (per_account["day"] == 1).all()  # one cycle day per account
    share = per_account["first"].value_counts(normalize=True)
    n = len(per_account)
    assert set(share.index) == set(DAYS)
    assert (abs(share - 0.25) < 4 * np.sqrt(0.25 * 0.75 / n)).all()
    topo = build_topology(twin.load_scenario(QUICKSTART, OVERRIDES).network)
    first_cell = subs.groupby("account")["cell"].first()
    want = first_cell.map(lambda c: topo.elements[c].region)
    got = subs.groupby("account")["region"].first()
    assert (got == want).all() and got.nunique() > 1


def test_each_group_is_billed_on_its_own_day(run: twin.Run) -> None:
    inv = run.table("invoices")
    subs = run.table("subscriptions").groupby("account")["bill_cycle_day"].first()
    assert (inv["bill_cycle_day"].to_numpy() == subs.loc[inv["account"]].to_numpy()).all()
    assert (inv["cycle_start"].dt.day == inv["bill_cycle_day"]).all()
    assert (inv["cycle_end"].dt.day == inv["bill_cycle_day"]).all()
    end = (inv["cycle_end"] - pd.Timestamp("2026-01-05", tz="UTC")).dt.total_seconds()
    in_run = end < HORIZON
    # a bill run an hour after the cycle ends; the rest at the end of the run
    assert np.allclose(inv.loc[in_run, "bill_run"], end[in_run] + 3600)
    assert (inv.loc[~in_run, "bill_run"] == HORIZON).all()
    runs = inv[in_run].groupby("bill_cycle_day")["bill_run"].unique()
    assert sorted(runs.index) == [8, 15, 22]  # 5 → 25 January: no 1st inside the run
    # every account billed once per cycle of its group that the run touches
    per = inv.groupby("account").size()
    cycles = {1: 1, 8: 2, 15: 2, 22: 2}
    assert (per.to_numpy() == subs.loc[per.index].map(cycles).to_numpy()).all()
    lines = run.table("invoice_lines")
    assert lines.groupby("invoice_id")["amount_minor"].sum().reindex(
        inv["invoice_id"]).fillna(0).astype(int).tolist() == inv["total_minor"].tolist()


def test_late_usage_is_written_off_only_in_the_billed_group(run: twin.Run) -> None:
    s, r = run.summary["bss"], run.summary["reconciliation"]
    assert s["cdrs_too_late"] > 0 and r["leaked_late_minor"] > 0
    cdrs = run.table("cdrs")
    late = cdrs[cdrs["reason"] == "too late"]
    day = run.table("subscriptions").set_index("sub")["bill_cycle_day"]
    assert set(day.loc[late["sub"]]) == {8}  # its 8 January bill run closed the cycle
    assert r["identity_holds"] is True
    assert run.summary["bss"]["net_billed_minor"] == r["billed_net_minor"]
