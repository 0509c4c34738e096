"""A map of the network for one fault: what failed, and which cells it took out of service.

Sites sit where the topology places them (km east/north of a datum; a listed network without
locations gets a seeded networkx layout, the same every time). Transport links join the sites,
each site's cells fan out around it. The failed element, link, cable or power domain is drawn
in red; cells the fault took out of service (``cell_outages``) are red, the others green. On a
large network the map zooms to the part the fault touched, the rest faint behind it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from twin.network import Topology

LABEL_SITES = 40  # label every site up to this many; beyond, only those the fault touched
ZOOM_SITES = 60  # beyond this many sites, zoom to what the fault touched
SHAPES = {"core_router": ("s", 90), "agg_router": ("D", 60), "site_router": ("o", 40)}


@dataclass(frozen=True)
class Layout:
    site: dict[str, tuple[float, float]]  # site → position
    cell: dict[str, tuple[float, float]]  # cell → position (around its site)
    spacing: float  # a typical distance between neighbouring sites


def layout(topo: Topology) -> Layout:
    """Positions of the sites (from the inventory, or a seeded spring layout) and cells."""
    sites: dict[str, tuple[float, float] | None] = {}
    for e in topo.elements.values():
        if sites.get(e.site) is None:
            sites[e.site] = e.location
    g = nx.Graph()
    g.add_nodes_from(sorted(sites))
    for link in topo.links.values():
        a, b = topo.elements[link.a].site, topo.elements[link.b].site
        if a != b:
            g.add_edge(a, b)
    known = {s: p for s, p in sites.items() if p is not None}
    if len(known) < len(sites):
        pos = nx.spring_layout(g, pos=dict(known) or None, fixed=sorted(known) or None, seed=1)
        site = {s: known.get(s, (float(pos[s][0]), float(pos[s][1]))) for s in sorted(sites)}
    else:
        site = {s: (float(p[0]), float(p[1])) for s, p in known.items()}
    lengths = sorted(math.dist(site[a], site[b]) for a, b in g.edges if site[a] != site[b])
    spacing = lengths[len(lengths) // 2] if lengths else 1.0
    cells: dict[str, tuple[float, float]] = {}
    per_site: dict[str, list[str]] = {}
    for c in topo.cells:
        per_site.setdefault(topo.elements[c].site, []).append(c)
    r = 0.22 * spacing
    for s, names in per_site.items():
        x, y = site[s]
        if len(names) == 1 and topo.elements[names[0]].id == s:
            cells[names[0]] = (x, y)  # a cell that is its own site
            continue
        for k, c in enumerate(sorted(names)):
            angle = math.pi / 2 + 2 * math.pi * k / len(names)
            cells[c] = (x + r * math.cos(angle), y + r * math.sin(angle))
    return Layout(site, cells, spacing)


def failed_elements(topo: Topology, target: str, kind: str) -> tuple[set[str], set[str]]:
    """(elements, links) a fault's target names: an element, a link, every link of a cable,
    or every element of a power domain."""
    if kind == "link":
        return set(), {target} & set(topo.links)
    if kind == "cable":
        return set(), set(topo.cables.get(target, []))
    if kind == "power_domain":
        return set(topo.power_domains.get(target, [])), set()
    return {target} & set(topo.elements), set()


def draw_fault_map(topo: Topology, lay: Layout, title: str, target: str, target_kind: str,
                   cells_out: Iterable[str], out: Path) -> Figure:
    down = set(cells_out)
    elems, links = failed_elements(topo, target, target_kind)
    failed_sites = {topo.elements[e].site for e in elems}
    touched = failed_sites | {topo.elements[c].site for c in down if c in topo.elements}
    for lid in links:
        touched |= {topo.elements[topo.links[lid].a].site, topo.elements[topo.links[lid].b].site}
    fig = Figure(figsize=(7.5, 5.6))
    ax = fig.subplots()
    big = len(lay.site) > ZOOM_SITES
    spans: dict[str, list[list[tuple[float, float]]]] = {"fibre": [], "microwave": [],
                                                         "cut": []}
    for link in topo.links.values():
        a, b = topo.elements[link.a].site, topo.elements[link.b].site
        if a != b:
            key = "cut" if link.id in links else link.medium
            spans.setdefault(key, []).append([lay.site[a], lay.site[b]])
    faint = 0.4 if big else 1.0
    ax.add_collection(LineCollection(spans["fibre"], colors="#9e9e9e", linewidths=1.0,
                                     alpha=faint, zorder=1))
    ax.add_collection(LineCollection(spans["microwave"], colors="#9e9e9e", linewidths=1.0,
                                     linestyles="--", alpha=faint, zorder=1))
    ax.add_collection(LineCollection(spans["cut"], colors="#d62728", linewidths=3.2, zorder=3))
    for (x0, y0), (x1, y1) in spans["cut"]:
        ax.plot((x0 + x1) / 2, (y0 + y1) / 2, marker="X", ms=13, color="#d62728",
                markeredgecolor="white", zorder=6)
    cells = sorted(lay.cell)
    ax.add_collection(LineCollection(
        [[lay.site[topo.elements[c].site], lay.cell[c]] for c in cells],
        colors="#bdbdbd", linewidths=0.5, zorder=1))
    for group, colour, size in (([c for c in cells if c not in down], "#4daf4a", 14),
                                ([c for c in cells if c in down], "#d62728", 26)):
        if group:
            ax.scatter([lay.cell[c][0] for c in group], [lay.cell[c][1] for c in group],
                       s=size, color=colour, zorder=4,
                       edgecolors=["black" if c in elems else "none" for c in group],
                       linewidths=1.5)
    kind_of_site: dict[str, str] = {}
    for e in topo.elements.values():
        if e.type != "cell":
            kind_of_site.setdefault(e.site, e.type)
    for stype, (marker, size) in SHAPES.items():
        for hit in (False, True):
            group = [s for s in lay.site if kind_of_site.get(s, "site_router") == stype
                     and (s in failed_sites) == hit]
            if group:
                ax.scatter([lay.site[s][0] for s in group], [lay.site[s][1] for s in group],
                           marker=marker, s=size * (2.2 if hit else 1.0), zorder=5,
                           color="#d62728" if hit else "#37474f",
                           edgecolors="black" if hit else "white", linewidths=1.2)
    for s, (x, y) in lay.site.items():
        if len(lay.site) <= LABEL_SITES or s in touched:
            hit = s in failed_sites
            ax.annotate(s, (x, y), xytext=(5, 5), textcoords="offset points", fontsize=7,
                        color="#b71c1c" if hit else "#263238",
                        fontweight="bold" if hit else "normal", zorder=7)
    if big and touched:
        xs = [lay.site[s][0] for s in touched]
        ys = [lay.site[s][1] for s in touched]
        pad = 2.5 * lay.spacing
        ax.set_xlim(min(xs) - pad, max(xs) + pad)
        ax.set_ylim(min(ys) - pad, max(ys) + pad)
    ax.set_aspect("equal", adjustable="box" if big and touched else "datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title, fontsize=9)
    handles = [
        Line2D([], [], color="#d62728", lw=3, label=f"failed: {target}") if links else
        Line2D([], [], marker="o", ms=10, ls="", color="#d62728", markeredgecolor="black",
               label=f"failed: {target}"),
        Line2D([], [], marker="o", ls="", color="#d62728", label=f"cell out of service "
               f"({len(down)})"),
        Line2D([], [], marker="o", ls="", color="#4daf4a", label="cell in service"),
        Line2D([], [], marker="s", ls="", color="#37474f", label="core / aggregation / site"),
    ]
    ax.legend(handles=handles, loc="lower left", fontsize=7, frameon=True, framealpha=0.85)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    return fig
