"""Mediation: validate, deduplicate and guide the CDRs the collector delivers.

Each record goes through, in this order (TMF635 usage states in brackets):

0. **intake** (:mod:`twin.bss.intake`) — a batch with a missing column, columns of unequal
   length or not numbers, and a record with a time that is not finite, an identifier or a
   quantity out of range → [rejected] with the reason, before any step below;
1. **validation** — a known subscriber number, non-negative quantities, a known record type
   (voice 0, data 1, SMS 2); otherwise [rejected] with the reason;
2. **deduplication** — the same (recording entity, charging id, record sequence number) seen
   before among records that started within ``dedup_retention`` of now; with no charging id
   in the batch the record id stands in for it, sequence 0 (3GPP TS 32.298 names
   chargingID + nodeID + recordSequenceNumber as the key used in practice) → [rejected]
   ``duplicate`` — also a repeat, in the same batch, of a record rejected in step 1 (a
   record written wrong and written twice is one defect and one duplicate); a rejected
   record is not remembered, so it may come again, corrected, in a later batch;
2b. **assembly** — a partial record (sequence number ≥ 1) is held [received] until its
   session is complete: the last part (a cause other than a partial-record cause) and every
   sequence number before it. Then the parts become one record of the whole session — the
   first part's start, summed duration and volumes, the last part's cause — which goes on
   through the steps below and is rated once. Parts may arrive in any order. A session
   still incomplete ``assembly_timeout`` after its latest part arrived (a part lost on the
   way: a live session keeps sending parts), and every held session at the end of the run,
   is assembled from the parts received, as mediation systems do when their aggregation
   timer expires. A part arriving after its
   session was assembled is [rejected] ``late partial record`` (the session was rated): a
   session assembled incomplete is remembered for the whole run (one integer each), so its
   missing parts are recognised however late they come;
3. **write-off** — a record of a bill cycle closed for good (billed more than
   ``late_window`` ago) → [rejected] ``too late``; a prepaid session served uncharged while
   the online charging system was down (``online`` = 2) → [rejected] ``fail-open, not
   charged`` unless the BSS post-charges them; a record of a line that has left (churn) →
   [rejected] ``terminated subscription``;
4. **guiding** — to the subscription's account. A line not yet in the guiding table (a new
   line whose provisioning has not reached mediation) cannot be guided: the record waits in
   **suspense** [recycled] and is retried every ``recycle_every``; once the line is known it
   is [guided], and if it is still unknown after ``suspense_max_age`` it is [rejected]
   ``unguidable``.

The ``cdrs`` table keeps one row per decision: every received record with its first state,
and a second row when a suspended record is later guided or rejected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from twin.bss import intake
from twin.kernel import Sim, labels, required
from twin.kernel.compiled import float64s, int64s, kernel
from twin.messages import MSISDN_BASE, PARTIAL_CAUSES, UsageBatch
from twin.scenario.schema import MediationSpec

CDR_SCHEMA = required([
    ("record_id", pa.int64()), ("node_id", pa.int64()), ("sub", pa.int64()),
    ("kind", pa.int8()), ("start", pa.float64()), ("duration_s", pa.int64()),
    ("volume_bytes", pa.int64()), ("cause", pa.int8()), ("received", pa.float64()),
    ("processed", pa.float64()), ("state", pa.string()), ("reason", pa.string()),
    ("charging_id", pa.int64()), ("seq", pa.int64()), ("parts", pa.int32()),
    ("uplink_bytes", pa.int64()), ("downlink_bytes", pa.int64()), ("calling", pa.int64()),
    ("called", pa.int64()), ("answer", pa.float64()), ("release", pa.float64()),
    ("online", pa.int8()),
])
(OK, UNKNOWN_SUB, NEGATIVE, UNKNOWN_TYPE, DUPLICATE, TOO_LATE, NOT_GUIDABLE, UNGUIDABLE,
 FAIL_OPEN, TERMINATED, LATE_PART) = range(11)
REASONS = ("", "unknown subscriber", "negative quantity", "unknown record type", "duplicate",
           "too late", "not guidable yet", "unguidable", "fail-open, not charged",
           "terminated subscription", "late partial record", *intake.REASONS)
STATES = ("guided", "rejected", "recycled", "received")
GUIDED, REJECTED, RECYCLED, HELD = range(4)
BUCKET_S = 3600.0  # dedup keys are kept per hour of record start
COLUMNS = ("record_id", "node_id", "sub", "kind", "start", "duration_s", "volume_bytes",
           "cause", "charging_id", "seq", "parts", "uplink_bytes", "downlink_bytes", "calling",
           "called", "answer", "release", "online")
_SUMMED = ("duration_s", "volume_bytes", "uplink_bytes", "downlink_bytes")

Cols = dict[str, np.ndarray]
I64 = npt.NDArray[np.int64]


def normalise(columns: dict[str, np.ndarray]) -> Cols:
    """The batch's columns, with the optional ones a recording entity may leave out."""
    c = {k: np.asarray(v) for k, v in columns.items()}
    n = c["record_id"].size
    defaults: dict[str, Callable[[], np.ndarray]] = {  # computed only when left out
        "charging_id": lambda: c["record_id"].astype(np.int64),
        "seq": lambda: np.zeros(n, dtype=np.int64),
        "parts": lambda: np.zeros(n, dtype=np.int32),
        "uplink_bytes": lambda: np.zeros(n, dtype=np.int64),
        "downlink_bytes": lambda: c["volume_bytes"].astype(np.int64) - c["uplink_bytes"],
        "calling": lambda: MSISDN_BASE + c["sub"].astype(np.int64),
        "called": lambda: np.zeros(n, dtype=np.int64),
        "answer": lambda: c["start"].astype(np.float64),
        "release": lambda: c["start"] + c["duration_s"],
        "online": lambda: np.zeros(n, dtype=np.int8),
    }
    for k, make in defaults.items():  # in this order: downlink needs uplink
        if k not in c:
            c[k] = make()
    return c


