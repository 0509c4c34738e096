"""A mediation collector outage: late records, lost records and the leakage they cause.

The ``collector_outage`` scenario takes the collector down for 36 hours from 31 January
18:00, across January's bill run (1 February 01:00), with a 12-hour late window. Batch
collection keeps the files on the recording entities (two days): nothing is lost, January's
backlog arrives too late and is written off. Streaming holds records for ten minutes only:
most of the outage's records are lost, and the leakage is larger.
"""

from __future__ import annotations

import pytest

import twin

from .support import SCENARIOS, RunScenario

OUTAGE = SCENARIOS / "collector_outage.yaml"
DOWN, UP = 3 * 86_400 + 18 * 3600, 5 * 86_400 + 6 * 3600  # 31 Jan 18:00 – 2 Feb 06:00
FEB_1 = 4 * 86_400.0
SHORT = ("subscribers.count=1500",)
WRITTEN_WRONG = ("negative quantity", "unknown subscriber")  # mediation's reject reasons


@pytest.fixture(scope="module")
def batch(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(OUTAGE, overrides=SHORT)


@pytest.fixture(scope="module")
def stream(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(OUTAGE, overrides=(*SHORT, "bss.mediation.mode=streaming"))


def carried_records(run: twin.Run) -> int:
    return int(run.sql("SELECT count(*) n FROM usage WHERE outcome IN ('completed', 'dropped')")
               ["n"].iloc[0])


def distinct_received(run: twin.Run) -> int:
    return int(run.sql("SELECT count(DISTINCT (node_id, record_id)) n FROM cdrs")["n"].iloc[0])


def test_batch_collection_delivers_late_and_writes_january_off(batch: twin.Run) -> None:
    b = batch.summary["bss"]
    assert b["mediation_mode"] == "batch"
    assert b["cdrs_lost_collector"] == 0
    assert distinct_received(batch) == carried_records(batch)  # nothing lost on the way
    assert b["cdrs_late_collected"] > 0
    cdrs = batch.table("cdrs")
    late = cdrs[cdrs["reason"] == "too late"]
    assert len(late) == b["cdrs_too_late"] > 0
    # written off: January usage that arrived when the collector came back, 29 h after the
    # January bill run — more than the 12 h late window
    assert (late["start"] < FEB_1).all()
    assert (late["received"] >= UP).all() and (late["received"] < UP + 900).all()
    # the backlog of February arrived late but in time for its bill (but for the records the
    # network wrote wrong, rejected whenever they come)
    feb_backlog = cdrs[(cdrs["received"] >= UP) & (cdrs["received"] < UP + 900)
                       & (cdrs["start"] >= FEB_1)
                       & ~cdrs["reason"].isin(["duplicate", *WRITTEN_WRONG])]
    assert len(feb_backlog) > 0 and (feb_backlog["state"] == "guided").all()
    assert batch.summary["reconciliation"]["unbilled_minor"] > 0


def test_streaming_loses_the_outage_and_leaks_more(batch: twin.Run, stream: twin.Run) -> None:
    s = stream.summary["bss"]
    assert s["mediation_mode"] == "streaming"
    lost_ids = carried_records(stream) - distinct_received(stream)
    assert lost_ids > 0
    # the collector counts what it lost (duplicate copies included)
    assert lost_ids <= s["cdrs_lost_collector"] <= lost_ids * 1.01 + 5
    assert s["cdrs_too_late"] == 0
    # nothing written during the outage but its last ten minutes reached mediation
    cdrs = stream.table("cdrs")
    during = cdrs[(cdrs["received"] >= DOWN) & (cdrs["received"] < UP)]
    assert during.empty
    leak_stream = stream.summary["reconciliation"]["unbilled_minor"]
    leak_batch = batch.summary["reconciliation"]["unbilled_minor"]
    assert leak_stream > leak_batch > 0
    # demand is the same in both designs (common random numbers)
    assert (stream.summary["bss"]["potential_usage_minor"]
            == batch.summary["bss"]["potential_usage_minor"])


def test_without_the_outage_only_defective_records_leak(run_scenario: RunScenario) -> None:
    for mode in ("batch", "streaming"):
        run = run_scenario(OUTAGE, overrides=(*SHORT, f"bss.mediation.mode={mode}",
                                              "bss.mediation.collector_outages=[]"))
        b = run.summary["bss"]
        assert (b["cdrs_lost_collector"], b["cdrs_too_late"]) == (0, 0)
        rec = run.summary["reconciliation"]
        assert rec["leaked_collector_minor"] == rec["leaked_late_minor"] == 0
        # what still leaks is the records the network wrote wrong, rejected by mediation
        assert rec["unbilled_minor"] == rec["leaked_rejected_minor"] > 0


def test_new_lines_wait_in_suspense_until_mediation_can_guide_them(
        run_scenario: RunScenario) -> None:
    from .support import QUICKSTART, SMALL

    run = run_scenario(QUICKSTART, overrides=(
        *SMALL, "bss.new_lines_share=0.05", "bss.mediation.guiding_delay_mean=3h",
        "bss.mediation.mode=streaming"))
    b = run.summary["bss"]
    assert b["cdrs_suspended"] > 0
    assert b["cdrs_recycled"] + b["cdrs_unguidable"] + b["cdrs_in_suspense"] \
        == b["cdrs_suspended"]
    assert b["cdrs_recycled"] > 0.9 * b["cdrs_suspended"]
    cdrs = run.table("cdrs")
    subs = run.table("subscriptions").set_index("sub")
    waited = cdrs[cdrs["state"] == "recycled"]
    assert subs.loc[waited["sub"], "new_line"].all()  # only new lines wait
    later = cdrs[(cdrs["state"] == "guided") & (cdrs["processed"] > cdrs["received"])]
    assert len(later) == b["cdrs_recycled"]
    # a recycled record is rated once it is guided, and billed: nothing leaks but what is
    # still in suspense at the end
    assert b["one_time_minor"] > 0
    assert run.summary["reconciliation"]["unbilled_minor"] >= 0
