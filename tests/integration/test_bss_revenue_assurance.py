"""Revenue assurance: the funnel from true usage to invoice holds to the minor unit in every
scenario, and a run whose numbers do not add up fails loudly."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import twin
from twin.analysis import ReconciliationError
from twin.analysis.reconcile import reconcile

from .support import QUICKSTART, SCENARIO_FILES, SCENARIOS, RunScenario

LEAKS = ("collector", "rejected", "suspense", "late", "fail_open", "terminated")


@pytest.fixture(scope="module", params=SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def scenario_run(request: pytest.FixtureRequest, run_scenario: RunScenario) -> twin.Run:
    path: Path = request.param
    return run_scenario(path, report=path == QUICKSTART)  # shares test_scenarios_run's runs


def test_the_funnel_adds_up_in_every_scenario(scenario_run: twin.Run) -> None:
    rec = scenario_run.summary["reconciliation"]
    assert rec["identity_holds"] is True
    carried = (rec["potential_usage_minor"] - rec["lost_outage_minor"]
               - rec["lost_denied_minor"] - rec["lost_blocking_minor"])
    assert carried == rec["carried_usage_minor"]
    assert rec["leaked_minor"] == sum(rec[f"leaked_{k}_minor"] for k in LEAKS)
    assert (carried - rec["leaked_minor"] - rec["rating_order_minor"]
            - rec["tariff_error_minor"]) == rec["rated_minor"] \
        == rec["invoiced_usage_minor"] + rec["charged_online_minor"]
    inv = scenario_run.table("invoices")
    assert (rec["potential_revenue_minor"] - rec["lost_outage_minor"]
            - rec["lost_denied_minor"] - rec["lost_blocking_minor"] - rec["leaked_minor"]
            - rec["rating_order_minor"] - rec["tariff_error_minor"]
            - rec["charged_online_minor"] - rec["lost_churn_minor"] - rec["discounts_minor"]
            - rec["credited_minor"]) == rec["billed_net_minor"] == int(inv["net_minor"].sum())
    assert rec["unbilled_minor"] == carried - rec["rated_minor"]
    assert min(rec[f"leaked_{k}_minor"] for k in LEAKS) >= 0
    assert rec["lost_outage_minor"] >= 0 and rec["lost_blocking_minor"] >= 0
    # records: offered ≥ carried ≥ collected ≥ accepted ≥ rated, and the BSS agrees
    assert (rec["records_offered"] >= rec["records_carried"] >= rec["records_collected"]
            >= rec["records_accepted"] >= rec["records_rated"])
    assert rec["records_rated"] == scenario_run.summary["bss"]["cdrs_rated"]


def test_the_revenue_assurance_table_is_the_funnel(scenario_run: twin.Run) -> None:
    ra = scenario_run.table("revenue_assurance").sort_values("step")
    running = None
    for row in ra.itertuples():
        if row.kind == "subtotal":
            assert running is None or running == row.amount_minor, row.stage
            running = row.amount_minor
        else:
            running += row.amount_minor
        assert row.running_minor == running
    by = ra.set_index("stage")["amount_minor"]
    s = scenario_run.summary
    assert by["potential usage"] == s["bss"]["potential_usage_minor"]
    assert by["rated usage"] == s["reconciliation"]["rated_minor"]
    assert by["invoiced usage"] == s["reconciliation"]["invoiced_usage_minor"]
    assert by["invoiced total"] == s["bss"]["billed_minor"]
    assert by["billed, net of tax"] == s["bss"]["net_billed_minor"]


def test_collector_outage_leaks_by_the_causes_it_should(run_scenario: RunScenario) -> None:
    path = SCENARIOS / "collector_outage.yaml"
    batch = run_scenario(path, overrides=("subscribers.count=1500",))
    stream = run_scenario(path, overrides=("subscribers.count=1500",
                                           "bss.mediation.mode=streaming"))
    b, s = batch.summary["reconciliation"], stream.summary["reconciliation"]
    assert b["leaked_late_minor"] > 0 and b["leaked_collector_minor"] == 0
    assert s["leaked_collector_minor"] > 0 and s["leaked_late_minor"] == 0
    assert s["leaked_minor"] > b["leaked_minor"]


def test_a_funnel_that_does_not_add_up_fails_the_run(run_scenario: RunScenario) -> None:
    run = run_scenario(QUICKSTART, report=True)
    tables = run.path / "tables"
    from twin.analysis.revenue import STEPS

    good = {f"{k}_minor": 0 for k in STEPS} | {f"{k}_records": 0 for k in STEPS}
    rated = int(run.table("rated")["charge_minor"].sum())
    recurring = int(run.table("invoices")["recurring_minor"].sum())
    bss = SimpleNamespace(rated_minor=rated, misrated_records=0,
                          ocs=SimpleNamespace(counts={"debited_minor": 0}),
                          billing=SimpleNamespace(totals={"recurring_potential_minor":
                                                          recurring}))
    lost = {**good, "offered_records": 0, "potential_usage_minor": rated + 7,
            "carried_usage_minor": rated, "lost_outage_minor": 7, "lost_dropped_minor": 0,
            "lost_blocking_minor": 0, "lost_denied_minor": 0, "lost_denied_records": 0,
            "subscribed_records": int((run.table("rated")["state"] == "rated").sum()),
            "rating_order_minor": 0, "rerated_catalog_minor": rated,
            "rerate_adjustments_minor": 0, "rerated_rows_differing": 0,
            **{f"leaked_{k}_minor": 0 for k in LEAKS},
            **{f"leaked_{k}_records": 0 for k in LEAKS},
            "lost_outage_records": 0, "lost_blocking_records": 0}
    out = tables.parent / "ra-check"
    out.mkdir(exist_ok=True)
    for name in ("rated", "invoices", "invoice_lines"):
        (out / f"{name}.parquet").write_bytes((tables / f"{name}.parquet").read_bytes())
    reconcile(out, bss, lost)  # consistent: passes
    with pytest.raises(ReconciliationError, match="funnel"):
        reconcile(out, bss, {**lost, "lost_outage_minor": 8})  # one cent unaccounted for
    with pytest.raises(ReconciliationError, match="rated usage"):
        reconcile(out, SimpleNamespace(rated_minor=rated + 1, misrated_records=0,
                                       ocs=bss.ocs, billing=bss.billing), lost)
    with pytest.raises(ReconciliationError, match="re-rating"):
        reconcile(out, bss, {**lost, "rerated_rows_differing": 3})
