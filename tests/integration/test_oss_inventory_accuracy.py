"""Root-cause analysis against ground truth, with an accurate and a wrong inventory.

``scenarios/oss_stale_inventory.yaml``: eight scripted failures six hours apart (four fibre
cuts, four dead routers), each burying the NOC in symptom alarms. With the accurate
inventory every burst becomes one incident with the right root: RCA precision and recall
1.0, every symptom attached to its root's incident, no false ticket.

With 30 % of the link records stale (one end at the wrong element) the same alarms give, at
the time of writing: RCA precision 1.0 → 0.18 (unexplained symptoms become incidents of
their own), symptom recall 1.0 → 0.45 (symptoms no longer reach their root's incident),
false tickets 0 → 3 (crews sent to the wrong place) and the mean time to restore 2.6 h →
3.6 h. With 30 % of the links missing: precision 0.78, recall 0.88 (one failure never
named), symptom recall 0.90. The assertions leave room around these numbers so that small
changes in alarm timing do not break them, but every drop must be large.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import twin

from .support import RunScenario, live_incidents

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "oss_stale_inventory.yaml"
STALE = ("oss.inventory.stale_links=0.3",)
MISSING = ("oss.inventory.missing_links=0.3",)


@pytest.fixture(scope="module")
def accurate(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(SCENARIO)


def test_an_accurate_inventory_names_every_root(accurate: twin.Run) -> None:
    oss = accurate.summary["oss"]
    assert oss["faults_alarmed"] == 8
    assert oss["rca_precision"] == oss["rca_recall"] == 1.0
    assert oss["symptom_precision"] == oss["symptom_recall"] == 1.0
    assert oss["false_tickets"] == 0 and oss["faults_undetected"] == 0


def test_a_fibre_cut_is_one_incident_one_ticket_many_symptoms(accurate: twin.Run) -> None:
    inc = live_incidents(accurate)
    cut = inc[inc["root"] == "site1-site2"]
    assert len(cut) == 1 and cut.iloc[0]["root_kind"] == "link"
    tickets = accurate.table("tickets")
    mine = tickets[(tickets["incident_id"] == cut.iloc[0]["incident_id"])]
    assert len(mine) == 1 and mine.iloc[0]["resolution"] == "repaired"
    alarms = accurate.table("alarms")
    attached = alarms[alarms["incident_id"] == cut.iloc[0]["incident_id"]]
    assert (attached["role"] == "symptom").sum() >= 10  # three sites and their cells


def test_a_stale_inventory_makes_rca_measurably_worse(accurate: twin.Run,
                                                      run_scenario: RunScenario) -> None:
    good = accurate.summary["oss"]
    bad = run_scenario(SCENARIO, overrides=STALE).summary["oss"]
    assert bad["faults_alarmed"] == good["faults_alarmed"]  # the same failures and alarms
    assert good["rca_precision"] - bad["rca_precision"] >= 0.5  # 1.0 → 0.18
    assert good["symptom_recall"] - bad["symptom_recall"] >= 0.3  # 1.0 → 0.45
    assert bad["false_tickets"] >= 1  # 0 → 3
    assert bad["mttr_s"] > good["mttr_s"]  # 2.6 h → 3.6 h


def test_missing_links_make_rca_worse(accurate: twin.Run, run_scenario: RunScenario) -> None:
    good = accurate.summary["oss"]
    bad = run_scenario(SCENARIO, overrides=MISSING).summary["oss"]
    assert good["rca_precision"] - bad["rca_precision"] >= 0.1  # 1.0 → 0.78
    assert bad["rca_recall"] < good["rca_recall"]  # 1.0 → 0.88
    assert bad["symptom_recall"] < good["symptom_recall"]  # 1.0 → 0.90
