"""Mediation: validation with reasons, dedup within a batch and across the retention window,
suspense and recycling of records that cannot be guided yet."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from twin.bss.mediation import COLUMNS, Mediation, session_key
from twin.kernel import Sim
from twin.messages import UsageBatch
from twin.scenario.schema import MediationSpec

N_SUBS = 10


def batch(ids: Sequence[int], subs: Sequence[int] | None = None,
          nodes: Sequence[int] | None = None, kinds: Sequence[int] | None = None,
          durations: Sequence[int] | None = None,
          volumes: Sequence[int] | None = None, start: float = 0.0) -> UsageBatch:
    n = len(ids)
    return UsageBatch({
        "record_id": np.array(ids, dtype=np.int64),
        "node_id": np.array(nodes if nodes is not None else [1] * n, dtype=np.int64),
        "sub": np.array(subs if subs is not None else [i % N_SUBS for i in range(n)],
                        dtype=np.int64),
        "kind": np.array(kinds if kinds is not None else [0] * n, dtype=np.int8),
        "start": start + np.arange(n, dtype=np.float64),
        "duration_s": np.array(durations if durations is not None else [60] * n,
                               dtype=np.int64),
        "volume_bytes": np.array(volumes if volumes is not None else [0] * n, dtype=np.int64),
        "cause": np.zeros(n, dtype=np.int8),
    })


RETENTION = 2 * 3600.0


@pytest.fixture
def mediation(make_sim: Callable[..., Sim]) -> Mediation:
    spec = MediationSpec(dedup_retention=RETENTION, suspense_max_age=3 * 3600.0)
    guidable_from = np.full(N_SUBS, -np.inf)
    guidable_from[9] = 5000.0  # a new line: mediation learns of it at 5,000 s
    return Mediation(make_sim(horizon=86_400.0), N_SUBS, spec, guidable_from)


def at(m: Mediation, t: float) -> None:
    m.sim.env.run(until=t)


def cdrs(m: Mediation) -> list[dict[str, Any]]:
    m.sim.records.close()
    rows: list[dict[str, Any]] = pq.read_table(m.cdrs.path).to_pylist()
    return rows


def test_clean_batch_passes_through(mediation: Mediation) -> None:
    out = mediation.process(batch([1, 2, 3]))
    assert out["record_id"].tolist() == [1, 2, 3]
    # the optional 3GPP fields a batch left out are filled in (charging id = record id …)
    assert set(out) == {"record_id", "node_id", "sub", "kind", "start", "duration_s",
                        "volume_bytes", "cause", "charging_id", "seq", "parts",
                        "uplink_bytes", "downlink_bytes", "calling", "called", "answer",
                        "release", "online"}
    assert out["charging_id"].tolist() == [1, 2, 3] and out["seq"].tolist() == [0, 0, 0]
    assert (mediation.received, mediation.rejected, mediation.duplicates) == (3, 0, 0)


def test_fields_a_recording_entity_left_out_get_their_defaults(mediation: Mediation) -> None:
    b = batch([1, 2], subs=[3, 4], durations=[60, 90], volumes=[1000, 500], start=50.0)
    b.columns["uplink_bytes"] = np.array([100, 500], dtype=np.int64)
    out = mediation.process(b)
    assert out["downlink_bytes"].tolist() == [900, 0]  # the volume the uplink leaves
    assert out["calling"].tolist() == [491_700_000_003, 491_700_000_004]  # the line's MSISDN
    assert out["called"].tolist() == [0, 0]
    assert out["answer"].tolist() == [50.0, 51.0]  # answered as they began
    assert out["release"].tolist() == [110.0, 141.0]
    assert out["online"].tolist() == [0, 0] and out["parts"].tolist() == [0, 0]
    assert out["uplink_bytes"].tolist() == [100, 500]
    assert mediation.process(batch([5]))["uplink_bytes"].tolist() == [0]


def test_duplicates_within_a_batch_are_dropped(mediation: Mediation) -> None:
    out = mediation.process(batch([1, 2, 1, 3, 2, 1]))
    assert out["record_id"].tolist() == [1, 2, 3]  # first copies kept, in order
    assert mediation.duplicates == 3
    assert mediation.rejected == 0
    rows = cdrs(mediation)
    assert [r["state"] for r in rows] == ["guided", "guided", "rejected", "guided", "rejected",
                                          "rejected"]
    assert [r["reason"] for r in rows][2::2] == ["duplicate"] * 2


def test_same_record_id_from_another_node_is_not_a_duplicate(mediation: Mediation) -> None:
    out = mediation.process(batch([7, 7], nodes=[1, 2]))
    assert out["node_id"].tolist() == [1, 2]
    assert mediation.duplicates == 0


def test_duplicates_across_recent_batches_are_dropped(mediation: Mediation) -> None:
    mediation.process(batch([1, 2]))
    out = mediation.process(batch([2, 3]))
    assert out["record_id"].tolist() == [3]
    out = mediation.process(batch([1, 4]))  # 1 was two batches ago: still in the window
    assert out["record_id"].tolist() == [4]
    assert mediation.duplicates == 2


def test_dedup_window_is_bounded(mediation: Mediation) -> None:
    """Keys are kept by the hour of the record's start: the hour is forgotten once all of it
    is more than the retention ago."""
    mediation.process(batch([1]))
    at(mediation, RETENTION + 3599.0)  # record 1's hour is not wholly past the retention
    assert size(mediation.process(batch([1]))) == 0
    assert mediation.duplicates == 1
    at(mediation, RETENTION + 3600.0)  # now it is
    out = mediation.process(batch([1]))
    assert out["record_id"].tolist() == [1]
    assert mediation.duplicates == 1


def test_assembled_sessions_are_remembered_for_the_retention(mediation: Mediation) -> None:
    """A part of a session assembled up to the retention ago is a late part; after that the
    session is forgotten and the part starts a session of its own."""
    at(mediation, 100.0)
    mediation.process(parts(5, [1, 2], last=2))
    assert mediation.assembled == 1
    at(mediation, 100.0 + RETENTION)
    assert size(mediation.process(parts(5, [3], last=3, t0=-7200.0))) == 0
    assert mediation.late_parts == 1 and mediation.held_parts == 0
    at(mediation, 101.0 + RETENTION)
    assert size(mediation.process(parts(5, [4], last=4, t0=-7200.0))) == 0
    assert mediation.late_parts == 1 and mediation.held_parts == 1


def test_dedup_by_charging_id_and_record_sequence(mediation: Mediation) -> None:
    """Partial records of one long session share a charging id; their sequence numbers tell
    them apart, and a partial record sent twice is a duplicate."""
    b = batch([10, 11, 12, 13], kinds=[1] * 4, nodes=[2] * 4, volumes=[5] * 4)
    b.columns["charging_id"] = np.array([77, 77, 77, 78], dtype=np.int64)
    b.columns["seq"] = np.array([1, 2, 1, 1], dtype=np.int64)
    out = mediation.process(b)
    # 77's parts 1 and 2 (the last: its cause is not a partial-record cause) and 78's only
    # part are complete sessions: assembled, each named by its closing record
    assert out["record_id"].tolist() == [11, 13]
    assert out["charging_id"].tolist() == [77, 78]
    assert out["parts"].tolist() == [2, 1]
    assert out["volume_bytes"].tolist() == [10, 5]
    assert mediation.duplicates == 1


def test_unguidable_records_wait_in_suspense_and_are_recycled(mediation: Mediation) -> None:
    out = mediation.process(batch([1, 2, 3], subs=[9, 1, 9]))
    assert out["record_id"].tolist() == [2]
    assert (mediation.suspended, mediation.in_suspense) == (2, 2)
    at(mediation, 3600.0)
    assert mediation.recycle() == {} or mediation.in_suspense == 2  # still unknown
    assert mediation.in_suspense == 2
    at(mediation, 5000.0)
    out = mediation.recycle()
    assert out["record_id"].tolist() == [1, 3]
    assert (mediation.recycled, mediation.in_suspense) == (2, 0)
    # the line is known from 5,000 s on: a record arriving then is guided at once
    assert mediation.process(batch([4], subs=[9]))["record_id"].tolist() == [4]
    assert mediation.suspended == 2
    rows = cdrs(mediation)
    assert [(r["record_id"], r["state"], r["reason"], r["received"], r["processed"])
            for r in rows] == [
        (1, "recycled", "not guidable yet", 0.0, 0.0), (2, "guided", "", 0.0, 0.0),
        (3, "recycled", "not guidable yet", 0.0, 0.0),
        (1, "guided", "", 0.0, 5000.0), (3, "guided", "", 0.0, 5000.0),
        (4, "guided", "", 5000.0, 5000.0)]


def test_suspense_gives_up_after_the_maximum_age(mediation: Mediation) -> None:
    mediation.guidable_from[9] = np.inf  # never provisioned
    at(mediation, 3600.0)
    mediation.process(batch([1], subs=[9], start=3600.0))  # into suspense an hour in
    at(mediation, 4 * 3600.0 - 1.0)  # a second short of the three hours' maximum age
    assert size(mediation.recycle()) == 0 and mediation.in_suspense == 1
    at(mediation, 4 * 3600.0)
    out = mediation.recycle()
    assert out["record_id"].size == 0
    assert (mediation.unguidable, mediation.in_suspense) == (1, 0)
    assert cdrs(mediation)[-1]["reason"] == "unguidable"


def test_suspense_counters_add_up_over_recycles(mediation: Mediation) -> None:
    """Each retry adds to the counters; a record in suspense is written off by its own
    line's bill cycle (bill cycle groups close at different instants)."""
    mediation.guidable_from[8] = 6000.0  # another new line, known later
    mediation.guidable_from[7] = np.inf  # a line mediation never learns of
    mediation.process(batch([1, 2], subs=[3, 3], start=100.0), too_late_before=101.0)
    assert mediation.too_late == 1  # record 1, before any suspense
    mediation.process(batch([11, 12, 13, 14], subs=[9, 8, 9, 7], start=200.0))
    assert mediation.in_suspense == 4
    at(mediation, 3600.0)
    mediation.process(batch([21], subs=[7], start=3600.0))
    assert mediation.suspended == 5
    at(mediation, 5000.0)
    closed = np.full(N_SUBS, -np.inf)
    closed[9] = 202.0  # line 9's cycle closed after record 11 (200 s), as 13 (202 s) began
    out = mediation.recycle(too_late_before=closed)
    assert out["record_id"].tolist() == [13]
    assert (mediation.recycled, mediation.too_late, mediation.in_suspense) == (1, 2, 3)
    at(mediation, 6000.0)
    assert mediation.recycle()["record_id"].tolist() == [12]
    assert (mediation.recycled, mediation.too_late, mediation.unguidable) == (2, 2, 0)
    at(mediation, 3 * 3600.0 + 200.0)  # record 14 has waited its three hours, 21 not yet
    mediation.recycle()
    assert (mediation.unguidable, mediation.in_suspense) == (1, 1)
    at(mediation, 4 * 3600.0)
    mediation.recycle()
    assert (mediation.unguidable, mediation.in_suspense) == (2, 0)
    assert (mediation.recycled, mediation.too_late) == (2, 2)


