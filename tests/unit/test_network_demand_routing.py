"""SNDlib demand between PoPs on the trunks: shortest routes by length, rerouted after a cut,
scaled to ``pops.demand_load``, shaped by the traffic profile — against networkx on the
graph as topohub gives it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import topohub

from twin.kernel import Sim
from twin.network import build_topology
from twin.network.state import NetworkState
from twin.network.topology import Topology
from twin.network.transport import TransportLoad
from twin.scenario.schema import NetworkSpec

CAPACITY = {"fibre": 10_000.0, "microwave": 1_000.0}


def setup(tmp_path: Path, key: str, profile: float = 1.0,
          load: float = 0.2) -> tuple[TransportLoad, NetworkState, Topology, nx.Graph]:
    topo = build_topology(NetworkSpec.model_validate(
        {"backbone": key, "cells_per_site": 1, "pops": {"demand_load": load}}))
    sim = Sim.create(datetime(2026, 1, 5, tzinfo=UTC), 86_400.0, 1, tmp_path)
    state = NetworkState(topo)
    tl = TransportLoad(sim, state, CAPACITY, 0.8, 0.7, profile=lambda t: profile)
    assert topo.backbone is not None
    data = topohub.get(key)  # the source graph, PoPs named by the twin's ids
    ids = dict(zip((n["id"] for n in data["nodes"]), topo.backbone.pops, strict=True))
    g = nx.Graph()
    for e in data["edges"]:
        g.add_edge(ids[e["source"]], ids[e["target"]], km=e["dist"])
    return tl, state, topo, g


def check_routes(tl: TransportLoad, topo: Topology, g: nx.Graph,
                 down: frozenset[str]) -> list[list[str] | None]:
    routes = tl.routes(down)
    assert len(routes) == len(tl.demands)
    for (a, b, _), route in zip(tl.demands, routes, strict=True):
        if not nx.has_path(g, a, b):
            assert route is None
            continue
        assert route is not None and not set(route) & down
        node = a  # the route walks from a to b, trunk by trunk
        for lid in route:
            link = topo.links[lid]
            assert node in (link.a, link.b)
            node = link.b if node == link.a else link.a
        assert node == b
        km = sum(topo.links[lid].length_km or 0.0 for lid in route)
        assert km == pytest.approx(nx.dijkstra_path_length(g, a, b, weight="km"))
    return routes


def test_demands_take_the_shortest_routes_and_load_the_busiest_trunk_as_asked(
        tmp_path: Path) -> None:
    tl, state, topo, g = setup(tmp_path, "sndlib/geant", profile=1.0, load=0.2)
    assert len(tl.demands) == 462  # 22 PoPs, every ordered pair
    routes = check_routes(tl, topo, g, frozenset())
    util, bottleneck = tl.load(0.0, 900.0, np.zeros(len(state.cell_ids)))
    assert (bottleneck == 1.0).all()
    expected = dict.fromkeys(topo.links, 0.0)
    for mbps, route in zip(tl.demand_mbps, routes, strict=True):
        for lid in route or ():
            expected[lid] += mbps
    cap = {lid: topo.links[lid].capacity_mbps or CAPACITY[topo.links[lid].medium]
           for lid in topo.links}
    assert util == pytest.approx([expected[lid] / cap[lid] for lid in tl.link_ids])
    assert util.max() == pytest.approx(0.2)  # the busiest trunk at demand_load
    assert {topo.links[tl.link_ids[i]].id for i in np.flatnonzero(util)} <= set(
        topo.backbone.trunks)  # type: ignore[union-attr]
    volume = np.array([v for _, _, v in tl.demands])
    assert tl.demand_mbps / volume == pytest.approx(np.full(volume.size, tl.demand_mbps[0]
                                                            / volume[0]))


def test_the_profile_shapes_the_demand(tmp_path: Path) -> None:
    tl, state, _, _ = setup(tmp_path, "sndlib/geant", profile=2.5)
    util, _ = tl.load(0.0, 900.0, np.zeros(len(state.cell_ids)))
    assert util.max() == pytest.approx(0.5)


def test_a_cut_moves_the_demand_onto_the_detour(tmp_path: Path) -> None:
    tl, state, topo, g = setup(tmp_path, "sndlib/geant")
    cells = np.zeros(len(state.cell_ids))
    before, _ = tl.load(0.0, 900.0, cells)
    busiest = tl.link_ids[int(np.argmax(before))]
    state.set_down(busiest, 1)
    cut = g.copy()
    link = topo.links[busiest]
    cut.remove_edge(link.a, link.b)
    routes = check_routes(tl, topo, cut, frozenset({busiest}))
    assert all(r is not None for r in routes)  # GEANT's mesh has a detour for every pair
    after, _ = tl.load(900.0, 1800.0, cells)
    assert after[tl.link_index[busiest]] == 0.0
    assert after.max() > before.max()  # the detour carries more than the busiest did
    # no demand lost: what left the cut trunk went round, over at least as many km
    carried = sum(m * sum(topo.links[x].length_km or 0.0 for x in r)  # type: ignore[union-attr]
                  for m, r in zip(tl.demand_mbps, routes, strict=True))
    first = tl.routes(frozenset())
    assert carried > sum(m * sum(topo.links[x].length_km or 0.0 for x in r)  # type: ignore[union-attr]
                         for m, r in zip(tl.demand_mbps, first, strict=True))


def test_a_cut_spur_or_a_failed_pop_strands_its_demand(tmp_path: Path) -> None:
    tl, _, topo, g = setup(tmp_path, "sndlib/abilene")
    spur = "ATLAM5-ATLAng"
    assert spur in topo.backbone.trunks  # type: ignore[union-attr]
    cut = g.copy()
    cut.remove_edge("ATLAM5", "ATLAng")
    routes = check_routes(tl, topo, cut, frozenset({spur}))
    stranded = [(a, b) for (a, b, _), r in zip(tl.demands, routes, strict=True) if r is None]
    assert stranded and all("ATLAM5" in pair for pair in stranded)
    assert len(stranded) == 2 * 11  # to and from each of the other eleven PoPs
    # a failed PoP router carries nothing, to, from or through it
    routes = tl.routes(frozenset({"KSCYng"}))
    for (a, b, _), r in zip(tl.demands, routes, strict=True):
        if "KSCYng" in (a, b):
            assert r is None
        else:
            assert r is not None
            assert all("KSCYng" not in (topo.links[x].a, topo.links[x].b) for x in r)