def session_key(c: Cols) -> I64:
    """(recording entity, charging id): one call or session."""
    key: I64 = (c["node_id"].astype(np.int64) << 56) | (c["charging_id"].astype(np.int64) << 12)
    return key


_EMPTY = -1  # no key: intake keeps every part of a dedup key non-negative


def _home_of(key: np.int64) -> np.int64:
    """A key's home slot before masking: Fibonacci hashing (the key times 2^64/φ, bits 32
    and up), which spreads the runs of consecutive charging ids a batch brings over the
    whole table — slots taken in runs would make probing slower with every batch."""
    h: np.int64 = np.int64((np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32))
    return h


_home = kernel(_home_of, inline=True)


def _probe_keys(table: I64, keys: I64, add: bool,
                found: npt.NDArray[np.bool_]) -> tuple[int, int]:
    """Linear probing from each key's home slot: ``found`` tells which keys the table holds
    (before this call's own additions, or an earlier row of ``keys`` when adding); with
    ``add`` the others go in. Returns how many went in (and a number of no meaning)."""
    mask = table.size - 1
    added = 0
    # first every key's home slot read: independent loads the memory serves together, so
    # the probing below finds them in the cache (a miss a key otherwise, in a large table)
    warm = 0
    for i in range(keys.size):
        warm += table[_home(keys[i]) & mask] == keys[i]
    for i in range(keys.size):
        k = keys[i]
        h = _home(k) & mask
        while table[h] != k and table[h] != _EMPTY:
            h = (h + 1) & mask
        found[i] = table[h] == k
        if add and not found[i]:
            table[h] = k
            added += 1
    return added, warm


_probe_loop = kernel(_probe_keys)


