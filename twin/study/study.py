"""A design study: many variants of a scenario, each over the same seeds, on a cluster.

:func:`sweep` checks everything it can before the first simulation (every varied and sampled
field against the scenario schema, every metric against the summary keys, the output
directory), works out each run's key, skips the runs a cache already holds, sends the rest
to the :class:`~twin.study.engine.Engine`, and turns the summaries into one table of runs
and the statistics an architect reads: means, paired differences with Holm's correction,
and — for sampled ranges — each parameter's effect (a tornado). ``until_ci`` adds seeds in
rounds until every reported difference is as narrow as asked.

The result directory (``--out``) is the study's own: ``sweep.json`` (the marker that says a
twin study wrote this directory, with the study's definition and outcome), ``summaries.parquet``
and ``summaries.csv`` (a row per run), ``statistics.csv``, ``sensitivity.csv`` (sampled
designs), ``figures/`` and ``cache/`` (a JSON summary per finished run, by key). Running the
same study again, or a larger one, into the same directory runs only what is missing.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.scenario import Scenario, ScenarioError, dump, load
from twin.study.cache import ResultCache, code_version, run_key, write_atomic
from twin.study.design import Design, Range, SampleKind, Variant, parse_sample, value_of
from twin.study.engine import Engine, Outcome, RunSpec, check_scheduler
from twin.study.metrics import choose_metrics

if TYPE_CHECKING:
    import pandas as pd

MARKER = "sweep.json"
KIND = "twin-study"
OUTPUTS = ("summaries.parquet", "summaries.csv", "statistics.csv", "sensitivity.csv",
           "figures/effects.png", "figures/tornado.png")
MAX_PROBLEMS = 20


@dataclass
class Study:
    """A finished study: the runs, their statistics, and how the study went."""

    path: Path | None
    variants: list[str]
    seeds: list[int]
    metrics: list[str]
    runs: pd.DataFrame  # variant, seed, one column per chosen metric
    table: pd.DataFrame  # statistics.csv: a row per variant and metric
    summaries: pd.DataFrame  # summaries.parquet: a row per run, every metric
    sensitivity: pd.DataFrame | None = None  # sampled designs: a row per metric and parameter
    executed: int = 0
    cached: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    until_ci: dict[str, Any] | None = None
    where: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    def metric(self, name: str) -> pd.DataFrame:
        """One metric's statistics, indexed by variant."""
        return self.table[self.table["metric"] == name].set_index("variant")


def is_study_dir(path: Path) -> bool:
    """A directory a twin study wrote: it holds a ``sweep.json`` of this kind."""
    try:
        data = json.loads((path / MARKER).read_text(encoding="utf-8"))
        return isinstance(data, dict) and data.get("kind") == KIND
    except (OSError, ValueError):
        return False


def _ranges(sample: Mapping[str, tuple[float, float]] | Iterable[str]) -> list[Range]:
    if isinstance(sample, Mapping):
        return parse_sample(f"{k}={lo}..{hi}" for k, (lo, hi) in sample.items())
    return parse_sample(sample)


def _targets(until_ci: float | Mapping[str, float] | None,
             metrics: list[str]) -> dict[str, float]:
    if until_ci is None:
        return {}
    targets = ({m: float(until_ci) for m in metrics} if isinstance(until_ci, int | float)
               else {k: float(v) for k, v in until_ci.items()})
    problems = [f"{k}: not among this study's metrics ({', '.join(metrics)})"
                for k in targets if k not in metrics]
    problems += [f"{k}: the half-width must be above 0 (got {v:g})"
                 for k, v in targets.items() if not v > 0]
    if problems:
        raise ScenarioError("--until-ci", problems)
    return targets


def _load_variants(scenario: str | Path | Mapping[str, Any] | Scenario, overrides: list[str],
                   vary: Mapping[str, Sequence[str]], ranges: list[Range],
                   variants: list[Variant]) -> list[Scenario]:
    """Every varied value and both ends of every range alone, then every variant, validated
    before anything runs; a problem is told once, with the option that caused it."""
    source = str(scenario) if isinstance(scenario, str | Path) else "scenario"
    problems: dict[str, str] = {}

    def check(assign: list[str], where: str) -> Scenario | None:
        try:
            return load(scenario, [*overrides, *assign])
        except ScenarioError as exc:
            for p in exc.problems:
                problems.setdefault(p, where)
            return None

    for path, values in vary.items():
        for v in values:
            check([f"{path}={v}"], f"--vary {path}={v}")
    for r in ranges:
        for end in (r.value(0.0), r.value(0.999999)):
            check([f"{r.path}={end}"], f"--sample {r.path}={end}")
    if not problems:
        loaded = [check(v.overrides, f"variant {v.label}") for v in variants]
    if problems:
        lines = [f"{p} ({where})" for p, where in problems.items()]
        more = len(lines) - MAX_PROBLEMS
        raise ScenarioError(source, lines[:MAX_PROBLEMS]
                            + ([f"… and {more} more"] if more > 0 else []))
    return [sc for sc in loaded if sc is not None]


