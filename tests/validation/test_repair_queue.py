"""The repair crews against queueing theory, and Little's law on the ticket queue.

``scenarios/oss_repair_queue.yaml`` reduces the OSS to a perfect dispatcher: K = 20 cells,
each failing at rate λ = 0.01/h while up (a failure of a cell already down is absorbed),
seen at once and repaired by the first free crew in an exponential time with rate
μ = 0.25/h, no travel. The number of cells down is then the finite-source (machine-repair)
queue M/M/c//K, with pₙ ∝ Π_{k<n} (K−k)λ / (min(k+1, c) μ): 1.997 cells down on average with
one crew, 0.871 with two.

Ten seeded replications of 240 days each (about 860 repairs per replication with one crew)
give the time-average number of cells down. Tolerance: within 6 % of the theory, which is
about 2.5 standard errors of the ten-replication mean for one crew (the run-to-run standard
deviation is about 0.16 cells) — and the theory must also lie inside the mean ± 3 standard
errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import twin

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "oss_repair_queue.yaml"
K, LAM, MU = 20, 0.01, 0.25
DAYS = 240
SEEDS = range(10)
pytestmark = pytest.mark.slow


def mean_down(k: int, lam: float, mu: float, c: int) -> float:
    """Mean number down in the finite-source queue M/M/c//K."""
    p = [1.0]
    for n in range(1, k + 1):
        p.append(p[-1] * (k - n + 1) * lam / (min(n, c) * mu))
    probs = np.array(p) / sum(p)
    return float((np.arange(k + 1) * probs).sum())


def test_theory_numbers() -> None:
    assert mean_down(K, LAM, MU, 1) == pytest.approx(1.997, abs=5e-4)
    assert mean_down(K, LAM, MU, 2) == pytest.approx(0.871, abs=5e-4)


def replicate(crews: int, seed: int, tmp: Path) -> twin.Run:
    return twin.simulate(SCENARIO, seed=seed, report=False, out=tmp / f"c{crews}s{seed}",
                         overrides=(f"oss.crews.count={crews}", f"duration={DAYS}d"))


def cells_down(run: twin.Run) -> float:
    o = run.table("cell_outages")
    return float((o["end"] - o["start"]).sum()) / (DAYS * 86_400)


@pytest.mark.parametrize("crews", [1, 2])
def test_cells_down_match_the_finite_source_queue(crews: int, tmp_path: Path) -> None:
    down = np.array([cells_down(replicate(crews, s, tmp_path)) for s in SEEDS])
    mean, se = down.mean(), down.std(ddof=1) / np.sqrt(down.size)
    theory = mean_down(K, LAM, MU, crews)
    assert mean == pytest.approx(theory, rel=0.06), (mean, se, theory)
    assert abs(mean - theory) < 3 * se, (mean, se, theory)


def open_tickets_sampled(tickets: pd.DataFrame, horizon: float, step: float) -> float:
    """Time-average number of open tickets, by looking at the queue every ``step`` seconds."""
    grid = np.arange(step / 2, horizon, step)
    closed = tickets["closed"].fillna(horizon).to_numpy()
    created = tickets["created"].to_numpy()
    opened = np.searchsorted(np.sort(created), grid, side="right")
    gone = np.searchsorted(np.sort(closed), grid, side="right")
    return float((opened - gone).mean())


def test_littles_law_on_the_ticket_queue(tmp_path: Path) -> None:
    """L (open tickets, sampled every 5 minutes) = λ (tickets per hour) × W (hours each
    stays open), within 1 %; L matches the cells really down within 2 %, since every dead
    cell holds exactly one ticket from its failure to its repair; and W is the theory's
    L / (λ (K − L)) = 11.09 h within 8 % (four replications)."""
    horizon = DAYS * 86_400.0
    ls, lws, downs, ws = [], [], [], []
    for seed in list(SEEDS)[:4]:
        run = replicate(1, seed, tmp_path)
        t = run.table("tickets")
        stay = (t["closed"].fillna(horizon) - t["created"]) / 3600
        lam, w = len(t) / (horizon / 3600), float(stay.mean())
        ls.append(open_tickets_sampled(t, horizon, 300.0))
        lws.append(lam * w)
        downs.append(cells_down(run))
        ws.append(w)
    assert np.mean(ls) == pytest.approx(np.mean(lws), rel=0.01)
    assert np.mean(ls) == pytest.approx(np.mean(downs), rel=0.02)
    # and the time a ticket stays open follows from the theory: W = L / (λ (K − L))
    big_l = mean_down(K, LAM, MU, 1)
    assert np.mean(ws) == pytest.approx(big_l / (LAM * (K - big_l)), rel=0.08)
