"""Design comparisons: the same scenario under several designs, replicated over seeds.

An architect's question is "does design B beat design A, and by how much?". One run per
design cannot answer it — the difference could be luck. :func:`compare` runs every variant
(each a set of ``--set``-style overrides) with the same seeds, so variant runs with the same
seed see the same demand and the same faults (the twin's random streams are keyed by name
and target: common random numbers). The differences between variants are then paired per
seed, which cancels most of the noise, and each metric is reported as a mean with a 95 %
Student-t confidence interval, plus the paired difference to the first (baseline) variant.

The result directory (written atomically, like a run directory) holds ``runs.csv`` (one row
per variant and seed with every numeric summary metric), ``comparison.csv`` (one row per
variant and metric), ``comparison.json`` (the same, with the sweep's definition) and
``manifest.json`` (``"kind": "comparison"``: what lets a later comparison replace it).
"""

from __future__ import annotations

import itertools
import json
import math
import multiprocessing
import re
import signal
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats

from twin import __version__
from twin.scenario import Scenario, ScenarioError, load
from twin.store import RunDirectory
from twin.store.run import flatten

DEFAULT_METRICS = (
    "traffic.blocking_ratio", "traffic.calls_lost_outage", "oss.mttd_s", "oss.mttr_s",
    "oss.rca_accuracy", "oss.crew_utilisation", "bss.lost_outage_minor",
    "bss.sla_credits_minor", "bss.billed_minor",
)
CONFIDENCE = 0.95
MAX_REPLICATIONS = 10_000
MAX_JOBS = 64  # processes at once


def parse_vary(items: Iterable[str]) -> dict[str, list[str]]:
    """``["oss.crews.count=1,2,3"]`` → ``{"oss.crews.count": ["1", "2", "3"]}``.

    Values split on commas outside brackets, so a list value stays whole:
    ``faults.scripted=[],[{…}]``.
    """
    out: dict[str, list[str]] = {}
    for item in items:
        path, sep, values = item.partition("=")
        if not sep or not path.strip() or not values.strip():
            raise ScenarioError("--vary", [f"{item!r}: expected PATH=VALUE1,VALUE2,…"])
        parts, depth, cur = [], 0, ""
        for ch in values:
            depth += ch in "[{"
            depth -= ch in "]}"
            if ch == "," and depth == 0:
                parts.append(cur.strip())
                cur = ""
            else:
                cur += ch
        parts.append(cur.strip())
        if path.strip() in out:
            raise ScenarioError("--vary", [f"{path.strip()}: given twice"])
        out[path.strip()] = parts
    return out


def _label(assign: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in assign.items()) or "baseline"


def _slug(label: str, index: int) -> str:
    return f"{index:02d}-" + (re.sub(r"[^A-Za-z0-9_.=-]+", "_", label)[:60] or "baseline")


def flatten_numeric(summary: Mapping[str, Any]) -> dict[str, float]:
    """The summary's numeric leaves as ``dotted.key → float`` (booleans and the seed out)."""
    return {k: float(v) for k, v in flatten(summary).items()
            if isinstance(v, int | float) and not isinstance(v, bool) and k != "seed"}


@dataclass(frozen=True)
class _Job:
    scenario: Scenario
    seed: int
    out: str | None


