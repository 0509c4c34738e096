"""The emulated management network's plan and in-band routes (no Mininet needed)."""

from __future__ import annotations

from typing import Any

import twin
from twin.emulation import routing
from twin.emulation.plan import DC_PREFIX, plan
from twin.network.topology import build_topology

CAPACITY = {"fibre": 10_000.0, "microwave": 1_000.0}


def _plan(overrides: tuple[str, ...] = (), generated: dict[str, Any] | None = None) -> Any:
    sc = twin.load_scenario(generated or "scenarios/quickstart.yaml", overrides)
    return plan(build_topology(sc.network), sc.emulation, CAPACITY, tag="wt1"), sc


def test_the_small_preset_is_emulated_in_full() -> None:
    p, _ = _plan()
    assert p.reduction == "full" and len(p.nodes) == 52 and len(p.links) == 51
    assert not p.folded_links
    assert all(len(n.elements) == 1 for n in p.nodes.values())
    assert sorted(p.ems_hosts) == ["ems-alpha", "ems-beta", "ems-gamma"]
    assert len(set(p.address.values())) == 52
    assert all(len(f"{name}-t{lk.index}") <= 15 for lk in p.links for name in (lk.a, lk.b))
    assert {lk.mbps for lk in p.links} == {10_000.0}
    assert p.dc_router == "" and p.management == "out_of_band"


def test_larger_networks_are_reduced_within_max_nodes() -> None:
    site, _ = _plan(("emulation.reduction=site",))
    assert site.reduction == "site" and len(site.nodes) == 16  # 12 sites, 3 aggs, 1 core
    site1 = site.nodes[site.node_of["site1"]]
    assert site1.primary == "site1" and set(site1.elements) == {
        "site1", "site1-c1", "site1-c2", "site1-c3"}
    assert "site1-c1-up" in site.folded_links
    region, _ = _plan(("emulation.reduction=region",))
    assert len(region.nodes) == 4
    auto, _ = _plan(("emulation.max_nodes=20",))
    assert auto.reduction == "site"
    metro, _ = _plan(("network.preset=metro", "network.sites=null",
                      "network.sites_per_chain=null", "network.cells_per_site=null"))
    assert metro.reduction == "region" and len(metro.nodes) <= 120


def test_in_band_routes_follow_the_links_that_are_up() -> None:
    p, _ = _plan(("emulation.management=in_band",))
    assert p.dc_router == p.node_of["core1"]
    table = routing.table(p, set(), set())
    site4 = p.node_of["site4"]
    # site4 reaches the data centre through site3, its only neighbour towards the core
    via, dev = table[site4][f"{DC_PREFIX}.0/24"]
    link = next(lk for lk in p.links if lk.id == "site3-site4")
    assert dev == link.intf(site4) and via in link.addresses
    # the core router reaches every element; a cut tree leaves the far side unrouted
    assert len(table[p.dc_router]) == 51
    cut = routing.table(p, {"site1-site2"}, set())
    assert f"{DC_PREFIX}.0/24" not in cut[site4]
    # … and the old route stays in place (it dies at the cut)
    assert routing.changes(table, cut) == {}


def test_a_ring_reroutes_around_a_cut() -> None:
    p, _ = _plan(("emulation.management=in_band", "network.transport=ring"))
    table = routing.table(p, set(), set())
    site1 = p.node_of["site1"]
    before = table[site1][f"{DC_PREFIX}.0/24"]
    after = routing.table(p, {"agg1-site1"}, set())
    assert after[site1][f"{DC_PREFIX}.0/24"] != before
    lines = routing.changes(table, after)
    assert any(f"{DC_PREFIX}.0/24" in line for line in lines[site1])
    merged = routing.merge(table, after)
    assert merged[site1][f"{DC_PREFIX}.0/24"] == after[site1][f"{DC_PREFIX}.0/24"]
