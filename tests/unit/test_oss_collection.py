"""EMS dialects and the OSS's collection adapters.

Every dialect the element managers speak (SNMP trap varbinds, RFC 5424 syslog, VES JSON)
must round-trip: what the network encodes, the OSS's adapter reads back as the same X.733
alarm. A message cut in transit, garbled, or in an unknown dialect must land in the rejects
with a reason — and nothing a payload contains may crash the collector.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twin.kernel import Sim
from twin.messages import AlarmNotification, EmsEvent
from twin.network import build_topology
from twin.network.dialects import (
    DIALECTS,
    EmsEncoders,
    encode_snmp,
    encode_syslog,
    encode_ves,
    epoch_us,
    truncate,
)
from twin.oss.collection import (
    ALARM_TYPES,
    SEVERITIES,
    Collector,
    SnmpAdapter,
    SyslogAdapter,
    VesAdapter,
)
from twin.scenario.schema import NetworkSpec, TelemetrySpec

START_US = epoch_us(datetime(2026, 1, 5, tzinfo=UTC))  # make_sim's start
ADAPTERS = {"snmp": SnmpAdapter(START_US), "syslog": SyslogAdapter(START_US),
            "ves": VesAdapter(START_US)}

LOS = AlarmNotification("ems-alpha", 17, 36_000.25, "site1", "site1-site2",
                        "communicationsAlarm", "lossOfSignal", "loss of signal on port "
                        "site1-site2", "major")
SAMPLES = [
    LOS,
    replace(LOS, perceived_severity="cleared", notification_id=18, event_time=40_000.0),
    AlarmNotification("ems-beta", 1, 0.0, "site2", "", "communicationsAlarm",
                      "heartbeatFailure", "NE not responding to element manager", "critical"),
    AlarmNotification("ems-gamma", 99, 7 * 86_400.0 - 1e-6, "site3-c1", "",
                      "qualityOfServiceAlarm", "performanceDegraded", "", "minor"),
    # a probable cause no MIB enumerates travels as text
    AlarmNotification("ems-alpha", 5, 12.5, "core1", "", "environmentalAlarm",
                      "airConditioningFailure", "HVAC unit 2 \"fan\" [stalled]\\x\nline 2",
                      "warning"),
    AlarmNotification("ems-alpha", 6, 13.0, "odd object \"]", "port 1", "equipmentAlarm",
                      "equipmentMalfunction", "", "indeterminate"),
]


def encode(dialect: str, note: AlarmNotification) -> str:
    event_us = START_US + round(note.event_time * 1e6)
    if dialect == "snmp":
        return encode_snmp(note, event_us, uptime_cs=int(note.event_time * 100))
    if dialect == "syslog":
        return encode_syslog(note, event_us)
    return encode_ves(note, event_us, vendor="alpha")


def same_alarm(got: AlarmNotification, want: AlarmNotification) -> None:
    assert got.event_time == pytest.approx(want.event_time, abs=1e-6)
    assert replace(got, event_time=want.event_time) == want


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("note", SAMPLES, ids=lambda n: f"{n.probable_cause}-{n.notification_id}")
def test_each_dialect_round_trips(dialect: str, note: AlarmNotification) -> None:
    same_alarm(ADAPTERS[dialect].parse(note.ems, encode(dialect, note)), note)


def test_the_dialects_look_like_their_protocols() -> None:
    snmp = encode("snmp", LOS).splitlines()
    assert snmp[1] == "1.3.6.1.6.3.1.1.4.1.0 = OID: 1.3.6.1.4.1.32473.1.2.0.1"
    assert "1.3.6.1.4.1.32473.1.1.5 = INTEGER: 8" in snmp  # lossOfSignal, enumerated
    assert snmp[-1] == "1.3.6.1.4.1.32473.1.1.9 = INTEGER: 4"  # major (RFC 3877)
    syslog = encode("syslog", LOS)
    count, line = syslog.split(" ", 1)
    assert int(count) == len(line.encode())
    assert line.startswith("<187>1 2026-01-05T10:00:00.250000Z site1 ems-alpha - ALARM "
                           '[x733@32473 nid="17" res="site1-site2" type="communicationsAlarm"')
    ves = json.loads(encode("ves", LOS))["event"]
    assert ves["commonEventHeader"]["domain"] == "fault"
    assert ves["faultFields"]["eventSeverity"] == "MAJOR"
    assert ves["faultFields"]["alarmCondition"] == "lossOfSignal"


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
notes = st.builds(
    AlarmNotification,
    ems=st.sampled_from(["ems-alpha", "ems-beta", "ems-gamma"]),
    notification_id=st.integers(1, 2**31),
    event_time=st.floats(0, 60 * 86_400.0),
    alarmed_object=texts.filter(bool),
    resource=texts,
    alarm_type=st.sampled_from(sorted(ALARM_TYPES)),
    probable_cause=st.one_of(st.sampled_from(["lossOfSignal", "heartbeatFailure",
                                              "softwareError", "powerProblem"]),
                             texts.filter(bool)),
    specific_problem=texts,
    perceived_severity=st.sampled_from(sorted(SEVERITIES)),
)


@settings(max_examples=150, deadline=None)
@given(note=notes, dialect=st.sampled_from(DIALECTS))
def test_any_x733_alarm_round_trips(note: AlarmNotification, dialect: str) -> None:
    same_alarm(ADAPTERS[dialect].parse(note.ems, encode(dialect, note)), note)


@settings(max_examples=150, deadline=None)
@given(note=notes, dialect=st.sampled_from(DIALECTS), fraction=st.floats(0.2, 0.8))
def test_a_message_cut_in_transit_is_always_rejected(
        note: AlarmNotification, dialect: str, fraction: float) -> None:
    from twin.oss.collection import Reject

    with pytest.raises(Reject):
        ADAPTERS[dialect].parse(note.ems, truncate(encode(dialect, note), fraction))


def test_adapter_for_each_dialect_satisfies_the_protocol() -> None:
    from twin.oss.collection import DialectAdapter

    adapters: list[DialectAdapter] = list(ADAPTERS.values())
    assert sorted(a.dialect for a in adapters) == sorted(DIALECTS)


@pytest.fixture
def collector(make_sim: Callable[..., Sim]) -> Collector:
    return Collector(make_sim())


BAD = [  # (dialect, payload, reason starts with)
    ("snmp", truncate(encode("snmp", LOS), 0.5), "line 6 is not a varbind"),
    ("snmp", encode("snmp", LOS).rsplit("\n", 1)[0], "missing varbind 1.3.6.1.4.1.32473.1.1.9"),
    ("snmp", encode("snmp", LOS).replace("INTEGER: 8", "INTEGER: 4242"),
     "unknown probable cause code 4242"),
    ("snmp", encode("snmp", LOS).replace("INTEGER: 4", "INTEGER: 9"),
     "unknown severity code 9"),
    ("snmp", encode("snmp", LOS).replace("0.1\n", "0.2\n", 1), "trap"),
    ("snmp", "hello world", "line 1 is not a varbind"),
    ("syslog", truncate(encode("syslog", LOS), 0.7), "frame says"),
    ("syslog", "12 not a syslog", "not an RFC 5424 header"),
    ("syslog", encode("syslog", LOS).replace('sev="major"', 'sev="fatal"'),
     "unknown perceivedSeverity 'fatal'"),
    ("ves", truncate(encode("ves", LOS), 0.3), "invalid JSON"),
    ("ves", encode("ves", LOS).replace('"domain":"fault"', '"domain":"heartbeat"'),
     "VES domain 'heartbeat' is not fault"),
    ("ves", encode("ves", LOS).replace('"sequence":17', '"sequence":"17"'),
     "commonEventHeader.sequence should be int"),
    ("ves", "[1, 2, 3]", "not a JSON object"),
    ("corba", "IDL:omg.org/CosNotification/StructuredEvent:1.0", "unknown dialect 'corba'"),
]


@pytest.mark.parametrize(("dialect", "payload", "reason"), BAD,
                         ids=[f"{d}-{r[:24]}" for d, _, r in BAD])
def test_malformed_input_lands_in_rejects_with_a_reason(
        collector: Collector, dialect: str, payload: str, reason: str) -> None:
    assert collector.normalise(EmsEvent("ems-x", dialect, payload)) is None
    assert collector.rejects == 1
    collector.sim.records.close()
    rows = pq.read_table(collector.sim.records.directory / "alarm_rejects.parquet").to_pylist()
    assert len(rows) == 1
    assert rows[0]["reason"].startswith(reason), rows[0]["reason"]
    assert (rows[0]["ems"], rows[0]["dialect"], rows[0]["payload"]) == ("ems-x", dialect,
                                                                        payload)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dialect=st.sampled_from([*DIALECTS, "other"]), payload=st.text(max_size=300),
       note=notes, cut=st.integers(0, 400), junk=st.text(max_size=5))
def test_nothing_in_a_payload_crashes_the_collector(
        collector: Collector, dialect: str, payload: str, note: AlarmNotification, cut: int,
        junk: str) -> None:
    collector.normalise(EmsEvent("ems-x", dialect, payload))
    if dialect in DIALECTS:  # a valid message with a random splice of junk
        good = encode(dialect, note)
        collector.normalise(EmsEvent("ems-x", dialect, good[:cut] + junk + good[cut:]))


def test_vendors_speak_their_dialects_in_order(make_sim: Callable[..., Sim]) -> None:
    topo = build_topology(NetworkSpec.model_validate({"preset": "small", "sites": 3}))
    enc = EmsEncoders(make_sim(), TelemetrySpec(), topo)
    assert enc.dialect == {"ems-alpha": "snmp", "ems-beta": "syslog", "ems-gamma": "ves"}
    enc = EmsEncoders(make_sim(), TelemetrySpec(dialects={"alpha": "ves"}), topo)
    assert enc.dialect["ems-alpha"] == "ves"
    event = enc.encode(LOS, sent_at=36_030.0)
    assert (event.ems, event.dialect) == ("ems-alpha", "ves")
    same_alarm(ADAPTERS["ves"].parse(event.ems, event.payload), LOS)


def test_malformed_rate_cuts_that_share_of_messages(make_sim: Callable[..., Sim]) -> None:
    topo = build_topology(NetworkSpec.model_validate({"preset": "small", "sites": 3}))
    sim = make_sim()
    enc = EmsEncoders(sim, TelemetrySpec(malformed_rate=0.2), topo)
    collector = Collector(sim)
    n = 2000
    read = sum(collector.normalise(enc.encode(replace(LOS, ems=ems), 0.0)) is not None
               for ems in ["ems-alpha", "ems-beta", "ems-gamma"] * (n // 3))
    assert enc.malformed == collector.rejects
    assert collector.rejects + read == n // 3 * 3
    assert collector.rejects / (n // 3 * 3) == pytest.approx(0.2, abs=0.03)
    assert set(collector.rejected) == set(DIALECTS)
