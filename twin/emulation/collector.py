"""The OSS collector's receiving end: datagrams and requests off the wire → EMS events.

What a trap receiver, a syslog daemon and a VES listener do in front of an OSS: take the
bytes, check who sent them, decode them into the dialect's text and hand that to the OSS's
collection adapters (:mod:`twin.oss.collection`) as an :class:`~twin.messages.EmsEvent` —
the same message the in-process route carries. Bytes that are no message of the dialect, a
wrong community or an unknown sender become an event with ``decode_error`` set, which the
OSS keeps as a reject with that reason. Nothing here raises on bad input.
"""

from __future__ import annotations

from twin.messages import EmsEvent
from twin.wire import DecodeError, http, snmp, syslog, ves

MAX_SHOWN = 4096  # characters of an undecodable message kept in its reject


def shown(data: bytes, binary: bool) -> str:
    text = data.hex(" ") if binary else data.decode("utf-8", "backslashreplace")
    return text[:MAX_SHOWN]


def from_trap(ems: str, datagram: bytes, community: str) -> EmsEvent:
    try:
        trap = snmp.decode_trap(datagram)
    except DecodeError as e:
        return EmsEvent(ems, "snmp", shown(datagram, True), decode_error=str(e))
    if trap.community != community:
        return EmsEvent(ems, "snmp", trap.text,
                        decode_error=f"community {trap.community[:32]!r} not accepted")
    return EmsEvent(ems, "snmp", trap.text)


def from_syslog(ems: str, datagram: bytes) -> EmsEvent:
    try:
        return EmsEvent(ems, "syslog", syslog.from_datagram(datagram))
    except DecodeError as e:
        return EmsEvent(ems, "syslog", shown(datagram, False), decode_error=str(e))


def from_ves(ems: str, request: http.Request) -> tuple[EmsEvent, int]:
    """The event of a request to the listener and the HTTP status to answer."""
    try:
        text = ves.accept(request)
    except DecodeError as e:
        return EmsEvent(ems, "ves", shown(request.body, False), decode_error=str(e)), 400
    return EmsEvent(ems, "ves", text), 202 if ves.is_json(text) else 400


def from_stranger(sender: str, dialect: str, data: bytes) -> EmsEvent:
    """Bytes from an address that is no known element manager."""
    return EmsEvent(f"unknown {sender}", dialect, shown(data, dialect == "snmp"),
                    decode_error=f"sender {sender} is no known element manager")


def broken_stream(ems: str, error: str, data: bytes) -> EmsEvent:
    """A VES connection whose bytes are not HTTP (it is closed)."""
    return EmsEvent(ems, "ves", shown(data, False), decode_error=f"bad HTTP: {error}")
