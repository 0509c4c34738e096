"""ASN.1 Basic Encoding Rules (ITU-T X.690), the subset SNMP needs.

One-byte tags, definite lengths (short or long form, at most four length bytes), primitive
INTEGER / OCTET STRING / NULL / OBJECT IDENTIFIER and the SNMP application types. The reader
is strict — a length that runs past its container, an indefinite length, a multi-byte tag, a
truncated or non-minimal sub-identifier is a :class:`~twin.wire.DecodeError` naming the byte
offset — and fast: plain ``bytes`` indexing, no objects per TLV (a trap decodes in tens of
microseconds, where scapy takes milliseconds).
"""

from __future__ import annotations

from twin.wire import DecodeError, EncodeError

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06

MAX_OID_PARTS = 128  # RFC 3416: at most 128 sub-identifiers, each < 2^32


def read(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The TLV at ``pos``: (tag, first value byte, one past the last value byte)."""
    if pos >= end:
        raise DecodeError(f"truncated: a tag expected at byte {pos}")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise DecodeError(f"multi-byte tag at byte {pos}")
    pos += 1
    if pos >= end:
        raise DecodeError(f"truncated: a length expected at byte {pos}")
    n = data[pos]
    pos += 1
    if n & 0x80:
        k = n & 0x7F
        if k == 0:
            raise DecodeError(f"indefinite length at byte {pos - 1}")
        if k > 4:
            raise DecodeError(f"{k}-byte length at byte {pos - 1}")
        if pos + k > end:
            raise DecodeError(f"truncated: length bytes at byte {pos}")
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    stop = pos + n
    if stop > end:
        raise DecodeError(f"truncated: a {n}-byte value at byte {pos} runs {stop - end} "
                          f"bytes past its end")
    return tag, pos, stop


def expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    """The value span of the TLV at ``pos``, which must have tag ``tag``."""
    got, start, stop = read(data, pos, end)
    if got != tag:
        raise DecodeError(f"{what}: tag 0x{got:02x} at byte {pos}, expected 0x{tag:02x}")
    return start, stop


def integer(data: bytes, start: int, stop: int, what: str) -> int:
    """A two's-complement INTEGER of at most 9 bytes."""
    if start == stop:
        raise DecodeError(f"{what}: empty integer at byte {start}")
    if stop - start > 9:
        raise DecodeError(f"{what}: {stop - start}-byte integer at byte {start}")
    return int.from_bytes(data[start:stop], "big", signed=True)


def unsigned(data: bytes, start: int, stop: int, bits: int, what: str) -> int:
    value = integer(data, start, stop, what)
    if value < 0 or value >= 1 << bits:
        raise DecodeError(f"{what}: {value} out of range for {bits} bits")
    return value


def oid(data: bytes, start: int, stop: int, what: str) -> str:
    """An OBJECT IDENTIFIER as dotted text."""
    if start == stop:
        raise DecodeError(f"{what}: empty object identifier at byte {start}")
    parts: list[int] = []
    value = 0
    fresh = True
    for i in range(start, stop):
        b = data[i]
        if fresh and b == 0x80:
            raise DecodeError(f"{what}: non-minimal sub-identifier at byte {i}")
        value = (value << 7) | (b & 0x7F)
        fresh = not b & 0x80
        if fresh:
            if value >= 1 << 32 and parts:
                raise DecodeError(f"{what}: sub-identifier {value} too large")
            parts.append(value)
            value = 0
    if not fresh:
        raise DecodeError(f"{what}: truncated sub-identifier at byte {stop - 1}")
    first = parts[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    if head[1] >= 1 << 32:
        raise DecodeError(f"{what}: sub-identifier {head[1]} too large")
    out = head + parts[1:]
    if len(out) > MAX_OID_PARTS:
        raise DecodeError(f"{what}: {len(out)} sub-identifiers (at most {MAX_OID_PARTS})")
    return ".".join(map(str, out))


# --- writing ----------------------------------------------------------------------------


def tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return bytes((tag, n)) + value
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(size))) + size + value


def encode_integer(value: int, tag: int = INTEGER) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)  # room for the sign bit
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def encode_oid(text: str) -> bytes:
    try:
        parts = [int(p) for p in text.split(".")]
    except ValueError:
        raise EncodeError(f"object identifier {text!r} is not dotted numbers") from None
    if len(parts) < 2 or parts[0] > 2 or (parts[0] < 2 and parts[1] >= 40) or any(
            p < 0 or p >= 1 << 32 for p in parts):
        raise EncodeError(f"object identifier {text!r} is not valid")
    out = bytearray()
    for value in [40 * parts[0] + parts[1], *parts[2:]]:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        out += bytes(reversed(chunk))
    return tlv(OID, bytes(out))