def _probe(table: I64, keys: I64, add: bool, found: npt.NDArray[np.bool_]) -> int:
    with np.errstate(over="ignore"):  # the hash wraps (uncompiled, numpy would warn)
        return int(_probe_loop(table, keys, add, found)[0])


def _decide_rows(reason: npt.NDArray[np.int8], whole: npt.NDArray[np.bool_],
                 held: npt.NDArray[np.bool_], late: npt.NDArray[np.bool_], online: I64,
                 sub: I64, start: npt.NDArray[np.float64], n_subs: int,
                 uncharged: npt.NDArray[np.bool_], leaves: npt.NDArray[np.float64],
                 guidable_from: npt.NDArray[np.float64], now: float,
                 state: npt.NDArray[np.int8], valid: npt.NDArray[np.bool_],
                 counts: I64) -> int:
    """Each record's reason, in place, by the rules of :meth:`Mediation._decide` in their
    order (a ``whole`` record: written off if ``late``; else, still OK, fail-open if charged
    online on an uncharged line, terminated if it starts once its line left, not guidable
    yet if its line is not); its ``state`` (held parts: received); ``valid``: a whole record
    whose key is remembered (OK, fail-open or terminated before guiding); ``counts`` of whole
    records terminated, too late and fail-open. Returns a number of no meaning."""
    last = n_subs - 1  # a line number out of range is read as the nearest line's
    # first every record's line read: independent loads the memory serves together, so the
    # loop below finds them in the cache (two misses a record otherwise)
    warm = 0
    for i in range(reason.size):
        s = min(max(sub[i], 0), last)
        warm += leaves[s] < guidable_from[s]
    for i in range(reason.size):
        r = reason[i]
        valid[i] = False
        if whole[i]:
            if late[i]:
                r = TOO_LATE
            s = min(max(sub[i], 0), last)
            if r == OK and online[i] == 2 and uncharged[s]:
                r = FAIL_OPEN
            if r == OK and start[i] >= leaves[s]:
                r = TERMINATED
            valid[i] = r in (OK, FAIL_OPEN, TERMINATED)
            if r == OK and guidable_from[s] > now:
                r = NOT_GUIDABLE
            counts[0] += r == TERMINATED
            counts[1] += r == TOO_LATE
            counts[2] += r == FAIL_OPEN
        reason[i] = r
        if held[i]:
            state[i] = HELD
        elif whole[i] and r == OK:
            state[i] = GUIDED
        else:
            state[i] = RECYCLED if r == NOT_GUIDABLE else REJECTED
    return warm


_decide_loop = kernel(_decide_rows)


def _first_looks(sub: I64, duration: I64, volume: I64, kind: I64, node: I64, charging_id: I64,
                 seq: I64, start: npt.NDArray[np.float64], n_subs: int,
                 reason: npt.NDArray[np.int8], key: I64, bucket: I64) -> int:
    """Each record's first reason (a line out of range, a negative quantity, an unknown
    type: the first that applies), its dedup key — (recording entity, charging id, record
    sequence number) packed into one integer, as :func:`session_key` packs the first two —
    and its hour (dedup bucket)."""
    for i in range(sub.size):
        r = OK
        if sub[i] < 0 or sub[i] >= n_subs:
            r = UNKNOWN_SUB
        elif duration[i] < 0 or volume[i] < 0:
            r = NEGATIVE
        elif kind[i] < 0 or kind[i] > 2:
            r = UNKNOWN_TYPE
        reason[i] = r
        key[i] = (node[i] << 56) | (charging_id[i] << 12) | seq[i]
        bucket[i] = np.int64(np.floor(start[i] / BUCKET_S))
    return 0


_first_look = kernel(_first_looks)


