"""Southbound forwarding: the element managers' traps and syslog, as real UDP packets to any
receiver (OpenNMS trapd, net-snmp snmptrapd, rsyslog …) while the twin runs.

Every :class:`~twin.messages.EmsEvent` the network publishes is encoded by the wire codecs
the emulation uses (:mod:`twin.wire.snmp`: an SNMPv2c trap in BER; :mod:`twin.wire.syslog`:
an RFC 5424 message in an RFC 5426 datagram) and sent from one unconnected UDP socket. A
payload the dialect's noise garbled goes out as the emulated wire would carry it (a trap
cut short, the syslog text as is) — a real receiver sees the same mess an OSS would. VES
events (JSON over HTTP) are not forwarded; they are counted.
"""

from __future__ import annotations

import itertools
import socket
from collections import Counter

from twin.messages import EmsEvent
from twin.wire import EncodeError, snmp, syslog


class ForwardError(ValueError):
    """A bad ``HOST:PORT``; the text names the option."""


def parse_target(option: str, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ForwardError(f"{option}: expected HOST:PORT (port 1–65535), got {value!r}")
    try:
        addr = socket.getaddrinfo(host.strip("[]"), int(port), type=socket.SOCK_DGRAM)[0][4]
    except (OSError, UnicodeError) as e:  # UnicodeError: an empty or too long label
        reason = getattr(e, "strerror", None) or e
        raise ForwardError(f"{option}: cannot resolve {host!r}: {reason}") from None
    return str(addr[0]), int(addr[1])


class Forwarder:
    def __init__(self, trap_to: tuple[str, int] | None, syslog_to: tuple[str, int] | None,
                 community: str = "public") -> None:
        self.trap_to, self.syslog_to, self.community = trap_to, syslog_to, community
        family = socket.AF_INET6 if ":" in (trap_to or syslog_to or ("", 0))[0] else \
            socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self._rid = itertools.count(1)
        self.counts: Counter[str] = Counter()

    def tap(self, _t: float, msg: object) -> None:
        """A bus observer: forward the EMS events among the published messages."""
        if not isinstance(msg, EmsEvent):
            return
        if msg.dialect == "snmp" and self.trap_to is not None:
            rid = next(self._rid)
            try:
                data = snmp.encode_trap(msg.payload, self.community, rid)
            except EncodeError:
                data = snmp.encode_truncated(msg.payload, self.community, rid)
            self._send(data, self.trap_to, "traps")
        elif msg.dialect == "syslog" and self.syslog_to is not None:
            try:
                data = syslog.to_datagram(msg.payload)
            except EncodeError:
                data = msg.payload.encode() or b"\0"
            self._send(data, self.syslog_to, "syslog")
        else:
            self.counts[f"{msg.dialect}_not_forwarded"] += 1

    def _send(self, data: bytes, dst: tuple[str, int], kind: str) -> None:
        try:
            self.sock.sendto(data, dst)
            self.counts[f"{kind}_sent"] += 1
        except OSError:  # a full buffer or an unreachable receiver: UDP loses it
            self.counts[f"{kind}_failed"] += 1

    def close(self) -> None:
        self.sock.close()
