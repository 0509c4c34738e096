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
from twin.kernel.compiled import F64, I64, float64s, int64s, kernel
from twin.messages import (
    ABNORMAL_RELEASE,
    DATA,
    MSISDN_BASE,
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
I8 = npt.NDArray[np.int8]
B1 = npt.NDArray[np.bool_]
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


def _uniform_of(x: np.uint64, key: np.uint64) -> float:
    """The uniform in [0, 1) counter ``x`` hashes to under ``key``: its mix's top 53 bits."""
    out: float = np.float64(_mix(x ^ key) >> np.uint64(11)) / 9007199254740992.0  # 2^53
    return out


_uniform = kernel(_uniform_of, inline=True)


def _mix_rows(x: npt.NDArray[np.uint64], key: np.uint64, unit: bool,
              mixed: npt.NDArray[np.uint64], uniform: npt.NDArray[np.float64]) -> int:
    """Each ``x ^ key`` mixed, into ``mixed`` or, with ``unit``, as a uniform in [0, 1)
    (:func:`_uniform_of`) into ``uniform``: one pass, no temporary arrays."""
    for i in range(x.size):
        if unit:
            uniform[i] = _uniform(x[i], key)
        else:
            mixed[i] = _mix(x[i] ^ key)
    return 0


_mix_loop = kernel(_mix_rows)
_NONE_U64, _NONE_F64 = np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.float64)


def _share_of(sid: np.int64, key: np.uint64, mean: float) -> float:
    """A session's uplink share: ``mean`` times 0.5 to 1.5 (its uniform), at most 1."""
    out: float = min(mean * (0.5 + _uniform(np.uint64(sid), key)), 1.0)
    return out


_share = kernel(_share_of, inline=True)


def _bytes_by(volume: float, intended: float, covered: float) -> np.int64:
    """Bytes moved in a session's first ``covered`` of ``intended`` seconds."""
    frac = covered / intended if intended > 0 else 0.0
    out: np.int64 = np.int64(np.floor(volume * frac))
    return out


_moved = kernel(_bytes_by, inline=True)


def _part_length(start: float, intended_end: float, volume: float, t_lim: float,
                 v_lim: float) -> tuple[float, int]:
    """A data session's part length (seconds; inf: no partials) and the cause closing its
    parts: the time limit ``t_lim`` or, when a steady rate reaches ``v_lim`` bytes sooner
    (negative: no volume limit), that."""
    length, cause = t_lim, TIME_LIMIT
    if v_lim >= 0:
        intended = intended_end - start
        v_len = np.inf
        if volume > 0 and intended > 0:
            v_len = v_lim * intended / volume
        if v_len < length:
            length, cause = v_len, VOLUME_LIMIT
    return length, cause


_length = kernel(_part_length, inline=True)


def _boundaries_by(start: float, length: float, t: float) -> np.int64:
    """Part boundaries (start + k·length, k ≥ 1) at or before ``t``."""
    k = np.floor((t - start) / length) if np.isfinite(length) else 0.0
    return np.int64(max(k, 0.0))


_bounds = kernel(_boundaries_by, inline=True)


def _before_end(start: float, length: float, end: float) -> np.int64:
    """How many part boundaries fall strictly before the session's end: its partial records
    before the last one."""
    k = (np.ceil((end - start) / length) if np.isfinite(length) else 0.0) - 1
    return np.int64(max(k, 0.0))


_parts_before = kernel(_before_end, inline=True)


def _count_parts(start: F64, intended_end: F64, volume: F64, end: F64, t0: float, t1: F64,
                 t_lim: float, v_lim: float, length: F64, why: I8, first: I64,
                 m: I64) -> int:
    """Each session's part length and closing cause, and its partial records with
    boundaries in (t0, ``t1``] before ``end``: ``m`` of them from number ``first`` + 1.
    Returns how many in all."""
    total = 0
    for i in range(start.size):
        ln, cause = _length(start[i], intended_end[i], volume[i], t_lim, v_lim)
        last = min(_bounds(start[i], ln, t1[i]), _parts_before(start[i], ln, end[i]))
        f = min(_bounds(start[i], ln, t0), last)
        length[i], why[i], first[i], m[i] = ln, cause, f, last - f
        total += int(last - f)
    return total


