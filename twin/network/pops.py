"""A real backbone dressed as an operator's network: PoPs, core, access sites and cells.

Each PoP of the backbone (:mod:`twin.network.backbone`) becomes a site with a router at its
real position — a ``core_router`` at the core PoPs, with the core network functions as on a
generated network, an ``agg_router`` elsewhere — and each backbone link a fibre trunk between
the PoP routers with its real length and ``pops.trunk_capacity_mbps``. Around each PoP its
access sites hang in chains (closed back on the PoP in a ring, or on the nearest neighbouring
PoP with dual homing), each site with its cells by the radio layers. The rules:

- core PoPs: ``pops.core`` by name, else the ``core_sites`` (default 2) of highest degree,
  ties to the larger demand, then to the PoP listed first;
- access sites: ``network.sites`` (default 4 per PoP), one to each PoP and the rest shared
  by largest remainder in proportion to each PoP's demand (its SNDlib row plus column), its
  degree, or evenly (``pops.access``); with fewer sites than PoPs, all are shared so. Or an
  explicit map, where a PoP left out gets none (it only carries transit);
- positions: PoPs project to km east and north of their mean position (equirectangular, so
  crews' straight-line distances are approximate on a continent); each PoP's chains run out
  on evenly spread bearings, ``pops.site_spacing_km`` apart on average, drawn from a fixed
  seed — the same scenario always has the same map;
- each PoP is a region of its own, named after it; vendors, power domains, standby types and
  core failover apply as on a generated network.
"""

from __future__ import annotations

import math
import re

import numpy as np

from twin.messages import ElementInfo, LinkInfo
from twin.network.backbone import Backbone, hint, load
from twin.network.topology import (
    CORE_FUNCTIONS,
    BackboneInfo,
    Topology,
    _graph,
    site_cells,
)
from twin.scenario.schema import NetworkSpec

EARTH_KM = 6371.0088  # mean Earth radius
SITES_PER_POP = 4
DEMAND_LOAD = 0.2


def pop_ids(bb: Backbone) -> list[str]:
    """Element ids for the PoPs: their names with anything but letters, digits and ``_``
    turned into ``_`` (ids stay usable in dotted paths); a repeated name gets ``_2``, ``_3`` …"""
    out: list[str] = []
    used: set[str] = set()
    for p in bb.pops:
        base = re.sub(r"[^A-Za-z0-9_]+", "_", p.name).strip("_") or f"pop{p.source_id}"
        pid, n = base, 1
        while pid in used:
            n += 1
            pid = f"{base}_{n}"
        used.add(pid)
        out.append(pid)
    return out


def project(bb: Backbone) -> list[tuple[float, float]]:
    """PoP positions in km east and north of the PoPs' mean position."""
    lon0 = sum(p.lon for p in bb.pops) / len(bb.pops)
    lat0 = sum(p.lat for p in bb.pops) / len(bb.pops)
    k = EARTH_KM * math.pi / 180.0
    c = math.cos(math.radians(lat0))
    return [(round(k * (p.lon - lon0) * c, 3), round(k * (p.lat - lat0), 3)) for p in bb.pops]


