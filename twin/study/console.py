"""How ``twin sweep`` and ``twin compare`` read their options and show a study's outcome."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from twin.scenario import ScenarioError
from twin.study.study import Study

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_until_ci(items: Sequence[str] | None, metrics: Sequence[str]
                   ) -> dict[str, float] | None:
    """``--until-ci 600`` (every metric) and ``--until-ci oss.mttr_s=600`` (one metric; a
    bare number is then the default for the metrics not named)."""
    if not items:
        return None
    default: float | None = None
    named: dict[str, float] = {}
    problems = []
    for item in items:
        key, sep, value = item.rpartition("=")
        if not _NUMBER.match(value.strip()) or (sep and not key.strip()):
            problems.append(f"{item!r}: expected HALF_WIDTH or METRIC=HALF_WIDTH")
        elif sep:
            named[key.strip()] = float(value)
        else:
            default = float(value)
    if problems:
        raise ScenarioError("--until-ci", problems)
    targets = {m: default for m in metrics} if default is not None else {}
    return {**targets, **named}  # type: ignore[dict-item]


def fmt(metric: str, value: float, per_major: int) -> str:
    if value != value:  # NaN: undefined (e.g. no faults in any run)
        return "–"
    if abs(value) < 1e-9:  # a fit's rounding noise around an exact zero
        value = 0.0
    if metric.endswith("_minor"):
        return f"{value / per_major:,.2f}"
    return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def _p(p: float) -> str:
    return "" if math.isnan(p) else ("p<0.001" if p < 0.001 else f"p={p:.3f}")


def statistics_table(study: Study, per_major: int, title: str) -> Table:
    """Metrics as rows, variants as columns: mean ± CI, and for each variant after the first
    the paired difference, its Holm-corrected p-value and the verdict."""
    table = Table(title=title, show_header=True, show_lines=True)
    table.add_column("metric")
    for v in study.variants:
        table.add_column(v, justify="right")
    for metric, rows in study.table.groupby("metric", sort=False):
        cells = []
        for _, r in rows.iterrows():
            text = f"{fmt(metric, r['mean'], per_major)} ± {fmt(metric, r['ci95'], per_major)}"
            if r["verdict"] and r["verdict"] != "baseline":
                text += (f"\nΔ {fmt(metric, r['diff'], per_major)} ± "
                         f"{fmt(metric, r['diff_ci95'], per_major)} {_p(r['p_holm'])}"
                         f"\n{r['verdict']}")
            cells.append(text)
        table.add_row(str(metric), *cells)
    return table


def sensitivity_tables(study: Study, per_major: int) -> list[Table]:
    """One table per metric: each parameter's effect from its low to its high end."""
    assert study.sensitivity is not None
    tables = []
    for metric, rows in study.sensitivity.groupby("metric", sort=False):
        m = str(metric)
        table = Table(title=m, title_justify="left", box=box.SIMPLE_HEAD, show_header=True)
        table.add_column("parameter", no_wrap=True)
        table.add_column("from → to")
        table.add_column("effect ± 95% CI", justify="right")
        table.add_column("Holm", justify="right")
        table.add_column("verdict", min_width=12)
        for r in rows.itertuples():
            table.add_row(str(r.parameter).split("=")[0], f"{r.low} → {r.high}",
                          f"{fmt(m, float(r.effect), per_major)} ± "
                          f"{fmt(m, float(r.ci95), per_major)}",
                          _p(float(r.p_holm)), str(r.verdict))
        tables.append(table)
    return tables


def show(study: Study, out: Console, err: Console, per_major: int, name: str) -> None:
    """Print the study's tables, its bookkeeping and its failures."""
    seeds = f"seeds {study.seeds[0]}–{study.seeds[-1]}" if len(study.seeds) > 1 \
        else f"seed {study.seeds[0]}"
    if study.sensitivity is None:
        out.print(statistics_table(study, per_major, (
            f"{name}: mean ± 95% CI over {seeds}; Δ paired with {study.variants[0]}, "
            "p corrected for the number of variants (Holm)")))
    else:
        out.print(f"{name}: effect of each parameter from its low to its high end "
                  f"({len(study.variants)} design points × {len(study.seeds)} seeds, fitted "
                  "with a term per seed; p corrected per metric, Holm)")
        for table in sensitivity_tables(study, per_major):
            out.print(table)
    if study.until_ci is not None:
        u = study.until_ci
        w = u.get("widest")
        widest = "" if not w else (f"; widest half-width {w['half_width']:.4g} "
                                   f"({w['metric']}, {w['of']}; target {w['target']:.4g})")
        if u["reached"]:
            out.print(f"until-ci: every reported difference reached its half-width with "
                      f"{u['seeds']} seeds{widest}")
        else:
            out.print(f"until-ci: NOT reached — stopped at the cap of {u['seeds']} seeds"
                      f"{widest}")
    out.print(f"runs: {study.executed} executed, {study.cached} from the cache "
              f"({study.where})")
    for f in study.failures:
        err.print(f"run failed: {f['variant']} seed {f['seed']}: {f['error']}",
                  highlight=False, markup=False)
    if study.path is not None:
        out.print(f"results: {study.path}")
