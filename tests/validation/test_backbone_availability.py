"""Exact two-terminal availability on a real backbone.

Abilene (SNDlib, 12 PoPs, 15 trunks) dressed with one radio site per PoP whose access hop is
microwave: only the trunks are fibre of any length, so with ``cuts_per_1000km_year`` as the
only failures each trunk is an alternating renewal process — cut at a rate proportional to
its length, repaired after an exponential time the scenario fixes (no crews to wait for) —
with availability A = MTBF / (MTBF + MTTR), independent of the others. A PoP's cells are then
in service exactly when some path of working trunks joins the PoP to either core PoP, so the
share of time they serve is the two-terminal reliability of that PoP and the core pair,
computed here exactly by enumerating all 2¹⁵ trunk states of the graph as topohub gives it
(not as the twin builds it). Each PoP's measured availability, averaged over R seeded
one-year replications, must lie within max(4 standard errors, 0.003) of the exact value (four,
as ten PoPs are checked at once). The tolerance must stay under 0.03, and the test must be
able to fail: each of three wrong models — no rerouting (the PoP's shortest path to the
nearest core only), a single core PoP, cut rates blind to length (every trunk at the mean
rate) — must miss at least three PoPs by more than their tolerance.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import topohub

import twin
from twin.network.topology import build_topology

CATALOG = str(Path(__file__).resolve().parents[2] / "scenarios" / "catalogs" / "default.yaml")
KEY = "sndlib/abilene"
CUTS = 100.0  # per 1,000 km a year: a 1,000 km trunk fails every 88 h on average
MTTR_H = 24.0
DAYS = 365
REPLICATIONS = 6


def scenario() -> dict[str, Any]:
    return {
        "name": "two_terminal", "description": "two-terminal availability on Abilene",
        "start": "2026-01-01T00:00:00Z", "duration": f"{DAYS}d",
        "network": {"backbone": KEY, "pops": {"access": "uniform", "demand_load": 0},
                    "sites": 12, "cells_per_site": 1, "microwave_share": 1.0,
                    "telemetry": {"cdr_duplicate_rate": 0.0}},
        "subscribers": {"count": 1, "mix": {"consumer_postpaid": 1.0}},
        "traffic": {"interval": "1d", "profile": "flat",
                    "voice": {"calls_per_sub_day": 0}, "data": {"sessions_per_sub_day": 0}},
        "faults": {"random": {"cuts_per_1000km_year": CUTS,
                              "repair": {"by": "fixed", "mttr_h": MTTR_H,
                                         "dist": "exponential"}}},
        "bss": {"catalog": CATALOG},
    }


Edge = tuple[str, str, float]


def source_graph() -> tuple[list[str], list[Edge]]:
    """The PoPs and trunks (a, b, km) as topohub gives them."""
    data = topohub.get(KEY)
    name = {n["id"]: n["name"] for n in data["nodes"]}
    edges = [(name[e["source"]], name[e["target"]], float(e["dist"])) for e in data["edges"]]
    return sorted(name.values()), edges


def availability(km: float | np.ndarray) -> np.ndarray:
    mtbf_h = 1000.0 / (CUTS * np.asarray(km, dtype=float)) * 8766.0
    return np.asarray(mtbf_h / (mtbf_h + MTTR_H))


def _find(parent: dict[str, str], x: str) -> str:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def two_terminal(pops: list[str], edges: list[Edge], avail: np.ndarray,
                 core: list[str]) -> dict[str, float]:
    """P(PoP joined to some core PoP) for every PoP, by enumerating the trunks' states."""
    out = dict.fromkeys(pops, 0.0)
    m = len(edges)
    for state in range(2 ** m):
        up = [(state >> i) & 1 for i in range(m)]
        p = float(np.prod(np.where(up, avail, 1.0 - avail)))
        parent = {x: x for x in pops}
        for (a, b, _), ok in zip(edges, up, strict=True):
            if ok:
                parent[_find(parent, a)] = _find(parent, b)
        roots = {_find(parent, c) for c in core}
        for x in pops:
            if _find(parent, x) in roots:
                out[x] += p
    return out


def no_reroute(pops: list[str], edges: list[Edge], core: list[str]) -> dict[str, float]:
    """The wrong model of a tree: up only while its shortest path to the nearest core is."""
    g = nx.Graph()
    g.add_weighted_edges_from(edges, weight="km")
    out = {}
    for x in pops:
        _, path = min((nx.dijkstra_path_length(g, x, c, weight="km"),
                       nx.dijkstra_path(g, x, c, weight="km")) for c in core)
        out[x] = float(np.prod([availability(g.edges[u, v]["km"])
                                for u, v in itertools.pairwise(path)]))
    return out


def test_pop_availability_is_the_exact_two_terminal_reliability(tmp_path: Path) -> None:
    sc = scenario()
    topo = build_topology(twin.load_scenario(sc).network)
    assert topo.backbone is not None
    cells = {c: topo.elements[c].region for c in topo.cells}  # region = the cell's PoP
    assert sorted(cells.values()) == sorted(topo.backbone.pops)  # one cell per PoP
    core = [topo.elements[c].site for c in topo.core]
    pops, edges = source_graph()
    kms = np.array([km for _, _, km in edges])
    exact = two_terminal(pops, edges, availability(kms), core)
    wrong = {"no rerouting": no_reroute(pops, edges, core),
             "one core": two_terminal(pops, edges, availability(kms), core[:1]),
             "blind to length": two_terminal(pops, edges,
                                             availability(np.full(len(kms), kms.mean())), core)}
    measured: dict[str, list[float]] = {p: [] for p in pops}
    for seed in range(REPLICATIONS):
        run = twin.simulate(sc, seed=seed, out=tmp_path / f"r{seed}", report=False)
        faults = run.table("faults")
        assert set(faults["mode"]) == {"fibre_cut"}
        assert set(faults["target"]) <= set(topo.backbone.trunks)
        out = run.table("cell_outages")
        down = (out["end"] - out["start"]).groupby(out["cell"]).sum()
        for cell, pop in cells.items():
            measured[pop].append(1.0 - float(down.get(cell, 0.0)) / (DAYS * 86_400))
    misses = dict.fromkeys(wrong, 0)
    for pop in pops:
        v = np.array(measured[pop])
        mean, se = float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))
        if pop in core:  # always joined to itself
            assert mean == 1.0 and abs(exact[pop] - 1.0) < 1e-12, pop
            continue
        tol = max(4 * se, 0.003)
        assert tol < 0.03, f"{pop}: too noisy to test: tolerance {tol:.4f}"
        assert abs(mean - exact[pop]) <= tol, (
            f"{pop}: measured {mean:.4f} ± {se:.4f}, exact {exact[pop]:.4f}")
        for model, theirs in wrong.items():
            misses[model] += abs(mean - theirs[pop]) > tol
    assert all(n >= 3 for n in misses.values()), f"wrong models not told apart: {misses}"
