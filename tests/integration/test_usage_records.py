"""Usage records end to end: long data sessions written as partial records, assembled by
mediation and rated once — the same money as with partial records off, and the revenue
funnel still exact; with a streaming collector outage, lost parts leak and still reconcile."""

from __future__ import annotations

from pathlib import Path

import twin

from .support import QUICKSTART, SCENARIOS, SMALL, RunScenario

# long data sessions (mean 1.5 h) so that many cross a short partial-record interval
# records written wrong and files cut in transfer are off: they are drawn per record written
# (per file), and these runs write the same sessions as different numbers of records
LONG = (*SMALL, "traffic.data.duration.mean_s=5400", "traffic.records.malformed_share=0",
        "traffic.records.unknown_subscriber_share=0", "bss.mediation.file_cut_share=0")
PARTIAL = (*LONG, "traffic.records.partial_time_limit=15m")
WHOLE = (*LONG, "traffic.records.partial_time_limit=null")


def test_partial_records_are_assembled_and_bill_the_same_money(
        run_scenario: RunScenario) -> None:
    parts = run_scenario(QUICKSTART, overrides=PARTIAL)
    whole = run_scenario(QUICKSTART, overrides=WHOLE)
    p, w = parts.summary["bss"], whole.summary["bss"]
    assert w["cdrs_partial"] == 0 and w["sessions_assembled"] == 0
    assert p["cdrs_partial"] > 10_000  # many long sessions, in parts
    assert p["sessions_assembled"] > 2_000
    assert p["sessions_assembled_incomplete"] == 0  # nothing lost on the way
    cdrs = parts.sql("SELECT seq, parts, state FROM cdrs WHERE reason <> 'duplicate'")
    assert (cdrs.loc[cdrs["seq"] > 0, "state"] == "received").all()
    assert cdrs["parts"].max() > 4
    # every session is rated once, with its whole quantity: the same charges as one record
    rated_p = parts.sql("SELECT charging_id, volume_bytes, charge_minor FROM rated "
                        "ORDER BY charging_id")
    rated_w = whole.sql("SELECT charging_id, volume_bytes, charge_minor FROM rated "
                        "ORDER BY charging_id")
    assert rated_p["charging_id"].is_unique
    assert rated_p.equals(rated_w)
    for k in ("cdrs_rated", "usage_minor", "net_billed_minor", "billed_minor"):
        assert p[k] == w[k], k
    for run in (parts, whole):
        rec = run.summary["reconciliation"]
        assert rec["identity_holds"]
        assert rec["leaked_minor"] == 0
    assert (parts.summary["reconciliation"]["potential_usage_minor"]
            == whole.summary["reconciliation"]["potential_usage_minor"])


def test_lost_parts_leak_through_the_collector_and_reconcile(tmp_path: Path) -> None:
    """A streaming collector outage loses parts of sessions: those are rated from the parts
    that came (after the assembly timeout), the rest is collector leakage, exactly."""
    run = twin.simulate(SCENARIOS / "collector_outage.yaml", out=tmp_path / "run",
                        overrides=("subscribers.count=1500", "bss.mediation.mode=streaming",
                                   "traffic.data.duration.mean_s=5400",
                                   "traffic.records.partial_time_limit=15m",
                                   "bss.mediation.assembly_timeout=6h",
                                   "network.telemetry.cdr_duplicate_rate=0.01"),
                        report=False)
    b, rec = run.summary["bss"], run.summary["reconciliation"]
    assert b["cdrs_lost_collector"] > 0 and b["cdrs_duplicate"] > 0
    assert b["sessions_assembled_incomplete"] > 0  # sessions that lost a part
    assert rec["identity_holds"]
    assert rec["leaked_collector_minor"] > 0
    # a session rated from some of its parts is one rated record
    rated = run.sql("SELECT charging_id FROM rated WHERE state = 'rated'")
    assert rated["charging_id"].is_unique
