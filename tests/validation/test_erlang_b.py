"""Validation against queueing theory: a single cell is an Erlang loss system.

A cell with ``N`` voice channels offered Poisson calls is an M/G/N/N loss system. Its call
blocking is given by the Erlang B formula ``B(E, N)`` of the offered load ``E`` (Erlang) alone,
whatever the holding-time distribution (insensitivity). Each case below runs one explicit
cell (one core router, one cell, one link; flat profile, no faults, no data sessions) for
``R`` seeded replications and compares:

* **blocking** — per replication ``calls_blocked / calls_offered`` from the summary; the
  mean over replications must lie within ``max(3 * SE, floor)`` of ``B(E, N)``, with SE the
  standard error of that mean estimated from the replications themselves. Three standard
  errors make a fixed-seed false alarm unlikely (about 1 in 50 for a t-distribution with
  R - 1 >= 7 degrees of freedom; the seeds are fixed, so a pass stays a pass). The test
  also asserts that the tolerance is at most 12 % of ``B`` (20 % in the low-blocking case,
  where blocked calls are rare), so it cannot pass on noise alone. Real defects move
  blocking much further: one channel too few at E=10, N=15 gives 0.057 instead of 0.0365,
  and replaying an interval without the calls carried over from the previous one (a
  mutation tried while writing this test) lands 13 SE low at E=10, N=15 and 6 SE low at
  E=20, N=20. The absolute floor of 0.0005 matters only for low blocking (B(5, 12) =
  0.0034, about 150 blocked calls per run); that case checks that the fast path, which
  admits whole intervals that "cannot block", neither invents nor hides blocking.
* **carried traffic (Little's law)** — the time-average number of busy channels, the mean of
  the ``traffic`` table's ``carried_erlang`` column, must equal ``E * (1 - B)`` within
  ``max(3 * SE, 0.5 % of E)``. The floor covers the small bias of starting with every
  channel idle (about ``E * E[H^2] / (2 E[H] T)``, well under 0.2 % here).

Offered load is set through the subscriber base: ``E = subs * calls_per_sub_day / 86400 *
mean_holding_s``. The cases use a one-hour generation interval (the model is the same for
any interval; a longer one has less per-interval overhead) except the first, which keeps the
default 15-minute interval so many calls straddle interval boundaries. The whole module
takes about 40 s of CPU.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import twin

CATALOG = Path(__file__).resolve().parents[2] / "scenarios" / "catalogs" / "default.yaml"
SUBSCRIBERS = 1000
BLOCKING_FLOOR = 0.0005
MAX_REL_TOLERANCE = 0.12
CARRIED_FLOOR_REL = 0.005


def erlang_b(load: float, channels: int) -> float:
    """Erlang B by the standard recursion B(E, 0) = 1, B(E, k) = E B / (k + E B)."""
    b = 1.0
    for k in range(1, channels + 1):
        b = load * b / (k + load * b)
    return b


@dataclass(frozen=True)
class Case:
    id: str
    load: float
    channels: int
    holding: dict[str, Any]
    days: float
    reps: int
    interval_s: float = 3600.0
    first_seed: int = 1
    max_rel_tol: float = MAX_REL_TOLERANCE

    @property
    def theory(self) -> float:
        return erlang_b(self.load, self.channels)


CASES = [
    Case("E10-N15-exponential", 10.0, 15, {"dist": "exponential", "mean_s": 100.0},
         days=4, reps=10, interval_s=900.0),
    Case("E10-N15-lognormal-s1.5", 10.0, 15,
         {"dist": "lognormal", "mean_s": 100.0, "sigma": 1.5}, days=8, reps=10),
    Case("E10-N15-deterministic", 10.0, 15, {"dist": "deterministic", "mean_s": 100.0},
         days=4, reps=8),
    Case("E10-N15-loglogistic-b2.5", 10.0, 15,
         {"dist": "loglogistic", "mean_s": 100.0, "shape": 2.5}, days=6, reps=10),
    Case("E20-N20-exponential", 20.0, 20, {"dist": "exponential", "mean_s": 100.0},
         days=3, reps=8),
    Case("E5-N12-lognormal-low-blocking", 5.0, 12,
         {"dist": "lognormal", "mean_s": 100.0, "sigma": 1.0}, days=10, reps=10,
         max_rel_tol=0.2),
]


def single_cell(case: Case, catalog: dict[str, Any]) -> dict[str, Any]:
    mean_s = float(case.holding["mean_s"])
    return {
        "name": f"erlang-{case.id}",
        "description": f"One cell, {case.channels} channels, {case.load} Erlang offered.",
        "start": "2026-01-05T00:00:00Z",
        "duration": case.days * 86_400.0,
        "network": {
            "elements": [{"id": "core1", "type": "core_router"},
                         {"id": "cell1", "type": "cell", "voice_channels": case.channels}],
            "links": [{"a": "cell1", "b": "core1"}],
        },
        "subscribers": {"count": SUBSCRIBERS, "mix": {"consumer_postpaid": 1.0}},
        "traffic": {
            "profile": "flat",
            "interval": case.interval_s,
            "voice": {"calls_per_sub_day": case.load * 86_400.0 / mean_s / SUBSCRIBERS,
                      "holding": dict(case.holding)},
            "data": {"sessions_per_sub_day": 0},
            # a clean radio: a drop frees its channel early, and Erlang B knows no drops
            "radio": {"drop_rate": 0.0},
        },
        "faults": {"random": {"mtbf_h": {}}, "scripted": []},
        "bss": {"catalog": copy.deepcopy(catalog)},
    }


def replicate(case: Case, tmp: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-replication blocking and mean carried Erlang, and the total calls offered."""
    catalog = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    scenario = single_cell(case, catalog)
    blocking, carried, offered = [], [], 0
    for r in range(case.reps):
        run = twin.simulate(scenario, seed=case.first_seed + r, out=tmp / f"rep{r}",
                            report=False)
        tr = run.summary["traffic"]
        assert tr["calls_offered"] > 0
        assert tr["calls_lost_outage"] == 0 and tr["calls_dropped"] == 0
        blocking.append(tr["calls_blocked"] / tr["calls_offered"])
        carried.append(float(run.table("traffic")["carried_erlang"].mean()))
        offered += tr["calls_offered"]
    return np.array(blocking), np.array(carried), offered


