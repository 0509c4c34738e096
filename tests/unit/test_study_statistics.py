"""Study statistics: paired t-tests against scipy, Holm by hand, verdicts, the sensitivity
fit on data whose effects are known, and how --until-ci picks the next number of seeds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twin.study.design import Range
from twin.study.statistics import (
    _t_quantile,
    _two_sided_p,
    holm,
    paired_test,
    seeds_needed,
    sensitivity,
    variant_statistics,
)


def test_paired_test_is_scipys_paired_t_test() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(10, 3, 8)
    b = a + rng.normal(0.8, 1, 8)
    mean, half, p = paired_test(pd.Series(b - a))
    assert p == pytest.approx(stats.ttest_rel(b, a).pvalue)
    assert mean == pytest.approx((b - a).mean())
    assert half == pytest.approx(stats.t.ppf(0.975, 7) * (b - a).std(ddof=1) / math.sqrt(8))


def test_student_t_is_scipy_stats_to_the_bit() -> None:
    # the study reads t through scipy.special (a lighter import): the same numbers exactly,
    # so a table never changes with how the quantile was reached
    for df in [*range(1, 120), 500, 10**6]:
        assert _t_quantile(df) == float(stats.t.ppf(0.975, df))
        t = np.concatenate([[0.0, np.inf], np.linspace(0, 40, 401), np.logspace(-6, 3, 200)])
        assert np.array_equal(_two_sided_p(t, df), 2 * stats.t.sf(t, df))
        assert float(_two_sided_p(2.5, df)) == float(2 * stats.t.sf(2.5, df))


def test_paired_test_without_noise() -> None:
    assert paired_test(pd.Series([0.0, 0.0, 0.0])) == (0.0, 0.0, 1.0)
    assert paired_test(pd.Series([2.0, 2.0, 2.0])) == (2.0, 0.0, 0.0)
    mean, half, p = paired_test(pd.Series([1.0]))
    assert mean == 1.0 and math.isnan(half) and math.isnan(p)


def test_holm_by_hand() -> None:
    # sorted 0.01, 0.02, 0.03, 0.5 → ×4, ×3, ×2, ×1, then monotone: 0.04, 0.06, 0.06, 0.5
    assert holm([0.03, 0.01, 0.5, 0.02]) == pytest.approx([0.06, 0.04, 0.5, 0.06])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # 2 × 0.8 capped at 1
    out = holm([math.nan, 0.02, 0.04])
    assert math.isnan(out[0]) and out[1:] == pytest.approx([0.04, 0.04])


def _runs(values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"variant": v, "seed": s, "m": x}
                         for v, xs in values.items() for s, x in enumerate(xs)])


def test_verdicts_say_what_the_numbers_say() -> None:
    runs = _runs({"a": [10, 12, 9, 14, 11], "same": [10, 12, 9, 14, 11],
                  "lower": [7, 9.2, 5.9, 11, 8.1], "noise": [11, 11, 10, 13, 12]})
    table = variant_statistics(runs, ["a", "same", "lower", "noise"], ["m"]).set_index("variant")
    assert table.loc["a", "verdict"] == "baseline"
    assert table.loc["same", "verdict"] == "identical on every seed"
    assert table.loc["lower", "verdict"] == "lower"
    assert table.loc["noise", "verdict"] == "no significant difference"
    raw = [table.loc[v, "p"] for v in ("same", "lower", "noise")]
    assert list(table.loc[["same", "lower", "noise"], "p_holm"]) == pytest.approx(holm(raw))
    # a seed missing in one variant (a failed run) drops out of that variant's pairs
    runs = runs[~((runs["variant"] == "lower") & (runs["seed"] == 0))]
    table = variant_statistics(runs, ["a", "same", "lower", "noise"], ["m"]).set_index("variant")
    assert table.loc["lower", "n"] == 4


def test_sensitivity_recovers_known_effects() -> None:
    """y = 3·x (x over 10..20) − 5·[policy=b] + a seed's own level, no noise: the fit
    returns +30 for x over its range and −5 for the policy, exactly."""
    rng = np.random.default_rng(7)
    rows = []
    for seed in range(4):
        level = rng.normal(100, 20)
        for x in (10.0, 12.5, 17.0, 20.0):
            for pol in ("a", "b"):
                rows.append({"seed": seed, "set.x": x, "set.p": pol,
                             "y": level + 3 * x - 5 * (pol == "b") + 1e-6 * rng.normal()})
    runs = pd.DataFrame(rows)
    sens = sensitivity(runs, [Range("x", 10, 20, False)], {"p": ["a", "b"]}, ["y"])
    sens = sens.set_index("parameter")
    assert sens.loc["x", "effect"] == pytest.approx(30, abs=1e-4)
    assert sens.loc["p=b", "effect"] == pytest.approx(-5, abs=1e-4)
    assert sens.loc["x", "verdict"] == "increases it"
    assert sens.loc["p=b", "verdict"] == "decreases it"
    assert (sens.loc["x", "low"], sens.loc["x", "high"]) == ("10", "20")


def test_sensitivity_interval_matches_ordinary_least_squares() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, 24)
    seeds = np.repeat(np.arange(3), 8)
    y = 2 * x + seeds + rng.normal(0, 0.5, 24)
    runs = pd.DataFrame({"seed": seeds, "set.x": x, "y": y})
    row = sensitivity(runs, [Range("x", 0, 1, False)], {}, ["y"]).iloc[0]
    # the same model by hand: y ~ x + seed dummies
    design = np.column_stack([x, *(seeds == s for s in range(3))]).astype(float)
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    s2 = resid @ resid / (24 - 4)
    se = math.sqrt(np.linalg.inv(design.T @ design)[0, 0] * s2)
    assert row["effect"] == pytest.approx(beta[0])
    assert row["ci95"] == pytest.approx(stats.t.ppf(0.975, 20) * se)
    assert row["p"] == pytest.approx(2 * stats.t.sf(abs(beta[0]) / se, 20))


def test_sensitivity_when_a_metric_is_undefined_for_a_seed() -> None:
    runs = pd.DataFrame({"seed": [0, 0, 0, 1, 1, 1, 2, 2, 2],
                         "set.x": [0.0, 0.5, 1.0] * 3,
                         "y": [1.0, 2.0, 3.1, 2.0, 3.0, 3.9, math.nan, math.nan, math.nan]})
    row = sensitivity(runs, [Range("x", 0, 1, False)], {}, ["y"]).iloc[0]
    assert row["n"] == 6 and row["effect"] == pytest.approx(1.95, abs=0.1)
    empty = sensitivity(runs.assign(y=math.nan), [Range("x", 0, 1, False)], {}, ["y"])
    assert math.isnan(empty.iloc[0]["effect"])


def test_seeds_needed() -> None:
    on_target = [("m", "v", 4.0, 5.0)]
    assert seeds_needed(on_target, 5, 40) == 5
    # half-width 2× the target: 4× the seeds, but at most double per round
    assert seeds_needed([("m", "v", 10.0, 5.0)], 5, 40) == 10
    assert seeds_needed([("m", "v", 5.5, 5.0)], 5, 40) == 7  # ⌈5·1.21⌉
    assert seeds_needed([("m", "v", 10.0, 5.0)], 30, 40) == 40  # the cap
    assert seeds_needed([("m", "v", math.nan, 5.0)], 5, 40) == 6
