"""SLA credits from the outages the OSS measured, per subscription and bill cycle.

An SLA credit is due on a subscription whose offer has an SLA when its availability over the
billed part of the cycle — from the outages the OSS measured on its cell — falls below the
target: the credit table gives the percentage for the cumulative outage, capped, applied to
the subscription's recurring charge for that cycle. The OSS reports an outage when it
clears; one reported after its cycle was billed raises that cycle's credit, and the
difference goes on the next open bill as an adjustment. ``sla_credits`` holds the final
credit per subscription and cycle.

Planned maintenance the OSS announced (:class:`PlannedMaintenanceNotice`, the cells and the
window) is excluded when the SLA says so (``excluded_planned_maintenance``, the default, as
enterprise SLAs exclude announced maintenance): outage inside an announced window on the
line's cell does not count, up to ``maintenance_allowance`` per cycle. Outage past the
window's end — an overrun — counts like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from twin.bss.money import percent_of
from twin.kernel import Sim
from twin.messages import PlannedMaintenanceNotice, ServiceOutageReport, SubscriberBase
from twin.scenario.schema import SlaSpec

I64 = npt.NDArray[np.int64]

SLA_SCHEMA = pa.schema([
    ("sub", pa.int64()), ("account", pa.int64()), ("cell", pa.string()),
    ("cycle_start", pa.timestamp("s", tz="UTC")), ("billed_s", pa.float64()),
    ("outage_s", pa.float64()), ("availability_pct", pa.float64()),
    ("target_pct", pa.float64()), ("credit_pct", pa.float64()), ("base_minor", pa.int64()),
    ("credit_minor", pa.int64()),
])


def credit_pct(sla: SlaSpec, outage_s: float, billed_s: float) -> tuple[float, float]:
    """(availability %, credit %) for one subscription-cycle."""
    availability = 100.0 * (1.0 - outage_s / billed_s) if billed_s > 0 else 100.0
    if availability >= sla.availability_target:
        return availability, 0.0
    pct = max((step.credit_pct for step in sla.credit_table if outage_s > step.over), default=0.0)
    return availability, min(pct, sla.cap_pct)


def merged_seconds(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Length of the union of intervals, clipped to [lo, hi)."""
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted(intervals):
        s, e = max(s, lo), min(e, hi)
        if e <= s:
            continue
        if cur_e is None or s > cur_e:
            if cur_e is not None and cur_s is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None and cur_s is not None:
        total += cur_e - cur_s
    return total


