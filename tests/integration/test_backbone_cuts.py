"""A fibre cut on a real mesh reroutes where the mesh has another path and isolates where it
has none — exactly as networkx's connectivity of the graph topohub gives says.

Every trunk of three real backbones is cut in turn on the network state; the cells that lose
service must be those of the PoPs the cut leaves with no path to a core PoP in the source
graph. Then the shipped Abilene scenario shows the same in a full run, with the demand the
cut trunk carried crowding onto the detour.
"""

from __future__ import annotations

import networkx as nx
import pytest
import topohub

import twin
from twin.network.state import NetworkState
from twin.network.topology import build_topology
from twin.scenario.schema import NetworkSpec

from .support import SCENARIOS, RunScenario

ABILENE = SCENARIOS / "backbone_abilene.yaml"


@pytest.mark.parametrize("key", ["topozoo/Geant2012", "sndlib/geant", "sndlib/abilene"])
def test_each_cut_reroutes_or_isolates_as_networkx_says(key: str) -> None:
    topo = build_topology(NetworkSpec(backbone=key, sites_per_chain=2, cells_per_site=1))
    bb = topo.backbone
    assert bb is not None
    data = topohub.get(key)
    pop_of = dict(zip((n["id"] for n in data["nodes"]), bb.pops, strict=True))
    core = {topo.elements[c].site for c in topo.core}
    cells_of = {p: {c for c in topo.cells if topo.elements[c].region == p} for p in bb.pops}
    kinds = set()
    for lid, e in zip(bb.trunks, data["edges"], strict=True):
        g = nx.MultiGraph()  # the source graph without this edge
        g.add_nodes_from(pop_of[n["id"]] for n in data["nodes"])
        g.add_edges_from((pop_of[x["source"]], pop_of[x["target"]]) for x in data["edges"]
                         if x is not e)
        cut_off = {p for p in bb.pops if not any(nx.has_path(g, p, c) for c in core)}
        expected = set().union(*(cells_of[p] for p in cut_off))
        state = NetworkState(topo)
        state.set_down(lid, 1)
        went_down, came_up = state.recompute(10.0)
        assert not came_up
        assert {state.cell_ids[i] for i in went_down} == expected, lid
        kinds.add("isolates" if expected else "reroutes")
        state.set_down(lid, 1, down=False)
        _, came_up = state.recompute(20.0)
        assert {state.cell_ids[i] for i in came_up} == expected
    full = nx.Graph([(x["source"], x["target"]) for x in data["edges"]])
    # a cut isolates only where it is a bridge: GEANT (SNDlib) has none, the others some
    assert kinds == ({"isolates", "reroutes"} if nx.has_bridges(full) else {"reroutes"})
    assert nx.has_bridges(full) == (key != "sndlib/geant")


@pytest.fixture(scope="module")
def abilene(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(ABILENE)  # shared with test_scenarios_run


def test_a_run_on_abilene_reroutes_one_cut_and_isolates_the_spur(abilene: twin.Run) -> None:
    faults = abilene.table("faults")
    scripted = faults[faults["source"] == "scripted"].set_index("target")
    outages = abilene.table("cell_outages")
    mesh_cut = int(scripted.loc["IPLSng-KSCYng", "fault_id"])
    spur_cut = int(scripted.loc["ATLAM5-ATLAng", "fault_id"])
    assert not (outages["root_fault_id"] == mesh_cut).any()  # the mesh rerouted
    topo = build_topology(twin.load_scenario(ABILENE).network)
    spur_cells = {c for c in topo.cells if topo.elements[c].region == "ATLAM5"}
    assert spur_cells
    assert set(outages.loc[outages["root_fault_id"] == spur_cut, "cell"]) == spur_cells
    end = abilene.table("fault_ends").set_index("fault_id").loc[spur_cut, "end"]
    lost = outages[outages["root_fault_id"] == spur_cut]
    assert (lost["start"] == scripted.loc["ATLAM5-ATLAng", "start"]).all()
    assert (lost["end"] == end).all()


def test_the_cut_trunks_demand_crowds_onto_the_detour(abilene: twin.Run) -> None:
    start = float(abilene.table("faults").set_index("target").loc["IPLSng-KSCYng", "start"])
    end = float(abilene.table("fault_ends").set_index("fault_id").loc[
        int(abilene.table("faults").set_index("target").loc["IPLSng-KSCYng", "fault_id"]),
        "end"])
    links = abilene.table("link_traffic")
    detour = links[links["link"] == "ATLAng-HSTNng"].set_index("period_start")
    cut = links[links["link"] == "IPLSng-KSCYng"].set_index("period_start")
    during = detour.loc[start + 900:end - 900]
    day_before = detour.loc[start + 900 - 86_400:end - 900 - 86_400]
    assert (cut.loc[start + 900:end - 900, "demand_mbps"] == 0).all()
    assert during["demand_mbps"].sum() > 2 * day_before["demand_mbps"].sum()
    assert day_before["utilisation"].max() < 0.8 < during["utilisation"].max()
    alarms = abilene.table("alarms")
    crossed = alarms[(alarms["probable_cause"] == "thresholdCrossed")
                     & (alarms["resource"] == "ATLAng-HSTNng")]
    assert len(crossed) >= 1 and ((crossed["raised"] > start) & (crossed["raised"] < end)).all()
    assert abilene.summary["traffic"]["calls_lost_outage"] > 0  # the spur's, not the mesh's
