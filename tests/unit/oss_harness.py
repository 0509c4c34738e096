"""A hand-driven OSS for unit tests: an OperationsCenter on a bare Sim, fed alarms by hand."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from twin.kernel import Sim
from twin.messages import AlarmNotification
from twin.network import build_topology
from twin.oss import OperationsCenter
from twin.scenario.schema import NetworkSpec, OssSpec

CAUSES = {  # probable cause → (alarm type, severity)
    "heartbeatFailure": ("communicationsAlarm", "critical"),
    "lossOfSignal": ("communicationsAlarm", "major"),
    "backhaulFailure": ("qualityOfServiceAlarm", "critical"),
    "routingAdjacencyLost": ("communicationsAlarm", "major"),
    "softwareError": ("processingErrorAlarm", "major"),
    "powerProblem": ("environmentalAlarm", "major"),
    "performanceDegraded": ("qualityOfServiceAlarm", "minor"),
    "transmissionError": ("communicationsAlarm", "minor"),
}


class Harness:
    """An OperationsCenter on a bare Sim, fed alarms by hand; collects what it publishes."""

    def __init__(self, sim: Sim, spec: OssSpec, transport: str = "tree",
                 inventory: bool = True) -> None:
        self.sim = sim
        self.published: list[object] = []
        self.log: list[tuple[float, object]] = []  # (publish time, message)
        self.oc = OperationsCenter(sim, spec, self._publish)
        self.topo = build_topology(NetworkSpec.model_validate({
            "preset": "small", "sites": 6, "sites_per_chain": 3, "cells_per_site": 2,
            "transport": transport}))
        if inventory:
            self.oc.on_inventory(self.topo.inventory())
        self._ids = itertools.count(1)

    def _publish(self, msg: object) -> None:
        self.published.append(msg)
        self.log.append((self.sim.now, msg))

    def note(self, obj: str, cause: str, resource: str = "", t: float = 0.0,
             cleared: bool = False) -> AlarmNotification:
        alarm_type, severity = CAUSES[cause]
        return AlarmNotification("ems-test", next(self._ids), t, obj, resource, alarm_type,
                                 cause, f"{cause} on {obj}", "cleared" if cleared else severity)

    def send(self, at: float, *alarms: tuple[Any, ...], cleared: bool = False) -> None:
        """Deliver alarms (obj, cause[, resource]) at simulated time ``at``."""
        self.deliver(at, *(self.note(*a, t=at, cleared=cleared) for a in alarms))

    def deliver(self, at: float, *notes: AlarmNotification) -> None:
        """Deliver ready-made notifications at simulated time ``at``."""
        def go() -> Any:
            yield self.sim.env.timeout(at - self.sim.now)
            for note in notes:
                self.oc.on_alarm(note)
        self.sim.env.process(go())

    def run(self, until: float) -> None:
        self.sim.env.run(until=until)

    @property
    def incidents(self) -> list[Any]:
        return self.oc.correlator.incidents

    def of_type(self, kind: type) -> list[Any]:
        return [m for m in self.published if isinstance(m, kind)]


def harness_factory(make_sim: Callable[..., Sim]) -> Callable[..., Harness]:
    """``make(transport="tree", inventory=True, **oss_fields)`` → a fresh Harness."""
    def make(transport: str = "tree", inventory: bool = True, **oss: Any) -> Harness:
        spec = OssSpec.model_validate({
            "correlation_window_s": 60,
            "noc": {"operators": 0},  # acknowledged at once unless a test asks for operators
            "crews": {"count": 2, "travel_mean_min": 0, "repair_mean_min": 30,
                      "repair_dist": "deterministic"},
            **oss})
        return Harness(make_sim(horizon=86_400.0), spec, transport, inventory)
    return make


FIBRE_CUT = [  # site1-site2 cut on a tree: LOS on both ends, everything behind it cut off
    ("site1", "lossOfSignal", "site1-site2"),
    ("site2", "lossOfSignal", "site1-site2"),
    ("site2", "routingAdjacencyLost"),
    ("site3", "routingAdjacencyLost"),
    ("site2-c1", "backhaulFailure"),
    ("site2-c2", "backhaulFailure"),
    ("site3-c1", "backhaulFailure"),
    ("site3-c2", "backhaulFailure"),
]
SITE2_DEAD = [  # site2 dead: heartbeat, LOS on its live neighbours, everything behind cut off
    ("site2", "heartbeatFailure"),
    ("site1", "lossOfSignal", "site1-site2"),
    ("site3", "lossOfSignal", "site2-site3"),
    ("site2-c1", "lossOfSignal", "site2-c1-up"),
    ("site2-c2", "lossOfSignal", "site2-c2-up"),
    ("site3", "routingAdjacencyLost"),
    ("site2-c1", "backhaulFailure"),
    ("site2-c2", "backhaulFailure"),
    ("site3-c1", "backhaulFailure"),
    ("site3-c2", "backhaulFailure"),
]
SITE5_DEAD = [
    ("site5", "heartbeatFailure"),
    ("site4", "lossOfSignal", "site4-site5"),
    ("site6", "routingAdjacencyLost"),
    ("site5-c1", "backhaulFailure"),
    ("site6-c2", "backhaulFailure"),
]
CUT_CELLS = {"site2-c1", "site2-c2", "site3-c1", "site3-c2"}
