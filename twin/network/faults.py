"""The fault schedule: random failures from MTBF, storms and the scenario's scripted faults.

The whole schedule is drawn before the run starts, independent of anything the OSS does —
so a change of repair policy or crew count leaves it identical (common random numbers).
Each target draws from its own stream (``faults.<target>``), so adding a link or an element
to the design does not reshuffle the failures of the others.

Failures of a target form a renewal process in calendar time: exponential gaps (a Poisson
process, rate 1/MTBF) or Weibull gaps with the same mean. A failure that strikes an element
already down is absorbed by the repair already due; with exponential gaps that keeps
up-times exponential and availability at MTBF/(MTBF+MTTR). (For Weibull the gaps run in
calendar, not operating, time — the price of a schedule the OSS cannot perturb.) A storm
adds failures at ``factor - 1`` times the normal rate to the elements of its region while
it lasts. Random element failures are software crashes (share ``crash_share``, fixed by a
remote restart) or hardware failures (need a truck roll).

Fibre is cut by diggers along its route, so cuts scale with length: with
``cuts_per_1000km_year`` each fibre cable (a link, or the links sharing a ``cable``) is cut at
that rate times its length (its longest link's) over 1,000 km, from a stream of its own
(``faults.cut.<cable>``) — a 2,000 km long-haul link is cut a hundred times as often as a
20 km metro one. These cuts come on top of ``link_mtbf_h`` (port and equipment failures,
whatever the length). Links of unknown length, and microwave hops, are not cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin.kernel import RandomStreams
from twin.network.topology import Topology
from twin.scenario.schema import FaultSpec, ScriptedFault

LINK_MODES = ("link_failure", "fibre_cut")
HOURS_PER_YEAR = 8766.0  # 365.25 days


def cable_lengths(topo: Topology) -> dict[str, float]:
    """Each fibre cable's route length in km: its longest link's (links of unknown length and
    microwave hops left out)."""
    out: dict[str, float] = {}
    for cable, lids in topo.cables.items():
        kms = [ln.length_km for ln in (topo.links[x] for x in lids)
               if ln.medium == "fibre" and ln.length_km is not None]
        if kms:
            out[cable] = max(kms)
    return out


@dataclass(frozen=True)
class Fault:
    id: int
    at: float
    target: str
    target_kind: str  # element | link | cable | power_domain
    mode: str
    source: str  # random | storm | scripted
    duration: float | None  # self-clears after this long; None: until repaired
    silent: bool = False
    capacity_factor: float = 1.0
    drop_rate: float = 0.0
    flap_down: float = 120.0
    flap_up: float = 600.0
    repairable: bool = True  # False: ends only after its fixed repair time
    window: float | None = None  # planned maintenance: the announced window's length
    notice: float = 0.0  # planned maintenance: announced this long before ``at``


def target_kind(topo: Topology, sf: ScriptedFault) -> str | None:
    """What a scripted fault's target names, or None if it names nothing fit for its mode."""
    if sf.mode == "power_outage":
        return "power_domain" if sf.target in topo.power_domains else None
    if sf.mode in LINK_MODES:
        if sf.target in topo.links:
            return "link"
        if sf.mode == "fibre_cut" and sf.target in topo.cables:
            return "cable"
        return None
    return "element" if sf.target in topo.elements else None


def _gaps(rng: np.random.Generator, horizon: float, mean_s: float,
          spec: FaultSpec) -> list[float]:
    """Failure instants in [0, horizon) of a renewal process with mean gap ``mean_s``."""
    if spec.random.distribution == "exponential":
        n = rng.poisson(horizon / mean_s)
        return sorted(float(t) for t in rng.uniform(0.0, horizon, size=n))
    k = spec.random.weibull_shape
    scale = mean_s / math.gamma(1.0 + 1.0 / k)
    out: list[float] = []
    t = scale * float(rng.weibull(k))
    while t < horizon:
        out.append(t)
        t += scale * float(rng.weibull(k))
    return out


def fault_schedule(spec: FaultSpec, topo: Topology, horizon: float,
                   streams: RandomStreams) -> list[Fault]:
    drawn: list[dict[str, object]] = []
    rep = spec.random.repair

    def add_random(t: float, target: str, kind: str, mode: str, source: str,
                   rng: np.random.Generator) -> None:
        if kind == "element" and mode == "element_failure" and rng.random() < (
                spec.random.crash_share):
            mode = "software_crash"
        duration = None
        if rep.by == "fixed":
            mean = rep.mttr_h * 3600.0
            duration = mean if rep.dist == "deterministic" else float(rng.exponential(mean))
        drawn.append(dict(at=t, target=target, target_kind=kind, mode=mode, source=source,
                          duration=duration, repairable=rep.by == "oss"))

    for eid, el in topo.elements.items():
        mtbf = spec.random.mtbf_h.get(el.type)  # type: ignore[call-overload]
        if mtbf is None:
            continue
        mtbf_s = mtbf * 3600.0
        rng = streams.fresh(f"faults.{eid}")
        for t in _gaps(rng, horizon, mtbf_s, spec):
            add_random(t, eid, "element", "element_failure", "random", rng)
        for i, storm in enumerate(spec.storms):
            if el.region != storm.region:
                continue
            srng = streams.fresh(f"faults.storm{i}.{eid}")
            end = min(horizon, storm.at + storm.duration)
            n = srng.poisson((end - storm.at) * (storm.factor - 1.0) / mtbf_s)
            for t in sorted(srng.uniform(storm.at, end, size=n)):
                add_random(float(t), eid, "element", "element_failure", "storm", srng)
    if spec.random.link_mtbf_h is not None:
        for lid in topo.links:
            rng = streams.fresh(f"faults.{lid}")
            for t in _gaps(rng, horizon, spec.random.link_mtbf_h * 3600.0, spec):
                add_random(t, lid, "link", "link_failure", "random", rng)
    cuts = spec.random.cuts_per_1000km_year
    if cuts:
        for cable, km in cable_lengths(topo).items():
            if km <= 0:
                continue
            rng = streams.fresh(f"faults.cut.{cable}")
            mean_s = 1000.0 / (cuts * km) * HOURS_PER_YEAR * 3600.0
            kind = "link" if topo.cables[cable] == [cable] else "cable"
            for t in _gaps(rng, horizon, mean_s, spec):
                add_random(t, cable, kind, "fibre_cut", "random", rng)
    for sf in spec.scripted:
        planned = sf.mode == "planned_maintenance"
        drawn.append(dict(at=sf.at, target=sf.target, target_kind=target_kind(topo, sf),
                          mode=sf.mode, source="scripted", duration=sf.duration,
                          silent=sf.silent, capacity_factor=sf.capacity_factor,
                          drop_rate=sf.drop_rate, flap_down=sf.flap_down, flap_up=sf.flap_up,
                          window=(sf.window or sf.duration) if planned else None,
                          notice=(spec.maintenance_notice if sf.notice is None else sf.notice)
                          if planned else 0.0))
    drawn.sort(key=lambda d: (d["at"], d["target"]))  # type: ignore[arg-type, return-value]
    return [Fault(i + 1, **d) for i, d in enumerate(drawn)]  # type: ignore[arg-type]
