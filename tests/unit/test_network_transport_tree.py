"""The transport tree (each node's parent towards the core) against a plain FIFO
breadth-first search — the reference the vectorised one must equal node for node, ties
included, on generated networks, a real backbone and parallel links, with random sets of
elements and links down."""

from __future__ import annotations

import dataclasses
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from twin.kernel import Sim
from twin.network import build_topology
from twin.network.state import NetworkState
from twin.network.topology import Topology
from twin.network.transport import TransportLoad
from twin.scenario.schema import NetworkSpec

CAPACITY = {"fibre": 10_000.0, "microwave": 1_000.0}


def reference(topo: Topology, down: frozenset[str]) -> dict[str, tuple[str, str]]:
    """Breadth-first from the working core routers in order, neighbours in the graph's
    order; a node's parent is whoever reaches it first, over the lowest-id link up."""
    parent: dict[str, tuple[str, str]] = {}
    queue = deque(c for c in topo.core if c not in down)
    seen = set(queue)
    while queue:
        node = queue.popleft()
        for nbr, edges in topo.graph.adj[node].items():
            if nbr in seen or nbr in down:
                continue
            up = [k for k in edges if k not in down]
            if not up:
                continue
            seen.add(nbr)
            parent[nbr] = (node, min(up))
            queue.append(nbr)
    return parent


def tree(tl: TransportLoad, down: frozenset[str]) -> dict[str, tuple[str, str]]:
    up_node, up_link = tl._tree(down)
    nodes = list(tl._node_index)
    return {nodes[i]: (nodes[up_node[i]], tl.link_ids[up_link[i]])
            for i in np.flatnonzero(up_node >= 0)}


def transport(tmp_path: Path, topo: Topology) -> TransportLoad:
    sim = Sim.create(datetime(2026, 1, 5, tzinfo=UTC), 86_400.0, 1, tmp_path)
    return TransportLoad(sim, NetworkState(topo), CAPACITY, 0.8, 0.7)


def with_parallel_links(topo: Topology, every: int) -> Topology:
    """A second (and third) link beside every ``every``-th link, ids sorting before and
    after it, so the lowest id up is sometimes the new one."""
    for i, lid in enumerate(list(topo.links)):
        if i % every:
            continue
        for new in (f"{lid}-0", f"a{lid}"):
            link = dataclasses.replace(topo.links[lid], id=new)
            topo.links[new] = link
            topo.graph.add_edge(link.a, link.b, key=new)
    return topo


def meshed(topo: Topology, extra: int, seed: int) -> Topology:
    """``extra`` links more between random routers: many nodes a few hops from the core
    then have several parents to choose from, at every depth (the presets have such ties
    only next to the core)."""
    rng = np.random.default_rng(seed)
    routers = sorted(n for n in topo.graph if topo.graph.degree(n) > 1)
    template = next(iter(topo.links.values()))
    for i in range(extra):
        a, b = rng.choice(routers, size=2, replace=False).tolist()
        link = dataclasses.replace(template, id=f"mesh{i}", a=a, b=b)
        topo.links[link.id] = link
        topo.graph.add_edge(a, b, key=link.id)
    return topo


def shuffled(topo: Topology, seed: int) -> Topology:
    """The same network with its nodes and links added to the graph in another order: other
    neighbour orders, so other ties for the search to break (and node numbers that are not
    the order in which it finds them)."""
    rng = np.random.default_rng(seed)
    g = nx.MultiGraph()
    nodes = list(topo.graph.nodes)
    g.add_nodes_from(nodes[i] for i in rng.permutation(len(nodes)))
    links = list(topo.links.values())
    for i in rng.permutation(len(links)):
        g.add_edge(links[i].a, links[i].b, key=links[i].id)
    return dataclasses.replace(topo, graph=g)


NETWORKS = {
    "small": {"preset": "small", "transport": "ring"},
    "metro": {"preset": "metro", "transport": "ring"},
    "abilene": {"backbone": "sndlib/abilene"},
    "meshed": {"preset": "metro", "transport": "ring"},
}


@pytest.mark.parametrize("order", [None, 1, 2])
@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("name", list(NETWORKS))
def test_the_tree_is_the_fifo_search_tree(tmp_path: Path, name: str, parallel: bool,
                                          order: int | None) -> None:
    topo = build_topology(NetworkSpec.model_validate(NETWORKS[name]))
    if name == "meshed":
        topo = meshed(topo, 80, 3)
    if parallel:
        topo = with_parallel_links(topo, 3)
    if order is not None:
        topo = shuffled(topo, order)
    tl = transport(tmp_path, topo)
    rng = np.random.default_rng(11)
    targets = sorted(topo.graph.nodes) + sorted(topo.links)
    routers = [n for n in targets if n in topo.graph and topo.graph.degree(n) > 1]
    downs = [frozenset(), frozenset(topo.core), frozenset(topo.core[:1])]
    for k in (1, 2, 5, 20, 60):
        for _ in range(8):
            downs.append(frozenset(rng.choice(targets, size=k, replace=False).tolist()))
            downs.append(frozenset(rng.choice(routers, size=min(k, len(routers)),
                                              replace=False).tolist()))
    if parallel:  # one of a pair down, and both
        lid = next(iter(topo.links))
        downs += [frozenset({lid}), frozenset({f"{lid}-0"}), frozenset({lid, f"{lid}-0"}),
                  frozenset({lid, f"{lid}-0", f"a{lid}"})]
    for down in downs:
        assert tree(tl, down) == reference(topo, down), sorted(down)