def sweep(scenario: str | Path | Mapping[str, Any] | Scenario,
          vary: Mapping[str, Sequence[Any]] | None = None, *,
          sample: Mapping[str, tuple[float, float]] | Iterable[str] = (),
          points: int = 10, design: SampleKind = "lhs", replications: int = 5,
          seed: int | None = None, overrides: Iterable[str] = (),
          metrics: Sequence[str] | None = None, out: str | Path | None = None,
          keep_runs: bool = False, workers: int | None = None, scheduler: str | None = None,
          until_ci: float | Mapping[str, float] | None = None, max_seeds: int = 40,
          progress: Callable[[int, int], None] | None = None,
          log: Callable[[str], None] | None = None, command: str = "sweep") -> Study:
    """Run a design study and return its :class:`Study`.

    ``vary`` maps a scenario field to values (every combination is a variant; the first the
    baseline); ``sample`` maps a field to a ``(low, high)`` range (or is a list of
    ``"PATH=LOW..HIGH"``), drawn at ``points`` points by a Latin hypercube (``design="lhs"``)
    or at random. Every variant runs on seeds ``seed``, ``seed + 1``, … (default the
    scenario's). ``metrics`` are summary keys (default a standard set; ``["all"]`` every
    one). ``workers``: local worker processes (default one per core; 0 runs here without
    Dask); ``scheduler``: the address of an existing Dask cluster. ``until_ci``: a 95 %
    half-width for every metric, or per metric, that the reported differences must reach;
    seeds are added up to ``max_seeds``. ``out``: the result directory (see the module).
    """
    t_start = time.perf_counter()
    # wall seconds: checks, starting the cluster, running, writing; ``busy_s`` adds up each
    # run's own time on its worker, so busy_s / (runs_s × workers) is how busy they were,
    # and ``run_cpu_s`` their CPU time (run_cpu_s / busy_s: the cores a run kept busy)
    timing = {"check_s": 0.0, "cluster_s": 0.0, "runs_s": 0.0, "busy_s": 0.0,
              "run_cpu_s": 0.0, "write_s": 0.0}
    problems = []
    if replications < 1:
        problems.append(f"--replications: must be at least 1 (got {replications})")
    if until_ci is not None and replications < 2:
        problems.append("--replications: --until-ci needs at least 2 seeds to start from")
    if until_ci is not None and max_seeds < replications:
        problems.append(f"--max-seeds: {max_seeds} is below --replications {replications}")
    if problems:
        raise ScenarioError("--replications", problems)
    check_scheduler(scheduler, workers)
    chosen = choose_metrics(metrics)
    targets = _targets(until_ci, chosen)
    base_overrides = list(overrides)
    base = load(scenario, base_overrides)
    first = int(seed) if seed is not None else base.seed
    ranges = _ranges(sample)
    grid = {k: [str(v) for v in values] for k, values in (vary or {}).items()}
    the_design = Design(grid, ranges, points, design, first)
    variants = the_design.variants()
    scenarios = _load_variants(scenario, base_overrides, grid, ranges, variants)
    target = Path(out) if out is not None else None
    if target is not None and target.exists() and not is_study_dir(target):
        raise ScenarioError("--out", [f"{target}: exists and is not a directory a twin study "
                                      f"wrote (no {MARKER}); choose another --out"])
    texts = [dump(sc.model_copy(update={"seed": 0})) for sc in scenarios]
    version = code_version()
    say = log or (lambda _msg: None)
    timing["check_s"] = time.perf_counter() - t_start

    with contextlib.ExitStack() as stack:
        root = target if target is not None else Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="twin-study-")))
        cache = ResultCache(root / "cache")
        state = _State(variants, texts, version, cache,
                       root / "runs" if keep_runs else None, progress)
        header = {"kind": KIND, "format": 1, "command": command,
                  "scenario": base.name, "source": str(scenario) if isinstance(
                      scenario, str | Path) else base.name,
                  "overrides": base_overrides, "twin_version": version,
                  "design": {"vary": grid, "sample": [
                      {"path": r.path, "low": r.lo, "high": r.hi, "integer": r.integer}
                      for r in ranges], "points": points if ranges else None,
                      "kind": design if ranges else "grid"},
                  "variants": [v.label for v in variants], "metrics": chosen,
                  "confidence": 0.95, "correction": "holm"}
        engine: Engine | None = None
        n = replications
        until: dict[str, Any] | None = None
        while True:
            seeds = list(range(first, first + n))
            todo = state.plan(seeds)
            say(f"{state.total(seeds)} runs ({len(variants)} variants × {len(seeds)} seeds): "
                f"{state.total(seeds) - len(todo)} already done, {len(todo)} to run")
            if todo:
                if engine is None:
                    t0 = time.perf_counter()
                    engine = stack.enter_context(Engine(scheduler, workers, len(todo)))
                    timing["cluster_s"] = time.perf_counter() - t0
                    say(f"running on {engine.where}")
                if target is not None:
                    target.mkdir(parents=True, exist_ok=True)
                    _write_marker(target, {**header, "status": "running", "seeds": seeds})
                t0 = time.perf_counter()
                engine.run(todo, version, state.done,
                           idle=_prefetch if target is not None else None)
                timing["runs_s"] += time.perf_counter() - t0
                timing["busy_s"], timing["run_cpu_s"] = state.busy, state.busy_cpu
            summaries, runs, table, sens = _tables(state, seeds, the_design, chosen)
            if not targets:
                break
            from twin.study.statistics import half_widths, seeds_needed

            widths = half_widths(table, sens, targets)
            nxt = seeds_needed(widths, n, max(max_seeds, n))
            worst = max(widths, key=lambda w: (w[2] / w[3]) if not math.isnan(w[2])
                        else math.inf, default=None)
            until = {"targets": targets, "seeds": n, "max_seeds": max_seeds,
                     "reached": all(not math.isnan(w[2]) and w[2] <= w[3] for w in widths),
                     "widest": None if worst is None else {
                         "metric": worst[0], "of": worst[1], "half_width": worst[2],
                         "target": worst[3]}}
            if nxt == n:
                break
            say(f"until-ci: widest half-width {worst[2]:.4g} (target {worst[3]:.4g}) for "
                f"{worst[0]} ({worst[1]}) with {n} seeds; adding seeds up to {nxt}"
                if worst else f"until-ci: adding seeds up to {nxt}")
            n = nxt
        study = Study(target, [v.label for v in variants], seeds, chosen, runs, table,
                      summaries, sens, state.executed, state.from_cache, state.failures,
                      until, engine.where if engine else "nothing to run")
        if target is not None:
            target.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            _write_outputs(target, study, base.bss.catalog.minor_per_major)
            timing["write_s"] = time.perf_counter() - t0
            _write_marker(target, {
                **header, "status": "failed" if study.failed else "complete", "seeds": seeds,
                "runs": state.total(seeds), "executed": study.executed,
                "cached": study.cached, "failures": study.failures, "until_ci": until,
                "where": study.where,
                "timing": {k: round(v, 3) for k, v in timing.items()},
                "files": sorted(p for p in OUTPUTS if (target / p).exists())})
    return study


