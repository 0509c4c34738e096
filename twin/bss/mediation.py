"""Mediation: validate and deduplicate the CDRs the network sends.

Records that fail validation are rejected with a reason. Duplicates — the same
(node id, record id) seen again within the dedup window of recent batches — are dropped. The
``cdrs`` table keeps every received record with its TMF635-style state (``guided`` for
records passed on to rating, ``rejected`` otherwise) and the reason.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from twin.kernel import Sim, labels
from twin.messages import UsageBatch

CDR_SCHEMA = pa.schema([
    ("record_id", pa.int64()), ("node_id", pa.int64()), ("sub", pa.int64()),
    ("kind", pa.int8()), ("start", pa.float64()), ("duration_s", pa.int64()),
    ("volume_bytes", pa.int64()), ("cause", pa.int8()), ("received", pa.float64()),
    ("state", pa.string()), ("reason", pa.string()),
])
OK, UNKNOWN_SUB, NEGATIVE, UNKNOWN_TYPE, DUPLICATE, TOO_LATE = range(6)
REASONS = ("", "unknown subscriber", "negative quantity", "unknown record type", "duplicate",
           "too late")
STATES = ("guided", "rejected")


class Mediation:
    def __init__(self, sim: Sim, n_subs: int, dedup_window_batches: int = 8) -> None:
        self.sim = sim
        self.n_subs = n_subs
        self.recent: deque[npt.NDArray[np.int64]] = deque(maxlen=dedup_window_batches)
        self.cdrs = sim.records.buffer("cdrs", CDR_SCHEMA)
        self.received = 0
        self.rejected = 0
        self.duplicates = 0
        self.too_late = 0

    def process(self, batch: UsageBatch, too_late_before: float = -np.inf,
                ) -> dict[str, np.ndarray]:
        """The accepted (guided) records of ``batch``. Records starting before
        ``too_late_before`` belong to a bill cycle closed for good: rejected, written off."""
        c = batch.columns
        n = batch.rows
        reason = np.zeros(n, dtype=np.int8)
        reason[(c["sub"] < 0) | (c["sub"] >= self.n_subs)] = UNKNOWN_SUB
        reason[(reason == OK) & ((c["duration_s"] < 0) | (c["volume_bytes"] < 0))] = NEGATIVE
        reason[(reason == OK) & ((c["kind"] < 0) | (c["kind"] > 2))] = UNKNOWN_TYPE
        key = c["node_id"].astype(np.int64) * (1 << 40) + c["record_id"]
        _, first = np.unique(key, return_index=True)
        seen = np.ones(n, dtype=bool)
        seen[first] = False
        if self.recent:
            window = np.sort(np.concatenate(list(self.recent)))
            pos = np.minimum(np.searchsorted(window, key), window.size - 1)
            seen |= window[pos] == key
        reason[(reason == OK) & seen] = DUPLICATE
        reason[(reason == OK) & (c["start"] < too_late_before)] = TOO_LATE
        ok = reason == OK
        if ok.any():
            self.recent.append(key[ok])
        self.cdrs.extend({**c, "received": np.full(n, self.sim.now),
                          "state": labels((~ok).astype(np.int8), STATES),
                          "reason": labels(reason, REASONS)})
        dups = int((reason == DUPLICATE).sum())
        self.received += n
        self.duplicates += dups
        late = int((reason == TOO_LATE).sum())
        self.too_late += late
        self.rejected += int((~ok).sum()) - dups - late
        return {k: v[ok] for k, v in c.items()}
