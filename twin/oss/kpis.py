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

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from twin.kernel import Labels, Sim, labels, required
from twin.kernel.compiled import kernel
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
KPIS_SCHEMA = required([("period_start", pa.float64()), ("period_s", pa.float64()),
                       *KPI_FIELDS])
KPIS_RUN_SCHEMA = required([("start", pa.float64()), ("end", pa.float64()), *KPI_FIELDS])
_NAMES = (*COUNTERS, "tf_mb")  # the counters summed into rows (tf_mb: throughput × data MB)
_BATCH_CELLS = 1 << 17  # cells × periods whose rows are computed together


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


@dataclass(frozen=True, eq=False)
class _Groups:
    """How cells' counters sum into the rows of every level (made by
    :meth:`KpiBook._setup`; a new one when the cells change, so rows computed later on
    the writer's thread use the one of their periods)."""

    above_n: int  # rows above the cell (sites, regions, network)
    above: npt.NDArray[np.int64]  # each cell's row at each level above it (levels × cells)
    cell_order: npt.NDArray[np.int64]  # cell rows are sorted by name
    levels: Labels
    objects: Labels
    cell_count: F64
    service_mask: dict[str, F64]  # which counters each service row keeps
    not_voice: npt.NDArray[np.bool_]
    not_data: npt.NDArray[np.bool_]


class KpiBook:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.inventory: Inventory | None = None
        self.cells: tuple[str, ...] = ()
        self.groups_n = 0
        self.groups: _Groups | None = None  # (_setup)
        self.total: dict[str, F64] = {}
        self.first: float | None = None
        self.last = 0.0
        self.buf = sim.records.buffer("kpis", KPIS_SCHEMA)
        # periods whose rows are not computed yet: (start, counters × cells), of one length
        self._pending: list[tuple[float, F64]] = []
        self._pending_s = 0.0

    def _setup(self, cells: tuple[str, ...]) -> None:
        """Every cell belongs to one row per level; rows of all levels are numbered in one
        index so each counter is summed into every row with a single bincount."""
        self.cells = cells
        inv = self.inventory
        els = [inv.elements.get(c) if inv is not None else None for c in cells]
        site = [e.site if e is not None else "" for e in els]
        region = [e.region if e is not None else "" for e in els]
        idx_parts, levels, objects = [], [], []
        offset = 0
        for level, keys in (("cell", list(cells)), ("site", site), ("region", region),
                            ("network", ["network"] * len(cells))):
            names, idx = np.unique(np.array(keys, dtype=object), return_inverse=True)
            idx_parts.append(idx.astype(np.int64) + offset)
            levels += [level] * len(names)
            objects += [str(n) for n in names]
            offset += len(names)
        index = np.concatenate(idx_parts)  # cell → its row at every level
        self.groups_n = offset
        n = len(cells)
        above = index[n:] - n
        above_n = offset - n
        # the same names every period: label codes, not a million Python strings a day
        levels_l = _labels(levels + ["service"] * len(SERVICE_COUNTERS))
        not_voice = np.zeros(len(levels_l), bool)
        not_data = np.zeros(len(levels_l), bool)
        not_voice[offset:] = [x != "voice" for x in SERVICE_COUNTERS]
        not_data[offset:] = [x != "data" for x in SERVICE_COUNTERS]
        self.groups = _Groups(
            above_n=above_n,
            above=above.reshape(-1, n),
            cell_order=np.argsort(index[:n]),
            levels=levels_l, objects=_labels(objects + list(SERVICE_COUNTERS)),
            cell_count=np.append(np.bincount(index, minlength=offset),
                                 [len(cells)] * len(SERVICE_COUNTERS)).astype(float),
            # available_s: every cell carries every service
            service_mask={k: np.array([float(k in keep or k == "available_s"
                                             or (k == "tf_mb" and svc == "data"))
                                       for svc, keep in SERVICE_COUNTERS.items()])
                          for k in (*COUNTERS, "tf_mb")},
            not_voice=not_voice, not_data=not_data)
        self.total = {k: np.zeros(len(cells)) for k in (*COUNTERS, "tf_mb")}

    def on_report(self, report: PmReport) -> None:
        if report.object_kind != "cell":
            return
        if report.objects != self.cells:
            self.flush()
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
        if self._pending and report.period_s != self._pending_s:
            self.flush()
        self._pending.append((report.period_start, np.stack([per_cell[k] for k in _NAMES])))
        self._pending_s = report.period_s
        if len(self._pending) * len(self.cells) >= _BATCH_CELLS:
            self.flush()

    def flush(self) -> None:
        """The rows of the periods pending, computed together: the same values as one
        period at a time, in the same order, with a few array operations for many periods
        instead of a hundred for each."""
        if not self._pending:
            return
        pending, seconds, groups = self._pending, self._pending_s, self.groups
        assert groups is not None
        each = len(groups.levels)  # rows a period

        def rows() -> dict[str, Any]:  # only the table reads them: computed on its writer
            cols = _rows(groups, np.stack([w for _, w in pending]), seconds)
            return {"period_start": _repeated(np.array([t for t, _ in pending]), each),
                    "period_s": np.full(each * len(pending), seconds), **cols}

        self.buf.extend_later(each * len(pending), rows)
        self._pending = []

    def run_rows(self) -> dict[str, Any] | None:
        """The whole run's KPIs (counters summed over every period)."""
        if self.first is None or self.groups is None:
            return None
        return _rows(self.groups, np.stack([self.total[k] for k in _NAMES])[None],
                     self.last - self.first)

    def summary(self) -> dict[str, float | None]:
        """Network KPIs over the run, for ``summary.json``."""
        rows = self.run_rows()
        keys = ("availability", "cssr", "drop_rate", "blocking", "throughput_mbps")
        if rows is None:
            return {f"kpi_{k}": None for k in keys}
        i = self.groups_n - 1  # the network row comes last before the services
        return {f"kpi_{k}": (None if np.isnan(rows[k][i]) else round(float(rows[k][i]), 6))
                for k in keys}

    def write(self) -> None:
        self.flush()
        rows = self.run_rows()
        buf = self.sim.records.buffer("kpis_run", KPIS_RUN_SCHEMA)
        if rows is None:
            return
        n = len(rows["level"])
        buf.extend({"start": np.full(n, self.first), "end": np.full(n, self.last), **rows})


