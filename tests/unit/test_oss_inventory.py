"""An inaccurate OSS inventory: missing and stale link records, drawn from the OSS's stream."""

from __future__ import annotations

import numpy as np

from twin.messages import InventorySnapshot
from twin.network import build_topology
from twin.oss.inventory import Inventory, degrade
from twin.scenario.schema import InventoryAccuracySpec, NetworkSpec


def snapshot() -> InventorySnapshot:
    return build_topology(NetworkSpec.model_validate({"preset": "small", "sites": 6,
                                                      "sites_per_chain": 3})).inventory()


def test_missing_and_stale_links() -> None:
    snap = snapshot()
    spec = InventoryAccuracySpec(missing_links=0.2, stale_links=0.2)
    bad, changes = degrade(snap, spec, np.random.default_rng(1))
    n = len(snap.links)
    assert sum(v == "missing" for v in changes.values()) == round(0.2 * n)
    stale = {k for k, v in changes.items() if v.startswith("stale")}
    assert len(stale) == round(0.2 * n)
    types = {e.id: e.type for e in snap.elements}
    true = {link.id: link for link in snap.links}
    for link in bad.links:
        if link.id in stale:
            assert (link.a, link.b) != (true[link.id].a, true[link.id].b)
            assert sorted([types[link.a], types[link.b]]) == sorted(
                [types[true[link.id].a], types[true[link.id].b]])
        else:
            assert link == true[link.id]
    assert len(bad.links) == n - round(0.2 * n)


def test_same_stream_same_errors_and_accurate_by_default() -> None:
    snap = snapshot()
    spec = InventoryAccuracySpec(stale_links=0.3)
    one = degrade(snap, spec, np.random.default_rng(7))
    two = degrade(snap, spec, np.random.default_rng(7))
    assert one == two
    same, changes = degrade(snap, InventoryAccuracySpec(), np.random.default_rng(7))
    assert same == snap and changes == {}
    assert Inventory(same).shadow("site1-site2") == Inventory(snap).shadow("site1-site2")
