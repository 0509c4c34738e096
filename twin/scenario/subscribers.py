"""The subscriber base: who subscribes to which offer, on which cell, in which account.

Shares of the mix become exact counts (largest remainder), shuffled over subscribers.
Consumers each have their own account; enterprise lines are grouped into accounts of
``lines_per_enterprise_account`` lines homed on one cell (an office).
"""

from __future__ import annotations

import numpy as np

from twin.messages import SubscriberBase
from twin.scenario.schema import Scenario


def build_subscribers(scenario: Scenario, cells: list[str],
                      rng: np.random.Generator) -> SubscriberBase:
    spec = scenario.subscribers
    offers = tuple(o for o in spec.mix if spec.mix[o] > 0)
    n = spec.count
    exact = np.array([spec.mix[o] * n for o in offers])
    counts = np.floor(exact).astype(np.int64)
    for i in np.argsort(-(exact - counts), kind="stable")[: n - int(counts.sum())]:
        counts[i] += 1
    offer = rng.permutation(np.repeat(np.arange(len(offers), dtype=np.int16), counts))
    cell = rng.integers(0, len(cells), size=n).astype(np.int32)
    account = np.full(n, -1, dtype=np.int32)
    catalog = scenario.bss.catalog.offers
    enterprise = np.array([catalog[o].segment == "enterprise" for o in offers])[offer]
    consumers = np.flatnonzero(~enterprise)
    account[consumers] = np.arange(consumers.size, dtype=np.int32)
    ent = np.flatnonzero(enterprise)
    group = np.arange(ent.size) // spec.lines_per_enterprise_account
    account[ent] = consumers.size + group
    if ent.size:
        office = rng.integers(0, len(cells), size=int(group.max()) + 1)
        cell[ent] = office[group]
    prepaid = np.array([catalog[o].account_type == "prepaid" for o in offers], dtype=bool)
    factors = scenario.traffic.segment_factors
    demand = None
    if factors:  # an offer's own factor, else its segment's
        per_offer = np.array([factors.get(o, factors.get(catalog[o].segment, 1.0))
                              for o in offers], dtype=np.float64)
        demand = per_offer[offer]
    return SubscriberBase(tuple(cells), offers, cell, offer, account, prepaid[offer], demand)
