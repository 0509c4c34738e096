"""Revenue the network could have earned but did not, rated from the ground truth.

Every offered call or session in the ``usage`` truth table is rated as the BSS would rate it
had it been carried in full. What was lost to outages (attempts on a cell out of service, and
the unserved remainder of calls dropped by a failure) and to blocking follows exactly, in
integer minor units. Read in batches, so memory stays bounded on long runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from twin.bss.catalog import PriceTable, rate
from twin.messages import SubscriberBase


def lost_revenue(usage_path: Path, subs: SubscriberBase, prices: PriceTable) -> dict[str, int]:
    out = dict(potential_usage_minor=0, carried_usage_minor=0, lost_outage_minor=0,
               lost_dropped_minor=0, lost_blocking_minor=0)
    cols = ["sub", "kind", "intended_s", "actual_s", "intended_bytes", "actual_bytes", "outcome"]
    for batch in pq.ParquetFile(usage_path).iter_batches(batch_size=1_000_000, columns=cols):
        sub = batch.column("sub").to_numpy()
        kind = (batch.column("kind").to_numpy(zero_copy_only=False) == "data").astype(np.int8)
        outcome = batch.column("outcome").to_numpy(zero_copy_only=False)
        offer = subs.offer[sub].astype(np.int64)
        full = rate(prices, offer, kind,
                    np.ceil(batch.column("intended_s").to_numpy()).astype(np.int64),
                    batch.column("intended_bytes").to_numpy())[1]
        got = rate(prices, offer, kind,
                   np.ceil(batch.column("actual_s").to_numpy()).astype(np.int64),
                   batch.column("actual_bytes").to_numpy())[1]
        served = (outcome == "completed") | (outcome == "dropped")
        out["potential_usage_minor"] += int(full.sum())
        out["carried_usage_minor"] += int(got[served].sum())
        out["lost_outage_minor"] += int(full[outcome == "lost_outage"].sum())
        dropped = outcome == "dropped"
        out["lost_dropped_minor"] += int((full[dropped] - got[dropped]).sum())
        out["lost_blocking_minor"] += int(full[outcome == "blocked"].sum())
    return out
