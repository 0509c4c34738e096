"""Network state: what is down, degraded or on battery, and which cells are in service.

Faults act through *effects* on targets: ``down`` (an element or link out of action),
``degraded`` (a cell with fewer channels or more dropped calls) and ``mains`` (an element
whose power feed failed, running on battery). A target is down while any fault holds it
down. A cell is in service while it is up, a path of up elements and links joins it to a
core router, and that part of the network holds a working instance of each core network
function service needs (voice core, packet gateway, subscriber database, DNS — when the
topology has them): with two of each, the standby takes over. Every change of cell service
state is logged with its instant, so the traffic engine can split its intervals there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twin.kernel.graph import Components
from twin.network.faults import Fault
from twin.network.topology import SERVICE_FUNCTIONS, Topology


@dataclass
class CellChange:
    t: float
    cell: int
    in_service: bool


@dataclass
class NetworkState:
    topo: Topology
    active: dict[int, Fault] = field(default_factory=dict)
    down_by: dict[str, set[int]] = field(default_factory=dict)
    degraded_by: dict[str, set[int]] = field(default_factory=dict)
    mains_by: dict[str, set[int]] = field(default_factory=dict)
    changes: list[CellChange] = field(default_factory=list)
    congested: set[str] = field(default_factory=set)  # links over their threshold

    def __post_init__(self) -> None:
        self.cell_ids = self.topo.cells
        self.cell_index = {c: i for i, c in enumerate(self.cell_ids)}
        self.in_service = np.ones(len(self.cell_ids), dtype=bool)
        self._core = self.topo.core  # a property that walks every element: listed once
        self._parts = Components(self.topo.graph)
        self.node_index = self._parts.index  # element → its node of the graph
        # elements that reach a core router, by node of the graph (all before any fault); the
        # set of their names is built only when asked for
        self.reach = np.ones(len(self.node_index), dtype=bool)
        self._connected: set[str] | None = None
        self._functions = {
            t: [e.id for e in self.topo.elements.values() if e.type == t]
            for t in SERVICE_FUNCTIONS}
        self._functions = {t: ids for t, ids in self._functions.items() if ids}
        # manual failover: only the active instance of a pair serves until a switchover
        self.active_fn: dict[str, str] = {
            t: ids[0] for t, ids in self._functions.items()
            if self.topo.manual_failover and len(ids) > 1}
        self._cell_nodes = np.array([self.node_index[c] for c in self.cell_ids],
                                    dtype=np.int64)

    # --- effects --------------------------------------------------------------------------

    @staticmethod
    def _add(effects: dict[str, set[int]], target: str, fault_id: int) -> None:
        effects.setdefault(target, set()).add(fault_id)

    @staticmethod
    def _drop(effects: dict[str, set[int]], target: str, fault_id: int) -> None:
        held = effects.get(target)
        if held is not None:
            held.discard(fault_id)
            if not held:
                del effects[target]

    def set_down(self, target: str, fault_id: int, down: bool = True) -> None:
        (self._add if down else self._drop)(self.down_by, target, fault_id)

    def set_degraded(self, cell: str, fault_id: int) -> None:
        self._add(self.degraded_by, cell, fault_id)

    def set_mains_lost(self, element: str, fault_id: int) -> None:
        self._add(self.mains_by, element, fault_id)

    def release(self, fault: Fault) -> None:
        """Remove every effect of ``fault``."""
        self.active.pop(fault.id, None)
        for effects in (self.down_by, self.degraded_by, self.mains_by):
            for target in [t for t, held in effects.items() if fault.id in held]:
                self._drop(effects, target, fault.id)

    def add_fault(self, target: str, fault_id: int) -> None:
        """Hold ``target`` down for ``fault_id`` (a bare effect, without a Fault record)."""
        self.set_down(target, fault_id)

    def remove_fault(self, target: str, fault_id: int) -> bool:
        held = fault_id in self.down_by.get(target, set())
        self.set_down(target, fault_id, down=False)
        return held

    def remove_faults(self, target: str) -> set[int]:
        return self.down_by.pop(target, set())

    def is_down(self, target: str) -> bool:
        return target in self.down_by

    def down_targets(self) -> set[str]:
        return set(self.down_by)

    def faults_on(self, target: str) -> list[Fault]:
        """Active faults whose target is ``target`` (as scheduled, not derived effects)."""
        return [f for f in self.active.values() if f.target == target]

    def cell_quality(self) -> tuple[np.ndarray, np.ndarray]:
        """Per cell: share of channels left, and the chance an answered call drops."""
        cap = np.ones(len(self.cell_ids))
        drop = np.zeros(len(self.cell_ids))
        for cell, held in self.degraded_by.items():
            i = self.cell_index.get(cell)
            if i is None:
                continue
            for fid in held:
                f = self.active[fid]
                cap[i] = min(cap[i], f.capacity_factor)
                drop[i] = max(drop[i], f.drop_rate)
        return cap, drop

    # --- reachability ---------------------------------------------------------------------

    def connected(self) -> set[str]:
        """Elements that are up and reach a core router over up links."""
        if self._connected is None:
            self._connected = self._parts.names(self.reach)
        return self._connected

    def recompute(self, t: float) -> tuple[list[int], list[int]]:
        """Refresh reachability; returns the cell indices that went down and came back."""
        down = self.down_targets()
        parts, index = self._parts, self._parts.index
        labels = parts.labels(down)
        reach = np.zeros(labels.size, dtype=bool)
        served = np.zeros(labels.size, dtype=bool)
        for core in self._core:
            if core not in down and not reach[index[core]]:
                part = labels == labels[index[core]]
                reach |= part
                # service needs a working instance of each core function in this part
                if all(any(part[index[f]] for f in ([self.active_fn[t]] if t in self.active_fn
                                                    else ids))
                       for t, ids in self._functions.items()):
                    served |= part
        self.reach, self._connected = reach, None
        now = served[self._cell_nodes]
        went_down = np.flatnonzero(self.in_service & ~now).tolist()
        came_up = np.flatnonzero(~self.in_service & now).tolist()
        for i in went_down:
            self.changes.append(CellChange(t, i, False))
        for i in came_up:
            self.changes.append(CellChange(t, i, True))
        self.in_service = now
        return went_down, came_up

    def fail_over(self, function: str) -> str:
        """Make the mate of the active instance ``function`` active (manual failover):
        ``switched``, ``standby failed`` (the mate is down or cut off) or ``no effect`` (not an
        active paired instance)."""
        etype = self.topo.elements[function].type
        if self.active_fn.get(etype) != function:
            return "no effect"
        mates = [f for f in self._functions[etype] if f != function
                 and f not in self.down_by and self.reach[self.node_index[f]]]
        if not mates:
            return "standby failed"
        self.active_fn[etype] = mates[0]
        return "switched"

    def cut_off_by(self, fault_id: int) -> set[str]:
        """Elements that would lose the core if ``fault_id`` were the only fault."""
        targets = {t for t, held in self.down_by.items() if fault_id in held}
        reach = self._parts.reachable(targets, self._core)
        return set(self.topo.elements) - reach - targets

    def take_changes(self, until: float) -> list[CellChange]:
        """Pop logged changes strictly before ``until`` (in time order)."""
        taken = [c for c in self.changes if c.t < until]
        self.changes = [c for c in self.changes if c.t >= until]
        return taken
