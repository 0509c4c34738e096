"""Offered traffic drawn ahead by a child process: the same attempts as drawn in the run's own
process, whatever the process does (catches up late, is asked for an interval it did not
draw, dies)."""

from __future__ import annotations

import pickle
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import twin
from twin.kernel.calendar import Calendar
from twin.network import offered, traffic
from twin.network.offered import DrawAhead, Drawn, Offered, intervals
from twin.scenario.schema import DemandEvent, TrafficSpec

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 900.0
HORIZON = 12 * INTERVAL + 300.0  # twelve whole intervals and a part


def make_offered(weighted: bool = True, cls: type[Offered] = Offered) -> Offered:
    rng = np.random.default_rng(7)
    n_cells, n_subs = 40, 3000
    spec = TrafficSpec.model_validate({
        "voice": {"calls_per_sub_day": 30}, "data": {"sessions_per_sub_day": 60},
        "sms": {"per_sub_day": 8}, "holidays": ["2026-01-02"]})
    event = DemandEvent(at=1800.0, duration=3600.0, site="s", factor=3.0)
    return cls(spec, Calendar(datetime(2026, 1, 1)),
                   rng.integers(0, n_cells - 2, n_subs), n_cells,  # two cells without lines
                   rng.uniform(0.5, 2.0, n_subs) if weighted else None,
                   [(event, np.array([3, 4]))],
                   [np.random.default_rng(s) for s in (11, 12, 13)])


def wait_ready(ahead: DrawAhead) -> None:
    """Until the process has its first frame out (it takes about a second to start)."""
    deadline = time.monotonic() + 60
    while not ahead._ready():
        assert time.monotonic() < deadline, "the drawing process sent nothing in a minute"
        time.sleep(0.02)


def same(a: list[Drawn], b: list[Drawn]) -> None:
    assert len(a) == len(b) == 3
    for x, y in zip(a, b, strict=True):
        for f in Drawn._fields:
            u, v = getattr(x, f), getattr(y, f)
            assert u.dtype == v.dtype, f
            np.testing.assert_array_equal(u, v, err_msg=f)


@pytest.mark.parametrize("weighted", [True, False])
def test_drawn_ahead_is_drawn_here(weighted: bool) -> None:
    here, there = make_offered(weighted), make_offered(weighted)
    ahead = DrawAhead(there, INTERVAL, HORIZON)
    wait_ready(ahead)
    spans = list(intervals(INTERVAL, HORIZON))
    assert spans[-1] == (12 * INTERVAL, HORIZON)
    for t0, t1 in spans:
        same(ahead.take(t0, t1), here.draw_all(t0, t1))
    assert ahead.caught_up  # every interval came from the process
    ahead.close()