def test_records_of_a_line_that_has_left_are_rejected(make_sim: Callable[..., Sim]) -> None:
    leaves = np.full(N_SUBS, np.inf)
    leaves[3] = 100.0  # line 3 churned at 100 s
    m = Mediation(make_sim(horizon=86_400.0), N_SUBS, MediationSpec(), leaves=leaves)
    out = m.process(batch([1, 2, 3], subs=[3, 3, 4], start=99.0))  # at 99, 100 and 101 s
    assert out["record_id"].tolist() == [1, 3]
    assert (m.terminated, m.rejected) == (1, 0)  # a write-off, not an invalid record
    assert cdrs(m)[1]["reason"] == "terminated subscription"


def test_written_off_records_sent_again(make_sim: Callable[..., Sim]) -> None:
    """Records of a line that has left (line 0) and of a prepaid session served while the
    online charging was down (line 2) are remembered: sent again, they are duplicates.
    A record of a closed cycle is not remembered: sent again, it is written off again."""
    leaves = np.full(N_SUBS, np.inf)
    leaves[0] = 100.0
    uncharged = np.zeros(N_SUBS, dtype=bool)
    uncharged[2] = True
    m = Mediation(make_sim(horizon=86_400.0), N_SUBS, MediationSpec(), uncharged=uncharged,
                  leaves=leaves)

    def send() -> list[int]:
        b = batch([1, 2, 3, 4], subs=[0, 2, 1, 5], start=150.0)  # at 150–153 s
        b.columns["online"] = np.array([0, 2, 0, 0], dtype=np.int8)
        b.columns["start"][3] = 10.0  # record 4: of the closed cycle
        out = m.process(b, too_late_before=50.0)
        return out["record_id"].tolist() if out else []

    assert send() == [3]
    assert (m.terminated, m.fail_open, m.too_late, m.duplicates) == (1, 1, 1, 0)
    at(m, 60.0)
    assert send() == []
    assert (m.terminated, m.fail_open, m.too_late, m.duplicates) == (1, 1, 2, 3)
    assert [r["reason"] for r in cdrs(m)] == [
        "terminated subscription", "fail-open, not charged", "", "too late",
        "duplicate", "duplicate", "duplicate", "too late"]