class KeySet:
    """A set of dedup keys (non-negative integers): an open-addressing hash table, at most
    half full, so looking up or adding a batch of keys is one pass over it."""

    def __init__(self, capacity: int = 1024) -> None:
        self.table = np.full(max(1 << (capacity - 1).bit_length(), 16), _EMPTY, dtype=np.int64)
        self.size = 0

    def contains(self, keys: I64) -> npt.NDArray[np.bool_]:
        keys = _checked(keys)
        found = np.empty(keys.size, dtype=bool)
        _probe(self.table, keys, False, found)
        return found

    def add(self, keys: I64) -> None:
        if 2 * (self.size + keys.size) > self.table.size:
            old = self.table[self.table != _EMPTY]
            self.table = KeySet(2 * (self.size + keys.size)).table
            _probe(self.table, old, True, np.empty(old.size, dtype=bool))
        keys = _checked(keys)
        self.size += _probe(self.table, keys, True, np.empty(keys.size, dtype=bool))

    @staticmethod
    def repeats(keys: I64) -> npt.NDArray[np.bool_]:
        """Which keys repeat one before them in ``keys``."""
        keys = _checked(keys)
        found = np.empty(keys.size, dtype=bool)
        _probe(KeySet(2 * keys.size).table, keys, True, found)
        return found


def _checked(keys: I64) -> I64:
    """The keys as contiguous int64; a negative one would read as an empty slot."""
    out = int64s(keys)
    if out.size and out.min() < 0:
        raise ValueError("dedup keys must be non-negative")
    return out


def _by_bucket(bucket: I64) -> list[tuple[int, npt.NDArray[np.intp] | slice]]:
    """The hours in a batch and the rows of each (all rows: a slice)."""
    if bucket.size == 0:
        return []
    lo, hi = int(bucket.min()), int(bucket.max())
    if lo == hi:
        return [(lo, slice(None))]
    present = (np.flatnonzero(np.bincount(bucket - lo)) + lo if hi - lo < 1 << 16
               else np.unique(bucket))
    return [(int(b), np.flatnonzero(bucket == b)) for b in present]


