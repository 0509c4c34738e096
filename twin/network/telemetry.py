"""Element managers: turn network state into the alarms an OSS receives.

Management runs over a separate data communication network, so every element that is alive
reports for itself, however cut off from the core it is. That gives the alarm picture of a
real NOC after a failure:

* a dead element stops answering — its element manager raises *heartbeat failure*;
* the live ends of a cut link, or of a link to a dead element, raise *loss of signal* on
  that port;
* live elements cut off from the core raise symptom alarms: cells go *out of service*,
  routers lose their *routing adjacency to the core*.

Alarms reach the OSS after a detection delay; some are sent twice (noise). Each raise is
recorded in the truth table ``alarm_causes`` with the fault that caused it, for scoring.

On an emulated management network (``twin.emulation``) the element managers' supervision
polls are real packets: :meth:`ElementManagers.supervise` tells them which elements did not
answer. An element that is alive but unreachable (in-band management behind a cut) then
loses its heartbeat too, and a notification that never reached its element manager
(:meth:`ElementManagers.not_heard`) is left out of its active alarm list until the element
is reachable again (the element manager then reads the element's alarms afresh).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from twin.kernel import Sim
from twin.messages import ActiveAlarmList, AlarmNotification
from twin.network.state import NetworkState
from twin.scenario.schema import TelemetrySpec


@dataclass(frozen=True)
class AlarmDef:
    obj: str
    resource: str
    alarm_type: str
    probable_cause: str
    specific_problem: str
    severity: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.obj, self.resource, self.probable_cause)


def heartbeat(obj: str) -> AlarmDef:
    return AlarmDef(obj, "", "communicationsAlarm", "heartbeatFailure",
                    "NE not responding to element manager", "critical")


def loss_of_signal(obj: str, port: str) -> AlarmDef:
    return AlarmDef(obj, port, "communicationsAlarm", "lossOfSignal",
                    f"loss of signal on port {port}", "major")


def cell_out_of_service(obj: str) -> AlarmDef:
    return AlarmDef(obj, "", "qualityOfServiceAlarm", "backhaulFailure",
                    "cell out of service: transport to core lost", "critical")


def software_error(obj: str) -> AlarmDef:
    return AlarmDef(obj, "", "processingErrorAlarm", "softwareError",
                    "application crashed: watchdog restart loop", "major")


def mains_failure(obj: str) -> AlarmDef:
    return AlarmDef(obj, "", "environmentalAlarm", "powerProblem",
                    "mains power failure: running on battery", "major")


def performance_degraded(obj: str) -> AlarmDef:
    return AlarmDef(obj, "", "qualityOfServiceAlarm", "performanceDegraded",
                    "cell performance degraded", "minor")


def link_congested(obj: str, port: str) -> AlarmDef:
    return AlarmDef(obj, port, "qualityOfServiceAlarm", "thresholdCrossed",
                    f"utilisation threshold crossed on port {port}", "warning")


def no_core_service(obj: str) -> AlarmDef:
    return AlarmDef(obj, "", "qualityOfServiceAlarm", "backhaulFailure",
                    "cell out of service: no core network function reachable", "critical")


def core_unreachable(obj: str) -> AlarmDef:
    return AlarmDef(obj, "", "communicationsAlarm", "routingAdjacencyLost",
                    "routing adjacency to core lost", "major")


ALARM_CAUSES = pa.schema([
    ("ems", pa.string()), ("notification_id", pa.int64()), ("fault_id", pa.int64()),
    ("alarmed_object", pa.string()), ("probable_cause", pa.string()), ("noise", pa.bool_()),
])
TRANSIENTS = (
    ("communicationsAlarm", "transmissionError", "bit error rate above threshold", "minor"),
    ("environmentalAlarm", "temperatureUnacceptable", "cabinet temperature high", "warning"),
)


class ElementManagers:
    """One element manager per vendor, watching the network state."""

    def __init__(self, sim: Sim, spec: TelemetrySpec, state: NetworkState,
                 publish: Callable[[Any], None]) -> None:
        self.sim = sim
        self.spec = spec
        self.state = state
        self.publish = publish
        self.rng = sim.rng.stream("network.telemetry")
        self.noise_rng = sim.rng.stream("network.noise.delivery")  # the noise's own delays
        self.active: dict[tuple[str, str, str], AlarmDef] = {}
        self._last_sent: dict[tuple[str, str, str], float] = {}
        self._ids: dict[str, itertools.count[int]] = {}
        self.causes = sim.records.buffer("alarm_causes", ALARM_CAUSES)
        self._noisy: set[tuple[str, str, str]] = set()
        # the raise each alarm was announced with, when it went out and when its clear goes
        # out (inf while active): what the element manager's alarm list shows
        self._announced: dict[tuple[str, str, str], tuple[AlarmNotification, float, float]] = {}
        self.unreachable: frozenset[str] = frozenset()  # alive, but not answering polls
        self._unheard: set[tuple[str, str, str]] = set()  # raises that never reached the EMS
        self._layout()

    def ems_of(self, obj: str) -> str:
        return f"ems-{self.state.topo.elements[obj].vendor}"

    def _layout(self) -> None:
        """Positions of elements and links and the graph nodes of elements, so a picture of
        the alarm conditions looks only at what is down or cut off, in inventory order."""
        topo, state = self.state.topo, self.state
        self._elements = list(topo.elements)
        self._el_pos = {e: i for i, e in enumerate(self._elements)}
        self._link_ids = list(topo.links)
        self._link_pos = {lid: i for i, lid in enumerate(self._link_ids)}
        self._link_a = np.array([self._el_pos[ln.a] for ln in topo.links.values()], dtype=np.int64)
        self._link_b = np.array([self._el_pos[ln.b] for ln in topo.links.values()], dtype=np.int64)
        self._is_cell = np.array([el.type == "cell" for el in topo.elements.values()])
        # a cell's place in the service mask; other elements point past its end
        self._cell_slot = np.array([state.cell_index.get(e, len(state.cell_ids))
                                    for e in self._elements], dtype=np.int64)
        self._node = np.array([state.node_index[e] for e in self._elements], dtype=np.int64)
        self._managers = [f"ems-{v}" for v in sorted({e.vendor for e in topo.elements.values()})]

    def conditions(self) -> dict[tuple[str, str, str], AlarmDef]:
        topo, state = self.state.topo, self.state
        down = state.down_targets()
        pos = self._el_pos
        out: list[AlarmDef] = [heartbeat(e) for e in sorted(
            (e for e in down | self.unreachable if e in pos), key=pos.__getitem__)]
        for f in state.active.values():
            if f.mode == "software_crash" and f.target in down:
                out.append(software_error(f.target))
        out += [mains_failure(e) for e in state.mains_by]
        out += [link_congested(topo.links[lid].a, lid) for lid in sorted(state.congested)]
        for cell, held in state.degraded_by.items():
            if not all(state.active[fid].silent for fid in held):
                out.append(performance_degraded(cell))
        el_down = np.zeros(len(self._elements), dtype=bool)
        el_down[[pos[t] for t in down if t in pos]] = True
        hit = el_down[self._link_a] | el_down[self._link_b]
        hit[[self._link_pos[t] for t in down if t in self._link_pos]] = True
        for i in np.flatnonzero(hit):
            lid = self._link_ids[i]
            link = topo.links[lid]
            out += [loss_of_signal(x, lid) for x in (link.a, link.b) if x not in down]
        reach = state.reach[self._node]
        is_cell = self._is_cell
        served = np.append(state.in_service, True)[self._cell_slot]
        lost = np.where(is_cell, ~served, ~reach) & ~el_down
        for i in np.flatnonzero(lost):
            eid = self._elements[i]
            if is_cell[i]:
                # same probable cause (service lost), truer text when transport is fine
                out.append(no_core_service(eid) if reach[i] else cell_out_of_service(eid))
            else:
                out.append(core_unreachable(eid))
        return {a.key: a for a in out}

    def supervise(self, unreachable: set[str] | frozenset[str]) -> None:
        """The elements that did not answer the element managers' polls, as a wire found.
        The dead ones have their heartbeat failure already (it clears when they are
        repaired); the live ones get one, cleared when they answer again — their element
        manager then reads their alarms afresh."""
        unreachable = frozenset(e for e in unreachable if not self.state.is_down(e))
        if unreachable == self.unreachable:
            return
        back = self.unreachable - unreachable
        self._unheard = {k for k in self._unheard if k[0] not in back}
        self.unreachable = unreachable
        self.update(None)

    def not_heard(self, ems: str, notification_id: int) -> None:
        """A raise notification was lost on its way from the element to its element manager:
        the element manager does not list the alarm (until it reads the element afresh)."""
        for key, (note, _, _) in self._announced.items():
            if note.ems == ems and note.notification_id == notification_id:
                self._unheard.add(key)
                return

    def update(self, cause_fault: int | None) -> None:
        """Diff the alarm conditions against the last picture and notify the changes."""
        now = self.sim.now
        new = self.conditions()
        for key, alarm in new.items():
            if key not in self.active:
                self._raise(alarm, now, cause_fault or self._blame(alarm))
        for key, alarm in self.active.items():
            if key not in new:
                self._clear(alarm, now)
        self.active = new

    def _blame(self, alarm: AlarmDef) -> int:
        """The active fault behind an alarm that appeared without a new fault — e.g. a
        repaired cell that is now alive but still cut off by another fault upstream."""
        st = self.state
        if alarm.probable_cause == "lossOfSignal":
            link = st.topo.links[alarm.resource]
            held = st.down_by.get(link.id) or st.down_by.get(
                link.b if link.a == alarm.obj else link.a, set())
            return min(held, default=0)
        if alarm.probable_cause == "thresholdCrossed":  # a detour, or just demand (0)
            return min((f for held in st.down_by.values() for f in held), default=0)
        if alarm.probable_cause in ("backhaulFailure", "routingAdjacencyLost") or (
                alarm.probable_cause == "heartbeatFailure" and alarm.obj not in st.down_by):
            for fid in sorted({f for held in st.down_by.values() for f in held}):
                if alarm.obj in st.cut_off_by(fid):
                    return fid
            return min((f for held in st.down_by.values() for f in held), default=0)
        for effects in (st.down_by, st.mains_by, st.degraded_by):
            if alarm.obj in effects:
                return min(effects[alarm.obj])
        return 0

    def alarm_lists(self) -> list[ActiveAlarmList]:
        """Every element manager's active alarm list now: the alarms it has announced (sent
        by now) and not cleared. An alarm not yet past its detection delay is not listed."""
        now = self.sim.now
        lists: dict[str, list[AlarmNotification]] = {ems: [] for ems in self._managers}
        for key, (note, sent, cleared) in list(self._announced.items()):
            if cleared <= now:
                del self._announced[key]
                self._unheard.discard(key)
            elif sent <= now and key not in self._unheard:
                lists.setdefault(note.ems, []).append(note)
        return [ActiveAlarmList(ems, now, tuple(sorted(notes, key=lambda n: n.notification_id)))
                for ems, notes in lists.items()]

    def _delay(self, rng: np.random.Generator | None = None) -> float:
        d = self.spec.detection_delay
        return d.mean_s if d.dist == "deterministic" else float(
            (rng or self.rng).exponential(d.mean_s))

    def _next_id(self, ems: str) -> int:
        return next(self._ids.setdefault(ems, itertools.count(1)))

    def noise(self) -> Any:
        """Transient alarms that clear by themselves: drawn up front from their own stream,
        so they never disturb the other draws."""
        rate = self.spec.transient_per_ne_day
        if rate <= 0:
            return
        rng = self.sim.rng.stream("network.noise")
        objects = list(self.state.topo.elements)
        n = rng.poisson(rate * len(objects) * self.sim.horizon / 86_400)
        at = np.sort(rng.uniform(0.0, self.sim.horizon, n))
        who = rng.integers(0, len(objects), n)
        kind = rng.integers(0, len(TRANSIENTS), n)
        lasts = rng.exponential(self.spec.transient_duration, n)
        for t, w, k, d in zip(at, who, kind, lasts, strict=True):
            yield self.sim.env.timeout(float(t) - self.sim.now)
            alarm = AlarmDef(objects[int(w)], "", *TRANSIENTS[int(k)])
            if alarm.key in self._noisy:
                continue
            self._noisy.add(alarm.key)
            self._raise(alarm, self.sim.now, None, noise=True)
            self.sim.env.process(self._noise_clear(alarm, float(d)))

    def _noise_clear(self, alarm: AlarmDef, after: float) -> Any:
        yield self.sim.env.timeout(after)
        self._noisy.discard(alarm.key)
        self._clear(alarm, self.sim.now, noise=True)

    def _raise(self, alarm: AlarmDef, t: float, cause_fault: int | None,
               noise: bool = False) -> None:
        ems = self.ems_of(alarm.obj)
        # noise draws its delivery from a stream of its own: the faults' alarms keep theirs
        rng = self.noise_rng if noise else self.rng
        send_at = max(t + self._delay(rng), self._last_sent.get(alarm.key, -1.0) + 1.0)
        self._last_sent[alarm.key] = send_at
        event_time = send_at if alarm.probable_cause == "heartbeatFailure" else t
        copies = 2 if rng.random() < self.spec.duplicate_rate else 1
        for c in range(copies):
            nid = self._next_id(ems)
            msg = AlarmNotification(ems, nid, event_time, alarm.obj, alarm.resource,
                                    alarm.alarm_type, alarm.probable_cause,
                                    alarm.specific_problem, alarm.severity)
            self.causes.append(ems=ems, notification_id=nid, fault_id=cause_fault or 0,
                               alarmed_object=alarm.obj, probable_cause=alarm.probable_cause,
                               noise=noise)
            if c == 0:
                self._announced[alarm.key] = (msg, send_at, np.inf)
                self._unheard.discard(alarm.key)
            self._send(msg, send_at + c * float(rng.uniform(1.0, 10.0)), noise)

    def _clear(self, alarm: AlarmDef, t: float, noise: bool = False) -> None:
        ems = self.ems_of(alarm.obj)
        send_at = max(t + self._delay(self.noise_rng if noise else None),
                      self._last_sent.get(alarm.key, t) + 10.0)
        self._last_sent[alarm.key] = send_at
        if alarm.key in self._announced:
            raised, sent, _ = self._announced[alarm.key]
            self._announced[alarm.key] = (raised, sent, send_at)
        msg = AlarmNotification(ems, self._next_id(ems), t, alarm.obj, alarm.resource,
                                alarm.alarm_type, alarm.probable_cause,
                                alarm.specific_problem, "cleared")
        self._send(msg, send_at, noise)

    def _send(self, msg: AlarmNotification, at: float, noise: bool = False) -> None:
        """Deliver ``msg`` at ``at`` as its vendor's EMS puts it on the wire (an EmsEvent
        in the vendor's dialect, see :mod:`twin.network.dialects`)."""
        from twin.network.dialects import EmsEncoders

        if not hasattr(self, "encoders"):
            self.encoders = EmsEncoders(self.sim, self.spec, self.state.topo)
        # the element reports for itself while it lives; the element manager speaks for a
        # dead element and for its own supervision (heartbeat)
        obj = msg.alarmed_object
        own = msg.probable_cause == "heartbeatFailure" or self.state.is_down(obj)
        event = self.encoders.encode(msg, at, origin="" if own else obj, noise=noise)

        def deliver() -> Any:
            yield self.sim.env.timeout(max(0.0, at - self.sim.now))
            self.publish(event)
        self.sim.env.process(deliver())