def test_a_fail_open_session_in_parts_is_written_off_once_assembled(
        make_sim: Callable[..., Sim]) -> None:
    uncharged = np.zeros(N_SUBS, dtype=bool)
    uncharged[2] = True
    m = Mediation(make_sim(horizon=86_400.0), N_SUBS, MediationSpec(), uncharged=uncharged)
    for seq in (1, 2):
        p = parts(9, [seq], last=2, sub=2)
        p.columns["online"] = np.array([2], dtype=np.int8)
        assert size(m.process(p)) == 0
    assert (m.fail_open, m.assembled) == (1, 1)
    assert [(r["state"], r["reason"], r["parts"]) for r in cdrs(m)] == [
        ("received", "", 0), ("received", "", 0),
        ("rejected", "fail-open, not charged", 2)]


def test_a_duplicate_is_found_whatever_hours_come_before_it(mediation: Mediation) -> None:
    mediation.process(batch([1], start=3600.0))  # remembered under the hour 1–2
    # a record of the hour before (nothing remembered there) and record 1 again
    b = batch([2, 1])
    b.columns["start"] = np.array([0.0, 3600.0])
    assert mediation.process(b)["record_id"].tolist() == [2]
    assert mediation.duplicates == 1


def test_an_unknown_subscriber_is_rejected_whatever_the_bill_cycles(
        mediation: Mediation) -> None:
    """Per-line write-off instants are looked up for every record, even one of a line that
    does not exist (its number far below zero)."""
    closed = np.full(N_SUBS, -np.inf)
    closed[0] = 10.0  # line 0's cycle closed at 10 s, line 1's is open
    out = mediation.process(batch([1, 2, 3, 4], subs=[-1000, 0, 1, 10**6], start=5.0),
                            too_late_before=closed)
    assert out["record_id"].tolist() == [3]
    assert [r["reason"] for r in cdrs(mediation)] == [
        "unknown subscriber", "too late", "", "unknown subscriber"]


