"""Offered traffic: the attempts each interval brings, drawn from the traffic streams alone.

Every interval the demand gives each cell its expected voice calls, data sessions and messages
(the day's profile, weekends and holidays, crowd events); the attempts are Poisson counts per
cell, uniform instants, the line making each (uniform or in proportion to its weight),
holding times and volumes, ordered by cell and start. Nothing the network does changes what
is drawn (common random numbers): which lines are in service, and every outcome, is decided
afterwards by the traffic engine.

Since the draws depend on nothing else, a large run has them made ahead, one interval after
another, by a process of its own (:class:`DrawAhead`) on the second core while the engine
resolves the interval before: it takes the streams as they are at the start and is the only
one to draw from them, so what arrives is what drawing in the engine would give.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from twin.kernel.calendar import Calendar
from twin.kernel.compiled import float64s, kernel
from twin.messages import DATA, SMS, VOICE
from twin.scenario.schema import DemandEvent, HoldingSpec, TrafficSpec, VolumeSpec

Arr = npt.NDArray[Any]
MB = 1_000_000

# From about this many expected attempts in a run, they are drawn ahead by a process of their
# own; below, starting it (about a second, beside the run's own start) is not worth it.
AHEAD_FROM_ATTEMPTS = 2_000_000
AHEAD = 16  # intervals drawn ahead at most (a metro interval: about half a megabyte)
# what the process sends for each interval: its span, the streams' states before it, the
# packed draws of each kind
Frame = tuple[tuple[float, float], list[Any], list[tuple[Arr | None, ...]]]


class Drawn(NamedTuple):
    """An interval's offered attempts of one kind as drawn, by (cell, start): the end each
    wants (start + holding time) and its volume."""

    cell: Arr
    sub: Arr
    start: Arr
    end: Arr
    volume: Arr

    def packed(self, n_cells: int) -> tuple[Arr | None, ...]:
        """The same, smaller (to pass between processes): counts per cell for the cells in
        order, lines as 32-bit numbers, no ends for instants, no volumes for calls."""
        sub = self.sub.astype(np.int32) if self.sub.size and self.sub.max() < 2**31 else self.sub
        return (np.bincount(self.cell, minlength=n_cells).astype(np.int32), sub, self.start,
                self.end if np.any(self.end != self.start) else None,
                self.volume if self.volume.any() else None)

    @classmethod
    def unpacked(cls, packed: tuple[Arr | None, ...]) -> Drawn:
        counts, sub, start, end, volume = packed
        assert counts is not None and sub is not None and start is not None
        return cls(np.repeat(np.arange(counts.size, dtype=np.int32), counts),
                   sub.astype(np.int64), start, start.copy() if end is None else end,
                   np.zeros(start.size) if volume is None else volume)


def draw_holding(rng: np.random.Generator, spec: HoldingSpec, n: int) -> Arr:
    if spec.dist == "exponential":
        return rng.exponential(spec.mean_s, n)
    if spec.dist == "deterministic":
        return np.full(n, spec.mean_s)
    if spec.dist == "loglogistic":  # de Melo et al. 2010: fits measured call durations
        b = spec.shape
        scale = spec.mean_s * float(np.sin(np.pi / b)) / (np.pi / b)  # mean: scale·(π/b)/sin
        u = rng.random(n)
        out: Arr = scale * (u / (1.0 - u)) ** (1.0 / b)
        return out
    mu = np.log(spec.mean_s) - spec.sigma**2 / 2
    return rng.lognormal(mu, spec.sigma, n)


def draw_volume(rng: np.random.Generator, spec: VolumeSpec, n: int) -> Arr:
    if spec.dist == "exponential":
        mb = rng.exponential(spec.mean, n)
    else:
        mb = rng.lognormal(np.log(spec.mean) - spec.sigma**2 / 2, spec.sigma, n)
    return np.floor(mb * MB)


def _insert_rows(start: Arr, order: Arr, lo: int, hi: int) -> None:
    """``order[lo:hi]`` sorted by ``start`` in place, ties kept in order (insertion)."""
    for i in range(lo + 1, hi):
        v = order[i]
        x = start[v]
        j = i - 1
        while j >= lo and start[order[j]] > x:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = v


_insert = kernel(_insert_rows, inline=True)
_RUN = 32  # rows a cell's insertion sort takes at most; longer runs are merged


def _order_rows(cell: Arr, start: Arr, order: Arr, scratch: Arr) -> None:
    """``order``: the rows by (cell, start), ties in row order, for ``cell`` ascending — each
    cell's rows sorted alone: by insertion, in runs merged pairwise (stably) for a cell with
    many (``scratch``: as long as ``order``)."""
    n = cell.size
    for i in range(n):
        order[i] = i
    lo = 0
    while lo < n:
        hi = lo + 1
        while hi < n and cell[hi] == cell[lo]:
            hi += 1
        for a in range(lo, hi, _RUN):
            _insert(start, order, a, min(a + _RUN, hi))
        width = _RUN
        while width < hi - lo:
            for a in range(lo, hi, 2 * width):
                m, b = min(a + width, hi), min(a + 2 * width, hi)
                i, j, k = a, m, a
                while i < m and j < b:
                    if start[order[j]] < start[order[i]]:
                        scratch[k] = order[j]
                        j += 1
                    else:  # the left run's first on a tie: stable
                        scratch[k] = order[i]
                        i += 1
                    k += 1
                while i < m:
                    scratch[k] = order[i]
                    i += 1
                    k += 1
                while j < b:
                    scratch[k] = order[j]
                    j += 1
                    k += 1
                for k in range(a, b):
                    order[k] = scratch[k]
            width *= 2
        lo = hi


_order = kernel(_order_rows)


def by_cell_then_time(cell: Arr, start: Arr) -> Arr:
    """The order of attempts by (cell, start), ties in their order — ``np.lexsort((start,
    cell))`` for ``cell`` already ascending (as drawn): a sort of each cell's rows alone."""
    order: Arr = np.empty(cell.size, dtype=np.int64)
    _order(cell, float64s(start), order, np.empty(cell.size, dtype=np.int64))
    return order


