"""Transport design: the same fibre cut on a tree isolates sites, on a ring it costs nothing.

The quickstart's scripted cut (``site1-site2``, day 2 at 10:00) with random faults and the
background effects (radio drops, records written wrong) switched off, so every lost or dropped
call can only be the cut's. On the tree the sites behind the cut lose
their path to the core: their cells are out of service from the cut until the crew's splice,
and calls there are lost. On the ring the chain closes back to its aggregation router, so
traffic goes the other way round: no cell outage, no lost or dropped call — though the OSS
still sees the loss of signal on the cut link and sends a crew to splice it.
"""

from __future__ import annotations

import pandas as pd
import pytest

import twin

from .support import (
    CLEAN,
    QUICKSTART,
    SMALL,
    RunScenario,
    downstream_cells,
    live_incidents,
    scripted_fault,
)

CUT = "site1-site2"
CALM = (*SMALL, "faults.random.mtbf_h={}", *CLEAN)
TREE = (*CALM, "network.transport=tree")
RING = (*CALM, "network.transport=ring")


@pytest.fixture(scope="module")
def tree(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=TREE)


@pytest.fixture(scope="module")
def ring(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=RING)


def test_the_cut_is_the_only_fault(tree: twin.Run, ring: twin.Run) -> None:
    for run in (tree, ring):
        faults = run.table("faults")
        assert list(faults["target"]) == [CUT]
        assert list(faults["mode"]) == ["fibre_cut"]


def test_on_a_tree_the_cut_isolates_the_downstream_cells(tree: twin.Run) -> None:
    expected = downstream_cells(QUICKSTART, TREE, CUT)
    assert expected, "the cut should isolate something on a tree"
    cut = scripted_fault(tree, CUT)
    end = tree.table("fault_ends").set_index("fault_id").loc[cut["fault_id"], "end"]
    outages = tree.table("cell_outages")
    assert set(outages["cell"]) == expected
    assert len(outages) == len(expected)
    assert (outages["root_fault_id"] == cut["fault_id"]).all()
    assert (outages["start"] == cut["start"]).all()
    assert (outages["end"] == end).all()

    s = tree.summary
    assert s["traffic"]["calls_lost_outage"] > 0
    assert s["faults"]["service_affecting"] == 1
    assert s["bss"]["lost_outage_minor"] > 0
    usage = tree.table("usage")
    lost = usage[usage["outcome"] == "lost_outage"]
    assert set(lost["cell"]) <= expected
    assert lost["start"].between(cut["start"], end).all()
    assert (lost["kind"] == "voice").sum() == s["traffic"]["calls_lost_outage"]


def test_on_a_ring_the_same_cut_loses_no_cell(ring: twin.Run) -> None:
    assert ring.table("cell_outages").empty
    s = ring.summary
    assert s["traffic"]["calls_lost_outage"] == 0
    assert s["traffic"]["calls_dropped"] == 0
    assert s["faults"]["service_affecting"] == 0
    assert s["bss"]["lost_outage_minor"] == 0
    assert s["bss"]["sla_credits_minor"] == 0
    assert not ring.table("usage")["outcome"].isin(["lost_outage", "dropped"]).any()
    assert ring.table("service_outages").empty


def test_on_a_ring_the_oss_still_finds_and_repairs_the_cut(ring: twin.Run) -> None:
    cut = scripted_fault(ring, CUT)
    incidents = live_incidents(ring)
    assert list(incidents["root"]) == [CUT]
    assert int(incidents["cells_affected"].iloc[0]) == 0
    ends = ring.table("fault_ends").set_index("fault_id")
    assert ends.loc[cut["fault_id"], "cleared_by"] == "repair"
    alarms = ring.table("alarms")
    assert set(alarms["probable_cause"]) == {"lossOfSignal"}
    assert set(alarms["resource"]) == {CUT}


def test_same_demand_on_both_designs(tree: twin.Run, ring: twin.Run) -> None:
    cols = ["id", "kind", "sub", "cell", "start", "intended_s", "intended_bytes"]
    demand = [r.table("usage")[cols].sort_values("id").reset_index(drop=True)
              for r in (tree, ring)]
    pd.testing.assert_frame_equal(*demand, check_exact=True)
    assert tree.summary["traffic"]["calls_offered"] == ring.summary["traffic"]["calls_offered"]