def test_records_of_a_closed_cycle_are_written_off(mediation: Mediation) -> None:
    out = mediation.process(batch([1, 2], start=100.0), too_late_before=101.0)
    assert out["record_id"].tolist() == [2]
    assert (mediation.too_late, mediation.rejected) == (1, 0)
    assert cdrs(mediation)[0]["reason"] == "too late"


def test_invalid_records_are_rejected_with_a_reason(mediation: Mediation) -> None:
    out = mediation.process(batch(
        [1, 2, 3, 4, 5, 6],
        subs=[0, N_SUBS, -1, 3, 4, 5],
        kinds=[0, 0, 0, 1, 3, 1],  # voice 0, data 1, SMS 2: 3 is no record type
        durations=[10, 10, 10, -1, 10, 10],
        volumes=[0, 0, 0, 100, 0, 200]))
    assert out["record_id"].tolist() == [1, 6]
    assert mediation.rejected == 4
    assert mediation.duplicates == 0
    rows = {r["record_id"]: r for r in cdrs(mediation)}
    assert len(rows) == 6  # every received record is kept, with its state
    assert rows[2]["reason"] == rows[3]["reason"] == "unknown subscriber"
    assert rows[4]["reason"] == "negative quantity"
    assert rows[5]["reason"] == "unknown record type"
    assert {rows[i]["state"] for i in (2, 3, 4, 5)} == {"rejected"}
    assert (rows[1]["state"], rows[1]["reason"]) == ("guided", "")


