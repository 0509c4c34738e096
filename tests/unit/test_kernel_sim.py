"""Sim: runs to the horizon, reports progress, then finishers in order, then closes tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from twin.kernel import Sim


def test_run_to_horizon_with_progress_and_finishers(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(horizon=1000.0)
    order: list[str] = []
    buf = sim.records.buffer("t", pa.schema([("t", pa.float64())]))

    def clock() -> Any:
        while True:
            yield sim.env.timeout(100)
            buf.append(t=sim.now)

    sim.env.process(clock())
    sim.at_end(lambda: order.append(f"first at {sim.now:g}"))
    sim.at_end(lambda: (order.append("second"), buf.append(t=-1.0)))
    progress: list[float] = []
    sim.run(progress=progress.append, steps=4)
    assert sim.now == 1000.0
    assert progress == [0.25, 0.5, 0.75, 1.0]
    assert order == ["first at 1000", "second"]
    # finishers may still write; the tables are closed after them
    rows = pq.read_table(buf.path).column("t").to_pylist()
    assert rows[-1] == -1.0
    assert rows[:9] == [100.0 * k for k in range(1, 10)]


def test_create_wires_calendar_rng_and_bus(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(horizon=50.0, seed=17)
    assert sim.rng.seed == 17
    assert sim.calendar.at(0).isoformat() == "2026-01-05T00:00:00+00:00"
    assert sim.horizon == 50.0
    assert sim.bus.routes() == {}
