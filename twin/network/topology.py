"""Topology: the elements and links of the network, generated or listed.

A generated network has the shape of a mobile operator's: an IP/MPLS core ring of core
sites, each hosting the core network functions (voice core, packet gateway, subscriber
database, DNS, online charging, charging data collection) on metro/national; aggregation
routers homed on two core sites; and chains of radio sites behind each aggregation router,
each site with a site router and its 2G/4G/5G cells. In a ``tree`` a chain hangs off its
aggregation router, so a cut isolates everything downstream; in a ``ring`` the chain closes
back (on a second aggregation router with dual homing), so a single cut reroutes the
traffic the other way round.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import networkx as nx
import numpy as np

from twin.messages import ElementInfo, InventorySnapshot, LinkInfo
from twin.scenario.schema import NetworkSpec

CORE_TYPES = ("core_router",)


@dataclass(frozen=True)
class BackboneInfo:
    """Where a topology built on a real backbone came from (see :mod:`twin.network.pops`)."""

    key: str  # topohub key, e.g. sndlib/abilene
    pops: tuple[str, ...]  # the PoPs' router (and site) ids, in the source's order
    names: tuple[str, ...]  # … their names in the source
    lonlat: tuple[tuple[float, float], ...]  # … their positions in the source
    trunks: tuple[str, ...]  # the backbone links' ids, in the source's order
    demands: tuple[tuple[str, str, float], ...]  # (from PoP, to PoP, volume in source units)
    demand_load: float  # busiest trunk's utilisation from demands at the mean hour; 0: none
    left_out: tuple[str, ...] = ()  # PoPs outside the largest connected part


@dataclass
class Topology:
    elements: dict[str, ElementInfo]
    links: dict[str, LinkInfo]
    channels: dict[str, int]
    graph: nx.MultiGraph = field(repr=False)
    manual_failover: bool = False  # core function pairs switch over only on command
    backbone: BackboneInfo | None = None  # built on a real backbone

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


CORE_FUNCTIONS = ("msc", "pgw", "hss", "dns", "ocs", "cdf")
# Service needs a reachable, working instance of each (VoLTE rides the packet core, so
# voice needs the gateway and DNS as much as data does). The charging functions (ocs, cdf)
# matter to charging, not to service.
SERVICE_FUNCTIONS = ("msc", "pgw", "hss", "dns")


@dataclass(frozen=True)
class Shape:
    sites: int
    sites_per_chain: int
    core_sites: int
    core_functions: bool
    dual_homing: bool
    microwave_share: float
    radius_km: float = 10.0  # how far aggregation hubs lie from the core
    spacing_km: float = 3.0  # mean distance between neighbouring sites of a chain


PRESETS = {  # a town; a metro area of ~30 km; a country of ~800 km
    "small": Shape(12, 4, 1, False, False, 0.0, 8.0, 3.0),
    "metro": Shape(190, 6, 2, True, True, 0.3, 25.0, 2.5),
    "national": Shape(1900, 8, 2, True, True, 0.3, 350.0, 8.0),
}


class _Places:
    """Plausible site positions for a generated network, from a stream of their own (so the
    shape draws stay as they were): core sites near the datum, each region's aggregation hub
    on a ray of its own, its chain of sites running outward from the hub with some jitter."""

    def __init__(self, shape: Shape, n_regions: int) -> None:
        self.shape, self.n = shape, max(n_regions, 1)
        self.rng = np.random.default_rng(20_260_106)

    def core(self, i: int) -> tuple[float, float]:
        return (round(2.0 * i, 3), 0.0)

    def hub(self, c: int) -> tuple[float, float, float]:
        """(x, y, bearing) of region ``c``'s aggregation hub."""
        bearing = 2 * np.pi * (c - 1 + 0.5 * self.rng.random()) / self.n
        r = self.shape.radius_km * (0.3 + 0.7 * np.sqrt(self.rng.random()))
        return float(r * np.cos(bearing)), float(r * np.sin(bearing)), float(bearing)

    def step(self, x: float, y: float, bearing: float) -> tuple[float, float]:
        d = self.shape.spacing_km * (0.5 + self.rng.random())
        b = bearing + self.rng.normal(0.0, 0.5)
        return x + d * float(np.cos(b)), y + d * float(np.sin(b))


def build_topology(spec: NetworkSpec) -> Topology:
    if spec.backbone is not None:
        from twin.network.pops import dress

        topo = dress(spec)
    else:
        topo = _generate(spec) if spec.preset is not None else _listed(spec)
    topo.links = {k: replace(ln, length_km=_span(topo.elements, ln))
                  if ln.length_km is None else ln for k, ln in topo.links.items()}
    if spec.core_failover == "manual":
        # each instance of a paired service function is recorded with a standby (its mate)
        paired = {t for t in SERVICE_FUNCTIONS
                  if sum(e.type == t for e in topo.elements.values()) > 1}
        topo.elements = {k: replace(e, standby=True) if e.type in paired else e
                         for k, e in topo.elements.items()}
        topo.manual_failover = True
    return topo


def _span(elements: dict[str, ElementInfo], link: LinkInfo) -> float | None:
    """A link's length where both its ends have a position: the straight line between."""
    a, b = elements[link.a].location, elements[link.b].location
    if a is None or b is None:
        return None
    return round(math.hypot(a[0] - b[0], a[1] - b[1]), 3)


