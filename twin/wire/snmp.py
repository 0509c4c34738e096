"""SNMPv2c (RFC 1901, RFC 3416) messages in BER: traps, and the GETs of heartbeat polls.

The ``snmp`` dialect (:mod:`twin.network.dialects`) renders a trap as the varbind lines
net-snmp's snmptrapd prints (``OID = TYPE: value``). :func:`encode_trap` builds the real
SNMPv2-Trap-PDU from those lines with scapy; :func:`decode_trap` reads a datagram back into
the same lines, so ``decode_trap(encode_trap(text)).text == text`` for every trap the
dialect writes — the OSS's parser cannot tell a trap that crossed a wire from one handed over
in memory.

Decoding is this module's own strict BER reader (:mod:`twin.wire.ber`): scapy needs about
2 ms per trap and pysnmp about 1 ms on the development machine, this reader some 30 µs; the
tests check it against both, and against net-snmp and Wireshark.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from twin.wire import DecodeError, EncodeError, ber

VERSION_2C = 1
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"

# value types by tag, named as snmptrapd prints them
TYPES = {0x02: "INTEGER", 0x04: "STRING", 0x05: "NULL", 0x06: "OID", 0x40: "IpAddress",
         0x41: "Counter32", 0x42: "Gauge32", 0x43: "Timeticks", 0x44: "Opaque",
         0x46: "Counter64", 0x80: "noSuchObject", 0x81: "noSuchInstance",
         0x82: "endOfMibView"}
TAGS = {name: tag for tag, name in TYPES.items()}
PDUS = {0xA0: "get", 0xA1: "getnext", 0xA2: "response", 0xA3: "set", 0xA5: "getbulk",
        0xA6: "inform", 0xA7: "trap", 0xA8: "report"}
_UNSIGNED = {"Counter32": 32, "Gauge32": 32, "Timeticks": 32, "Counter64": 64}

Value = int | str | bytes | None


@dataclass(frozen=True)
class Varbind:
    oid: str
    type: str  # a name of TYPES
    value: Value  # int, dotted OID text, bytes (STRING, Opaque, IpAddress) or None


@dataclass(frozen=True)
class Message:
    version: int
    community: bytes
    pdu: str  # a name of PDUS
    request_id: int
    error_status: int
    error_index: int
    varbinds: tuple[Varbind, ...]


@dataclass(frozen=True)
class Trap:
    community: str
    request_id: int
    text: str  # the varbinds as the snmp dialect writes them


# --- decoding ---------------------------------------------------------------------------


def _value(data: bytes, tag: int, start: int, stop: int, where: str) -> tuple[str, Value]:
    kind = TYPES.get(tag)
    if kind is None:
        raise DecodeError(f"{where}: unknown value type 0x{tag:02x}")
    if kind == "INTEGER":
        value = ber.integer(data, start, stop, where)
        if not -(1 << 31) <= value < 1 << 31:
            raise DecodeError(f"{where}: INTEGER {value} out of range")
        return kind, value
    if kind in _UNSIGNED:
        return kind, ber.unsigned(data, start, stop, _UNSIGNED[kind], where)
    if kind == "OID":
        return kind, ber.oid(data, start, stop, where)
    if kind in ("STRING", "Opaque"):
        return kind, data[start:stop]
    if kind == "IpAddress":
        if stop - start != 4:
            raise DecodeError(f"{where}: IpAddress of {stop - start} bytes")
        return kind, data[start:stop]
    if stop != start:
        raise DecodeError(f"{where}: {kind} with a value")
    return kind, None


def decode(datagram: bytes) -> Message:
    """Any SNMPv2c message; the whole datagram must be one message."""
    data = bytes(datagram)
    end = len(data)
    start, stop = ber.expect(data, 0, end, ber.SEQUENCE, "message")
    if stop != end:
        raise DecodeError(f"{end - stop} bytes after the message")
    s, e = ber.expect(data, start, stop, ber.INTEGER, "version")
    version = ber.integer(data, s, e, "version")
    if version != VERSION_2C:
        raise DecodeError(f"SNMP version {version} (only 1, v2c, is read)")
    s, pos = ber.expect(data, e, stop, ber.OCTET_STRING, "community")
    community = data[s:pos]
    pdu_tag, pdu_start, pdu_stop = ber.read(data, pos, stop)
    if pdu_tag not in PDUS:
        raise DecodeError(f"unknown PDU type 0x{pdu_tag:02x}")
    if pdu_stop != stop:
        raise DecodeError(f"{stop - pdu_stop} bytes after the PDU")
    s, e = ber.expect(data, pdu_start, pdu_stop, ber.INTEGER, "request-id")
    request_id = ber.integer(data, s, e, "request-id")
    s, e = ber.expect(data, e, pdu_stop, ber.INTEGER, "error-status")
    error_status = ber.integer(data, s, e, "error-status")
    s, e = ber.expect(data, e, pdu_stop, ber.INTEGER, "error-index")
    error_index = ber.integer(data, s, e, "error-index")
    pos, list_stop = ber.expect(data, e, pdu_stop, ber.SEQUENCE, "variable-bindings")
    if list_stop != pdu_stop:
        raise DecodeError(f"{pdu_stop - list_stop} bytes after the variable-bindings")
    varbinds: list[Varbind] = []
    while pos < list_stop:
        n = len(varbinds) + 1
        vb_start, vb_stop = ber.expect(data, pos, list_stop, ber.SEQUENCE, f"varbind {n}")
        s, e = ber.expect(data, vb_start, vb_stop, ber.OID, f"varbind {n} name")
        name = ber.oid(data, s, e, f"varbind {n} name")
        tag, s, v_stop = ber.read(data, e, vb_stop)
        if v_stop != vb_stop:
            raise DecodeError(f"varbind {n}: {vb_stop - v_stop} bytes after its value")
        kind, value = _value(data, tag, s, v_stop, f"varbind {n} ({name})")
        varbinds.append(Varbind(name, kind, value))
        pos = vb_stop
    return Message(version, community, PDUS[pdu_tag], request_id, error_status, error_index,
                   tuple(varbinds))


# --- traps as the dialect's text --------------------------------------------------------

_LINE = re.compile(r"^(\d+(?:\.\d+)+) = ([A-Za-z0-9]+): (.*)$")
_QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"$', re.DOTALL)
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)


def quote(text: str) -> str:
    """A display string on one line, as the dialect writes it."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _unescape(m: re.Match[str]) -> str:
    return "\n" if m.group(1) == "n" else m.group(1)


