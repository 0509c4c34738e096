"""The OSS diagnoses the quickstart's fibre cut from alarms alone.

The cut link's two live ends raise loss of signal; the cells and site routers behind it
raise out-of-service and adjacency-lost symptoms. The OSS must open exactly one incident for
the burst, name the cut link as its root cause, hold the downstream cells' alarms as
symptoms, ticket it, and send a crew whose repair clears the true fault.
"""

from __future__ import annotations

import pytest

import twin

from .support import (
    QUICKSTART,
    RunScenario,
    downstream_cells,
    link_ends,
    live_incidents,
    scripted_fault,
)

CUT = "site1-site2"


@pytest.fixture(scope="module")
def quickstart(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, report=True)  # shares the run with test_scenarios_run


def test_one_incident_rooted_at_the_cut_link(quickstart: twin.Run) -> None:
    cut = scripted_fault(quickstart, CUT)
    assert cut["mode"] == "fibre_cut"
    incidents = live_incidents(quickstart)
    at_cut = incidents[incidents["root"] == CUT]
    assert len(at_cut) == 1
    inc = at_cut.iloc[0]
    assert inc["root_kind"] == "link"
    assert cut["start"] <= inc["first_alarm"] <= inc["created"]
    cells = downstream_cells(QUICKSTART, (), CUT)
    assert int(inc["cells_affected"]) == len(cells)


def test_downstream_cell_alarms_are_symptoms_of_the_cut(quickstart: twin.Run) -> None:
    cut = scripted_fault(quickstart, CUT)
    inc = live_incidents(quickstart).set_index("root").loc[CUT]
    alarms = quickstart.table("alarms")
    mine = alarms[alarms["incident_id"] == inc["incident_id"]]
    roots = mine[mine["role"] == "root"]
    assert set(roots["probable_cause"]) == {"lossOfSignal"}
    assert set(roots["resource"]) == {CUT}
    assert len(roots) >= 1
    # Both live ends of the cut see the loss of signal; an end whose alarm arrives after the
    # incident opened joins it (as a symptom), it does not open a second incident.
    los = mine[(mine["probable_cause"] == "lossOfSignal") & (mine["resource"] == CUT)]
    assert set(los["alarmed_object"]) == link_ends(QUICKSTART, (), CUT)
    symptoms = mine[mine["role"] == "symptom"]
    cells = downstream_cells(QUICKSTART, (), CUT)
    cell_alarms = symptoms[symptoms["probable_cause"] == "backhaulFailure"]
    assert set(cell_alarms["alarmed_object"]) == cells
    assert set(mine["role"]) == {"root", "symptom"}
    # No downstream cell's outage alarm from the cut window went to another incident.
    end = quickstart.table("fault_ends").set_index("fault_id").loc[cut["fault_id"], "end"]
    during = alarms[(alarms["probable_cause"] == "backhaulFailure")
                    & alarms["alarmed_object"].isin(cells)
                    & alarms["raised"].between(cut["start"], end)]
    assert (during["incident_id"] == inc["incident_id"]).all()
    assert int(inc["alarms"]) == len(mine)


def test_the_cut_is_ticketed_and_repaired(quickstart: twin.Run) -> None:
    cut = scripted_fault(quickstart, CUT)
    inc = live_incidents(quickstart).set_index("root").loc[CUT]
    tickets = quickstart.table("tickets").set_index("ticket_id")
    ticket = tickets.loc[inc["ticket_id"]]
    assert ticket["root"] == CUT
    assert ticket["status"] == "closed"
    assert ticket["resolution"] == "repaired"
    end = quickstart.table("fault_ends").set_index("fault_id").loc[cut["fault_id"]]
    assert end["cleared_by"] == "repair"
    assert end["ticket_id"] == inc["ticket_id"]
    assert end["end"] == pytest.approx(ticket["repaired"])
    outages = quickstart.table("cell_outages")
    from_cut = outages[outages["root_fault_id"] == cut["fault_id"]]
    assert set(from_cut["cell"]) == downstream_cells(QUICKSTART, (), CUT)
    assert (from_cut["end"] == end["end"]).all()


def test_quickstart_root_cause_accuracy(quickstart: twin.Run) -> None:
    oss = quickstart.summary["oss"]
    assert oss["rca_accuracy"] == 1.0
    assert oss["faults_undetected"] == 0
    assert oss["mttd_s"] is not None and oss["mttd_s"] > 0
    assert oss["mttr_s"] is not None and oss["mttr_s"] > oss["mttd_s"]
