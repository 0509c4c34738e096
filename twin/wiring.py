"""The composition root: builds the layers for a scenario and wires the message bus.

The handler table below is the only place that knows which layer receives which message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from twin.bss import BusinessSupport
from twin.kernel import Sim
from twin.messages import (
    ActivationCommand,
    ActivationResult,
    ActiveAlarmList,
    AlarmListRequest,
    AlarmNotification,
    CreditAnswer,
    CreditRelease,
    CreditRequest,
    CustomerTroubleReport,
    EmsEvent,
    ImpactAnswer,
    ImpactQuery,
    InventorySnapshot,
    MaintenanceWindow,
    OperatorAlarmAction,
    OperatorTroubleTicket,
    PlannedMaintenanceNotice,
    PmReport,
    RepairCommand,
    ServiceOrder,
    ServiceOrderUpdate,
    ServiceOutageReport,
    SubscriberBase,
    UsageBatch,
)
from twin.network import NetworkTwin, Topology, build_topology
from twin.oss import OperationsCenter
from twin.scenario.schema import Scenario
from twin.scenario.subscribers import build_subscribers

MESSAGES_SCHEMA = pa.schema([
    ("t", pa.float64()), ("type", pa.string()), ("detail", pa.string()),
])


class SouthboundRoute(Protocol):
    """Another route for the southbound messages (EMS events, alarm-list requests) than the
    bus's direct one — the emulated wire (:mod:`twin.emulation`). ``attach`` subscribes its
    handlers; ``finish`` carries what is still on its way at the end of the run."""

    def attach(self, sim: Sim, network: NetworkTwin, oss: OperationsCenter) -> None: ...

    def finish(self) -> None: ...


@dataclass
class Assembly:
    scenario: Scenario
    sim: Sim
    topology: Topology
    subscribers: SubscriberBase
    network: NetworkTwin
    oss: OperationsCenter
    bss: BusinessSupport


def _detail(msg: object) -> str:
    if isinstance(msg, AlarmNotification):
        return (f"{msg.ems} #{msg.notification_id} {msg.perceived_severity} "
                f"{msg.probable_cause} on {msg.alarmed_object}"
                + (f" port {msg.resource}" if msg.resource else ""))
    if isinstance(msg, EmsEvent):
        text = " | ".join(msg.payload.splitlines())
        return f"{msg.ems} ({msg.dialect}): {text[:120]}" + ("…" if len(text) > 120 else "")
    if isinstance(msg, RepairCommand):
        return f"ticket {msg.ticket_id}: {msg.action} {msg.target}"
    if isinstance(msg, ServiceOutageReport):
        return (f"incident {msg.incident_id}: {msg.cell} out of service "
                f"{msg.end - msg.start:.0f} s")
    if isinstance(msg, MaintenanceWindow | PlannedMaintenanceNotice):
        what = (",".join(msg.targets) if isinstance(msg, MaintenanceWindow)
                else f"{len(msg.cells)} cells")
        return f"window {msg.window_id}: {what} from {msg.start:.0f} to {msg.end:.0f} s"
    if isinstance(msg, ImpactQuery):
        return (f"incident {msg.incident_id} (query {msg.query_id}): {len(msg.cells)} cells, "
                f"{','.join(msg.services) or 'no service'}")
    if isinstance(msg, ImpactAnswer):
        return (f"incident {msg.incident_id} (query {msg.query_id}): {msg.customers} "
                f"customers, {msg.enterprise_accounts} enterprise, "
                f"{msg.revenue_at_risk_minor_per_h} minor/h at risk")
    if isinstance(msg, CustomerTroubleReport):
        return (f"care ticket {msg.care_ticket_id}: line {msg.sub} on {msg.cell}, "
                f"{msg.reason}" + (f" (incident {msg.incident_id})" if msg.incident_id else ""))
    if isinstance(msg, UsageBatch):
        return f"{msg.rows} usage records"
    if isinstance(msg, PmReport):
        return f"{msg.object_kind} counters for {len(msg.objects)} objects"
    if isinstance(msg, ActiveAlarmList):
        return f"{msg.ems}: {len(msg.alarms)} active alarms"
    if isinstance(msg, ServiceOrder):
        return f"service order {msg.service_order_id}: {msg.action} line {msg.sub} on {msg.cell}"
    if isinstance(msg, ServiceOrderUpdate):
        return (f"service order {msg.service_order_id} {msg.state} (attempt {msg.attempts})"
                + (f": {msg.reason}" if msg.reason else ""))
    if isinstance(msg, ActivationCommand | ActivationResult):
        ok = "" if isinstance(msg, ActivationCommand) else (" ok" if msg.ok else f" {msg.reason}")
        return f"service order {msg.service_order_id}: {msg.action} line {msg.sub}{ok}"
    if isinstance(msg, OperatorAlarmAction):
        return f"{msg.user}: {msg.action} alarm {msg.alarm_id}"
    if isinstance(msg, OperatorTroubleTicket):
        return f"{msg.user}: ticket {msg.reference} on {msg.resource or 'no resource'}"
    if isinstance(msg, InventorySnapshot):
        return f"{len(msg.elements)} elements, {len(msg.links)} links"
    return type(msg).__name__


def assemble(scenario: Scenario, tables_dir: Path,
             southbound: SouthboundRoute | None = None) -> Assembly:
    sim = Sim.create(scenario.start, scenario.duration, scenario.seed, tables_dir)
    topo = build_topology(scenario.network)
    subs = build_subscribers(scenario, topo.cells, sim.rng.stream("subscribers"),
                             cell_region=tuple(topo.elements[c].region for c in topo.cells),
                             sites=[topo.elements[c].site for c in topo.cells])
    publish = sim.bus.publish
    network = NetworkTwin(sim, topo, scenario.network, scenario.traffic, scenario.faults,
                          subs, publish)
    if scenario.bss.ocs.enabled:  # the operator charges its prepaid lines online
        network.enable_online_charging()
    oss = OperationsCenter(sim, scenario.oss, publish)
    bss = BusinessSupport(sim, scenario.bss, subs)

    bus = sim.bus  # the handler table
    bus.subscribe(InventorySnapshot, oss.on_inventory)
    bus.subscribe(AlarmNotification, oss.on_alarm)
    if southbound is None:
        bus.subscribe(EmsEvent, oss.on_ems_event)
        bus.subscribe(AlarmListRequest, network.on_alarm_list_request)  # alarm sync
    else:  # over a wire, which hands the OSS what arrives and publishes the alarm lists
        southbound.attach(sim, network, oss)
    bus.subscribe(ActiveAlarmList, oss.on_alarm_list)
    bus.subscribe(PmReport, oss.on_pm)
    bus.subscribe(RepairCommand, network.on_repair)
    bus.subscribe(UsageBatch, bss.on_usage)
    bus.subscribe(CreditRequest, bss.on_credit_request)  # answered with a CreditAnswer …
    bus.subscribe(CreditAnswer, network.on_credit_answer)  # … in the same instant (no latency)
    bus.subscribe(CreditRelease, bss.on_credit_release)
    bus.subscribe(ServiceOutageReport, bss.on_outage,
                  latency_s=scenario.bss.integration_latency_s)
    bus.subscribe(ServiceOrder, oss.provisioning.on_service_order,
                  latency_s=scenario.bss.integration_latency_s)
    bus.subscribe(ActivationCommand, network.on_activation)  # answered with an ActivationResult
    bus.subscribe(ActivationResult, oss.provisioning.on_activation_result)
    bus.subscribe(ServiceOrderUpdate, bss.on_service_order_update,
                  latency_s=scenario.bss.integration_latency_s)
    bus.subscribe(MaintenanceWindow, oss.on_maintenance)  # change management → OSS
    bus.subscribe(PlannedMaintenanceNotice, bss.on_maintenance,
                  latency_s=scenario.bss.integration_latency_s)
    bus.subscribe(ImpactQuery, bss.on_impact_query,  # answered with an ImpactAnswer
                  latency_s=scenario.bss.integration_latency_s)
    bus.subscribe(ImpactAnswer, oss.on_impact_answer,
                  latency_s=scenario.bss.integration_latency_s)
    bus.subscribe(CustomerTroubleReport, oss.on_customer_report,
                  latency_s=scenario.bss.integration_latency_s)
    bus.subscribe(OperatorAlarmAction, oss.on_operator_action)  # from a live twin's client
    bus.subscribe(OperatorTroubleTicket, oss.on_operator_ticket)

    log = sim.records.buffer("messages", MESSAGES_SCHEMA)
    bus.tap(lambda t, m: log.append(t=t, type=type(m).__name__, detail=_detail(m)))

    # end of run: traffic in flight completes, the OSS reports, messages in flight arrive,
    # then the last bill run
    sim.at_end(network.finish)
    if southbound is not None:
        sim.at_end(southbound.finish)
    sim.at_end(oss.finish)
    sim.at_end(bus.drain)
    sim.at_end(bss.finish)
    network.start()
    return Assembly(scenario, sim, topo, subs, network, oss, bss)
