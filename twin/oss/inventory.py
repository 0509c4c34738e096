"""The OSS's own view of the topology, built from discovery, never from the network itself.

Real inventories drift from the network they describe: a link was re-homed and the record
never updated, a new hop was never entered. ``oss.inventory`` sets how wrong this one is
(:func:`degrade`); correlation reasons over it all the same, so a wrong inventory means
wrong root causes — measurably (``rca_precision``, ``symptom_precision``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import networkx as nx
import numpy as np

from twin.kernel.graph import Components
from twin.messages import InventorySnapshot, LinkInfo
from twin.scenario.schema import InventoryAccuracySpec

SERVICE_FUNCTIONS = ("msc", "pgw", "hss", "dns")  # core functions every cell's service needs


def degrade(snapshot: InventorySnapshot, spec: InventoryAccuracySpec,
            rng: np.random.Generator) -> tuple[InventorySnapshot, dict[str, str]]:
    """The snapshot as an inaccurate OSS inventory records it: a share of links missing, a
    share stale (one end recorded at another element of that end's type). Returns the
    inventory and what was changed (link id → ``missing`` or ``stale: a-b was a-c``)."""
    links = list(snapshot.links)
    n = len(links)
    order = rng.permutation(n)
    n_missing = round(spec.missing_links * n)
    n_stale = min(n - n_missing, round(spec.stale_links * n))
    missing = {int(i) for i in order[:n_missing]}
    stale = {int(i) for i in order[n_missing:n_missing + n_stale]}
    by_type: dict[str, list[str]] = {}
    for e in snapshot.elements:
        by_type.setdefault(e.type, []).append(e.id)
    etype = {e.id: e.type for e in snapshot.elements}
    changes: dict[str, str] = {}
    kept: list[LinkInfo] = []
    for i, link in enumerate(links):
        if i in missing:
            changes[link.id] = "missing"
            continue
        if i in stale:
            end = "b" if rng.random() < 0.5 else "a"
            old, other = (link.b, link.a) if end == "b" else (link.a, link.b)
            choices = [x for x in by_type[etype[old]] if x not in (old, other)]
            if choices:
                new = choices[int(rng.integers(len(choices)))]
                link = replace(link, a=new) if end == "a" else replace(link, b=new)
                changes[link.id] = f"stale: {other}-{new} was {other}-{old}"
        kept.append(link)
    return InventorySnapshot(snapshot.elements, tuple(kept)), changes


class Inventory:
    def __init__(self, snapshot: InventorySnapshot) -> None:
        self.elements = {e.id: e for e in snapshot.elements}
        self.links = {link.id: link for link in snapshot.links}
        self.graph = nx.MultiGraph()
        self.graph.add_nodes_from(self.elements)
        for link in snapshot.links:
            self.graph.add_edge(link.a, link.b, key=link.id)
        self.parts = Components(self.graph)
        self.core = [e.id for e in snapshot.elements if e.type == "core_router"]
        self.cells = frozenset(e.id for e in snapshot.elements if e.type == "cell")
        self.shadow = lru_cache(maxsize=4096)(self._shadow)

    def is_cell(self, obj: str) -> bool:
        el = self.elements.get(obj)
        return el is not None and el.type == "cell"

    def _reachable(self, failed: frozenset[str]) -> set[str]:
        return self.parts.reachable(failed, self.core)

    def _shadow(self, root: str) -> frozenset[str]:
        """Elements cut off from every core router if ``root`` (element or link) fails."""
        if root not in self.elements and root not in self.links:
            return frozenset()
        cut = set(self.elements) - self._reachable(frozenset([root])) - {root}
        el = self.elements.get(root)
        if el is not None and el.standby and el.type in SERVICE_FUNCTIONS:
            # a pair switched over by hand: until then every cell's service hangs on it
            cut |= self.cells
        return frozenset(cut)

    def cut_off(self, obj: str, failed: frozenset[str]) -> bool:
        """Whether ``obj`` is cut off from the core when all of ``failed`` fail together."""
        return obj in self.elements and obj not in failed and obj not in self._reachable(failed)

    def distance(self, a: str, b: str) -> float:
        """Hops between two objects (elements or links), for tie-breaking."""
        def ends(x: str) -> list[str]:
            return [self.links[x].a, self.links[x].b] if x in self.links else [x]
        best = float("inf")
        for u in ends(a):
            for v in ends(b):
                try:
                    best = min(best, nx.shortest_path_length(self.graph, u, v))
                except (nx.NetworkXNoPath, nx.NodeNotFound):
                    continue
        return best
