"""SLA credits paid from the OSS's measurements against what the true outages would earn."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction

import pytest

import twin

from .support import SCENARIOS, RunScenario
from .test_sla_credits import bill_cycles, half_up, seconds, union_seconds

SLA_BREACH = SCENARIOS / "sla_breach.yaml"


def credits_from(run: twin.Run, outages_table: str) -> int:
    """Credits by hand, from the outages in ``outages_table`` (truth or measured)."""
    sc = run.scenario
    start = datetime.fromisoformat(str(sc["start"]).replace("Z", "+00:00"))
    offers = sc["bss"]["catalog"]["offers"]
    outages = run.table(outages_table)
    total = 0
    for _, lo, hi, cycle_s in bill_cycles(start, sc["bss"]["bill_cycle_day"],
                                          seconds(sc["duration"])):
        for sub in run.table("subscriptions").itertuples():
            sla = offers[sub.offer].get("sla")
            if sla is None:
                continue
            cell = outages[outages["cell"] == sub.cell]
            out = union_seconds(list(zip(cell["start"], cell["end"], strict=True)), lo, hi)
            if out <= 0 or 100.0 * (1 - out / (hi - lo)) >= sla["availability_target"]:
                continue
            pct = min(max([s["credit_pct"] for s in sla["credit_table"]
                           if out > seconds(s["over"])], default=0.0), sla.get("cap_pct", 100))
            base = half_up(Fraction(offers[sub.offer]["recurring_fee"] * round(hi - lo),
                                    round(cycle_s)))
            total += half_up(base * Fraction(str(pct)) / 100)
    return total


def test_measured_and_true_outages_and_the_credits_they_earn(run_scenario: RunScenario) -> None:
    run = run_scenario(SLA_BREACH)
    b = run.summary["bss"]
    assert b["sla_outage_true_s"] > 0 and b["sla_outage_measured_s"] > 0
    # a dead aggregation router: the OSS stamps the cut-off cells' own alarms, close to truth
    assert b["sla_outage_measured_s"] == pytest.approx(b["sla_outage_true_s"], rel=0.05)
    assert b["sla_credits_minor"] == credits_from(run, "service_outages")
    assert b["sla_credits_true_minor"] == credits_from(run, "cell_outages")
    assert b["sla_lines_true_breach"] > 0 and b["sla_lines_measured_breach"] > 0
