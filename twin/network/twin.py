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

import numpy as np
import pyarrow as pa

from twin.kernel import Sim
from twin.messages import (
    ActivationCommand,
    ActivationResult,
    AlarmListRequest,
    CreditAnswer,
    MaintenanceWindow,
    RepairCommand,
    SubscriberBase,
)
from twin.network.faults import Fault, fault_schedule
from twin.network.state import NetworkState
from twin.network.telemetry import ElementManagers
from twin.network.topology import Topology
from twin.network.traffic import TrafficEngine
from twin.network.transport import TransportLoad
from twin.scenario.schema import FaultSpec, NetworkSpec, TrafficSpec
from twin.scenario.schema.network import (
    _default_battery,
    _default_capacity,
    _default_cell_data,
)

RESTART_FIXES = frozenset({"software_crash"})
REPLACE_FIXES = frozenset({"element_failure", "software_crash", "flapping", "degradation",
                           "link_failure", "fibre_cut"})
# faults of the working unit (or path) a switchover to a healthy standby works around
SWITCH_BYPASSES = frozenset({"element_failure", "software_crash", "link_failure", "fibre_cut"})

FAULTS_SCHEMA = pa.schema([
    ("fault_id", pa.int64()), ("start", pa.float64()), ("time", pa.timestamp("s", tz="UTC")),
    ("target", pa.string()), ("target_kind", pa.string()), ("mode", pa.string()),
    ("source", pa.string()), ("planned_duration", pa.float64()), ("silent", pa.bool_()),
    ("window", pa.float64()),
])
FAULT_ENDS_SCHEMA = pa.schema([
    ("fault_id", pa.int64()), ("end", pa.float64()), ("cleared_by", pa.string()),
    ("ticket_id", pa.int64()),
])
SWITCHOVERS_SCHEMA = pa.schema([
    ("t", pa.float64()), ("target", pa.string()), ("ticket_id", pa.int64()),
    ("result", pa.string()), ("fault_ids", pa.string()),
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
        battery = {**_default_battery(), **spec.power.battery_h}  # types left out keep theirs
        self.battery_h: dict[str, float] = {str(k): v for k, v in battery.items()}
        self.ems = ElementManagers(sim, spec.telemetry, self.state, publish)
        self.traffic = TrafficEngine(sim, traffic, self.state, subs,
                                     spec.telemetry.cdr_duplicate_rate, publish)
        tel = spec.telemetry
        cell_mbps = {**_default_cell_data(), **spec.cell_data_capacity_mbps}
        self.traffic.data_capacity = np.array(
            [cell_mbps.get(topo.elements[c].technology or "4G", 150.0)  # type: ignore[call-overload]
             for c in self.state.cell_ids])
        capacity = {**_default_capacity(), **spec.link_capacity_mbps}  # a medium left out
        engine = self.traffic
        self.traffic.transport = TransportLoad(
            sim, self.state, {str(k): v for k, v in capacity.items()},
            tel.congestion_raise, tel.congestion_clear,
            profile=lambda t: 24.0 * engine.offered.share(t))  # demands follow the day's profile
        self.traffic.on_congestion = lambda: self.ems.update(None)
        self.schedule = fault_schedule(faults, topo, sim.horizon, sim.rng)
        self.fault_by_id = {f.id: f for f in self.schedule}
        self._faults = sim.records.buffer("faults", FAULTS_SCHEMA)
        self._ends = sim.records.buffer("fault_ends", FAULT_ENDS_SCHEMA)
        self._outages = sim.records.buffer("cell_outages", CELL_OUTAGES_SCHEMA)
        self._open_outage: dict[int, tuple[float, int]] = {}
        self._switchovers = sim.records.buffer("switchovers", SWITCHOVERS_SCHEMA)
        # target → faults of its failed unit, bypassed by a switchover and awaiting repair
        self.bypassed: dict[str, set[int]] = {}
        self.service_affecting: set[int] = set()
        # called after every change of network state (an emulated wire follows them)
        self.watchers: list[Callable[[], None]] = []
        for f in self.schedule:
            self._faults.append(fault_id=f.id, start=f.at, time=sim.calendar.at(f.at),
                                target=f.target, target_kind=f.target_kind, mode=f.mode,
                                source=f.source, planned_duration=f.duration, silent=f.silent,
                                window=f.window)

    def start(self) -> None:
        """Announce the inventory and start the fault and traffic processes."""
        self.publish(self.topo.inventory())
        self.sim.env.process(self._inject())
        self.sim.env.process(self._announce())
        self.sim.env.process(self.traffic.process())
        self.sim.env.process(self.ems.noise())

    def _inject(self) -> Any:
        for f in self.schedule:
            yield self.sim.env.timeout(f.at - self.sim.now)
            self._strike(f)

    def _announce(self) -> Any:
        """Change management announces each planned-maintenance window ahead of the work."""
        planned = sorted((max(0.0, f.at - f.notice), f.id, f) for f in self.schedule
                         if f.mode == "planned_maintenance" and f.target_kind == "element")
        for when, _, f in planned:
            yield self.sim.env.timeout(when - self.sim.now)
            self.publish(MaintenanceWindow(f.id, (f.target,), f.at, f.at + (f.window or 0.0),
                                           self.sim.now))

    def _links_of(self, f: Fault) -> list[str]:
        return self.topo.cables[f.target] if f.target_kind == "cable" else [f.target]

    def _strike(self, f: Fault) -> None:
        st = self.state
        if not f.repairable and st.is_down(f.target):
            # a failure of something already down, under a fixed repair time, is absorbed by
            # the repair already due — up-times stay exponential, A = MTBF/(MTBF+MTTR)
            self._ends.append(fault_id=f.id, end=self.sim.now, cleared_by="absorbed",
                              ticket_id=0)
            return
        st.active[f.id] = f
        if f.mode == "degradation":
            cells = [f.target] if f.target in st.cell_index else [
                c for c in st.cell_ids if self.topo.elements[c].site == self.topo.elements[
                    f.target].site]
            for c in cells:
                st.set_degraded(c, f.id)
        elif f.mode == "power_outage":
            for eid in self.topo.power_domains[f.target]:
                st.set_mains_lost(eid, f.id)
                battery = self.battery_h.get(self.topo.elements[eid].type, 0.0) * 3600.0
                self.sim.env.process(self._on_battery(f, eid, battery))
        elif f.target_kind in ("link", "cable"):
            for lid in self._links_of(f):
                st.set_down(lid, f.id)
        else:
            st.set_down(f.target, f.id)
            if f.mode == "flapping":
                self.sim.env.process(self._flap(f))
        self._changed(cause=f.id)
        if f.duration is not None:
            self.sim.env.process(self._self_clear(f))

    def _on_battery(self, f: Fault, eid: str, battery_s: float) -> Any:
        yield self.sim.env.timeout(battery_s)
        if f.id in self.state.active:
            self.state.set_down(eid, f.id)
            self._changed(cause=f.id)

    def _flap(self, f: Fault) -> Any:
        while True:
            yield self.sim.env.timeout(f.flap_down)
            if f.id not in self.state.active:
                return
            self.state.set_down(f.target, f.id, down=False)
            self._changed(cause=None)
            yield self.sim.env.timeout(f.flap_up)
            if f.id not in self.state.active:
                return
            self.state.set_down(f.target, f.id)
            self._changed(cause=f.id)

    def _self_clear(self, f: Fault) -> Any:
        yield self.sim.env.timeout(f.duration or 0.0)
        if f.id in self.state.active:
            self._end(f, "self", 0)

    def _end(self, f: Fault, cleared_by: str, ticket_id: int) -> None:
        self.state.release(f)
        for target in [t for t, held in self.bypassed.items() if f.id in held]:
            self.bypassed[target].discard(f.id)
            if not self.bypassed[target]:
                del self.bypassed[target]  # the failed unit is repaired: a standby again
        self._ends.append(fault_id=f.id, end=self.sim.now, cleared_by=cleared_by,
                          ticket_id=ticket_id)
        self._changed(cause=None)

    def on_alarm_list_request(self, req: AlarmListRequest) -> None:
        """Alarm synchronisation: every element manager answers with its active alarms."""
        for alarm_list in self.ems.alarm_lists():
            self.publish(alarm_list)

    def enable_online_charging(self) -> None:
        """Prepaid lines are served only with quota from the online charging system."""
        self.traffic.enable_online_charging(self.publish)

    def on_credit_answer(self, answer: CreditAnswer) -> None:
        self.traffic.on_credit_answer(answer)

    def on_repair(self, cmd: RepairCommand) -> None:
        """The network decides whether the command fixes what is wrong with the target: a
        restart fixes a software crash only; a replacement (truck roll) fixes hardware,
        crashes, flapping, degradation and cut links; power and maintenance end on their own.
        A switchover to standby restores service without ending any fault (see
        :meth:`switch_over`).
        """
        if cmd.action == "switch_standby":
            self.switch_over(cmd)
            return
        fixes = RESTART_FIXES if cmd.action == "restart" else REPLACE_FIXES
        for f in sorted(self.state.active.values(), key=lambda f: f.id):
            hit = f.target == cmd.target or (
                f.target_kind == "cable" and cmd.target in self.topo.cables[f.target])
            if hit and f.repairable and f.mode in fixes:
                self._end(f, "restart" if cmd.action == "restart" else "repair", cmd.ticket_id)

    def on_activation(self, cmd: ActivationCommand) -> None:
        """Provisioning from the OSS: the serving cell must be in service to take the line's
        configuration; then the line starts (add) or stops (delete) making traffic now."""
        idx = self.state.cell_index.get(cmd.cell)
        if idx is None or not self.state.in_service[idx]:
            self.publish(ActivationResult(cmd.service_order_id, cmd.sub, cmd.action, False,
                                          "serving cell out of service"))
            return
        tr = self.traffic
        if cmd.action == "add":
            tr.line_from[cmd.sub] = min(tr.line_from[cmd.sub], self.sim.now)
            tr.line_until[cmd.sub] = np.inf
        elif cmd.action == "delete":
            tr.line_until[cmd.sub] = min(tr.line_until[cmd.sub], self.sim.now)
        tr.lines_vary = True
        self.publish(ActivationResult(cmd.service_order_id, cmd.sub, cmd.action, True))
    def switch_over(self, cmd: RepairCommand) -> str:
        """Switch ``cmd.target`` over to its standby unit (an element's 1:1 equipment
        protection) or protection path (a link's 1+1). It helps only if the target has a
        standby, is down, every fault holding it down is one of its working unit or path
        (hardware, crash, cut — not power, flapping or maintenance), and the standby is
        healthy: not itself the unit in service since an earlier switchover whose failed
        unit still awaits repair. The faults stay active — the failed unit still needs a
        ``replace`` — but no longer hold the target down: service is restored, not repaired.
        """
        target = cmd.target
        info = self.topo.elements.get(target) or self.topo.links.get(target)
        held = sorted(self.state.down_by.get(target, set()))
        faults = [self.state.active[fid] for fid in held if fid in self.state.active]
        if info is None or not info.standby:
            result = "no standby"
        elif target in self.topo.elements and self.topo.elements[target].type in (
                self.state.active_fn):
            result = self.state.fail_over(target)  # a core function pair: the mate serves
        elif not held:
            result = "not down"
        elif self.bypassed.get(target):
            result = "standby failed"  # the other unit is the one still awaiting repair
        elif len(faults) < len(held) or any(f.mode not in SWITCH_BYPASSES for f in faults):
            result = "no effect"
        else:
            result = "switched"
            for f in faults:
                self.state.set_down(target, f.id, down=False)
            self.bypassed[target] = set(held)
        self._switchovers.append(t=self.sim.now, target=target, ticket_id=cmd.ticket_id,
                                 result=result, fault_ids=",".join(map(str, held)))
        if result == "switched":
            self._changed(cause=None)
        return result

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
        for watch in self.watchers:
            watch()

    def finish(self) -> None:
        self.traffic.finish()
        for c, (start, root) in sorted(self._open_outage.items()):
            self._outages.append(cell=self.state.cell_ids[c], start=start,
                                 end=self.sim.horizon, root_fault_id=root)
        self._open_outage.clear()
