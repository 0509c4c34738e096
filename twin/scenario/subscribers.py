"""The subscriber base: who subscribes to which offer, on which cell, in which account.

Shares of the mix become exact counts (largest remainder), shuffled over subscribers.
Consumers each have their own account; enterprise lines are grouped into accounts of
``lines_per_enterprise_account`` lines homed on one cell (an office). Cells are drawn
uniformly, or in proportion to ``site_weights`` (a busy city-centre site against a quiet
rural one).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twin.messages import SubscriberBase
from twin.scenario.schema import Scenario


def _cell_weights(weights: dict[str, float], cells: list[str],
                  sites: list[str] | None) -> npt.NDArray[np.float64]:
    sites = sites or cells
    known = set(cells) | set(sites)
    for key in weights:
        if key not in known:
            raise ValueError(f"subscribers.site_weights.{key}: no such site or cell")
    w = np.array([weights.get(c, weights.get(s, 1.0)) for c, s in zip(cells, sites,
                                                                        strict=True)])
    if w.sum() <= 0:
        raise ValueError("subscribers.site_weights: every cell weighs 0")
    out: npt.NDArray[np.float64] = w / w.sum()
    return out


def build_subscribers(scenario: Scenario, cells: list[str],
                      rng: np.random.Generator, sites: list[str] | None = None) -> SubscriberBase:
    """``sites[i]`` is the site of ``cells[i]`` (for ``site_weights``)."""
    spec = scenario.subscribers
    p = _cell_weights(spec.site_weights, cells, sites) if spec.site_weights else None
    offers = tuple(o for o in spec.mix if spec.mix[o] > 0)
    n = spec.count
    exact = np.array([spec.mix[o] * n for o in offers])
    counts = np.floor(exact).astype(np.int64)
    for i in np.argsort(-(exact - counts), kind="stable")[: n - int(counts.sum())]:
        counts[i] += 1
    offer = rng.permutation(np.repeat(np.arange(len(offers), dtype=np.int16), counts))
    cell = (rng.integers(0, len(cells), size=n) if p is None
            else rng.choice(len(cells), size=n, p=p)).astype(np.int32)
    account = np.full(n, -1, dtype=np.int32)
    catalog = scenario.bss.catalog.offers
    enterprise = np.array([catalog[o].segment == "enterprise" for o in offers])[offer]
    consumers = np.flatnonzero(~enterprise)
    account[consumers] = np.arange(consumers.size, dtype=np.int32)
    ent = np.flatnonzero(enterprise)
    group = np.arange(ent.size) // spec.lines_per_enterprise_account
    account[ent] = consumers.size + group
    if ent.size:
        k = int(group.max()) + 1
        office = rng.integers(0, len(cells), size=k) if p is None else rng.choice(
            len(cells), size=k, p=p)
        cell[ent] = office[group]
    return SubscriberBase(tuple(cells), offers, cell, offer, account)
