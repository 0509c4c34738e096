"""SLA credits paid from the OSS's measurements against what the true outages would earn."""

from __future__ import annotations

import twin

from .support import SCENARIOS, RunScenario
from .test_sla_credits import expected_credits

SLA_BREACH = SCENARIOS / "sla_breach.yaml"


def credits_from(run: twin.Run, outages_table: str) -> int:
    """Credits by hand, from the outages in ``outages_table`` (truth or measured)."""
    return int(expected_credits(run, outages_table)["credit_minor"].sum())


def test_measured_and_true_outages_and_the_credits_they_earn(run_scenario: RunScenario) -> None:
    run = run_scenario(SLA_BREACH)
    b = run.summary["bss"]
    assert b["sla_outage_true_s"] > 0 and b["sla_outage_measured_s"] > 0
    # a dead aggregation router whose cells' alarms all arrive: the OSS measures each outage
    # from the cells' own event times (raise and clear), which are the true instants, so the
    # measured outage is the true one (both summed and rounded to the millisecond alike)
    assert b["sla_outage_measured_s"] == b["sla_outage_true_s"]
    assert b["sla_credits_minor"] == b["sla_credits_true_minor"]
    assert b["sla_lines_measured_breach"] == b["sla_lines_true_breach"]
    assert b["sla_credits_minor"] == credits_from(run, "service_outages")
    assert b["sla_credits_true_minor"] == credits_from(run, "cell_outages")
    assert b["sla_lines_true_breach"] > 0 and b["sla_lines_measured_breach"] > 0
