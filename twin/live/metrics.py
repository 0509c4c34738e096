"""``/metrics``: the twin as Prometheus sees a network — active alarms by severity, open
tickets by priority, counters per region from the PM the OSS received, usage and revenue
rated by the BSS, the hub's deliveries and the pace of the simulation.

A :class:`prometheus_client` collector reads the OSS and BSS at scrape time, between two
steps of the simulation (under its lock), so one scrape is one consistent instant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from twin.oss.alarms import SEVERITY_RANK
from twin.oss.kpis import COUNTERS
from twin.oss.tickets import PRIORITIES
from twin.wiring import Assembly

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class TwinCollector(Collector):
    def __init__(self, asm: Callable[[], Assembly | None], lock: Any,
                 extra: Callable[[], dict[str, Any]]) -> None:
        self.asm = asm
        self.lock = lock
        self.extra = extra  # pace and hub figures from the service

    def collect(self) -> Iterator[Metric]:
        asm = self.asm()
        info = self.extra()
        yield _gauge("twin_sim_time_seconds", "Simulated seconds since the scenario's start",
                     info["sim_time"])
        yield _gauge("twin_speed", "Simulated seconds per real second", info["speed"])
        yield _gauge("twin_running", "1 while the simulation runs (0 paused or ended)",
                     float(info["state"] == "running"))
        yield _gauge("twin_pace_lag_seconds_max",
                     "The furthest the simulation fell behind its pace", info["max_lag_s"])
        hub = CounterMetricFamily("twin_hub_notifications", "Hub notifications by outcome",
                                  labels=["outcome"])
        for outcome in ("delivered", "failed", "dropped"):
            hub.add_metric([outcome], info["hub"].get(outcome, 0))
        yield hub
        yield _gauge("twin_hub_subscribers", "Hub subscriptions", info["subscribers"])
        if asm is None:
            return
        with self.lock:
            yield from self._oss(asm)
            yield from self._bss(asm)

    def _oss(self, asm: Assembly) -> Iterator[Metric]:
        oss = asm.oss
        sev = Counter(a.severity for a in oss.alarms.all if a.cleared is None)
        g = GaugeMetricFamily("twin_active_alarms", "Alarms the OSS holds uncleared",
                              labels=["severity"])
        for s in sorted(SEVERITY_RANK, key=SEVERITY_RANK.__getitem__):
            if s != "cleared":
                g.add_metric([s], sev.get(s, 0))
        yield g
        yield _counter("twin_alarms_raised", "Alarms the OSS opened", len(oss.alarms.all))
        tickets = oss.workforce.tickets
        prio = Counter(t.priority for t in tickets if t.is_open)
        g = GaugeMetricFamily("twin_open_tickets", "Trouble tickets open, by priority",
                              labels=["priority"])
        for p in PRIORITIES:
            g.add_metric([p], prio.get(p, 0))
        yield g
        yield _counter("twin_tickets_created", "Trouble tickets opened", len(tickets))
        incidents = oss.correlator.incidents
        yield _gauge("twin_open_incidents", "Incidents (service problems) open",
                     sum(i.cleared is None and i.merged_into == 0 for i in incidents))
        book = oss.kpis
        if book.inventory is not None and len(book.cells):
            regions = [book.inventory.elements[c].region if c in book.inventory.elements
                       else "" for c in book.cells]
            for counter in COUNTERS:
                fam = CounterMetricFamily(f"twin_region_{counter}",
                                          f"PM counter {counter} summed over the region's "
                                          "cells since the start", labels=["region"])
                per: dict[str, float] = {}
                for region, value in zip(regions, book.total[counter], strict=True):
                    per[region] = per.get(region, 0.0) + float(value)
                for region in sorted(per):
                    fam.add_metric([region], per[region])
                yield fam

    def _bss(self, asm: Assembly) -> Iterator[Metric]:
        bss = asm.bss
        yield _counter("twin_usage_records_rated", "Usage records the BSS rated",
                       bss.rated_records)
        yield _counter("twin_revenue_rated_minor",
                       "Charges the BSS rated (and rerated), in minor currency units",
                       bss.rated_minor)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def registry(collector: TwinCollector) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(collector)
    return reg


def render(reg: CollectorRegistry) -> bytes:
    return generate_latest(reg)
