"""The operations centre: the OSS's handlers, wired to its alarm list, correlator and crews.

It receives the inventory and raw alarms from the network, and publishes repair commands to
the network and measured service outages to the BSS. It never reads ground truth.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import replace
from typing import Any

import pyarrow as pa

from twin.kernel import Sim
from twin.messages import (
    ActiveAlarmList,
    AlarmListRequest,
    AlarmNotification,
    CustomerTroubleReport,
    EmsEvent,
    ImpactAnswer,
    InventorySnapshot,
    MaintenanceWindow,
    OperatorAlarmAction,
    OperatorTroubleTicket,
    PmReport,
    ServiceOutageReport,
)
from twin.oss.alarms import Alarm, AlarmList
from twin.oss.collection import Collector
from twin.oss.correlation import SERVICE_CAUSES, Correlator, Incident
from twin.oss.customer import CustomerTickets
from twin.oss.impact import ServiceImpact
from twin.oss.inventory import Inventory, degrade
from twin.oss.kpis import KpiBook
from twin.oss.maintenance import MaintenanceCalendar
from twin.oss.noc import Noc
from twin.oss.performance import EMS as PM_EMS
from twin.oss.performance import PmWatch
from twin.oss.provisioning import Provisioning
from twin.oss.workforce import Workforce
from twin.scenario.schema import OssSpec

INCIDENTS_SCHEMA = pa.schema([
    ("incident_id", pa.int64()), ("root", pa.string()), ("root_kind", pa.string()),
    ("first_alarm", pa.float64()), ("created", pa.float64()), ("cleared", pa.float64()),
    ("alarms", pa.int64()), ("cells_affected", pa.int64()), ("ticket_id", pa.int64()),
    ("merged_into", pa.int64()), ("severity", pa.string()), ("acknowledged", pa.float64()),
    ("ack_user", pa.string()), ("cells", pa.string()),
])
OUTAGES_SCHEMA = pa.schema([
    ("incident_id", pa.int64()), ("cell", pa.string()), ("start", pa.float64()),
    ("end", pa.float64()),
])


class OperationsCenter:
    def __init__(self, sim: Sim, spec: OssSpec, publish: Callable[[Any], None]) -> None:
        self.sim = sim
        self.spec = spec
        self.publish = publish
        self.inventory_errors: dict[str, str] = {}
        self.collector = Collector(sim)
        self.alarms = AlarmList(sim, spec.alarms, on_closed=self._alarm_closed)
        self.maintenance = MaintenanceCalendar(sim, spec.maintenance,
                                               release=self._overrun, publish=publish)
        self.workforce = Workforce(sim, spec, publish, region_of=self._region_of,
                                   on_mains_failure=self._on_mains_failure,
                                   on_maintenance=self.maintenance.overrunning,
                                   has_standby=self._has_standby,
                                   inventory=lambda: self.inventory)
        self.noc = Noc(sim, spec.noc, release=self.workforce.release)
        self.correlator = Correlator(sim, spec.correlation_window_s,
                                     on_incident=self._incident_opened,
                                     on_cleared=self._incident_cleared,
                                     on_merged=self._incident_merged,
                                     on_grown=self._incident_grown)
        self.inventory: Inventory | None = None
        self.pm_periods = 0
        self.pm = PmWatch(sim, spec.pm, raise_alarm=self.on_alarm,
                          explained=self._alarmed_objects)
        self._outages = sim.records.buffer("service_outages", OUTAGES_SCHEMA)
        self.resync = {"requests": 0, "raised": 0, "cleared": 0}
        self.qualifying: set[int] = set()  # alarms waiting out their qualification time
        if spec.alarms.resync_interval > 0:
            sim.env.process(self._alarm_sync(spec.alarms.resync_interval))
        self.provisioning = Provisioning(sim, spec.provisioning, publish, self._cell_out)
        self.kpis = KpiBook(sim)
        self.customer = CustomerTickets(sim, spec.customer_tickets,
                                        lambda: self.correlator.incidents)
        self.impact = ServiceImpact(sim, publish, lambda: list(self.correlator.open.values()))

    # --- handlers ---------------------------------------------------------------------------

    def on_inventory(self, snap: InventorySnapshot) -> None:
        acc = self.spec.inventory
        if acc.missing_links or acc.stale_links:
            snap, self.inventory_errors = degrade(snap, acc, self.sim.rng.stream("oss.inventory"))
        self.inventory = Inventory(snap)
        self.correlator.inventory = self.inventory
        self.impact.inventory = self.inventory
        self.kpis.inventory = self.inventory

    def on_ems_event(self, event: EmsEvent) -> None:
        """A message from an element manager, in its vendor's dialect."""
        note = self.collector.normalise(event)
        if note is not None:
            self.on_alarm(note)

    def on_alarm(self, note: AlarmNotification, via: str = "notification") -> None:
        out = self.alarms.receive(note, via)
        alarm = out.alarm
        if alarm is None:
            return
        if out.ended is not None:
            self._report_outage(alarm.obj, alarm.cause, *out.ended, alarm.incident_id)
        if out.kind == "new":
            if not self.maintenance.suppress(alarm):
                wait = self.spec.alarms.qualification.get(alarm.cause, 0.0)
                if wait > 0:
                    self.qualifying.add(alarm.id)
                    self.sim.env.process(self._qualify(alarm, wait))
                else:
                    self.correlator.add(alarm)
        elif out.kind == "cleared":
            self.correlator.alarm_cleared(alarm)

    def _qualify(self, alarm: Alarm, wait: float) -> Generator[Any, None, None]:
        """An alarm of a cause that mostly clears by itself is correlated only if it is
        still raised after its qualification time (as an RTU's or OSS's alarm delay does)."""
        yield self.sim.env.timeout(wait)
        self.qualifying.discard(alarm.id)
        if alarm.cleared is None:  # else it cleared by itself: never an incident
            self.correlator.add(alarm)

    def on_alarm_list(self, listing: ActiveAlarmList) -> None:
        """Alarm synchronisation: an element manager's active alarms against the OSS's own.
        A listed alarm the OSS does not have (its notification was lost or garbled) is
        raised now; an alarm the OSS holds that the element manager no longer lists (its
        clear was lost) is cleared as of the listing."""
        listed = {n.reduction_key: n for n in listing.alarms}
        for key, note in listed.items():
            held = self.alarms.active.get(key)
            if held is None or not held.up:
                self.resync["raised"] += 1
                self.on_alarm(note, via="sync")
        for alarm in list(self.alarms.active.values()):
            if (alarm.note.ems == listing.ems and alarm.up and alarm.raised < listing.taken_at
                    and alarm.note.reduction_key not in listed):
                self.resync["cleared"] += 1
                self.on_alarm(replace(alarm.note, notification_id=0,
                                      event_time=listing.taken_at,
                                      perceived_severity="cleared"), via="sync")

    def _alarm_sync(self, every: float) -> Generator[Any, None, None]:
        while True:
            yield self.sim.env.timeout(every)
            self.resync["requests"] += 1
            self.publish(AlarmListRequest(self.sim.now))
    def on_maintenance(self, msg: MaintenanceWindow) -> None:
        """Change management announced planned work (see twin/oss/maintenance.py)."""
        if self.spec.maintenance.enabled:
            self.maintenance.announce(msg, self.inventory)

    def _overrun(self, alarm: Alarm) -> None:
        """An alarm of planned work still raised after its window: a real problem now."""
        self.correlator.add(alarm)

    def on_pm(self, report: PmReport) -> None:
        """Performance counters of one granularity period: KPI thresholds per cell."""
        self.pm_periods += 1
        self.pm.on_report(report)
        self.kpis.on_report(report)

    def on_impact_answer(self, answer: ImpactAnswer) -> None:
        """The BSS's word on what an incident puts at stake."""
        self.impact.on_answer(answer)

    def on_customer_report(self, report: CustomerTroubleReport) -> None:
        """A customer's complaint forwarded by BSS care: a ticket linked to its incident."""
        self.customer.on_report(report)

    def on_operator_action(self, msg: OperatorAlarmAction) -> None:
        """An operator outside the twin acknowledged or cleared one of the OSS's alarms.
        Acknowledging an alarm acknowledges its incident (and releases its ticket); an
        alarm not yet in an incident is acknowledged alone. Clearing closes the alarm as its
        element manager's clear would."""
        if not 0 < msg.alarm_id <= len(self.alarms.all):
            return
        alarm = self.alarms.all[msg.alarm_id - 1]
        if msg.action == "acknowledge":
            if alarm.incident_id:
                self.noc.acknowledge(self.correlator.incidents[alarm.incident_id - 1], msg.user)
            alarm.acknowledge(self.sim.now, msg.user)
        elif msg.action == "clear" and alarm.cleared is None and alarm.up:
            self.on_alarm(replace(alarm.note, notification_id=0, event_time=self.sim.now,
                                  perceived_severity="cleared"), via="operator")

    def on_operator_ticket(self, msg: OperatorTroubleTicket) -> None:
        """A ticket an outside ticketing system opened: handled like a complaint forwarded
        by care — linked to the incident it names or to an open one over its resource, else
        investigated. A resource names an incident when it is its root or carries one of its
        alarms (the oldest open one)."""
        incident_id = msg.incident_id
        if not incident_id and msg.resource:
            for inc in self.correlator.incidents:
                if inc.cleared is None and inc.merged_into == 0 and (
                        inc.root == msg.resource
                        or any(msg.resource in (a.obj, a.note.resource) for a in inc.alarms)):
                    incident_id = inc.id
                    break
        self.customer.on_report(CustomerTroubleReport(
            care_ticket_id=0, sub=0, account=0, cell=msg.resource,
            reason=f"opened by {msg.user}: {msg.name} ({msg.reference})",
            incident_id=incident_id, experienced=msg.opened, opened=msg.opened))

    def _on_mains_failure(self, obj: str) -> bool:
        """An environmental power alarm (mains lost, on battery) is active on ``obj``."""
        return any(a.obj == obj and a.cause == "powerProblem"
                   for a in self.alarms.active.values())

    def _alarmed_objects(self) -> set[str]:
        """Objects with an active element-manager alarm (it accounts for their counters)."""
        return {a.obj for a in self.alarms.active.values()
                if a.note.ems != PM_EMS and a.id not in self.qualifying}

    def _cell_out(self, cell: str) -> bool:
        """The OSS believes ``cell`` is out of service: a service-affecting alarm is up on it,
        or an open incident has it among its affected cells — unless the incident holds only
        threshold crossings of PM counters (a cell dropping too many calls still serves)."""
        if any(a.obj == cell and a.up and a.cause in SERVICE_CAUSES
               for a in self.alarms.active.values()):
            return True
        return any(i.cleared is None and i.merged_into == 0 and cell in i.cells
                   and any(a.note.ems != PM_EMS for a in i.alarms)
                   for i in self.correlator.incidents)

    # --- internals --------------------------------------------------------------------------

    def _incident_opened(self, inc: Incident) -> None:
        self.impact.ask(inc)
        self.workforce.open_ticket(inc)
        self.noc.triage(inc)

    def _has_standby(self, target: str) -> bool:
        """The inventory records a standby unit (element) or protection path (link)."""
        inv = self.inventory
        if inv is None:
            return False
        info = inv.elements.get(target) or inv.links.get(target)
        return info is not None and info.standby

    def _incident_cleared(self, inc: Incident) -> None:
        self.workforce.incident_cleared(inc)
        self.customer.incident_cleared(inc)

    def _incident_grown(self, inc: Incident) -> None:
        """More cells dark under an open incident (a mains failure spreading): ask again."""
        self.impact.ask(inc)

    def _incident_merged(self, inc: Incident) -> None:
        self.workforce.incident_merged(inc)
        self.customer.incident_merged(inc)

    def _region_of(self, target: str) -> str:
        """The region of an element, or of a link's first end, in the OSS inventory."""
        inv = self.inventory
        if inv is None:
            return ""
        if target in inv.links:
            target = inv.links[target].a
        el = inv.elements.get(target)
        return el.region if el is not None else ""

    def _alarm_closed(self, alarm: Alarm) -> None:
        """A flapping alarm closed after its quiet time."""
        self.correlator.alarm_cleared(alarm)

    def _report_outage(self, obj: str, cause: str, start: float, end: float,
                       incident_id: int) -> None:
        """A cell alarm that means lost service, once cleared, is a measured outage."""
        inv = self.inventory
        if inv is None or cause not in SERVICE_CAUSES or not inv.is_cell(obj):
            return
        self._outages.append(incident_id=incident_id, cell=obj, start=start, end=end)
        self.publish(ServiceOutageReport(incident_id, obj, start, end))

    def finish(self) -> None:
        """Outages still open at the horizon are reported as lasting until it."""
        for alarm in list(self.alarms.active.values()):
            if alarm.up:
                self._report_outage(alarm.obj, alarm.cause, alarm.up_since,
                                    self.sim.horizon, alarm.incident_id)
        self.alarms.write()
        self.workforce.write()
        self.provisioning.write()
        self.maintenance.write()
        self.kpis.write()
        self.customer.write()
        buf = self.sim.records.buffer("incidents", INCIDENTS_SCHEMA)
        for inc in self.correlator.incidents:
            buf.append(**incident_row(inc))


def incident_row(inc: Incident) -> dict[str, Any]:
    """An incident as a row of the ``incidents`` table (as of now)."""
    return dict(incident_id=inc.id, root=inc.root, root_kind=inc.root_kind,
                first_alarm=inc.first_alarm, created=inc.created, cleared=inc.cleared,
                alarms=len(inc.alarms), cells_affected=len(inc.cells),
                ticket_id=inc.ticket_id, merged_into=inc.merged_into,
                severity=inc.severity, acknowledged=inc.acknowledged,
                ack_user=inc.ack_user, cells=",".join(sorted(inc.cells)))