def test_a_rejected_record_does_not_count_as_seen(mediation: Mediation) -> None:
    mediation.process(batch([1, 2], subs=[99, 1]))  # record 1 is invalid
    out = mediation.process(batch([1], subs=[2]))  # resent, now valid
    assert out["record_id"].tolist() == [1]


def test_a_record_written_wrong_and_twice_is_one_reject_and_one_duplicate(
        mediation: Mediation) -> None:
    out = mediation.process(batch([1, 1, 2, 2], subs=[99, 99, 1, 1], durations=[60, 60, -5, -5]))
    assert out["record_id"].size == 0
    assert [r["reason"] for r in cdrs(mediation)] == [
        "unknown subscriber", "duplicate", "negative quantity", "duplicate"]
    assert (mediation.rejected, mediation.duplicates) == (2, 2)


def test_cdrs_table_records_when_each_batch_arrived(mediation: Mediation) -> None:
    sim = mediation.sim

    def feed() -> Any:
        mediation.process(batch([1, 2]))
        yield sim.env.timeout(300)
        mediation.process(batch([3]))

    sim.env.process(feed())
    sim.env.run(until=1000)
    assert [(r["record_id"], r["received"]) for r in cdrs(mediation)] == [
        (1, 0.0), (2, 0.0), (3, 300.0)]


def test_batch_after_a_fully_rejected_batch(mediation: Mediation) -> None:
    mediation.process(batch([1], subs=[99]))  # nothing accepted
    out = mediation.process(batch([2], subs=[1]))
    assert out["record_id"].tolist() == [2]


def test_unreadable_batches_are_logged_when_they_arrive_and_counted(
        mediation: Mediation) -> None:
    at(mediation, 300.0)
    bad = batch([1, 2])
    bad.columns["start"] = np.array([np.nan, 5.0])
    mediation.process(bad)
    at(mediation, 400.0)
    worse = batch([3])
    worse.columns["duration_s"] = np.array([10**19], dtype=np.uint64)
    mediation.process(worse)
    assert (mediation.unreadable, mediation.rejected, mediation.received) == (2, 2, 3)
    rows = [r for r in cdrs(mediation) if r["state"] == "rejected"]
    assert [(r["received"], r["processed"]) for r in rows] == [(300.0, 300.0), (400.0, 400.0)]


# --- assembly of partial records ------------------------------------------------------------

TIME_LIMIT, ABNORMAL = 17, 4


def size(out: dict[str, np.ndarray]) -> int:
    return int(out["record_id"].size) if out else 0


def parts(charging: int, seqs: Sequence[int], last: int, cause: int = 0, sub: int = 2,
          volume: int = 1000, t0: float = 0.0, node: int = 2) -> UsageBatch:
    """Parts ``seqs`` of a data session written as ``last`` partial records of an hour each;
    record ids are charging·100 + seq."""
    n = len(seqs)
    seq = np.array(seqs, dtype=np.int64)
    return UsageBatch({
        "record_id": charging * 100 + seq, "charging_id": np.full(n, charging, np.int64),
        "seq": seq, "node_id": np.full(n, node, np.int64), "sub": np.full(n, sub, np.int64),
        "kind": np.ones(n, np.int8), "start": t0 + (seq - 1) * 3600.0,
        "duration_s": np.full(n, 3600, np.int64), "volume_bytes": volume * seq,
        "uplink_bytes": seq.copy(), "downlink_bytes": volume * seq - seq,
        "cause": np.where(seq == last, cause, TIME_LIMIT).astype(np.int8),
    })


