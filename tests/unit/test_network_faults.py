"""The fault schedule: MTBF draws from the faults stream plus scripted faults."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pytest

from twin.kernel import RandomStreams
from twin.network import build_topology
from twin.network.faults import _gaps, fault_schedule, target_kind
from twin.network.topology import Topology
from twin.scenario.schema import FaultSpec, NetworkSpec

HORIZON = 30 * 86_400.0


def topo() -> Topology:
    return build_topology(NetworkSpec.model_validate({
        "preset": "small", "sites": 6, "sites_per_chain": 3, "cells_per_site": 2}))


def spec(**kw: object) -> FaultSpec:
    data: dict[str, object] = {
        "random": {"mtbf_h": {"cell": 500, "site_router": 800}, "link_mtbf_h": 2000},
        "scripted": [
            {"at": "1d10h", "target": "site1-site2", "mode": "fibre_cut"},
            {"at": "3d", "target": "agg2", "mode": "element_failure", "duration": "2h"},
        ],
    }
    data.update(kw)
    return FaultSpec.model_validate(data)


def rng(seed: int) -> RandomStreams:
    return RandomStreams(seed)


def test_same_seed_same_schedule() -> None:
    a = fault_schedule(spec(), topo(), HORIZON, rng(1))
    b = fault_schedule(spec(), topo(), HORIZON, rng(1))
    assert a == b
    assert len(a) > 5  # the random part is not empty at these MTBFs


def test_different_seed_different_schedule() -> None:
    a = fault_schedule(spec(), topo(), HORIZON, rng(1))
    b = fault_schedule(spec(), topo(), HORIZON, rng(2))
    assert [(f.at, f.target) for f in a] != [(f.at, f.target) for f in b]


def test_scripted_faults_are_included() -> None:
    sched = fault_schedule(spec(), topo(), HORIZON, rng(1))
    script = [f for f in sched if f.source == "scripted"]
    assert [(f.at, f.target, f.target_kind, f.mode, f.duration) for f in script] == [
        (122_400.0, "site1-site2", "link", "fibre_cut", None),
        (259_200.0, "agg2", "element", "element_failure", 7_200.0),
    ]


def test_scripted_only_schedule_has_no_random_faults() -> None:
    sched = fault_schedule(spec(random={}), topo(), HORIZON, rng(1))
    assert [f.source for f in sched] == ["scripted", "scripted"]
    assert [f.id for f in sched] == [1, 2]


def test_schedule_is_sorted_with_sequential_ids_inside_the_horizon() -> None:
    sched = fault_schedule(spec(), topo(), HORIZON, rng(3))
    assert [f.id for f in sched] == list(range(1, len(sched) + 1))
    times = [f.at for f in sched]
    assert times == sorted(times)
    assert all(0 <= t < HORIZON for t in times)


def test_random_faults_strike_only_the_types_given_an_mtbf() -> None:
    t = topo()
    sched = fault_schedule(spec(scripted=[]), t, HORIZON, rng(4))
    kinds = Counter(
        t.elements[f.target].type if f.target_kind == "element" else "link" for f in sched)
    assert set(kinds) <= {"cell", "site_router", "link"}
    assert kinds["cell"] > 0
    for f in sched:
        assert f.source == "random"
        assert f.mode in (("element_failure", "software_crash") if f.target_kind == "element"
                          else ("link_failure",))
        assert f.duration is None
    modes = Counter(f.mode for f in sched if f.target_kind == "element")
    assert modes["software_crash"] > 0 and modes["element_failure"] > modes["software_crash"]


def test_failure_count_follows_the_mtbf() -> None:
    """12 cells × 720 h / 500 h MTBF ≈ 17.3 expected; the mean over seeds is close."""
    t = topo()
    only_cells = spec(random={"mtbf_h": {"cell": 500}}, scripted=[])
    counts = [len(fault_schedule(only_cells, t, HORIZON, rng(s))) for s in range(200)]
    assert abs(np.mean(counts) - 12 * 720 / 500) < 1.0


def test_schedule_does_not_depend_on_other_streams() -> None:
    """Common random numbers: other components' draws do not move the fault schedule."""
    rs = RandomStreams(8)
    rs.stream("oss.workforce").random(1000)
    rs.stream("traffic").random(1000)
    a = fault_schedule(spec(), topo(), HORIZON, rs)
    b = fault_schedule(spec(), topo(), HORIZON, RandomStreams(8))
    assert a == b


