"""Rating benchmark: usage records rated per second per core.

    python -m tests.benchmarks.rating                 # 2M records per case, three repeats
    python -m tests.benchmarks.rating --records 200000 --repeat 1 --json rating.json

Synthetic usage records in the network's shape (voice, data and SMS in the default mix,
lognormal durations and volumes, a week of start times, 100k subscriptions on the default
catalog's three offers) are rated in batches of ``--batch`` records (the 15-minute batch of a
~100k-subscriber network holds about 15k) by:

* **stateless** — :func:`twin.bss.catalog.rate`: increments, tariff period, rounding, connect
  fee; no allowance, no tiers across records;
* **rater** — :class:`twin.bss.rating.Rater`: the stateful rating the BSS runs, with
  allowances consumed in record order per subscription and cycle, tiers and tariff periods;
* **bss** — ``BusinessSupport``'s handler on a ``UsageBatch`` with streaming collection:
  mediation (validation, dedup, guiding), rating, the ``rated`` table and billing
  accumulation; Parquet writing included.

*rec/s/core* divides by the process CPU time (numpy runs these loops on one core), so it is
comparable across machines that are shared; *rec/s* is by wall time. Reference points (vendor
claims, see docs/domain.md): CGRateS 5,000+ requests/s, Oracle BRM 19,700 TPS on 36 cores.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "scenarios" / "catalogs" / "default.yaml"
N_SUBS = 100_000
START = datetime(2026, 1, 5, tzinfo=UTC)
WEEK = 7 * 86_400.0


def records(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    kind = rng.choice(3, size=n, p=[0.25, 0.6, 0.15]).astype(np.int8)
    dur = np.ceil(rng.lognormal(np.log(110) - 0.5, 1.0, n)).astype(np.int64)
    vol = np.floor(rng.lognormal(np.log(20e6) - 1.125, 1.5, n)).astype(np.int64)
    return {
        "record_id": np.arange(1, n + 1, dtype=np.int64),
        "node_id": (kind + 1).astype(np.int64),
        "sub": rng.integers(0, N_SUBS, n).astype(np.int64),
        "kind": kind,
        "start": np.sort(rng.random(n) * WEEK),
        "duration_s": np.where(kind == 0, dur, np.where(kind == 1, dur * 3, 0)),
        "volume_bytes": np.where(kind == 1, vol, 0),
        "cause": (rng.random(n) < 0.01).astype(np.int8),
    }


def setup() -> tuple[Any, Any, Any]:
    from twin.bss.catalog import PriceTable
    from twin.messages import SubscriberBase
    from twin.scenario.schema import CatalogSpec

    catalog = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    spec = CatalogSpec.model_validate(catalog)
    offers = ("consumer_postpaid", "consumer_prepaid", "enterprise")  # the quickstart's mix
    rng = np.random.default_rng(0)
    subs = SubscriberBase(cells=("c1",), offers=offers,
                          cell=np.zeros(N_SUBS, dtype=np.int32),
                          offer=rng.choice(len(offers), N_SUBS, p=[0.6, 0.3, 0.1]).astype(
                              np.int16),
                          account=np.arange(N_SUBS, dtype=np.int32))
    return catalog, PriceTable.build(spec, offers), subs


def case_stateless(recs: dict[str, np.ndarray], batch: int) -> Callable[[], None]:
    from twin.bss.catalog import rate
    from twin.bss.rating import TariffClock
    from twin.kernel import Calendar
    from twin.scenario.schema import CatalogSpec

    catalog, prices, subs = setup()
    clock = TariffClock(Calendar(START), CatalogSpec.model_validate(catalog).tariff_periods)

    def go() -> None:
        for i in range(0, recs["sub"].size, batch):
            sl = slice(i, i + batch)
            offer = subs.offer[recs["sub"][sl]].astype(np.int64)
            rate(prices, offer, recs["kind"][sl], recs["duration_s"][sl],
                 recs["volume_bytes"][sl], clock.period(recs["start"][sl]))

    return go


def case_rater(recs: dict[str, np.ndarray], batch: int) -> Callable[[], None]:
    from twin.bss.billing import cycle_boundaries
    from twin.bss.catalog import quantity
    from twin.bss.rating import Rater, TariffClock
    from twin.kernel import Calendar
    from twin.scenario.schema import CatalogSpec

    catalog, prices, subs = setup()
    cal = Calendar(START)
    clock = TariffClock(cal, CatalogSpec.model_validate(catalog).tariff_periods)

    def go() -> None:
        rater = Rater(prices, cycle_boundaries(cal, 1, WEEK), WEEK, N_SUBS, clock)
        for i in range(0, recs["sub"].size, batch):
            sl = slice(i, i + batch)
            sub = recs["sub"][sl]
            kind = recs["kind"][sl].astype(np.int64)
            rater.rate(sub, subs.offer[sub].astype(np.int64), kind, recs["start"][sl],
                       quantity(kind, recs["duration_s"][sl], recs["volume_bytes"][sl]))

    return go


def case_bss(recs: dict[str, np.ndarray], batch: int) -> Callable[[], None]:
    from twin.bss import BusinessSupport
    from twin.kernel import Sim
    from twin.messages import UsageBatch
    from twin.scenario.schema import BssSpec

    catalog, _, subs = setup()
    spec = BssSpec.model_validate({"catalog": catalog, "mediation": {"mode": "streaming"}})

    def go() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            sim = Sim.create(START, WEEK, 1, Path(tmp))
            bss = BusinessSupport(sim, spec, subs)
            for i in range(0, recs["sub"].size, batch):
                bss.on_usage(UsageBatch({k: v[i:i + batch] for k, v in recs.items()}))
            sim.records.close()

    return go


CASES = {"stateless": case_stateless, "rater": case_rater, "bss": case_bss}


def measure(name: str, n: int, batch: int, repeat: int) -> dict[str, Any]:
    recs = records(n)
    go = CASES[name](recs, batch)
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        go()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return {"case": name, "records": n, "batch": batch, "repeat": repeat,
            "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
            "rec_per_s": int(n / wall), "rec_per_s_per_core": int(n / max(cpu, 1e-9))}


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'case':<10} {'records':>10} {'batch':>7} {'wall s':>8} {'cpu s':>8} " \
           f"{'rec/s':>12} {'rec/s/core':>12}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['case']:<10} {r['records']:>10,} {r['batch']:>7,} {r['wall_s']:>8.3f} "
                     f"{r['cpu_s']:>8.3f} {r['rec_per_s']:>12,} {r['rec_per_s_per_core']:>12,}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=2_000_000)
    ap.add_argument("--batch", type=int, default=15_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    rows = [measure(c, args.records, args.batch, args.repeat) for c in args.cases.split(",")]
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"python": platform.python_version(),
                                         "machine": platform.machine(), "results": rows},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
