"""HTTP/1.1 messages (RFC 9112), the small strict subset the twin's endpoints speak.

Requests and responses with a ``Content-Length`` body (no chunked transfer coding), on
persistent connections. :class:`Parser` reads a byte stream incrementally and returns each
complete message; anything malformed — a bad start line, a folded or nameless header, a
missing or contradictory length, a header block or body over its limit — is a
:class:`~twin.wire.DecodeError`, after which the connection must be closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from twin.wire import DecodeError

MAX_HEADER = 8 * 1024
MAX_BODY = 4 * 1024 * 1024
_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_REQUEST_LINE = re.compile(rb"^([A-Z]{1,16}) (/[!-~]{0,2047}) HTTP/1\.1$")
_STATUS_LINE = re.compile(rb"^HTTP/1\.1 ([1-5][0-9][0-9]) ([\t !-~]*)$")
REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found",
           405: "Method Not Allowed", 415: "Unsupported Media Type"}


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _head(start: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [start, *(f"{k}: {v}" for k, v in headers), f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def request(method: str, target: str, host: str, body: bytes = b"",
            content_type: str | None = None) -> bytes:
    headers = [("Host", host)]
    if content_type:
        headers.append(("Content-Type", content_type))
    return _head(f"{method} {target} HTTP/1.1", headers, body)


def response(status: int, body: bytes = b"", content_type: str | None = None) -> bytes:
    headers = [("Content-Type", content_type)] if content_type else []
    return _head(f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}", headers, body)


class Parser:
    """Incremental reader of a stream of requests (``kind="request"``) or responses."""

    def __init__(self, kind: str, max_body: int = MAX_BODY) -> None:
        if kind not in ("request", "response"):
            raise ValueError(kind)
        self.kind = kind
        self.max_body = max_body
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[Request | Response]:
        self.buffer += data
        out: list[Request | Response] = []
        while True:
            message = self._one()
            if message is None:
                return out
            out.append(message)

    def _one(self) -> Request | Response | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > MAX_HEADER:
                raise DecodeError(f"header block over {MAX_HEADER} bytes")
            return None
        if end > MAX_HEADER:
            raise DecodeError(f"header block over {MAX_HEADER} bytes")
        lines = bytes(self.buffer[:end]).split(b"\r\n")
        start = _REQUEST_LINE if self.kind == "request" else _STATUS_LINE
        first = start.match(lines[0])
        if first is None:
            raise DecodeError(f"bad {self.kind} line {lines[0][:60]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not _TOKEN.match(name):
                raise DecodeError(f"bad header line {line[:60]!r}")
            key = name.decode("ascii").lower()
            text = value.strip(b" \t").decode("latin-1")
            if key in headers and headers[key] != text:
                raise DecodeError(f"header {key} given twice")
            headers[key] = text
        if "transfer-encoding" in headers:
            raise DecodeError("transfer codings are not supported")
        size_text = headers.get("content-length", "0" if self.kind == "request" else None)
        if size_text is None or not size_text.isdigit() or len(size_text) > 9:
            raise DecodeError(f"bad or missing Content-Length {size_text!r}")
        size = int(size_text)
        if size > self.max_body:
            raise DecodeError(f"a {size}-byte body is over the limit of {self.max_body}")
        if len(self.buffer) < end + 4 + size:
            return None
        body = bytes(self.buffer[end + 4:end + 4 + size])
        del self.buffer[:end + 4 + size]
        if self.kind == "request":
            return Request(first.group(1).decode(), first.group(2).decode(), headers, body)
        return Response(int(first.group(1)), first.group(2).decode("latin-1"), headers, body)