def _fill_parts(start: F64, intended_end: F64, volume: F64, sid: I64, sub: I64,
                length: F64, why: I8, first: I64, m: I64, key: np.uint64, mean: float,
                o_sid: I64, o_sub: I64, o_start: F64, o_dur: I64, o_down: I64, o_up: I64,
                o_cause: I8, o_seq: I64, o_end: F64) -> int:
    """The partial records :func:`_count_parts` counted, session by session."""
    j = 0
    for i in range(start.size):
        if m[i] == 0:
            continue
        s, ln = start[i], length[i]
        intended = intended_end[i] - s
        share = _share(sid[i], key, mean)
        for k in range(first[i] + 1, first[i] + 1 + m[i]):
            hi, lo = k * ln, (k - 1) * ln
            vol = (_moved(volume[i], intended, hi) - _moved(volume[i], intended, lo))
            up = np.int64(np.floor(vol * share))
            o_sid[j], o_sub[j], o_start[j], o_end[j] = sid[i], sub[i], s + lo, s + hi
            o_dur[j] = np.int64(np.floor(hi)) - np.int64(np.floor(lo))
            o_down[j], o_up[j], o_cause[j], o_seq[j] = vol - up, up, why[i], k
            j += 1
    return j


def _last_rows(rows: I64, start: F64, intended_end: F64, volume: F64, actual: F64,
               actual_bytes: I64, dropped: B1, sid: I64, sub: I64, t_lim: float, v_lim: float,
               key: np.uint64, mean: float, o_sid: I64, o_sub: I64, o_start: F64, o_dur: I64,
               o_down: I64, o_up: I64, o_cause: I8, o_seq: I64, o_end: F64) -> int:
    """The last record of the sessions ``rows`` (:meth:`Recorder.data`)."""
    for j in range(rows.size):
        i = rows[j]
        s = start[i]
        ln, _ = _length(s, intended_end[i], volume[i], t_lim, v_lim)
        end = s + actual[i]
        n_before = _parts_before(s, ln, end)
        covered = n_before * (ln if np.isfinite(ln) else 0.0)
        vol = actual_bytes[i] - _moved(volume[i], intended_end[i] - s, covered)
        up = np.int64(np.floor(vol * _share(sid[i], key, mean)))
        o_sid[j], o_sub[j] = sid[i], sub[i]
        o_start[j], o_end[j] = s + covered, end
        o_dur[j] = np.int64(np.ceil(actual[i])) - np.int64(np.floor(covered))
        o_down[j], o_up[j] = vol - up, up
        o_cause[j] = ABNORMAL_RELEASE if dropped[i] else NORMAL_RELEASE
        o_seq[j] = n_before + 1 if n_before > 0 else 0
    return 0


def _called_of(sid: np.int64, sub: np.int64, k_kind: np.uint64, k_other: np.uint64, n: int,
               on_net: float, abroad: float) -> np.int64:
    """The B-number of session ``sid`` of line ``sub`` (:meth:`Recorder.called`)."""
    u, v = _uniform(np.uint64(sid), k_kind), _uniform(np.uint64(sid), k_other)
    other = np.int64(np.floor(v * max(n - 1, 1)))
    if other >= sub:  # never oneself
        other += 1
    out: np.int64
    if u < on_net and n > 1:
        out = MSISDN_BASE + (other if other < n - 1 else np.int64(n - 1))
    elif u >= 1.0 - abroad:
        out = ABROAD + np.int64(np.floor(v * 1e9))
    else:
        out = OFF_NET + np.int64(np.floor(v * 1e8))
    return out


_called = kernel(_called_of, inline=True)


def _called_rows(sid: I64, sub: I64, k_kind: np.uint64, k_other: np.uint64, n: int,
                 on_net: float, abroad: float, out: I64) -> int:
    for i in range(sid.size):
        out[i] = _called(sid[i], sub[i], k_kind, k_other, n, on_net, abroad)
    return 0


def _call_rows(rows: I64, voice: bool, sid: I64, sub: I64, start: F64, actual: F64,
               answer_s: F64, dropped: B1, k_kind: np.uint64, k_other: np.uint64, n: int,
               on_net: float, abroad: float, o_sid: I64, o_sub: I64, o_start: F64,
               o_dur: I64, o_cause: I8, o_called: I64, o_answer: F64, o_release: F64) -> int:
    """The record of each call (``voice``) or message of ``rows`` (:meth:`Recorder.voice`,
    :meth:`Recorder.sms`); a message's answer and release are its start (not written)."""
    for j in range(rows.size):
        i = rows[j]
        s, b, t = sid[i], sub[i], start[i]
        o_sid[j], o_sub[j], o_start[j] = s, b, t
        o_called[j] = _called(s, b, k_kind, k_other, n, on_net, abroad)
        if not voice:
            o_dur[j], o_cause[j] = 0, NORMAL_RELEASE
            continue
        a, r = actual[i], answer_s[i]
        talk = a - r
        o_dur[j] = np.int64(np.ceil(talk if talk > 0.0 else 0.0))
        o_cause[j] = (ABNORMAL_RELEASE if dropped[i]
                      else NORMAL_RELEASE if a > r else UNSUCCESSFUL_CALL_ATTEMPT)
        release = t + a
        answer = t + r
        o_release[j] = release
        o_answer[j] = answer if answer <= release else release
    return 0