def test_parts_arriving_out_of_order_are_assembled_once_complete(mediation: Mediation) -> None:
    assert size(mediation.process(parts(5, [3, 1], last=3, cause=ABNORMAL))) == 0
    assert mediation.held_parts == 2
    out = mediation.process(parts(5, [2], last=3))
    assert sorted(out) == sorted(COLUMNS)  # one record, with a record's columns
    assert out["charging_id"].tolist() == [5] and out["parts"].tolist() == [3]
    assert out["record_id"].tolist() == [503]  # named by its closing record
    assert out["start"].tolist() == [0.0]  # the session's start: the first part's
    assert out["duration_s"].tolist() == [3 * 3600]
    assert out["volume_bytes"].tolist() == [6000]  # 1000 + 2000 + 3000
    assert out["uplink_bytes"].tolist() == [6]
    assert out["cause"].tolist() == [ABNORMAL]  # the last part's real cause
    assert out["seq"].tolist() == [0]
    assert (mediation.partials, mediation.assembled, mediation.incomplete) == (3, 1, 0)
    assert mediation.held_parts == 0
    rows = cdrs(mediation)
    assert [r["state"] for r in rows] == ["received"] * 3 + ["guided"]
    assert rows[-1]["parts"] == 3


@pytest.mark.parametrize(("a", "b"), [
    ((0, 5), (1, 5)),  # one charging id on two recording entities
    ((0, 2**43), (1, 0)),  # the widest charging ids do not run into the entity's bits
    ((127, 2**44 - 1), (126, 2**44 - 1)),  # the highest entity and charging id intake allows
])
def test_sessions_are_told_apart_by_recording_entity_and_charging_id(
        mediation: Mediation, a: tuple[int, int], b: tuple[int, int]) -> None:
    (node_a, charging_a), (node_b, charging_b) = a, b
    first = parts(charging_a, [1, 2], last=2, volume=1000, node=node_a)
    second = parts(charging_b, [1, 2], last=2, volume=10, node=node_b)
    # distinct record ids: the partial records' own ids may collide across entities
    second.columns["record_id"] = np.array([901, 902], dtype=np.int64)
    first.columns["record_id"] = np.array([801, 802], dtype=np.int64)
    out = mediation.process(UsageBatch({k: np.concatenate([first.columns[k], second.columns[k]])
                                        for k in first.columns}))
    got = sorted(zip(out["node_id"].tolist(), out["volume_bytes"].tolist(),
                     out["parts"].tolist(), strict=True))
    assert got == sorted([(node_a, 3000, 2), (node_b, 30, 2)])
    assert mediation.duplicates == 0


def test_duplicate_partials_are_rejected_and_not_summed(mediation: Mediation) -> None:
    mediation.process(parts(6, [1, 2], last=3))
    out = mediation.process(parts(6, [2, 3, 1], last=3))
    assert out["volume_bytes"].tolist() == [6000]
    assert mediation.duplicates == 2
    assert out["parts"].tolist() == [3]


def test_sessions_assembled_now_come_out_in_the_order_their_records_were_written(
        mediation: Mediation) -> None:
    """Single records 1 and 5 and a session closed by record 403 (parts 401–403) in one
    batch: the records come out by record id, as the network wrote them."""
    b = batch([1, 5], subs=[3, 3])
    s = parts(4, [1, 2, 3], last=3)
    s.columns["record_id"] = np.array([2, 4, 3], dtype=np.int64)  # written between 1 and 5
    both = UsageBatch({k: np.concatenate([b.columns[k], s.columns[k]])
                       for k in ("record_id", "node_id", "sub", "kind", "start",
                                 "duration_s", "volume_bytes", "cause")}
                      | {k: np.concatenate([np.zeros(2, np.int64), s.columns[k]])
                         for k in ("charging_id", "seq")})
    both.columns["charging_id"][:2] = [51, 52]
    out = mediation.process(both)
    assert out["record_id"].tolist() == [1, 3, 5]
    assert out["parts"].tolist() == [0, 3, 0]


