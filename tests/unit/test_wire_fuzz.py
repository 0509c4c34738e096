"""Fuzzing the collector's receiving end: malformed datagrams become rejects, never crashes.

Over 10,000 malformed messages — truncated BER, garbage UDP, broken syslog, invalid VES JSON,
broken HTTP, strangers — go through the collector's decoding (twin.emulation.collector) into
the OSS's collection adapters; each must land in ``alarm_rejects`` with a reason. Mutated
(bit-flipped) traps may or may not still be alarms, but must not crash anything. The same
decoding over real sockets: tests/emulation/test_storm_and_fuzz.py.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq

from twin.emulation import collector
from twin.messages import AlarmNotification, EmsEvent
from twin.network import dialects
from twin.oss.collection import Collector
from twin.wire import http, snmp, syslog, ves

RNG = np.random.default_rng(20_260_111)


def _notes(n: int) -> list[AlarmNotification]:
    causes = sorted(dialects.PROBABLE_CAUSE_CODES)
    types = sorted(dialects.EVENT_TYPE_CODES)
    sevs = sorted(dialects.SEVERITY_CODES)
    return [AlarmNotification("ems-x", i + 1, float(i), f"site{i % 13}", "", types[i % len(types)],
                              causes[i % len(causes)], f"problem {i}", sevs[i % len(sevs)])
            for i in range(n)]


def _cut(data: bytes, low: int = 1, high: int | None = None) -> bytes:
    high = len(data) - 1 if high is None else high
    return data[:int(RNG.integers(low, max(low + 1, high)))]


def _garbage() -> bytes:
    return RNG.integers(0, 256, int(RNG.integers(0, 300)), dtype=np.uint8).tobytes()


def malformed() -> list[tuple[str, EmsEvent]]:
    """(category, event) for messages that must all be rejected."""
    out: list[tuple[str, EmsEvent]] = []
    notes = _notes(400)
    traps = [snmp.encode_trap(dialects.encode_snmp(n, 1_767_571_200_000_000, 5), "public", i)
             for i, n in enumerate(notes)]
    frames = [dialects.encode_syslog(n, 1_767_571_200_000_000) for n in notes]
    events = [dialects.encode_ves(n, 1_767_571_200_000_000, "gamma") for n in notes]
    for i in range(3000):  # truncated BER
        out.append(("truncated BER", collector.from_trap("ems-x", _cut(traps[i % 400]), "public")))
    for _ in range(2000):  # garbage UDP on the trap and syslog ports
        out.append(("garbage UDP", collector.from_trap("ems-x", _garbage(), "public")))
        data = _garbage()
        out.append(("garbage UDP", collector.from_syslog("ems-x", data)))
    for i in range(400):  # a trap from another community
        out.append(("community", collector.from_trap(
            "ems-x", traps[i].replace(b"public", b"privat"), "public")))
    for i in range(1500):  # broken syslog: cut in its header or structured data, bad PRI
        data = syslog.to_datagram(frames[i % 400])
        head = data.index(b"] ") if b"] " in data else len(data) - 1
        out.append(("broken syslog", collector.from_syslog("ems-x", _cut(data, 1, head))))
    for i in range(400):
        data = b"<999>" + syslog.to_datagram(frames[i])[5:]
        out.append(("broken syslog", collector.from_syslog("ems-x", data)))
    for i in range(1500):  # invalid VES JSON, in well-formed requests
        body = _cut(events[i % 400].encode()).decode("utf-8", "ignore")
        request = http.Parser("request").feed(ves.post(body, "c"))[0]
        assert isinstance(request, http.Request)
        out.append(("invalid VES JSON", collector.from_ves("ems-x", request)[0]))
    for i in range(300):  # JSON, but not a VES fault event
        body = json.dumps([{"event": i}, {"domain": "fault"}, "x", None][i % 4])
        request = http.Parser("request").feed(ves.post(body, "c"))[0]
        assert isinstance(request, http.Request)
        out.append(("not a VES event", collector.from_ves("ems-x", request)[0]))
    for _ in range(500):  # HTTP that is not HTTP
        out.append(("broken HTTP", collector.broken_stream("ems-x", "bad request line",
                                                           _garbage())))
    for _ in range(400):
        out.append(("stranger", collector.from_stranger("10.9.9.9", "snmp", _garbage())))
    return out


def test_ten_thousand_malformed_messages_are_rejects_with_reasons(make_sim) -> None:
    sim = make_sim()
    oss = Collector(sim)
    cases = malformed()
    assert len(cases) >= 10_000
    for category, event in cases:
        assert oss.normalise(event) is None, f"{category} accepted: {event.payload[:80]!r}"
    sim.records.close()
    rejects = pq.read_table(sim.records.buffers["alarm_rejects"].path).to_pandas()
    assert len(rejects) == len(cases) == oss.rejects
    assert rejects["reason"].str.len().min() > 5
    reasons = rejects["reason"].str.extract(r"^([a-z ]+)")[0].value_counts()
    assert len(reasons) >= 5  # not one catch-all reason


def test_mutated_traps_never_crash_the_collector(make_sim) -> None:
    sim = make_sim()
    oss = Collector(sim)
    traps = [snmp.encode_trap(dialects.encode_snmp(n, 0, 1), "public", 1) for n in _notes(100)]
    alarms = rejects = 0
    for i in range(3000):
        data = bytearray(traps[i % 100])
        for _ in range(int(RNG.integers(1, 4))):
            data[int(RNG.integers(0, len(data)))] ^= 1 << int(RNG.integers(0, 8))
        note = oss.normalise(collector.from_trap("ems-x", bytes(data), "public"))
        alarms += note is not None
        rejects += note is None
    assert alarms + rejects == 3000 and rejects == oss.rejects and rejects > 1000
