"""The statistics of a study: intervals, paired differences, Holm's correction, sensitivity.

Every variant ran on the same seeds, so a variant's difference to the baseline is taken seed
by seed (a paired difference) — each seed's storms and demand hit both designs alike and
cancel. Its mean gets a 95 % Student-t interval and a paired t-test. Comparing many variants
with the baseline at once, some would look significant by luck; Holm's step-down correction
keeps the chance of even one false "significant" at 5 % per metric. Each difference is then
said in words: ``lower`` / ``higher`` (significant after the correction), ``no significant
difference``, or ``identical on every seed`` (the two designs did exactly the same thing).

For sampled ranges the question is which parameter matters most. One least-squares fit per
metric, over every run, with a term per seed (common random numbers again), a slope per
sampled range (scaled so its effect is that of going from the low end to the high end) and
a step per non-baseline value of each grid field, gives each parameter's effect with an
interval — the bars of a tornado plot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

# Student's t through scipy.special (what scipy.stats.t.ppf and .sf call, to the same
# bits): scipy.stats takes a second longer to import, on the one core that every sweep
# waits for.
from scipy.special import stdtr, stdtrit

from twin.study.design import Range

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE

STAT_COLUMNS = ["variant", "metric", "n", "mean", "sd", "ci95", "diff", "diff_ci95", "p",
                "p_holm", "verdict"]
SENS_COLUMNS = ["metric", "parameter", "low", "high", "n", "effect", "ci95", "p", "p_holm",
                "verdict"]


def _t_quantile(df: int) -> float:
    """The Student-t quantile of a two-sided 95 % interval (``stats.t.ppf(0.975, df)``)."""
    return float(stdtrit(df, 0.5 + CONFIDENCE / 2))


def _two_sided_p(t: float | np.ndarray, df: int) -> float | np.ndarray:
    """The two-sided p-value of ``|t|`` (``2 * stats.t.sf(t, df)``)."""
    return 2 * stdtr(df, -np.asarray(t))  # type: ignore[no-any-return]


def interval(x: pd.Series) -> tuple[float, float, float]:
    """Mean, standard deviation and 95 % t half-width of a sample (NaNs dropped)."""
    x = x.dropna()
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, math.nan
    sd = float(x.std(ddof=1))
    half = float(_t_quantile(n - 1)) * sd / math.sqrt(n)
    return mean, sd, half


def paired_test(d: pd.Series) -> tuple[float, float, float]:
    """Mean paired difference, its 95 % half-width and the two-sided t-test's p-value."""
    mean, sd, half = interval(d)
    n = int(d.notna().sum())
    if n < 2:
        return mean, half, math.nan
    if sd == 0:  # every seed gave the same difference: no noise to test against
        return mean, 0.0, 1.0 if mean == 0 else 0.0
    t = mean / (sd / math.sqrt(n))
    return mean, half, float(_two_sided_p(abs(t), n - 1))