def _pick_by_weight(cell: Arr, u: Arr, first: Arr, subs_on: Arr, demand_on: Arr,
                   weight_cum: Arr, guide: Arr, sub_by_cell: Arr, out: Arr) -> None:
    """For each attempt, the line whose share of its cell's cumulative weight holds ``u``:
    the first of the cell's lines whose cumulative weight passes it (what searching the
    whole cumulative array and clipping to the cell gives). The search starts at the
    ``guide`` (:func:`pick_guide`) of the k-th of the cell's slices ``u`` falls in and walks
    from there — a step or two, where a binary search takes a dozen; the guide is only where
    to start, so the line is the same whatever it says."""
    for i in range(cell.size):
        c = cell[i]
        lo = first[c]
        k = subs_on[c]
        last = lo + k - 1
        x = (weight_cum[lo - 1] if lo > 0 else 0.0) + u[i] * demand_on[c]
        j = last  # a cell without lines gets no attempt
        if k > 0:
            j = guide[lo + min(np.int64(u[i] * k), k - 1)]
            while j > lo and weight_cum[j - 1] > x:
                j -= 1
            while j < last and weight_cum[j] <= x:
                j += 1
        out[i] = sub_by_cell[j]


def pick_guide(first: Arr, subs_on: Arr, demand_on: Arr, weight_cum: Arr) -> Arr:
    """Where :func:`_pick_by_weight` starts for each of a cell's k slices of ``u`` (k: its
    lines): the line the slice's lower edge falls on."""
    cells = np.repeat(np.arange(subs_on.size), subs_on)
    f, k = first[cells], subs_on[cells]
    edge = (np.arange(cells.size) - f) / k
    below = np.where(f > 0, weight_cum[np.maximum(f - 1, 0)], 0.0)
    pos = np.searchsorted(weight_cum, below + edge * demand_on[cells], side="right")
    out: Arr = np.clip(pos, f, f + k - 1).astype(np.int64)
    return out


pick_weighted = kernel(_pick_by_weight)


