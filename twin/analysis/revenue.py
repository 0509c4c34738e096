"""Revenue the network could have earned but did not, rated from the ground truth.

Rating is not additive record by record — allowances and tiers depend on what else a
subscription used in the cycle — so a loss is measured as the difference between two
ratings of the truth: the ``usage`` table is rated several times by the BSS's own
:class:`~twin.bss.rating.Rater`, each time with fresh counters, in the table's order (the
order the network wrote its records, which is the order the BSS receives them):

1. ``potential``: every offered attempt as if carried in full;
2. without the attempts lost on cells out of service;
3. with dropped calls and sessions cut where they were dropped;
4. without blocked attempts: what the network carried (``carried``).

The differences 1−2, 2−3 and 3−4 are lost to outages, lost to drops and lost to blocking,
exactly, in integer minor units. Read in batches, so memory stays bounded on long runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from twin.bss.catalog import quantity
from twin.bss.rating import Rater
from twin.messages import SubscriberBase

STEPS = ("potential_usage_minor", "without_lost_minor", "with_drops_minor",
         "carried_usage_minor")


def lost_revenue(usage_path: Path, subs: SubscriberBase,
                 make_rater: Callable[[], Rater]) -> dict[str, int]:
    raters = [make_rater() for _ in STEPS]
    sums = dict.fromkeys(STEPS, 0)
    cols = ["sub", "kind", "start", "intended_s", "actual_s", "intended_bytes", "actual_bytes",
            "outcome"]
    # pre_buffer off: otherwise pyarrow keeps the whole file's pages while iterating, and a
    # 30-day run's truth table would sit in memory at once
    usage = pq.ParquetFile(usage_path, pre_buffer=False)
    for batch in usage.iter_batches(batch_size=250_000, columns=cols, use_threads=False):
        sub = batch.column("sub").to_numpy().astype(np.int64)
        kind_name = batch.column("kind").to_numpy(zero_copy_only=False)
        kind = np.where(kind_name == "voice", 0, np.where(kind_name == "data", 1, 2))
        outcome = batch.column("outcome").to_numpy(zero_copy_only=False)
        start = batch.column("start").to_numpy()
        offer = subs.offer[sub].astype(np.int64)
        full = quantity(kind, np.ceil(batch.column("intended_s").to_numpy()).astype(np.int64),
                        batch.column("intended_bytes").to_numpy())
        got = quantity(kind, np.ceil(batch.column("actual_s").to_numpy()).astype(np.int64),
                       batch.column("actual_bytes").to_numpy())
        dropped = outcome == "dropped"
        lost = outcome == "lost_outage"
        served = (outcome == "completed") | dropped
        steps = [
            np.ones(sub.size, dtype=bool),
            ~lost,
            ~lost,
            served,
        ]
        qty = [full, full, np.where(dropped, got, full), got]
        for name, rater, keep, q in zip(STEPS, raters, steps, qty, strict=True):
            r = rater.rate(sub[keep], offer[keep], kind[keep], start[keep], q[keep])
            sums[name] += int(r.charge.sum())
    return {
        "potential_usage_minor": sums["potential_usage_minor"],
        "carried_usage_minor": sums["carried_usage_minor"],
        "lost_outage_minor": sums["potential_usage_minor"] - sums["without_lost_minor"],
        "lost_dropped_minor": sums["without_lost_minor"] - sums["with_drops_minor"],
        "lost_blocking_minor": sums["with_drops_minor"] - sums["carried_usage_minor"],
    }

