"""Real backbones from topohub: every network builds (or is refused with its reason), at its
real positions and lengths; the dressing rules; bad keys and names get the nearest ones."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
import topohub
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import twin
from twin.network.backbone import BackboneError, from_node_link, keys, load
from twin.network.pops import EARTH_KM, pop_ids
from twin.network.topology import build_topology
from twin.scenario import ScenarioError
from twin.scenario.schema import NetworkSpec

TOPOZOO, SNDLIB = keys("topozoo"), keys("sndlib")
# SNDlib networks drawn on a grid (whole-number coordinates, latitudes up to 716): refused
GRID = {"atlanta", "di-yuan", "france", "giul39", "india35", "newyork", "norway", "pioro40",
        "sun", "ta1", "ta2", "zib54"}


def test_topohub_ships_both_collections() -> None:
    assert len(TOPOZOO) == 203 and len(SNDLIB) == 26
    assert "topozoo/Geant2012" in TOPOZOO and "sndlib/abilene" in SNDLIB


@pytest.mark.parametrize("key", TOPOZOO + SNDLIB)
def test_every_network_builds_at_its_real_positions_and_lengths_or_is_refused(
        key: str) -> None:
    data = topohub.get(key)
    if key.startswith("sndlib/") and key.removeprefix("sndlib/") in GRID:
        with pytest.raises(BackboneError, match="drawn on a grid, not at longitude and latitude"):
            build_topology(NetworkSpec(backbone=key, cells_per_site=1))
        return
    topo = build_topology(NetworkSpec(backbone=key, cells_per_site=1, sites_per_chain=2))
    bb = topo.backbone
    assert bb is not None and bb.key == key
    source = {n["id"]: n for n in data["nodes"]}
    g = nx.Graph()
    g.add_nodes_from(source)
    g.add_edges_from((e["source"], e["target"]) for e in data["edges"])
    assert nx.is_connected(g) and not bb.left_out  # topohub's networks are all one piece
    # one PoP per source node, in order, at the source's longitude/latitude exactly
    assert [source[i]["name"] for i in source] == list(bb.names)
    assert [tuple(source[i]["pos"]) for i in source] == list(bb.lonlat)
    for pid in bb.pops:
        assert topo.elements[pid].type in ("core_router", "agg_router")
        assert topo.elements[pid].site == pid == topo.elements[pid].region
    # one trunk per source link, between the right PoPs, with the source's length exactly
    ids = dict(zip(source, bb.pops, strict=True))
    assert len(bb.trunks) == len(data["edges"])
    for lid, e in zip(bb.trunks, data["edges"], strict=True):
        link = topo.links[lid]
        assert {link.a, link.b} == {ids[e["source"]], ids[e["target"]]}
        assert link.length_km == e["dist"] and link.medium == "fibre"
    # every cell reaches a core router when nothing is down
    reach: set[str] = set()
    for core in topo.core:
        reach |= nx.node_connected_component(topo.graph, core)
    assert set(topo.cells) <= reach and topo.cells
    assert len(topo.core) == min(2, len(bb.pops))


def test_counts_of_built_and_refused_networks() -> None:
    from twin.network.backbone import catalogue

    rows = catalogue()
    zoo = [r for r in rows if r.key.startswith("topozoo/")]
    snd = [r for r in rows if r.key.startswith("sndlib/")]
    assert (len(zoo), sum(not r.refused for r in zoo)) == (203, 203)
    assert (len(snd), sum(not r.refused for r in snd)) == (26, 14)
    assert {r.key.removeprefix("sndlib/") for r in snd if r.refused} == GRID


def test_pop_positions_project_to_km_and_back() -> None:
    topo = build_topology(NetworkSpec(backbone="sndlib/geant", cells_per_site=1))
    bb = topo.backbone
    assert bb is not None
    lon0 = sum(x for x, _ in bb.lonlat) / len(bb.lonlat)
    lat0 = sum(y for _, y in bb.lonlat) / len(bb.lonlat)
    k = EARTH_KM * math.pi / 180
    for pid, (lon, lat) in zip(bb.pops, bb.lonlat, strict=True):
        x, y = topo.elements[pid].location or (math.nan, math.nan)
        assert lon0 + x / (k * math.cos(math.radians(lat0))) == pytest.approx(lon, abs=1e-4)
        assert lat0 + y / k == pytest.approx(lat, abs=1e-4)
    # access sites lie near their PoP, their links as long as the straight line between
    for e in topo.elements.values():
        if e.type == "site_router":
            px, py = topo.elements[e.region].location  # type: ignore[misc]
            assert math.dist((px, py), e.location) < 4 * 5.0 * 1.5  # type: ignore[arg-type]
    for link in topo.links.values():
        if link.id not in bb.trunks:
            a, b = topo.elements[link.a].location, topo.elements[link.b].location
            assert link.length_km == pytest.approx(math.dist(a, b), abs=2e-3)  # type: ignore[arg-type]


def spec(key: str = "sndlib/abilene", **kw: Any) -> NetworkSpec:
    return NetworkSpec.model_validate({"backbone": key, "cells_per_site": 1, **kw})


def sites_per_pop(topo: Any) -> dict[str, int]:
    out = dict.fromkeys(topo.backbone.pops, 0)
    for e in topo.elements.values():
        if e.type == "site_router":
            out[e.region] += 1
    return out


def test_access_sites_by_demand_degree_evenly_or_by_name() -> None:
    bb = load("sndlib/abilene")
    ids = pop_ids(bb)
    demand = dict.fromkeys(ids, 0.0)
    for a, b, v in bb.demands:
        demand[ids[a]] += v
        demand[ids[b]] += v
    by_demand = sites_per_pop(build_topology(spec(sites=48)))
    assert sum(by_demand.values()) == 48 and min(by_demand.values()) >= 1
    top = max(demand, key=demand.__getitem__)
    low = min(demand, key=demand.__getitem__)
    assert by_demand[top] > by_demand[low] == 1
    by_degree = sites_per_pop(build_topology(spec(sites=42, pops={"access": "degree"})))
    degree = dict(zip(ids, bb.degree, strict=True))
    assert by_degree == {p: 1 + degree[p] for p in ids}  # one each, 30 more by degree
    even = sites_per_pop(build_topology(spec(sites=24, pops={"access": "uniform"})))
    assert set(even.values()) == {2}
    named = sites_per_pop(build_topology(spec(pops={"access": {"NYCMng": 3, "LOSAng": 1}})))
    assert named == {**dict.fromkeys(ids, 0), "NYCMng": 3, "LOSAng": 1}
    assert sites_per_pop(build_topology(spec())) == sites_per_pop(
        build_topology(spec(sites=48)))  # default: 4 per PoP


def test_core_pops_by_degree_or_by_name() -> None:
    topo = build_topology(spec())
    bb = load("sndlib/abilene")
    deg = dict(zip(pop_ids(bb), bb.degree, strict=True))
    assert sorted(topo.core) == ["ATLAng", "HSTNng"]
    assert all(deg[c] >= max(d for p, d in deg.items() if p not in topo.core)
               for c in topo.core)
    named = build_topology(spec(pops={"core": ["NYCMng", "LOSAng", "DNVRng"]}))
    assert sorted(named.core) == ["DNVRng", "LOSAng", "NYCMng"]
    assert {e.site for e in named.elements.values() if e.type == "msc"} == set(named.core)
    one = build_topology(spec(core_sites=1, core_functions=False))
    assert len(one.core) == 1 and not any(e.type == "msc" for e in one.elements.values())


def test_rings_close_on_the_pop_or_on_its_nearest_neighbour() -> None:
    ring = build_topology(spec(sites=24, sites_per_chain=2, transport="ring",
                               microwave_share=0, pops={"access": "uniform"}))
    for pid in ring.backbone.pops:  # type: ignore[union-attr]
        assert ring.graph.has_edge(f"{pid}-s2", pid)
    dual = build_topology(spec(sites=24, sites_per_chain=2, transport="ring", dual_homing=True,
                               pops={"access": "uniform"}))
    bb = load("sndlib/abilene")
    ids = pop_ids(bb)
    for i, pid in enumerate(ids):
        near = min((t.km, ids[t.b if t.a == i else t.a]) for t in bb.trunks if i in (t.a, t.b))
        assert dual.graph.has_edge(f"{pid}-s2", near[1])


def test_a_disconnected_network_keeps_its_largest_part() -> None:
    data = {"nodes": [{"id": i, "name": n, "pos": [float(i) + 0.5, 50.5]}
                      for i, n in enumerate(["A", "B", "C", "D", "E"])],
            "edges": [{"source": 0, "target": 1, "dist": 70.0},
                      {"source": 1, "target": 2, "dist": 80.0},
                      {"source": 3, "target": 4, "dist": 90.0}],
            "graph": {"demands": {0: {1: 5.0, 3: 7.0}, 3: {4: 1.0}}}}
    bb = from_node_link("test/split", data)
    assert [p.name for p in bb.pops] == ["A", "B", "C"] and bb.left_out == ("D", "E")
    assert [t.km for t in bb.trunks] == [70.0, 80.0]
    assert bb.demands == ((0, 1, 5.0),)  # demands to or from the left-out PoPs go


@pytest.mark.parametrize(("change", "reason"), [
    (lambda d: d["nodes"][1].pop("pos"), "gives PoP 'B' no position"),
    (lambda d: d["edges"][0].update(dist=None), "gives the link A–B no length"),
    (lambda d: d["edges"][0].update(dist=-3.0), "gives the link A–B no length"),
    (lambda d: d.update(edges=[]), "has no two PoPs joined by a link"),
    (lambda d: d["nodes"][0].update(pos=[10, 95]), "drawn on a grid"),
])
def test_networks_that_cannot_be_used_are_refused_with_the_reason(change: Any,
                                                                   reason: str) -> None:
    data: dict[str, Any] = {
        "nodes": [{"id": 0, "name": "A", "pos": [10.5, 50.1]},
                  {"id": 1, "name": "B", "pos": [11.2, 50.3]}],
        "edges": [{"source": 0, "target": 1, "dist": 60.0}]}
    change(data)
    with pytest.raises(BackboneError, match=reason):
        from_node_link("test/x", data)


QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"


def problems(network: dict[str, Any]) -> list[str]:
    """The problems of the quickstart on this network instead."""
    data = yaml.safe_load(QUICKSTART.read_text())
    data["network"] = network
    data["faults"]["scripted"] = []
    with pytest.raises(ScenarioError) as info:
        twin.load_scenario(data, base_dir=QUICKSTART.parent)
    return info.value.problems


def test_bad_keys_and_names_get_the_nearest_ones() -> None:
    assert problems({"backbone": "topozoo/Geant"}) == [
        "network.backbone: topohub has no network 'topozoo/Geant' (nearest: topozoo/Geant2001, "
        "topozoo/Geant2009, topozoo/Geant2010); `twin topologies` lists them"]
    assert "(nearest: sndlib/abilene" in problems({"backbone": "sndlib/Abilene"})[0]
    assert problems({"backbone": "zoo/Abilene"})[0].startswith(
        "network.backbone: 'zoo/Abilene' is not topozoo/<name> or sndlib/<name> (nearest: "
        "topozoo/Abilene")
    assert problems({"backbone": "sndlib/abilene", "pops": {"core": ["NYCM"]}})[0].startswith(
        "network.pops.core[0]: no PoP 'NYCM' in sndlib/abilene (nearest: NYCMng")
    assert problems({"backbone": "sndlib/abilene", "pops": {"access": {"Denver": 2}}})[0] \
        .startswith("network.pops.access.Denver: no PoP 'Denver' in sndlib/abilene")
    assert problems({"backbone": "topozoo/Abilene", "pops": {"access": "demand"}}) == [
        "network.pops.access: topozoo/Abilene has no demand matrix (SNDlib networks have "
        "one); use degree or uniform"]
    assert problems({"backbone": "topozoo/Abilene", "pops": {"demand_load": 0.3}})[0] \
        .startswith("network.pops.demand_load: topozoo/Abilene has no demand matrix")
    assert problems({"backbone": "sndlib/ta2"})[0].startswith(
        "network.backbone: sndlib/ta2 is drawn on a grid")
    assert problems({"backbone": "sndlib/abilene", "sites": 5,
                     "pops": {"access": {"NYCMng": 1}}}) == [
        "network.sites: give either sites or a map in pops.access, not both"]
    assert problems({"backbone": "sndlib/abilene", "preset": "small"}) == [
        "network: give one of preset, backbone or a list of elements, not both preset and "
        "backbone"]
    assert problems({"preset": "small", "pops": {"demand_load": 0}}) == [
        "network.pops: only a backbone has PoPs to dress"]


def test_topology_zoo_names_become_element_ids() -> None:
    bb = load("topozoo/SwitchL3")
    ids = pop_ids(bb)
    assert len(set(ids)) == len(ids)
    assert "Zurich_ETH" in ids and "Lausanne_EPFL" in ids
    dup = load("topozoo/Arpanet19723")
    names = [p.name for p in dup.pops]
    assert len(set(names)) < len(names)  # repeated names get _2, _3 …
    assert len(set(pop_ids(dup))) == len(names)
    topo = build_topology(NetworkSpec(backbone="topozoo/SwitchL3", cells_per_site=1,
                                      pops={"core": ["Zurich (ETH)"]}))  # source name too
    assert topo.core == ["Zurich_ETH"]


def test_topohub_reads_its_networks_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The data ships inside the package: loading works with every socket refused."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access during a topology load")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    load.cache_clear()
    keys.cache_clear()
    for key in ("sndlib/abilene", "topozoo/Geant2012", "topozoo/TataNld"):
        assert len(topohub.get(key)["nodes"]) > 10
        assert build_topology(NetworkSpec(backbone=key, cells_per_site=1)).backbone
    assert len(keys()) == 229


WORDS = st.one_of(st.sampled_from(["sndlib/abilene", "topozoo/Abilene", "sndlib/geant",
                                   "topozoo/", "sndlib", "../etc/passwd", "sndlib/../x",
                                   "NYCMng", "ATLAng", "Atlanta", "de1.de", ""]),
                  st.text(max_size=20))
POPS = st.fixed_dictionaries({}, optional={
    "core": st.lists(WORDS, max_size=3),
    "access": st.one_of(st.sampled_from(["demand", "degree", "uniform", "random", None, 3]),
                        st.dictionaries(WORDS, st.integers(-2, 5), max_size=3)),
    "site_spacing_km": st.one_of(st.floats(allow_nan=True), st.integers(-5, 50)),
    "demand_load": st.one_of(st.none(), st.floats(-1, 3), st.text(max_size=3)),
    "trunk_capacity_mbps": st.one_of(st.integers(-10, 10**6), st.just("fast")),
})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(backbone=WORDS, pops=POPS, sites=st.one_of(st.none(), st.integers(-1, 40)))
def test_fuzzed_backbones_load_or_name_the_field(backbone: str, pops: dict[str, Any],
                                                 sites: int | None) -> None:
    data = yaml.safe_load(QUICKSTART.read_text())
    data["network"] = {"backbone": backbone, "pops": pops, "cells_per_site": 1,
                       **({"sites": sites} if sites is not None else {})}
    data["faults"]["scripted"] = []
    try:
        twin.load_scenario(data, base_dir=QUICKSTART.parent)
    except ScenarioError as exc:
        assert exc.problems
        assert all(p.startswith("network") and ": " in p for p in exc.problems), exc.problems