def overlap(a: list[tuple[float, float]],
            b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Pairwise intersections of two interval lists (their union is the union's overlap)."""
    return [(max(s1, s2), min(e1, e2)) for s1, e1 in a for s2, e2 in b
            if min(e1, e2) > max(s1, s2)]


def counted_outage(sla: SlaSpec, outages: list[tuple[float, float]],
                   planned: list[tuple[float, float]], lo: float, hi: float) -> float:
    """Outage seconds in [lo, hi) that count against the SLA: all of it, less announced
    maintenance (up to the allowance) when the SLA excludes it."""
    total = merged_seconds(outages, lo, hi)
    if not (sla.excluded_planned_maintenance and planned and total > 0):
        return total
    inside = merged_seconds(overlap(outages, planned), lo, hi)
    return total - min(inside, sla.maintenance_allowance)


class SlaCredits:
    """Outages as the OSS reported them, and the credits they earn per cycle."""

    def __init__(self, sim: Sim, subs: SubscriberBase, slas: Sequence[SlaSpec | None],
                 boundaries: Sequence[float] | npt.NDArray[np.float64],
                 group: npt.NDArray[np.int64] | None = None) -> None:
        self.sim, self.subs, self.slas = sim, subs, slas
        # cycle boundaries per bill cycle group (one row per group); each line's group
        self.B = np.atleast_2d(np.asarray(boundaries, dtype=np.float64))
        self.group = group if group is not None else np.zeros(subs.count, dtype=np.int64)
        self.outages: dict[str, list[tuple[float, float]]] = {}
        self.planned: dict[str, list[tuple[float, float]]] = {}  # announced maintenance
        self.rows: dict[tuple[int, int], dict[str, Any]] = {}
        self.pending = np.zeros(subs.count, dtype=np.int64)
        self.late_minor = 0
        with_sla = np.array([s is not None for s in slas])[subs.offer]
        self.subs_on: dict[str, list[int]] = {}
        for s in np.flatnonzero(with_sla):
            self.subs_on.setdefault(subs.cells[subs.cell[s]], []).append(int(s))

    def on_outage(self, report: ServiceOutageReport, billed: npt.ArrayLike,
                  base: Callable[[int], I64]) -> None:
        """``billed``: cycles billed so far, per group (or one number for all)."""
        self.outages.setdefault(report.cell, []).append((report.start, report.end))
        n = np.broadcast_to(np.asarray(billed, dtype=np.int64), (self.B.shape[0],))
        if any(n[g] > 0 and report.start < self.B[g, n[g]] for g in range(self.B.shape[0])):
            self._late(report, n, base)

    def on_maintenance(self, notice: PlannedMaintenanceNotice) -> None:
        for cell in notice.cells:
            self.planned.setdefault(cell, []).append((notice.start, notice.end))

    def _assess(self, k: int, sub: int, base: I64) -> dict[str, Any] | None:
        """The SLA credit due to ``sub`` for cycle ``k`` from the outages known now."""
        sla = self.slas[int(self.subs.offer[sub])]
        cell = self.subs.cells[self.subs.cell[sub]]
        b = self.B[int(self.group[sub])]
        lo, hi = max(b[k], 0.0), min(b[k + 1], self.sim.horizon)
        if sla is None or hi <= lo:
            return None
        outage = counted_outage(sla, self.outages.get(cell, []), self.planned.get(cell, []),
                                lo, hi)
        if outage <= 0:
            return None
        avail, pct = credit_pct(sla, outage, hi - lo)
        base_s = int(base[sub])
        return dict(sub=sub, account=int(self.subs.account[sub]), cell=cell,
                    cycle_start=self.sim.calendar.at(b[k]), billed_s=hi - lo,
                    outage_s=outage, availability_pct=avail, target_pct=sla.availability_target,
                    credit_pct=pct, base_minor=base_s,
                    credit_minor=int(percent_of(np.array([base_s]), np.array([pct]))[0]))

    def credits(self, k: int, base: I64, lines: npt.NDArray[np.bool_] | None = None) -> I64:
        """Credits for cycle ``k`` of the lines ``lines`` (a mask; all by default; ``base``:
        each line's recurring charge for it), plus their late adjustments for cycles already
        billed."""
        mine = lines if lines is not None else np.ones(self.subs.count, dtype=bool)
        credit = np.where(mine, self.pending, 0)
        self.pending[mine] = 0
        for cell in self.outages:
            for s in self.subs_on.get(cell, ()):
                if not mine[s]:
                    continue
                row = self._assess(k, s, base)
                if row is not None:
                    self.rows[(k, s)] = row
                    credit[s] += row["credit_minor"]
        return credit

    def _late(self, report: ServiceOutageReport, billed: I64,
              base: Callable[[int], I64]) -> None:
        """An outage reported after a cycle it touches was billed: the extra credit goes on
        the next open bill as an adjustment (like late usage)."""
        for s in self.subs_on.get(report.cell, ()):
            g = int(self.group[s])
            b = self.B[g]
            for k in range(int(billed[g])):
                if report.end <= b[k] or report.start >= b[k + 1]:
                    continue
                row = self._assess(k, s, base(k))
                if row is None:
                    continue
                old = self.rows.get((k, s), {}).get("credit_minor", 0)
                self.rows[(k, s)] = row
                delta = row["credit_minor"] - old
                self.pending[s] += delta
                self.late_minor += delta

    def write(self) -> None:
        buf = self.sim.records.buffer("sla_credits", SLA_SCHEMA)
        for key in sorted(self.rows):
            buf.append(**self.rows[key])
