"""In-band vs out-of-band management on a tree with a fibre cut.

The quickstart's network for one day, with only its fibre cut (site1–site2, at 02:00), three
ways: in-process, emulated out-of-band (a DCN the cut does not touch) and emulated in-band
(management over the transport, so the cut also cuts the management of site2–site4 and their
cells). Out-of-band the isolated sites' alarms arrive and the run is the in-process one.
In-band they never arrive — counted lost on the wire — and the OSS learns of the outage only
from heartbeat loss: its element managers' polls go unanswered.

What the test states (and holds the code to):

============  ==========================  =============  ==========  ===================
management    alarms lost on the wire     RCA precision  RCA recall  time to incident
============  ==========================  =============  ==========  ===================
out-of-band   0                           1.0            1.0         63 s (= MTTD)
in-band       every isolated element's    0.0            0.0         61 s
============  ==========================  =============  ==========  ===================

In-band the OSS's incident covers exactly the isolated cells, but it names site2 — the
router behind the cut — as root: with management cut off, a dead router and a cut fibre in
front of it look the same (heartbeat loss behind, loss of signal in front), and the crew it
sends to replace site2 leaves the fibre cut.
"""

from __future__ import annotations

import networkx as nx
import pytest

import twin
from twin.network.topology import build_topology

from .conftest import QUICKSTART, require

pytestmark = pytest.mark.xdist_group("emulation")  # one worker: see conftest.py

CUT = ("duration=1d", "subscribers.count=500", "faults.random.mtbf_h={}",
       "faults.scripted[0].at=2h")
CUT_AT = 7200.0


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, twin.Run]:
    require()
    base = tmp_path_factory.mktemp("management")
    out = {"in-process": twin.simulate(QUICKSTART, out=base / "i", report=False,
                                       overrides=CUT)}
    for mode in ("out_of_band", "in_band"):
        out[mode] = twin.simulate(QUICKSTART, out=base / mode, report=False, emulate=True,
                                  overrides=(*CUT, f"emulation.management={mode}"))
    return out


def isolated() -> set[str]:
    """Elements cut off from the core (and from the data centre) by the cut."""
    topo = build_topology(twin.load_scenario(QUICKSTART, CUT).network)
    g = topo.graph.copy()
    g.remove_edge("site1", "site2", key="site1-site2")
    return set(topo.elements) - nx.node_connected_component(g, "core1")


def time_to_incident(run: twin.Run, cells: set[str]) -> float:
    inc = run.table("incidents")
    hit = inc[inc["cells"].map(lambda c: set(c.split(",")) == cells)]
    assert len(hit) == 1, inc[["root", "cells"]]
    return float(hit["created"].iloc[0]) - CUT_AT


def test_out_of_band_the_isolated_sites_alarms_arrive(runs: dict[str, twin.Run]) -> None:
    oob, inproc = runs["out_of_band"], runs["in-process"]
    wire = oob.summary["wire"]
    assert wire["notifications_lost"] == 0 and wire["southbound_sent"] == wire[
        "southbound_received"]
    raw = oob.table("alarms_raw")
    behind = isolated()
    assert set(raw.loc[raw["probable_cause"] != "heartbeatFailure", "alarmed_object"]) >= (
        behind - {"site2"})
    assert oob.summary["oss"] == inproc.summary["oss"]
    o = oob.summary["oss"]
    assert (o["rca_precision"], o["rca_recall"], o["faults_detected"]) == (1.0, 1.0, 1)
    cells = {e for e in behind if "-c" in e}
    assert time_to_incident(oob, cells) == pytest.approx(o["mttd_s"], abs=1e-3)


def test_in_band_they_never_arrive_and_heartbeat_loss_finds_the_outage(
        runs: dict[str, twin.Run]) -> None:
    inb = runs["in_band"]
    behind = isolated()
    msgs = inb.table("wire_messages")
    notes = msgs[msgs["protocol"] == "notification"]
    lost = notes[~notes["received"]]
    assert len(lost) == inb.summary["wire"]["notifications_lost"] > 0
    assert set(lost["src"]) <= behind
    during = notes[notes["t"] > CUT_AT]  # the cut is never repaired (see the docstring)
    assert not during.loc[during["src"].isin(behind), "received"].any()
    # nothing from behind the cut but the element managers' own heartbeat failures
    raw = inb.table("alarms_raw")
    raw = raw[raw["received"] > CUT_AT]
    from_behind = raw[raw["alarmed_object"].isin(behind)]
    assert set(from_behind["probable_cause"]) == {"heartbeatFailure"}
    assert set(from_behind["alarmed_object"]) == behind
    polls = msgs[(msgs["protocol"] == "snmp-get") & (msgs["t"] > CUT_AT)]
    assert set(polls.loc[~polls["received"], "dst"]) == behind
    cells = {e for e in behind if "-c" in e}
    assert 0 < time_to_incident(inb, cells) < 300


def test_the_rca_each_way_of_management_gives(runs: dict[str, twin.Run]) -> None:
    rows = {}
    cells = {e for e in isolated() if "-c" in e}
    for mode in ("out_of_band", "in_band"):
        o, w = runs[mode].summary["oss"], runs[mode].summary["wire"]
        rows[mode] = (w["notifications_lost"], o["rca_precision"], o["rca_recall"],
                      o["mttd_s"], round(time_to_incident(runs[mode], cells), 1))
    print("\nmanagement   lost  RCA precision  RCA recall  MTTD s  time to incident s")
    for mode, (lost, p, r, mttd, tti) in rows.items():
        print(f"{mode:<12} {lost:>4}  {p:>13}  {r:>10}  {mttd!s:>6}  {tti:>18}")
    assert rows["out_of_band"][:3] == (0, 1.0, 1.0)
    assert rows["in_band"][1:4] == (0.0, 0.0, None)  # names site2, behind the cut
    inc = runs["in_band"].table("incidents")
    assert list(inc["root"]) == ["site2"]


def test_in_band_the_collector_still_hears_its_element_managers(
        runs: dict[str, twin.Run]) -> None:
    """The cut is in the transport: the data-centre LAN between the element managers and
    the collector loses nothing; what is lost is lost behind the cut."""
    w = runs["in_band"].summary["wire"]
    assert w["management"] == "in_band" and w["southbound_sent"] == w["southbound_received"]
    assert w["polls_unanswered"] > 0 and w["decode_errors"] == 0


MEASURED = {"setup_s", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_max_ms",
            "pcap_frames"}


def test_same_seed_same_emulated_run(runs: dict[str, twin.Run],
                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    """Lock-step: a second in-band run with the same seed gives the same tables and summary,
    but for what is measured (latencies, set-up time, the capture's frames)."""
    import pandas as pd

    a = runs["in_band"]
    b = twin.simulate(QUICKSTART, out=tmp_path_factory.mktemp("again") / "in_band",
                      report=False, emulate=True,
                      overrides=(*CUT, "emulation.management=in_band"))
    assert a.tables == b.tables
    for table in a.tables:
        ta, tb = a.table(table), b.table(table)
        if table == "wire_messages":
            ta, tb = ta.drop(columns="latency_ms"), tb.drop(columns="latency_ms")
        pd.testing.assert_frame_equal(ta, tb, check_exact=True, obj=table)
    wa, wb = (dict(r.summary) for r in (a, b))
    for w in (wa, wb):
        w["wire"] = {k: v for k, v in w["wire"].items() if k not in MEASURED}
    assert wa == wb