def test_adding_sites_does_not_reshuffle_the_other_targets_failures() -> None:
    small = topo()
    big = build_topology(NetworkSpec.model_validate({
        "preset": "small", "sites": 9, "sites_per_chain": 3, "cells_per_site": 2}))
    only_random = spec(scripted=[])
    a = fault_schedule(only_random, small, HORIZON, RandomStreams(6))
    b = fault_schedule(only_random, big, HORIZON, RandomStreams(6))

    def times(sched: list[Any], targets: set[str]) -> list[tuple[str, float]]:
        return sorted((f.target, f.at) for f in sched if f.target in targets)

    common = set(small.elements) | set(small.links)
    assert times(a, common) == times(b, common)
    assert len(b) > len(a)  # the new sites fail too


def weibull_cv(k: float) -> float:
    return math.sqrt(math.gamma(1 + 2 / k) / math.gamma(1 + 1 / k) ** 2 - 1)


@pytest.mark.parametrize("distribution, cv", [("exponential", 1.0),
                                              ("weibull", weibull_cv(1.5))])
def test_failure_gaps_have_the_mean_and_spread_of_their_distribution(distribution: str,
                                                                    cv: float) -> None:
    """About 200,000 failures at a 1,000 s mean gap: the mean is the MTBF, the spread (the
    coefficient of variation) that of the distribution — 1 for exponential gaps, 0.68 for
    Weibull gaps of shape 1.5 (wear-out: more regular than a Poisson process)."""
    horizon = 2e8
    at = _gaps(np.random.default_rng(3), horizon, 1000.0,
               spec(random={"distribution": distribution, "weibull_shape": 1.5}))
    assert at == sorted(at) and at[0] >= 0.0 and at[-1] < horizon
    assert abs(np.mean(at) / (horizon / 2) - 1) < 0.01  # spread over the whole horizon
    gaps = np.diff(at)
    assert abs(gaps.mean() / 1000.0 - 1) < 0.01
    assert abs(gaps.std() / gaps.mean() - cv) < 0.02
    # failures may come from the very start: in a horizon of half a second too
    short = _gaps(np.random.default_rng(4), 0.5, 0.01,
                  spec(random={"distribution": distribution, "weibull_shape": 1.5}))
    assert len(short) > 20 and short[0] < 0.05 and short[-1] < 0.5


def test_a_fixed_repair_time_gives_each_failure_its_duration() -> None:
    """``repair.by: fixed``: failures end by themselves after the MTTR (deterministic, or
    drawn around it) and the OSS cannot repair them sooner; by default the OSS repairs."""
    def durations(repair: dict[str, object] | None) -> list[Any]:
        random: dict[str, object] = {"mtbf_h": {"cell": 50}, "link_mtbf_h": 100}
        if repair is not None:
            random["repair"] = repair
        sched = fault_schedule(spec(random=random, scripted=[]), topo(), HORIZON, rng(5))
        assert len(sched) > 100
        assert {f.repairable for f in sched} == {repair is None}
        return [f.duration for f in sched]

    assert set(durations({"by": "fixed", "mttr_h": 2})) == {7_200.0}
    drawn = durations({"by": "fixed", "mttr_h": 2, "dist": "exponential"})
    assert len(set(drawn)) == len(drawn)
    assert abs(np.mean(drawn) / 7_200.0 - 1) < 0.2
    assert set(durations(None)) == {None}