def test_the_process_runs_this_twin_whatever_the_working_directory_holds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A working directory with another ``twin`` in it (another checkout) is not where
    the drawing process takes its code from."""
    (tmp_path / "twin").mkdir()
    (tmp_path / "twin" / "__init__.py").write_text("raise ImportError('another twin')\n")
    monkeypatch.chdir(tmp_path)
    here, there = make_offered(), make_offered()
    ahead = DrawAhead(there, INTERVAL, HORIZON)
    wait_ready(ahead)
    same(ahead.take(0.0, INTERVAL), here.draw_all(0.0, INTERVAL))
    assert ahead.caught_up
    ahead.close()


def test_the_process_catching_up_late_changes_nothing() -> None:
    """Intervals drawn here while the process starts; then its copies of them are passed
    over and its draws used."""
    here, there = make_offered(), make_offered()
    ahead = DrawAhead(there, INTERVAL, HORIZON)
    spans = list(intervals(INTERVAL, HORIZON))
    for t0, t1 in spans[:4]:
        same(ahead.take(t0, t1), here.draw_all(t0, t1))
    wait_ready(ahead)
    time.sleep(0.5)  # it draws on: the next frame out is an interval drawn here already
    for t0, t1 in spans[4:]:
        same(ahead.take(t0, t1), here.draw_all(t0, t1))
    assert ahead.caught_up
    proc = ahead.proc
    ahead.close()
    assert proc is not None and proc.poll() is not None  # no process left behind


def test_a_run_stopped_mid_interval_draws_the_part_here() -> None:
    """A live run stopped early asks for part of an interval: the streams go back to where
    the process had them and that part, and any after it, is drawn here."""
    here, there = make_offered(), make_offered()
    ahead = DrawAhead(there, INTERVAL, HORIZON)
    wait_ready(ahead)
    for t0, t1 in [(0.0, INTERVAL), (INTERVAL, 2 * INTERVAL)]:
        same(ahead.take(t0, t1), here.draw_all(t0, t1))
    part = (2 * INTERVAL, 2 * INTERVAL + 120.0)
    same(ahead.take(*part), here.draw_all(*part))
    assert ahead.proc is None
    same(ahead.take(part[1], part[1] + 60.0), here.draw_all(part[1], part[1] + 60.0))


def test_frames_are_received_on_a_thread_that_ends_with_the_process() -> None:
    """The process's frames are read and unpacked ahead, on a thread of the run's process,
    without the run asking for them; closing stops that thread too."""
    import threading

    before = set(threading.enumerate())
    ahead = DrawAhead(make_offered(), INTERVAL, HORIZON)
    readers = [t for t in set(threading.enumerate()) - before if t.name == "traffic-frames"]
    assert len(readers) == 1
    deadline = time.monotonic() + 60
    while not ahead._frames.full():  # frames waiting, none taken
        assert time.monotonic() < deadline, "no frames received in a minute"
        time.sleep(0.02)
    ahead.close()
    assert not readers[0].is_alive()


def test_a_process_that_dies_is_a_clear_error() -> None:
    ahead = DrawAhead(make_offered(), INTERVAL, HORIZON)
    assert ahead.proc is not None
    ahead.proc.kill()
    ahead.proc.wait()
    with pytest.raises(RuntimeError, match="process drawing attempts ahead stopped"):
        ahead.take(0.0, INTERVAL)
    assert ahead.proc is None


class Noisy(Offered):
    """Offered whose drawing prints to stdout, as a library in the process might."""

    def draw_all(self, t0: float, t1: float) -> list[Drawn]:
        print("a note on stdout", flush=True)
        return super().draw_all(t0, t1)


def test_what_the_process_prints_is_not_taken_for_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # Noisy, in the process
    here, there = make_offered(), make_offered(cls=Noisy)
    ahead = DrawAhead(there, INTERVAL, HORIZON)
    wait_ready(ahead)
    for t0, t1 in intervals(INTERVAL, HORIZON):
        same(ahead.take(t0, t1), here.draw_all(t0, t1))
    assert ahead.caught_up
    ahead.close()


def test_frames_written_a_piece_at_a_time_arrive_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write to the pipe can return having written part of a frame (a profiler or a
    debugger stopped the process); the rest follows, in order."""
    import os
    import queue
    import threading

    real = os.write
    writes = []

    def short(fd: int, pieces: list[memoryview]) -> int:  # a thousand bytes at most
        writes.append(len(pieces))
        return real(fd, b"".join(bytes(p) for p in pieces)[:1000])

    monkeypatch.setattr(offered.os, "writev", short)
    o = make_offered()
    sent = [((t0, t1), [], [d.packed(o.n_cells) for d in o.draw_all(t0, t1)])
            for t0, t1 in list(intervals(INTERVAL, HORIZON))[:3]]
    frames: queue.Queue[list[bytes | memoryview] | None] = queue.Queue()
    for frame in sent:
        frames.put(offered._frame_pieces(frame))
    frames.put(None)
    r, w = os.pipe()

    def send() -> None:
        try:
            offered._send(frames, w)
        finally:
            os.close(w)

    sender = threading.Thread(target=send)
    sender.start()
    with open(r, "rb", buffering=0) as pipe:
        for span, _, drawn in sent:
            got = offered._unpacked_frame(offered._read(pipe, int.from_bytes(
                offered._read(pipe, 8), "little")))
            assert got[0] == span
            for mine, theirs in zip(got[2], drawn, strict=True):
                for a, b in zip(mine, theirs, strict=True):
                    assert (a is None and b is None) or np.array_equal(a, b)
        assert pipe.read() == b""  # nothing more, nothing left over
    sender.join()
    assert max(writes) > 2  # the pieces were gathered, not joined first


