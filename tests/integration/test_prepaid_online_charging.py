"""Prepaid online charging with the real network: the network asks the OCS before serving
prepaid attempts and obeys its answers. An OCS outage under fail-open loses revenue (usage
served, never charged); under fail-closed it loses usage (attempts denied) and customers
call care. Both runs see the same demand, and both reconcile to the cent."""

from __future__ import annotations

import pytest

import twin

from .support import SCENARIOS, RunScenario

SCENARIO = SCENARIOS / "prepaid_ocs_outage.yaml"
SMALLER = ("subscribers.count=2000",)
OUTAGE = (41 * 3600.0, 45 * 3600.0)  # 1d17h for 4h


@pytest.fixture(scope="module")
def runs(run_scenario: RunScenario) -> dict[str, twin.Run]:
    return {h: run_scenario(SCENARIO, overrides=(*SMALLER, f"bss.ocs.failure_handling={h}"))
            for h in ("fail_open", "fail_closed")}


def test_fail_open_loses_revenue_fail_closed_loses_usage(runs: dict[str, twin.Run]) -> None:
    op, cl = runs["fail_open"], runs["fail_closed"]
    ro, rc = op.summary["reconciliation"], cl.summary["reconciliation"]
    assert ro["identity_holds"] and rc["identity_holds"]
    # the same demand in both designs
    n = "SELECT count(*) n FROM usage"
    assert op.sql(n)["n"][0] == cl.sql(n)["n"][0]
    # fail-open: served but not charged — leakage, no denial for the outage
    assert ro["leaked_fail_open_minor"] > 0
    assert op.sql("SELECT count(*) n FROM usage WHERE outcome = 'denied_ocs'")["n"][0] == 0
    fo = op.sql("SELECT start FROM cdrs WHERE online = 2 AND reason <> 'duplicate'")
    assert len(fo) > 100
    assert fo["start"].between(*OUTAGE).all()  # only sessions set up while the OCS was down
    assert op.summary["bss"]["care_contacts_denied"] == 0
    # fail-closed: denied — lost usage, no leakage, customers call care
    assert rc["leaked_fail_open_minor"] == 0
    denied = cl.sql("SELECT kind, start FROM usage WHERE outcome = 'denied_ocs'")
    assert len(denied) > 100 and set(denied["kind"]) == {"voice", "data", "sms"}
    assert denied["start"].between(*OUTAGE).all()
    assert rc["lost_denied_minor"] > ro["lost_denied_minor"]
    assert rc["carried_usage_minor"] < ro["carried_usage_minor"]
    assert cl.summary["bss"]["care_contacts_denied"] > 0
    # what fail-closed refused is, to the order of magnitude, what fail-open gave away
    extra_lost = rc["lost_denied_minor"] - ro["lost_denied_minor"]
    assert 0.3 < extra_lost / ro["leaked_fail_open_minor"] < 3


def test_the_network_obeys_the_ocs(runs: dict[str, twin.Run]) -> None:
    run = runs["fail_closed"]
    b = run.summary["bss"]
    assert b["ocs_requests"] > 1000 and b["ocs_denied_credit"] > 0 and b["ocs_partial"] > 0
    assert b["ocs_post_charged"] == 0  # every prepaid record had asked first
    assert b["ocs_open_sessions"] == 0  # every reservation settled or released
    assert b["ocs_negative_balances"] == 0  # capped sessions stay within their reservation
    usage = run.sql("SELECT outcome, count(*) n FROM usage GROUP BY outcome")
    usage = usage.set_index("outcome")["n"]
    assert usage["denied_credit"] == b["ocs_denied_credit"]
    assert usage["denied_ocs"] == b["ocs_unavailable"]
    # a partial grant caps the session: it ends when the quota is used up
    assert usage["quota_exhausted"] > 0
    capped = run.sql("SELECT count(*) n FROM cdrs WHERE cause = 5 AND reason <> 'duplicate'")
    assert capped["n"][0] == usage["quota_exhausted"]
    # records of sessions with quota say so; nobody else's
    on = run.sql("SELECT DISTINCT c.sub, s.account_type FROM cdrs c JOIN subscriptions s "
                 "USING (sub) WHERE c.online = 1")
    assert set(on["account_type"]) == {"prepaid"}
    # the PM counters count the denied attempts as offered
    pm = run.sql("SELECT sum(calls_denied) c, sum(sessions_denied) d, sum(sms_denied) s "
                 "FROM traffic").iloc[0]
    kinds = run.sql("SELECT kind, count(*) n FROM usage WHERE outcome LIKE 'denied%' "
                    "GROUP BY kind").set_index("kind")["n"]
    assert (pm["c"], pm["d"], pm["s"]) == (kinds["voice"], kinds["data"], kinds["sms"])
    assert run.summary["traffic"]["calls_offered"] == run.sql(
        "SELECT count(*) n FROM usage WHERE kind = 'voice'")["n"][0]


def test_calls_online_charging_refused_are_not_network_setup_failures(
        runs: dict[str, twin.Run]) -> None:
    cl = runs["fail_closed"]
    t = cl.table("traffic")
    assert t["calls_denied"].sum() > 0
    attempted = t["calls_offered"].sum() - t["calls_denied"].sum()
    set_up = attempted - t["calls_blocked"].sum() - t["calls_lost_outage"].sum()
    kpi = cl.table("kpis_run").set_index(["level", "object"]).loc[("network", "network")]
    assert kpi["calls_attempted"] == attempted
    assert kpi["cssr"] == pytest.approx(set_up / attempted)