def _labels(values: list[str]) -> Labels:
    """``values`` as label codes, the names in order of first appearance."""
    names = tuple(dict.fromkeys(values))
    pos = {n: i for i, n in enumerate(names)}
    return labels(np.array([pos[v] for v in values], dtype=np.int32), names)


def _tiled(x: npt.NDArray[Any], n: int) -> npt.NDArray[Any]:
    """``np.tile(x, n)`` of a 1-D array, copied in one go without the GIL (``np.tile`` and
    a concatenation of many small pieces keep it: this runs on the writer's thread, beside
    the simulation)."""
    return np.broadcast_to(x, (n, x.size)).ravel()


def _repeated(x: npt.NDArray[Any], n: int) -> npt.NDArray[Any]:
    """``np.repeat(x, n)`` of a 1-D array, copied as :func:`_tiled` copies."""
    return np.broadcast_to(x[:, None], (x.size, n)).ravel()


def _summing_above(w: F64, above: npt.NDArray[np.int64], out: F64) -> int:
    """Each period's counters (``w``: periods × counters × cells) summed into the rows
    above the cell (``above``: each cell's row at each level), cell by cell in order."""
    periods, keys, n = w.shape
    for p in range(periods):
        for k in range(keys):
            for j in range(above.shape[0]):
                for c in range(n):
                    out[p, k, above[j, c]] += w[p, k, c]
    return 0


_sum_above = kernel(_summing_above)


def _rows(g: _Groups, w: F64, seconds: float) -> dict[str, Any]:
    """Rows per cell, site, region, network and service of each period, from per-cell
    counters ``w`` (periods × counters of :data:`_NAMES` × cells, in report order) over
    ``seconds`` each, grouped as ``g`` says."""
    periods, keys, _ = w.shape
    above = np.zeros((periods, keys, g.above_n))
    _sum_above(np.ascontiguousarray(w, dtype=np.float64), g.above, above)
    cells = w[:, :, g.cell_order]
    sums: dict[str, npt.NDArray[Any]] = {
        k: np.concatenate([cells[:, i], above[:, i],
                           above[:, i, -1:] * g.service_mask[k]], axis=1).ravel()
        for i, k in enumerate(_NAMES)}  # cells, sites, regions, network; services
    count = _tiled(g.cell_count, periods)
    row = kpis(sums, count, seconds)
    for k in ("cssr", "drop_rate", "blocking"):
        row[k][_tiled(g.not_voice, periods)] = np.nan
    for k in ("throughput_mbps", "user_throughput"):
        row[k][_tiled(g.not_data, periods)] = np.nan
    out: dict[str, Any] = {"level": labels(_tiled(g.levels.codes, periods),
                                           g.levels.names),
                           "object": labels(_tiled(g.objects.codes, periods),
                                            g.objects.names),
                           "cells": count.astype(np.int64), "observed_s": count * seconds,
                           **{k: sums[k] for k in COUNTERS}, **row}
    for k in ("calls_attempted", "calls_blocked", "calls_failed", "calls_dropped",
              "sessions_attempted", "sms_attempted"):
        out[k] = np.rint(out[k]).astype(np.int64)
    return out