def render(varbinds: tuple[Varbind, ...] | list[Varbind]) -> str:
    """Varbinds as ``OID = TYPE: value`` lines; a STRING must be UTF-8 text."""
    lines = []
    for i, vb in enumerate(varbinds, 1):
        value = vb.value
        if vb.type == "STRING":
            assert isinstance(value, bytes)
            try:
                text = quote(value.decode("utf-8"))
            except UnicodeDecodeError:
                raise DecodeError(f"varbind {i} ({vb.oid}): STRING is not UTF-8") from None
        elif vb.type == "Opaque":
            assert isinstance(value, bytes)
            text = value.hex(" ").upper()
        elif vb.type == "IpAddress":
            assert isinstance(value, bytes)
            text = ".".join(map(str, value))
        elif value is None:
            text = ""
        else:
            text = str(value)
        lines.append(f"{vb.oid} = {vb.type}: {text}")
    return "\n".join(lines)


def parse(text: str) -> list[Varbind]:
    """The dialect's lines as varbinds (for encoding)."""
    out = []
    for n, line in enumerate(text.split("\n"), 1):
        m = _LINE.match(line)
        if m is None:
            raise EncodeError(f"line {n} is not a varbind")
        name, kind, raw = m.groups()
        value: Value
        if kind == "STRING":
            q = _QUOTED.match(raw)
            if q is None:
                raise EncodeError(f"line {n}: unterminated string")
            value = _UNESCAPE.sub(_unescape, q.group(1)).encode("utf-8")
        elif kind == "OID":
            value = raw
        elif kind == "INTEGER" or kind in _UNSIGNED:
            try:
                value = int(raw)
            except ValueError:
                raise EncodeError(f"line {n}: {kind} {raw!r} is not a number") from None
            bits = _UNSIGNED.get(kind)
            lo, hi = (0, 1 << bits) if bits else (-(1 << 31), 1 << 31)
            if not lo <= value < hi:
                raise EncodeError(f"line {n}: {kind} {value} out of range")
        else:
            raise EncodeError(f"line {n}: type {kind} is not sent")
        out.append(Varbind(name, kind, value))
    return out


def encode_trap(text: str, community: str, request_id: int) -> bytes:
    """An SNMPv2-Trap-PDU message carrying the dialect's varbind lines, built with scapy.
    The first two varbinds must be sysUpTime.0 and snmpTrapOID.0 (RFC 3416 4.2.6)."""
    from scapy.asn1.asn1 import (
        ASN1_COUNTER64,
        ASN1_GAUGE32,
        ASN1_INTEGER,
        ASN1_OID,
        ASN1_STRING,
        ASN1_TIME_TICKS,
    )
    from scapy.layers.snmp import SNMP, SNMPtrapv2, SNMPvarbind

    varbinds = parse(text)
    _check_trap_header(varbinds, EncodeError)
    kinds: dict[str, Any] = {"INTEGER": ASN1_INTEGER, "STRING": ASN1_STRING, "OID": ASN1_OID,
                             "Gauge32": ASN1_GAUGE32, "Timeticks": ASN1_TIME_TICKS,
                             "Counter64": ASN1_COUNTER64}
    pdu = SNMPtrapv2(id=request_id, varbindlist=[
        SNMPvarbind(oid=ASN1_OID(vb.oid), value=kinds[vb.type](vb.value)) for vb in varbinds])
    return bytes(SNMP(version=VERSION_2C, community=community.encode(), PDU=pdu))


