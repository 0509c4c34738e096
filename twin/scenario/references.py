"""Checks that need the built topology: do scripted faults name real targets?"""

from __future__ import annotations

from twin.scenario.schema import Scenario


def check_references(scenario: Scenario) -> list[str]:
    from twin.network.topology import build_topology

    try:
        topo = build_topology(scenario.network)
    except ValueError as exc:
        return [f"network.{exc}"]
    from twin.network.faults import target_kind

    problems = []
    wanted = {"power_outage": "power domain (site)", "fibre_cut": "link or cable",
              "link_failure": "link"}
    for i, f in enumerate(scenario.faults.scripted):
        where = f"faults.scripted[{i}]"
        if target_kind(topo, f) is None:
            problems.append(f"{where}.target: no {wanted.get(f.mode, 'element')} {f.target!r}")
        if f.at >= scenario.duration:
            problems.append(f"{where}.at: after the end of the scenario")
    sites = {e.site for e in topo.elements.values()}
    for i, ev in enumerate(scenario.traffic.events):
        if ev.site not in sites:
            problems.append(f"traffic.events[{i}].site: no site {ev.site!r}")
    regions = {e.region for e in topo.elements.values()}
    for i, storm in enumerate(scenario.faults.storms):
        if storm.region not in regions:
            problems.append(f"faults.storms[{i}].region: no region {storm.region!r} "
                            f"(regions: {', '.join(sorted(regions))})")
    known = ", ".join(sorted(regions))
    crews = scenario.oss.crews
    for field, keys in (("regions", crews.regions), ("region_travel_mean_min",
                                                      crews.region_travel_mean_min),
                        ("bases", crews.bases)):
        for key in keys:
            if key != "*" and key not in regions:
                problems.append(f"oss.crews.{field}.{key}: no region {key!r} (regions: {known})")
    for i, team in enumerate(crews.teams):
        if team.region != "*" and team.region not in regions:
            problems.append(f"oss.crews.teams[{i}].region: no region {team.region!r} "
                            f"(regions: {known}, or '*')")
    placed = sites | set(topo.cells)
    for key in scenario.subscribers.site_weights:
        if key not in placed:
            problems.append(f"subscribers.site_weights.{key}: no site or cell {key!r}")
    return problems
