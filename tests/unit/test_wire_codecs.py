"""The wire codecs (twin/wire): what a dialect writes survives the wire unchanged, and other
decoders read the bytes the same way (scapy, pysnmp; net-snmp and Wireshark in
tests/emulation/test_third_party.py)."""

from __future__ import annotations

import json
import string
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.messages import AlarmNotification
from twin.network import dialects
from twin.wire import DecodeError, EncodeError, alarm_list, ber, http, snmp, syslog, ves
from twin.wire.pcap import PcapWriter

START_US = dialects.epoch_us(datetime(2026, 1, 5, tzinfo=UTC))
TYPES = [*sorted(dialects.EVENT_TYPE_CODES), "someNewAlarmType"]
CAUSES = [*sorted(dialects.PROBABLE_CAUSE_CODES), "aCauseTheMibLacks"]
TEXT = st.text(alphabet=string.printable + "äéΩ—\\\"]", max_size=60)


@st.composite
def notifications(draw: st.DrawFn) -> AlarmNotification:
    severity = draw(st.sampled_from(sorted(dialects.SEVERITY_CODES)))
    obj = draw(st.sampled_from(["site2", "site2-c1", "core1", "weird obj", "x" * 40]))
    return AlarmNotification(
        draw(st.sampled_from(["ems-alpha", "ems-beta", "ems-gamma"])),
        draw(st.integers(1, 2**31)), draw(st.floats(0, 3e6, allow_nan=False)), obj,
        draw(st.sampled_from(["", "site1-site2", "port 7"])), draw(st.sampled_from(TYPES)),
        draw(st.sampled_from(CAUSES)), draw(TEXT), severity)


def snmp_text(note: AlarmNotification) -> str:
    return dialects.encode_snmp(note, START_US + round(note.event_time * 1e6), 4242)


@settings(max_examples=150, deadline=None)
@given(notifications(), st.integers(0, 2**31 - 1))
def test_every_trap_the_dialect_writes_comes_back_the_same(note: AlarmNotification,
                                                           rid: int) -> None:
    text = snmp_text(note)
    trap = snmp.decode_trap(snmp.encode_trap(text, "public", rid))
    assert (trap.text, trap.community, trap.request_id) == (text, "public", rid)


@settings(max_examples=60, deadline=None)
@given(notifications())
def test_scapy_and_pysnmp_read_our_traps_as_we_do(note: AlarmNotification) -> None:
    from pyasn1.codec.ber import decoder
    from pysnmp.proto import api
    from scapy.layers.snmp import SNMP

    data = snmp.encode_trap(snmp_text(note), "public", 99)
    ours = snmp.decode(data)
    pm = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    msg, rest = decoder.decode(data, asn1Spec=pm.Message())
    assert not rest
    theirs = [(str(o), v) for o, v in pm.apiTrapPDU.get_varbinds(pm.apiMessage.get_pdu(msg))]
    assert [vb.oid for vb in ours.varbinds] == [o for o, _ in theirs]
    for vb, (_, value) in zip(ours.varbinds, theirs, strict=True):
        if vb.type == "STRING":
            assert bytes(value) == vb.value
        elif vb.type == "OID":
            assert str(value) == vb.value
        else:
            assert int(value) == vb.value
    pkt = SNMP(data)
    assert [v.oid.val for v in pkt.PDU.varbindlist] == [vb.oid for vb in ours.varbinds]
    assert int(pkt.PDU.id.val) == ours.request_id == 99


def test_snmp_polls_round_trip_and_scapy_agrees() -> None:
    from scapy.layers.snmp import SNMP

    for rid in (7, 1 << 24, (1 << 31) - 1):
        get = snmp.decode(snmp.encode_get("public", rid))
        assert (get.pdu, get.request_id, get.varbinds[0].oid) == ("get", rid, snmp.SYS_UPTIME)
        assert int(SNMP(snmp.encode_get("public", rid)).PDU.id.val) == rid
    resp = snmp.decode(snmp.encode_uptime_response("public", 5, 123456))
    assert (resp.pdu, resp.varbinds[0].type, resp.varbinds[0].value) == ("response",
                                                                          "Timeticks", 123456)


