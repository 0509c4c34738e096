"""Real operator backbones: Internet Topology Zoo and SNDlib networks from ``topohub``.

The ``topohub`` package ships its networks inside the package, one NetworkX node-link JSON
file each: PoPs with their position (longitude, latitude), links with their length in km
and, for SNDlib, the demand matrix (traffic from each PoP to each other). ``topohub.get``
reads the file from the installed package — nothing is fetched at run time — so a scenario
names a backbone by its key, ``topozoo/Geant2012`` or ``sndlib/abilene``, like a map on the
shelf.

A network whose PoPs do not all join up is cut down to its largest connected part (most
PoPs, then most links, then the part holding the first PoP listed); the PoPs left out are
named in :attr:`Backbone.left_out`. A network is refused, with the reason, when a PoP has no
position, a link has no length (or a negative one), or the largest part has fewer than two
PoPs — and when its positions are not longitude/latitude at all: several SNDlib networks
(atlanta, france, india35, ta2 …) place their nodes on a drawing grid (whole numbers, some
beyond ±90°), from which topohub's great-circle lengths of up to 19,000 km mean nothing.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

GROUPS = ("sndlib", "topozoo")  # SNDlib (with demand matrices), the Internet Topology Zoo


class BackboneError(ValueError):
    """A backbone key that names nothing, or a network that cannot be built."""


@dataclass(frozen=True)
class Pop:
    source_id: int
    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Trunk:
    a: int  # index into Backbone.pops
    b: int
    km: float


@dataclass(frozen=True)
class Backbone:
    key: str
    pops: tuple[Pop, ...]
    trunks: tuple[Trunk, ...]
    demands: tuple[tuple[int, int, float], ...]  # (from, to, volume in the source's units)
    left_out: tuple[str, ...] = ()  # PoPs outside the largest connected part

    @property
    def degree(self) -> list[int]:
        deg = [0] * len(self.pops)
        for t in self.trunks:
            deg[t.a] += 1
            deg[t.b] += 1
        return deg


def _data_dir() -> Any:
    import topohub

    return importlib.resources.files(topohub) / "data"


@functools.cache
def keys(group: str | None = None) -> tuple[str, ...]:
    """Every backbone key topohub ships (of ``group``, or of every group), sorted."""
    out: list[str] = []
    for g in (group,) if group else GROUPS:
        out += sorted(f"{g}/{p.name.removesuffix('.json')}" for p in (_data_dir() / g).iterdir()
                      if p.name.endswith(".json"))
    return tuple(out)


def nearest(word: str, candidates: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """The candidates closest to ``word``: the same but for case, then those it begins
    (``topozoo/Geant`` → ``topozoo/Geant2001`` …), then the most similar."""
    low = word.lower()
    same = [c for c in candidates if c.lower() == low]
    begun = [c for c in candidates if c.lower().startswith(low) and c.lower() != low]
    folded = {c.lower(): c for c in candidates}
    close = [folded[c] for c in difflib.get_close_matches(low, list(folded), n=n, cutoff=0.5)]
    return list(dict.fromkeys(same + begun + close))[:n]


def hint(word: str, candidates: list[str] | tuple[str, ...]) -> str:
    near = nearest(word, candidates)
    return f" (nearest: {', '.join(near)})" if near else ""


@functools.lru_cache(maxsize=32)
def load(key: str) -> Backbone:
    """The backbone ``key`` (``group/name``), its largest connected part."""
    group, _, name = key.partition("/")
    if group not in GROUPS or not name:
        raise BackboneError(f"backbone: {key!r} is not topozoo/<name> or sndlib/<name>"
                            f"{hint(key, keys())}")
    if key not in keys(group):
        raise BackboneError(f"backbone: topohub has no network {key!r}{hint(key, keys())}; "
                            "`twin topologies` lists them")
    import topohub

    return from_node_link(key, topohub.get(key))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def from_node_link(key: str, data: Mapping[str, Any]) -> Backbone:
    """A backbone from NetworkX node-link data as topohub gives it (integer node ids;
    ``pos`` [lon, lat]; ``dist`` in km; ``graph.demands[from][to]``)."""
    nodes = list(data["nodes"])
    names = {n["id"]: str(n.get("name") or n["id"]) for n in nodes}
    for n in nodes:
        pos = n.get("pos")
        if not isinstance(pos, list | tuple) or len(pos) != 2 or any(
                _number(v) is None for v in pos):
            raise BackboneError(f"backbone: {key} gives PoP {names[n['id']]!r} no position")
    lonlat = [(float(n["pos"][0]), float(n["pos"][1])) for n in nodes]
    if any(abs(lon) > 180 or abs(lat) > 90 for lon, lat in lonlat) or (
            lonlat and all(v.is_integer() for xy in lonlat for v in xy)):
        raise BackboneError(f"backbone: {key} is drawn on a grid, not at longitude and "
                            "latitude, so its link lengths mean nothing")
    g = nx.MultiGraph()
    g.add_nodes_from(n["id"] for n in nodes)
    edges = []
    for e in data.get("edges", data.get("links", [])):
        a, b = e["source"], e["target"]
        km = _number(e.get("dist"))
        if km is None or km < 0:
            raise BackboneError(f"backbone: {key} gives the link {names[a]}–{names[b]} no "
                                "length")
        if a == b:
            continue  # a loop joins nothing
        edges.append((a, b, km))
        g.add_edge(a, b)
    order = {n["id"]: i for i, n in enumerate(nodes)}
    parts = sorted(nx.connected_components(g),
                   key=lambda p: (-len(p), -g.subgraph(p).number_of_edges(),
                                  min(order[x] for x in p)))
    keep = parts[0] if parts else set()
    if len(keep) < 2:
        raise BackboneError(f"backbone: {key} has no two PoPs joined by a link")
    kept = [n for n in nodes if n["id"] in keep]
    index = {n["id"]: i for i, n in enumerate(kept)}
    pops = tuple(Pop(n["id"], names[n["id"]], float(n["pos"][0]), float(n["pos"][1]))
                 for n in kept)
    trunks = tuple(Trunk(index[a], index[b], km) for a, b, km in edges if a in index)
    demands = []
    raw: Mapping[Any, Mapping[Any, Any]] = data.get("graph", {}).get("demands", {}) or {}
    for src, row in raw.items():
        for dst, volume in row.items():
            s, d, v = int(src), int(dst), _number(volume)
            if s in index and d in index and s != d and v is not None and v > 0:
                demands.append((index[s], index[d], v))
    left_out = tuple(names[n["id"]] for n in nodes if n["id"] not in keep)
    return Backbone(key, pops, trunks, tuple(sorted(demands)), left_out)


@dataclass(frozen=True)
class CatalogueRow:
    key: str
    pops: int
    links: int
    km: float  # total length of the links
    demands: int  # PoP pairs with a demand (SNDlib)
    left_out: int  # PoPs outside the largest connected part
    refused: str = ""  # why the network cannot be used, if it cannot


def catalogue(group: str | None = None) -> list[CatalogueRow]:
    """What ``network.backbone`` may name, with sizes (for ``twin topologies``)."""
    rows = []
    for key in keys(group):
        try:
            bb = load(key)
        except BackboneError as exc:
            why = str(exc).removeprefix("backbone: ").removeprefix(f"{key} ")
            rows.append(CatalogueRow(key, 0, 0, 0.0, 0, 0, why))
            continue
        rows.append(CatalogueRow(key, len(bb.pops), len(bb.trunks),
                                 round(sum(t.km for t in bb.trunks), 1), len(bb.demands),
                                 len(bb.left_out)))
    return rows