def test_packing_keeps_every_value() -> None:
    o = make_offered()
    for d in o.draw_all(0.0, INTERVAL):
        same([Drawn.unpacked(d.packed(o.n_cells))] * 3, [d] * 3)


def test_a_frame_passes_whole_with_its_arrays_read_in_place() -> None:
    """A frame of the drawing process comes back equal, its arrays views of the message
    (aligned, writable); a message cut short or garbled is an error, not a frame."""
    o = make_offered()
    states = [rng.bit_generator.state for rng in o.rng]
    frame = ((0.0, INTERVAL), states, [d.packed(o.n_cells) for d in o.draw_all(0.0, INTERVAL)])
    data = np.frombuffer(b"".join(offered._frame_pieces(frame)), dtype=np.uint8).copy()
    span, got_states, drawn = offered._unpacked_frame(data.data)
    assert span == (0.0, INTERVAL) and got_states == states
    for mine, theirs in zip(drawn, frame[2], strict=True):
        for a, b in zip(mine, theirs, strict=True):
            if b is None:
                assert a is None
                continue
            assert a.dtype == b.dtype and np.array_equal(a, b)
            if a.size:
                assert np.shares_memory(a, data) and a.flags.writeable
                assert (a.ctypes.data - data.ctypes.data) % 64 == 0
    for bad in (data[: data.size // 2], data[:8], np.zeros(64, np.uint8)):
        with pytest.raises((ValueError, EOFError, pickle.UnpicklingError)):
            offered._unpacked_frame(bad.data)


def tables(run: Path) -> dict[str, Any]:
    return {p.stem: pq.read_table(p) for p in sorted((run / "tables").glob("*.parquet"))}


def test_a_run_with_its_attempts_drawn_ahead_has_the_same_tables(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The quickstart, its attempts drawn here and by the process (waited for, so
    that every interval comes from it): every table identical."""
    scenario = str(ROOT / "scenarios" / "quickstart.yaml")
    overrides: list[str] = []
    monkeypatch.setattr(offered, "AHEAD_FROM_ATTEMPTS", float("inf"))
    twin.simulate(scenario, out=tmp_path / "here", overrides=overrides, report=False)
    used: list[DrawAhead] = []
    start = DrawAhead.__init__

    def waited(self: DrawAhead, *a: Any) -> None:
        start(self, *a)
        wait_ready(self)
        used.append(self)

    monkeypatch.setattr(offered, "AHEAD_FROM_ATTEMPTS", 0)
    monkeypatch.setattr(traffic, "cores", lambda: 2)
    monkeypatch.setattr(DrawAhead, "__init__", waited)
    twin.simulate(scenario, out=tmp_path / "ahead", overrides=overrides, report=False)
    assert len(used) == 1 and used[0].caught_up and used[0].proc is None  # used, then stopped
    a, b = tables(tmp_path / "here"), tables(tmp_path / "ahead")
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].to_pandas().equals(b[name].to_pandas()), name  # NaN where NaN


def test_the_expected_attempts_are_a_weekdays_rates() -> None:
    """What decides whether to start the process: a weekday's rates summed, every kind."""
    o = make_offered()
    o.events = []  # no crowd: the day's profile alone
    day = sum(float(sum(r.sum() for r in o.rates(t0, t1)))
              for t0, t1 in intervals(INTERVAL, 86_400.0))
    assert day == pytest.approx(o.expected(86_400.0), rel=1e-9)
    assert o.expected(2 * 86_400.0) == pytest.approx(2 * day, rel=1e-9)
