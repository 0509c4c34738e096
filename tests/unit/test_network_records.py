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
    SMS,
    TIME_LIMIT,
    UNSUCCESSFUL_CALL_ATTEMPT,
    VOICE,
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


class _Reference:
    """The records' arithmetic as whole-array numpy steps (how it was first written): the
    compiled loops must give the same values, bit for bit."""

    def __init__(self, rec: Recorder) -> None:
        self.rec, self.spec = rec, rec.spec

    def part_length(self, start: np.ndarray, intended_end: np.ndarray,
                    volume: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = start.size
        t_lim = self.spec.partial_time_limit
        length = np.full(n, np.inf if t_lim is None else float(t_lim))
        cause = np.full(n, TIME_LIMIT, dtype=np.int8)
        if self.spec.partial_volume_limit_mb is not None:
            intended = intended_end - start
            v_len = np.full(n, np.inf)
            moving = (volume > 0) & (intended > 0)
            v_len[moving] = (self.spec.partial_volume_limit_mb * 1_000_000 * intended[moving]
                             / volume[moving])
            by_volume = v_len < length
            length = np.where(by_volume, v_len, length)
            cause[by_volume] = VOLUME_LIMIT
        return length, cause

    @staticmethod
    def boundaries(start: np.ndarray, length: np.ndarray, t: float | np.ndarray) -> np.ndarray:
        k = np.floor(np.divide(t - start, length, out=np.zeros(start.size),
                               where=np.isfinite(length)))
        return np.maximum(k, 0).astype(np.int64)

    @staticmethod
    def before_end(start: np.ndarray, length: np.ndarray, end: np.ndarray) -> np.ndarray:
        k = np.ceil(np.divide(end - start, length, out=np.zeros(start.size),
                              where=np.isfinite(length))) - 1
        return np.maximum(k, 0).astype(np.int64)

    @staticmethod
    def cum_bytes(volume: np.ndarray, intended: np.ndarray, covered: np.ndarray) -> np.ndarray:
        frac = np.divide(covered, intended, out=np.zeros(covered.size), where=intended > 0)
        return np.floor(volume * frac).astype(np.int64)

    def uplink(self, ids: np.ndarray, volume: np.ndarray) -> np.ndarray:
        share = np.minimum(self.spec.uplink_share_mean * (0.5 + self.rec.unit(ids, 3)), 1.0)
        return np.floor(volume * share).astype(np.int64)

    def data(self, sid: np.ndarray, start: np.ndarray, intended_end: np.ndarray,
             volume: np.ndarray, actual: np.ndarray, actual_bytes: np.ndarray,
             dropped: np.ndarray) -> dict[str, np.ndarray]:
        length, _ = self.part_length(start, intended_end, volume)
        n_before = self.before_end(start, length, start + actual)
        covered = n_before * np.where(np.isfinite(length), length, 0.0)
        vol = actual_bytes - self.cum_bytes(volume, intended_end - start, covered)
        up = self.uplink(sid, vol)
        return {"start": start + covered, "release": start + actual,
                "duration_s": np.ceil(actual).astype(np.int64) - np.floor(covered).astype(
                    np.int64),
                "uplink_bytes": up, "downlink_bytes": vol - up,
                "cause": np.where(dropped, ABNORMAL_RELEASE, NORMAL_RELEASE).astype(np.int8),
                "seq": np.where(n_before > 0, n_before + 1, 0)}

    def partials(self, sid: np.ndarray, start: np.ndarray, intended_end: np.ndarray,
                 volume: np.ndarray, end: np.ndarray, t0: float,
                 t1: float | np.ndarray) -> dict[str, np.ndarray]:
        length, why = self.part_length(start, intended_end, volume)
        last = np.minimum(self.boundaries(start, length, t1),
                          self.before_end(start, length, end))
        first = np.minimum(self.boundaries(start, length, t0), last)
        m = last - first
        rows = np.repeat(np.arange(sid.size), m)
        k = np.arange(rows.size) - np.repeat(np.cumsum(m) - m, m) + first[rows] + 1
        s, ln = start[rows], length[rows]
        hi, lo = k * ln, (k - 1) * ln
        intended = intended_end[rows] - s
        vol = (self.cum_bytes(volume[rows], intended, hi)
               - self.cum_bytes(volume[rows], intended, lo))
        up = self.uplink(sid[rows], vol)
        return {"charging_id": sid[rows], "start": s + lo, "release": s + hi,
                "duration_s": np.floor(hi).astype(np.int64) - np.floor(lo).astype(np.int64),
                "uplink_bytes": up, "downlink_bytes": vol - up, "cause": why[rows],
                "seq": k}


@pytest.mark.parametrize(("time_limit", "volume_mb"),
                         [(1800.0, None), (1800.0, 20.0), (None, 5.0), (None, None),
                          (30.0, 2.0)])
@pytest.mark.parametrize("seed", [1, 2])
def test_compiled_records_equal_the_whole_array_arithmetic(
        sim: Sim, time_limit: float | None, volume_mb: float | None, seed: int) -> None:
    """Sessions of every odd shape (no volume, no time wanted, cut short, ending on a
    boundary, limits of half a minute and of two megabytes): the same records as the arithmetic
    of whole arrays, to the bit, whether ``t1`` is one instant or one per session."""
    rec = Recorder(sim, UsageRecordSpec(partial_time_limit=time_limit,
                                        partial_volume_limit_mb=volume_mb), subscribers())
    ref = _Reference(rec)
    rng = np.random.default_rng(seed)
    n = 3000
    start = rng.random(n) * 900.0
    intended = np.where(rng.random(n) < 0.1, 0.0,
                        np.minimum(rng.lognormal(np.log(3000.0), 1.5, n), 20_000.0))
    intended[:50] = 1800.0 * rng.integers(1, 4, 50)  # ends exactly on a boundary
    volume = np.where(rng.random(n) < 0.1, 0.0,
                      np.floor(np.minimum(rng.lognormal(np.log(5e7), 2, n), 2e8)))
    actual = intended * np.where(rng.random(n) < 0.3, rng.random(n), 1.0)
    dropped = actual < intended
    sid = rng.integers(1, 2**40, n)
    got = rec.data(sid, np.zeros(n, np.int64), start, start + intended, volume, actual,
                   np.floor(volume * np.divide(actual, intended, out=np.zeros(n),
                                               where=intended > 0)).astype(np.int64),
                   dropped)
    want = ref.data(sid, start, start + intended, volume, actual,
                    np.floor(volume * np.divide(actual, intended, out=np.zeros(n),
                                                where=intended > 0)).astype(np.int64),
                    dropped)
    for k, v in want.items():
        np.testing.assert_array_equal(got[k], v, err_msg=k)
    for t0, t1 in ((0.0, 900.0), (900.0, 1800.0), (2700.0, start + intended)):
        got = rec.data_partials(sid, np.zeros(n, np.int64), start, start + intended, volume,
                                start + actual, t0, t1)
        want = ref.partials(sid, start, start + intended, volume, start + actual, t0, t1)
        for k, v in want.items():
            np.testing.assert_array_equal(got[k], v, err_msg=f"{k} ({t0}, {t1})")
    assert rec.partials_written > 0 or (time_limit is None and volume_mb is None)


def _called_reference(rec: Recorder, ids: np.ndarray, sub: np.ndarray) -> np.ndarray:
    """B-numbers as whole-array numpy steps (how they were first written)."""
    u, v = rec.unit(ids, 1), rec.unit(ids, 2)
    n = rec.subs.count
    other = np.floor(v * max(n - 1, 1)).astype(np.int64)
    other = other + (other >= sub)
    on_net = (u < rec.spec.on_net_share) & (n > 1)
    abroad = ~on_net & (u >= 1.0 - rec.spec.international_share)
    return np.where(on_net, rec.subs.msisdn(np.minimum(other, n - 1)),
                    np.where(abroad, ABROAD + np.floor(v * 1e9).astype(np.int64),
                             OFF_NET + np.floor(v * 1e8).astype(np.int64)))


@pytest.mark.parametrize("n_subs", [1, 2, 100])
def test_compiled_calls_and_messages_equal_the_whole_array_arithmetic(sim: Sim,
                                                                       n_subs: int) -> None:
    """A batch's voice and SMS records, gathered from its served rows in the compiled loop,
    are the numpy arithmetic of the rows taken first — calls answered, unanswered,
    dropped, released at their answer; B-numbers of a base of one line, two and many."""
    rec = Recorder(sim, UsageRecordSpec(on_net_share=0.5, international_share=0.2),
                   subscribers(n_subs))
    rng = np.random.default_rng(n_subs)
    n = 4000
    sid = rng.integers(1, 2**40, n)
    sub = rng.integers(0, n_subs, n)
    start = rng.random(n) * 900.0
    answer_s = rng.exponential(6.0, n)
    actual = np.where(rng.random(n) < 0.2, answer_s, rng.exponential(120.0, n))
    actual[:20] = 0.0
    dropped = rng.random(n) < 0.1
    rows = np.flatnonzero(rng.random(n) < 0.7)
    s, a, r, t = sid[rows], actual[rows], answer_s[rows], start[rows]
    np.testing.assert_array_equal(rec.called(sid, sub), _called_reference(rec, sid, sub))
    voice = rec.calls(VOICE, rows, sid, sub, start, actual, answer_s, dropped)
    release = t + a
    want = {"charging_id": s, "sub": sub[rows], "start": t,
            "duration_s": np.ceil(np.maximum(a - r, 0.0)).astype(np.int64),
            "cause": np.where(dropped[rows], ABNORMAL_RELEASE,
                              np.where(a > r, NORMAL_RELEASE,
                                       UNSUCCESSFUL_CALL_ATTEMPT)).astype(np.int8),
            "release": release, "answer": np.minimum(t + r, release),
            "calling": rec.subs.msisdn(sub[rows]),
            "called": _called_reference(rec, s, sub[rows]),
            "volume_bytes": np.zeros(rows.size, np.int64), "seq": np.zeros(rows.size, np.int64)}
    for k, v in want.items():
        np.testing.assert_array_equal(voice[k], v, err_msg=k)
        assert voice[k].dtype == v.dtype, k
    sms = rec.calls(SMS, rows, sid, sub, start)
    for k in ("charging_id", "sub", "start", "calling", "called"):
        np.testing.assert_array_equal(sms[k], want[k], err_msg=k)
    assert (sms["answer"] == t).all() and (sms["release"] == t).all()
    assert (sms["duration_s"] == 0).all() and (sms["cause"] == NORMAL_RELEASE).all()
    assert voice["record_id"].tolist() == list(range(1, rows.size + 1))
    assert sms["record_id"][0] == rows.size + 1


def test_data_records_of_some_rows_are_those_of_the_rows_taken_first(sim: Sim) -> None:
    rec = Recorder(sim, UsageRecordSpec(partial_time_limit=600.0), subscribers())
    rng = np.random.default_rng(5)
    n = 3000
    start = rng.random(n) * 900.0
    intended = rng.lognormal(np.log(1500.0), 1.0, n)
    volume = np.floor(rng.lognormal(np.log(5e7), 1.5, n))
    actual = intended * np.where(rng.random(n) < 0.3, rng.random(n), 1.0)
    moved = np.floor(volume * actual / intended).astype(np.int64)
    sid, sub, dropped = rng.integers(1, 2**40, n), rng.integers(0, 100, n), actual < intended
    rows = np.flatnonzero(rng.random(n) < 0.6)
    got = rec.data(sid, sub, start, start + intended, volume, actual, moved, dropped,
                   rows=rows)
    want = rec.data(sid[rows], sub[rows], start[rows], start[rows] + intended[rows],
                    volume[rows], actual[rows], moved[rows], dropped[rows])
    for k, v in want.items():
        if k != "record_id":
            np.testing.assert_array_equal(got[k], v, err_msg=k)


@pytest.mark.parametrize("online", [False, True])
def test_compiled_defects_equal_the_whole_array_arithmetic(sim: Sim, online: bool) -> None:
    """Records written wrong: the same draws, the same records rewritten (negative durations
    first, then identities outside the base), in place, as whole-array numpy steps gave."""
    spec = UsageRecordSpec(malformed_share=0.05, unknown_subscriber_share=0.05)
    rng = np.random.default_rng(9)
    n = 5000
    cols = {"record_id": np.arange(n, dtype=np.int64), "seq": rng.integers(0, 3, n) * (
        rng.random(n) < 0.3), "duration_s": rng.integers(0, 500, n),
            "sub": rng.integers(0, 100, n), "charging_id": rng.integers(1, 2**40, n)}
    if online:
        cols["online"] = (rng.random(n) < 0.2).astype(np.int8)
    mine = Recorder(sim, spec, subscribers())
    theirs = Recorder(sim, spec, subscribers())
    theirs.defect_rng = np.random.default_rng(1)
    mine.defect_rng = np.random.default_rng(1)
    u = theirs.defect_rng.random((2, n))
    eligible = cols["seq"] == 0
    if online:
        eligible &= cols["online"] == 0
    bad = eligible & (u[0] < spec.malformed_share)
    unknown = eligible & ~bad & (u[1] < spec.unknown_subscriber_share)
    dur = np.where(bad, -1 - cols["duration_s"], cols["duration_s"])
    sub = np.where(unknown, 100 + cols["charging_id"], cols["sub"])
    given = {k: v.copy() for k, v in cols.items()}
    got = mine.defects(given)
    np.testing.assert_array_equal(got["duration_s"], dur)
    np.testing.assert_array_equal(got["sub"], sub)
    assert got["duration_s"] is given["duration_s"]  # rewritten in place
    assert mine.malformed == bad.sum() > 0 and mine.unknown_subscriber == unknown.sum() > 0
