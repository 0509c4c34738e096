"""Units of the live twin: the hub never lets a dead callback hold up the simulation; its
query and callback parsers, and the forwarding target parser, reject anything else with
their own error naming the field (fuzzed)."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.live import hub as hub_mod
from twin.live.forward import ForwardError, parse_target
from twin.live.hub import Hub, SubscriptionError, check_callback, parse_query
from twin.live.state import Event


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: connections are refused


def test_a_dead_callback_never_blocks_publishing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_mod, "QUEUE_SIZE", 5)
    monkeypatch.setattr(hub_mod, "RETRIES", (0.05, 0.05))
    hub = Hub(datetime(2026, 1, 1, tzinfo=UTC))
    sub = hub.subscribe("TMF642", f"http://127.0.0.1:{_dead_port()}/cb", "")
    events = [Event(float(i), "AlarmCreateEvent", {"id": i}) for i in range(200)]
    t0 = time.perf_counter()
    for ev in events:
        hub.publish([ev])
    assert time.perf_counter() - t0 < 1.0  # a queue put each, never a delivery
    hub.close(wait_s=3)
    c = sub.counts
    assert c["delivered"] == 0 and c["dropped"] >= 200 - 5 - 1
    assert c["dropped"] + c["failed"] + sub.queue.qsize() >= 200 - 1


def test_query_selects_events_of_its_api() -> None:
    assert parse_query("", "TMF621") == {"TroubleTicketCreateEvent",
                                         "TroubleTicketStatusChangeEvent"}
    assert parse_query("eventType=alarmCreateEvent,AlarmStateChangeEvent", "TMF642") == {
        "AlarmCreateEvent", "AlarmStateChangeEvent"}
    with pytest.raises(SubscriptionError, match="query: eventType 'AlarmCreateEvent' is not"):
        parse_query("eventType=AlarmCreateEvent", "TMF621")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.sampled_from(["TMF642", "TMF621", "TMF656"]))
def test_query_parser_fuzzed(text: str, api: str) -> None:
    try:
        parse_query(text, api)
    except SubscriptionError as e:
        assert str(e).startswith("query: ")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_callback_parser_fuzzed(text: str) -> None:
    try:
        assert check_callback(text).startswith(("http://", "https://"))
    except SubscriptionError as e:
        assert str(e).startswith("callback: ")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(alphabet="0123456789:.[]- ", max_size=30),  # no name to look up
                 st.from_regex(r"\A(127\.0\.0\.1|::1|\[::1\]):-?\d{0,6}\Z")))
def test_target_parser_fuzzed(text: str) -> None:
    try:
        host, port = parse_target("--trap-to", text)
        assert 0 < port < 65536 and host
    except ForwardError as e:
        assert str(e).startswith("--trap-to: ")


def test_target_parser_names_the_option() -> None:
    assert parse_target("--syslog-to", "127.0.0.1:514") == ("127.0.0.1", 514)
    with pytest.raises(ForwardError, match="--syslog-to: expected HOST:PORT"):
        parse_target("--syslog-to", "127.0.0.1:0")
