"""Traffic demand per subscriber segment: ``traffic.segment_factors`` multiplies the call,
session and message rates of an offer's (or a segment's) lines, and
``traffic.account_type_factors`` those of a prepaid or postpaid line on top. The attempts
measured per line in a run must match the factors: each offer's attempt count is Poisson, so
its ratio to the reference offer's has a relative standard deviation of about
sqrt(1/n₁ + 1/n₂) — under 2 % here; the tolerance is 6 % (over three standard deviations)."""

from __future__ import annotations

import pytest

import twin
from twin.scenario import ScenarioError

from .support import QUICKSTART, SMALL, RunScenario

TOL = 0.06


def test_attempt_rates_per_segment_follow_the_factors(run_scenario: RunScenario) -> None:
    run = run_scenario(QUICKSTART, overrides=(
        *SMALL, "traffic.segment_factors={enterprise: 2.0, consumer_prepaid: 0.5}",
        "traffic.account_type_factors={prepaid: 1}"))
    per_line = run.sql(
        "SELECT s.offer, u.kind, count(*) / any_value(n.lines) AS rate "
        "FROM usage u JOIN subscriptions s USING (sub) "
        "JOIN (SELECT offer, count(*) lines FROM subscriptions GROUP BY offer) n "
        "USING (offer) GROUP BY s.offer, u.kind")
    rate = per_line.pivot(index="offer", columns="kind", values="rate")
    base = rate.loc["consumer_postpaid"]  # factor 1
    for offer, factor in (("enterprise", 2.0), ("consumer_prepaid", 0.5)):
        for kind in ("voice", "data", "sms"):
            measured = rate.loc[offer, kind] / base[kind]
            assert measured == pytest.approx(factor, rel=TOL), (offer, kind, measured)


def test_the_account_type_factor_applies_to_every_prepaid_offer(run_scenario: RunScenario) -> None:
    run = run_scenario(QUICKSTART, overrides=(
        *SMALL, "traffic.account_type_factors={prepaid: 0.4, postpaid: 2}"))
    rate = run.sql(
        "SELECT s.account_type, count(*) / any_value(n.lines) AS rate "
        "FROM usage u JOIN subscriptions s USING (sub) "
        "JOIN (SELECT account_type, count(*) lines FROM subscriptions GROUP BY account_type) n "
        "USING (account_type) GROUP BY s.account_type").set_index("account_type")["rate"]
    assert rate["prepaid"] / rate["postpaid"] == pytest.approx(0.2, rel=TOL)


def test_without_factors_the_traffic_is_unchanged(run_scenario: RunScenario) -> None:
    """Factors of 1 pick lines in proportion to equal weights: the very same draws."""
    flat = "traffic.account_type_factors={prepaid: 1}"
    plain = run_scenario(QUICKSTART, overrides=(*SMALL, flat))
    ones = run_scenario(QUICKSTART, overrides=(*SMALL, flat,
                                               "traffic.segment_factors={enterprise: 1}"))
    q = "SELECT id, sub, start FROM usage ORDER BY id"
    assert plain.sql(q).equals(ones.sql(q))


def test_an_unknown_segment_is_named() -> None:
    with pytest.raises(ScenarioError, match=r"traffic\.segment_factors\.gold"):
        twin.load_scenario(QUICKSTART, ("traffic.segment_factors={gold: 2}",))


def test_an_unknown_account_type_is_named() -> None:
    with pytest.raises(ScenarioError, match=r"traffic\.account_type_factors\.gold"):
        twin.load_scenario(QUICKSTART, ("traffic.account_type_factors={gold: 2}",))
