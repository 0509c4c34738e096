"""Topology: the elements and links of the network, generated or listed.

A generated network has the classic mobile shape: one core router, aggregation routers, and
chains of access sites behind each aggregation router, each site with a site router and its
cells. In a ``tree`` a chain hangs off its aggregation router, so a cut isolates everything
downstream; in a ``ring`` the chain closes back to the aggregation router, so a single cut
reroutes traffic the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from twin.messages import ElementInfo, InventorySnapshot, LinkInfo
from twin.scenario.schema import NetworkSpec

CORE_TYPES = ("core_router",)


@dataclass
class Topology:
    elements: dict[str, ElementInfo]
    links: dict[str, LinkInfo]
    channels: dict[str, int]
    graph: nx.MultiGraph = field(repr=False)

    @property
    def cells(self) -> list[str]:
        return [e.id for e in self.elements.values() if e.type == "cell"]

    @property
    def core(self) -> list[str]:
        return [e.id for e in self.elements.values() if e.type in CORE_TYPES]

    @property
    def power_domains(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for e in self.elements.values():
            out.setdefault(e.power_domain or e.site, []).append(e.id)
        return out

    @property
    def cables(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for link in self.links.values():
            out.setdefault(link.cable or link.id, []).append(link.id)
        return out

    def inventory(self) -> InventorySnapshot:
        return InventorySnapshot(tuple(self.elements.values()), tuple(self.links.values()))


def _graph(elements: dict[str, ElementInfo], links: dict[str, LinkInfo]) -> nx.MultiGraph:
    g = nx.MultiGraph()
    g.add_nodes_from(elements)
    for link in links.values():
        g.add_edge(link.a, link.b, key=link.id)
    return g


def build_topology(spec: NetworkSpec) -> Topology:
    if spec.preset is not None:
        return _generate(spec)
    elements = {
        e.id: ElementInfo(e.id, e.type, e.site or e.id, e.vendor, e.region,
                          e.power_domain or e.site or e.id) for e in spec.elements
    }
    channels = {
        e.id: e.voice_channels or spec.cell.voice_channels
        for e in spec.elements if e.type == "cell"
    }
    links: dict[str, LinkInfo] = {}
    for i, ls in enumerate(spec.links):
        lid = ls.id or f"{ls.a}-{ls.b}"
        if lid in links:
            raise ValueError(f"links[{i}].id: duplicate link id {lid!r}")
        links[lid] = LinkInfo(lid, ls.a, ls.b, ls.cable or lid)
    return Topology(elements, links, channels, _graph(elements, links))


def _generate(spec: NetworkSpec) -> Topology:
    elements: dict[str, ElementInfo] = {}
    links: dict[str, LinkInfo] = {}
    channels: dict[str, int] = {}

    region = "core"

    def add(eid: str, etype: str, site: str, vendor: str) -> None:
        elements[eid] = ElementInfo(eid, etype, site, vendor, region, site)

    def link(a: str, b: str, lid: str | None = None) -> None:
        lid = lid or f"{a}-{b}"
        links[lid] = LinkInfo(lid, a, b, lid)

    vendors = spec.vendors
    add("core1", "core_router", "core", vendors[0])
    n_chains = -(-spec.sites // spec.sites_per_chain)
    site_no = 0
    for c in range(1, n_chains + 1):
        agg = f"agg{c}"
        region = f"region{c}"
        add(agg, "agg_router", agg, vendors[0])
        link("core1", agg)
        prev = agg
        for _ in range(spec.sites_per_chain):
            if site_no == spec.sites:
                break
            site_no += 1
            site = f"site{site_no}"
            vendor = vendors[(site_no - 1) % len(vendors)]
            add(site, "site_router", site, vendor)
            link(prev, site)
            for k in range(1, spec.cells_per_site + 1):
                cell = f"{site}-c{k}"
                add(cell, "cell", site, vendor)
                channels[cell] = spec.cell.voice_channels
                link(site, cell, f"{cell}-up")
            prev = site
        if spec.transport == "ring" and prev != agg and f"{agg}-{prev}" not in links:
            link(prev, agg)
    return Topology(elements, links, channels, _graph(elements, links))
