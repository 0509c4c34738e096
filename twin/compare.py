"""Design comparisons: the same scenario under several designs, replicated over seeds.

An architect's question is "does design B beat design A, and by how much?". One run per
design cannot answer it — the difference could be luck. :func:`compare` runs every variant
(each a set of ``--set``-style overrides) with the same seeds, so variant runs with the same
seed see the same demand and the same faults (the twin's random streams are keyed by name
and target: common random numbers). The differences between variants are then paired per
seed, which cancels most of the noise, and each metric is reported as a mean with a 95 %
Student-t confidence interval, plus the paired difference to the first (baseline) variant,
its p-value corrected for the number of variants (Holm) and a verdict in words.

It is a grid study on the study engine (:mod:`twin.study`): runs go to dask.distributed,
finished runs are cached by key, and ``--out`` receives the same files as ``twin sweep``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from twin.scenario import Scenario, ScenarioError
from twin.study.design import parse_vary
from twin.study.metrics import DEFAULT_METRICS
from twin.study.study import Study, sweep

Comparison = Study

__all__ = ["DEFAULT_METRICS", "Comparison", "compare", "parse_vary"]


def compare(scenario: str | Path | Mapping[str, Any] | Scenario,
            vary: Mapping[str, Sequence[Any]], *, replications: int = 5,
            seed: int | None = None, overrides: Iterable[str] = (),
            metrics: Sequence[str] | None = None, out: str | Path | None = None,
            keep_runs: bool = False, workers: int | None = None,
            scheduler: str | None = None, until_ci: float | Mapping[str, float] | None = None,
            max_seeds: int = 40, progress: Callable[[int, int], None] | None = None,
            log: Callable[[str], None] | None = None) -> Study:
    """Run every combination of ``vary`` values over ``replications`` seeds.

    ``vary`` maps a scenario field path to its values (each a ``--set`` value); every
    combination is a variant, the first is the baseline. Seeds are ``seed`` (default the
    scenario's), ``seed + 1``, …, the same for every variant. ``metrics`` are dotted summary
    keys (default :data:`DEFAULT_METRICS`; ``["all"]``: every numeric key). ``workers``,
    ``scheduler``, ``until_ci`` and ``out`` are as in :func:`twin.sweep`. Every variant and
    metric is checked before anything runs.
    """
    if not vary:
        raise ScenarioError("--vary", ["give at least one PATH=VALUE1,VALUE2,…"])
    return sweep(scenario, vary, replications=replications, seed=seed, overrides=overrides,
                 metrics=metrics, out=out, keep_runs=keep_runs, workers=workers,
                 scheduler=scheduler, until_ci=until_ci, max_seeds=max_seeds,
                 progress=progress, log=log, command="compare")
