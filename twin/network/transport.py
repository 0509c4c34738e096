"""Transport load: which links carry each cell's traffic, and how full they are.

Each granularity period the cells' data throughput is routed to the core over the current
network — a shortest-hop tree grown from the working core routers, so when a failure
reroutes a ring the survivors carry the detour. A link's utilisation is its load over its
capacity (by medium: fibre or microwave). Utilisation above the raise threshold raises a
threshold alarm on the link, cleared only below the clear threshold (hysteresis). The
``link_traffic`` table and a link :class:`PmReport` carry the counters.

On a real backbone with a demand matrix (SNDlib), the traffic between PoPs rides the trunks
too: each demand follows the shortest route by length over the PoP routers and trunks that
are up, so a cut moves it onto the detour — and can congest it. Demands are scaled once, with
every link up, so that the busiest trunk carries ``demand_load`` of its capacity at the day's
mean hour, and follow the traffic profile through the day. A demand whose PoPs no route joins
is not carried. A link's load counts both directions, as the cells' traffic does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import networkx as nx
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from twin.kernel import Sim, labels, required
from twin.messages import PmReport
from twin.network.state import NetworkState

LINK_SCHEMA = required([
    ("period_start", pa.float64()), ("link", pa.string()), ("load_mbps", pa.float64()),
    ("utilisation", pa.float64()), ("available_s", pa.float64()),
    ("demand_mbps", pa.float64()),
])


class TransportLoad:
    def __init__(self, sim: Sim, state: NetworkState, capacity_mbps: dict[str, float],
                 raise_at: float, clear_at: float,
                 profile: Callable[[float], float] | None = None) -> None:
        """``profile(t)``: the traffic at ``t`` over the day's mean (shapes the demands)."""
        self.sim, self.state = sim, state
        topo = state.topo
        self.link_ids = list(topo.links)
        self.link_index = {lid: i for i, lid in enumerate(self.link_ids)}
        self.capacity = np.array([topo.links[lid].capacity_mbps
                                  or capacity_mbps[topo.links[lid].medium]
                                  for lid in self.link_ids])
        self.profile = profile or (lambda t: 1.0)
        bb = topo.backbone
        self.demands = bb.demands if bb is not None and bb.demand_load > 0 else ()
        self.demand_mbps = np.zeros(len(self.demands))
        self._routes_key: frozenset[str] | None = None
        self._routes: list[list[str] | None] = []
        self._route_pairs = (np.empty(0, np.int64), np.empty(0, np.int64))
        self._pairs_key: frozenset[str] | None = None
        self.demand_load = np.zeros(len(self.link_ids))  # the last period's, in Mb/s
        if self.demands:
            assert bb is not None
            pairs, links = self._route_arrays(frozenset())
            volume = np.array([v for _, _, v in self.demands])
            util = np.bincount(links, weights=volume[pairs],
                               minlength=len(self.link_ids)) / self.capacity
            busiest = float(util.max())
            if busiest > 0:
                self.demand_mbps = volume * bb.demand_load / busiest
        self.raise_at, self.clear_at = raise_at, clear_at
        self.table = sim.records.buffer("link_traffic", LINK_SCHEMA)
        self._column = labels(np.arange(len(self.link_ids)), self.link_ids)
        # neighbours and the links to them, in the graph's order (the tree's tie-breaks), as
        # arrays: entry e joins node src[e] to node dst[e] (each node's entries in a row, from
        # ptr[node]), over the parallel links par_link[par_ptr[e]:par_ptr[e + 1]], sorted by id
        self._node_index = {node: i for i, node in enumerate(topo.graph.nodes)}
        src: list[int] = []
        dst: list[int] = []
        par_link: list[int] = []
        par_ptr = [0]
        for node, nbrs in topo.graph.adj.items():
            for nbr, edges in nbrs.items():
                src.append(self._node_index[node])
                dst.append(self._node_index[nbr])
                par_link.extend(self.link_index[k] for k in sorted(edges))
                par_ptr.append(len(par_link))
        self._src = np.array(src, dtype=np.int64)
        self._dst = np.array(dst, dtype=np.int64)
        self._ptr = np.searchsorted(self._src, np.arange(len(self._node_index) + 1))
        self._par_link = np.array(par_link, dtype=np.int64)
        self._par_entry = np.repeat(np.arange(len(src)), np.diff(par_ptr))
        self._core = np.array([self._node_index[c] for c in topo.core], dtype=np.int64)
        self._cell_nodes = np.array([self._node_index[c] for c in state.cell_ids],
                                    dtype=np.int64)
        self._tree_key: tuple[frozenset[str], ...] | None = None
        self._pairs: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] = (
            np.empty(0, np.int64), np.empty(0, np.int64))

    def _paths(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(cell index, link index) for every link on every cell's path to the core."""
        st = self.state
        key = (frozenset(st.down_targets()),)
        if key == self._tree_key:
            return self._pairs
        up_node, up_link = self._tree(key[0])
        # each cell's path up the tree, all cells at once (one step up per round), then in
        # the order of a walk cell by cell: the loads add up in the same order as ever
        cells_at, links_at, steps_at = [], [], []
        ci = np.arange(len(st.cell_ids), dtype=np.int64)
        at = self._cell_nodes
        step = 0
        while True:
            on = up_node[at] >= 0
            if not on.any():
                break
            ci, at = ci[on], at[on]
            cells_at.append(ci)
            links_at.append(up_link[at])
            steps_at.append(np.full(ci.size, step, dtype=np.int64))
            at = up_node[at]
            step += 1
        cells = np.concatenate(cells_at) if cells_at else np.empty(0, np.int64)
        links = np.concatenate(links_at) if links_at else np.empty(0, np.int64)
        order = np.lexsort((np.concatenate(steps_at), cells)) if steps_at else cells
        self._tree_key = key
        self._pairs = (cells[order], links[order])
        return self._pairs

    def _tree(self, down: frozenset[str]) -> tuple[npt.NDArray[np.int64],
                                                     npt.NDArray[np.int64]]:
        """The shortest-hop tree grown from the working core routers over what is not
        ``down``: each node's parent and the link to it (-1: a root, or cut off). A
        breadth-first search a level at a time, whose ties break as a FIFO queue's would: a
        node's parent is the first node of the level before, in queue order, with a link up
        to it (the link of those with the lowest id), and it is queued in that order."""
        n = len(self._node_index)
        node_down = np.zeros(n, dtype=bool)
        link_down = np.zeros(len(self.link_ids), dtype=bool)
        for t in down:
            if t in self._node_index:
                node_down[self._node_index[t]] = True
            if t in self.link_index:
                link_down[self.link_index[t]] = True
        # each entry's link: the first of its parallel links (by id) that is up
        up = np.flatnonzero(~link_down[self._par_link])
        entries, first = np.unique(self._par_entry[up], return_index=True)
        entry_link = np.full(self._src.size, -1, dtype=np.int64)
        entry_link[entries] = self._par_link[up[first]]
        usable = (entry_link >= 0) & ~node_down[self._dst]
        up_node = np.full(n, -1, dtype=np.int64)
        up_link = np.full(n, -1, dtype=np.int64)
        level = self._core[~node_down[self._core]]
        seen = np.zeros(n, dtype=bool)
        seen[level] = True
        while level.size:
            lo, hi = self._ptr[level], self._ptr[level + 1]
            count = hi - lo
            e = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
            e = e[usable[e] & ~seen[self._dst[e]]]
            nodes, first = np.unique(self._dst[e], return_index=True)
            by_discovery = np.argsort(first)
            level, e = nodes[by_discovery], e[first[by_discovery]]
            seen[level] = True
            up_node[level] = self._src[e]
            up_link[level] = entry_link[e]
        return up_node, up_link

    def routes(self, down: frozenset[str]) -> list[list[str] | None]:
        """Each demand's route (trunk ids) over the backbone with ``down`` out; None where no
        route joins its PoPs. Shortest by length; the first found among equals."""
        if down == self._routes_key:
            return self._routes
        topo = self.state.topo
        assert topo.backbone is not None
        g = nx.Graph()
        g.add_nodes_from(p for p in topo.backbone.pops if p not in down)
        for lid in topo.backbone.trunks:
            ln = topo.links[lid]
            km = ln.length_km or 0.0
            if lid in down or ln.a in down or ln.b in down:
                continue
            if not g.has_edge(ln.a, ln.b) or g.edges[ln.a, ln.b]["km"] > km:
                g.add_edge(ln.a, ln.b, km=km, link=lid)
        paths: dict[str, dict[str, list[str]]] = {}
        out: list[list[str] | None] = []
        for a, b, _ in self.demands:
            if a not in g:
                out.append(None)
                continue
            if a not in paths:
                paths[a] = nx.single_source_dijkstra_path(g, a, weight="km")
            nodes = paths[a].get(b)
            out.append(None if nodes is None else
                       [g.edges[u, v]["link"] for u, v in itertools.pairwise(nodes)])
        self._routes_key, self._routes = down, out
        return out

    def _route_arrays(self, down: frozenset[str],
                      ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(demand index, link index) for every trunk on every routed demand's path."""
        if down != self._pairs_key:
            pairs, links = [], []
            for i, route in enumerate(self.routes(down)):
                for lid in route or ():
                    pairs.append(i)
                    links.append(self.link_index[lid])
            self._route_pairs = (np.array(pairs, dtype=np.int64),
                                 np.array(links, dtype=np.int64))
            self._pairs_key = down
        return self._route_pairs

    def load(self, t0: float, t1: float, cell_mb: npt.NDArray[np.float64],
             ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The period's cell traffic on the links: each link's utilisation and, per cell, the
        share of its demanded rate its transport path carries — 1 unless a link on the way
        to the core is loaded beyond its capacity, then capacity over load of the fullest such
        link (every flow on a link slowed alike)."""
        cells, links = self._paths()
        mbps = cell_mb * 8.0 / (t1 - t0)
        load = np.bincount(links, weights=mbps[cells],
                           minlength=len(self.link_ids)).astype(np.float64)
        if self.demands:
            pairs, trunks = self._route_arrays(frozenset(self.state.down_targets()))
            flow = self.demand_mbps * self.profile(0.5 * (t0 + t1))
            self.demand_load = np.bincount(trunks, weights=flow[pairs],
                                           minlength=len(self.link_ids)).astype(np.float64)
            load = load + self.demand_load
        util = load / self.capacity
        bottleneck = np.ones(len(self.state.cell_ids))
        np.minimum.at(bottleneck, cells, 1.0 / np.maximum(util[links], 1.0))
        return util, bottleneck

    def period(self, t0: float, t1: float, util: npt.NDArray[np.float64]) -> PmReport:
        """Record the period's link counters (``util`` from :meth:`load`); update
        congestion."""
        load = util * self.capacity
        down = self.state.down_targets()
        available = np.full(len(self.link_ids), t1 - t0)
        available[[self.link_index[t] for t in down if t in self.link_index]] = 0.0
        self.table.extend({"period_start": np.full(len(self.link_ids), t0),
                           "link": self._column, "load_mbps": load, "utilisation": util,
                           "available_s": available, "demand_mbps": self.demand_load})
        congested = self.state.congested
        for i in np.flatnonzero(util > self.raise_at):
            congested.add(self.link_ids[i])
        for lid in list(congested):
            if util[self.link_index[lid]] < self.clear_at or lid in down:
                congested.discard(lid)
        return PmReport(t0, t1 - t0, "link", tuple(self.link_ids),
                        {"load_mbps": load, "utilisation": util, "available_s": available})
