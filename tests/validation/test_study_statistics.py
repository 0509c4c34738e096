"""The study statistics against theory, over seeded replications of synthetic studies.

- The 95 % paired-difference interval covers the true difference 95 % of the time
  (binomial tolerance: 2,000 studies, ±1.5 points ≈ 3 standard errors).
- Holm's correction keeps the family-wise error — the chance that any of k designs with no
  real difference is called significant — at or below 5 %, where uncorrected tests would
  reach 1 − 0.95^k (≈ 23 % for k = 5).
- The sensitivity fit's 95 % interval covers the true effect 95 % of the time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.study.design import Range
from twin.study.statistics import holm, paired_test, sensitivity

STUDIES = 2000
TOL = 0.015


def _study(rng: np.random.Generator, effects: list[float], seeds: int) -> np.ndarray:
    """designs × seeds: each seed has its own level (common random numbers); each design
    adds its effect and independent noise."""
    level = rng.normal(100, 30, seeds)
    return level + np.array(effects)[:, None] + rng.normal(0, 5, (len(effects), seeds))


def test_paired_interval_coverage() -> None:
    rng = np.random.default_rng(2024)
    covered = 0
    for _ in range(STUDIES):
        y = _study(rng, [0.0, 3.0], 6)
        diff, half, _ = paired_test(pd.Series(y[1] - y[0]))
        covered += abs(diff - 3.0) <= half
    assert abs(covered / STUDIES - 0.95) < TOL, covered / STUDIES


def test_holm_keeps_the_family_wise_error_at_5_percent() -> None:
    rng = np.random.default_rng(7)
    k = 5
    any_raw = any_holm = 0
    for _ in range(STUDIES):
        y = _study(rng, [0.0] * (k + 1), 5)
        p = [paired_test(pd.Series(y[i] - y[0]))[2] for i in range(1, k + 1)]
        any_raw += min(p) < 0.05
        any_holm += min(holm(p)) < 0.05
    assert any_holm / STUDIES <= 0.05 + TOL, any_holm / STUDIES
    assert abs(any_raw / STUDIES - (1 - 0.95 ** k)) < 3 * TOL  # what the correction prevents


def test_sensitivity_interval_coverage() -> None:
    rng = np.random.default_rng(11)
    covered = 0
    n = 500  # each fit is a small least-squares problem
    for _ in range(n):
        rows = []
        for seed in range(3):
            level = rng.normal(50, 20)
            for x in rng.uniform(10, 30, 6):
                rows.append({"seed": seed, "set.x": x,
                             "y": level + 0.5 * x + rng.normal(0, 2)})
        row = sensitivity(pd.DataFrame(rows), [Range("x", 10, 30, False)], {}, ["y"]).iloc[0]
        covered += abs(row["effect"] - 0.5 * 20) <= row["ci95"]  # 0.5 per unit × 20 units
    assert abs(covered / n - 0.95) < 0.03, covered / n  # ±3 standard errors for n = 500
