"""Subscriber traffic, generated vectorised per cell per interval.

Each interval (the 15-minute PM granularity period by default) the engine takes, for every
cell at once, the offered voice calls, data sessions and messages (:mod:`twin.network.offered`
draws them: Poisson counts from the diurnal rate, uniform arrival instants, lines, holding
times and volumes) and drops those of lines out of service. Offered traffic is drawn whether
or not a cell is in service, so demand is identical across designs (common random numbers);
the network state then decides each attempt's outcome.

Voice is a loss system: a call is blocked when all of its cell's channels are busy. Most
cell-intervals cannot block — an upper bound on occupancy (every offered call admitted, as in
an infinite-server system) stays below the channel count — and are admitted wholesale. Only
cells that might block, or whose service state changes inside the interval, are replayed
call by call, exactly. Calls in progress when their cell loses service are dropped there
(abnormal release); attempts while it is out of service are lost. Calls also drop for radio
reasons (``traffic.radio``): a hazard per cell from its coverage class and load, drawn per
call on a stream of its own after every other outcome, so switching it on moves no other draw.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from twin.kernel import Sim, labels, required
from twin.kernel.compiled import cores, float64s, int64s, kernel
from twin.messages import (
    CAMEL_INIT_CALL_RELEASE,
    DATA,
    SMS,
    VOICE,
    CreditAnswer,
    PmReport,
    SubscriberBase,
    UsageBatch,
)
from twin.network import offered as drawing
from twin.network.offered import MB, DrawAhead, Drawn, Offered
from twin.network.online import DENIED_CREDIT_OUT, DENIED_OCS_OUT, OnlineCharging
from twin.network.records import Recorder, hashed_uniform, splitmix
from twin.network.state import CellChange, NetworkState
from twin.network.transport import TransportLoad
from twin.scenario.schema import TrafficSpec

ACTIVE, COMPLETED, BLOCKED, LOST, DROPPED, DENIED_CREDIT, DENIED_OCS, QUOTA_END = range(8)
OUTCOMES = ("active", "completed", "blocked", "lost_outage", "dropped", "denied_credit",
            "denied_ocs", "quota_exhausted")
KINDS = ("voice", "data", "sms")
_MARGIN = 0.01  # seconds; a call ending this little before an arrival counts as up then
_INSTANT = 1e-9  # seconds; below it a call or session wants no time at all

Arr = npt.NDArray[Any]

USAGE_SCHEMA = required([
    ("id", pa.int64()), ("kind", pa.string()), ("sub", pa.int64()), ("cell", pa.string()),
    ("start", pa.float64()), ("intended_s", pa.float64()), ("actual_s", pa.float64()),
    ("intended_bytes", pa.int64()), ("actual_bytes", pa.int64()), ("outcome", pa.string()),
    ("answer_s", pa.float64()),
])
PM_SCHEMA = required([
    ("period_start", pa.float64()), ("cell", pa.string()), ("calls_offered", pa.int64()),
    ("calls_blocked", pa.int64()), ("calls_lost_outage", pa.int64()),
    ("calls_dropped", pa.int64()), ("sessions_offered", pa.int64()),
    ("sessions_lost_outage", pa.int64()), ("carried_erlang", pa.float64()),
    ("data_mb", pa.float64()), ("sms_offered", pa.int64()), ("sms_lost_outage", pa.int64()),
    ("available_s", pa.float64()), ("data_utilisation", pa.float64()),
    ("throughput_factor", pa.float64()), ("calls_denied", pa.int64()),
    ("sessions_denied", pa.int64()), ("sms_denied", pa.int64()),
])
FIELDS = ("id", "cell", "sub", "start", "end", "volume")


def _insertion_sort(x: Arr, lo: int, hi: int) -> None:
    """``x[lo:hi]`` sorted in place (a cell's few calls of an interval)."""
    for i in range(lo + 1, hi):
        v = x[i]
        j = i - 1
        while j >= lo and x[j] > v:
            x[j + 1] = x[j]
            j -= 1
        x[j + 1] = v


_sort_run = kernel(_insertion_sort, inline=True)


def _screen_rows(cell: Arr, start: Arr, end: Arr, car_cell: Arr, car_end: Arr, cap: Arr,
                 bounds: Arr, car_sorted: Arr, ends: Arr, flagged: Arr) -> int:
    """Flag each cell where some new call (``cell``/``start``/``end``, sorted by cell and
    start) finds at least ``cap`` of its cell's calls still up ``_MARGIN`` before it starts:
    new ones before it, or carried in (``car_cell``/``car_end``, in any order). Scratch:
    ``bounds`` (cells + 1 zeros), ``car_sorted`` and ``ends`` (as long as the calls)."""
    n_cells = cap.size
    for j in range(car_cell.size):  # the carried calls by cell (a counting sort) ...
        bounds[car_cell[j] + 1] += 1
    for c in range(n_cells):
        bounds[c + 1] += bounds[c]
    for j in range(car_cell.size):
        c = car_cell[j]
        car_sorted[bounds[c]] = car_end[j]
        bounds[c] += 1  # ... after which cell c's are [bounds[c - 1], bounds[c])
    i = 0
    while i < cell.size:
        c = cell[i]
        b = i
        while b < cell.size and cell[b] == c:
            ends[b - i] = end[b]
            b += 1
        lo = bounds[c - 1] if c > 0 else 0
        hi = bounds[c]
        _sort_run(car_sorted, lo, hi)
        _sort_run(ends, 0, b - i)
        p, q = 0, lo
        for r in range(i, b):
            t = start[r] - _MARGIN
            while p < b - i and ends[p] <= t:  # new calls ended by then (none after r has)
                p += 1
            while q < hi and car_sorted[q] <= t:
                q += 1
            if (r - i) - p + (hi - q) >= cap[c]:
                flagged[c] = True
                break
        i = b
    return 0


_screen = kernel(_screen_rows)


def _truth_rows(start: Arr, intended_end: Arr, actual_end: Arr, outcome: Arr, volume: Arr,
                intended: Arr, actual: Arr, actual_bytes: Arr, served: Arr) -> int:
    """Each resolved attempt's time wanted and had, and the bytes moved in it (its volume
    in proportion); the rows served (completed, dropped or ended by quota) into ``served``.
    Returns how many."""
    m = 0
    for i in range(start.size):
        t = start[i]
        want = intended_end[i] - t
        o = outcome[i]
        had = 0.0
        if o in (COMPLETED, DROPPED, QUOTA_END):
            had = actual_end[i] - t
            served[m] = i
            m += 1
        intended[i], actual[i] = want, had
        # a row with no time wanted moves nothing (NaN stays NaN, as in numpy's maximum)
        whole = want if want >= _INSTANT or want != want else _INSTANT
        actual_bytes[i] = np.int64(np.floor(volume[i] * (had / whole)))
    return m


_truth_loop = kernel(_truth_rows)


def _sorting_out(outcome: Arr, actual_end: Arr, t1: float, keep: Arr, done: Arr, up: Arr,
                 counts: Arr) -> int:
    """An interval's calls at its end: those still active and ending by ``t1`` completed;
    the rows still active (``keep``), the others (``done``: resolved) and the rows up in it
    (active, completed or dropped: ``up``), their numbers into ``counts``."""
    k = d = u = 0
    for i in range(outcome.size):
        o = outcome[i]
        if o == ACTIVE and actual_end[i] <= t1:
            o = outcome[i] = COMPLETED
        if o == ACTIVE:
            keep[k] = i
            k += 1
        else:
            done[d] = i
            d += 1
        if o in (ACTIVE, COMPLETED, DROPPED):
            up[u] = i
            u += 1
    counts[0], counts[1], counts[2] = k, d, u
    return 0


_sort_out = kernel(_sorting_out)


def _pm_rows(cell: Arr, outcome: Arr, start: Arr, actual_end: Arr, n_car: int, t0: float,
             t1: float, voice: bool, counts: Arr, busy: Arr) -> int:
    """Per cell: attempts new in the interval (rows from ``n_car``), blocked, lost to an
    outage and dropped (``counts``' rows); for calls (``voice``) the seconds each cell's
    answered calls were up in [t0, t1] (``busy``)."""
    for i in range(cell.size):
        c, o = cell[i], outcome[i]
        if i >= n_car:
            counts[0, c] += 1
        if o == BLOCKED:
            counts[1, c] += 1
        elif o == LOST:
            counts[2, c] += 1
        elif o == DROPPED:
            counts[3, c] += 1
        if voice:
            e = actual_end[i] if actual_end[i] < t1 else t1
            s = start[i] if start[i] > t0 else t0
            busy[c] += 0.0 if o in (BLOCKED, LOST) else e - s
    return 0


_pm_counts = kernel(_pm_rows)


@dataclass
class Batch:
    """Struct-of-arrays for calls or sessions, sorted by (cell, start)."""

    id: Arr
    cell: Arr
    sub: Arr
    start: Arr
    end: Arr
    volume: Arr

    @classmethod
    def empty(cls) -> Batch:
        return cls(*(np.empty(0, dtype=d) for d in
                     (np.int64, np.int32, np.int64, np.float64, np.float64, np.float64)))

    def take(self, idx: Arr | slice) -> Batch:
        """Rows ``idx`` (copies; views for a slice)."""
        return Batch(*(getattr(self, f)[idx] for f in FIELDS))

    @staticmethod
    def concat(*batches: Batch) -> Batch:
        return Batch(*(np.concatenate([getattr(b, f) for b in batches]) for f in FIELDS))

    def __len__(self) -> int:
        return int(self.id.size)



class TrafficEngine:
    def __init__(self, sim: Sim, spec: TrafficSpec, state: NetworkState,
                 subs: SubscriberBase, cdr_duplicate_rate: float,
                 publish: Callable[[Any], None]) -> None:
        self.sim, self.spec, self.state, self.publish = sim, spec, state, publish
        self.cell_ids = state.cell_ids
        n_cells = len(self.cell_ids)
        self.channels = np.array([state.topo.channels[c] for c in self.cell_ids], dtype=np.int64)
        # each line is in service from its activation to its deactivation (provisioning):
        # lines existing at the start from -inf, prospects once an order activates them;
        # attempts picked for a line out of service are dropped (thinning the Poisson stream)
        self.line_from = np.where(np.arange(subs.count) < subs.n_existing, -np.inf, np.inf)
        self.line_until = np.full(subs.count, np.inf)
        self.lines_vary = subs.n_existing < subs.count
        # demand per cell: its lines' weights (segment factors)
        self.offered = Offered(
            spec, sim.calendar, np.asarray(subs.cell, dtype=np.int64), n_cells, subs.demand,
            [(ev, np.array([i for i, c in enumerate(self.cell_ids)
                            if state.topo.elements[c].site == ev.site], dtype=np.int64))
             for ev in spec.events],
            [sim.rng.stream("traffic.voice"), sim.rng.stream("traffic.data"),
             sim.rng.stream("traffic.sms")])
        self.cdr_dup = cdr_duplicate_rate
        self.cdr_rng = sim.rng.stream("network.cdr")
        self.recorder = Recorder(sim, spec.records, subs)
        self.ocs: OnlineCharging | None = None  # set when the network charges prepaid online
        self.subs_prepaid = subs.is_prepaid
        self.drop_rng = sim.rng.stream("traffic.drops")
        # background radio drops: each on its own streams, so switching them on leaves every
        # other draw of the run as it was
        radio = spec.radio
        classes = list(radio.coverage_mix)
        pick = sim.rng.stream("network.coverage").choice(
            len(classes), size=n_cells, p=np.array([radio.coverage_mix[c] for c in classes]))
        self.coverage = np.array(classes, dtype=object)[pick]  # class of each cell
        self.radio_hazard = (radio.drop_rate / spec.voice.holding.mean_s
                             * np.array([radio.coverage_factor[c] for c in self.coverage],
                                        dtype=np.float64))  # per second, idle cell
        # counter-based: a call's draws in an interval hash its id and the interval, so they
        # do not depend on which other calls exist (an outage elsewhere moves none of them)
        self.radio_keys = sim.rng.stream("traffic.radio").integers(
            0, 2**63, size=2, dtype=np.int64).astype(np.uint64)
        self.transport: TransportLoad | None = None
        self.data_capacity = np.ones(n_cells)  # Mb/s per cell; set by the network twin
        self.on_congestion: Callable[[], None] | None = None
        self.quality = state.cell_quality()
        self.carried = {VOICE: Batch.empty(), DATA: Batch.empty(), SMS: Batch.empty()}
        self.next_id = 1  # ids of calls, sessions and messages, in the order drawn
        self.usage = sim.records.buffer("usage", USAGE_SCHEMA)
        self.pm = sim.records.buffer("traffic", PM_SCHEMA)
        self._cell_column = labels(np.arange(n_cells), self.cell_ids)
        self.cell_tuple = tuple(self.cell_ids)
        self.t = 0.0
        self.counts = dict(calls_offered=0, calls_blocked=0, calls_lost_outage=0,
                           calls_dropped=0, sessions_offered=0, data_bytes=0, sms_offered=0,
                           sms_lost_outage=0, calls_denied=0, sessions_denied=0, sms_denied=0)
        self.ahead: DrawAhead | None = None
        if self.offered.expected(sim.horizon) >= drawing.AHEAD_FROM_ATTEMPTS and cores() > 1:
            try:
                self.ahead = DrawAhead(self.offered, spec.interval, sim.horizon)
            except OSError:  # no interpreter to start: drawn here
                self.ahead = None

    # --- the discrete-event side ------------------------------------------------------------

    def process(self) -> Any:
        while self.t + self.spec.interval <= self.sim.horizon:
            self.quality = self.state.cell_quality()  # degradations in force as it starts
            yield self.sim.env.timeout(self.t + self.spec.interval - self.sim.now)
            self.step(self.t, self.t + self.spec.interval)

    def finish(self) -> None:
        """At the horizon: the last partial interval, then calls still up end as planned."""
        if self.t < self.sim.horizon:
            self.step(self.t, self.sim.horizon)
        if self.ahead is not None:
            self.ahead.close()
        parts = []
        for kind, car in self.carried.items():
            out = np.full(len(car), COMPLETED, dtype=np.int8)
            part = self._partials(car, car.end, self.t, car.end) if kind == DATA else None
            cdr, moved = self._emit(kind, car, car.end.copy(), out, car.end.copy())
            parts.append(cdr)
            if part is not None:
                self.counts["data_bytes"] += int(moved.sum())
                parts.append(part)
            self.carried[kind] = Batch.empty()
        self._publish_cdrs(parts)

    # --- one interval -----------------------------------------------------------------------

    def step(self, t0: float, t1: float) -> None:
        up0 = self.state.in_service.copy()
        for ch in reversed(self.state.changes):  # roll the current state back to t0
            up0[ch.cell] = not ch.in_service
        changes = self.state.take_changes(t1)
        by_cell: dict[int, list[CellChange]] = {}
        for ch in changes:
            by_cell.setdefault(ch.cell, []).append(ch)
        factor, drop = self.quality
        channels = np.floor(self.channels * factor + 1e-9).astype(np.int64)
        sleeping = channels == 0  # up as far as anyone can tell, but serving nobody
        pm: dict[str, Arr] = {}
        cdrs: list[dict[str, Arr]] = []
        rates = self.offered.rates(t0, t1)
        if self.ahead is None:
            news = [self._generate(kind, rate, t0, t1) for kind, rate in enumerate(rates)]
        else:
            news = [self._lines_in_service(d) for d in self.ahead.take(t0, t1)]
        radio = self._radio_hazard(rates[VOICE], channels, t1 - t0)
        dark = ~up0 | sleeping
        dark[list(by_cell)] = False
        news = self._admit(news, ~dark, pm)
        for kind, cap in ((VOICE, channels), (DATA, None), (SMS, None)):
            cdrs.extend(self._resolve(kind, news[kind], t0, t1, up0, by_cell, cap, pm,
                                      sleeping, dark, drop if kind == VOICE else None,
                                      radio if kind == VOICE else None))
        for name in ("calls", "sessions", "sms"):
            offered = f"{name}_offered"
            pm[offered] = pm[offered] + pm[f"{name}_denied"]  # denied attempts were offered
            self.counts[offered] += int(pm[f"{name}_denied"].sum())
            self.counts[f"{name}_denied"] += int(pm[f"{name}_denied"].sum())
        self._write_pm(t0, t1, pm, self._available_s(t0, t1, up0, by_cell))
        self._publish_cdrs(cdrs)
        self.t = t1

    def enable_online_charging(self, publish: Callable[[Any], None]) -> None:
        """Prepaid lines are served only with quota from the online charging system, asked
        through ``publish``."""
        self.ocs = OnlineCharging(self.subs_prepaid, publish)

    def on_credit_answer(self, answer: CreditAnswer) -> None:
        if self.ocs is not None:
            self.ocs.on_answer(answer)

    def _admit(self, news: list[Batch], can_serve: Arr, pm: dict[str, Arr]) -> list[Batch]:
        """Online charging: one CreditRequest for the interval's new prepaid attempts; the
        denied ones are resolved here (truth rows, no records), the rest go on, capped at
        their quota."""
        n_cells = len(self.cell_ids)
        for name in ("calls", "sessions", "sms"):
            pm[f"{name}_denied"] = np.zeros(n_cells, dtype=np.int64)
        if self.ocs is None or not any(len(b) for b in news):
            return news
        allb = Batch.concat(*news)
        kind = np.repeat(np.arange(3), [len(b) for b in news])
        answer_s = np.where(kind == VOICE, self.recorder.answer_delay(allb.id), 0.0)
        verdict, end = self.ocs.admit(kind, allb.id, allb.sub, allb.start, allb.end,
                                      allb.volume, answer_s, can_serve[allb.cell])
        allb.end = end
        out = []
        offset = 0
        for k, name in ((VOICE, "calls"), (DATA, "sessions"), (SMS, "sms")):
            sl = slice(offset, offset + len(news[k]))
            offset += len(news[k])
            b, v = allb.take(sl), verdict[sl]
            denied = np.flatnonzero(v != 0)
            if denied.size:
                d = b.take(denied)
                outcome = np.where(v[denied] == DENIED_CREDIT_OUT, DENIED_CREDIT,
                                   DENIED_OCS).astype(np.int8)
                assert (v[denied] <= DENIED_OCS_OUT).all()
                self._emit(k, d, d.start.copy(), outcome, d.end.copy())
                pm[f"{name}_denied"] = np.bincount(d.cell, minlength=n_cells)
            out.append(b.take(np.flatnonzero(v == 0)))
        return out

    def _lines_in_service(self, d: Drawn) -> Batch:
        """The attempts of lines in service (the others thin the Poisson stream), numbered."""
        if self.lines_vary:
            live = (d.start >= self.line_from[d.sub]) & (d.start < self.line_until[d.sub])
            d = Drawn(*(x[live] for x in d))
        n = d.cell.size
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        return Batch(ids, d.cell, d.sub, d.start, d.end, d.volume)

    def _generate(self, kind: int, rate: Arr, t0: float, t1: float) -> Batch:
        return self._lines_in_service(self.offered.draw(kind, rate, t0, t1))

    def _resolve(self, kind: int, new: Batch, t0: float, t1: float, up0: Arr,
                 by_cell: dict[int, list[CellChange]], cap: Arr | None,
                 pm: dict[str, Arr], sleeping: Arr, dark: Arr, drop: Arr | None,
                 radio: Arr | None) -> list[dict[str, Arr]]:
        """Fates of the interval's calls (or sessions) and those carried into it; ``dark``:
        cells out of service (or asleep) all the interval long. Their records, in parts to
        publish in order (a data session's partial records first)."""
        car = self.carried[kind]
        allb = Batch.concat(car, new) if len(car) else new  # (read here, never written)
        n_car = len(car)
        outcome = np.zeros(len(allb), dtype=np.int8)
        actual_end = allb.end.copy()
        outcome[n_car:][dark[new.cell]] = LOST
        slow = set(by_cell)
        if cap is not None and len(new):
            slow |= self._may_block(car, new, cap) - set(np.flatnonzero(dark).tolist())
        for c in sorted(slow):
            self._replay(c, allb, n_car, outcome, actual_end, up0[c] and not sleeping[c],
                         by_cell.get(c, []), None if cap is None else int(cap[c]))
        if drop is not None and drop.any():
            self._drop_degraded(allb, n_car, outcome, actual_end, drop, t1)
        if radio is not None:
            self._drop_radio(allb, outcome, actual_end, radio, t0, t1)
        # calls up at t1 are carried on, the others resolved (ended by t1: completed)
        n = len(allb)
        keep, idx, up = (np.empty(n, dtype=np.int64) for _ in range(3))
        counts = np.zeros(3, dtype=np.int64)
        _sort_out(outcome, actual_end, t1, keep, idx, up, counts)
        keep, idx, up = keep[:counts[0]], idx[:counts[1]], up[:counts[2]]
        self.carried[kind] = allb.take(keep)
        if kind == DATA:  # partial records of sessions up now, for limits reached by t1
            part = self._partials(allb.take(up), actual_end[up], t0, t1)
        cdr, moved = self._emit(kind, allb.take(idx), actual_end[idx], outcome[idx],
                                allb.end[idx])
        self._count_pm(kind, allb, n_car, outcome, actual_end, t0, t1, pm)
        if kind == DATA:
            o = outcome[idx]
            served_cells = allb.cell[idx][(o == COMPLETED) | (o == DROPPED)]
            pm["data_mb"] = np.bincount(served_cells, moved, minlength=len(self.cell_ids)) / MB
            self.counts["data_bytes"] += int(moved.sum())
            return [part, cdr]
        return [cdr]

    def _partials(self, b: Batch, known_end: Arr, t0: float, t1: float | Arr) -> dict[str, Arr]:
        """Partial records of data sessions whose limits pass in (t0, t1]."""
        planned = b.end
        if self.ocs is not None:
            planned, _ = self.ocs.planned(b.id, b.end)
        part = self.recorder.data_partials(b.id, b.sub, b.start, planned, b.volume, known_end,
                                           t0, t1)
        if self.ocs is not None:
            part["online"] = self.ocs.online_of(part["charging_id"])
        return part

    def _drop_degraded(self, allb: Batch, n_car: int, outcome: Arr, actual_end: Arr,
                       drop: Arr, t1: float) -> None:
        """In a degraded cell each answered call drops with the cell's drop rate, at a
        uniform instant of its part in this interval."""
        rows = n_car + np.flatnonzero((outcome[n_car:] == ACTIVE) & (drop[allb.cell[n_car:]] > 0))
        if rows.size == 0:
            return
        u = self.drop_rng.random((2, rows.size))
        hit = rows[u[0] < drop[allb.cell[rows]]]
        v = u[1][u[0] < drop[allb.cell[rows]]]
        start = allb.start[hit]
        actual_end[hit] = start + v * (np.minimum(allb.end[hit], t1) - start)
        outcome[hit] = DROPPED

    def _radio_hazard(self, voice_rate: Arr, channels: Arr, span: float) -> Arr | None:
        """Per cell, the radio drop hazard (per second) of a call in progress this interval:
        the coverage class's, raised by the cell's offered load over its channels."""
        radio = self.spec.radio
        if radio.drop_rate <= 0:
            return None
        offered = voice_rate * self.spec.voice.holding.mean_s / span  # Erlang
        load = np.where(channels > 0, np.minimum(offered / np.maximum(channels, 1), 1.0), 1.0)
        out: Arr = self.radio_hazard * (1.0 + radio.load_sensitivity * load)
        return out

    def _drop_radio(self, allb: Batch, outcome: Arr, actual_end: Arr, hazard: Arr,
                    t0: float, t1: float) -> None:
        """Radio drops: every call up in this interval (carried or new) drops with
        probability 1 − exp(−hazard × its time up here), at a uniform instant of that
        time. The uniforms hash the call's id and the interval with keys from the
        ``traffic.radio`` stream: the same call in the same interval gets the same draws
        whatever else happens in the run (common random numbers)."""
        rows = np.flatnonzero(outcome == ACTIVE)
        if rows.size == 0:
            return
        s = np.maximum(allb.start[rows], t0)
        span = np.minimum(allb.end[rows], t1) - s  # up calls end after t0 and their start
        base = splitmix(allb.id[rows].astype(np.uint64) ^ np.uint64(int(t0 * 1000)))
        u = np.stack([hashed_uniform(base, k) for k in self.radio_keys])
        hit = u[0] < -np.expm1(-hazard[allb.cell[rows]] * span)
        r = rows[hit]
        actual_end[r] = s[hit] + u[1][hit] * span[hit]
        outcome[r] = DROPPED

    def _may_block(self, car: Batch, new: Batch, cap: Arr) -> set[int]:
        """Cells where the infinite-server occupancy bound reaches the channel count."""
        n_cells = cap.size
        flagged = np.zeros(n_cells, dtype=np.bool_)
        _screen(new.cell, new.start, new.end, car.cell, car.end, int64s(cap),
                np.zeros(n_cells + 1, dtype=np.int64), np.empty(len(car)),
                np.empty(len(new)), flagged)
        return set(np.flatnonzero(flagged).tolist())

    @staticmethod
    def _replay(c: int, allb: Batch, n_car: int, outcome: Arr, actual_end: Arr, up: bool,
                changes: list[CellChange], cap: int | None) -> None:
        """Exact call-by-call loss system for one cell over one interval."""
        rows = np.flatnonzero(allb.cell == c)
        heap = [(float(allb.end[i]), int(i)) for i in rows[rows < n_car]]
        heapq.heapify(heap)
        events = [(ch.t, ch.in_service) for ch in changes]
        ei = 0

        def apply(t: float, in_service: bool) -> None:
            nonlocal heap, up
            if not in_service:  # drops every call up, even in a cell asleep until now
                for end, j in heap:
                    if end > t:
                        outcome[j] = DROPPED
                        actual_end[j] = t
                heap = []
            up = in_service

        for i in rows[rows >= n_car]:
            a = allb.start[i]
            while ei < len(events) and events[ei][0] <= a:
                apply(*events[ei])
                ei += 1
            while heap and heap[0][0] <= a:
                heapq.heappop(heap)
            if not up:
                outcome[i] = LOST
            elif cap is not None and len(heap) >= cap:
                outcome[i] = BLOCKED
            else:
                heapq.heappush(heap, (float(allb.end[i]), int(i)))
        for t, in_service in events[ei:]:
            apply(t, in_service)

    # --- records ----------------------------------------------------------------------------

    def _emit(self, kind: int, b: Batch, actual_end: Arr, outcome: Arr,
              intended_end: Arr) -> tuple[dict[str, Arr], Arr]:
        """The usage truth of resolved calls and sessions, and the records of the served
        ones (the last record of a data session with partials); also the bytes each served
        session moved in all."""
        online: Arr | None = None  # charged online: read before the OCS forgets the ids
        if self.ocs is not None:
            online = self.ocs.online_of(b.id)
            intended_end, capped = self.ocs.planned(b.id, intended_end)
            outcome = np.where(capped & (outcome == COMPLETED), QUOTA_END, outcome)
            self.ocs.finished(b.id, b.sub, (outcome == COMPLETED) | (outcome == DROPPED)
                              | (outcome == QUOTA_END))
        n = len(b)
        intended, actual = np.empty(n), np.empty(n)
        actual_bytes, served = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        intended_end = float64s(intended_end)
        s = served[:_truth_loop(float64s(b.start), intended_end, float64s(actual_end),
                                np.ascontiguousarray(outcome, dtype=np.int8),
                                float64s(b.volume), intended, actual, actual_bytes, served)]
        answer_s = (self.recorder.answer_delay(b.id) if kind == VOICE
                    else np.zeros(n))
        self.usage.extend({
            "id": b.id, "kind": labels(np.full(n, kind, dtype=np.int32), KINDS), "sub": b.sub,
            "cell": labels(b.cell, self.cell_ids), "start": b.start, "intended_s": intended,
            "actual_s": actual, "intended_bytes": b.volume.astype(np.int64),
            "actual_bytes": actual_bytes, "outcome": labels(outcome, OUTCOMES),
            "answer_s": answer_s,
        })
        rec = self.recorder
        if kind == DATA:
            cdr = rec.data(b.id, b.sub, b.start, intended_end, b.volume, actual, actual_bytes,
                           outcome == DROPPED, rows=s)
        else:
            cdr = rec.calls(kind, s, b.id, b.sub, b.start, actual, answer_s,
                            outcome == DROPPED)
        if online is not None:
            cdr["online"] = online[s]
            cdr["cause"][outcome[s] == QUOTA_END] = CAMEL_INIT_CALL_RELEASE
        return cdr, actual_bytes[s]

    def _publish_cdrs(self, parts: list[dict[str, Arr]]) -> None:
        n = sum(p["record_id"].size for p in parts)
        if n == 0:
            return
        # records written twice follow the batch; their draws come from a stream of their
        # own (before the defects' or after: the same draws), so one array per column is
        # filled once: the batch, then the copies of the rows written twice
        dup = np.flatnonzero(self.cdr_rng.random(n) < self.cdr_dup)
        whole = {k: np.empty(n + dup.size, dtype=np.result_type(*(p[k] for p in parts)))
                 for k in parts[0]}
        batch = {k: np.concatenate([p[k] for p in parts], out=v[:n]) for k, v in whole.items()}
        for k, v in self.recorder.defects(dict(batch)).items():
            if v is not batch[k]:  # a defect rewrote the column
                whole[k][:n] = v
            whole[k][n:] = whole[k][:n][dup]
        self.publish(UsageBatch(whole))

    def _count_pm(self, kind: int, allb: Batch, n_car: int, outcome: Arr, actual_end: Arr,
                  t0: float, t1: float, pm: dict[str, Arr]) -> None:
        n = len(self.cell_ids)
        # per cell: offered (new), blocked, lost to outages, dropped; the carried Erlangs
        c = np.zeros((4, n), dtype=np.int64)
        busy = np.zeros(n)
        _pm_counts(allb.cell, outcome, allb.start, actual_end, n_car, t0, t1, kind == VOICE,
                   c, busy)
        if kind == VOICE:
            pm["calls_offered"], pm["calls_blocked"] = c[0], c[1]
            pm["calls_lost_outage"], pm["calls_dropped"] = c[2], c[3]
            pm["carried_erlang"] = busy / (t1 - t0)
            for k in ("calls_offered", "calls_blocked", "calls_lost_outage", "calls_dropped"):
                self.counts[k] += int(pm[k].sum())
        elif kind == DATA:
            pm["sessions_offered"], pm["sessions_lost_outage"] = c[0], c[2]
            self.counts["sessions_offered"] += int(pm["sessions_offered"].sum())
        else:
            pm["sms_offered"], pm["sms_lost_outage"] = c[0], c[2]
            self.counts["sms_offered"] += int(pm["sms_offered"].sum())
            self.counts["sms_lost_outage"] += int(pm["sms_lost_outage"].sum())

    @staticmethod
    def _available_s(t0: float, t1: float, up0: Arr, by_cell: dict[int, list[CellChange]]) -> Arr:
        avail = np.where(up0, t1 - t0, 0.0)
        for c, changes in by_cell.items():
            up, since, total = bool(up0[c]), t0, 0.0
            for ch in changes:
                if up:
                    total += ch.t - since
                up, since = ch.in_service, ch.t
            avail[c] = total + (t1 - since if up else 0.0)
        return avail

    def _write_pm(self, t0: float, t1: float, pm: dict[str, Arr], available: Arr) -> None:
        """The period's counters: into the ``traffic`` table (truth, for reports) and, as
        the element managers upload them, to the OSS."""
        n = len(self.cell_ids)
        # demand over the cell's data capacity; above 1 every user gets a share of it — and
        # no more than the transport path to the core carries (a detour onto a smaller path)
        utilisation = pm["data_mb"] * 8.0 / (t1 - t0) / self.data_capacity
        factor = 1.0 / np.maximum(utilisation, 1.0)
        if self.transport is not None:
            link_util, bottleneck = self.transport.load(t0, t1, pm["data_mb"])
            factor = np.minimum(factor, bottleneck)
        self.pm.extend({"period_start": np.full(n, t0), "cell": self._cell_column,
                        **pm, "available_s": available, "data_utilisation": utilisation,
                        "throughput_factor": factor})
        # attempts online charging refused are the subscriber's failures, not the network's:
        # left out of the attempts the KPIs (call setup success, drop rate) are taken over
        attempted = pm["calls_offered"] - pm["calls_denied"]
        answered = attempted - pm["calls_blocked"] - pm["calls_lost_outage"]
        counters = {
            "calls_attempted": attempted, "calls_blocked": pm["calls_blocked"],
            "calls_dropped": pm["calls_dropped"], "calls_failed": pm["calls_lost_outage"],
            "traffic_erlang": pm["carried_erlang"], "sms_attempted": pm["sms_offered"],
            "sessions_attempted": pm["sessions_offered"], "data_mb": pm["data_mb"],
            "available_s": available, "data_utilisation": utilisation,
            "throughput_factor": factor,
            "drop_rate": pm["calls_dropped"] / np.maximum(answered, 1),
        }
        self.publish(PmReport(t0, t1 - t0, "cell", self.cell_tuple, counters))
        if self.transport is not None:
            before = set(self.state.congested)
            self.publish(self.transport.period(t0, t1, link_util))
            if self.state.congested != before and self.on_congestion is not None:
                self.on_congestion()
