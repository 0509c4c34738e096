"""Network state: a cell is in service while a path of up elements and links joins it to core."""

from __future__ import annotations

from twin.network import build_topology
from twin.network.state import NetworkState
from twin.network.topology import Topology
from twin.scenario.schema import NetworkSpec


def topo(transport: str) -> Topology:
    return build_topology(NetworkSpec.model_validate({
        "preset": "small", "sites": 6, "sites_per_chain": 3, "cells_per_site": 2,
        "transport": transport}))


def cells_of(state: NetworkState, idx: list[int]) -> set[str]:
    return {state.cell_ids[i] for i in idx}


def out_of_service(state: NetworkState) -> set[str]:
    return {c for c, ok in zip(state.cell_ids, state.in_service, strict=True) if not ok}


DOWNSTREAM_OF_SITE1_SITE2 = {"site2-c1", "site2-c2", "site3-c1", "site3-c2"}


def test_everything_in_service_at_start() -> None:
    state = NetworkState(topo("tree"))
    assert state.in_service.all()
    assert state.recompute(0.0) == ([], [])
    assert state.connected() == set(state.topo.elements)


def test_link_cut_on_a_tree_isolates_downstream_cells() -> None:
    state = NetworkState(topo("tree"))
    state.add_fault("site1-site2", 1)
    down, up = state.recompute(100.0)
    assert cells_of(state, down) == DOWNSTREAM_OF_SITE1_SITE2
    assert up == []
    assert out_of_service(state) == DOWNSTREAM_OF_SITE1_SITE2
    assert {"site2", "site3"}.isdisjoint(state.connected())
    assert "site1" in state.connected()
    # repaired: the same cells come back
    assert state.remove_faults("site1-site2") == {1}
    down, up = state.recompute(500.0)
    assert down == []
    assert cells_of(state, up) == DOWNSTREAM_OF_SITE1_SITE2
    assert state.in_service.all()


def test_link_cut_on_a_ring_isolates_nothing() -> None:
    state = NetworkState(topo("ring"))
    state.add_fault("site1-site2", 1)
    assert state.recompute(100.0) == ([], [])
    assert state.in_service.all()
    assert state.connected() == set(state.topo.elements)


def test_two_cuts_on_a_ring_isolate_the_section_between() -> None:
    state = NetworkState(topo("ring"))
    state.add_fault("site1-site2", 1)
    state.add_fault("site3-agg1", 2)
    down, _ = state.recompute(10.0)
    assert cells_of(state, down) == DOWNSTREAM_OF_SITE1_SITE2


def test_element_failure_on_a_ring_takes_only_its_own_cells() -> None:
    state = NetworkState(topo("ring"))
    state.add_fault("site2", 1)
    down, _ = state.recompute(10.0)
    assert cells_of(state, down) == {"site2-c1", "site2-c2"}
    assert "site2" not in state.connected()


def test_failed_cell_is_out_of_service() -> None:
    state = NetworkState(topo("tree"))
    state.add_fault("site4-c2", 1)
    down, _ = state.recompute(1.0)
    assert cells_of(state, down) == {"site4-c2"}


def test_core_failure_takes_everything_down() -> None:
    state = NetworkState(topo("ring"))
    state.add_fault("core1", 1)
    down, _ = state.recompute(1.0)
    assert len(down) == len(state.cell_ids)
    assert state.connected() == set()


def test_overlapping_faults_keep_the_target_down_until_the_last_clears() -> None:
    state = NetworkState(topo("tree"))
    state.add_fault("agg2", 1)
    state.add_fault("agg2", 2)
    state.recompute(1.0)
    assert state.is_down("agg2")
    assert state.remove_fault("agg2", 1)
    assert not state.remove_fault("agg2", 1)  # already gone
    assert state.recompute(2.0) == ([], [])  # fault 2 still holds it down
    assert state.is_down("agg2")
    assert state.remove_fault("agg2", 2)
    _, up = state.recompute(3.0)
    assert len(up) == 6  # site4..site6, two cells each
    assert not state.is_down("agg2")
    assert state.down_targets() == set()


def test_changes_are_logged_and_taken_in_time_order() -> None:
    state = NetworkState(topo("tree"))
    state.add_fault("site3", 1)
    state.recompute(10.0)
    state.remove_faults("site3")
    state.recompute(20.0)
    early = state.take_changes(until=15.0)
    assert [(c.t, state.cell_ids[c.cell], c.in_service) for c in early] == [
        (10.0, "site3-c1", False), (10.0, "site3-c2", False)]
    assert state.take_changes(until=20.0) == []  # strictly before
    late = state.take_changes(until=21.0)
    assert {(c.t, c.in_service) for c in late} == {(20.0, True)}
    assert state.changes == []
