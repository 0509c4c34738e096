"""Wire statistics: every message the emulated network carried, and the summary of them.

The ``wire_messages`` table has a row per message put on the wire — when (simulation time),
which leg, which protocol, from and to whom, its size, whether it arrived and its measured
latency (wall clock: the kernel's receive time stamp minus the send time). Summary keys go
to ``summary.json`` under ``wire``. Only ``latency_ms``, the latency percentiles and
``setup_s`` are measured; the rest follows from the seed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from twin.kernel import Sim

SCHEMA = pa.schema([
    ("t", pa.float64()), ("leg", pa.string()), ("protocol", pa.string()),
    ("src", pa.string()), ("dst", pa.string()), ("bytes", pa.int64()),
    ("received", pa.bool_()), ("latency_ms", pa.float64()),
])
SOUTHBOUND = ("snmp-trap", "syslog", "ves")


class WireLog:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.table = sim.records.buffer("wire_messages", SCHEMA)
        self.count: dict[tuple[str, bool], int] = {}
        self.bytes = 0
        self.latencies: list[float] = []
        self.decode_errors = 0
        self.late = 0  # arrived after being counted lost (or unasked for): handed on late
        self.polls = 0
        self.polls_unanswered = 0

    def add(self, leg: str, protocol: str, src: str, dst: str, size: int, received: bool,
            latency_ms: float = math.nan) -> None:
        self.table.append(t=self.sim.now, leg=leg, protocol=protocol, src=src, dst=dst,
                          bytes=size, received=received, latency_ms=latency_ms)
        key = (protocol, received)
        self.count[key] = self.count.get(key, 0) + 1
        self.bytes += size
        if received and not math.isnan(latency_ms):
            self.latencies.append(latency_ms)

    def sent(self, protocols: tuple[str, ...] | None = None) -> int:
        return sum(n for (p, _), n in self.count.items() if protocols is None or p in protocols)

    def received(self, protocols: tuple[str, ...] | None = None) -> int:
        return sum(n for (p, ok), n in self.count.items()
                   if ok and (protocols is None or p in protocols))

    def summary(self, extra: dict[str, Any]) -> dict[str, Any]:
        lat = np.asarray(self.latencies)

        def pct(q: float) -> float | None:
            return round(float(np.percentile(lat, q)), 3) if lat.size else None

        sent, received = self.sent(), self.received()
        out = {
            **extra,
            "sent": sent, "received": received, "lost": sent - received,
            "bytes": self.bytes,
            "southbound_sent": self.sent(SOUTHBOUND),
            "southbound_received": self.received(SOUTHBOUND),
            "snmp_traps_sent": self.sent(("snmp-trap",)),
            "syslog_sent": self.sent(("syslog",)),
            "ves_sent": self.sent(("ves",)),
            "notifications_lost": self.sent(("notification",))
            - self.received(("notification",)),
            "decode_errors": self.decode_errors, "late": self.late,
            "polls": self.polls, "polls_unanswered": self.polls_unanswered,
            "latency_p50_ms": pct(50), "latency_p90_ms": pct(90), "latency_p99_ms": pct(99),
            "latency_max_ms": round(float(lat.max()), 3) if lat.size else None,
        }
        return out
