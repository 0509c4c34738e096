"""The TM Forum hub: outside tools subscribe a callback and receive the events they asked for.

``POST /hub`` ``{callback, query}`` registers a subscriber; each event is POSTed as JSON to
``{callback}/listener/{eventName}`` (``alarmCreateEvent`` for an ``AlarmCreateEvent``).
Like a post office with one pigeonhole per subscriber: the simulation only drops a letter in
the hole (a bounded queue, never waiting), and one courier per subscriber delivers them in
order, retrying a failed delivery a few times with a growing pause. A subscriber whose
callback is down fills its own hole and loses the overflow (counted as dropped) — it never
slows the simulation or another subscriber.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from twin.live.state import EVENT_API, Event

QUEUE_SIZE = 10_000
RETRIES = (0.1, 0.5, 2.0)  # pauses before the second, third and fourth attempts
TIMEOUT_S = 2.0


class SubscriptionError(ValueError):
    """A subscription that cannot be registered; the text names the field."""


def listener_name(event_type: str) -> str:
    return event_type[0].lower() + event_type[1:]


def parse_query(query: str, api: str) -> frozenset[str]:
    """The event types a query selects: ``eventType=AlarmCreateEvent,alarmStateChangeEvent``
    (names as in the spec, first letter in either case), or every event of ``api`` for an
    empty query."""
    known = {k for k, (a, _) in EVENT_API.items() if a == api}
    if not query.strip():
        return frozenset(known)
    chosen: set[str] = set()
    for part in query.split("&"):
        key, sep, value = part.partition("=")
        if key.strip() not in ("eventType", "eventType.in") or not sep:
            raise SubscriptionError(f"query: only eventType=… is supported, not {part!r}")
        for name in value.split(","):
            name = name.strip()
            full = name[:1].upper() + name[1:]
            if full not in known:
                raise SubscriptionError(
                    f"query: eventType {name!r} is not an event of {api} "
                    f"(one of {', '.join(sorted(known))})")
            chosen.add(full)
    return frozenset(chosen)


def check_callback(callback: str) -> str:
    parts = urlsplit(callback)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SubscriptionError("callback: must be an absolute http(s) URL")
    return callback.rstrip("/")


@dataclass
class Subscriber:
    id: str
    api: str
    callback: str
    query: str
    events: frozenset[str]
    queue: queue.Queue[tuple[str, dict[str, Any]] | None] = field(
        default_factory=lambda: queue.Queue(QUEUE_SIZE))
    counts: Counter[str] = field(default_factory=Counter)  # delivered, failed, dropped

    def resource(self) -> dict[str, Any]:
        return {"id": self.id, "callback": self.callback, "query": self.query}


class Hub:
    def __init__(self, start: datetime) -> None:
        self.start = start
        self._subs: dict[str, Subscriber] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._event_ids = itertools.count(1)
        self._threads: list[threading.Thread] = []
        self.totals: Counter[str] = Counter()

    def subscribe(self, api: str, callback: str, query: str | None) -> Subscriber:
        events = parse_query(query or "", api)
        sub = Subscriber(str(next(self._ids)), api, check_callback(callback), query or "",
                         events)
        with self._lock:
            self._subs[sub.id] = sub
        th = threading.Thread(target=self._courier, args=(sub,), daemon=True,
                              name=f"hub-{sub.id}")
        th.start()
        self._threads.append(th)
        return sub

    def unsubscribe(self, api: str, sid: str) -> bool:
        with self._lock:
            sub = self._subs.get(sid)
            if sub is None or sub.api != api:
                return False
            del self._subs[sid]
        self._enqueue(sub, None)
        return True

    def subscribers(self) -> list[Subscriber]:
        with self._lock:
            return list(self._subs.values())

    def publish(self, events: Iterable[Event]) -> None:
        """Hand events to every subscriber that asked for them; never blocks."""
        subs = self.subscribers()
        for ev in events:
            body = ev.body(next(self._event_ids), self.start)
            for sub in subs:
                if ev.event_type in sub.events:
                    self._enqueue(sub, (listener_name(ev.event_type), body))

    def _enqueue(self, sub: Subscriber, item: tuple[str, dict[str, Any]] | None) -> None:
        try:
            sub.queue.put_nowait(item)
        except queue.Full:
            sub.counts["dropped"] += 1
            self.totals["dropped"] += 1

    def _courier(self, sub: Subscriber) -> None:
        with httpx.Client(timeout=TIMEOUT_S) as client:
            while True:
                item = sub.queue.get()
                if item is None:
                    return
                name, body = item
                url = f"{sub.callback}/listener/{name}"
                outcome = "failed"
                for pause in (0.0, *RETRIES):
                    time.sleep(pause)
                    try:
                        if client.post(url, json=body).status_code < 300:
                            outcome = "delivered"
                            break
                    except httpx.HTTPError:
                        pass
                sub.counts[outcome] += 1
                self.totals[outcome] += 1

    def pending(self) -> int:
        return sum(s.queue.qsize() for s in self.subscribers())

    def close(self, wait_s: float = 5.0) -> None:
        """Let the couriers deliver what is queued (up to ``wait_s``), then end them."""
        deadline = time.monotonic() + wait_s
        while self.pending() and time.monotonic() < deadline:
            time.sleep(0.02)
        for sub in self.subscribers():
            self._enqueue(sub, None)
        for th in self._threads:
            th.join(max(0.0, deadline - time.monotonic()) + 0.1)