@pytest.mark.parametrize("wanted", [("record_id", "sub", "parts"), ("parts", "start"), COLUMNS])
def test_asked_for_some_columns_the_guided_records_are_the_same(
        make_sim: Callable[..., Sim], wanted: tuple[str, ...]) -> None:
    """``columns`` trims what comes out, not which records: the same rows in the same order
    (a duplicate and an unknown line rejected, a session assembled among single records,
    a record of a line not guidable yet), and the same log."""
    def run(columns: tuple[str, ...] | None) -> tuple[list[dict[str, np.ndarray]], list[Any]]:
        spec = MediationSpec(dedup_retention=RETENTION, suspense_max_age=3 * 3600.0)
        guidable_from = np.full(N_SUBS, -np.inf)
        guidable_from[9] = 5000.0
        m = Mediation(make_sim(horizon=86_400.0), N_SUBS, spec, guidable_from)
        b = batch([1, 5, 6, 7, 7], subs=[3, 9, 42, 4, 4])
        s = parts(4, [1, 2, 3], last=3)
        s.columns["record_id"] = np.array([2, 4, 3], dtype=np.int64)
        both = UsageBatch({k: np.concatenate([b.columns[k], s.columns[k]])
                           for k in ("record_id", "node_id", "sub", "kind", "start",
                                     "duration_s", "volume_bytes", "cause")}
                          | {k: np.concatenate([np.zeros(5, np.int64), s.columns[k]])
                             for k in ("charging_id", "seq")})
        both.columns["charging_id"][:5] = [51, 52, 53, 54, 54]
        outs = [m.process(both, columns=columns), m.process(batch([8]), columns=columns)]
        return outs, cdrs(m)

    (full, log_full), (some, log_some) = run(None), run(wanted)
    assert full[0]["record_id"].tolist() == [1, 3, 7]  # 5 waits, 6 unknown, a 7 repeated
    for f, s in zip(full, some, strict=True):
        assert list(s) == list(wanted)
        for k in wanted:
            assert s[k].tolist() == f[k].tolist(), k
    assert log_some == log_full


def test_records_with_the_same_id_keep_the_order_they_came_in(mediation: Mediation) -> None:
    """Two recording entities number their records alike (ids 0–299 each, interleaved); a
    session closed by record 151 comes out after the single records numbered 151, and
    records of one id keep the order they arrived in (enough of them that an unstable sort
    would mix them)."""
    ids = np.repeat(np.arange(300), 2)
    nodes = np.tile([1, 3], 300)
    single = batch(ids.tolist(), subs=[3] * 600, nodes=nodes.tolist())
    single.columns["charging_id"] = nodes * 1000 + ids
    single.columns["seq"] = np.zeros(600, np.int64)
    s = parts(5, [1, 2], last=2)
    s.columns["record_id"] = np.array([150, 151])
    out = mediation.process(UsageBatch({k: np.concatenate([single.columns[k], s.columns[k]])
                                        for k in single.columns}))
    came = [(int(i), int(n)) for i, n in zip(ids, nodes, strict=True)] + [(151, 2)]
    assert list(zip(out["record_id"].tolist(), out["node_id"].tolist(), strict=True)) == \
        sorted(came, key=lambda r: r[0])  # Python's sort is stable


def test_late_and_repeated_parts_of_assembled_sessions(mediation: Mediation) -> None:
    """Two sessions assembled (charging ids 4 and 5); then, in one batch, a part of each
    that was never sent (late), a part of 5 sent again (a duplicate, not a late part), a
    single record and the first part of a new session: only the single record goes on."""
    mediation.process(parts(4, [1, 2], last=2))
    mediation.process(parts(5, [1, 2], last=2))
    assert mediation.assembled == 2
    late = [parts(4, [3], last=3), parts(5, [3], last=3), parts(5, [2], last=2),
            parts(6, [1], last=2)]
    one = batch([900], subs=[3])
    cols = {k: np.concatenate([*(p.columns[k] for p in late), one.columns[k]])
            for k in ("record_id", "node_id", "sub", "kind", "start", "duration_s",
                      "volume_bytes", "cause")}
    cols["charging_id"] = np.array([4, 5, 5, 6, 900])
    cols["seq"] = np.array([3, 3, 2, 1, 0])
    out = mediation.process(UsageBatch(cols))
    assert out["record_id"].tolist() == [900]
    assert (mediation.late_parts, mediation.duplicates, mediation.held_parts) == (2, 1, 1)
    assert [r["reason"] for r in cdrs(mediation)][-5:] == [
        "late partial record", "late partial record", "duplicate", "", ""]


