"""Mediation: validate, deduplicate and guide the CDRs the collector delivers.

Each record goes through, in this order (TMF635 usage states in brackets):

1. **validation** — a known subscriber number, non-negative quantities, a known record type
   (voice 0, data 1, SMS 2); otherwise [rejected] with the reason;
2. **deduplication** — the same (recording entity, charging id, record sequence number) seen
   before among records that started within ``dedup_retention`` of now; with no charging id
   in the batch the record id stands in for it, sequence 0 (3GPP TS 32.298 names
   chargingID + nodeID + recordSequenceNumber as the key used in practice) → [rejected]
   ``duplicate``;
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

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from twin.kernel import Sim, labels
from twin.messages import UsageBatch
from twin.scenario.schema import MediationSpec

CDR_SCHEMA = pa.schema([
    ("record_id", pa.int64()), ("node_id", pa.int64()), ("sub", pa.int64()),
    ("kind", pa.int8()), ("start", pa.float64()), ("duration_s", pa.int64()),
    ("volume_bytes", pa.int64()), ("cause", pa.int8()), ("received", pa.float64()),
    ("processed", pa.float64()), ("state", pa.string()), ("reason", pa.string()),
])
(OK, UNKNOWN_SUB, NEGATIVE, UNKNOWN_TYPE, DUPLICATE, TOO_LATE, NOT_GUIDABLE, UNGUIDABLE,
 FAIL_OPEN, TERMINATED) = range(10)
REASONS = ("", "unknown subscriber", "negative quantity", "unknown record type", "duplicate",
           "too late", "not guidable yet", "unguidable", "fail-open, not charged",
           "terminated subscription")
STATES = ("guided", "rejected", "recycled")
GUIDED, REJECTED, RECYCLED = range(3)
BUCKET_S = 3600.0  # dedup keys are kept per hour of record start
COLUMNS = ("record_id", "node_id", "sub", "kind", "start", "duration_s", "volume_bytes",
           "cause")

Cols = dict[str, np.ndarray]
I64 = npt.NDArray[np.int64]


def dedup_key(c: Cols) -> I64:
    """(recording entity, charging id, record sequence number) packed into one integer."""
    charging = c.get("charging_id", c["record_id"]).astype(np.int64)
    seq = c["seq"].astype(np.int64) if "seq" in c else np.zeros(charging.size, np.int64)
    key: I64 = (c["node_id"].astype(np.int64) << 56) | (charging << 12) | seq
    return key


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
        self.seen: dict[int, I64] = {}  # hour of record start → sorted dedup keys
        self.suspense: list[Cols] = []
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

    # --- dedup store -----------------------------------------------------------------------

    def _seen_before(self, key: I64, bucket: I64) -> npt.NDArray[np.bool_]:
        out = np.zeros(key.size, dtype=bool)
        for b in np.unique(bucket):
            known = self.seen.get(int(b))
            if known is None or known.size == 0:
                continue
            rows = np.flatnonzero(bucket == b)
            pos = np.minimum(np.searchsorted(known, key[rows]), known.size - 1)
            out[rows] = known[pos] == key[rows]
        return out

    def _remember(self, key: I64, bucket: I64) -> None:
        for b in np.unique(bucket):
            new = key[bucket == b]
            old = self.seen.get(int(b))
            self.seen[int(b)] = np.sort(new) if old is None else np.sort(np.concatenate([old,
                                                                                         new]))

    def _forget_old(self) -> None:
        oldest = int(np.floor((self.sim.now - self.spec.dedup_retention) / BUCKET_S))
        for b in [b for b in self.seen if b < oldest]:
            del self.seen[b]

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
                too_late_before: float | npt.NDArray[np.float64] = -np.inf) -> Cols:
        """The records of ``batch`` guided now. Records starting before ``too_late_before``
        belong to a bill cycle closed for good: rejected, written off."""
        self._forget_old()
        c = {k: np.asarray(v) for k, v in batch.columns.items()}
        n = batch.rows
        reason = np.zeros(n, dtype=np.int8)
        reason[(c["sub"] < 0) | (c["sub"] >= self.n_subs)] = UNKNOWN_SUB
        reason[(reason == OK) & ((c["duration_s"] < 0) | (c["volume_bytes"] < 0))] = NEGATIVE
        reason[(reason == OK) & ((c["kind"] < 0) | (c["kind"] > 2))] = UNKNOWN_TYPE
        key = dedup_key(c)
        bucket = np.floor(c["start"] / BUCKET_S).astype(np.int64)
        _, first = np.unique(key, return_index=True)
        seen = np.ones(n, dtype=bool)
        seen[first] = False
        seen |= self._seen_before(key, bucket)
        reason[(reason == OK) & seen] = DUPLICATE
        reason[(reason == OK) & self._too_late(c["sub"], c["start"], too_late_before)] = TOO_LATE
        if "online" in c:
            sub_ = np.clip(c["sub"], 0, self.n_subs - 1)
            reason[(reason == OK) & (c["online"] == 2) & self.uncharged[sub_]] = FAIL_OPEN
        sub_ok = np.clip(c["sub"], 0, self.n_subs - 1)
        reason[(reason == OK) & (c["start"] >= self.leaves[sub_ok])] = TERMINATED
        valid = (reason == OK) | (reason == FAIL_OPEN) | (reason == TERMINATED)
        self._remember(key[valid], bucket[valid])  # a suspended record is known too
        sub = np.clip(c["sub"], 0, self.n_subs - 1)
        reason[(reason == OK) & (self.guidable_from[sub] > self.sim.now)] = NOT_GUIDABLE
        ok = reason == OK
        state = np.where(ok, GUIDED, np.where(reason == NOT_GUIDABLE, RECYCLED, REJECTED))
        now = np.full(n, self.sim.now)
        self._log(c, now, now, state, reason)
        wait = reason == NOT_GUIDABLE
        if wait.any():
            self.suspense.append({**{k: c[k][wait] for k in c}, "received": now[wait]})
            self.suspended += int(wait.sum())
        dups = int((reason == DUPLICATE).sum())
        late = int((reason == TOO_LATE).sum())
        opened = int((reason == FAIL_OPEN).sum())
        gone = int((reason == TERMINATED).sum())
        self.terminated += gone
        self.received += n
        self.duplicates += dups
        self.too_late += late
        self.fail_open += opened
        self.rejected += int((state == REJECTED).sum()) - dups - late - opened - gone
        return {k: c[k][ok] for k in c}

    def recycle(self, too_late_before: float | npt.NDArray[np.float64] = -np.inf) -> Cols:
        """Retry the records in suspense: guided when their line is known now; rejected when
        too old or written off; the rest wait."""
        if not self.suspense:
            return {}
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
        self.recycled += int(ok.sum())
        self.unguidable += int((reason == UNGUIDABLE).sum())
        self.too_late += int((reason == TOO_LATE).sum())
        return {k: v[ok] for k, v in s.items() if k != "received"}

    @property
    def in_suspense(self) -> int:
        return int(sum(p["record_id"].size for p in self.suspense))

    def _log(self, c: Cols, received: np.ndarray, processed: np.ndarray, state: np.ndarray,
             reason: np.ndarray) -> None:
        self.cdrs.extend({**{k: c[k] for k in COLUMNS}, "received": received,
                          "processed": processed, "state": labels(state, STATES),
                          "reason": labels(reason, REASONS)})
