"""Online charging (the BSS side), driven by a stand-in network that asks before admitting
prepaid sessions — as the network twin will: balances, reservations, denial at zero balance,
top-ups, and an OCS outage under fail-open vs fail-closed."""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from twin.bss import BusinessSupport
from twin.bss.catalog import PriceTable, rate
from twin.kernel import Sim
from twin.messages import (
    DENIED_CREDIT,
    FAIL_OPEN,
    GRANTED,
    OCS_UNAVAILABLE,
    ONLINE,
    CreditAnswer,
    CreditRequest,
    SubscriberBase,
    UsageBatch,
)
from twin.scenario.schema import BssSpec

HOUR = 3600.0
N_PRE, N_POST = 150, 30
OUTAGE = (20 * HOUR, 6 * HOUR)  # the OCS is down from 20:00 to 02:00 on the first day


@dataclass
class Served:
    """What the stand-in network did (its truth)."""

    asked: int = 0
    denied: int = 0  # sessions refused: no credit, or OCS down and fail-closed
    denied_ocs: int = 0
    fail_open: list[tuple[int, int, float, int]] = field(default_factory=list)
    seconds: int = 0  # voice seconds carried for prepaid lines


def subscribers() -> SubscriberBase:
    n = N_PRE + N_POST
    return SubscriberBase(cells=("A",), offers=("consumer_prepaid", "consumer_postpaid"),
                          cell=np.zeros(n, dtype=np.int32),
                          offer=np.array([0] * N_PRE + [1] * N_POST, dtype=np.int16),
                          account=np.arange(n, dtype=np.int32))


def run(make_sim: Callable[..., Sim], catalog: dict[str, Any], handling: str,
        outage: bool = True) -> tuple[BusinessSupport, Served]:
    sim = make_sim(horizon=2 * 86_400.0)
    spec = BssSpec.model_validate({
        "catalog": catalog, "mediation": {"mode": "streaming"},
        "ocs": {"enabled": True, "initial_balance_mean": 150, "topup_amount": 500,
                "topup_below": 20, "topup_delay_mean": "3h", "quota_voice_s": 120,
                "failure_handling": handling,
                "outages": [{"at": OUTAGE[0], "duration": OUTAGE[1]}] if outage else []}})
    answers: list[CreditAnswer] = []
    bss = BusinessSupport(sim, spec, subscribers(), publish=answers.append)
    served = Served()
    rng = np.random.default_rng(5)  # the same demand in every design
    ids = iter(range(1, 10**9))

    def network() -> Generator[Any, None, None]:
        t = 0.0
        while t + 900 <= sim.horizon:
            yield sim.env.timeout(t + 900 - sim.now)
            n = rng.poisson(25)
            sub = rng.integers(0, N_PRE + N_POST, n)
            start = t + rng.random(n) * 900
            want = np.ceil(rng.lognormal(4.3, 1.0, n)).astype(np.int64)
            rid = np.array([next(ids) for _ in range(n)], dtype=np.int64)
            pre = sub < N_PRE
            online = np.zeros(n, dtype=np.int8)
            dur = want.copy()
            admit = np.ones(n, dtype=bool)
            if pre.any():
                bss.on_credit_request(CreditRequest({
                    "session_id": rid[pre], "sub": sub[pre], "kind": np.zeros(pre.sum()),
                    "start": start[pre], "requested": want[pre]}))
                a = answers.pop()
                res, granted = a.columns["result"], a.columns["granted"]
                served.asked += int(pre.sum())
                idx = np.flatnonzero(pre)
                ok = res == GRANTED
                dur[idx[ok]] = np.minimum(want[idx[ok]], granted[ok])  # quota used up: ends
                online[idx[ok]] = ONLINE
                down = res == OCS_UNAVAILABLE
                if a.fail_open:
                    online[idx[down]] = FAIL_OPEN
                    served.fail_open += [(int(rid[i]), int(sub[i]), float(start[i]),
                                          int(want[i])) for i in idx[down]]
                else:
                    admit[idx[down]] = False
                    served.denied_ocs += int(down.sum())
                admit[idx[res == DENIED_CREDIT]] = False
                served.denied += int((~admit[idx]).sum())
                served.seconds += int(dur[idx][admit[idx]].sum())
            keep = admit
            bss.on_usage(UsageBatch({
                "record_id": rid[keep], "node_id": np.ones(keep.sum(), dtype=np.int64),
                "sub": sub[keep], "kind": np.zeros(keep.sum(), dtype=np.int8),
                "start": start[keep], "duration_s": dur[keep],
                "volume_bytes": np.zeros(keep.sum(), dtype=np.int64),
                "cause": np.zeros(keep.sum(), dtype=np.int8), "online": online[keep]}))
            t += 900

    sim.env.process(network())
    sim.at_end(bss.finish)
    sim.run()
    return bss, served


