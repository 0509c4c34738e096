"""One emulated run: build the network, lend the wiring its southbound route, tear down.

:class:`Emulation` is a context manager around a run. Entering checks the machine (and
fails with :class:`~twin.emulation.system.EmulationUnavailable` before anything is built);
the wiring then calls :meth:`Emulation.attach`, which plans and builds the Mininet network
for the run's topology and routes the southbound messages through it. Leaving — at the end
of the run, on an exception, on Ctrl-C or on SIGTERM (turned into ``SystemExit(143)`` while
the emulation runs) — closes every socket and kills every node shell, with SIGINT and
SIGTERM held back until that is done.
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from twin.emulation.fabric import Fabric
from twin.emulation.plan import Plan, plan
from twin.emulation.southbound import Southbound
from twin.emulation.system import EmulationUnavailable, unavailable
from twin.kernel import Sim
from twin.messages import AlarmListRequest, EmsEvent
from twin.network import NetworkTwin
from twin.oss import OperationsCenter
from twin.scenario.schema import Scenario
from twin.scenario.schema.network import _default_capacity

_HELD = {signal.SIGINT, signal.SIGTERM}


class Emulation:
    def __init__(self, scenario: Scenario, out: Path | None = None) -> None:
        problem = unavailable()
        if problem is not None:
            raise EmulationUnavailable(problem)
        self.scenario = scenario
        self.spec = scenario.emulation
        self.out = out  # the run directory's wire/ folder
        self.plan: Plan | None = None
        self.fabric: Fabric | None = None
        self.route: Southbound | None = None
        self._previous: Any = None

    def __enter__(self) -> Emulation:
        self._previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, self._on_term)
        return self

    def _on_term(self, signum: int, frame: FrameType | None) -> None:
        if callable(self._previous):
            self._previous(signum, frame)
        raise SystemExit(128 + signum)

    def attach(self, sim: Sim, network: NetworkTwin, oss: OperationsCenter) -> None:
        """Build the network for ``network``'s topology and route the southbound messages
        (EMS events, alarm-list requests) through it."""
        capacity = {**_default_capacity(), **self.scenario.network.link_capacity_mbps}
        self.plan = plan(network.topo, self.spec, {str(k): v for k, v in capacity.items()})
        self.fabric = Fabric(self.plan, self.spec)
        self.fabric.start()
        pcap = self.out / "southbound.pcap" if self.out and self.spec.capture else None
        self.route = Southbound(sim, network, oss, self.plan, self.fabric, self.spec, pcap)
        sim.bus.subscribe(EmsEvent, self.route.on_ems_event)
        sim.bus.subscribe(AlarmListRequest, self.route.on_alarm_list_request)
        network.watchers.append(self.route.on_change)
        sim.env.process(self.route.heartbeats())
        self.route.on_change()  # the first batch: follow the start state, a first poll

    def finish(self) -> None:
        if self.route is not None:
            self.route.finish()

    def summary(self) -> dict[str, Any]:
        """The ``wire`` section of ``summary.json`` (after :meth:`close`, so the capture is
        complete)."""
        assert self.route is not None and self.plan is not None and self.fabric is not None
        p = self.plan
        return self.route.log.summary({
            "management": p.management, "reduction": p.reduction, "nodes": len(p.nodes),
            "links": len(p.links), "links_folded": len(p.folded_links),
            "setup_s": round(self.fabric.setup_s, 3), "pcap_frames": self.route.frames,
        })

    def close(self) -> None:
        """Close the sockets and capture, kill the node shells; signals wait meanwhile.
        Safe to call again."""
        signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
        try:
            if self.route is not None:
                self.route.close()
            if self.fabric is not None:
                self.fabric.stop()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.close()
        finally:
            signal.signal(signal.SIGTERM, self._previous)
