"""Connected parts of a network with some of its elements and links out of action.

Reachability is asked at every change of the network's state (which cells still reach the
core) and at every incident the OSS opens (what a failure cuts off). The topology is kept
as index arrays and each question is one sparse connected-components pass, instead of a
walk through networkx's filtered graph views, which call back into Python for every node
and edge.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components


class Components:
    """A multigraph (nodes; edges keyed by link id) as index arrays."""

    def __init__(self, g: nx.MultiGraph) -> None:
        self.nodes: list[str] = list(g.nodes)
        self.index = {n: i for i, n in enumerate(self.nodes)}
        edges = list(g.edges(keys=True))
        self.a = np.array([self.index[u] for u, _, _ in edges], dtype=np.int64)
        self.b = np.array([self.index[v] for _, v, _ in edges], dtype=np.int64)
        self.rows: dict[str, list[int]] = {}
        for i, (_, _, key) in enumerate(edges):
            self.rows.setdefault(key, []).append(i)

    def labels(self, down: set[str]) -> npt.NDArray[np.int32]:
        """Component of each node with the ``down`` elements and links taken out (a down
        element is a component of its own)."""
        n = len(self.nodes)
        node_up = np.ones(n, dtype=bool)
        edge_up = np.ones(self.a.size, dtype=bool)
        for target in down:
            i = self.index.get(target)
            if i is not None:
                node_up[i] = False
            edge_up[self.rows.get(target, [])] = False
        edge_up &= node_up[self.a] & node_up[self.b]
        a, b = self.a[edge_up], self.b[edge_up]
        m = csr_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n))
        labels: npt.NDArray[np.int32] = connected_components(m, directed=False)[1]
        return labels

    def names(self, mask: npt.NDArray[np.bool_]) -> set[str]:
        return {self.nodes[i] for i in np.flatnonzero(mask)}

    def reachable(self, down: Iterable[str], sources: Iterable[str]) -> set[str]:
        """Nodes joined to any of ``sources`` (those not down) by nodes and links not in
        ``down``."""
        down = set(down)
        labels = self.labels(down)
        reach = np.zeros(labels.size, dtype=bool)
        for src in sources:
            i = self.index.get(src)
            if i is not None and src not in down and not reach[i]:
                reach |= labels == labels[i]
        return self.names(reach)
