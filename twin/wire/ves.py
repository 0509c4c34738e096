"""VES 7 (ONAP VNF Event Stream) events over HTTP: ``POST /eventListener/v7``.

The ``ves`` dialect (:mod:`twin.network.dialects`) writes one JSON event; on the wire it is
the body of a POST to the collector's event listener, answered ``202 Accepted`` (or ``400``
when the body is not a JSON event). The JSON itself is left to the reader of the dialect.
"""

from __future__ import annotations

import json

from twin.wire import DecodeError, http

PATH = "/eventListener/v7"
PORT = 8443  # plain HTTP here; VES collectors listen on 8443 (TLS) or 8080
CONTENT_TYPE = "application/json"


def post(event: str, host: str) -> bytes:
    """The HTTP request carrying one VES event."""
    return http.request("POST", PATH, host, event.encode("utf-8"), CONTENT_TYPE)


def accept(request: http.Request) -> str:
    """The event text of a request to the event listener."""
    if request.target.split("?", 1)[0] != PATH:
        raise DecodeError(f"not the event listener: {request.target[:60]!r}")
    if request.method != "POST":
        raise DecodeError(f"method {request.method} (the event listener takes POST)")
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != CONTENT_TYPE:
        raise DecodeError(f"content type {kind or 'none'!r}, not {CONTENT_TYPE}")
    try:
        return request.body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecodeError(f"body is not UTF-8 at byte {e.start}") from None


def is_json(text: str) -> bool:
    """Whether ``text`` parses as JSON (the listener answers 202, else 400)."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