class Mediation:
    def __init__(self, sim: Sim, n_subs: int, spec: MediationSpec | None = None,
                 guidable_from: npt.NDArray[np.float64] | None = None,
                 uncharged: npt.NDArray[np.bool_] | None = None,
                 leaves: npt.NDArray[np.float64] | None = None) -> None:
        self.sim = sim
        self.n_subs = n_subs
        self.spec = spec or MediationSpec()
        self.guidable_from = (guidable_from if guidable_from is not None
                              else np.full(n_subs, -np.inf))
        # lines whose fail-open sessions are not charged afterwards (prepaid, online charging)
        self.uncharged = uncharged if uncharged is not None else np.zeros(n_subs, dtype=bool)
        # when each line leaves (churn): its later records have no subscription to go to
        self.leaves = leaves if leaves is not None else np.full(n_subs, np.inf)
        self.seen: dict[int, KeySet] = {}  # hour of record start → its dedup keys
        self.suspense: list[Cols] = []
        self.held: list[Cols] = []  # partial records waiting for their session's other parts
        self.closed = np.empty(0, dtype=np.int64)  # sessions assembled (sorted keys) …
        self.closed_at = np.empty(0)  # … and when, for forgetting them
        self.partials = 0  # partial records held for assembly
        self.assembled = 0  # sessions assembled from them
        self.incomplete = 0  # … of which from an incomplete set of parts
        self.late_parts = 0  # parts arriving after their session was assembled
        self.cdrs = sim.records.buffer("cdrs", CDR_SCHEMA)
        self.received = 0
        self.rejected = 0
        self.duplicates = 0
        self.too_late = 0
        self.fail_open = 0  # prepaid records of sessions served while the OCS was down
        self.terminated = 0  # records of lines that had left (churned)
        self.suspended = 0  # records that went into suspense
        self.recycled = 0  # of which guided later
        self.unguidable = 0  # of which rejected after suspense_max_age
        self.unreadable = 0  # rejected at intake (malformed batches and records)

    # --- dedup store -----------------------------------------------------------------------

    def _seen_before(self, key: I64, bucket: I64) -> npt.NDArray[np.bool_]:
        out = np.zeros(key.size, dtype=bool)
        for b, rows in _by_bucket(bucket):
            known = self.seen.get(b)
            if known is not None:
                out[rows] = known.contains(key[rows])
        return out

    def _remember(self, key: I64, bucket: I64) -> None:
        for b, rows in _by_bucket(bucket):
            known = self.seen.get(b)
            if known is None:  # sized for about as many keys as the hour before had
                before = self.seen.get(b - 1)
                known = self.seen[b] = KeySet(2 * before.size if before is not None else 1024)
            known.add(key[rows])

    def _forget_old(self) -> None:
        oldest = int(np.floor((self.sim.now - self.spec.dedup_retention) / BUCKET_S))
        for b in [b for b in self.seen if b < oldest]:
            del self.seen[b]
        keep = self.closed_at >= self.sim.now - self.spec.dedup_retention
        if not keep.all():
            self.closed, self.closed_at = self.closed[keep], self.closed_at[keep]

    # --- the pipeline -----------------------------------------------------------------------

    def _too_late(self, sub: I64, start: np.ndarray,
                  before: float | npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Records of a bill cycle closed for good: ``before`` one instant, or one per line
        (bill cycle groups)."""
        if np.ndim(before) == 0:
            out: npt.NDArray[np.bool_] = start < before
            return out
        return np.asarray(start < np.asarray(before)[np.clip(sub, 0, self.n_subs - 1)])

    def process(self, batch: UsageBatch,
                too_late_before: float | npt.NDArray[np.float64] = -np.inf,
                columns: Sequence[str] | None = None) -> Cols:
        """The records of ``batch`` guided now, with the sessions whose parts are complete
        now. Records starting before ``too_late_before`` belong to a bill cycle closed for
        good: rejected, written off. ``columns``: only these of :data:`COLUMNS` are wanted
        (the others of the guided records are not copied); default all."""
        self._forget_old()
        c = normalise(self._intake(batch))
        n = c["record_id"].size
        reason = np.empty(n, dtype=np.int8)
        key, bucket = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        _first_look(int64s(c["sub"]), int64s(c["duration_s"]), int64s(c["volume_bytes"]),
                    int64s(c["kind"]), int64s(c["node_id"]), int64s(c["charging_id"]),
                    int64s(c["seq"]), float64s(c["start"]), self.n_subs, reason, key, bucket)
        copy = KeySet.repeats(key)  # repeats a record of this batch
        seen = copy | self._seen_before(key, bucket)
        reason[(reason == OK) & seen] = DUPLICATE
        # a record written wrong and written twice: its copy in the same batch is a duplicate
        # (a rejected record is not remembered: it may come again, corrected, later)
        reason[copy] = DUPLICATE
        part = c["seq"] > 0
        if part.any() and self.closed.size:
            sk = session_key(c)
            pos = np.minimum(np.searchsorted(self.closed, sk), self.closed.size - 1)
            reason[(reason == OK) & part & (self.closed[pos] == sk)] = LATE_PART
        held = part & (reason == OK)
        self._remember(key[held], bucket[held])
        dups = int((reason == DUPLICATE).sum())
        late_parts = int((reason == LATE_PART).sum())
        self.received += n
        self.duplicates += dups
        self.late_parts += late_parts
        self.rejected += int(((reason != OK) & ~held).sum()) - dups
        if held.any():
            self.held.append({**{k: v[held] for k, v in c.items()},
                              "received": np.full(int(held.sum()), self.sim.now)})
            self.partials += int(held.sum())
        gather = (columns if columns is None or "record_id" in columns  # (to order them)
                  else ("record_id", *columns))
        out = _concat(self._decide(c, too_late_before, reason, ~part & (reason == OK), held,
                                   key, bucket, gather), self.assemble(too_late_before))
        if not out:
            return out
        # in the order the records were written (an assembled session where its closing
        # record was): allowances go to the same records as with partial records off
        rid = out["record_id"]
        if columns is not None:
            out = {k: out[k] for k in columns}
        if (rid[1:] >= rid[:-1]).all():  # already in order (no session assembled now)
            return out
        order = np.argsort(rid, kind="stable")
        return {k: v[order] for k, v in out.items()}

    def _intake(self, batch: UsageBatch) -> Cols:
        """The records of ``batch`` mediation can read; the others logged as rejected."""
        good, bad, reasons = intake.screen(batch.columns)
        if reasons:
            n = len(reasons)
            code = np.array([REASONS.index(r) for r in reasons], dtype=np.int8)
            now = np.full(n, self.sim.now)
            self._log(bad, now, now, np.full(n, REJECTED), code)
            self.received += n
            self.rejected += n
            self.unreadable += n
        return good

    def assemble(self, too_late_before: float | npt.NDArray[np.float64] = -np.inf,
                 flush: bool = False) -> Cols:
        """Sessions whose parts are all here (or waited ``assembly_timeout``, or all of them
        when ``flush``), as one record each, through the rest of the pipeline."""
        if not self.held:
            return {}
        h = {k: np.concatenate([p[k] for p in self.held]) for k in self.held[0]}
        sk = session_key(h)
        order = np.lexsort((h["seq"], sk))
        h = {k: v[order] for k, v in h.items()}
        sk = sk[order]
        keys, first, count = np.unique(sk, return_index=True, return_counts=True)
        last = first + count - 1
        final = ~np.isin(h["cause"][last], PARTIAL_CAUSES)
        complete = final & (h["seq"][last] == count)
        waited = self.sim.now - np.maximum.reduceat(h["received"], first)  # idle since
        done = complete | (waited >= self.spec.assembly_timeout) | flush
        rows_done = np.repeat(done, count)
        self.held = [{k: v[~rows_done] for k, v in h.items()}] if (~rows_done).any() else []
        if not done.any():
            return {}
        f, cnt, la = first[done], count[done], last[done]
        d = {k: v[rows_done] for k, v in h.items()}
        starts = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        a = {k: h[k][f] for k in h if k not in _SUMMED}
        for k in _SUMMED:
            a[k] = np.add.reduceat(d[k], starts)
        for k in ("record_id", "cause", "release"):  # the closing record's
            a[k] = h[k][la]
        a["seq"] = np.zeros(f.size, dtype=np.int64)
        a["parts"] = cnt.astype(np.int32)
        del a["received"]
        self.closed = np.concatenate([self.closed, keys[done]])
        # a session assembled incomplete is remembered for the whole run: its missing parts
        # may still come, any time later (a file re-sent days late), and must not make a
        # second record of it; a complete one gets no more parts (a copy comes in its
        # original's batch), so it is forgotten with the dedup keys
        self.closed_at = np.concatenate([self.closed_at,
                                         np.where(complete[done], self.sim.now, np.inf)])
        by = np.argsort(self.closed, kind="stable")
        self.closed, self.closed_at = self.closed[by], self.closed_at[by]
        self.assembled += int(f.size)
        self.incomplete += int((~complete[done]).sum())
        return self._decide(a, too_late_before)

    def _decide(self, c: Cols, too_late_before: float | npt.NDArray[np.float64],
                reason: npt.NDArray[np.int8] | None = None,
                whole: npt.NDArray[np.bool_] | None = None,
                held: npt.NDArray[np.bool_] | None = None, key: I64 | None = None,
                bucket: I64 | None = None, columns: Sequence[str] | None = None) -> Cols:
        """Write-off, fail-open, churn and guiding for the ``whole`` records (single records
        and assembled sessions; default all), logging every row of ``c`` in order (rows
        already rejected by ``reason``, parts ``held`` for assembly); the records guided
        now (``columns`` of them, default all)."""
        n = c["record_id"].size
        if n == 0:
            return {}
        reason = np.zeros(n, dtype=np.int8) if reason is None else reason.astype(np.int8)
        whole = np.ones(n, dtype=bool) if whole is None else whole
        held = np.zeros(n, dtype=bool) if held is None else held
        state, valid = np.empty(n, dtype=np.int8), np.empty(n, dtype=bool)
        counts = np.zeros(3, dtype=np.int64)
        _decide_loop(reason, np.ascontiguousarray(whole, dtype=bool),
                     np.ascontiguousarray(held, dtype=bool),
                     self._too_late(c["sub"], c["start"], too_late_before),
                     int64s(c["online"]), int64s(c["sub"]), np.asarray(c["start"], np.float64),
                     self.n_subs, self.uncharged, self.leaves, self.guidable_from, self.sim.now,
                     state, valid, counts)
        if key is not None and bucket is not None:
            self._remember(key[valid], bucket[valid])  # a suspended record is known too
        ok = whole & (reason == OK)
        now = np.full(n, self.sim.now)
        self._log(c, now, now, state, reason)
        wait = reason == NOT_GUIDABLE
        if wait.any():
            self.suspense.append({**{k: c[k][wait] for k in c}, "received": now[wait]})
            self.suspended += int(wait.sum())
        self.terminated += int(counts[0])
        self.too_late += int(counts[1])
        self.fail_open += int(counts[2])
        if ok.all():  # the usual batch: every record guided
            return dict(c)
        rows = np.flatnonzero(ok)  # found once for every column
        return {k: c[k][rows] for k in (c if columns is None else columns)}

    def recycle(self, too_late_before: float | npt.NDArray[np.float64] = -np.inf) -> Cols:
        """Retry the records in suspense: guided when their line is known now; rejected when
        too old or written off; the rest wait. Sessions whose assembly timed out go on, too."""
        timed_out = self.assemble(too_late_before)
        if not self.suspense:
            return timed_out
        s = {k: np.concatenate([p[k] for p in self.suspense]) for k in self.suspense[0]}
        self.suspense = []
        now = self.sim.now
        reason = np.full(s["record_id"].size, NOT_GUIDABLE, dtype=np.int8)
        reason[self.guidable_from[s["sub"]] <= now] = OK
        reason[(reason == NOT_GUIDABLE)
               & (now - s["received"] >= self.spec.suspense_max_age)] = UNGUIDABLE
        reason[self._too_late(s["sub"], s["start"], too_late_before)] = TOO_LATE
        done = reason != NOT_GUIDABLE
        state = np.where(reason == OK, GUIDED, REJECTED)
        self._log({k: v[done] for k, v in s.items()}, s["received"][done],
                  np.full(int(done.sum()), now), state[done], reason[done])
        if (~done).any():
            self.suspense.append({k: v[~done] for k, v in s.items()})
        ok = reason == OK
        self.recycled += int(ok.sum())  # (assembled sessions in suspense count once)
        self.unguidable += int((reason == UNGUIDABLE).sum())
        self.too_late += int((reason == TOO_LATE).sum())
        return _concat({k: v[ok] for k, v in s.items() if k != "received"}, timed_out)

    @property
    def in_suspense(self) -> int:
        return int(sum(p["record_id"].size for p in self.suspense))

    @property
    def held_parts(self) -> int:
        return int(sum(p["record_id"].size for p in self.held))

    def _log(self, c: Cols, received: np.ndarray, processed: np.ndarray, state: np.ndarray,
             reason: np.ndarray) -> None:
        self.cdrs.extend({**{k: c[k] for k in COLUMNS}, "received": received,
                          "processed": processed, "state": labels(state, STATES),
                          "reason": labels(reason, REASONS)})


def _concat(a: Cols, b: Cols) -> Cols:
    if not a:
        return b
    if not b:
        return a
    return {k: np.concatenate([a[k], b[k]]) for k in a}
