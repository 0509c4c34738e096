"""The live twin: a scenario run in paced real time in its own thread, with its state, hub,
operator desk and forwarding, which the HTTP API (:mod:`twin.live.api`) serves.

``LiveTwin.start`` runs :func:`twin.simulate` with the :class:`~twin.live.pacing.Pacer` as
its driver, so the run directory is the one ``twin run`` writes (plus the
``operator_actions`` table when an outside tool acted). Everything the API reads is built
between two steps of the simulation.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any

from twin.api import simulate
from twin.live.bss import LiveBss
from twin.live.forward import Forwarder
from twin.live.hub import Hub
from twin.live.operator import Operator
from twin.live.pacing import Pacer
from twin.live.state import LiveState
from twin.oss.exports import instant
from twin.scenario import Scenario
from twin.store import Run
from twin.wiring import Assembly


class LiveTwin:
    def __init__(self, scenario: Scenario, out: Path, speed: float = 60.0,
                 base_url: str = "http://127.0.0.1:8642/tmf-api",
                 trap_to: tuple[str, int] | None = None,
                 syslog_to: tuple[str, int] | None = None,
                 expose_truth: bool = False, paused: bool = False,
                 chunk_rows: int | None = None, group_rows: int | None = None) -> None:
        self.scenario = scenario
        self.out = out
        self.base_url = base_url
        self.expose_truth = expose_truth
        self.pacer = Pacer(speed, paused=paused)
        self.hub = Hub(scenario.start)
        self.forwarder = (Forwarder(trap_to, syslog_to)
                          if trap_to is not None or syslog_to is not None else None)
        self.asm: Assembly | None = None
        self.state: LiveState | None = None
        self.operator: Operator | None = None
        self.bss: LiveBss | None = None
        # the BSS tables' flushed chunks, readable while the run writes them (removed at
        # close); chunk_rows/group_rows shrink the chunks and row groups (for tests)
        self._spill: Path | None = None
        self._chunk_rows, self._group_rows = chunk_rows, group_rows
        self.run: Run | None = None
        self.error: str | None = None
        self.done = threading.Event()  # the run directory is written (or the run failed)
        self._thread = threading.Thread(target=self._main, name="twin-sim", daemon=True)

    @property
    def lock(self) -> threading.RLock:
        return self.pacer.lock

    def start(self) -> None:
        self._thread.start()
        self.pacer.started.wait(timeout=600)

    def _drive(self, asm: Assembly) -> None:
        self.asm = asm
        self.state = LiveState(asm, self.base_url, self.hub.publish)
        self.operator = Operator(asm, self.pacer.lock)
        if self._chunk_rows is not None:
            for buf in asm.sim.records.buffers.values():
                buf.chunk_rows = self._chunk_rows
        self._spill = Path(tempfile.mkdtemp(prefix="twin-live-"))
        self.bss = LiveBss(asm, self.base_url, self._spill, self.pacer.lock, self._group_rows)
        if self.forwarder is not None:
            asm.sim.bus.tap(self.forwarder.tap)

        def after_step() -> None:
            assert self.state is not None and self.operator is not None
            if self.pacer.state == "finished":
                self.operator.ended = True
            self.state.refresh()

        self.pacer.after_step.append(after_step)
        self.pacer.drive(asm)

    def _main(self) -> None:
        try:
            self.run = simulate(self.scenario, out=self.out, report=False, drive=self._drive)
        except BaseException as e:  # reported by the status route and the CLI
            self.error = f"{type(e).__name__}: {e}"
            self.trace = traceback.format_exc()
            self.pacer.state = "failed"
        finally:
            self.pacer.started.set()
            self.done.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def close(self) -> None:
        self.pacer.stop()
        self._thread.join(timeout=120)
        self.hub.close()
        if self.forwarder is not None:
            self.forwarder.close()
        if self.bss is not None:
            self.bss.close()
        if self._spill is not None:
            shutil.rmtree(self._spill, ignore_errors=True)

    def status(self) -> dict[str, Any]:
        p = self.pacer
        now = p.now
        out: dict[str, Any] = {
            "state": p.state if not (p.state == "finished" and not self.done.is_set())
            else "writing",
            "simTime": now,
            "simInstant": instant(self.scenario.start, now),
            "horizon": float(self.scenario.duration),
            "speed": p.speed,
            "steps": p.steps,
            "maxLagS": round(p.max_lag_s, 4),
            "scenario": self.scenario.name,
            "seed": self.scenario.seed,
            "hub": {"subscribers": len(self.hub.subscribers()), **self.hub.totals},
            "operatorActions": self.operator.count if self.operator is not None else 0,
            "events": self.state.events_total if self.state is not None else 0,
        }
        if self.forwarder is not None:
            out["forwarded"] = dict(self.forwarder.counts)
        if self.run is not None:
            out["runDir"] = str(self.run.path)
        if self.error is not None:
            out["error"] = self.error
        return out