def _prefetch() -> None:
    """Import what the tables and figures need, in the background: called when a worker of
    the cluster has no run left, so this uses its core while the last runs finish instead
    of adding a second to the end of the study."""
    def load() -> None:
        for name in PREFETCH:
            importlib.import_module(name)

    threading.Thread(target=load, name="twin-study-prefetch", daemon=True).start()


PREFETCH = ("twin.study.statistics", "twin.study.figures", "pyarrow.parquet")


class _State:
    """The runs of a study by key: planned, done (cached), executed here, failed."""

    def __init__(self, variants: list[Variant], texts: list[str], version: str,
                 cache: ResultCache, keep: Path | None,
                 progress: Callable[[int, int], None] | None) -> None:
        self.variants, self.texts, self.version = variants, texts, version
        self.cache, self.keep, self.progress = cache, keep, progress
        self.keys: dict[tuple[int, int], str] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.failures: list[dict[str, Any]] = []
        self.executed = 0
        self.from_cache = 0
        self.busy = 0.0  # seconds the executed runs took, each on its worker
        self.busy_cpu = 0.0  # and their CPU seconds
        self._done = 0
        self._total = 0

    def key(self, v: Variant, s: int) -> str:
        if (v.index, s) not in self.keys:
            self.keys[v.index, s] = run_key(self.texts[v.index], s, self.version)
        return self.keys[v.index, s]

    def total(self, seeds: list[int]) -> int:
        return len({self.key(v, s) for v in self.variants for s in seeds})

    def plan(self, seeds: list[int]) -> list[RunSpec]:
        """The runs still to execute for these seeds (the rest are read from the cache)."""
        todo: dict[str, RunSpec] = {}
        for v in self.variants:
            for s in seeds:
                key = self.key(v, s)
                if key in self.records or key in todo:
                    continue
                keep_dir = None if self.keep is None else self.keep / v.slug / f"seed-{s}"
                record = self.cache.get(key)
                if record is None and keep_dir is not None and (keep_dir / "summary.json").exists():
                    record = {"summary": json.loads((keep_dir / "summary.json").read_text()),
                              "twin_version": self.version, "seed": s}
                    self.cache.put(key, record)
                if record is not None and (keep_dir is None
                                           or (keep_dir / "summary.json").exists()):
                    self.records[key] = record
                    self.from_cache += 1
                    continue
                todo[key] = RunSpec(key, self.texts[v.index], s, v.label,
                                    None if keep_dir is None else str(keep_dir.resolve()))
        self._total = self.total(seeds)
        self._done = self._total - len(todo)
        if self.progress:
            self.progress(self._done, self._total)
        return list(todo.values())

    def done(self, outcome: Outcome) -> None:
        spec = outcome.spec
        self.executed += 1
        if outcome.result is None:
            self.failures.append({"variant": spec.label, "seed": spec.seed, "run_key": spec.key,
                                  "error": outcome.error, "traceback": outcome.detail})
        else:
            record = {**outcome.result, "seed": spec.seed}
            self.busy += float(record.get("wall_s", 0.0))
            self.busy_cpu += float(record.get("cpu_s", 0.0))
            self.cache.put(spec.key, record)
            self.records[spec.key] = {**record, "key": spec.key}
        self._done += 1
        if self.progress:
            self.progress(self._done, self._total)


