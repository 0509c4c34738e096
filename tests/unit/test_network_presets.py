"""Operator-shaped generated networks and service dependency on core functions."""

from __future__ import annotations

from collections import Counter

import pytest

from twin.network.state import NetworkState
from twin.network.topology import CORE_FUNCTIONS, build_topology
from twin.scenario.schema import NetworkSpec


def test_metro_preset_has_the_operator_shape() -> None:
    topo = build_topology(NetworkSpec(preset="metro", transport="ring"))
    types = Counter(e.type for e in topo.elements.values())
    assert 900 <= types["cell"] <= 1200  # "about 1,000 cells"
    assert types["core_router"] == 2
    assert all(types[f] == 2 for f in CORE_FUNCTIONS)  # redundant core network functions
    techs = Counter(topo.elements[c].technology for c in topo.cells)
    assert set(techs) == {"2G", "4G", "5G"} and techs["4G"] > techs["5G"] > techs["2G"]
    media = Counter(link.medium for link in topo.links.values())
    assert 0.02 < media["microwave"] / sum(media.values()) < 0.2
    assert len({e.region for e in topo.elements.values()}) > 20
    assert all(e.power_domain == e.site for e in topo.elements.values())


@pytest.mark.parametrize("preset,cells", [("small", 36), ("national", 10_223)])
def test_preset_sizes(preset: str, cells: int) -> None:
    assert len(build_topology(NetworkSpec(preset=preset)).cells) == cells


def test_dual_homed_rings_survive_an_aggregation_router() -> None:
    spec = NetworkSpec(preset="metro", transport="ring", sites=24)
    state = NetworkState(build_topology(spec))
    state.add_fault("agg1", 1)
    went_down, _ = state.recompute(1.0)
    assert went_down == []  # the ring closes on agg2 as well
    single = NetworkState(build_topology(spec.model_copy(update={"dual_homing": False})))
    single.add_fault("agg1", 1)
    assert len(single.recompute(1.0)[0]) > 0


def explicit(functions: list[str]) -> NetworkState:
    elements = [{"id": "core1", "type": "core_router"}, {"id": "cell1", "type": "cell"},
                {"id": "cell2", "type": "cell"}]
    links = [{"a": "cell1", "b": "core1"}, {"a": "cell2", "b": "core1"}]
    for f in functions:
        elements.append({"id": f, "type": f.rstrip("12")})
        links.append({"a": f, "b": "core1"})
    return NetworkState(build_topology(NetworkSpec(elements=elements, links=links)))


def test_cells_need_a_working_instance_of_each_core_function() -> None:
    state = explicit(["msc1", "msc2", "pgw1", "hss1", "dns1", "ocs1"])
    state.add_fault("msc1", 1)
    assert state.recompute(1.0) == ([], [])  # msc2 takes over
    state.add_fault("msc2", 2)
    assert sorted(state.recompute(2.0)[0]) == [0, 1]  # no voice core left: no service
    state.remove_fault("msc2", 2)
    assert sorted(state.recompute(3.0)[1]) == [0, 1]
    state.add_fault("ocs1", 3)  # charging, not service
    assert state.recompute(4.0) == ([], [])
    state.add_fault("dns1", 4)
    assert sorted(state.recompute(5.0)[0]) == [0, 1]


def test_without_core_functions_a_path_to_the_core_suffices() -> None:
    state = explicit([])
    state.add_fault("cell1", 1)
    assert state.recompute(1.0)[0] == [0]
