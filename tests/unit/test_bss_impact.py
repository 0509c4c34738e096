"""The BSS's answer to an OSS impact query: lines, customers, enterprise accounts and SLA
lines on the incident's cells, revenue at risk from recently rated usage, SLA exposure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from twin.bss.catalog import PriceTable
from twin.bss.impact import ImpactDesk
from twin.kernel import Sim
from twin.messages import ImpactQuery, SubscriberBase
from twin.scenario.schema import CatalogSpec

H = 3600.0
OFFERS = ("consumer_postpaid", "consumer_prepaid", "enterprise")


def desk(sim: Sim, catalog: dict[str, Any], window_h: int = 168) -> tuple[ImpactDesk, Any]:
    # lines 0-2 consumers on cellA, 3-6 one enterprise account on cellA, 7-8 consumers on cellB
    subs = SubscriberBase(
        cells=("cellA", "cellB", "cellC"), offers=OFFERS,
        cell=np.array([0, 0, 0, 0, 0, 0, 0, 1, 1], dtype=np.int32),
        offer=np.array([0, 1, 1, 2, 2, 2, 2, 0, 1], dtype=np.int16),
        account=np.array([0, 1, 2, 9, 9, 9, 9, 3, 4], dtype=np.int32))
    prices = PriceTable.build(CatalogSpec.model_validate(catalog), OFFERS)
    leaves = np.full(subs.count, np.inf)
    return ImpactDesk(sim, subs, prices, leaves, window_h=window_h), leaves


def advance(sim: Sim, t: float) -> None:
    sim.env.run(until=t)


def test_who_is_affected_comes_from_the_subscriber_base(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    sim = make_sim(horizon=10 * 86_400.0)
    d, leaves = desk(sim, default_catalog)
    advance(sim, 5 * H)
    a = d.answer(ImpactQuery(7, 1, ("cellA", "unknown-cell"), ("voice",), sim.now))
    assert (a.incident_id, a.query_id, a.answered) == (7, 1, 5 * H)
    assert (a.lines, a.customers, a.enterprise_accounts, a.sla_lines) == (7, 4, 1, 4)
    # the enterprise offer's first credit step: 5 % of 45.00 per line
    assert a.sla_exposure_minor == 4 * 225
    leaves[[0, 3]] = 2 * H  # two lines have left
    b = d.answer(ImpactQuery(7, 2, ("cellA",), ("voice",), sim.now))
    assert (b.lines, b.customers, b.sla_lines, b.sla_exposure_minor) == (5, 3, 3, 3 * 225)
    empty = d.answer(ImpactQuery(8, 1, (), (), sim.now))
    assert (empty.lines, empty.revenue_at_risk_minor_per_h) == (0, 0)


def test_revenue_at_risk_is_recent_usage_revenue_per_hour(
        make_sim: Callable[..., Sim], default_catalog: dict[str, Any]) -> None:
    sim = make_sim(horizon=30 * 86_400.0)
    d, _ = desk(sim, default_catalog, window_h=24)
    advance(sim, 10 * H)
    # charges by line, at the hour they were used
    d.on_rated(np.array([1, 2, 7, 8]), np.array([1 * H, 9.5 * H, 3 * H, 4 * H]),
               np.array([100, 500, 7000, 0]))
    a = d.answer(ImpactQuery(1, 1, ("cellA",), ("voice",), sim.now))
    assert a.revenue_at_risk_minor_per_h == round(600 / 10)  # 10 h of history so far
    both = d.answer(ImpactQuery(1, 2, ("cellA", "cellB"), ("voice",), sim.now))
    assert both.revenue_at_risk_minor_per_h == round(7600 / 10)
    advance(sim, 30 * H)  # the window is 24 h: usage before 07:00 has aged out
    a = d.answer(ImpactQuery(1, 3, ("cellA", "cellB"), ("voice",), sim.now))
    assert a.revenue_at_risk_minor_per_h == round(500 / 24)
    # late records of hours already out of the window count nothing; hours in it do
    d.on_rated(np.array([1, 1]), np.array([2 * H, 29 * H]), np.array([999, 48]))
    a = d.answer(ImpactQuery(1, 4, ("cellA",), ("voice",), sim.now))
    assert a.revenue_at_risk_minor_per_h == round(548 / 24)
    advance(sim, 29 * H + 24 * H)  # a slot reused for a new hour forgets the old one
    d.on_rated(np.array([2]), np.array([52.5 * H]), np.array([240]))
    a = d.answer(ImpactQuery(1, 5, ("cellA",), ("voice",), sim.now))
    assert a.revenue_at_risk_minor_per_h == round(240 / 24)
