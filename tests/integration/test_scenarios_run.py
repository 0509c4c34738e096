"""Every scenario in ``scenarios/`` runs, honours the summary contract and reconciles.

Parametrised over the glob, so a new scenario file is picked up without touching this file.
The quickstart also builds its report (figures and ``report.html``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import twin

from .support import QUICKSTART, SCENARIO_FILES, RunScenario, missed_outcomes

# The summary.json keys QA scripts rely on (issue 2, "summary.json — a contract").
CONTRACT = [
    "scenario", "seed", "sim_days",
    "network.elements", "network.links", "network.cells", "network.subscribers",
    "traffic.calls_offered", "traffic.calls_blocked", "traffic.calls_lost_outage",
    "traffic.data_mb",
    "faults.injected", "faults.service_affecting",
    "oss.alarms_raw", "oss.alarms_after_dedup", "oss.tickets", "oss.mttd_s", "oss.mttr_s",
    "bss.currency", "bss.cdrs_received", "bss.cdrs_rated", "bss.invoices", "bss.billed_minor",
    "bss.lost_outage_minor", "bss.sla_credits_minor",
]
REQUIRED_TABLES = {"alarms", "tickets", "faults", "usage", "cdrs", "rated", "invoices"}
USAGE_LINES = ("usage_voice", "usage_data", "usage_sms")


def test_there_are_scenarios_to_run() -> None:
    assert QUICKSTART in SCENARIO_FILES
    assert len(SCENARIO_FILES) >= 3, "issue 2 asks for the quickstart and two more stories"


@pytest.fixture(scope="module", params=SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def scenario_run(request: pytest.FixtureRequest, run_scenario: RunScenario) -> twin.Run:
    path: Path = request.param
    return run_scenario(path, report=path == QUICKSTART)


def lookup(summary: dict, dotted: str) -> object:
    node: object = summary
    for part in dotted.split("."):
        assert isinstance(node, dict) and part in node, f"summary lacks {dotted!r}"
        node = node[part]
    return node


def test_summary_has_the_contract_keys(scenario_run: twin.Run) -> None:
    s = scenario_run.summary
    for key in CONTRACT:
        lookup(s, key)
    sc = scenario_run.scenario
    assert s["scenario"] == sc["name"]
    assert s["seed"] == sc["seed"]
    assert s["sim_days"] == pytest.approx(sc["duration"] / 86_400, abs=1e-4)
    assert s["bss"]["currency"] == sc["bss"]["catalog"]["currency"]
    counts = ("network.elements", "network.links", "network.cells", "network.subscribers",
              "traffic.calls_offered", "traffic.calls_blocked", "traffic.calls_lost_outage",
              "faults.injected", "faults.service_affecting", "oss.alarms_raw",
              "oss.alarms_after_dedup", "oss.tickets", "bss.cdrs_received", "bss.cdrs_rated",
              "bss.invoices", "bss.billed_minor", "bss.lost_outage_minor",
              "bss.sla_credits_minor")
    for key in counts:
        value = lookup(s, key)
        assert isinstance(value, int) and not isinstance(value, bool), (key, value)
        assert value >= 0 or key == "bss.billed_minor", (key, value)
    assert s["network"]["subscribers"] == sc["subscribers"]["count"]
    assert s["traffic"]["calls_offered"] > 0
    assert s["bss"]["invoices"] > 0
    # The file on disk is what Run.summary reads.
    assert json.loads((scenario_run.path / "summary.json").read_text()) == s


def test_the_scenario_shows_what_its_description_says(scenario_run: twin.Run) -> None:
    # expect.outcomes at the scenario's own seed; other seeds and sizes: test_scenarios_say.py
    if twin.load_scenario(scenario_run.path / "scenario.yaml").expect.set:
        pytest.skip("its outcomes are stated for other settings (test_scenarios_say.py)")
    missed = missed_outcomes(scenario_run)
    assert not missed, f"{scenario_run.summary['scenario']}: " + "; ".join(missed)


def test_run_directory_is_complete(scenario_run: twin.Run) -> None:
    path = scenario_run.path
    for name in ("scenario.yaml", "manifest.json", "summary.json"):
        assert (path / name).is_file(), name
    assert set(scenario_run.tables) >= REQUIRED_TABLES
    manifest = scenario_run.manifest
    for key in ("twin_version", "seed", "scenario_sha256", "wall_time_s"):
        assert key in manifest, key
    assert manifest["seed"] == scenario_run.summary["seed"]
    assert not list(path.parent.glob(f".{path.name}.partial-*")), "temporary directory left"
    # The resolved scenario stands on its own: it loads and validates again.
    again = twin.load_scenario(path / "scenario.yaml")
    assert again.name == scenario_run.summary["scenario"]


def test_counts_agree_between_summary_and_tables(scenario_run: twin.Run) -> None:
    s, run = scenario_run.summary, scenario_run
    pm = run.sql("SELECT sum(calls_offered) o, sum(calls_blocked) b, "
                 "sum(calls_lost_outage) l FROM traffic").iloc[0]
    assert int(pm["o"]) == s["traffic"]["calls_offered"]
    assert int(pm["b"]) == s["traffic"]["calls_blocked"]
    assert int(pm["l"]) == s["traffic"]["calls_lost_outage"]
    voice = run.sql("SELECT outcome, count(*) n FROM usage WHERE kind = 'voice' "
                    "GROUP BY outcome").set_index("outcome")["n"]
    assert int(voice.sum()) == s["traffic"]["calls_offered"]
    assert int(voice.get("blocked", 0)) == s["traffic"]["calls_blocked"]
    assert int(voice.get("lost_outage", 0)) == s["traffic"]["calls_lost_outage"]
    assert len(run.table("faults")) == s["faults"]["injected"]
    assert len(run.table("tickets")) == s["oss"]["tickets"]
    assert len(run.table("invoices")) == s["bss"]["invoices"]
    rated = run.table("rated")
    assert int((rated["state"] == "rated").sum()) == s["bss"]["cdrs_rated"]  # not reratings


def test_rated_usage_equals_invoiced_usage_to_the_minor_unit(scenario_run: twin.Run) -> None:
    run = scenario_run
    # prepaid lines pay from their balances (online charging on or off), the rest is invoiced
    rated = int(run.sql("SELECT coalesce(sum(charge_minor), 0) x FROM rated "
                        "WHERE channel = 'invoice'")["x"].iloc[0])
    online = int(run.sql("SELECT coalesce(sum(charge_minor), 0) x FROM rated "
                         "WHERE channel = 'balance'")["x"].iloc[0])
    invoiced = int(run.sql(
        "SELECT coalesce(sum(amount_minor), 0) x FROM invoice_lines "
        f"WHERE line_type IN {USAGE_LINES}")["x"].iloc[0])
    assert rated == invoiced
    assert online == run.summary["reconciliation"]["charged_online_minor"]
    recon = run.summary["reconciliation"]
    bss = run.scenario["bss"]
    care = bss.get("care", {})
    leaky = (bss.get("mediation", {}).get("collector_outages") or bss.get("new_lines_share")
             or bss.get("tariff_errors") or care.get("churn_base_monthly")
             or care.get("churn_per_outage_hour") or care.get("churn_per_contact")
             or bss.get("ocs", {}).get("outages"))  # fail-open sessions go uncharged
    if not leaky:  # nothing lost between network and rating but records written wrong and
        # files cut in transfer
        assert recon["unbilled_minor"] == (recon["leaked_rejected_minor"]
                                           + recon["leaked_collector_minor"])
    # whatever was carried but not rated is explained, cause by cause
    assert recon["unbilled_minor"] == (recon["leaked_minor"] + recon["rating_order_minor"]
                                       + recon["tariff_error_minor"])
    assert recon["rated_minor"] == rated + online
    assert recon["invoiced_usage_minor"] == invoiced
    assert recon["potential_usage_minor"] == (
        recon["rated_minor"] + recon["lost_minor"] + recon["unbilled_minor"])
    # Invoices add up from their lines, and the summary from the invoices.
    inv = run.table("invoices")
    assert (inv["net_minor"] == inv["recurring_minor"] + inv["one_time_minor"]
            - inv["discount_minor"] + inv["usage_minor"] - inv["sla_credit_minor"]).all()
    assert (inv["total_minor"] == inv["net_minor"] + inv["tax_minor"]).all()
    assert int(inv["usage_minor"].sum()) == invoiced
    assert int(inv["total_minor"].sum()) == run.summary["bss"]["billed_minor"]
    assert int(inv["sla_credit_minor"].sum()) == run.summary["bss"]["sla_credits_minor"]
    lines = run.table("invoice_lines").groupby("invoice_id")["amount_minor"].sum()
    totals = inv.set_index("invoice_id")["total_minor"]
    assert lines.reindex(totals.index, fill_value=0).equals(totals)


def test_quickstart_report_is_built(run_scenario: RunScenario) -> None:
    run = run_scenario(QUICKSTART, report=True)
    html = run.path / "report.html"
    assert html.is_file() and html.stat().st_size > 0
    figures = sorted((run.path / "figures").glob("*.png"))
    assert len(figures) >= 3, figures
    text = html.read_text(encoding="utf-8")
    assert text.count("<img") >= len(figures), "report.html does not embed every figure"


def test_revenue_waterfall_adds_up(scenario_run: twin.Run) -> None:
    """The report's waterfall: recurring + usage + one-time − discounts + tax − SLA credits
    is exactly what was invoiced, with nothing left unexplained."""
    from twin.report.waterfall import revenue_waterfall

    w = revenue_waterfall(scenario_run.summary)
    assert w.unexplained_minor == 0
    assert sum(b.minor for b in w.bars[:-1]) == w.invoiced_minor
    assert w.invoiced_minor == scenario_run.summary["bss"]["billed_minor"]