def test_a_lost_partial_leaves_the_session_waiting_until_the_assembly_timeout(
        make_sim: Callable[..., Sim]) -> None:
    spec = MediationSpec(assembly_timeout=7200.0)
    m = Mediation(make_sim(horizon=86_400.0), N_SUBS, spec)
    assert size(m.process(parts(7, [1], last=3))) == 0
    at(m, 1000.0)
    assert size(m.process(parts(7, [3], last=3))) == 0  # part 2 lost on the way
    at(m, 8199.0)
    assert size(m.recycle()) == 0  # within the timeout of the latest part's arrival
    at(m, 8200.0)
    out = m.recycle()  # the aggregation timer expired: rated from the parts received
    assert out["parts"].tolist() == [2] and out["volume_bytes"].tolist() == [4000]
    assert (m.assembled, m.incomplete) == (1, 1)
    # the missing part turns up after all: its session was rated, it is rejected
    assert size(m.process(parts(7, [2], last=3))) == 0
    assert m.late_parts == 1
    assert cdrs(m)[-1]["reason"] == "late partial record"
    # another session missing a part times out later: the counters add up
    m.process(parts(8, [1], last=2))
    at(m, 8200.0 + 7200.0)
    assert m.recycle()["charging_id"].tolist() == [8]
    assert (m.assembled, m.incomplete) == (2, 2)


def test_a_session_assembled_incomplete_is_remembered_past_the_retention(
        make_sim: Callable[..., Sim]) -> None:
    """A part held back in a file re-sent days later, after its session timed out and was
    rated from the other parts: rejected as a late part however late it comes (a second
    record of the session would rate it twice) — while a complete session is forgotten with
    the dedup keys."""
    spec = MediationSpec(assembly_timeout=3600.0, dedup_retention=RETENTION)
    m = Mediation(make_sim(horizon=30 * 86_400.0), N_SUBS, spec)
    m.process(parts(7, [1, 3], last=3))  # part 2 held back
    m.process(parts(8, [1, 2], last=2))  # complete
    at(m, 3600.0)
    assert m.recycle()["charging_id"].tolist() == [7]
    assert (m.assembled, m.incomplete) == (2, 1)
    at(m, 20 * 86_400.0)  # long past the retention of keys and assembled sessions
    assert size(m.process(parts(7, [2], last=3))) == 0
    assert (m.late_parts, m.held_parts) == (1, 0)
    assert cdrs(m)[-1]["reason"] == "late partial record"
    assert m.closed.tolist() == sorted(session_key({
        "node_id": np.array([2]), "charging_id": np.array([7])}).tolist())  # 8 forgotten


def test_a_retry_returns_the_suspense_it_guided_and_the_sessions_that_timed_out(
        make_sim: Callable[..., Sim]) -> None:
    guidable_from = np.full(N_SUBS, -np.inf)
    guidable_from[9] = 5000.0
    m = Mediation(make_sim(horizon=86_400.0), N_SUBS, MediationSpec(assembly_timeout=3600.0),
                  guidable_from)
    assert size(m.process(batch([1], subs=[9]))) == 0  # into suspense
    assert size(m.process(parts(5, [1], last=2))) == 0  # its session's last part never comes
    at(m, 5000.0)
    out = m.recycle()
    assert sorted(out) == sorted(COLUMNS)  # the records' columns, nothing of the suspense's
    assert sorted(out["record_id"].tolist()) == [1, 501]
    assert (m.recycled, m.assembled, m.incomplete) == (1, 1, 1)


def test_held_sessions_are_flushed_at_the_end_of_the_run(mediation: Mediation) -> None:
    mediation.process(parts(8, [1, 2], last=4))
    out = mediation.assemble(flush=True)
    assert out["charging_id"].tolist() == [8] and out["volume_bytes"].tolist() == [3000]
    assert mediation.incomplete == 1 and mediation.held_parts == 0