_count_loop = kernel(_count_parts)
_parts_loop = kernel(_fill_parts)
_last_loop = kernel(_last_rows)
_called_loop = kernel(_called_rows)
_calls_loop = kernel(_call_rows)


def _defect_rows(u: F64, seq: I64, online: I64, p_bad: float, p_unknown: float, n_subs: int,
                 dur: I64, sub: I64, charging_id: I64, counts: I64) -> int:
    """:meth:`Recorder.defects` of each record, in place, with its draws ``u[:, i]``."""
    for i in range(seq.size):
        if seq[i] != 0 or (online.size and online[i] != 0):
            continue
        if u[0, i] < p_bad:
            dur[i] = -1 - dur[i]
            counts[0] += 1
        elif u[1, i] < p_unknown:
            sub[i] = n_subs + charging_id[i]
            counts[1] += 1
    return 0


_defects_loop = kernel(_defect_rows)


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
        out = np.empty(np.size(ids), dtype=np.int64)
        _called_loop(int64s(ids), int64s(sub), *self._b_numbers(), out)
        return out

    def _b_numbers(self) -> tuple[np.uint64, np.uint64, int, float, float]:
        """What the compiled loops need to draw B-numbers (:func:`_called_of`)."""
        return (self.keys[1], self.keys[2], self.subs.count, float(self.spec.on_net_share),
                float(self.spec.international_share))

    def _ids(self, n: int) -> npt.NDArray[np.int64]:
        out = np.arange(self.next_record, self.next_record + n, dtype=np.int64)
        self.next_record += n
        return out

    # --- records --------------------------------------------------------------------------

    def voice(self, sid: Arr, sub: Arr, start: Arr, actual: Arr, answer_s: Arr,
              dropped: Arr) -> dict[str, Arr]:
        """One record per call; ``actual`` is seizure to release, ``answer_s`` seizure to
        answer."""
        return self.calls(VOICE, np.arange(np.size(sid)), sid, sub, start, actual, answer_s,
                          dropped)

    def sms(self, sid: Arr, sub: Arr, start: Arr) -> dict[str, Arr]:
        return self.calls(SMS, np.arange(np.size(sid)), sid, sub, start)

    def calls(self, kind: int, rows: Arr, sid: Arr, sub: Arr, start: Arr,
              actual: Arr | None = None, answer_s: Arr | None = None,
              dropped: Arr | None = None) -> dict[str, Arr]:
        """The records of the calls (``kind`` voice) or messages ``rows`` of the given
        columns, gathered as they are written (see :meth:`voice` and :meth:`sms`)."""
        n, voice = np.size(rows), kind == VOICE
        none = np.empty(0)
        o_sid, o_sub, o_dur, o_called = (np.empty(n, dtype=np.int64) for _ in range(4))
        o_start = np.empty(n)
        o_answer, o_release = (np.empty(n), np.empty(n)) if voice else (o_start, o_start)
        cause = np.empty(n, dtype=np.int8)
        _calls_loop(int64s(rows), voice, int64s(sid), int64s(sub), float64s(start),
                    none if actual is None else float64s(actual),
                    none if answer_s is None else float64s(answer_s),
                    np.empty(0, np.bool_) if dropped is None
                    else np.ascontiguousarray(dropped, dtype=np.bool_),
                    *self._b_numbers(), o_sid, o_sub, o_start, o_dur, cause,
                    o_called, o_answer, o_release)
        z = np.zeros(n, np.int64)  # no volume, no parts
        return self._columns(kind, o_sid, o_sub, o_start, o_dur, z, z, cause, z, o_called,
                             o_answer, o_release)

    def _limits(self) -> tuple[float, float]:
        """The partial-record limits as the compiled loops take them: seconds (inf: none)
        and bytes (-1: none)."""
        t_lim = self.spec.partial_time_limit
        v_mb = self.spec.partial_volume_limit_mb
        return (np.inf if t_lim is None else float(t_lim),
                -1.0 if v_mb is None else v_mb * MB)

    def data(self, sid: Arr, sub: Arr, start: Arr, intended_end: Arr, volume: Arr,
             actual: Arr, actual_bytes: Arr, dropped: Arr,
             rows: Arr | None = None) -> dict[str, Arr]:
        """The last record of each session (the only one when it had no partials); of the
        sessions ``rows`` only, when given, gathered as they are written."""
        rows = np.arange(np.size(sid)) if rows is None else rows
        n = np.size(rows)
        o_sid, o_sub, dur, down, up, seq = (np.empty(n, dtype=np.int64) for _ in range(6))
        begin, end = np.empty(n), np.empty(n)
        cause = np.empty(n, dtype=np.int8)
        with np.errstate(over="ignore"):  # the hash wraps (uncompiled, numpy would warn)
            _last_loop(int64s(rows), float64s(start), float64s(intended_end),
                       float64s(volume), float64s(actual), int64s(actual_bytes),
                       np.ascontiguousarray(dropped, dtype=np.bool_), int64s(sid),
                       int64s(sub), *self._limits(), self.keys[3],
                       float(self.spec.uplink_share_mean), o_sid, o_sub, begin, dur, down, up,
                       cause, seq, end)
        return self._columns(DATA, o_sid, o_sub, begin, dur, down, up, cause, seq,
                             np.zeros(n, np.int64), begin, end)

    def data_partials(self, sid: Arr, sub: Arr, start: Arr, intended_end: Arr, volume: Arr,
                      end: Arr, t0: float, t1: float | Arr) -> dict[str, Arr]:
        """Partial records of data sessions whose boundaries fall in (t0, t1] and before
        their end (``end``: the end as known now)."""
        n = sid.size
        start, intended_end, volume = float64s(start), float64s(intended_end), float64s(volume)
        length, first_k, m = np.empty(n), np.empty(n, dtype=np.int64), np.empty(n, np.int64)
        why = np.empty(n, dtype=np.int8)
        t_lim, v_lim = self._limits()
        total = _count_loop(start, intended_end, volume, float64s(end), float(t0),
                            np.broadcast_to(np.asarray(t1, dtype=np.float64), (n,)).copy(),
                            t_lim, v_lim, length, why, first_k, m)
        o_sid, o_sub, o_dur, o_down, o_up, o_seq = (np.empty(total, dtype=np.int64)
                                                    for _ in range(6))
        o_start, o_end = np.empty(total), np.empty(total)
        o_cause = np.empty(total, dtype=np.int8)
        with np.errstate(over="ignore"):
            _parts_loop(start, intended_end, volume, int64s(sid), int64s(sub), length, why,
                        first_k, m, self.keys[3], float(self.spec.uplink_share_mean), o_sid,
                        o_sub, o_start, o_dur, o_down, o_up, o_cause, o_seq, o_end)
        self.partials_written += int(total)
        return self._columns(DATA, o_sid, o_sub, o_start, o_dur, o_down, o_up, o_cause,
                             o_seq, np.zeros(total, np.int64), o_start, o_end)

    def defects(self, cols: dict[str, Arr]) -> dict[str, Arr]:
        """Records the recording entity writes wrong, in place (``duration_s`` and ``sub``
        rewritten where they are int64 arrays): a share with a negative duration
        (``malformed_share``) and a share with a served identity outside the
        subscriber base (``unknown_subscriber_share``). Only records of a whole call or
        session (sequence 0) written for offline charging: a session the OCS charged online
        has been paid for whatever becomes of its record."""
        p_bad, p_unknown = self.spec.malformed_share, self.spec.unknown_subscriber_share
        n = cols["record_id"].size
        if (p_bad <= 0 and p_unknown <= 0) or n == 0:
            return cols
        u = self.defect_rng.random((2, n))
        dur, sub = int64s(cols["duration_s"]), int64s(cols["sub"])
        online = cols.get("online")
        counts = np.zeros(2, dtype=np.int64)
        _defects_loop(u, int64s(cols["seq"]),
                      np.empty(0, np.int64) if online is None else int64s(online),
                      float(p_bad), float(p_unknown), self.subs.count, dur, sub,
                      int64s(cols["charging_id"]), counts)
        cols["duration_s"], cols["sub"] = dur, sub  # (the same arrays when they were int64)
        self.malformed += int(counts[0])
        self.unknown_subscriber += int(counts[1])
        return cols

    def _columns(self, kind: int, sid: I64, sub: I64, start: F64, dur: I64, down: I64,
                 up: I64, cause: I8, seq: I64, called: I64, answer: F64,
                 release: F64) -> dict[str, Arr]:
        """The record columns, from arrays made for them (kept, not copied)."""
        n = sid.size
        return {
            "record_id": self._ids(n), "charging_id": sid,
            "node_id": np.full(n, NODE_IDS[kind], dtype=np.int64), "seq": seq, "sub": sub,
            "kind": np.full(n, kind, dtype=np.int8), "start": start, "duration_s": dur,
            "volume_bytes": down if up is down else down + up, "uplink_bytes": up,
            "downlink_bytes": down, "cause": cause,
            "calling": self.subs.msisdn(sub),
            "called": called, "answer": answer, "release": release,
        }
