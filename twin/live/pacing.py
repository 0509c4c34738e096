"""Paced real time: the simulation clock driven by the wall clock, ``speed`` simulated
seconds per real second.

Like a film projector with a speed knob: the simulation advances in small steps (``tick_s``
of wall time each), each one only once the wall clock has caught up with it, so an outside
tool watching sees the network age at the rate it asked for. Between steps the twin's state
is still and consistent — the API reads it and applies an operator's actions under the same
lock the steps hold. The steps only cut the run into slices: simpy processes the same events
in the same order, so an undisturbed paced run gives the tables ``twin run`` gives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from twin.wiring import Assembly

MIN_SPEED = 0.01
MAX_SPEED = 1e7


class Pacer:
    """Drives an :class:`Assembly` to its end in paced real time (``drive`` is handed to
    :func:`twin.api.simulate`). ``pause``/``resume``/``stop`` may be called from any thread;
    ``after_step`` hooks run in the simulation thread, under ``lock``, after every step."""

    def __init__(self, speed: float, tick_s: float = 0.05, paused: bool = False) -> None:
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ValueError(f"speed: must be between {MIN_SPEED} and {MAX_SPEED:g}")
        self.speed = speed
        self.tick_s = tick_s
        self.lock = threading.RLock()
        self.after_step: list[Callable[[], None]] = []
        self.state = "starting"  # running | paused | stopping | finished
        self.asm: Assembly | None = None
        self.steps = 0
        self.max_lag_s = 0.0  # the furthest the simulation fell behind its pace
        self.pause_at: float | None = None  # pause when the clock reaches this instant
        self._resume = threading.Event()
        if not paused:
            self._resume.set()
        self._stop = threading.Event()
        self.started = threading.Event()  # the assembly is ready (state can be read)
        self.finished = threading.Event()  # the run's tables are written

    @property
    def now(self) -> float:
        return self.asm.sim.now if self.asm is not None else 0.0

    def pause(self, at: float | None = None) -> None:
        """Pause now, or (``at``) once the simulation clock reaches that instant."""
        if at is not None and at > self.now:
            self.pause_at = at
            return
        with self.lock:  # a step under way ends first; none starts after this returns
            if self.state == "running":
                self.state = "paused"
                self._resume.clear()

    def resume(self) -> None:
        if self.state == "paused":
            self.state = "running"
            self._resume.set()

    def stop(self) -> None:
        """End the run now: the twin writes its tables as of the current instant."""
        if self.state in ("starting", "running", "paused"):
            self.state = "stopping"
        self._stop.set()
        self._resume.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait_stop(self) -> None:
        self._stop.wait()

    def _hooks(self) -> None:
        for hook in self.after_step:
            hook()

    def drive(self, asm: Assembly) -> None:
        sim = asm.sim
        self.asm = asm
        if self.state == "starting":
            self.state = "running" if self._resume.is_set() else "paused"
        self.started.set()
        wall0, t0 = time.monotonic(), sim.now
        while sim.now < sim.horizon and not self._stop.is_set():
            if not self._resume.is_set():
                paused = time.monotonic()
                self._resume.wait()
                wall0 += time.monotonic() - paused  # the pause does not count
                continue
            target = min(sim.horizon, sim.now + self.speed * self.tick_s)
            if self.pause_at is not None:
                target = min(target, max(self.pause_at, sim.now))
            due = wall0 + (target - t0) / self.speed
            if self._stop.wait(max(0.0, due - time.monotonic())):
                break
            with self.lock:
                if not self._resume.is_set():  # paused while this step waited for its time
                    continue
                if target > sim.now:
                    sim.env.run(until=target)
                self.steps += 1
                self._hooks()
                if self.pause_at is not None and sim.now >= self.pause_at:
                    self.pause_at = None
                    self.pause()
            self.max_lag_s = max(self.max_lag_s, time.monotonic() - due)
        with self.lock:
            if sim.now < sim.horizon:  # stopped early: the run ends here
                sim.horizon = sim.now
            sim.finish()
            self.state = "finished"
            self._hooks()