def mean_and_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


# --- the oracle itself --------------------------------------------------------------------


@pytest.mark.parametrize(("load", "channels", "expected"), [
    (10.0, 15, 0.0365), (20.0, 20, 0.1589), (5.0, 12, 0.00344), (1.0, 1, 0.5), (2.0, 2, 0.4),
])
def test_erlang_b_recursion_matches_tables(load: float, channels: int, expected: float) -> None:
    assert erlang_b(load, channels) == pytest.approx(expected, rel=2e-3)


def test_erlang_b_recursion_matches_scipy_truncated_poisson() -> None:
    stats = pytest.importorskip("scipy.stats")
    for load in (0.5, 3.0, 10.0, 20.0, 45.5):
        for channels in (1, 5, 15, 20, 60):
            closed = stats.poisson.pmf(channels, load) / stats.poisson.cdf(channels, load)
            assert erlang_b(load, channels) == pytest.approx(closed, rel=1e-9)


# --- the simulated cell against the oracle ------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_single_cell_blocking_matches_erlang_b(case: Case, tmp_path: Path) -> None:
    blocking, carried, offered = replicate(case, tmp_path)
    theory = case.theory

    b_mean, b_se = mean_and_se(blocking)
    b_tol = max(3.0 * b_se, BLOCKING_FLOOR)
    detail = (f"{case.id}: measured B = {b_mean:.5f} ± {b_se:.5f} (SE, {case.reps} reps, "
              f"{offered} calls) vs Erlang B({case.load:g}, {case.channels}) = {theory:.5f}; "
              f"tolerance {b_tol:.5f}")
    assert b_tol <= max(case.max_rel_tol * theory, BLOCKING_FLOOR), (
        "too noisy to validate anything: " + detail)
    assert abs(b_mean - theory) <= b_tol, detail

    c_theory = case.load * (1.0 - theory)
    c_mean, c_se = mean_and_se(carried)
    c_tol = max(3.0 * c_se, CARRIED_FLOOR_REL * case.load)
    assert abs(c_mean - c_theory) <= c_tol, (
        f"{case.id}: mean carried {c_mean:.4f} ± {c_se:.4f} Erlang vs "
        f"E(1-B) = {c_theory:.4f}; tolerance {c_tol:.4f}")