def _check_trap_header(varbinds: list[Varbind] | tuple[Varbind, ...],
                       error: type[Exception]) -> None:
    if len(varbinds) < 2 or (varbinds[0].oid, varbinds[0].type) != (SYS_UPTIME, "Timeticks"):
        raise error("the first varbind is not sysUpTime.0 (Timeticks)")
    if (varbinds[1].oid, varbinds[1].type) != (SNMP_TRAP_OID, "OID"):
        raise error("the second varbind is not snmpTrapOID.0 (OID)")


def decode_trap(datagram: bytes) -> Trap:
    """A v2c trap datagram as the dialect's varbind lines."""
    msg = decode(datagram)
    if msg.pdu != "trap":
        raise DecodeError(f"a {msg.pdu} PDU, not a trap")
    _check_trap_header(msg.varbinds, DecodeError)
    try:
        community = msg.community.decode("ascii")
    except UnicodeDecodeError:
        raise DecodeError("community is not ASCII") from None
    return Trap(community, msg.request_id, render(msg.varbinds))


# --- heartbeat polls: GET sysUpTime.0 ---------------------------------------------------


def _message(pdu_tag: int, community: str, request_id: int,
             varbinds: list[tuple[str, bytes]]) -> bytes:
    vbl = b"".join(ber.tlv(ber.SEQUENCE, ber.encode_oid(name) + value)
                   for name, value in varbinds)
    pdu = (ber.encode_integer(request_id) + ber.encode_integer(0) + ber.encode_integer(0)
           + ber.tlv(ber.SEQUENCE, vbl))
    return ber.tlv(ber.SEQUENCE, ber.encode_integer(VERSION_2C)
                   + ber.tlv(ber.OCTET_STRING, community.encode()) + ber.tlv(pdu_tag, pdu))


def encode_get(community: str, request_id: int, oids: tuple[str, ...] = (SYS_UPTIME,)
               ) -> bytes:
    """A GetRequest-PDU for ``oids``."""
    if 1 << 24 <= request_id < 1 << 31:  # a four-byte id: patch it into a template
        head, tail = _get_template(community, oids)
        return head + request_id.to_bytes(4, "big") + tail
    return _message(0xA0, community, request_id, [(o, ber.tlv(ber.NULL, b"")) for o in oids])


@functools.lru_cache(maxsize=64)
def _get_template(community: str, oids: tuple[str, ...]) -> tuple[bytes, bytes]:
    probe = 0x7A5A5A5A
    full = _message(0xA0, community, probe, [(o, ber.tlv(ber.NULL, b"")) for o in oids])
    at = full.index(probe.to_bytes(4, "big"))
    return full[:at], full[at + 4:]


def encode_uptime_response(community: str, request_id: int, uptime_cs: int) -> bytes:
    """The Response-PDU to a GET of sysUpTime.0."""
    value = ber.encode_integer(uptime_cs & 0xFFFFFFFF, tag=TAGS["Timeticks"])
    return _message(0xA2, community, request_id, [(SYS_UPTIME, value)])


def encode_truncated(text: str, community: str, request_id: int) -> bytes:
    """The datagram of a trap cut short in transit: the dialect's text of such a message
    (:func:`twin.network.dialects.truncate`) cannot be encoded whole, so its complete
    varbind lines are encoded and the datagram cut to three quarters — a BER message whose
    lengths run past its end, as a receiver of a cut datagram sees it."""
    lines = text.split("\n")
    whole: list[tuple[str, bytes]] = []
    for line in lines:
        try:
            (vb,) = parse(line)
        except EncodeError:
            break
        whole.append((vb.oid, _encode_value(vb)))
    full = _message(0xA7, community, request_id, whole)
    return full[:max(1, len(full) * 3 // 4)]


def _encode_value(vb: Varbind) -> bytes:
    if vb.type == "STRING":
        assert isinstance(vb.value, bytes)
        return ber.tlv(ber.OCTET_STRING, vb.value)
    if vb.type == "OID":
        assert isinstance(vb.value, str)
        return ber.encode_oid(vb.value)
    assert isinstance(vb.value, int)
    return ber.encode_integer(vb.value, TAGS[vb.type])
