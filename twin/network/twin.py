"""The network twin: ground truth of topology, faults, repairs, traffic and telemetry.

It owns the true state. Faults strike on schedule; repairs arrive as :class:`RepairCommand`
messages from the OSS (or a scripted fault clears by itself); every change of state is
pushed to the element managers (alarms out) and logged for the traffic engine (usage out).
The ``faults``, ``fault_ends``, ``cell_outages``, ``usage`` and ``alarm_causes`` tables are
the truth that analysis scores the OSS and BSS against.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from twin.kernel import Sim
from twin.messages import RepairCommand, SubscriberBase
from twin.network.faults import Fault, fault_schedule
from twin.network.state import NetworkState
from twin.network.telemetry import ElementManagers
from twin.network.topology import Topology
from twin.network.traffic import TrafficEngine
from twin.scenario.schema import FaultSpec, NetworkSpec, TrafficSpec

FAULTS_SCHEMA = pa.schema([
    ("fault_id", pa.int64()), ("start", pa.float64()), ("time", pa.timestamp("s", tz="UTC")),
    ("target", pa.string()), ("target_kind", pa.string()), ("mode", pa.string()),
    ("source", pa.string()), ("planned_duration", pa.float64()),
])
FAULT_ENDS_SCHEMA = pa.schema([
    ("fault_id", pa.int64()), ("end", pa.float64()), ("cleared_by", pa.string()),
    ("ticket_id", pa.int64()),
])
CELL_OUTAGES_SCHEMA = pa.schema([
    ("cell", pa.string()), ("start", pa.float64()), ("end", pa.float64()),
    ("root_fault_id", pa.int64()),
])


class NetworkTwin:
    def __init__(self, sim: Sim, topo: Topology, spec: NetworkSpec, traffic: TrafficSpec,
                 faults: FaultSpec, subs: SubscriberBase, publish: Callable[[Any], None]) -> None:
        self.sim = sim
        self.topo = topo
        self.publish = publish
        self.state = NetworkState(topo)
        self.ems = ElementManagers(sim, spec.telemetry, self.state, publish)
        self.traffic = TrafficEngine(sim, traffic, self.state, subs,
                                     spec.telemetry.cdr_duplicate_rate, publish)
        self.schedule = fault_schedule(faults, topo, sim.horizon, sim.rng)
        self.fault_by_id = {f.id: f for f in self.schedule}
        self._faults = sim.records.buffer("faults", FAULTS_SCHEMA)
        self._ends = sim.records.buffer("fault_ends", FAULT_ENDS_SCHEMA)
        self._outages = sim.records.buffer("cell_outages", CELL_OUTAGES_SCHEMA)
        self._open_outage: dict[int, tuple[float, int]] = {}
        self.service_affecting: set[int] = set()
        for f in self.schedule:
            self._faults.append(fault_id=f.id, start=f.at, time=sim.calendar.at(f.at),
                                target=f.target, target_kind=f.target_kind, mode=f.mode,
                                source=f.source, planned_duration=f.duration)

    def start(self) -> None:
        """Announce the inventory and start the fault and traffic processes."""
        self.publish(self.topo.inventory())
        self.sim.env.process(self._inject())
        self.sim.env.process(self.traffic.process())

    def _inject(self) -> Any:
        for f in self.schedule:
            yield self.sim.env.timeout(f.at - self.sim.now)
            self._strike(f)

    def _strike(self, f: Fault) -> None:
        self.state.add_fault(f.target, f.id)
        self._changed(cause=f.id)
        if f.duration is not None:
            self.sim.env.process(self._self_clear(f))

    def _self_clear(self, f: Fault) -> Any:
        yield self.sim.env.timeout(f.duration or 0.0)
        if self.state.remove_fault(f.target, f.id):
            self._ends.append(fault_id=f.id, end=self.sim.now, cleared_by="self", ticket_id=0)
            self._changed(cause=None)

    def on_repair(self, cmd: RepairCommand) -> None:
        """A crew's repair clears every fault active on the target."""
        cleared = self.state.remove_faults(cmd.target)
        for fid in sorted(cleared):
            self._ends.append(fault_id=fid, end=self.sim.now, cleared_by="repair",
                              ticket_id=cmd.ticket_id)
        if cleared:
            self._changed(cause=None)

    def _changed(self, cause: int | None) -> None:
        now = self.sim.now
        went_down, came_up = self.state.recompute(now)
        for c in went_down:
            self._open_outage[c] = (now, cause or 0)
            if cause:
                self.service_affecting.add(cause)
        for c in came_up:
            start, root = self._open_outage.pop(c)
            self._outages.append(cell=self.state.cell_ids[c], start=start, end=now,
                                 root_fault_id=root)
        self.ems.update(cause)

    def finish(self) -> None:
        self.traffic.finish()
        for c, (start, root) in sorted(self._open_outage.items()):
            self._outages.append(cell=self.state.cell_ids[c], start=start,
                                 end=self.sim.horizon, root_fault_id=root)
        self._open_outage.clear()
