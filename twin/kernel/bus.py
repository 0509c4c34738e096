"""A typed message bus with an explicit handler table.

Layers never call each other; they publish frozen message dataclasses and the composition
root decides, in one visible table, which handler receives which message type. Delivery is
either immediate or after a fixed latency (a simpy timeout), which is how an integration link
with delay is modelled. A handler that raises fails the run: the exception propagates out of
``Sim.run`` — nothing is swallowed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import simpy

M = TypeVar("M")
Handler = Callable[[Any], None]


class MessageBus:
    def __init__(self, env: simpy.Environment) -> None:
        self._env = env
        self._routes: dict[type, list[tuple[Handler, float]]] = {}
        self._taps: list[Callable[[float, object], None]] = []
        self._in_flight: dict[int, tuple[float, Handler, object]] = {}
        self._seq = 0
        self.published: Counter[str] = Counter()

    def subscribe(self, message_type: type[M], handler: Callable[[M], None],
                  latency_s: float = 0.0) -> None:
        """Route ``message_type`` to ``handler``, delivered ``latency_s`` after publishing."""
        if latency_s < 0:
            raise ValueError("latency_s must be >= 0")
        self._routes.setdefault(message_type, []).append((handler, latency_s))

    def tap(self, observer: Callable[[float, object], None]) -> None:
        """Observe every published message (used to record the message log)."""
        self._taps.append(observer)

    def routes(self) -> dict[str, list[str]]:
        """The handler table, for documentation and tests."""
        return {
            t.__name__: [getattr(h, "__qualname__", repr(h)) for h, _ in hs]
            for t, hs in self._routes.items()
        }

    def publish(self, message: object) -> None:
        handlers = self._routes.get(type(message))
        if not handlers:
            raise LookupError(f"no handler subscribed for {type(message).__name__}")
        self.published[type(message).__name__] += 1
        for observer in self._taps:
            observer(self._env.now, message)
        for handler, latency in handlers:
            if latency == 0:
                handler(message)
            else:  # registered now: a process body only starts when the clock moves on
                self._seq += 1
                self._in_flight[self._seq] = (self._env.now + latency, handler, message)
                self._env.process(self._deliver_later(self._seq, latency))

    def _deliver_later(self, seq: int, latency: float) -> Any:
        yield self._env.timeout(latency)
        entry = self._in_flight.pop(seq, None)
        if entry is not None:
            entry[1](entry[2])

    def drain(self) -> None:
        """Deliver every message still in flight, in due order (for the end of a run, so
        nothing published before the horizon is silently lost)."""
        while self._in_flight:
            seq = min(self._in_flight, key=lambda s: (self._in_flight[s][0], s))
            _, handler, message = self._in_flight.pop(seq)
            handler(message)