def _worker_signals() -> None:
    """A worker leaves Ctrl-C to the parent, which stops the pool; told to stop (SIGTERM),
    it exits quietly, its partial run directory removed on the way out."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_quietly)


def _exit_quietly(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def _run_one(job: _Job) -> dict[str, Any]:
    from twin.api import simulate

    if job.out is None:
        with tempfile.TemporaryDirectory(prefix="twin-compare-") as tmp:
            run = simulate(job.scenario, seed=job.seed, out=Path(tmp) / "run", report=False)
            return run.summary
    return simulate(job.scenario, seed=job.seed, out=job.out, report=False).summary


def _interval(x: pd.Series) -> tuple[float, float, float]:
    """Mean, standard deviation and 95 % t half-width of a sample (NaNs dropped)."""
    x = x.dropna()
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, math.nan
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sd / math.sqrt(n)
    return mean, sd, half


@dataclass
class Comparison:
    """A finished comparison: per-run metrics and per-variant statistics."""

    path: Path | None
    variants: list[str]
    seeds: list[int]
    runs: pd.DataFrame  # variant, seed, one column per metric
    table: pd.DataFrame  # variant, metric, n, mean, sd, ci95, diff, diff_ci95

    def metric(self, name: str) -> pd.DataFrame:
        return self.table[self.table["metric"] == name].set_index("variant")


def _statistics(runs: pd.DataFrame, variants: list[str], metrics: list[str]) -> pd.DataFrame:
    rows = []
    base = runs[runs["variant"] == variants[0]].set_index("seed")
    for v in variants:
        mine = runs[runs["variant"] == v].set_index("seed")
        for m in metrics:
            mean, sd, half = _interval(mine[m])
            diff, _, diff_half = _interval((mine[m] - base[m]).dropna())
            rows.append({"variant": v, "metric": m, "n": int(mine[m].notna().sum()),
                         "mean": mean, "sd": sd, "ci95": half,
                         "diff": diff if v != variants[0] else 0.0,
                         "diff_ci95": diff_half if v != variants[0] else 0.0})
    return pd.DataFrame(rows)


def compare(scenario: str | Path | Mapping[str, Any] | Scenario,
            vary: Mapping[str, Sequence[Any]], *, replications: int = 5,
            seed: int | None = None, overrides: Iterable[str] = (),
            metrics: Sequence[str] | None = None, out: str | Path | None = None,
            keep_runs: bool = False, jobs: int = 1,
            progress: Callable[[int, int], None] | None = None) -> Comparison:
    """Run every combination of ``vary`` values over ``replications`` seeds.

    ``vary`` maps a scenario field path to its values (each a ``--set`` value); every
    combination is a variant, the first is the baseline. Seeds are ``seed`` (default the
    scenario's), ``seed + 1``, …, the same for every variant. ``metrics`` are dotted summary
    keys (default: :data:`DEFAULT_METRICS` present in the summary; ``["all"]``: every
    numeric key). ``out`` (optional) receives the result files and, with ``keep_runs``,
    every run directory. Every variant is validated before anything runs.
    """
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise ScenarioError("--replications", [
            f"--replications: from 1 to {MAX_REPLICATIONS:,} (got {replications})"])
    if not 1 <= jobs <= MAX_JOBS:
        raise ScenarioError("--jobs", [f"--jobs: from 1 to {MAX_JOBS} (got {jobs})"])
    if not vary:
        raise ScenarioError("--vary", ["give at least one PATH=VALUE1,VALUE2,…"])
    base_overrides = list(overrides)
    keys = list(vary)
    combos = [dict(zip(keys, (str(v) for v in values), strict=True))
              for values in itertools.product(*(vary[k] for k in keys))]
    scenarios: list[Scenario] = []
    for combo in combos:  # validate every variant first: a bad one stops the sweep unrun
        sc = load(scenario, [*base_overrides, *(f"{k}={v}" for k, v in combo.items())])
        scenarios.append(sc)
    labels = [_label(c) for c in combos]
    if len(set(labels)) != len(labels):
        raise ScenarioError("--vary", ["the same value is given twice"])
    first = seed if seed is not None else scenarios[0].seed
    seeds = [first + r for r in range(replications)]

    def execute(run_root: Path | None) -> list[dict[str, Any]]:
        jobs_list = [
            _Job(sc, s, None if run_root is None
                 else str(run_root / _slug(label, i) / f"seed-{s}"))
            for i, (sc, label) in enumerate(zip(scenarios, labels, strict=True))
            for s in seeds]
        done = 0
        results: list[dict[str, Any]] = []
        if jobs == 1:
            for job in jobs_list:
                results.append(_run_one(job))
                done += 1
                if progress:
                    progress(done, len(jobs_list))
            return results
        pool = multiprocessing.get_context().Pool(min(jobs, len(jobs_list)),
                                                  initializer=_worker_signals)
        try:
            for summary in pool.imap(_run_one, jobs_list):
                results.append(summary)
                done += 1
                if progress:
                    progress(done, len(jobs_list))
        except BaseException:
            pool.terminate()  # an interrupt or a failed run: stop the others now
            raise
        finally:
            pool.close()
            pool.join()
        return results

    def build(summaries: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
        flat = [flatten_numeric(s) for s in summaries]
        rows = [{"variant": label, "seed": s, **flat[i * len(seeds) + j]}
                for i, label in enumerate(labels) for j, s in enumerate(seeds)]
        runs = pd.DataFrame(rows)
        available = [c for c in runs.columns if c not in ("variant", "seed")]
        if metrics is None:
            chosen = [m for m in DEFAULT_METRICS if m in available]
        elif list(metrics) == ["all"]:
            chosen = available
        else:
            unknown = [m for m in metrics if m not in available]
            if unknown:
                raise ScenarioError("--metric", [f"{m}: not a numeric summary key" for m in unknown]
                                    + [f"known keys: {', '.join(available)}"])
            chosen = list(metrics)
        runs = runs[["variant", "seed", *chosen]]
        return runs, _statistics(runs, labels, chosen), chosen

    if out is None:
        runs, table, _ = build(execute(None))
        return Comparison(None, labels, seeds, runs, table)
    with RunDirectory(Path(out), kind="comparison") as rd:
        runs, table, chosen = build(execute(rd.tmp / "runs" if keep_runs else None))
        runs.to_csv(rd.tmp / "runs.csv", index=False)
        table.to_csv(rd.tmp / "comparison.csv", index=False)
        rd.write_json("comparison.json", {
            "scenario": scenarios[0].name, "vary": {k: list(map(str, v)) for k, v in vary.items()},
            "overrides": base_overrides, "seeds": seeds, "variants": labels,
            "metrics": chosen, "confidence": CONFIDENCE,
            "statistics": json.loads(table.to_json(orient="records")),
        })
        # marks the directory as the twin's, so a later comparison may replace it
        rd.write_json("manifest.json", {"twin_version": __version__, "kind": "comparison",
                                        "scenario": scenarios[0].name, "seeds": seeds})
        path = rd.commit()
    return Comparison(path, labels, seeds, runs, table)
