"""Helpers for the integration tests: scenario paths, small overrides, topology questions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import networkx as nx
import pandas as pd

import twin

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))
QUICKSTART = SCENARIOS / "quickstart.yaml"

# Shrink a scenario for tests that compare several runs: fewer days and subscribers, same
# network and same scripted faults (the quickstart's cut is at 1d10h).
SMALL = ("duration=3d", "subscribers.count=1500")
# The background effects of an operator's network off: no radio drops, no records written
# wrong, no transient alarm noise, no CDR files cut or held back in transfer, no care
# contacts about bills, no churn. For tests that check one mechanism in a clean room (each
# says why it needs one).
CLEAN = ("traffic.radio.drop_rate=0", "traffic.records.malformed_share=0",
         "traffic.records.unknown_subscriber_share=0",
         "network.telemetry.transient_per_ne_day=0", "bss.mediation.file_cut_share=0",
         "bss.mediation.file_late_share=0",
         "bss.care.account_contacts_monthly=0", "bss.care.churn_base_monthly=0")

RunScenario = Callable[..., twin.Run]


def without_noise(run: twin.Run, alarms: pd.DataFrame) -> pd.DataFrame:
    """``alarms`` (rows of the OSS's ``alarms`` table) but those the truth marks as transient
    noise (``network.telemetry.transient_per_ne_day``): the alarms of faults and work."""
    causes = run.table("alarm_causes")
    noise = causes.loc[causes["noise"], ["ems", "notification_id"]]
    key = pd.MultiIndex.from_frame(alarms[["ems", "notification_id"]])
    return alarms[~key.isin(pd.MultiIndex.from_frame(noise))]


def fresh_run(scenario: str | Path, out: Path, *, seed: int | None = None,
              overrides: Iterable[str] = ()) -> twin.Run:
    """An uncached run (for tests that need two runs of the very same inputs)."""
    return twin.simulate(scenario, seed=seed, overrides=tuple(overrides), out=out,
                         report=False)


def downstream_cells(scenario: str | Path, overrides: Iterable[str], link: str) -> set[str]:
    """Cells cut off from every core router when ``link`` is cut (from the built topology)."""
    from twin.network.topology import build_topology

    sc = twin.load_scenario(scenario, tuple(overrides))
    topo = build_topology(sc.network)
    g = topo.graph.copy()
    a, b = topo.links[link].a, topo.links[link].b
    g.remove_edge(a, b, key=link)
    reach: set[str] = set()
    for core in topo.core:
        reach |= nx.node_connected_component(g, core)
    return {c for c in topo.cells if c not in reach}


def live_incidents(run: twin.Run) -> pd.DataFrame:
    """Incidents that stand on their own (not merged into another one)."""
    inc = run.table("incidents")
    if "merged_into" in inc.columns:
        inc = inc[inc["merged_into"] == 0]
    return inc


def scripted_fault(run: twin.Run, target: str) -> pd.Series:
    faults = run.table("faults")
    rows = faults[(faults["source"] == "scripted") & (faults["target"] == target)]
    assert len(rows) == 1, f"expected one scripted fault on {target}, got {len(rows)}"
    return rows.iloc[0]


def link_ends(scenario: str | Path, overrides: Iterable[str], link: str) -> set[str]:
    from twin.network.topology import build_topology

    info = build_topology(twin.load_scenario(scenario, tuple(overrides)).network).links[link]
    return {info.a, info.b}


def missed_outcomes(run: twin.Run) -> list[str]:
    """The ``expect.outcomes`` of the run's own scenario that it missed, each with what it
    measured (empty: the run shows what its description says)."""
    sc = twin.load_scenario(run.path / "scenario.yaml")
    missed = []
    for outcome in sc.expect.outcomes:
        node: object = run.summary
        for part in outcome.key.split("."):
            assert isinstance(node, dict) and part in node, f"summary lacks {outcome.key!r}"
            node = node[part]
        assert isinstance(node, int | float) and not isinstance(node, bool), (outcome.key, node)
        if not outcome.holds(float(node)):
            missed.append(f"{outcome.phrase()}: measured {outcome.shown(float(node))}")
    return missed