@pytest.mark.parametrize("data, reason", [
    (b"", "truncated"),
    (b"\x30\x03\x02\x01\x01", "truncated"),
    (b"\x30\x80\x00\x00", "indefinite length"),
    (b"\x30\x00\x00", "after the message"),
    (b"\x30\x03\x02\x01\x00", "version 0"),
    (b"\x1f\x01\x00", "multi-byte tag"),
])
def test_bad_ber_is_a_decode_error_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        snmp.decode(data)


def test_a_trap_needs_uptime_and_trap_oid_first_and_strings_in_utf8() -> None:
    good = snmp.encode_trap(snmp_text(AlarmNotification(
        "ems-alpha", 1, 0.0, "a", "", "equipmentAlarm", "softwareError", "x", "major")),
        "public", 1)
    get = snmp.encode_get("public", 1)
    with pytest.raises(DecodeError, match="not a trap"):
        snmp.decode_trap(get)
    no_header = snmp._message(0xA7, "public", 1, [("1.3.6.1.4.1.1", ber.encode_integer(1))])
    with pytest.raises(DecodeError, match="sysUpTime"):
        snmp.decode_trap(no_header)
    bad_utf8 = good.replace(b'"a"', b"").replace(b"\x04\x01a", b"\x04\x01\xff")
    with pytest.raises(DecodeError, match="UTF-8"):
        snmp.decode_trap(bad_utf8)
    with pytest.raises(EncodeError):
        snmp.encode_trap("not a varbind", "public", 1)


def test_oid_encoding_agrees_with_the_decoder_and_rejects_nonsense() -> None:
    for oid in ("1.3.6.1.2.1.1.3.0", "2.999.1", "0.39", "1.3.6.1.4.1.32473.4294967295"):
        data = ber.encode_oid(oid)
        _, start, stop = ber.read(data, 0, len(data))
        assert ber.oid(data, start, stop, "x") == oid
    for bad in ("1", "3.1", "1.40", "a.b", "1.3.-1"):
        with pytest.raises(EncodeError):
            ber.encode_oid(bad)
    with pytest.raises(DecodeError, match="non-minimal"):
        ber.oid(b"\x2b\x80\x01", 0, 3, "x")
    with pytest.raises(DecodeError, match="truncated sub-identifier"):
        ber.oid(b"\x2b\x81", 0, 2, "x")


def test_a_cut_trap_goes_out_cut_and_the_oss_rejects_it(make_sim) -> None:
    """A message the dialect's noise cut short: its complete lines, or a cut datagram."""
    from twin.emulation import collector
    from twin.oss.collection import Collector

    oss = Collector(make_sim())
    text = snmp_text(AlarmNotification("ems-alpha", 3, 1.0, "site2", "", "equipmentAlarm",
                                       "softwareError", "crash", "major"))
    for i in range(20, 81):
        cut = dialects.truncate(text, i / 100)
        try:
            data = snmp.encode_trap(cut, "public", 1)
        except EncodeError:
            data = snmp.encode_truncated(cut, "public", 1)
            with pytest.raises(DecodeError):
                snmp.decode_trap(data)
        assert oss.normalise(collector.from_trap("ems-alpha", data, "public")) is None
    assert oss.rejects == 61


@settings(max_examples=100, deadline=None)
@given(notifications())
def test_syslog_datagrams_are_the_frames_without_their_count(note: AlarmNotification) -> None:
    frame = dialects.encode_syslog(note, START_US + 5)
    data = syslog.to_datagram(frame)
    assert not data.startswith(frame.split(" ", 1)[0].encode() + b" ")
    assert syslog.from_datagram(data) == frame
    assert syslog.is_whole(frame)