def test_a_scripted_fault_names_what_its_mode_can_strike() -> None:
    def kind(t: Topology, target: str, mode: str) -> str | None:
        return target_kind(t, spec(scripted=[{"at": "1h", "target": target, "mode": mode,
                                               "duration": "1h"}]).scripted[0])

    t = topo()
    assert kind(t, "site1", "power_outage") == "power_domain"  # a site's power domain
    assert kind(t, "site1-c1", "power_outage") is None  # a cell, not a power domain
    assert kind(t, "site1-c1", "element_failure") == "element"
    assert kind(t, "nowhere", "element_failure") is None
    assert kind(t, "site1-site2", "fibre_cut") == "link"
    assert kind(t, "site1-site2", "link_failure") == "link"
    assert kind(t, "site1", "link_failure") is None
    ducted = build_topology(NetworkSpec.model_validate({
        "elements": [{"id": "core1", "type": "core_router"}, {"id": "r1", "type": "site_router"},
                     {"id": "r2", "type": "site_router"},
                     {"id": "cell1", "type": "cell", "site": "r1"}],
        "links": [{"a": "core1", "b": "r1", "cable": "duct"},
                  {"a": "core1", "b": "r2", "cable": "duct"}, {"a": "r1", "b": "cell1"}]}))
    assert kind(ducted, "duct", "fibre_cut") == "cable"  # every link in the duct
    assert kind(ducted, "duct", "link_failure") is None  # only a cut strikes a whole cable


def test_an_elements_first_failure_is_its_own_streams_draw_at_its_mtbf_in_seconds() -> None:
    """Weibull gaps of shape k and mean MTBF have scale MTBF / Γ(1 + 1/k); the first failure
    of each cell is its own stream's first Weibull draw at that scale, in seconds."""
    k, mtbf_s = 1.5, 500 * 3600.0
    sched = fault_schedule(spec(random={"mtbf_h": {"cell": 500}, "distribution": "weibull",
                                        "weibull_shape": k}, scripted=[]),
                           topo(), HORIZON, rng(9))
    first = {f.target: f.at for f in reversed(sched)}
    for cell in ("site1-c1", "site4-c2", "site6-c1"):
        at = mtbf_s / math.gamma(1 + 1 / k) * float(rng(9).fresh(f"faults.{cell}").weibull(k))
        assert first.get(cell, HORIZON) == (at if at < HORIZON else HORIZON)


def test_a_storm_multiplies_failures_in_its_region_during_its_window() -> None:
    """Two storms, one per region: each adds failures at (factor − 1) × the normal rate to
    its own region's cells, inside its own window — 6 cells × 12 h × 40 / 500 h ≈ 5.8 in
    the first, 6 cells × 120 h × 1 / 500 h ≈ 1.4 in the second (a storm that doubles it)."""
    t = topo()
    storms = [{"at": "2d", "duration": "12h", "region": "region1", "factor": 41},
              {"at": "5d", "duration": "5d", "region": "region2", "factor": 2}]
    windows = {"region1": (2 * 86_400.0, 2.5 * 86_400.0),
               "region2": (5 * 86_400.0, 10 * 86_400.0)}
    per_region: Counter[str] = Counter()
    seeds = 200
    for s in range(seeds):
        sched = fault_schedule(spec(random={"mtbf_h": {"cell": 500}}, scripted=[],
                                    storms=storms), t, HORIZON, rng(s))
        for f in sched:
            if f.source == "storm":
                region = t.elements[f.target].region
                lo, hi = windows[region]
                assert lo <= f.at < hi and t.elements[f.target].type == "cell"
                assert f.target_kind == "element"
                per_region[region] += 1
                per_region[f.mode] += 1
    assert abs(per_region["region1"] / seeds - 6 * 12 * 40 / 500) < 0.6
    assert abs(per_region["region2"] / seeds - 6 * 120 * 1 / 500) < 0.3
    # 30 % of element failures are software crashes (faults.random.crash_share)
    crashes = per_region["software_crash"] / (per_region["region1"] + per_region["region2"])
    assert abs(crashes - 0.3) < 0.03
    assert per_region["software_crash"] + per_region["element_failure"] == sum(
        per_region[r] for r in windows)


