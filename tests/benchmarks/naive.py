"""The reference the twin's speed is measured against: the model a user writes by hand.

    python -m tests.benchmarks.naive --days 1          # the metro case, one simulated day

One simpy process per call, data session and text message; each cell a ``simpy.Resource``
with its voice channels (a call finding them all busy is blocked); each record rated in plain
Python as it ends — charging increments, allowances per line and kind, tariff periods, tiers,
connect fee and rounding, from the same catalog — and only summed: nothing is stored. The
network, subscriber base, demand (per-line weights, the diurnal and weekly shape) and the
catalog are the twin's own for the same scenario, so both models make about the same records
over the same simulated days. Faults, the OSS, mediation, billing and the run directory are
left out: they only make the twin's side of the comparison heavier.

Arrivals per cell and kind are a Poisson process whose rate follows the hour of the day (the
rate in force when the previous attempt arrived — the shortcut a hand-written model takes).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import simpy

from .run import METRO, QUICKSTART

KINDS = ("voice", "data", "sms")
UNIT = (1, 1_000, 1)  # base units per catalog unit: seconds, KB (in bytes), messages
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class Price:
    increment: int
    first: int
    per: int
    prices: dict[str, int]  # per tariff period
    tiers: list[tuple[int, int]]  # (over base units, price); tier 0 is (0, base price)
    connect_fee: int
    rounding: str


class PythonRater:
    """Rates one record at a time with dictionaries and integers; allowances per line and
    kind for the bill cycle (the month the run covers)."""

    def __init__(self, catalog: Any, offers: list[str], start_weekday: int) -> None:
        self.periods = [(p.name, {WEEKDAYS.index(d) for d in p.days}, p.hours)
                        for p in catalog.tariff_periods]
        self.start_weekday = start_weekday
        self.offer: list[dict[int, Price | None]] = []
        self.allowance: list[tuple[int, int, int]] = []
        for name in offers:
            spec = catalog.offers[name]
            a = spec.allowances
            self.allowance.append((a.voice_min * 60, a.data_mb * 1_000_000, a.sms))
            table: dict[int, Price | None] = {}
            for k, u in enumerate((spec.voice, spec.data, spec.sms)):
                if u is None:
                    table[k] = None
                    continue
                unit = UNIT[k]
                prices = {"peak": u.price}
                prices.update({p: u.period_prices.get(p, u.price) for p, _, _ in self.periods})
                table[k] = Price(u.increment * unit, (u.first_increment or u.increment) * unit,
                                 (u.per or u.increment) * unit, prices,
                                 [(0, u.price)] + [(t.over * unit, t.price) for t in u.tiers],
                                 u.connect_fee, u.rounding)
            self.offer.append(table)
        self.used: dict[tuple[int, int], int] = {}
        self.charged: dict[tuple[int, int], int] = {}
        self.total = 0
        self.records = 0

    def period(self, t: float) -> str:
        day = int(t // 86_400)
        weekday = (self.start_weekday + day) % 7
        hour = (t - day * 86_400) / 3600
        for name, days, hours in self.periods:
            if weekday in days:
                if not hours:
                    return name
                lo, hi = hours
                if (lo <= hour < hi) if lo < hi else (hour >= lo or hour < hi):
                    return name
        return "peak"

    def rate(self, offer: int, sub: int, kind: int, start: float, qty: int) -> int:
        self.records += 1
        p = self.offer[offer][kind]
        if p is None or qty <= 0:
            return 0
        billable = max(-(-qty // p.increment) * p.increment, p.first)
        key = (sub, kind)
        used = self.used.get(key, 0)
        covered = min(max(self.allowance[offer][kind] - used, 0), billable)
        self.used[key] = used + covered
        chargeable = billable - covered
        if chargeable == 0:
            return 0
        if len(p.tiers) > 1:
            before = self.charged.get(key, 0)
            self.charged[key] = before + chargeable
            num = 0
            for i, (over, price) in enumerate(p.tiers):
                upper = p.tiers[i + 1][0] if i + 1 < len(p.tiers) else math.inf
                inside = min(before + chargeable, upper) - max(before, over)
                if inside > 0:
                    num += int(inside) * price
        else:
            num = chargeable * p.prices[self.period(start)]
        if p.rounding == "up":
            charge = -(-num // p.per)
        elif p.rounding == "half_up":
            charge = (2 * num + p.per) // (2 * p.per)
        else:
            charge = num // p.per
        charge += p.connect_fee
        self.total += charge
        return charge


class NaiveModel:
    def __init__(self, scenario: Any) -> None:
        from twin.kernel import RandomStreams
        from twin.network.topology import build_topology
        from twin.scenario.subscribers import build_subscribers

        self.sc = scenario
        topo = build_topology(scenario.network)
        subs = build_subscribers(scenario, topo.cells,
                                 RandomStreams(scenario.seed).stream("subscribers"),
                                 cell_region=tuple(topo.elements[c].region for c in topo.cells),
                                 sites=[topo.elements[c].site for c in topo.cells])
        self.env = simpy.Environment()
        self.random = random.Random(scenario.seed)
        n = subs.n_existing
        cells = [int(c) for c in subs.cell[:n]]
        weight = [1.0] * n if subs.demand is None else [float(w) for w in subs.demand[:n]]
        self.offer = [int(o) for o in subs.offer[:n]]
        self.lines: list[list[int]] = [[] for _ in topo.cells]
        self.weights: list[list[float]] = [[] for _ in topo.cells]
        for s in range(n):
            self.lines[cells[s]].append(s)
            self.weights[cells[s]].append(weight[s])
        self.demand = [sum(w) for w in self.weights]
        self.cum_weights = [list(itertools.accumulate(w)) for w in self.weights]
        self.channels = [simpy.Resource(self.env, capacity=topo.channels[c]) for c in topo.cells]
        start = scenario.start
        self.start_weekday = start.weekday()
        self.offset = start.hour * 3600 + start.minute * 60 + start.second
        self.rater = PythonRater(scenario.bss.catalog, list(subs.offers), self.start_weekday)
        tr = scenario.traffic
        self.per_day = (tr.voice.calls_per_sub_day, tr.data.sessions_per_sub_day,
                        tr.sms.per_sub_day)
        self.blocked = 0
        wd, we = sum(tr.hourly_shares), sum(tr.weekend_shares)
        self.share = ([s / wd for s in tr.hourly_shares],
                      [tr.weekend_factor * s / we for s in tr.weekend_shares])

    def hourly(self, t: float) -> float:
        """Share of a day's attempts per hour at ``t``."""
        if self.sc.traffic.profile == "flat":
            return 1 / 24
        t += self.offset
        day = int(t // 86_400)
        weekend = (self.start_weekday + day) % 7 >= 5
        return self.share[weekend][int((t - day * 86_400) // 3600)]

    def holding(self, spec: Any) -> float:
        r = self.random
        if spec.dist == "exponential":
            return r.expovariate(1 / spec.mean_s)
        if spec.dist == "deterministic":
            return float(spec.mean_s)
        if spec.dist == "loglogistic":
            b = spec.shape
            u = r.random()
            return float(spec.mean_s * math.sin(math.pi / b) / (math.pi / b)
                         * (u / (1 - u)) ** (1 / b))
        return r.lognormvariate(math.log(spec.mean_s) - spec.sigma ** 2 / 2, spec.sigma)

    def volume(self) -> int:
        v = self.sc.traffic.data.mb_per_session
        if v.dist == "exponential":
            mb = self.random.expovariate(1 / v.mean)
        else:
            mb = self.random.lognormvariate(math.log(v.mean) - v.sigma ** 2 / 2, v.sigma)
        return int(mb * 1_000_000)

    # --- processes ------------------------------------------------------------------------

    def arrivals(self, cell: int, kind: int) -> Any:
        per_s = self.demand[cell] * self.per_day[kind] / 3600
        lines, cum = self.lines[cell], self.cum_weights[cell]
        while True:
            rate = per_s * self.hourly(self.env.now)
            yield self.env.timeout(self.random.expovariate(rate) if rate > 0 else 3600.0)
            if rate <= 0:
                continue
            sub = self.random.choices(lines, cum_weights=cum)[0]
            if kind == 0:
                self.env.process(self.call(cell, sub))
            elif kind == 1:
                self.env.process(self.session(sub))
            else:
                self.env.process(self.message(sub))

    def call(self, cell: int, sub: int) -> Any:
        start = self.env.now
        channels = self.channels[cell]
        if channels.count >= channels.capacity:
            self.blocked += 1
            self.rater.records += 1
            return
        with channels.request() as req:
            yield req
            hold = self.holding(self.sc.traffic.voice.holding)
            yield self.env.timeout(hold)
        self.rater.rate(self.offer[sub], sub, 0, start, math.ceil(hold))

    def session(self, sub: int) -> Any:
        start = self.env.now
        yield self.env.timeout(self.holding(self.sc.traffic.data.duration))
        self.rater.rate(self.offer[sub], sub, 1, start, self.volume())

    def message(self, sub: int) -> Any:
        self.rater.rate(self.offer[sub], sub, 2, self.env.now, 1)
        yield self.env.timeout(0)

    def run(self, horizon: float) -> dict[str, Any]:
        for cell in range(len(self.lines)):
            if not self.lines[cell]:
                continue
            for kind in range(3):
                if self.per_day[kind] > 0:
                    self.env.process(self.arrivals(cell, kind))
        self.env.run(until=horizon)
        return {"records": self.rater.records, "blocked": self.blocked,
                "charged_minor": self.rater.total}


def run_naive(overrides: tuple[str, ...], scenario: str = QUICKSTART) -> dict[str, Any]:
    """One run of the naive model: records made, wall and CPU seconds, peak memory."""
    import resource

    from twin.scenario import load

    sc = load(scenario, list(overrides))
    t0, c0 = time.perf_counter(), time.process_time()
    model = NaiveModel(sc)
    out = model.run(sc.duration)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {**out, "sim_days": sc.duration / 86_400, "subscribers": sc.subscribers.count,
            "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.naive",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=float, default=1.0, help="simulated days (1)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    out = run_naive((*METRO, f"duration={args.days:g}d", *args.set))
    print(f"naive model: {out['records']:,} records in {out['wall_s']:.1f} s "
          f"({out['records'] / out['wall_s']:,.0f} records/s), {out['blocked']:,} blocked, "
          f"peak {out['rss_peak_mb']:,.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