def test_syslog_cut_frames_and_bad_datagrams() -> None:
    frame = "20 <187>1 abc"
    assert not syslog.is_whole(frame)
    assert syslog.to_datagram(frame) == b"<187>1 abc"
    with pytest.raises(EncodeError):
        syslog.to_datagram("<187>1 no count")
    for bad, reason in ((b"", "empty"), (b"hello", "PRI"), (b"<1>\xff\xfe", "UTF-8")):
        with pytest.raises(DecodeError, match=reason):
            syslog.from_datagram(bad)


def test_ves_events_travel_in_posts_to_the_event_listener() -> None:
    note = AlarmNotification("ems-gamma", 9, 2.0, "site3", "", "equipmentAlarm",
                             "softwareError", "crash", "major")
    event = dialects.encode_ves(note, START_US, "gamma")
    (request,) = http.Parser("request").feed(ves.post(event, "10.253.255.1"))
    assert isinstance(request, http.Request)
    assert (request.method, request.target) == ("POST", ves.PATH)
    assert ves.accept(request) == event and ves.is_json(event)
    for req, reason in ((http.Request("GET", ves.PATH, {"content-type": ves.CONTENT_TYPE}),
                         "POST"),
                        (http.Request("POST", "/other", {}), "listener"),
                        (http.Request("POST", ves.PATH, {"content-type": "text/plain"}),
                         "content type"),
                        (http.Request("POST", ves.PATH, {"content-type": ves.CONTENT_TYPE},
                                      b"\xff"), "UTF-8")):
        with pytest.raises(DecodeError, match=reason):
            ves.accept(req)


def test_http_parser_is_incremental_and_strict() -> None:
    stream = http.request("POST", "/a", "h", b"x" * 10) + http.request("GET", "/b", "h")
    parser = http.Parser("request")
    got: list[http.Request | http.Response] = []
    for i in range(len(stream)):
        got += parser.feed(stream[i:i + 1])
    assert [(r.target, r.body) for r in got if isinstance(r, http.Request)] == [
        ("/a", b"x" * 10), ("/b", b"")]
    (resp,) = http.Parser("response").feed(http.response(202))
    assert isinstance(resp, http.Response) and resp.status == 202
    for bad in (b"BAD\r\n\r\n", b"GET / HTTP/1.0\r\n\r\n", b"GET / HTTP/1.1\r\n x\r\n\r\n",
                b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"GET / HTTP/1.1\r\n" + b"A: b\r\n" * 2000,
                b"HTTP/1.1 200 OK\r\n\r\n"):
        kind = "response" if bad.startswith(b"HTTP/1.1 200") else "request"
        with pytest.raises(DecodeError):
            http.Parser(kind).feed(bad)


def test_alarm_lists_round_trip_to_the_microsecond() -> None:
    alarms = tuple(AlarmNotification("ems-alpha", i, 1.5 * i, f"site{i}", "", "equipmentAlarm",
                                     "softwareError", "crash ü", "major") for i in range(1, 4))
    body = alarm_list.encode("ems-alpha", 900.0, alarms, START_US)
    assert json.loads(body)["takenAt"] == "2026-01-05T00:15:00.000000Z"
    assert alarm_list.decode(body, START_US) == ("ems-alpha", 900.0, alarms)
    for bad in (b"{", b"[]", b'{"ems": "e", "alarms": [1], "takenAt": "x"}',
                b'{"ems": "e", "alarms": [], "takenAt": "2026-01-05"}'):
        with pytest.raises(DecodeError):
            alarm_list.decode(bad, START_US)


def test_pcap_files_read_back_with_scapy(tmp_path) -> None:
    from scapy.all import Ether, rdpcap

    frame = bytes(Ether(dst="02:00:00:00:00:01", src="02:00:00:00:00:02") / b"payload!")
    with PcapWriter(tmp_path / "x.pcap") as w:
        w.write(1_767_571_200_123_456_789, frame)
        w.write(1_767_571_201_000_000_000, frame)
    packets = rdpcap(str(tmp_path / "x.pcap"))
    assert [bytes(p) for p in packets] == [frame, frame]
    assert float(packets[0].time) == pytest.approx(1_767_571_200.123456789)
