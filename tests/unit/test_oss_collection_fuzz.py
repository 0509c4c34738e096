"""Fuzzing the alarm collector: whatever an element manager sends, it rejects, never raises.

For each dialect, 12,000 mutants of valid messages (see ``mutation.py``) go through
``Collector.normalise``. Not one may raise; every message is read or rejected (the counts add
up); every reject has a reason; and what the collector keeps — the rejects with their
payloads and the alarms it read — must be writable to the run's Parquet tables: ids inside
64 bits, text that is valid Unicode (a lone surrogate in a payload is kept as its escape).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pyarrow.parquet as pq
import pytest
from mutation import dumps, havoc, mutants, replace_in_json, replace_value
from test_oss_collection import encode

from twin.kernel import Sim
from twin.messages import AlarmNotification, EmsEvent
from twin.network.dialects import DIALECTS
from twin.oss.alarms import RAW_SCHEMA
from twin.oss.collection import ALARM_TYPES, SEVERITIES, Collector

N = 12_000
SEED = 20260105
CAUSES = ["lossOfSignal", "heartbeatFailure", "softwareError", "powerProblem", "fanFailure"]


def valid_note(rng: random.Random) -> AlarmNotification:
    return AlarmNotification(
        rng.choice(["ems-alpha", "ems-beta", "ems-gamma"]), rng.randint(1, 2**31),
        round(rng.uniform(0, 30 * 86_400.0), 6), rng.choice(["site1", "site2-c1", "core1"]),
        rng.choice(["", "site1-site2"]), rng.choice(sorted(ALARM_TYPES)), rng.choice(CAUSES),
        rng.choice(["", "loss of signal", 'HVAC "fan" [stalled]']),
        rng.choice(sorted(SEVERITIES)))


def encoder(dialect: str) -> Callable[[random.Random], str]:
    return lambda rng: encode(dialect, valid_note(rng))


def structural(dialect: str) -> Callable[[str, random.Random], str]:
    def mutate(text: str, rng: random.Random) -> str:
        if dialect == "ves":
            return dumps(replace_in_json(json.loads(text), rng), rng)
        if dialect == "snmp":
            return replace_value(text, rng, (": ",))
        # syslog: a value inside the structured data, the header, or the octet count
        count, _, line = text.partition(" ")
        edited = replace_value(line.replace('" ', '"\n'), rng, ('="', " ", "<")).replace(
            '"\n', '" ')
        if rng.random() < 0.5:
            return f"{len(edited.encode('utf-8', 'surrogatepass'))} {edited}"
        return f"{count} {edited}"
    return mutate


@pytest.mark.parametrize("dialect", DIALECTS)
def test_no_mutated_message_escapes_the_collector(
        make_sim: Callable[..., Sim], dialect: str) -> None:
    sim = make_sim()
    collector = Collector(sim)
    raw = sim.records.buffer("alarms_raw", RAW_SCHEMA)
    escapes: list[str] = []
    read = 0
    for k, payload in mutants(encoder(dialect), structural(dialect), N, SEED):
        try:
            note = collector.normalise(EmsEvent("ems-x", dialect, payload))
        except Exception as exc:  # the property under test: nothing escapes
            escapes.append(f"seed {SEED} mutant {k}: {type(exc).__name__}: {exc!s:.200} "
                           f"← {payload[:200]!r}")
            continue
        if note is not None:
            read += 1
            raw.append(received=0.0, ems=note.ems, notification_id=note.notification_id,
                       event_time=note.event_time, alarmed_object=note.alarmed_object,
                       resource=note.resource, alarm_type=note.alarm_type,
                       probable_cause=note.probable_cause,
                       perceived_severity=note.perceived_severity, alarm_id=0,
                       via="notification")
    assert escapes == [], f"{len(escapes)} escapes; first: {escapes[:5]}"
    assert collector.received[dialect] == N
    assert collector.rejected[dialect] + read == N
    assert collector.rejects > N // 4, "the mutants should mostly be unreadable"
    sim.records.close()  # the rejects and the alarms read must be writable to Parquet
    rejects = pq.read_table(sim.records.directory / "alarm_rejects.parquet").to_pylist()
    assert len(rejects) == collector.rejects
    assert all(r["reason"] for r in rejects)
    assert pq.read_table(sim.records.directory / "alarms_raw.parquet").num_rows == read


def test_the_mutants_cover_what_broke_the_collector() -> None:
    """Guard on the fuzzer itself: it does produce the inputs the issue reported."""
    ves = [p for _, p in mutants(encoder("ves"), structural("ves"), 3000, SEED)]
    assert any(p.startswith("[[[[[[[[") or '{"a":{"a":' in p for p in ves)  # deep JSON
    assert any("9223372036854775808" in p or "1e+400" in p or "0000000000" in p for p in ves)
    assert any("\ud800" in p or "\\ud800" in p for p in ves)
    snmp = [p for _, p in mutants(encoder("snmp"), structural("snmp"), 3000, SEED)]
    assert any("18446744073709551616" in p or "99999999999999999999" in p for p in snmp)


@pytest.mark.parametrize(("dialect", "edit", "reason"), [
    ("ves", lambda d: {**d, "event": {**d["event"], "commonEventHeader": {
        **d["event"]["commonEventHeader"], "sequence": 2**63}}}, "notification id"),
    ("ves", lambda d: {**d, "event": {**d["event"], "commonEventHeader": {
        **d["event"]["commonEventHeader"], "lastEpochMicrosec": 10**400}}}, "event time"),
    ("ves", lambda d: {**d, "event": {**d["event"], "faultFields": {
        **d["event"]["faultFields"], "specificProblem": "bad \ud800 text"}}}, "not valid Unicode"),
])
def test_reported_cases_are_rejects_with_reasons(
        make_sim: Callable[..., Sim], dialect: str,
        edit: Callable[[dict[str, object]], dict[str, object]], reason: str) -> None:
    sim = make_sim()
    collector = Collector(sim)
    doc = json.loads(encoder(dialect)(random.Random(1)))
    assert collector.normalise(EmsEvent("ems-x", dialect, json.dumps(edit(doc)))) is None
    deep = '{"event":' * 5_000 + "{}" + "}" * 5_000
    assert collector.normalise(EmsEvent("ems-x", "ves", deep)) is None
    lone = EmsEvent("ems-\udc80", "snmp", "garbage \ud800")
    assert collector.normalise(lone) is None
    sim.records.close()
    rows = pq.read_table(sim.records.directory / "alarm_rejects.parquet").to_pylist()
    assert reason in rows[0]["reason"], rows[0]
    assert rows[1]["reason"] == "invalid JSON: nested too deeply"
    assert rows[2]["ems"] == "ems-\\udc80" and rows[2]["payload"] == "garbage \\ud800"


def test_havoc_is_reproducible() -> None:
    a = [havoc("1.3.6.1 = INTEGER: 5", random.Random(3)) for _ in range(5)]
    b = [havoc("1.3.6.1 = INTEGER: 5", random.Random(3)) for _ in range(5)]
    assert a == b