def shares(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` by largest remainder (ties: first)."""
    w = np.asarray(weights, dtype=np.float64)
    if total == 0 or w.sum() <= 0:
        return [0] * len(weights)
    exact = total * w / w.sum()
    counts = np.floor(exact).astype(np.int64)
    for i in np.argsort(-(exact - counts), kind="stable")[: total - int(counts.sum())]:
        counts[i] += 1
    return [int(c) for c in counts]


class _Dresser:
    def __init__(self, spec: NetworkSpec) -> None:
        assert spec.backbone is not None
        self.spec, self.bb = spec, load(spec.backbone)
        self.ids = pop_ids(self.bb)
        self.lookup = {p.name: i for i, p in reversed(list(enumerate(self.bb.pops)))}
        self.lookup.update({pid: i for i, pid in enumerate(self.ids)})
        n = len(self.bb.pops)
        self.demand = [0.0] * n
        for a, b, v in self.bb.demands:
            self.demand[a] += v
            self.demand[b] += v

    def resolve(self, word: str, where: str) -> int:
        if word in self.lookup:
            return self.lookup[word]
        if word in self.bb.left_out:
            raise ValueError(f"{where}: PoP {word!r} lies outside the largest connected part "
                             f"of {self.bb.key}")
        raise ValueError(f"{where}: no PoP {word!r} in {self.bb.key}{hint(word, self.ids)}")

    def core(self) -> list[int]:
        ps = self.spec.pops
        if ps.core:
            chosen = [self.resolve(w, f"pops.core[{i}]") for i, w in enumerate(ps.core)]
            if len(set(chosen)) < len(chosen):
                raise ValueError("pops.core: a PoP is named twice")
            return sorted(chosen)
        deg = self.bb.degree
        k = min(self.spec.core_sites or 2, len(self.ids))
        ranked = sorted(range(len(self.ids)), key=lambda i: (-deg[i], -self.demand[i], i))
        return sorted(ranked[:k])

    def access(self) -> list[int]:
        rule = self.spec.pops.access or ("demand" if self.bb.demands else "degree")
        n = len(self.ids)
        if isinstance(rule, dict):
            if self.spec.sites is not None:
                raise ValueError("sites: give either sites or a map in pops.access, not both")
            counts = [0] * n
            for word, k in rule.items():
                counts[self.resolve(word, f"pops.access.{word}")] = k
            return counts
        if rule == "demand" and not self.bb.demands:
            raise ValueError(f"pops.access: {self.bb.key} has no demand matrix (SNDlib "
                             "networks have one); use degree or uniform")
        weights: list[float] = (self.demand if rule == "demand" else
                                [float(d) for d in self.bb.degree] if rule == "degree"
                                else [1.0] * n)
        total = self.spec.sites or SITES_PER_POP * n
        if total < n:
            return shares(total, weights)
        return [1 + k for k in shares(total - n, weights)]  # every PoP serves someone

    def demand_load(self) -> float:
        load_ = self.spec.pops.demand_load
        if load_ is None:
            return DEMAND_LOAD if self.bb.demands else 0.0
        if load_ > 0 and not self.bb.demands:
            raise ValueError(f"pops.demand_load: {self.bb.key} has no demand matrix (SNDlib "
                             "networks have one)")
        return load_


def dress(spec: NetworkSpec) -> Topology:
    d = _Dresser(spec)
    bb, ids = d.bb, d.ids
    core = set(d.core())
    counts = d.access()
    demand_load = d.demand_load()
    at = project(bb)
    per_chain = spec.sites_per_chain or 4
    functions = True if spec.core_functions is None else spec.core_functions
    dual = bool(spec.dual_homing)
    mw_share = 0.3 if spec.microwave_share is None else spec.microwave_share
    if spec.cells_per_site is not None:
        layers = [("4G", 1.0, spec.cells_per_site, spec.cell.voice_channels)]
    else:
        layers = [(t, ts.share_of_sites, ts.sectors, ts.voice_channels)
                  for t, ts in sorted(spec.technologies.items())]
    rng = np.random.default_rng(20_260_105)  # the map is part of the design, not the dice
    vendors = spec.vendors

    elements: dict[str, ElementInfo] = {}
    links: dict[str, LinkInfo] = {}
    channels: dict[str, int] = {}

    def add(eid: str, etype: str, site: str, vendor: str, region: str,
            loc: tuple[float, float], tech: str = "") -> None:
        if eid in elements:
            raise ValueError(f"backbone: element id {eid!r} would be used twice in {bb.key}")
        elements[eid] = ElementInfo(eid, etype, site, vendor, region, site, tech,
                                    etype in spec.standby_types, loc)

    def link(a: str, b: str, lid: str | None = None, medium: str = "fibre",
             km: float | None = None, capacity: float | None = None) -> str:
        base = lid or f"{a}-{b}"
        lid, n = base, 1
        while lid in links:
            n += 1
            lid = f"{base}~{n}"
        links[lid] = LinkInfo(lid, a, b, lid, medium, length_km=km, capacity_mbps=capacity)
        return lid

    for i, pid in enumerate(ids):
        add(pid, "core_router" if i in core else "agg_router", pid, vendors[0], pid, at[i])
        if i in core and functions:
            for fn in CORE_FUNCTIONS:
                add(f"{fn}-{pid}", fn, pid, vendors[0], pid, at[i])
                link(f"{fn}-{pid}", pid)
    trunks = tuple(link(ids[t.a], ids[t.b], km=t.km, capacity=spec.pops.trunk_capacity_mbps)
                   for t in bb.trunks)
    nearest: dict[int, int] = {}  # PoP → its neighbour over the shortest trunk (dual homing)
    for t in sorted(bb.trunks, key=lambda t: t.km):
        nearest.setdefault(t.a, t.b)
        nearest.setdefault(t.b, t.a)

    site_no = 0
    for i, pid in enumerate(ids):
        n_chains = -(-counts[i] // per_chain)
        k = 0
        for c in range(n_chains):
            bearing = 2 * math.pi * (c + 0.5 * rng.random()) / n_chains
            x, y = at[i]
            prev = pid
            for _ in range(min(per_chain, counts[i] - k)):
                k += 1
                site_no += 1
                site = f"{pid}-s{k}"
                vendor = vendors[(site_no - 1) % len(vendors)]
                step = spec.pops.site_spacing_km * (0.5 + rng.random())
                b = bearing + rng.normal(0.0, 0.5)
                x, y = x + step * math.cos(b), y + step * math.sin(b)
                loc = (round(x, 3), round(y, 3))
                add(site, "site_router", site, vendor, pid, loc)
                link(prev, site, medium="microwave" if rng.random() < mw_share else "fibre")
                for cell, tech, ch in site_cells(site, layers, rng):
                    add(cell, "cell", site, vendor, pid, loc, tech)
                    channels[cell] = ch
                    link(site, cell, f"{cell}-up")
                prev = site
            if spec.transport == "ring" and prev != pid:
                other = ids[nearest[i]] if dual and i in nearest else pid
                if f"{other}-{prev}" not in links and f"{prev}-{other}" not in links:
                    link(prev, other)
    if not channels:
        raise ValueError(f"pops.access: no PoP of {bb.key} has an access site with cells")
    demands = tuple((ids[a], ids[b], v) for a, b, v in bb.demands)
    info = BackboneInfo(bb.key, tuple(ids), tuple(p.name for p in bb.pops),
                        tuple((p.lon, p.lat) for p in bb.pops), trunks, demands, demand_load,
                        bb.left_out)
    return Topology(elements, links, channels, _graph(elements, links), backbone=info)
