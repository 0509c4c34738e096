"""Differential: the emulated quickstart (out-of-band, nothing lost on the wire) is the
in-process quickstart — same incidents, root causes, tickets, every table — and its MTTD
differs by no more than the measured wire latency (lock-step adds no simulated time)."""

from __future__ import annotations

import pandas as pd
import pytest

import twin

pytestmark = pytest.mark.xdist_group("emulation")  # one worker: see conftest.py


def test_nothing_is_lost_on_the_wire(quickstart_pair: tuple[twin.Run, twin.Run]) -> None:
    _, emu = quickstart_pair
    w = emu.summary["wire"]
    assert w["management"] == "out_of_band" and w["reduction"] == "full" and w["nodes"] == 52
    assert w["southbound_sent"] == w["southbound_received"] == emu.summary["oss"]["ems_events"]
    assert w["notifications_lost"] == 0 and w["decode_errors"] == 0
    assert w["southbound_sent"] == w["snmp_traps_sent"] + w["syslog_sent"] + w["ves_sent"]
    assert min(w["snmp_traps_sent"], w["syslog_sent"], w["ves_sent"]) > 0
    # the only unanswered polls are those to elements that were down
    msgs = emu.table("wire_messages")
    polls = msgs[(msgs["protocol"] == "snmp-get") & ~msgs["received"]]
    assert len(polls) == w["polls_unanswered"]
    assert set(polls["dst"]) <= set(emu.table("faults")["target"])


def test_same_incidents_root_causes_and_tickets(
        quickstart_pair: tuple[twin.Run, twin.Run]) -> None:
    inproc, emu = quickstart_pair
    for table in ("incidents", "tickets", "alarms", "alarms_raw", "alarm_rejects",
                  "service_outages", "faults", "fault_ends"):
        pd.testing.assert_frame_equal(inproc.table(table), emu.table(table),
                                      check_exact=True, obj=table)
    assert len(inproc.table("incidents")) >= 3


def test_every_table_but_the_wire_is_the_same(
        quickstart_pair: tuple[twin.Run, twin.Run]) -> None:
    inproc, emu = quickstart_pair
    assert set(emu.tables) - set(inproc.tables) == {"wire_messages"}
    for table in inproc.tables:
        a, b = inproc.table(table), emu.table(table)
        if table == "messages":  # the wire answers at the end of an instant: same messages,
            a, b = (m.sort_values(["t", "type", "detail"], kind="stable")  # same instants
                    .reset_index(drop=True) for m in (a, b))
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=table)
    assert {k: v for k, v in emu.summary.items() if k != "wire"} == inproc.summary


def test_mttd_differs_by_no_more_than_the_wire_latency(
        quickstart_pair: tuple[twin.Run, twin.Run]) -> None:
    inproc, emu = quickstart_pair
    a, b = inproc.summary["oss"]["mttd_s"], emu.summary["oss"]["mttd_s"]
    latency_s = emu.summary["wire"]["latency_max_ms"] / 1000
    assert latency_s > 0
    assert abs(a - b) <= latency_s
    print(f"MTTD in-process {a} s, emulated {b} s; wire latency p50 "
          f"{emu.summary['wire']['latency_p50_ms']} ms, max {latency_s * 1000:.3f} ms")


def test_the_wire_keys_and_table_are_documented(
        quickstart_pair: tuple[twin.Run, twin.Run]) -> None:
    """The docs contract (tests/integration/test_docs_contract.py) reads an in-process run;
    the emulation's summary keys and table are checked here."""
    import re

    from .conftest import REPO

    def section(text: str, heading: str) -> str:
        level = heading.split(" ")[0]
        body = text.split(heading + "\n", 1)[1]
        return re.split(rf"\n#{{1,{len(level)}}} ", body, maxsplit=1)[0]

    spans = re.compile(r"`([^`\n]+)`")
    emulation = (REPO / "docs" / "emulation.md").read_text()
    documented = set(spans.findall(section(emulation, "### `wire` in summary.json")))
    _, emu = quickstart_pair
    assert set(emu.summary["wire"]) <= documented, set(emu.summary["wire"]) - documented
    tables = (REPO / "docs" / "tables.md").read_text()
    heading = next(line for line in tables.splitlines()
                   if line.startswith("### `wire_messages`"))
    columns = set(spans.findall(section(tables, heading)))
    assert set(emu.table("wire_messages").columns) <= columns
    overview = section(tables, "## Truth and observation")
    assert "`wire_messages`" in overview
