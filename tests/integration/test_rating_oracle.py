"""An independent rater: a sample of a real run's records priced again, one record at a time,
straight from the catalog file's words, by a deliberately simple implementation that shares
no code with ``twin.bss.rating`` (the revenue assurance re-rates the truth with the BSS's own
``Rater``, so a rating bug would show on both sides of its identity and cancel)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import twin

from .support import QUICKSTART, RunScenario

KIND_NAMES = ("voice", "data", "sms")
UNIT = {"voice": 1, "data": 1000, "sms": 1}  # base units (s, bytes, messages) per catalog unit
ALLOWANCE_UNIT = {"voice": ("voice_min", 60), "data": ("data_mb", 1_000_000), "sms": ("sms", 1)}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def tariff_period(catalog: dict[str, Any], when: datetime) -> str:
    """The first of the catalog's periods whose days and hours hold ``when``; else peak."""
    day, hour = WEEKDAYS[when.weekday()], when.hour + when.minute / 60 + when.second / 3600
    for p in catalog.get("tariff_periods") or []:
        if day not in p["days"]:
            continue
        if not p.get("hours"):
            return str(p["name"])
        lo, hi = p["hours"]
        if (lo <= hour < hi) if lo < hi else (hour >= lo or hour < hi):
            return str(p["name"])
    return "peak"


def round_money(amount: Fraction, how: str) -> int:
    if how == "up":
        return math.ceil(amount)
    if how == "down":
        return math.floor(amount)
    return math.floor(amount + Fraction(1, 2))  # half up


class SimpleRater:
    """Per record, in the order the BSS rated them: every started increment (at least the
    first), the allowance left in the cycle first, the rest at the period's price or along
    the tiers of the cycle's chargeable quantity, rounded per record, plus the connect fee."""

    def __init__(self, catalog: dict[str, Any], start: datetime, allowance_share: Fraction):
        self.catalog, self.start, self.share = catalog, start, allowance_share
        self.used: dict[tuple[int, str], int] = {}  # (sub, kind) → allowance used
        self.charged: dict[tuple[int, str], int] = {}  # (sub, kind) → chargeable so far

    def allowance(self, offer: dict[str, Any], kind: str, increment: int) -> int:
        name, unit = ALLOWANCE_UNIT[kind]
        full = ((offer.get("allowances") or {}).get(name) or 0) * unit
        return math.floor(full * self.share / increment) * increment

    def price(self, sub: int, offer_name: str, kind: str, start_s: float, qty: int) -> int:
        offer = self.catalog["offers"][offer_name]
        usage = offer.get(kind)
        if usage is None:
            return 0
        unit = UNIT[kind]
        inc = usage["increment"] * unit
        first = (usage.get("first_increment") or usage["increment"]) * unit
        per = (usage.get("per") or usage["increment"]) * unit
        billable = max(math.ceil(qty / inc) * inc, first) if qty > 0 else 0
        used = self.used.get((sub, kind), 0)
        covered = min(max(self.allowance(offer, kind, inc) - used, 0), billable)
        self.used[(sub, kind)] = used + covered
        chargeable = billable - covered
        period = tariff_period(self.catalog, self.start + timedelta(seconds=start_s))
        price = (usage.get("period_prices") or {}).get(period, usage["price"])
        before = self.charged.get((sub, kind), 0)
        self.charged[(sub, kind)] = before + chargeable
        amount = Fraction(0)
        steps = [(0, price)] + [(t["over"] * unit, t["price"]) for t in usage.get("tiers") or []]
        for i, (over, p) in enumerate(steps):
            upper = steps[i + 1][0] if i + 1 < len(steps) else math.inf
            inside = max(min(before + chargeable, upper) - max(before, over), 0)
            amount += Fraction(int(inside) * p, per)
        fee = usage.get("connect_fee") or 0 if chargeable > 0 else 0
        return round_money(amount, usage.get("rounding") or "up") + fee


def test_an_independent_rater_prices_a_sample_of_records_alike(
        run_scenario: RunScenario) -> None:
    """Every record of every 25th subscription of the quickstart week (all three offers,
    allowances used up, prepaid tiers and tariff periods) gets the same charge from the
    simple rater; the week is one bill cycle (January), so allowances are 7/31 of a month's."""
    run: twin.Run = run_scenario(QUICKSTART, report=True)
    catalog = run.scenario["bss"]["catalog"]
    start = datetime(2026, 1, 5, tzinfo=UTC)
    assert run.scenario["start"] in ("2026-01-05T00:00:00Z", start)
    cycle = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    share = Fraction(7 * 86_400, int((cycle[1] - cycle[0]).total_seconds()))
    rated = run.table("rated")
    assert set(rated["state"]) == {"rated"}  # no tariff corrections in this scenario
    sample = rated[rated["sub"] % 25 == 0]
    oracle = SimpleRater(catalog, start, share)
    mismatches = []
    for r in sample.itertuples():
        kind = KIND_NAMES[r.kind]
        qty = {"voice": r.duration_s, "data": r.volume_bytes, "sms": 1}[kind]
        want = oracle.price(r.sub, r.offer, kind, r.start, int(qty))
        if want != r.charge_minor:
            mismatches.append((r.record_id, r.sub, r.offer, kind, qty, want, r.charge_minor))
    assert not mismatches, mismatches[:10]
    # the sample exercises what it claims to
    assert len(sample) > 2000 and set(sample["offer"]) == set(catalog["offers"]) - {
        "consumer_postpaid_l"}
    assert (sample["allowance_used"] > 0).any() and (sample["chargeable"] > 0).any()
    postpaid = sample[sample["offer"] == "consumer_postpaid"]
    assert ((postpaid["allowance_used"] > 0) & (postpaid["chargeable"] > 0)).any()
    assert set(sample["period"]) == {"peak", "off_peak", "weekend"}
    assert (sample["charge_minor"] > 0).sum() > 100