@pytest.fixture
def catalog(default_catalog: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(default_catalog)


def test_balances_reservations_and_top_ups_add_up(make_sim: Callable[..., Sim],
                                                  catalog: dict[str, Any]) -> None:
    bss, served = run(make_sim, catalog, "fail_open", outage=False)
    ocs = bss.ocs.summary
    assert served.asked > 1000 and ocs["requests"] == served.asked
    assert ocs["denied_credit"] > 0, "small balances run dry: sessions are denied"
    assert ocs["partial"] > 0, "some balances pay part of the quota"
    assert ocs["topups"] > 0
    # every reservation was released when its record came in
    assert ocs["open_sessions"] == 0 and (bss.ocs.reserved == 0).all()
    assert ocs["post_charged"] == 0  # every record had its reservation
    # opening balances + top-ups − debits = closing balances, to the cent
    assert (ocs["opening_balance_minor"] + ocs["topup_minor"] - ocs["debited_minor"]
            == ocs["balance_minor"])
    # a reservation covers the granted quota, so no balance goes below zero
    assert ocs["negative_balances"] == 0
    # prepaid usage is on balances, postpaid usage on invoices
    assert bss.billing.usage[:, :N_PRE].sum() == 0
    assert bss.rated_minor == ocs["debited_minor"] + bss.billing.usage.sum()


def test_denied_when_the_balance_cannot_pay_the_first_minute(
        make_sim: Callable[..., Sim], catalog: dict[str, Any]) -> None:
    catalog["offers"]["consumer_prepaid"]["voice"]["price"] = 8
    bss, _ = run(make_sim, catalog, "fail_open", outage=False)
    # the least a call can cost is the first minute (60/1 billing): 4 or 8 ct
    prices = PriceTable.build(bss.spec.catalog, bss.subs.offers)
    least = int(rate(prices, np.array([0]), np.array([0]), np.array([1]), np.array([0]))[1][0])
    assert least == 8
    denied = np.unique(np.concatenate(bss.ocs.denied_subs))
    assert denied.size > 0 and (denied < N_PRE).all()  # only prepaid lines are ever denied


def test_ocs_outage_fail_open_loses_revenue_fail_closed_loses_usage(
        make_sim: Callable[..., Sim], catalog: dict[str, Any]) -> None:
    opened, served_open = run(make_sim, catalog, "fail_open")
    closed, served_closed = run(make_sim, catalog, "fail_closed")
    prices = PriceTable.build(opened.spec.catalog, opened.subs.offers)

    # fail-open: sessions during the outage were served, uncharged — revenue lost
    assert len(served_open.fail_open) > 0 and served_open.denied_ocs == 0
    assert opened.mediation.fail_open == len(served_open.fail_open)
    _, sub, start, seconds = (np.array(x) for x in zip(*served_open.fail_open, strict=True))
    period = opened.clock.period(start)
    value = int(rate(prices, np.zeros(sub.size, dtype=np.int64), np.zeros(sub.size),
                     seconds, np.zeros(sub.size), period)[1].sum())
    assert value > 0  # what those calls would have cost: leaked
    assert opened.ocs.counts["unavailable"] == len(served_open.fail_open)

    # fail-closed: the same sessions were denied — usage lost, nothing leaked
    assert served_closed.denied_ocs == closed.ocs.counts["unavailable"] > 0
    assert closed.mediation.fail_open == 0
    assert served_closed.seconds < served_open.seconds  # customers got less service
    assert served_closed.denied > served_open.denied
    # ... and some of them call care about it
    assert closed.care.counts["service denied"] > 0 == opened.care.counts["service denied"]
    for b in (opened, closed):
        o = b.ocs.summary
        assert o["opening_balance_minor"] + o["topup_minor"] - o["debited_minor"] \
            == o["balance_minor"]
