"""The subscriber base: who subscribes to which offer, on which cell, in which account.

Shares of the mix become exact counts (largest remainder), shuffled over subscribers.
Consumers each have their own account; enterprise lines are grouped into accounts of
``lines_per_enterprise_account`` lines homed on one cell (an office). Cells are drawn
uniformly, or in proportion to ``site_weights`` (a busy city-centre site against a quiet
rural one).

With ``bss.orders.new_lines_per_day`` the base also holds *prospects*, after the existing
lines: as many as a Poisson draw of the run's expected new orders, each a new customer with
an account of its own, an offer drawn from the mix and a home cell. They are drawn after the
existing lines from the same stream, so the existing base is the same with or without them.
Offers that lines can change to (``bss.orders.change_to``) follow the mix's offers.
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


def build_subscribers(scenario: Scenario, cells: list[str], rng: np.random.Generator, *,
                      cell_region: tuple[str, ...] = (),
                      sites: list[str] | None = None) -> SubscriberBase:
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
    n_mix = len(offers)
    offers += tuple(dict.fromkeys(t for t in scenario.bss.orders.change_to.values()
                                  if t not in offers))
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
    catalog_offers = [catalog[o] for o in offers]
    prepaid = np.array([c.account_type == "prepaid" for c in catalog_offers], dtype=bool)
    factors, by_type = scenario.traffic.segment_factors, scenario.traffic.account_type_factors
    per_offer = np.array([factors.get(o, factors.get(c.segment, 1.0))  # offer, else segment
                          * by_type.get(c.account_type, 1.0)
                          for o, c in zip(offers, catalog_offers, strict=True)],
                         dtype=np.float64)
    weighted = bool(factors) or bool((per_offer != 1.0).any())
    rate = scenario.bss.orders.new_lines_per_day
    if rate <= 0:
        return SubscriberBase(tuple(cells), offers, cell, offer, account,
                              cell_region=cell_region, prepaid=prepaid[offer],
                              demand=per_offer[offer] if weighted else None)
    m = int(rng.poisson(rate * scenario.duration / 86_400.0))
    share = np.array([spec.mix[o] for o in offers[:n_mix]], dtype=np.float64)
    new_offer = rng.choice(n_mix, size=m, p=share / share.sum()).astype(np.int16)
    new_cell = rng.integers(0, len(cells), size=m).astype(np.int32)
    new_account = (int(account.max()) + 1 + np.arange(m)).astype(np.int32)
    every_offer = np.concatenate([offer, new_offer])
    return SubscriberBase(tuple(cells), offers, np.concatenate([cell, new_cell]), every_offer,
                          np.concatenate([account, new_account]), existing=n,
                          cell_region=cell_region, prepaid=prepaid[every_offer],
                          demand=per_offer[every_offer] if weighted else None)