def _tables(state: _State, seeds: list[int], design: Design, chosen: list[str]
            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    import pandas as pd

    from twin.study.metrics import SUMMARY_KEYS, numeric_summary
    from twin.study.statistics import sensitivity, variant_statistics

    rows = []
    for v in state.variants:
        params: dict[str, object] = {}
        for path, text in v.assign:
            params[f"set.{path}"] = value_of(text)
        for s in seeds:
            key = state.key(v, s)
            record = state.records.get(key)
            if record is None:  # failed: no row (the pairs it belonged to drop out)
                continue
            rows.append({"variant": v.label, "variant_index": v.index, "seed": s,
                         "run_key": key, **params, **numeric_summary(record["summary"])})
    summaries = pd.DataFrame(rows)
    if summaries.empty:
        summaries = pd.DataFrame(columns=["variant", "variant_index", "seed", "run_key",
                                          *SUMMARY_KEYS])
    runs = summaries[["variant", "seed", *chosen]].reset_index(drop=True)
    labels = [v.label for v in state.variants]
    table = variant_statistics(runs, labels, chosen, paired=not design.sampled)
    sens = (sensitivity(summaries, design.ranges, design.vary, chosen)
            if design.sampled and not summaries.empty else None)
    return summaries, runs, table, sens


def _write_outputs(target: Path, study: Study, per_major: int) -> None:
    """Every result file, each replaced whole; files of an earlier study's kind go."""
    from twin.study.figures import effects, tornado

    def replace(name: str, write: Callable[[Path], None]) -> None:
        path = target / name
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        write(tmp)
        os.replace(tmp, path)

    replace("summaries.parquet", lambda p: study.summaries.to_parquet(p, index=False))
    replace("summaries.csv", lambda p: study.summaries.to_csv(p, index=False))
    replace("statistics.csv", lambda p: study.table.to_csv(p, index=False))
    figures = target / "figures"
    stale = ["figures/tornado.png" if study.sensitivity is None else "figures/effects.png"]
    if study.sensitivity is not None:
        replace("sensitivity.csv", lambda p: study.sensitivity.to_csv(  # type: ignore[union-attr]
            p, index=False))
        drawn = tornado(study.sensitivity, figures, per_major)
    else:
        stale.append("sensitivity.csv")
        drawn = effects(study.table, figures, per_major)
    if drawn is None:
        stale.append(f"figures/{'tornado' if study.sensitivity is not None else 'effects'}.png")
    for name in stale:
        with contextlib.suppress(FileNotFoundError):
            (target / name).unlink()


def _write_marker(target: Path, data: dict[str, Any]) -> None:
    write_atomic(target / MARKER, json.dumps(data, indent=2, default=str) + "\n")
