"""Service KPIs from the PM counters the OSS receives: per cell, site, region, network and
service, per granularity period and per run.

A KPI of a group is a ratio of the group's *summed counters*, never an average of its cells'
ratios: a site whose busy cell sets up 990 of 1,000 calls and whose quiet cell 0 of 10 sets up
990 of 1,010 (98 %), not 49.5 %. So every row carries the summed counters next to the ratios,
and rows can be rolled up further the same way.

| KPI | from the counters |
|---|---|
| availability | seconds in service / (cells × seconds observed) |
| call setup success (CSSR) | (attempts − blocked − failed) / attempts |
| drop rate | dropped / answered calls (attempts − blocked − failed) |
| blocking | blocked / attempts |
| throughput | data MB × 8 / seconds observed (Mbit/s carried, summed over cells) |
| carried traffic | Erlang-seconds / seconds observed (Erlang, summed over cells) |
| user throughput | data-weighted mean share of their demanded rate users got |

Services: every cell carries voice, data and SMS, so a service row holds that service's
counters over the network (voice: calls; data: sessions and volume; SMS: messages) with the
network's availability.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from twin.kernel import Sim
from twin.messages import PmReport
from twin.oss.inventory import Inventory

F64 = npt.NDArray[np.float64]
COUNTERS = ("calls_attempted", "calls_blocked", "calls_failed", "calls_dropped",
            "erlang_s", "sessions_attempted", "sms_attempted", "data_mb", "available_s")
LEVELS = ("cell", "site", "region", "network")
SERVICE_COUNTERS = {"voice": ("calls_attempted", "calls_blocked", "calls_failed",
                              "calls_dropped", "erlang_s"),
                    "data": ("sessions_attempted", "data_mb"), "sms": ("sms_attempted",)}
KPI_FIELDS = [
    ("level", pa.string()), ("object", pa.string()), ("cells", pa.int64()),
    ("observed_s", pa.float64()),
    *[(c, pa.float64() if c in ("erlang_s", "data_mb", "available_s") else pa.int64())
      for c in COUNTERS],
    ("traffic_erlang", pa.float64()),
    ("availability", pa.float64()), ("cssr", pa.float64()), ("drop_rate", pa.float64()),
    ("blocking", pa.float64()), ("throughput_mbps", pa.float64()),
    ("user_throughput", pa.float64()),
]
KPIS_SCHEMA = pa.schema([("period_start", pa.float64()), ("period_s", pa.float64()),
                         *KPI_FIELDS])
KPIS_RUN_SCHEMA = pa.schema([("start", pa.float64()), ("end", pa.float64()), *KPI_FIELDS])


def _ratio(num: npt.NDArray[Any], den: npt.NDArray[Any]) -> F64:
    with np.errstate(invalid="ignore", divide="ignore"):
        out: F64 = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return out


def kpis(sums: dict[str, npt.NDArray[Any]], cells: npt.NDArray[Any],
         seconds: float) -> dict[str, F64]:
    """KPIs from summed counters (``tf_mb``: throughput factor × data MB) of groups of
    ``cells`` cells over ``seconds``."""
    att = sums["calls_attempted"]
    answered = att - sums["calls_blocked"] - sums["calls_failed"]
    return {
        "traffic_erlang": sums["erlang_s"] / seconds if seconds > 0
        else np.full(att.shape, np.nan),
        "availability": _ratio(sums["available_s"], cells * seconds),
        "cssr": _ratio(answered, att),
        "drop_rate": _ratio(sums["calls_dropped"], answered),
        "blocking": _ratio(sums["calls_blocked"], att),
        "throughput_mbps": sums["data_mb"] * 8.0 / seconds if seconds > 0
        else np.full(att.shape, np.nan),
        "user_throughput": _ratio(sums["tf_mb"], sums["data_mb"]),
    }


class KpiBook:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.inventory: Inventory | None = None
        self.cells: tuple[str, ...] = ()
        self.groups: dict[str, tuple[npt.NDArray[np.int64], list[str]]] = {}
        self.total: dict[str, F64] = {}
        self.first: float | None = None
        self.last = 0.0
        self.buf = sim.records.buffer("kpis", KPIS_SCHEMA)

    def _setup(self, cells: tuple[str, ...]) -> None:
        self.cells = cells
        inv = self.inventory
        els = [inv.elements.get(c) if inv is not None else None for c in cells]
        site = [e.site if e is not None else "" for e in els]
        region = [e.region if e is not None else "" for e in els]
        self.groups = {}
        for level, keys in (("cell", list(cells)), ("site", site), ("region", region),
                            ("network", ["network"] * len(cells))):
            names, idx = np.unique(np.array(keys, dtype=object), return_inverse=True)
            self.groups[level] = (idx.astype(np.int64), [str(n) for n in names])
        self.total = {k: np.zeros(len(cells)) for k in (*COUNTERS, "tf_mb")}

    def on_report(self, report: PmReport) -> None:
        if report.object_kind != "cell":
            return
        if report.objects != self.cells:
            self._setup(report.objects)
        c = report.counters
        per_cell = {k: np.asarray(c[k], dtype=float) for k in COUNTERS if k != "erlang_s"}
        per_cell["erlang_s"] = np.asarray(c["traffic_erlang"], dtype=float) * report.period_s
        per_cell["tf_mb"] = np.asarray(c["throughput_factor"], dtype=float) * per_cell["data_mb"]
        for k, v in per_cell.items():
            self.total[k] += v
        if self.first is None:
            self.first = report.period_start
        self.last = report.period_start + report.period_s
        cols = self._rows(per_cell, report.period_s)
        n = len(cols["level"])
        self.buf.extend({"period_start": np.full(n, report.period_start),
                         "period_s": np.full(n, report.period_s), **cols})

    def _rows(self, per_cell: dict[str, F64], seconds: float) -> dict[str, Any]:
        """Rows per cell, site, region, network and service from per-cell counters."""
        out: dict[str, list[Any]] = {}

        def add(level: str, names: list[str], count: npt.NDArray[Any],
                sums: dict[str, npt.NDArray[Any]]) -> None:
            cols = {"level": [level] * len(names), "object": names,
                    "cells": count.astype(np.int64), "observed_s": count * seconds,
                    **{k: sums[k] for k in COUNTERS}, **kpis(sums, count, seconds)}
            for k, v in cols.items():
                out.setdefault(k, []).append(np.asarray(v))

        for level in LEVELS:
            idx, names = self.groups[level]
            m = len(names)
            sums = {k: np.bincount(idx, weights=v, minlength=m) for k, v in per_cell.items()}
            add(level, names, np.bincount(idx, minlength=m).astype(float), sums)
        n = float(len(self.cells))
        for service, keep in SERVICE_COUNTERS.items():
            sums = {k: np.array([float(v.sum()) if k in keep or k == "available_s"
                                 or (k == "tf_mb" and service == "data") else 0.0])
                    for k, v in per_cell.items()}
            row = kpis(sums, np.array([n]), seconds)
            if service != "voice":
                for k in ("cssr", "drop_rate", "blocking"):
                    row[k] = np.array([np.nan])
            if service != "data":
                row["throughput_mbps"] = row["user_throughput"] = np.array([np.nan])
            cols = {"level": ["service"], "object": [service], "cells": np.array([int(n)]),
                    "observed_s": np.array([n * seconds]), **{k: sums[k] for k in COUNTERS},
                    **row}
            for k, v in cols.items():
                out.setdefault(k, []).append(np.asarray(v))
        res = {k: np.concatenate(v) for k, v in out.items()}
        for k in ("calls_attempted", "calls_blocked", "calls_failed", "calls_dropped",
                  "sessions_attempted", "sms_attempted", "cells"):
            res[k] = np.rint(res[k]).astype(np.int64)
        return res

    def run_rows(self) -> dict[str, Any] | None:
        """The whole run's KPIs (counters summed over every period)."""
        if self.first is None:
            return None
        return self._rows(self.total, self.last - self.first)

    def summary(self) -> dict[str, float | None]:
        """Network KPIs over the run, for ``summary.json``."""
        rows = self.run_rows()
        keys = ("availability", "cssr", "drop_rate", "blocking", "throughput_mbps")
        if rows is None:
            return {f"kpi_{k}": None for k in keys}
        i = list(rows["level"]).index("network")
        return {f"kpi_{k}": (None if np.isnan(rows[k][i]) else round(float(rows[k][i]), 6))
                for k in keys}

    def write(self) -> None:
        rows = self.run_rows()
        buf = self.sim.records.buffer("kpis_run", KPIS_RUN_SCHEMA)
        if rows is None:
            return
        n = len(rows["level"])
        buf.extend({"start": np.full(n, self.first), "end": np.full(n, self.last), **rows})
