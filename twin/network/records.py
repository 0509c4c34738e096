"""Usage records as the network's recording entities write them (3GPP TS 32.298 shaped).

One call or session of the traffic engine becomes one record — or, for a data session
longer than the partial-record limit, several: like a taxi meter printing an interim receipt
every hour, the gateway closes a partial record (causeForRecClosing ``timeLimit`` or
``volumeLimit``) each time the limit is reached and opens the next with the same charging id
and the next recordSequenceNumber (1..n); the last record carries the real cause. Parts are
written when their limit is reached, not when the session ends.

* voice (MSC/IMS record): calling and called party, seizure (the attempt instant), answer
  (seizure plus a setup and ring delay), release, and the chargeable duration from answer to
  release in whole seconds; a call released before answer is an ``unsuccessfulCallAttempt``
  (duration 0), a call cut by a fault an ``abnormalRelease``;
* data (PGW-CDR): charging id, serving node, record sequence number, uplink and downlink
  volume (the session's volume split by its uplink share);
* SMS (SMS-MO record): originator, recipient, submission time.

A session's own fields (B-number, ring delay, uplink share) come from counter-based draws:
uniforms hashed from the session id with keys from the ``network.cdr.fields`` stream, so a
session gets the same values whichever of its records is written when, and the traffic
streams are untouched (common random numbers).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from twin.kernel import Sim
from twin.kernel.compiled import kernel
from twin.messages import (
    ABNORMAL_RELEASE,
    DATA,
    NORMAL_RELEASE,
    SMS,
    TIME_LIMIT,
    UNSUCCESSFUL_CALL_ATTEMPT,
    VOICE,
    VOLUME_LIMIT,
    SubscriberBase,
)
from twin.scenario.schema import UsageRecordSpec

Arr = npt.NDArray[Any]
NODE_IDS = {VOICE: 1, DATA: 2, SMS: 3}  # recording entities: msc1, pgw1, smsc1
MB = 1_000_000
OFF_NET = 491_500_000_000  # other national mobile networks: 49 15x xxxxxxxx
ABROAD = 447_000_000_000  # international: 44 7xxx xxxxxx


def _mix_one(x: np.uint64) -> np.uint64:
    """splitmix64's finaliser of one counter (wrapping 64-bit arithmetic)."""
    z = x + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    out: np.uint64 = z ^ (z >> np.uint64(31))
    return out


_mix = kernel(_mix_one, inline=True)


def _mix_rows(x: npt.NDArray[np.uint64], key: np.uint64, unit: bool,
              mixed: npt.NDArray[np.uint64], uniform: npt.NDArray[np.float64]) -> int:
    """Each ``x ^ key`` mixed, into ``mixed`` or, with ``unit``, as a uniform in [0, 1)
    (its top 53 bits) into ``uniform``: one pass, no temporary arrays."""
    for i in range(x.size):
        z = _mix(x[i] ^ key)
        if unit:
            uniform[i] = np.float64(z >> np.uint64(11)) / 9007199254740992.0  # 2^53
        else:
            mixed[i] = z
    return 0


_mix_loop = kernel(_mix_rows)
_NONE_U64, _NONE_F64 = np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.float64)


def _mixed(x: npt.NDArray[np.uint64], key: np.uint64, unit: bool) -> npt.NDArray[Any]:
    x = np.ascontiguousarray(x, dtype=np.uint64)
    out: npt.NDArray[Any] = np.empty(x.size, dtype=np.float64 if unit else np.uint64)
    with np.errstate(over="ignore"):  # wrapping is the point (uncompiled, numpy would warn)
        _mix_loop(x.reshape(-1), np.uint64(key), unit,
                  _NONE_U64 if unit else out, out if unit else _NONE_F64)
    return out.reshape(np.shape(x))


def splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 of each counter."""
    out: npt.NDArray[np.uint64] = _mixed(x, np.uint64(0), False)
    return out


def hashed_uniform(x: npt.NDArray[np.uint64], key: np.uint64) -> npt.NDArray[np.float64]:
    """A uniform in [0, 1) per counter ``x``, independent per ``key`` (counter-based: the
    value depends on nothing but the counter and the key)."""
    out: npt.NDArray[np.float64] = _mixed(x, key, True)
    return out


class Recorder:
    """Turns resolved calls and sessions into records; owns record ids and field draws."""

    def __init__(self, sim: Sim, spec: UsageRecordSpec, subs: SubscriberBase) -> None:
        self.spec, self.subs = spec, subs
        self.keys = sim.rng.stream("network.cdr.fields").integers(
            0, 2**63, size=4, dtype=np.int64).astype(np.uint64)
        self.next_record = 1
        self.partials_written = 0
        self.defect_rng = sim.rng.stream("network.cdr.defects")
        self.malformed = 0  # records written corrupt
        self.unknown_subscriber = 0  # records written with an identity the base lacks

    def unit(self, ids: Arr, field: int) -> npt.NDArray[np.float64]:
        """A uniform in [0, 1) per session id, one independent value per ``field``."""
        return hashed_uniform(np.asarray(ids).astype(np.uint64), self.keys[field])

    def answer_delay(self, ids: Arr) -> npt.NDArray[np.float64]:
        u = self.unit(ids, 0)
        out: npt.NDArray[np.float64] = -self.spec.answer_delay_mean_s * np.log1p(-u)
        return out

    def called(self, ids: Arr, sub: Arr) -> npt.NDArray[np.int64]:
        """B-numbers: another subscriber (on-net), another national network, or abroad."""
        u, v = self.unit(ids, 1), self.unit(ids, 2)
        n = self.subs.count
        other = np.floor(v * max(n - 1, 1)).astype(np.int64)
        other = other + (other >= sub)  # never oneself
        on_net = (u < self.spec.on_net_share) & (n > 1)
        abroad = ~on_net & (u >= 1.0 - self.spec.international_share)
        out: npt.NDArray[np.int64] = np.where(
            on_net, self.subs.msisdn(np.minimum(other, n - 1)),
            np.where(abroad, ABROAD + np.floor(v * 1e9).astype(np.int64),
                     OFF_NET + np.floor(v * 1e8).astype(np.int64)))
        return out

    def uplink(self, ids: Arr, volume: Arr) -> npt.NDArray[np.int64]:
        share = np.minimum(self.spec.uplink_share_mean * (0.5 + self.unit(ids, 3)), 1.0)
        out: npt.NDArray[np.int64] = np.floor(volume * share).astype(np.int64)
        return out

    def part_length(self, start: Arr, intended_end: Arr,
                    volume: Arr) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8]]:
        """Seconds covered by each partial record of a data session (inf: no partials), and
        the cause closing them. The volume moves at a steady rate, so a volume limit is a
        time limit too; whichever comes first closes every part."""
        n = start.size
        t_lim = self.spec.partial_time_limit
        length = np.full(n, np.inf if t_lim is None else float(t_lim))
        cause = np.full(n, TIME_LIMIT, dtype=np.int8)
        if self.spec.partial_volume_limit_mb is not None:
            intended = intended_end - start
            v_len = np.full(n, np.inf)
            moving = (volume > 0) & (intended > 0)
            v_len[moving] = (self.spec.partial_volume_limit_mb * MB * intended[moving]
                             / volume[moving])
            by_volume = v_len < length
            length = np.where(by_volume, v_len, length)
            cause[by_volume] = VOLUME_LIMIT
        return length, cause

    @staticmethod
    def boundaries(start: Arr, length: Arr, t: float | Arr) -> npt.NDArray[np.int64]:
        """Partial-record boundaries (start + k·length, k ≥ 1) at or before ``t``."""
        k = np.floor(np.divide(t - start, length, out=np.zeros(start.size),
                               where=np.isfinite(length)))
        out: npt.NDArray[np.int64] = np.maximum(k, 0).astype(np.int64)
        return out

    def parts_before_end(self, start: Arr, length: Arr, end: Arr) -> npt.NDArray[np.int64]:
        """How many boundaries fall strictly before the session's end: its partial records
        before the last one."""
        dur = end - start
        k = np.ceil(np.divide(dur, length, out=np.zeros(start.size),
                              where=np.isfinite(length))) - 1
        out: npt.NDArray[np.int64] = np.maximum(k, 0).astype(np.int64)
        return out

    def _ids(self, n: int) -> npt.NDArray[np.int64]:
        out = np.arange(self.next_record, self.next_record + n, dtype=np.int64)
        self.next_record += n
        return out

    # --- records --------------------------------------------------------------------------

    def voice(self, sid: Arr, sub: Arr, start: Arr, actual: Arr, answer_s: Arr,
              dropped: Arr) -> dict[str, Arr]:
        """One record per call; ``actual`` is seizure to release, ``answer_s`` seizure to
        answer."""
        talk = np.maximum(actual - answer_s, 0.0)
        answered = actual > answer_s
        cause = np.where(dropped, ABNORMAL_RELEASE,
                         np.where(answered, NORMAL_RELEASE, UNSUCCESSFUL_CALL_ATTEMPT))
        release = start + actual
        return self._columns(VOICE, sid, sub, start, np.ceil(talk).astype(np.int64),
                             np.zeros(sid.size, np.int64), np.zeros(sid.size, np.int64),
                             cause.astype(np.int8), np.zeros(sid.size, np.int64),
                             self.called(sid, sub), np.minimum(start + answer_s, release),
                             release)

    def sms(self, sid: Arr, sub: Arr, start: Arr) -> dict[str, Arr]:
        z = np.zeros(sid.size, np.int64)
        return self._columns(SMS, sid, sub, start, z, z, z,
                             np.full(sid.size, NORMAL_RELEASE, np.int8), z,
                             self.called(sid, sub), start, start)

    def data(self, sid: Arr, sub: Arr, start: Arr, intended_end: Arr, volume: Arr,
             actual: Arr, actual_bytes: Arr, dropped: Arr) -> dict[str, Arr]:
        """The last record of each session (the only one when it had no partials)."""
        length, _ = self.part_length(start, intended_end, volume)
        n_before = self.parts_before_end(start, length, start + actual)
        covered = n_before * np.where(np.isfinite(length), length, 0.0)
        cum_bytes = self._cum_bytes(volume, intended_end - start, covered)
        cause = np.where(dropped, ABNORMAL_RELEASE, NORMAL_RELEASE).astype(np.int8)
        seq = np.where(n_before > 0, n_before + 1, 0)
        dur = np.ceil(actual).astype(np.int64) - np.floor(covered).astype(np.int64)
        vol = actual_bytes - cum_bytes
        up = self.uplink(sid, vol)
        return self._columns(DATA, sid, sub, start + covered, dur, vol - up, up, cause, seq,
                             np.zeros(sid.size, np.int64), start + covered, start + actual)

    def data_partials(self, sid: Arr, sub: Arr, start: Arr, intended_end: Arr, volume: Arr,
                      end: Arr, t0: float, t1: float | Arr) -> dict[str, Arr]:
        """Partial records of data sessions whose boundaries fall in (t0, t1] and before
        their end (``end``: the end as known now)."""
        length, why = self.part_length(start, intended_end, volume)
        last = np.minimum(self.boundaries(start, length, t1),
                          self.parts_before_end(start, length, end))
        first = np.minimum(self.boundaries(start, length, t0), last)
        m = last - first
        rows = np.repeat(np.arange(sid.size), m)
        k = (np.arange(rows.size) - np.repeat(np.cumsum(m) - m, m)
             + first[rows] + 1)  # the part's sequence number
        s, ln = start[rows], length[rows]
        hi, lo = k * ln, (k - 1) * ln
        intended = intended_end[rows] - s
        vol = (self._cum_bytes(volume[rows], intended, hi)
               - self._cum_bytes(volume[rows], intended, lo))
        dur = np.floor(hi).astype(np.int64) - np.floor(lo).astype(np.int64)
        up = self.uplink(sid[rows], vol)
        self.partials_written += int(rows.size)
        return self._columns(DATA, sid[rows], sub[rows], s + lo, dur, vol - up, up,
                             why[rows], k, np.zeros(rows.size, np.int64), s + lo, s + hi)

    def defects(self, cols: dict[str, Arr]) -> dict[str, Arr]:
        """Records the recording entity writes wrong, in place: a share with a negative
        duration (``malformed_share``) and a share with a served identity outside the
        subscriber base (``unknown_subscriber_share``). Only records of a whole call or
        session (sequence 0) written for offline charging: a session the OCS charged online
        has been paid for whatever becomes of its record."""
        p_bad, p_unknown = self.spec.malformed_share, self.spec.unknown_subscriber_share
        n = cols["record_id"].size
        if (p_bad <= 0 and p_unknown <= 0) or n == 0:
            return cols
        u = self.defect_rng.random((2, n))
        eligible = cols["seq"] == 0
        if "online" in cols:
            eligible &= cols["online"] == 0
        bad = eligible & (u[0] < p_bad)
        unknown = eligible & ~bad & (u[1] < p_unknown)
        if bad.any():
            cols["duration_s"] = np.where(bad, -1 - cols["duration_s"], cols["duration_s"])
            self.malformed += int(bad.sum())
        if unknown.any():
            cols["sub"] = np.where(unknown, self.subs.count + cols["charging_id"], cols["sub"])
            self.unknown_subscriber += int(unknown.sum())
        return cols

    @staticmethod
    def _cum_bytes(volume: Arr, intended: Arr, covered: Arr) -> npt.NDArray[np.int64]:
        """Bytes moved in the first ``covered`` seconds (the same rounding as the session's
        total, so the parts add up to it exactly)."""
        frac = np.divide(covered, intended, out=np.zeros(covered.size), where=intended > 0)
        out: npt.NDArray[np.int64] = np.floor(volume * frac).astype(np.int64)
        return out

    def _columns(self, kind: int, sid: Arr, sub: Arr, start: Arr, dur: Arr, down: Arr,
                 up: Arr, cause: Arr, seq: Arr, called: Arr, answer: Arr,
                 release: Arr) -> dict[str, Arr]:
        n = sid.size
        return {
            "record_id": self._ids(n), "charging_id": sid.astype(np.int64),
            "node_id": np.full(n, NODE_IDS[kind], dtype=np.int64),
            "seq": np.asarray(seq, dtype=np.int64), "sub": sub.astype(np.int64),
            "kind": np.full(n, kind, dtype=np.int8), "start": np.asarray(start, np.float64),
            "duration_s": np.asarray(dur, np.int64),
            "volume_bytes": (down + up).astype(np.int64),
            "uplink_bytes": np.asarray(up, np.int64), "downlink_bytes": np.asarray(down,
                                                                                  np.int64),
            "cause": np.asarray(cause, np.int8), "calling": self.subs.msisdn(sub),
            "called": np.asarray(called, np.int64), "answer": np.asarray(answer, np.float64),
            "release": np.asarray(release, np.float64),
        }
