"""Usage records as the recording entities write them: partial records of long data
sessions (parts add up to the whole, contiguous sequence numbers, the right causes), voice
records charged from answer to release, B-numbers."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from twin.kernel import Sim
from twin.messages import (
    ABNORMAL_RELEASE,
    NORMAL_RELEASE,
    TIME_LIMIT,
    UNSUCCESSFUL_CALL_ATTEMPT,
    VOLUME_LIMIT,
    SubscriberBase,
)
from twin.network.records import ABROAD, OFF_NET, Recorder
from twin.scenario.schema import UsageRecordSpec

N = 2000


def subscribers(n: int = 100) -> SubscriberBase:
    return SubscriberBase(("c1",), ("o",), np.zeros(n, np.int32), np.zeros(n, np.int16),
                          np.arange(n, dtype=np.int32))


def sessions(seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    start = rng.random(N) * 900.0
    intended = rng.lognormal(np.log(3000.0), 1.2, N)
    volume = np.floor(rng.lognormal(np.log(50e6), 1.5, N))
    actual = intended.copy()
    dropped = rng.random(N) < 0.2  # cut short by a fault
    actual[dropped] *= rng.random(int(dropped.sum()))
    return {"id": np.arange(1, N + 1, dtype=np.int64), "sub": rng.integers(0, 100, N),
            "start": start, "end": start + intended, "volume": volume, "actual": actual,
            "bytes": np.floor(volume * actual / intended).astype(np.int64),
            "dropped": dropped}


def write(rec: Recorder, s: dict[str, np.ndarray], step: float = 900.0) -> dict[str, np.ndarray]:
    """All records of the sessions, interval by interval as the traffic engine writes them:
    partial records as their limits pass, the last record when the session ends."""
    out = []
    real_end = s["start"] + s["actual"]
    t = 0.0
    while (real_end > t).any():
        t1 = t + step
        live = real_end > t  # still up at the interval's start: the engine still has them
        idx = np.flatnonzero(live)
        # the engine knows only the planned end until a fault cuts a session
        known = np.where(real_end[idx] <= t1, real_end[idx], s["end"][idx])
        out.append(rec.data_partials(s["id"][idx], s["sub"][idx], s["start"][idx],
                                     s["end"][idx], s["volume"][idx], known, t, t1))
        ends = idx[real_end[idx] <= t1]
        out.append(rec.data(s["id"][ends], s["sub"][ends], s["start"][ends], s["end"][ends],
                            s["volume"][ends], s["actual"][ends], s["bytes"][ends],
                            s["dropped"][ends]))
        t = t1
    return {k: np.concatenate([p[k] for p in out]) for k in out[0]}


@pytest.fixture
def sim(make_sim: Callable[..., Sim]) -> Sim:
    return make_sim()


@pytest.mark.parametrize("volume_mb", [None, 20.0])
def test_partial_records_add_up_to_the_session(sim: Sim, volume_mb: float | None) -> None:
    spec = UsageRecordSpec(partial_time_limit=1800.0, partial_volume_limit_mb=volume_mb)
    s = sessions()
    r = write(Recorder(sim, spec, subscribers()), s)
    order = np.lexsort((r["seq"], r["charging_id"]))
    r = {k: v[order] for k, v in r.items()}
    ids, first, count = np.unique(r["charging_id"], return_index=True, return_counts=True)
    assert ids.tolist() == s["id"].tolist()  # every session written
    assert np.unique(r["record_id"]).size == r["record_id"].size  # record ids unique
    # the parts add up to the session: volume exactly, chargeable seconds too
    vol = np.add.reduceat(r["volume_bytes"], first)
    assert vol.tolist() == s["bytes"].tolist()
    dur = np.add.reduceat(r["duration_s"], first)
    assert dur.tolist() == np.ceil(s["actual"]).astype(np.int64).tolist()
    assert (r["uplink_bytes"] + r["downlink_bytes"] == r["volume_bytes"]).all()
    assert (r["volume_bytes"] >= 0).all() and (r["duration_s"] >= 0).all()
    multi = count > 1
    assert multi.sum() > N // 4  # plenty of long sessions
    # one record: sequence 0; several: 1..n, contiguous, in time order
    assert (r["seq"][first[~multi]] == 0).all()
    rows = np.repeat(multi, count)
    expect = np.arange(r["seq"].size) - np.repeat(first, count) + 1
    assert (r["seq"][rows] == expect[rows]).all()
    last = first + count - 1
    # the last record carries the real cause, the others a partial-record cause
    real = np.where(s["dropped"], ABNORMAL_RELEASE, NORMAL_RELEASE)
    assert (r["cause"][last] == real).all()
    partial = np.ones(r["seq"].size, dtype=bool)
    partial[last] = False
    closing = set(np.unique(r["cause"][partial]).tolist())
    assert closing <= {TIME_LIMIT, VOLUME_LIMIT}
    if volume_mb is None:
        assert closing == {TIME_LIMIT}
        assert (r["duration_s"][partial] == 1800).all()
    else:
        assert closing == {TIME_LIMIT, VOLUME_LIMIT}
        # a volume-limited part moved the limit (±1 byte of rounding), time-limited less
        vl = partial & (r["cause"] == VOLUME_LIMIT)
        assert np.abs(r["volume_bytes"][vl] - volume_mb * 1e6).max() <= 1
        assert (r["volume_bytes"][partial & (r["cause"] == TIME_LIMIT)]
                <= volume_mb * 1e6 + 1).all()
    # each record opens where the one before closed
    opened = r["start"]
    closed = r["release"]
    same = np.repeat(np.arange(ids.size), count)
    cont = same[1:] == same[:-1]
    assert np.allclose(opened[1:][cont], closed[:-1][cont])
    assert np.allclose(opened[first], s["start"])


def test_without_a_limit_every_session_is_one_record(sim: Sim) -> None:
    spec = UsageRecordSpec(partial_time_limit=None)
    s = sessions()
    r = write(Recorder(sim, spec, subscribers()), s)
    assert r["seq"].tolist() == [0] * N
    assert sorted(r["volume_bytes"].tolist()) == sorted(s["bytes"].tolist())


def test_voice_records_are_charged_from_answer_to_release(sim: Sim) -> None:
    rec = Recorder(sim, UsageRecordSpec(answer_delay_mean_s=6.0), subscribers())
    ids = np.arange(1, 20_001, dtype=np.int64)
    ring = rec.answer_delay(ids)
    assert ring.mean() == pytest.approx(6.0, rel=0.03)  # exponential, mean 6 s
    assert (rec.answer_delay(ids) == ring).all()  # the same call: the same delay
    actual = np.full(ids.size, 30.0)
    dropped = np.zeros(ids.size, dtype=bool)
    dropped[:100] = True
    r = rec.voice(ids, ids % 100, np.zeros(ids.size), actual, ring, dropped)
    talk = np.ceil(np.maximum(30.0 - ring, 0)).astype(np.int64)
    assert r["duration_s"].tolist() == talk.tolist()
    assert np.allclose(r["answer"], np.minimum(ring, 30.0))
    assert (r["release"] == 30.0).all()
    unanswered = ring >= 30.0
    assert unanswered[100:].any()
    assert (r["cause"][100:][unanswered[100:]] == UNSUCCESSFUL_CALL_ATTEMPT).all()
    assert (r["cause"][100:][~unanswered[100:]] == NORMAL_RELEASE).all()
    assert (r["cause"][:100] == ABNORMAL_RELEASE).all()
    assert (r["calling"] == 491_700_000_000 + ids % 100).all()


def test_b_numbers_on_net_off_net_and_abroad(sim: Sim) -> None:
    spec = UsageRecordSpec(on_net_share=0.6, international_share=0.1)
    rec = Recorder(sim, spec, subscribers(100))
    ids = np.arange(1, 50_001, dtype=np.int64)
    sub = ids % 100
    b = rec.called(ids, sub)
    on_net = (b >= 491_700_000_000) & (b < 491_700_000_100)
    abroad = (b >= ABROAD) & (b < ABROAD + 10**9)
    off = (b >= OFF_NET) & (b < OFF_NET + 10**8)
    assert (on_net | abroad | off).all()
    assert on_net.mean() == pytest.approx(0.6, abs=0.01)
    assert abroad.mean() == pytest.approx(0.1, abs=0.005)
    assert (b[on_net] != 491_700_000_000 + sub[on_net]).all()  # nobody calls themselves
    called = b[on_net] - 491_700_000_000
    assert np.unique(called).size == 100
