"""The fault schedule: random failures from MTBF plus the scenario's scripted faults.

The whole schedule is drawn before the run starts, independent of anything the OSS does —
so a change of repair policy or crew count leaves it identical (common random numbers).
Each target draws from its own stream (``faults.<target>``), so adding a link or an element
to the design does not reshuffle the failures of the others. Failures form a Poisson process
per element (rate 1/MTBF); one that strikes an element already down is absorbed by the
repair already due, which keeps up-times exponential and availability at MTBF/(MTBF+MTTR).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.kernel import RandomStreams
from twin.network.topology import Topology
from twin.scenario.schema import FaultSpec


@dataclass(frozen=True)
class Fault:
    id: int
    at: float
    target: str
    target_kind: str  # element | link
    mode: str
    source: str  # random | scripted
    duration: float | None  # self-clears after this long; None: until repaired


def fault_schedule(spec: FaultSpec, topo: Topology, horizon: float,
                   streams: RandomStreams) -> list[Fault]:
    drawn: list[tuple[float, str, str, str, str, float | None]] = []
    for eid, el in topo.elements.items():
        mtbf = spec.random.mtbf_h.get(el.type)  # type: ignore[call-overload]
        if mtbf is None:
            continue
        for t in _poisson_times(streams.fresh(f"faults.{eid}"), horizon, mtbf * 3600.0):
            drawn.append((t, eid, "element", "element_failure", "random", None))
    if spec.random.link_mtbf_h is not None:
        for lid in topo.links:
            rng = streams.fresh(f"faults.{lid}")
            for t in _poisson_times(rng, horizon, spec.random.link_mtbf_h * 3600.0):
                drawn.append((t, lid, "link", "link_failure", "random", None))
    for sf in spec.scripted:
        kind = "element" if sf.mode == "element_failure" else "link"
        drawn.append((sf.at, sf.target, kind, sf.mode, "scripted", sf.duration))
    drawn.sort(key=lambda d: (d[0], d[1]))
    return [Fault(i + 1, *d) for i, d in enumerate(drawn)]


def _poisson_times(rng: np.random.Generator, horizon: float, mean_s: float) -> list[float]:
    n = rng.poisson(horizon / mean_s)
    return sorted(float(t) for t in rng.uniform(0.0, horizon, size=n))
