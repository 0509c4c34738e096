"""Syslog (RFC 5424) over UDP (RFC 5426): one message per datagram, no octet count.

The ``syslog`` dialect (:mod:`twin.network.dialects`) writes each message as an RFC 6587
octet-counted frame (``LEN SP SYSLOG-MSG``), the framing of a TCP syslog session. On UDP the
datagram is the message itself: :func:`to_datagram` drops the count, :func:`from_datagram`
puts back the count of what arrived, so the OSS's parser reads a UDP message exactly as a TCP
one. A frame cut in transit (its count larger than what follows) goes out as the cut
message: a receiver can tell only when the cut falls in the header or structured data — UDP
syslog carries no length of its own.
"""

from __future__ import annotations

import re

from twin.wire import DecodeError, EncodeError

PORT = 514
MAX_DATAGRAM = 65_507  # the most a UDP datagram over IPv4 holds
_FRAME = re.compile(r"^(\d{1,6}) ", re.ASCII)


def to_datagram(frame: str) -> bytes:
    """The RFC 5426 datagram of an octet-counted frame (cut short if the frame was)."""
    m = _FRAME.match(frame)
    if m is None:
        raise EncodeError("not an octet-counted syslog frame")
    data = frame[m.end():].encode("utf-8")
    if not data:
        raise EncodeError("an empty syslog message")
    if len(data) > MAX_DATAGRAM:
        raise EncodeError(f"a {len(data)}-byte message does not fit a UDP datagram")
    return data


def is_whole(frame: str) -> bool:
    """Whether the frame holds as many octets as its count says."""
    m = _FRAME.match(frame)
    return m is not None and int(m.group(1)) == len(frame[m.end():].encode("utf-8"))


def from_datagram(datagram: bytes) -> str:
    """The octet-counted frame of a received datagram; it must be UTF-8 text starting
    with a PRI (``<``)."""
    if not datagram:
        raise DecodeError("an empty datagram")
    if datagram[:1] != b"<":
        raise DecodeError(f"does not start with a PRI ('<'), but with {datagram[:1]!r}")
    try:
        line = bytes(datagram).decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecodeError(f"not UTF-8 at byte {e.start}") from None
    return f"{len(datagram)} {line}"
