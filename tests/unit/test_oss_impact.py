"""Service impact per incident: the OSS asks the BSS about the cells in an incident's shadow
and keeps the answer; the ``customers`` and ``revenue`` repair policies order the crews' queue
by it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq
import pytest
from oss_harness import FIBRE_CUT, SITE5_DEAD, Harness, harness_factory

from twin.kernel import Sim
from twin.messages import (
    ElementInfo,
    ImpactAnswer,
    ImpactQuery,
    InventorySnapshot,
    LinkInfo,
    RepairCommand,
)

H = 3600.0
CELL4_LOS = [("site4", "lossOfSignal", "site4-c1-up"), ("site4-c1", "lossOfSignal",
                                                          "site4-c1-up")]
CELL6_LOS = [("site6", "lossOfSignal", "site6-c2-up")]


def with_bss(h: Harness, worth: dict[str, tuple[int, int]], delay: float = 0.0) -> None:
    """A stand-in BSS: per cell (customers, revenue per hour), answered after ``delay``."""
    def publish(msg: object) -> None:
        h._publish(msg)
        if isinstance(msg, ImpactQuery):
            cust = sum(worth.get(c, (0, 0))[0] for c in msg.cells)
            rev = sum(worth.get(c, (0, 0))[1] for c in msg.cells)
            answer = ImpactAnswer(msg.incident_id, msg.query_id, lines=cust, customers=cust,
                                  enterprise_accounts=0, sla_lines=0,
                                  revenue_at_risk_minor_per_h=rev, sla_exposure_minor=0,
                                  answered=h.sim.now + delay)

            def later() -> Any:
                yield h.sim.env.timeout(delay)
                h.oc.on_impact_answer(answer)
            h.sim.env.process(later())
    h.oc.impact.publish = publish


@pytest.fixture
def make(make_sim: Callable[..., Sim]) -> Callable[..., Harness]:
    harness = harness_factory(make_sim)

    def build(**oss: Any) -> Harness:
        return harness(crews={"count": 1, "travel_mean_min": 0, "repair_mean_min": 30,
                              "repair_dist": "deterministic", "travel_dist": "deterministic"},
                       **oss)
    return build


def test_an_incident_asks_the_bss_about_the_cells_in_its_shadow(
        make: Callable[..., Harness]) -> None:
    h = make()
    with_bss(h, {"site2-c1": (10, 100), "site3-c2": (5, 40)}, delay=30)
    h.send(0, *FIBRE_CUT)
    h.run(until=H)
    (q,) = h.of_type(ImpactQuery)
    (inc,) = h.incidents
    assert q.incident_id == inc.id and q.query_id == 1 and q.asked == 60.0
    assert set(q.cells) == {"site2-c1", "site2-c2", "site3-c1", "site3-c2"}
    assert q.services == ("voice", "data", "sms")
    assert inc.impact is not None and inc.impact.answered == 90.0
    assert (inc.impact.customers, inc.impact.revenue_at_risk_minor_per_h) == (15, 140)
    h.oc.finish()
    h.sim.records.close()
    (row,) = pq.read_table(h.sim.records.directory / "incident_impact.parquet").to_pylist()
    assert (row["asked"], row["answered"], row["cells_affected"], row["sites_affected"]) == (
        60.0, 90.0, 4, 2)
    assert (row["services"], row["sites"], row["regions"]) == ("voice,data,sms",
                                                               "site2,site3", "region1")
    assert (row["customers"], row["revenue_at_risk_minor_per_h"]) == (15, 140)


def test_a_core_function_takes_service_only_when_no_twin_is_left(
        make_sim: Callable[..., Sim]) -> None:
    h = harness_factory(make_sim)()
    els = [ElementInfo("core1", "core_router", "core1", "a"),
           ElementInfo("core2", "core_router", "core2", "a"),
           ElementInfo("msc1", "msc", "core1", "a"), ElementInfo("msc2", "msc", "core2", "a"),
           ElementInfo("cellA", "cell", "s1", "a"), ElementInfo("cellB", "cell", "s2", "a")]
    links = [LinkInfo("l1", "core1", "core2"), LinkInfo("m1", "msc1", "core1"),
             LinkInfo("m2", "msc2", "core2"), LinkInfo("a", "cellA", "core1"),
             LinkInfo("b", "cellB", "core2")]
    h.oc.on_inventory(InventorySnapshot(tuple(els), tuple(links)))
    with_bss(h, {})
    h.send(0, ("msc1", "heartbeatFailure"))
    h.send(600, ("msc2", "heartbeatFailure"))
    h.run(until=H)
    first, second = h.of_type(ImpactQuery)
    assert first.cells == () and first.services == ()  # msc2 still serves
    assert set(second.cells) == {"cellA", "cellB"}  # the last voice core: every cell
    assert second.services == ("voice", "data", "sms")


@pytest.mark.parametrize(("policy", "order"), [
    ("fifo", ["site5", "site4-c1-up", "site6-c2-up", "site1-site2"]),
    ("customers", ["site5", "site6-c2-up", "site1-site2", "site4-c1-up"]),
    ("revenue", ["site5", "site4-c1-up", "site1-site2", "site6-c2-up"]),
])
def test_bss_driven_policies_order_the_queue(make: Callable[..., Harness], policy: str,
                                             order: list[str]) -> None:
    h = make(repair_policy=policy)
    # site6-c2 has many prepaid-light customers; site4-c1 few, but heavy spenders
    with_bss(h, {"site4-c1": (5, 900), "site6-c2": (80, 50), "site2-c1": (10, 100),
                 "site3-c1": (10, 100)}, delay=5)
    h.send(0, *SITE5_DEAD)  # keeps the only crew busy while the others queue
    h.send(100, *CELL4_LOS)
    h.send(200, *CELL6_LOS)
    h.send(300, *FIBRE_CUT)
    h.run(until=20 * H)
    assert [m.target for _, m in h.log if isinstance(m, RepairCommand)] == order


def test_an_answer_overtaken_by_a_newer_question_is_ignored(
        make: Callable[..., Harness]) -> None:
    h = make()
    with_bss(h, {"site2-c1": (1, 1)})
    h.send(0, *FIBRE_CUT)
    h.run(until=H)
    (inc,) = h.incidents
    old = inc.impact
    assert old is not None
    h.oc.on_impact_answer(ImpactAnswer(inc.id, 0, 99, 99, 0, 0, 99, 0, H))
    assert inc.impact is old
