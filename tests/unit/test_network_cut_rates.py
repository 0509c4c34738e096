"""Fibre cuts scale with cable length (``faults.random.cuts_per_1000km_year``)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from twin.kernel import RandomStreams
from twin.network import build_topology
from twin.network.faults import cable_lengths, fault_schedule
from twin.scenario.schema import FaultSpec, NetworkSpec

YEAR_S = 8766 * 3600.0


def faults(cuts: float | None, **random: object) -> FaultSpec:
    return FaultSpec.model_validate({"random": {"cuts_per_1000km_year": cuts, **random}})


def test_each_trunk_is_cut_in_proportion_to_its_length() -> None:
    topo = build_topology(NetworkSpec(backbone="sndlib/abilene", cells_per_site=1,
                                      microwave_share=1.0))
    assert topo.backbone is not None
    years = 2000
    schedule = fault_schedule(faults(2.73), topo, years * YEAR_S, RandomStreams(3))
    assert {(f.mode, f.source, f.target_kind) for f in schedule} == {
        ("fibre_cut", "random", "link")}
    counts = Counter(f.target for f in schedule)
    assert set(counts) == set(topo.backbone.trunks)  # access hops are microwave: never cut
    for lid in topo.backbone.trunks:
        expected = 2.73 * topo.links[lid].length_km / 1000 * years  # type: ignore[operator]
        assert abs(counts[lid] - expected) < 4 * np.sqrt(expected), (lid, counts[lid], expected)
    # the longest trunk (2,194 km) is cut about 16 times as often as the shortest (132 km)
    longest = max(topo.backbone.trunks, key=lambda x: topo.links[x].length_km or 0)
    shortest = min(topo.backbone.trunks, key=lambda x: topo.links[x].length_km or 0)
    assert 13 < counts[longest] / counts[shortest] < 20


def listed() -> NetworkSpec:
    return NetworkSpec.model_validate({
        "elements": [{"id": "core1", "type": "core_router", "location": (0.0, 0.0)},
                     {"id": "r1", "type": "site_router", "location": (30.0, 40.0)},
                     {"id": "r2", "type": "site_router", "location": (6.0, 8.0)},
                     {"id": "r3", "type": "site_router"},
                     {"id": "cell1", "type": "cell", "site": "r1"}],
        "links": [{"a": "core1", "b": "r1", "cable": "duct"},
                  {"a": "core1", "b": "r2", "cable": "duct"},
                  {"a": "r2", "b": "r3"},
                  {"a": "r1", "b": "r2", "medium": "microwave"},
                  {"a": "r1", "b": "cell1"}]})


def test_links_sharing_a_cable_are_cut_together_by_its_longest_run() -> None:
    topo = build_topology(listed())
    # lengths from the positions: the straight line between the ends
    assert topo.links["core1-r1"].length_km == 50.0
    assert topo.links["core1-r2"].length_km == 10.0
    assert topo.links["r2-r3"].length_km is None  # r3 has no position
    assert topo.links["r1-cell1"].length_km == 0.0  # the cell is at its site
    # the duct runs 50 km; the microwave hop, the unknown and the zero-length ones are not cut
    assert cable_lengths(topo) == {"duct": 50.0, "r1-cell1": 0.0}
    schedule = fault_schedule(faults(1000.0), topo, 20 * YEAR_S, RandomStreams(1))
    assert {(f.target, f.target_kind, f.mode) for f in schedule} == {
        ("duct", "cable", "fibre_cut")}
    assert abs(len(schedule) - 1000) < 4 * np.sqrt(1000)  # 50 cuts a year for 20 years


def test_cuts_leave_the_other_failures_as_they_were() -> None:
    topo = build_topology(NetworkSpec(backbone="sndlib/abilene", cells_per_site=1))
    base = {"mtbf_h": {"cell": 300, "site_router": 900}, "link_mtbf_h": 500}
    without = fault_schedule(faults(None, **base), topo, 0.2 * YEAR_S, RandomStreams(5))
    with_cuts = fault_schedule(faults(20.0, **base), topo, 0.2 * YEAR_S, RandomStreams(5))
    cuts = [f for f in with_cuts if f.mode == "fibre_cut"]
    assert cuts and all(f.target_kind == "link" for f in cuts)
    assert [(f.at, f.target, f.mode) for f in without] == [
        (f.at, f.target, f.mode) for f in with_cuts if f.mode != "fibre_cut"]
