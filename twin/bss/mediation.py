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

from twin.kernel import Sim
from twin.messages import UsageBatch

CDR_SCHEMA = pa.schema([
    ("record_id", pa.int64()), ("node_id", pa.int64()), ("sub", pa.int64()),
    ("kind", pa.int8()), ("start", pa.float64()), ("duration_s", pa.int64()),
    ("volume_bytes", pa.int64()), ("cause", pa.int8()), ("received", pa.float64()),
    ("state", pa.string()), ("reason", pa.string()),
])


class Mediation:
    def __init__(self, sim: Sim, n_subs: int, dedup_window_batches: int = 8) -> None:
        self.sim = sim
        self.n_subs = n_subs
        self.recent: deque[npt.NDArray[np.int64]] = deque(maxlen=dedup_window_batches)
        self.cdrs = sim.records.buffer("cdrs", CDR_SCHEMA)
        self.received = 0
        self.rejected = 0
        self.duplicates = 0

    def process(self, batch: UsageBatch) -> dict[str, np.ndarray]:
        """The accepted (guided) records of ``batch``."""
        c = batch.columns
        n = batch.rows
        reason = np.full(n, "", dtype=object)
        bad_sub = (c["sub"] < 0) | (c["sub"] >= self.n_subs)
        reason[bad_sub] = "unknown subscriber"
        reason[(reason == "") & ((c["duration_s"] < 0) | (c["volume_bytes"] < 0))] = (
            "negative quantity")
        reason[(reason == "") & ~np.isin(c["kind"], (0, 1))] = "unknown record type"
        key = c["node_id"].astype(np.int64) * (1 << 40) + c["record_id"]
        _, first = np.unique(key, return_index=True)
        seen = np.ones(n, dtype=bool)
        seen[first] = False
        if self.recent:
            seen |= np.isin(key, np.concatenate(list(self.recent)))
        reason[(reason == "") & seen] = "duplicate"
        ok = reason == ""
        self.recent.append(key[ok])
        state = np.where(ok, "guided", "rejected")
        self.cdrs.extend({**c, "received": np.full(n, self.sim.now), "state": state,
                          "reason": reason})
        self.received += n
        self.duplicates += int((reason == "duplicate").sum())
        self.rejected += int((~ok).sum()) - int((reason == "duplicate").sum())
        return {k: v[ok] for k, v in c.items()}