def holm(p: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (NaNs stay NaN and do not count)."""
    idx = [i for i, v in enumerate(p) if not math.isnan(v)]
    m = len(idx)
    out = [math.nan] * len(p)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: (p[i], i))):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def _verdict(diff: float, p_adj: float, identical: bool, words: tuple[str, str, str]) -> str:
    if identical:
        return "identical on every seed"
    if math.isnan(p_adj):
        return "too few seeds"
    if p_adj < ALPHA:
        return words[0] if diff < 0 else words[1]
    return words[2]


def variant_statistics(runs: pd.DataFrame, variants: Sequence[str], metrics: Sequence[str],
                       paired: bool = True) -> pd.DataFrame:
    """One row per variant and metric: the mean with its interval and, when ``paired``, the
    difference to the first variant paired by seed, with Holm's correction per metric."""
    rows = []
    base = runs[runs["variant"] == variants[0]].set_index("seed")
    for m in metrics:
        block = []
        for i, v in enumerate(variants):
            mine = runs[runs["variant"] == v].set_index("seed")
            mean, sd, half = interval(mine[m])
            row: dict[str, object] = {"variant": v, "metric": m, "n": int(mine[m].notna().sum()),
                                      "mean": mean, "sd": sd, "ci95": half, "diff": math.nan,
                                      "diff_ci95": math.nan, "p": math.nan, "verdict": ""}
            if paired and i == 0:
                row.update(diff=0.0, diff_ci95=0.0, verdict="baseline")
            elif paired:
                d = (mine[m] - base[m]).dropna()
                diff, dhalf, p = paired_test(d)
                row.update(diff=diff, diff_ci95=dhalf, p=p,
                           identical=bool(len(d) > 0 and (d == 0).all()))
            block.append(row)
        adjusted = holm([float(r["p"]) for r in block])  # type: ignore[arg-type]
        for r, pa in zip(block, adjusted, strict=True):
            r["p_holm"] = pa
            if paired and r["verdict"] != "baseline":
                r["verdict"] = _verdict(float(r["diff"]), pa,  # type: ignore[arg-type]
                                        bool(r.pop("identical", False)),
                                        ("lower", "higher", "no significant difference"))
            r.pop("identical", None)
        rows += block
    return pd.DataFrame(rows, columns=STAT_COLUMNS)


def sensitivity(runs: pd.DataFrame, ranges: Sequence[Range],
                vary: Mapping[str, Sequence[str]], metrics: Sequence[str]) -> pd.DataFrame:
    """Each parameter's effect on each metric (the tornado), fitted over every run.

    ``runs`` has ``seed``, one ``set.<path>`` column per parameter and the metrics.
    """
    terms: list[tuple[str, str, str, np.ndarray]] = []  # name, low, high, column
    for r in ranges:
        x = runs[f"set.{r.path}"].to_numpy(dtype=float)
        terms.append((r.path, _num(r.lo, r.integer), _num(r.hi, r.integer),
                      (x - r.lo) / (r.hi - r.lo)))
    for path, values in vary.items():
        col = runs[f"set.{path}"].astype(str).to_numpy()
        for v in values[1:]:
            terms.append((f"{path}={v}", str(values[0]), str(v), (col == str(v)).astype(float)))
    seeds = sorted(runs["seed"].unique())
    seed_cols = [(runs["seed"] == s).to_numpy(dtype=float) for s in seeds]
    rows = []
    for m in metrics:
        y = runs[m].to_numpy(dtype=float)
        ok = ~np.isnan(y)
        x = np.column_stack([*(t[3] for t in terms), *seed_cols])[ok]
        y = y[ok]
        # a seed or a level no valid run has (a metric undefined there) drops out of the fit
        keep = np.flatnonzero(np.any(x != 0, axis=0)) if len(y) else np.array([], dtype=int)
        x = x[:, keep]
        n, k = x.shape
        effect = np.full(len(terms), math.nan)
        half = np.full(len(terms), math.nan)
        p = np.full(len(terms), math.nan)
        fitted = [int(j) for j in keep if j < len(terms)]
        if n and k and int(np.linalg.matrix_rank(x)) == k:
            beta, *_ = np.linalg.lstsq(x, y, rcond=None)
            effect[fitted] = beta[:len(fitted)]
            df = n - k
            if df > 0:
                resid = y - x @ beta
                s2 = float(resid @ resid) / df
                se = np.sqrt(np.maximum(np.diag(np.linalg.inv(x.T @ x))[:len(fitted)] * s2, 0))
                half[fitted] = float(_t_quantile(df)) * se
                with np.errstate(divide="ignore", invalid="ignore"):
                    b = beta[:len(fitted)]
                    tval = np.where(se > 0, np.abs(b) / se, np.where(np.abs(b) > 0, np.inf, 0.0))
                p[fitted] = _two_sided_p(tval, df)
        adjusted = holm([float(v) for v in p])
        for j, (name, lo, hi, _) in enumerate(terms):
            e = float(effect[j])
            rows.append({"metric": m, "parameter": name, "low": lo, "high": hi, "n": int(n),
                         "effect": e, "ci95": float(half[j]), "p": float(p[j]),
                         "p_holm": adjusted[j],
                         "verdict": _verdict(e, adjusted[j], False,
                                             ("decreases it", "increases it",
                                              "no significant effect"))})
    return pd.DataFrame(rows, columns=SENS_COLUMNS)


def _num(v: float, integer: bool) -> str:
    return str(int(v)) if integer else f"{v:g}"


def half_widths(table: pd.DataFrame, sens: pd.DataFrame | None,
                targets: Mapping[str, float]) -> list[tuple[str, str, float, float]]:
    """The reported intervals that ``--until-ci`` looks at: (metric, what, half-width,
    target) for every paired difference or sensitivity effect of a targeted metric."""
    out = []
    if sens is not None:
        for r in sens.itertuples():
            if r.metric in targets and r.n > 0:  # a metric no run defined cannot narrow
                out.append((str(r.metric), str(r.parameter), float(r.ci95), targets[r.metric]))
    else:
        for r in table[table["verdict"] != "baseline"].itertuples():
            if r.metric in targets and r.n > 0:
                out.append((str(r.metric), str(r.variant), float(r.diff_ci95),
                            targets[r.metric]))
    return out


def seeds_needed(widths: Sequence[tuple[str, str, float, float]], n: int, cap: int) -> int:
    """How many seeds the next round should reach: the current ``n`` when every half-width
    is on target, else an estimate from half-width ∝ 1/√n, at most doubling per round (the
    estimate rests on few seeds) and never past ``cap``."""
    want = n
    for _, _, hw, target in widths:
        if math.isnan(hw):
            want = max(want, n + 1)
        elif hw > target:
            want = max(want, math.ceil(n * (hw / target) ** 2))
    if want == n:
        return n
    return min(cap, max(n + 1, min(want, 2 * n)))
