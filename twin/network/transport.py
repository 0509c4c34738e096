"""Transport load: which links carry each cell's traffic, and how full they are.

Each granularity period the cells' data throughput is routed to the core over the current
network — a shortest-hop tree grown from the working core routers, so when a failure
reroutes a ring the survivors carry the detour. A link's utilisation is its load over its
capacity (by medium: fibre or microwave). Utilisation above the raise threshold raises a
threshold alarm on the link, cleared only below the clear threshold (hysteresis). The
``link_traffic`` table and a link :class:`PmReport` carry the counters.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from twin.kernel import Sim, labels
from twin.messages import PmReport
from twin.network.state import NetworkState

LINK_SCHEMA = pa.schema([
    ("period_start", pa.float64()), ("link", pa.string()), ("load_mbps", pa.float64()),
    ("utilisation", pa.float64()), ("available_s", pa.float64()),
])


class TransportLoad:
    def __init__(self, sim: Sim, state: NetworkState, capacity_mbps: dict[str, float],
                 raise_at: float, clear_at: float) -> None:
        self.sim, self.state = sim, state
        topo = state.topo
        self.link_ids = list(topo.links)
        self.link_index = {lid: i for i, lid in enumerate(self.link_ids)}
        self.capacity = np.array([capacity_mbps[topo.links[lid].medium]
                                  for lid in self.link_ids])
        self.raise_at, self.clear_at = raise_at, clear_at
        self.table = sim.records.buffer("link_traffic", LINK_SCHEMA)
        self._column = labels(np.arange(len(self.link_ids)), self.link_ids)
        # neighbours and the links to them, in the graph's order (the tree's tie-breaks)
        self._adj = {node: [(nbr, tuple(edges)) for nbr, edges in nbrs.items()]
                     for node, nbrs in topo.graph.adj.items()}
        self._node_index = {node: i for i, node in enumerate(topo.graph.nodes)}
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
        down = key[0]
        adj = self._adj
        parent: dict[str, tuple[str, str]] = {}
        queue = deque(c for c in st.topo.core if c not in down)
        seen = set(queue)
        while queue:
            node = queue.popleft()
            for nbr, edges in adj[node]:
                if nbr in seen or nbr in down:
                    continue
                up = [k for k in edges if k not in down]
                if not up:
                    continue
                seen.add(nbr)
                parent[nbr] = (node, min(up))
                queue.append(nbr)
        # each cell's path up the tree, all cells at once (one step up per round), then in
        # the order of a walk cell by cell: the loads add up in the same order as ever
        index = self._node_index
        up_node = np.full(len(index), -1, dtype=np.int64)
        up_link = np.full(len(index), -1, dtype=np.int64)
        for node, (par, lid) in parent.items():
            up_node[index[node]] = index[par]
            up_link[index[node]] = self.link_index[lid]
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

    def load(self, t0: float, t1: float, cell_mb: npt.NDArray[np.float64],
             ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The period's cell traffic on the links: each link's utilisation and, per cell, the
        share of its demanded rate its transport path carries — 1 unless a link on the way
        to the core is loaded beyond its capacity, then capacity over load of the fullest such
        link (every flow on a link slowed alike)."""
        cells, links = self._paths()
        mbps = cell_mb * 8.0 / (t1 - t0)
        util = np.bincount(links, weights=mbps[cells], minlength=len(self.link_ids)) \
            / self.capacity
        bottleneck = np.ones(len(self.state.cell_ids))
        np.minimum.at(bottleneck, cells, 1.0 / np.maximum(util[links], 1.0))
        return util, bottleneck

    def period(self, t0: float, t1: float, util: npt.NDArray[np.float64]) -> PmReport:
        """Record the period's link counters (``util`` from :meth:`load`); update
        congestion."""
        load = util * self.capacity
        down = self.state.down_targets()
        available = np.array([0.0 if lid in down else t1 - t0 for lid in self.link_ids])
        self.table.extend({"period_start": np.full(len(self.link_ids), t0),
                           "link": self._column, "load_mbps": load, "utilisation": util,
                           "available_s": available})
        congested = self.state.congested
        for i in np.flatnonzero(util > self.raise_at):
            congested.add(self.link_ids[i])
        for lid in list(congested):
            if util[self.link_index[lid]] < self.clear_at or lid in down:
                congested.discard(lid)
        return PmReport(t0, t1 - t0, "link", tuple(self.link_ids),
                        {"load_mbps": load, "utilisation": util, "available_s": available})