@dataclass
class Offered:
    """The demand of every cell and the streams its attempts are drawn from (``rng``: voice,
    data, messages). ``sub_cell``: each line's cell; ``weight``: each line's demand weight
    (None: every line alike)."""

    spec: TrafficSpec
    calendar: Calendar
    sub_cell: Arr
    n_cells: int
    weight: Arr | None
    events: list[tuple[DemandEvent, Arr]]
    rng: list[np.random.Generator]
    subs_on: Arr = field(init=False)
    sub_by_cell: Arr = field(init=False)
    sub_offset: Arr = field(init=False)
    demand_on: Arr = field(init=False)
    weight_cum: Arr = field(init=False)
    guide: Arr = field(init=False)

    def __post_init__(self) -> None:
        self.subs_on = np.bincount(self.sub_cell, minlength=self.n_cells)
        self.sub_by_cell = np.argsort(self.sub_cell, kind="stable")
        self.sub_offset = np.concatenate([[0], np.cumsum(self.subs_on)[:-1]])
        # attempts pick a line in proportion to its weight, through the weights' running sum
        # in cell order
        weight = self.weight if self.weight is not None else np.ones(self.sub_cell.size)
        self.demand_on = np.bincount(self.sub_cell, weights=weight, minlength=self.n_cells)
        self.weight_cum = np.cumsum(weight[self.sub_by_cell])
        self.guide = pick_guide(self.sub_offset, self.subs_on, self.demand_on, self.weight_cum)

    def expected(self, horizon: float) -> float:
        """Attempts a run of ``horizon`` seconds brings, about."""
        s = self.spec
        per_day = s.voice.calls_per_sub_day + s.data.sessions_per_sub_day + s.sms.per_sub_day
        return float(self.demand_on.sum()) * per_day * horizon / 86_400.0

    def share(self, t: float) -> float:
        """Share of a day's traffic per hour at ``t``, times the day's volume factor."""
        if self.spec.profile == "flat":
            return 1.0 / 24.0
        when = self.calendar.at(t)
        if when.weekday() >= 5 or when.date() in self.spec.holidays:
            shares, factor = self.spec.weekend_shares, self.spec.weekend_factor
        else:
            shares, factor = self.spec.hourly_shares, 1.0
        return factor * shares[when.hour] / sum(shares)

    def event_factor(self, t: float) -> Arr | None:
        """Demand multiplier per cell from crowd events running at ``t``."""
        out: Arr | None = None
        for ev, cells in self.events:
            if ev.at <= t < ev.at + ev.duration:
                if out is None:
                    out = np.ones(self.n_cells)
                out[cells] *= ev.factor
        return out

    def rates(self, t0: float, t1: float) -> list[Arr]:
        """Expected attempts per cell in [t0, t1): voice, data, messages."""
        mid = 0.5 * (t0 + t1)
        share = self.share(mid)
        crowd = self.event_factor(mid)
        out = []
        for per_day in (self.spec.voice.calls_per_sub_day, self.spec.data.sessions_per_sub_day,
                        self.spec.sms.per_sub_day):
            rate = self.demand_on * per_day * share / 3600.0 * (t1 - t0)
            out.append(rate if crowd is None else rate * crowd)
        return out

    def pick(self, cell: Arr, u: Arr) -> Arr:
        """The line making each attempt: uniform over the cell's lines, or in proportion to
        their weights."""
        if self.weight is None:
            pick = np.floor(u * self.subs_on[cell]).astype(np.int64)
            out: Arr = self.sub_by_cell[self.sub_offset[cell] + pick]
            return out
        out = np.empty(cell.size, dtype=self.sub_by_cell.dtype)
        pick_weighted(cell, u, self.sub_offset, self.subs_on, self.demand_on, self.weight_cum,
                      self.guide, self.sub_by_cell, out)
        return out

    def draw(self, kind: int, rate: Arr, t0: float, t1: float) -> Drawn:
        """Attempts of ``kind`` in [t0, t1) at ``rate`` per cell, from its stream alone."""
        rng = self.rng[kind]
        counts = rng.poisson(rate)
        n = int(counts.sum())
        cell = np.repeat(np.arange(counts.size, dtype=np.int32), counts)
        start = t0 + rng.random(n) * (t1 - t0)
        sub = self.pick(cell, rng.random(n))
        if kind == VOICE:
            hold = draw_holding(rng, self.spec.voice.holding, n)
            volume = np.zeros(n)
        elif kind == SMS:  # a message: an instant, no volume
            hold = np.zeros(n)
            volume = np.zeros(n)
        else:
            hold = draw_holding(rng, self.spec.data.duration, n)
            volume = draw_volume(rng, self.spec.data.mb_per_session, n)
        # a stable order: attempts the engine takes out afterwards (lines out of service)
        # leave the others in the order sorting only theirs would give
        order = by_cell_then_time(cell, start)
        start = start[order]
        return Drawn(cell[order], sub[order], start, start + hold[order], volume[order])

    def draw_all(self, t0: float, t1: float) -> list[Drawn]:
        """The interval's attempts of every kind."""
        return [self.draw(kind, rate, t0, t1)
                for kind, rate in zip((VOICE, DATA, SMS), self.rates(t0, t1), strict=True)]


def intervals(interval: float, horizon: float) -> Iterator[tuple[float, float]]:
    """The intervals a run steps through: whole ones from 0, then the part left to the
    horizon (as :class:`twin.network.traffic.TrafficEngine` steps)."""
    t = 0.0
    while t + interval <= horizon:
        yield t, t + interval
        t = t + interval
    if t < horizon:
        yield t, horizon


