"""Wire codecs: the twin's southbound messages as real bytes, one codec per format.

An element manager's alarm leaves the twin as text in its vendor's dialect
(:mod:`twin.network.dialects`); on a wire it travels as bytes in that dialect's protocol.
These codecs do that translation both ways and nothing else — no sockets, no Mininet, no
simulation — so the emulated network (:mod:`twin.emulation`) and a live twin forwarding to
real receivers use the very same code:

* :mod:`twin.wire.snmp` — SNMPv2c messages in BER: traps built with scapy from the dialect's
  ``OID = TYPE: value`` lines and decoded (strictly) back to the same lines; GET requests and
  responses for heartbeat polls.
* :mod:`twin.wire.syslog` — RFC 5424 messages in RFC 5426 UDP datagrams (one message per
  datagram, no octet count) to and from the dialect's RFC 6587 octet-counted frames.
* :mod:`twin.wire.http` — HTTP/1.1 requests and responses, parsed incrementally with strict
  limits; :mod:`twin.wire.ves` puts VES 7 JSON events in ``POST /eventListener/v7``.
* :mod:`twin.wire.alarm_list` — an element manager's active alarm list as JSON (alarm
  synchronisation over HTTP).
* :mod:`twin.wire.pcap` — a libpcap file writer for captures.

Decoders never raise anything but :class:`DecodeError` (whose text is the reason), whatever
the bytes: a receiver turns it into a reject, never into a crash.
"""

from __future__ import annotations


class WireError(Exception):
    """A message that cannot be put on, or taken off, the wire; the text says why."""


class DecodeError(WireError):
    """Bytes that are not a valid message of the format."""


class EncodeError(WireError):
    """A message that the format cannot carry."""


__all__ = ["DecodeError", "EncodeError", "WireError"]