def _listed(spec: NetworkSpec) -> Topology:
    site_at: dict[str, tuple[float, float]] = {}
    for e in spec.elements:  # a site is where any of its elements says it is
        if e.location is not None:
            site_at.setdefault(e.site or e.id, e.location)
    elements = {
        e.id: ElementInfo(e.id, e.type, e.site or e.id, e.vendor, e.region,
                          e.power_domain or e.site or e.id,
                          (e.technology or "4G") if e.type == "cell" else "",
                          e.standby or e.type in spec.standby_types,
                          e.location or site_at.get(e.site or e.id))
        for e in spec.elements
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
        links[lid] = LinkInfo(lid, ls.a, ls.b, ls.cable or lid, ls.medium, ls.standby)
    return Topology(elements, links, channels, _graph(elements, links))


Layer = tuple[str, float, int, int]  # technology, share of sites, sectors, voice channels


def site_cells(site: str, layers: list[Layer],
               rng: np.random.Generator) -> Iterator[tuple[str, str, int]]:
    """A radio site's cells as (id, technology, voice channels), layer by layer; a layer on
    only a share of the sites draws once whether this site has it."""
    k = 0
    for tech, share, sectors, channels in layers:
        if share < 1.0 and rng.random() >= share:
            continue
        for _ in range(sectors):
            k += 1
            yield f"{site}-c{k}", tech, channels


def _generate(spec: NetworkSpec) -> Topology:
    """Core ring – aggregation – access chains or rings – radio sites with their cells."""
    assert spec.preset is not None
    d = PRESETS[spec.preset]
    sites = spec.sites or d.sites
    per_chain = spec.sites_per_chain or d.sites_per_chain
    core_sites = spec.core_sites or d.core_sites
    functions = d.core_functions if spec.core_functions is None else spec.core_functions
    dual = d.dual_homing if spec.dual_homing is None else spec.dual_homing
    mw_share = d.microwave_share if spec.microwave_share is None else spec.microwave_share
    if spec.cells_per_site is not None or spec.preset == "small":
        layers = [("4G", 1.0, spec.cells_per_site or 3, spec.cell.voice_channels)]
    else:
        layers = [(t, ts.share_of_sites, ts.sectors, ts.voice_channels)
                  for t, ts in sorted(spec.technologies.items())]
    rng = np.random.default_rng(20_260_105)  # the shape is part of the design, not the dice

    elements: dict[str, ElementInfo] = {}
    links: dict[str, LinkInfo] = {}
    channels: dict[str, int] = {}
    region = "core"

    at: tuple[float, float] | None = None

    def add(eid: str, etype: str, site: str, vendor: str, tech: str = "") -> None:
        loc = (round(at[0], 3), round(at[1], 3)) if at is not None else None
        elements[eid] = ElementInfo(eid, etype, site, vendor, region, site, tech,
                                    etype in spec.standby_types, loc)

    def link(a: str, b: str, lid: str | None = None, medium: str = "fibre") -> None:
        lid = lid or f"{a}-{b}"
        links[lid] = LinkInfo(lid, a, b, lid, medium)

    vendors = spec.vendors
    n_chains = -(-sites // per_chain)
    places = _Places(d, n_chains)
    cores = [f"core{i}" for i in range(1, core_sites + 1)]
    for i, core in enumerate(cores):
        at = places.core(i)
        add(core, "core_router", core, vendors[0])
        if functions:
            n = core.removeprefix("core")
            for fn in CORE_FUNCTIONS:
                add(f"{fn}{n}", fn, core, vendors[0])
                link(f"{fn}{n}", core)
    for i in range(len(cores) - 1):
        link(cores[i], cores[i + 1])
    if len(cores) > 2:
        link(cores[-1], cores[0])

    aggs = [f"agg{c}" for c in range(1, n_chains + 1)]
    site_no = 0
    for c, agg in enumerate(aggs, start=1):
        region = f"region{c}"
        hx, hy, bearing = places.hub(c)
        at = (hx, hy)
        add(agg, "agg_router", agg, vendors[0])
        link(cores[(c - 1) % len(cores)], agg)
        if len(cores) > 1:  # aggregation dual-homed to two core sites
            link(cores[c % len(cores)], agg)
        prev = agg
        for _ in range(per_chain):
            if site_no == sites:
                break
            site_no += 1
            site = f"site{site_no}"
            vendor = vendors[(site_no - 1) % len(vendors)]
            at = places.step(at[0], at[1], bearing)
            add(site, "site_router", site, vendor)
            link(prev, site, medium="microwave" if rng.random() < mw_share else "fibre")
            for cell, tech, ch in site_cells(site, layers, rng):
                add(cell, "cell", site, vendor, tech)
                channels[cell] = ch
                link(site, cell, f"{cell}-up")
            prev = site
        if spec.transport == "ring" and prev != agg:
            other = aggs[c % len(aggs)] if dual and len(aggs) > 1 else agg
            if f"{other}-{prev}" not in links and f"{prev}-{other}" not in links:
                link(prev, other)
    return Topology(elements, links, channels, _graph(elements, links))