class DrawAhead:
    """Each interval's attempts, drawn ahead by a child process from a copy of ``offered``
    (streams included), in the order :func:`intervals` gives.

    Until the process has caught up (it starts in about a second), the intervals are drawn
    here, from ``offered``'s own streams, and the process's copies of them passed over. Asked
    for another interval than the next one drawn (a live run stopped mid-interval), it stops
    the process, puts ``offered``'s streams where the process had them before that interval
    and draws here from then on."""

    def __init__(self, offered: Offered, interval: float, horizon: float) -> None:
        self.offered = offered
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the process)
        self.caught_up = False  # a frame of the process used: its streams are the ones now
        # the twin this process runs, wherever it was imported from (-P: not one that the
        # working directory happens to hold)
        paths = [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        with tempfile.TemporaryFile() as given:  # read as the process starts: no waiting
            pickle.dump((offered, interval, horizon), given, protocol=5)
            given.seek(0)
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [sys.executable, "-P", "-c", "from twin.network.offered import serve; serve()"],
                stdin=given, stdout=subprocess.PIPE, stderr=self.errors, env=env,
                bufsize=0)  # unbuffered: each frame is read whole into memory of its own
        assert self.proc.stdout is not None
        _widen(self.proc.stdout)
        # frames are read and unpacked on a thread of their own (the pipe's reads let the
        # lock go), a couple ahead, so the run's thread only takes them
        self._frames: queue.Queue[Ahead | BaseException] = queue.Queue(maxsize=2)
        done = threading.Event()
        reader = threading.Thread(target=_receive, args=(self.proc.stdout, self._frames, done),
                                  name="traffic-frames", daemon=True)
        reader.start()
        self._stop = weakref.finalize(self, _stop, self.proc, self.errors, done, reader)

    def take(self, t0: float, t1: float) -> list[Drawn]:
        while self.proc is not None and (self.caught_up or self._ready()):
            span, states, drawn = self._frame()
            if not self.caught_up and span[1] <= t0:
                continue  # drawn here already
            self.caught_up = True
            if span == (t0, t1):
                return drawn
            self.close()
            for rng, state in zip(self.offered.rng, states, strict=True):
                rng.bit_generator.state = state
        return self.offered.draw_all(t0, t1)

    def _ready(self) -> bool:
        """Whether a frame of the process is out: received, or about to be (the process
        has ended: the reader is putting in its last frames, or its end)."""
        assert self.proc is not None
        return not self._frames.empty() or self.proc.poll() is not None

    def _frame(self) -> Ahead:
        assert self.proc is not None
        item = self._frames.get()
        if isinstance(item, (EOFError, pickle.UnpicklingError, ValueError)):
            proc = self.proc
            proc.kill()
            proc.wait()
            self.errors.seek(0)
            err = self.errors.read().decode(errors="replace")
            self.close()
            raise RuntimeError("traffic: the process drawing attempts ahead stopped: "
                               + (err.strip().splitlines() or [repr(item)])[-1]) from item
        if isinstance(item, BaseException):
            self.close()
            raise item
        return item

    def close(self) -> None:
        self._stop()
        self.proc = None


# a frame as the run takes it: its span, the streams' states before it, the draws
Ahead = tuple[tuple[float, float], list[Any], list[Drawn]]


def _receive(out: IO[bytes], frames: queue.Queue[Ahead | BaseException],
             done: threading.Event) -> None:
    """Read the process's frames from ``out`` into ``frames``, unpacked, until it ends (its
    end, or a damaged frame, is put in as the exception) or ``done`` is set."""
    while not done.is_set():
        item: Ahead | BaseException
        try:
            span, states, drawn = _unpacked_frame(
                _read(out, int.from_bytes(_read(out, 8), "little")))
            item = (span, states, [Drawn.unpacked(d) for d in drawn])
        except BaseException as e:  # handed to the run's thread
            item = e
        while not done.is_set():
            try:
                frames.put(item, timeout=0.1)
                break
            except queue.Full:
                continue
        if isinstance(item, BaseException):
            return


def _read(pipe: IO[bytes], n: int) -> memoryview:
    """``n`` bytes, read whole: the lock is let go once per read, not once per array (each
    time the Parquet writer's thread may take it and keep it a while). Into memory not
    cleared first (it is all written)."""
    data = np.empty(n, dtype=np.uint8).data
    got = 0
    while got < n:
        k = pipe.readinto(data[got:])  # type: ignore[attr-defined]
        if not k:
            raise EOFError
        got += k
    return data


