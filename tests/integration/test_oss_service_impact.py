"""Service impact per incident in a full run: the OSS asks the BSS over the integration bus,
the BSS answers from its own books (checked here against its subscriptions and rated tables),
and the answer reaches the TMF656 service problems."""

from __future__ import annotations

import numpy as np
import pytest

import twin
from twin.oss.exports import tmf656_problems

from .support import QUICKSTART, SMALL, RunScenario
from .test_oss_exports import start_of
from .tmf import check

H = 3600.0
LATENCY = 90.0


@pytest.fixture(scope="module")
def run(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=(*SMALL, f"bss.integration_latency_s={LATENCY}"))


def test_every_ticketed_incident_has_the_bss_answer(run: twin.Run) -> None:
    imp = run.table("incident_impact")
    inc = run.table("incidents")
    ticketed = set(inc.loc[inc["ticket_id"] > 0, "incident_id"])
    assert ticketed and ticketed <= set(imp["incident_id"])
    # asked when the incident opened; the answer comes back over the bus both ways
    m = imp.merge(inc, on="incident_id")
    np.testing.assert_allclose(m["asked"], m["created"])
    np.testing.assert_allclose(m["answered"] - m["asked"], LATENCY)
    np.testing.assert_allclose(m["received"] - m["answered"], LATENCY)
    assert (m["cells_x"] == m["cells_y"]).all()
    assert (m["cells_affected_x"] == m["cells_affected_y"]).all()
    cut = m[m["root"] == "site1-site2"].iloc[0]
    assert cut["services"] == "voice,data,sms" and cut["sites_affected"] == 3
    msgs = run.table("messages")
    assert (msgs["type"] == "ImpactQuery").sum() == (msgs["type"] == "ImpactAnswer").sum() \
        == len(imp)


def test_the_answer_is_what_the_bss_books_say(run: twin.Run) -> None:
    """Recomputed from the BSS's own tables: lines on the cells, their accounts, enterprise
    and SLA lines, and usage revenue rated before the question reached it, over the last 7 days."""
    imp = run.table("incident_impact")
    subs = run.table("subscriptions")
    rated = run.table("rated")
    rated = rated[rated["state"] == "rated"].merge(subs[["sub", "cell"]], on="sub")
    churn = run.table("churn")
    # lines give notice in the quickstart's week but leave with their cycle, on 1 February:
    # every line is still there, so every line counts
    assert (churn["leaves"] >= run.summary["sim_days"] * 86_400.0).all()
    for r in imp.itertuples():
        cells = r.cells.split(",")
        lines = subs[subs["cell"].isin(cells)]
        assert r.lines == len(lines)
        assert r.customers == lines["account"].nunique()
        ent = lines[lines["segment"] == "enterprise"]
        assert r.enterprise_accounts == ent["account"].nunique()
        assert r.sla_lines == len(ent)  # the enterprise offer is the one with an SLA
        assert r.sla_exposure_minor == 225 * len(ent)  # 5 % of 45.00
        # from the books as they stand when the question reaches the BSS (the answer's time;
        # the bus takes LATENCY each way)
        now_h = int(r.answered // H)
        seen = rated[(rated["rated_at"] < r.answered) & rated["cell"].isin(cells)
                     & (np.floor(rated["start"] / H) > now_h - 168)]
        expected = seen["charge_minor"].sum() / min(168.0, r.answered / H)
        assert r.revenue_at_risk_minor_per_h == pytest.approx(expected, abs=1)
    assert (imp["revenue_at_risk_minor_per_h"] > 0).all()


def test_service_problems_carry_the_impact(run: twin.Run) -> None:

    exported = tmf656_problems(run.table("incidents"), run.table("alarms"),
                               run.table("tickets"), start_of(run),
                               impact=run.table("incident_impact"))
    check("TMF656", "ServiceProblem", exported)
    (cut,) = [p for p in exported if p["name"] == "link failure: site1-site2"]
    assert [s["id"] for s in cut["affectedService"]] == ["voice", "data", "sms"]
    assert {s["id"] for s in cut["affectedLocation"]} == {"site2", "site3", "site4"}
    chars = {c["name"]: c["value"] for c in cut["characteristic"]}
    imp = run.table("incident_impact")
    row = imp[imp["incident_id"] == int(cut["id"])].iloc[-1]
    assert chars["customersAffected"] == row["customers"]
    assert chars["revenueAtRiskMinorPerHour"] == row["revenue_at_risk_minor_per_h"]
    factors = [int(p["impactImportanceFactor"]) for p in exported if "characteristic" in p]
    assert max(factors) == 100 and all(0 <= f <= 100 for f in factors)
