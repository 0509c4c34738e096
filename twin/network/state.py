"""Network state: which elements and links are down, and which cells are in service.

An element or link is down while it has at least one active fault. A cell is in service while
it is up and a path of up elements and links joins it to a core router. Every change of cell
service state is logged with its instant, so the traffic engine can split its intervals there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from twin.network.topology import Topology


@dataclass
class CellChange:
    t: float
    cell: int
    in_service: bool


@dataclass
class NetworkState:
    topo: Topology
    faults_on: dict[str, set[int]] = field(default_factory=dict)
    changes: list[CellChange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cell_ids = self.topo.cells
        self.cell_index = {c: i for i, c in enumerate(self.cell_ids)}
        self.in_service = np.ones(len(self.cell_ids), dtype=bool)
        self._connected: set[str] = set(self.topo.elements)

    def is_down(self, target: str) -> bool:
        return bool(self.faults_on.get(target))

    def down_targets(self) -> set[str]:
        return {t for t, fs in self.faults_on.items() if fs}

    def connected(self) -> set[str]:
        """Elements that are up and reach a core router over up links."""
        return self._connected

    def add_fault(self, target: str, fault_id: int) -> None:
        self.faults_on.setdefault(target, set()).add(fault_id)

    def remove_faults(self, target: str) -> set[int]:
        return self.faults_on.pop(target, set())

    def remove_fault(self, target: str, fault_id: int) -> bool:
        active = self.faults_on.get(target)
        if not active or fault_id not in active:
            return False
        active.discard(fault_id)
        return True

    def recompute(self, t: float) -> tuple[list[int], list[int]]:
        """Refresh reachability; returns the cell indices that went down and came back."""
        down = self.down_targets()
        g = self.topo.graph
        view = nx.subgraph_view(
            g, filter_node=lambda n: n not in down,
            filter_edge=lambda a, b, k: k not in down)
        reach: set[str] = set()
        for core in self.topo.core:
            if core not in down and core not in reach:
                reach |= nx.node_connected_component(view, core)
        self._connected = reach
        now = np.fromiter((c in reach for c in self.cell_ids), dtype=bool,
                          count=len(self.cell_ids))
        went_down = np.flatnonzero(self.in_service & ~now).tolist()
        came_up = np.flatnonzero(~self.in_service & now).tolist()
        for i in went_down:
            self.changes.append(CellChange(t, i, False))
        for i in came_up:
            self.changes.append(CellChange(t, i, True))
        self.in_service = now
        return went_down, came_up

    def take_changes(self, until: float) -> list[CellChange]:
        """Pop logged changes strictly before ``until`` (in time order)."""
        taken = [c for c in self.changes if c.t < until]
        self.changes = [c for c in self.changes if c.t >= until]
        return taken