_ALIGN = 64  # each part of a frame starts at a multiple of this (arrays read in place)
_IOV_MAX = 1024  # pieces one gathered write takes (POSIX's least IOV_MAX)


def _aligned(n: int) -> int:
    return -(-n // _ALIGN) * _ALIGN


def _frame_pieces(frame: Frame) -> list[bytes | memoryview]:
    """A frame as the pieces of one message: the pickle of everything but the arrays'
    data, then each array's data (pickle's out-of-band buffers, not copied), each part
    aligned, after a table of their lengths. Read with :func:`_unpacked_frame`, the arrays
    are views of the message: no copy is made of them there either."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(frame, protocol=5, buffer_callback=buffers.append)
    parts = [memoryview(head), *(b.raw() for b in buffers)]
    table = np.array([len(parts), *(p.nbytes for p in parts)], dtype="<i8").tobytes()
    out: list[bytes | memoryview] = []
    at = 0
    for part in [memoryview(table), *parts]:
        out.append(part)
        at += part.nbytes
        if _aligned(at) > at:
            out.append(bytes(_aligned(at) - at))
            at = _aligned(at)
    return out


def _unpacked_frame(data: memoryview) -> Frame:
    """The frame of a message of :func:`_frame_pieces` (its arrays are views of ``data``)."""
    count = int.from_bytes(data[:8], "little")
    if not 0 < count < len(data) // 8:  # the table itself fits
        raise ValueError(f"a frame of {count} parts")
    lengths = np.frombuffer(data[8:8 * (count + 1)], dtype="<i8")
    parts, at = [], _aligned(8 * (count + 1))
    for n in lengths.tolist():
        if n < 0 or at + n > len(data):
            raise ValueError("a frame part past its end")
        parts.append(data[at:at + n])
        at = _aligned(at + n)
    return cast(Frame, pickle.loads(parts[0], buffers=parts[1:]))


def _widen(pipe: IO[bytes]) -> None:
    """A larger pipe (Linux; elsewhere it stays as it is): a frame or two fit in it whole."""
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)


def _stop(proc: subprocess.Popen[bytes], errors: IO[bytes], done: threading.Event,
          reader: threading.Thread) -> None:
    done.set()
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    # the process is gone, so its pipe ends: the reader sees that, or done, and stops
    # before the pipe is closed under it
    if reader is not threading.current_thread():
        reader.join()
    if proc.stdout is not None:
        proc.stdout.close()
    errors.close()


def serve() -> None:
    """The drawing process: an :class:`Offered`, the interval and the horizon on stdin; on
    stdout, for every interval, its span, the streams' states before it and its draws.
    Up to :data:`AHEAD` intervals wait to be sent, so a while without a core does not make
    the run wait."""
    offered, interval, horizon = pickle.load(sys.stdin.buffer)
    with contextlib.suppress(OSError):  # the run waits on its own process, not on this one
        os.nice(10)
    # frames go out on a descriptor of their own and stdout becomes stderr: nothing printed
    # here (a library's warning) can land inside a frame
    out = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    frames: queue.Queue[list[bytes | memoryview] | None] = queue.Queue(maxsize=AHEAD)
    sender = threading.Thread(target=_send, args=(frames, out), daemon=True)
    sender.start()
    for t0, t1 in intervals(interval, horizon):
        states = [rng.bit_generator.state for rng in offered.rng]
        drawn = [d.packed(offered.n_cells) for d in offered.draw_all(t0, t1)]
        frames.put(_frame_pieces(((t0, t1), states, drawn)))
    frames.put(None)
    sender.join()


def _send(frames: queue.Queue[list[bytes | memoryview] | None], out: int) -> None:
    try:
        while (pieces := frames.get()) is not None:
            size = sum(memoryview(p).nbytes for p in pieces)
            _write_all(out, [size.to_bytes(8, "little"), *pieces])
    except BrokenPipeError:  # the run ended first: so does this process
        os._exit(0)


def _write_all(fd: int, pieces: list[bytes | memoryview]) -> None:
    """All of ``pieces``, in order, however many writes it takes (gathered: the pieces are
    not joined first). A write to a pipe that a debugger or a profiler stops (ptrace)
    returns having written part of it; through Python's buffered writer frames came out
    short under py-spy, and the run read the next one's bytes as theirs."""
    views = [memoryview(p).cast("B") for p in pieces]
    while views:
        done = (os.writev(fd, views[:_IOV_MAX]) if hasattr(os, "writev")
                else os.write(fd, views[0]))
        while views and done >= views[0].nbytes:
            done -= views[0].nbytes
            views.pop(0)
        if done:
            views[0] = views[0][done:]
