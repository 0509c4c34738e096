"""Performance management: silent failures found from PM counters.

Some failures raise no alarm: a *sleeping cell* looks up to its element manager but serves
nobody; a degraded radio drops calls without complaining. The only trace is in the counters
each cell uploads every granularity period (:class:`~twin.messages.PmReport`). Like a doctor
reading a chart rather than waiting for the patient to call, the OSS computes KPIs per cell
and period —

* call setup success = 1 − failed attempts / attempts (congestion aside: blocking has its
  own counter and is a capacity question, not a fault);
* drop rate = dropped / answered calls —

each summed over the last ``window`` periods (a rolling hour by default, since a small cell
sees only a few calls per period) — and raises its own threshold-crossing alarm (``ems``
``oss-pm``, qualityOfServiceAlarm, probable cause ``thresholdCrossed``, port ``kpi/<name>``)
after ``periods`` bad evaluations in a row, clearing it after ``clear_periods`` good ones
(hysteresis, so a KPI hovering at the threshold does not flap). Windows with too few
attempts, or in which the cell was not fully available, count neither way, and a cell that
already has an alarm of its own (from its element manager) is left to that alarm. The alarm
goes through the alarm list and correlation like any other, where it roots an incident at
the cell — and a ticket.

Detection is slower than for a hard failure: counters arrive at the end of a period, the
window must fill with enough bad calls, and it takes ``periods`` evaluations.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from twin.kernel import Sim
from twin.messages import AlarmNotification, PmReport
from twin.scenario.schema import KpiThreshold, PmDetectionSpec

EMS = "oss-pm"
CROSSINGS_SCHEMA = pa.schema([
    ("t", pa.float64()), ("cell", pa.string()), ("kpi", pa.string()), ("value", pa.float64()),
    ("threshold", pa.float64()), ("state", pa.string()),
])


@dataclass
class _Watch:
    name: str
    rule: KpiThreshold
    below: bool  # raised when the KPI falls below raise_at (else above)
    bad: np.ndarray
    good: np.ndarray
    raised: np.ndarray
    window: deque[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (numerator, volume, whole)
    # the window's sums, kept as periods come and go: the counts are whole numbers (held as
    # floats), so they add and take away exactly, as summing the window afresh would
    num: np.ndarray
    volume: np.ndarray
    partial: np.ndarray  # periods in the window a cell was not wholly available
    severity: str = "major"

    def push(self, num: np.ndarray, volume: np.ndarray, whole: np.ndarray) -> None:
        """Add a period to the window, dropping the oldest once it is full."""
        if len(self.window) == self.window.maxlen:
            old_num, old_volume, old_whole = self.window[0]
            self.num -= old_num
            self.volume -= old_volume
            self.partial -= ~old_whole
        self.window.append((num, volume, whole))
        self.num += num
        self.volume += volume
        self.partial += ~whole


class PmWatch:
    def __init__(self, sim: Sim, spec: PmDetectionSpec,
                 raise_alarm: Callable[[AlarmNotification], None],
                 explained: Callable[[], set[str]]) -> None:
        self.sim = sim
        self.spec = spec
        self.raise_alarm = raise_alarm
        self.explained = explained  # cells with an alarm of their own (from their EMS)
        self.cells: tuple[str, ...] = ()
        self.position: dict[str, int] = {}  # of each cell in the reports
        self.watches: list[_Watch] = []
        self._ids = itertools.count(1)
        self.periods = 0
        self.crossings = sim.records.buffer("pm_crossings", CROSSINGS_SCHEMA)

    def _setup(self, cells: tuple[str, ...]) -> None:
        self.cells = cells
        self.position = {c: i for i, c in enumerate(cells)}
        n = len(cells)

        def watch(name: str, rule: KpiThreshold, below: bool) -> _Watch:
            return _Watch(name, rule, below, np.zeros(n, np.int64), np.zeros(n, np.int64),
                          np.zeros(n, bool), deque(maxlen=rule.window), np.zeros(n),
                          np.zeros(n), np.zeros(n, np.int64))
        self.watches = [watch("call_setup_success", self.spec.call_setup_success, True),
                        watch("drop_rate", self.spec.drop_rate, False)]

    def on_report(self, report: PmReport) -> None:
        if report.object_kind != "cell" or not self.spec.enabled:
            return
        if report.objects != self.cells:
            self._setup(report.objects)
        self.periods += 1
        c = report.counters
        attempts = np.asarray(c["calls_attempted"], dtype=float)
        failed = np.asarray(c.get("calls_failed", np.zeros_like(attempts)), dtype=float)
        blocked = np.asarray(c["calls_blocked"], dtype=float)
        answered = attempts - blocked - failed
        whole = np.asarray(c["available_s"], dtype=float) >= 0.99 * report.period_s
        own = self.explained()
        if own:  # a period an alarm accounts for says nothing about silent failures
            whole[[self.position[c] for c in own if c in self.position]] = False
        counts = {  # KPI = numerator / volume over the window
            "call_setup_success": (attempts - failed, attempts),
            "drop_rate": (np.asarray(c["calls_dropped"], dtype=float), answered),
        }
        t = report.period_start + report.period_s
        for w in self.watches:
            w.push(*counts[w.name], whole)
            kpi = w.num / np.maximum(w.volume, 1.0)
            valid = (w.partial == 0) & (w.volume >= w.rule.min_attempts)
            bad = valid & ((kpi < w.rule.raise_at) if w.below else (kpi > w.rule.raise_at))
            good = valid & ((kpi > w.rule.clear_at) if w.below else (kpi < w.rule.clear_at))
            w.bad = np.where(bad, w.bad + 1, np.where(good, 0, w.bad))
            w.good = np.where(good, w.good + 1, np.where(bad, 0, w.good))
            for i in np.flatnonzero(~w.raised & (w.bad >= w.rule.periods)):
                w.raised[i] = True
                self._notify(w, self.cells[i], t, float(kpi[i]), raised=True)
            for i in np.flatnonzero(w.raised & (w.good >= w.rule.clear_periods)):
                w.raised[i] = False
                self._notify(w, self.cells[i], t, float(kpi[i]), raised=False)

    def _notify(self, w: _Watch, cell: str, t: float, value: float, raised: bool) -> None:
        sign = "<" if w.below else ">"
        threshold = w.rule.raise_at if raised else w.rule.clear_at
        text = (f"{w.name.replace('_', ' ')} {value:.3f} {sign} {w.rule.raise_at:g} over "
                f"{w.rule.window} periods, {w.rule.periods} times in a row" if raised
                else f"{w.name.replace('_', ' ')} back to {value:.3f}")
        self.crossings.append(t=t, cell=cell, kpi=w.name, value=value, threshold=threshold,
                              state="raised" if raised else "cleared")
        self.raise_alarm(AlarmNotification(
            EMS, next(self._ids), t, cell, f"kpi/{w.name}", "qualityOfServiceAlarm",
            "thresholdCrossed", text, w.severity if raised else "cleared"))
