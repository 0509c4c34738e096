"""Availability against reliability theory.

Faults come from MTBF (exponential gaps) and end after a repair time the scenario fixes
(``faults.random.repair.by: fixed``: no crews, no detection delay), so each element is an
alternating renewal process with A = MTBF / (MTBF + MTTR). A cell's service availability is
then the product along its path (series) and 1 − Π(1 − Aᵢ) across redundant paths
(parallel, independent repair). Availability is measured from the ``cell_outages`` truth
table over R seeded one-year replications; the mean must lie within max(3 standard errors,
0.002) of theory, and that tolerance must be tight (under 1% of A) so the test can fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import twin

CATALOG = str(Path(__file__).resolve().parents[2] / "scenarios" / "catalogs" / "default.yaml")
MTBF_H, MTTR_H = 100.0, 10.0
A = MTBF_H / (MTBF_H + MTTR_H)
DAYS = 365
REPLICATIONS = 8


def scenario(elements: list[dict[str, Any]], links: list[dict[str, str]],
             mtbf: dict[str, float]) -> dict[str, Any]:
    return {
        "name": "availability", "description": "availability experiment",
        "start": "2026-01-01T00:00:00Z", "duration": f"{DAYS}d",
        "network": {"elements": elements, "links": links,
                    "telemetry": {"cdr_duplicate_rate": 0.0}},
        "subscribers": {"count": 1, "mix": {"consumer_postpaid": 1.0}},
        "traffic": {"interval": "1d", "profile": "flat",
                    "voice": {"calls_per_sub_day": 0}, "data": {"sessions_per_sub_day": 0}},
        "faults": {"random": {"mtbf_h": mtbf,
                              "repair": {"by": "fixed", "mttr_h": MTTR_H,
                                         "dist": "deterministic"}}},
        "bss": {"catalog": CATALOG},
    }


def measured(sc: dict[str, Any], tmp_path: Path) -> tuple[float, float]:
    values = []
    for seed in range(REPLICATIONS):
        run = twin.simulate(sc, seed=seed, out=tmp_path / f"r{seed}", report=False)
        out = run.table("cell_outages")
        values.append(1.0 - float((out["end"] - out["start"]).sum()) / (DAYS * 86_400))
        # the OSS still watches and sends crews, but fixed-time faults outlast them
        assert run.summary["oss"]["tickets"] > 0
    v = np.array(values)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))


def check(mean: float, se: float, theory: float) -> None:
    tol = max(3 * se, 0.002)
    assert tol < 0.01 * theory, f"too noisy to test: tolerance {tol:.4f}"
    assert abs(mean - theory) <= tol, f"measured {mean:.4f} ± {se:.4f}, theory {theory:.4f}"


CORE = {"id": "core1", "type": "core_router"}


def test_single_element(tmp_path: Path) -> None:
    sc = scenario([CORE, {"id": "cell1", "type": "cell"}], [{"a": "cell1", "b": "core1"}],
                  {"cell": MTBF_H})
    check(*measured(sc, tmp_path), A)


def test_two_elements_in_series(tmp_path: Path) -> None:
    sc = scenario([CORE, {"id": "r1", "type": "site_router"}, {"id": "cell1", "type": "cell"}],
                  [{"a": "cell1", "b": "r1"}, {"a": "r1", "b": "core1"}],
                  {"cell": MTBF_H, "site_router": MTBF_H})
    check(*measured(sc, tmp_path), A * A)


def test_redundant_pair_in_parallel(tmp_path: Path) -> None:
    """A cell homed on two routers, each with its own path to the core: the pair is up
    unless both are down; the cell itself never fails here."""
    sc = scenario([CORE, {"id": "r1", "type": "site_router"},
                   {"id": "r2", "type": "site_router"}, {"id": "cell1", "type": "cell"}],
                  [{"a": "cell1", "b": "r1"}, {"a": "cell1", "b": "r2"},
                   {"a": "r1", "b": "core1"}, {"a": "r2", "b": "core1"}],
                  {"site_router": MTBF_H})
    check(*measured(sc, tmp_path), 1 - (1 - A) ** 2)


@pytest.mark.parametrize("shape", [0.7, 2.0])
def test_weibull_gaps_keep_the_mean_time_between_failures(shape: float,
                                                          tmp_path: Path) -> None:
    sc = scenario([CORE, {"id": "cell1", "type": "cell"}], [{"a": "cell1", "b": "core1"}],
                  {"cell": MTBF_H})
    sc["faults"]["random"]["distribution"] = "weibull"
    sc["faults"]["random"]["weibull_shape"] = shape
    sc["faults"]["random"]["repair"]["mttr_h"] = 0.01
    counts = [twin.simulate(sc, seed=s, out=tmp_path / f"w{s}", report=False)
              .summary["faults"]["injected"] for s in range(4)]
    expected = DAYS * 24 / MTBF_H  # ≈ 87.6 a year whatever the shape
    assert abs(np.mean(counts) - expected) < 0.12 * expected
