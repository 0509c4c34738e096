"""Topology: generated core–aggregation–access networks (tree or ring) and explicit lists."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pytest

from twin.network import build_topology
from twin.scenario import load
from twin.scenario.schema import NetworkSpec


def generated(**kw: Any) -> NetworkSpec:
    spec = {"preset": "small", "sites": 6, "sites_per_chain": 3, "cells_per_site": 2,
            "transport": "tree"}
    spec.update(kw)
    return NetworkSpec.model_validate(spec)


def test_tree_counts_and_names() -> None:
    topo = build_topology(generated())
    types = [e.type for e in topo.elements.values()]
    assert types.count("core_router") == 1
    assert types.count("agg_router") == 2
    assert types.count("site_router") == 6
    assert types.count("cell") == 12
    # a tree: one link fewer than elements, and connected
    assert len(topo.links) == len(topo.elements) - 1 == 20
    assert nx.is_connected(topo.graph)
    assert topo.core == ["core1"]
    assert "site3-c1" in topo.cells and "site6-c2" in topo.cells
    assert len(topo.cells) == 12
    assert {"core1-agg1", "core1-agg2", "agg1-site1", "site1-site2", "site2-site3",
            "agg2-site4", "site4-site5", "site5-site6", "site3-c1-up"} <= set(topo.links)
    link = topo.links["site1-site2"]
    assert (link.a, link.b) == ("site1", "site2")
    assert topo.links["site3-c1-up"].b == "site3-c1"
    assert topo.elements["site3-c1"].site == "site3"


def test_ring_closes_each_chain_back_to_its_aggregation_router() -> None:
    tree = build_topology(generated())
    ring = build_topology(generated(transport="ring"))
    assert set(ring.elements) == set(tree.elements)
    extra = set(ring.links) - set(tree.links)
    assert extra == {"site3-agg1", "site6-agg2"}
    assert len(ring.links) == len(tree.links) + 2
    assert set(tree.links) <= set(ring.links)


def test_uneven_last_chain() -> None:
    topo = build_topology(generated(sites=5, transport="ring"))
    assert [e for e in topo.elements if e.startswith("agg")] == ["agg1", "agg2"]
    assert "site5-agg2" in topo.links  # the short chain (site4, site5) closes too
    assert sum(e.type == "site_router" for e in topo.elements.values()) == 5


def test_single_site_chains_have_no_duplicate_ring_link() -> None:
    topo = build_topology(generated(sites=2, sites_per_chain=1, transport="ring"))
    tree = build_topology(generated(sites=2, sites_per_chain=1, transport="tree"))
    assert set(topo.links) == set(tree.links)


def test_channels_and_vendors() -> None:
    topo = build_topology(generated(cell={"voice_channels": 17}, vendors=["a", "b"]))
    assert set(topo.channels) == set(topo.cells)
    assert set(topo.channels.values()) == {17}
    assert topo.elements["site1"].vendor == "a"
    assert topo.elements["site2"].vendor == "b"
    assert topo.elements["site3-c2"].vendor == "a"  # cells share their site's vendor


def test_inventory_snapshot_matches_topology() -> None:
    topo = build_topology(generated())
    snap = topo.inventory()
    assert {e.id for e in snap.elements} == set(topo.elements)
    assert {link.id for link in snap.links} == set(topo.links)


def test_explicit_topology(explicit_scenario: dict[str, Any]) -> None:
    explicit_scenario["network"]["elements"].append({"id": "cell3", "type": "cell",
                                                     "site": "north", "vendor": "beta"})
    explicit_scenario["network"]["links"].append({"a": "cell3", "b": "core1", "id": "uplink3"})
    topo = build_topology(load(explicit_scenario).network)
    assert set(topo.links) == {"cell1-core1", "cell2-core1", "uplink3"}
    assert topo.channels == {"cell1": 5, "cell2": 30, "cell3": 30}  # default from network.cell
    assert topo.elements["cell3"].site == "north"
    assert topo.elements["cell1"].site == "cell1"  # site defaults to the id
    assert topo.elements["cell3"].vendor == "beta"


def test_explicit_parallel_links_are_kept() -> None:
    spec = NetworkSpec.model_validate({
        "elements": [{"id": "core1", "type": "core_router"}, {"id": "c", "type": "cell"}],
        "links": [{"a": "c", "b": "core1", "id": "l1"}, {"a": "c", "b": "core1", "id": "l2"}],
    })
    topo = build_topology(spec)
    assert topo.graph.number_of_edges("c", "core1") == 2


def test_explicit_duplicate_link_id_raises() -> None:
    spec = NetworkSpec.model_validate({
        "elements": [{"id": "core1", "type": "core_router"}, {"id": "c", "type": "cell"}],
        "links": [{"a": "c", "b": "core1"}, {"a": "c", "b": "core1"}],
    })
    with pytest.raises(ValueError, match=r"links\[1\]\.id"):
        build_topology(spec)