def test_each_failure_process_draws_from_its_own_stream_at_its_mean_in_seconds() -> None:
    """Under Weibull gaps the first failure of an element, a link and a cable is its own
    stream's first draw times scale = mean / Γ(1 + 1/k): element and link MTBFs are hours,
    a cable's mean gap is 1,000 / (cuts × km) years — short cables are cut too. Each draws
    its repair time from its own stream as well."""
    net = build_topology(NetworkSpec.model_validate({
        "elements": [{"id": "core1", "type": "core_router", "location": (0.0, 0.0)},
                     {"id": "r1", "type": "site_router", "location": (30.0, 40.0)},
                     {"id": "r2", "type": "site_router", "location": (0.3, 0.4)},
                     {"id": "cell1", "type": "cell", "site": "r1"}],
        "links": [{"a": "core1", "b": "r1"}, {"a": "core1", "b": "r2"},
                  {"a": "r1", "b": "cell1"}]}))
    k, year = 1.5, 8766 * 3600.0
    horizon = 20 * year
    sched = fault_schedule(FaultSpec.model_validate({"random": {
        "mtbf_h": {"site_router": 500}, "link_mtbf_h": 700, "cuts_per_1000km_year": 1000,
        "distribution": "weibull", "weibull_shape": k,
        "repair": {"by": "fixed", "mttr_h": 2, "dist": "exponential"}}}), net, horizon, rng(9))
    assert all(f.duration is not None and f.duration > 0 for f in sched)
    first = {(f.target, f.target_kind, f.mode if f.mode != "software_crash"
              else "element_failure"): f.at for f in reversed(sched)}
    expected = {("r1", "element", "element_failure"): ("faults.r1", 500 * 3600.0),
                ("core1-r1", "link", "link_failure"): ("faults.core1-r1", 700 * 3600.0),
                ("core1-r1", "link", "fibre_cut"): ("faults.cut.core1-r1", year / 50),
                ("core1-r2", "link", "fibre_cut"): ("faults.cut.core1-r2", year / 0.5)}
    for key, (stream, mean) in expected.items():
        at = mean / math.gamma(1 + 1 / k) * float(rng(9).fresh(stream).weibull(k))
        assert at < horizon and first[key] == at, key


def test_planned_maintenance_is_announced_with_its_window() -> None:
    """A planned window defaults to the work's duration and to the faults' notice period;
    other scripted faults have neither."""
    sched = fault_schedule(spec(random={}, maintenance_notice="2d", scripted=[
        {"at": "1d", "target": "site1", "mode": "planned_maintenance", "duration": "2h"},
        {"at": "2d", "target": "site2", "mode": "planned_maintenance", "duration": "2h",
         "window": "4h", "notice": "6h"},
        {"at": "3d", "target": "site3", "mode": "element_failure", "duration": "1h"}]),
        topo(), HORIZON, rng(1))
    assert [(f.target, f.window, f.notice) for f in sched] == [
        ("site1", 7_200.0, 172_800.0), ("site2", 14_400.0, 21_600.0), ("site3", None, 0.0)]


def test_a_scripted_degradation_or_flapping_keeps_its_own_settings() -> None:
    sched = fault_schedule(spec(random={}, scripted=[
        {"at": "1d", "target": "site1-c1", "mode": "degradation", "duration": "2h",
         "silent": True, "capacity_factor": 0.4, "drop_rate": 0.05},
        {"at": "2d", "target": "site2-c1", "mode": "flapping", "flap_down": "1m",
         "flap_up": "7m"}]), topo(), HORIZON, rng(1))
    assert [(f.silent, f.capacity_factor, f.drop_rate, f.flap_down, f.flap_up)
            for f in sched] == [(True, 0.4, 0.05, 120.0, 600.0),
                                (False, 1.0, 0.0, 60.0, 420.0)]
