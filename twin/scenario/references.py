"""Checks that need the built topology: do scripted faults name real targets?"""

from __future__ import annotations

from twin.scenario.schema import Scenario


def check_references(scenario: Scenario) -> list[str]:
    from twin.network.topology import build_topology

    try:
        topo = build_topology(scenario.network)
    except ValueError as exc:
        return [f"network.{exc}"]
    problems = []
    for i, f in enumerate(scenario.faults.scripted):
        where = f"faults.scripted[{i}]"
        if f.mode == "element_failure" and f.target not in topo.elements:
            problems.append(f"{where}.target: no element {f.target!r}")
        elif f.mode in ("link_failure", "fibre_cut") and f.target not in topo.links:
            problems.append(f"{where}.target: no link {f.target!r}")
        if f.at >= scenario.duration:
            problems.append(f"{where}.at: after the end of the scenario")
    return problems
