"""The simulation environment every component receives.

``Sim`` bundles the simpy environment (the clock and event queue), the calendar, the named
random streams, the message bus and the record store. Like a lab bench: every instrument a
component needs is on it, and nothing is fetched from a global.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import simpy

from twin.kernel.bus import MessageBus
from twin.kernel.calendar import Calendar
from twin.kernel.records import RecordStore
from twin.kernel.rng import RandomStreams


@dataclass
class Sim:
    env: simpy.Environment
    calendar: Calendar
    rng: RandomStreams
    bus: MessageBus
    records: RecordStore
    horizon: float
    _finishers: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def create(cls, start: datetime, horizon: float, seed: int, tables_dir: Path,
               chunk_rows: int = 250_000) -> Sim:
        env = simpy.Environment()
        return cls(env=env, calendar=Calendar(start), rng=RandomStreams(seed),
                   bus=MessageBus(env), records=RecordStore(tables_dir, chunk_rows),
                   horizon=float(horizon))

    @property
    def now(self) -> float:
        return float(self.env.now)

    def at_end(self, finisher: Callable[[], None]) -> None:
        """Register work to run once the horizon is reached (in registration order)."""
        self._finishers.append(finisher)

    def run(self, progress: Callable[[float], None] | None = None, steps: int = 100) -> None:
        """Run to the horizon, then the end-of-run finishers, then close all tables."""
        for i in range(1, steps + 1):
            self.env.run(until=self.horizon * i / steps)
            if progress is not None:
                progress(self.now / self.horizon)
        self.finish()

    def finish(self) -> None:
        """The end of the run: the finishers, then close all tables (after the clock reached
        the horizon — or a live twin stopped early, which moves the horizon to now)."""
        for finish in self._finishers:
            finish()
        self.records.close()
