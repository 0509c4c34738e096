"""Where a run's time goes, by layer: a small sampling profiler.

    python -m tests.benchmarks.phases                 # quickstart, report=False
    python -m tests.benchmarks.phases --report        # ... with the report
    python -m tests.benchmarks.phases --large         # the 100k-subscriber, 30-day network
    python -m tests.benchmarks.phases --metro --days 3  # the metro preset, three days
    python -m tests.benchmarks.phases --national --days 1  # the national preset, one day

A thread samples the main thread's stack every few milliseconds and charges each sample to
a phase: analysis, report or scenario loading when the stack is inside them, else the layer
of the innermost ``twin`` frame — network (traffic and faults), OSS, BSS, the record
buffers (Arrow columns) or Parquet writing. Unlike cProfile it adds almost no overhead,
so the shares hold for the real run. The largest resident memory seen in each phase shows
where the peak is. Below it, the CPU time of each of the run's threads (Linux: read from
``/proc``; the Parquet writer, the summary's rating shares, …) and of its child processes
(the process drawing traffic ahead): how busy the cores were, and with what.
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .run import LARGE, METRO, NATIONAL, QUICKSTART

TWIN = str(Path(__file__).resolve().parents[2] / "twin")


OUTER = ("analysis", "report", "scenario")  # these phases own everything they call


def phase(frame: Any) -> str:
    """The phase of a stack: analysis, report or scenario loading if any frame is in
    them, else the innermost frame inside twin/ (records.py split into Parquet i/o and
    the buffers that build Arrow columns)."""
    parquet = False  # passed through pyarrow's Parquet code on the way out
    found = None
    while frame is not None:
        path: str = frame.f_code.co_filename
        parquet = parquet or "pyarrow/parquet" in path
        if path.startswith(TWIN):
            rel = path[len(TWIN) + 1:]
            layer = rel.split("/")[0].removesuffix(".py")
            if layer in OUTER:
                return layer
            if found is None:
                found = (("parquet i/o" if parquet else "record buffers")
                         if rel == "kernel/records.py" else layer)
        frame = frame.f_back
    return found or "outside twin"


def rss_mb() -> float:
    """Resident memory now (Linux), in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def thread_cpu(seen: dict[int, tuple[str, float]]) -> None:
    """Record in ``seen`` each live thread's name and CPU seconds so far (Linux ``/proc``;
    elsewhere nothing): a thread that ends keeps its last reading."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        name = names.get(int(tid), seen.get(int(tid), ("other", 0.0))[0])
        seen[int(tid)] = (name, (int(fields[11]) + int(fields[12])) / tick)


def by_thread(seen: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds by thread name, numbered pool threads (``usage-chain_0``, ``_1``) together."""
    out: dict[str, float] = collections.defaultdict(float)
    for name, cpu in seen.values():
        out[name.rstrip("0123456789").rstrip("_") or name] += cpu
    return dict(out)


def sample(fn: Any, interval: float = 0.002,
           threads: dict[int, tuple[str, float]] | None = None
           ) -> tuple[dict[str, list[float]], float]:
    """Run ``fn()`` while sampling; ({phase: [samples, max RSS MB]}, wall seconds). Each
    thread's CPU time goes into ``threads`` (see :func:`thread_cpu`) every 100 samples."""
    stats: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    main, done = threading.main_thread().ident, threading.Event()

    def sampler() -> None:
        n = 0
        while not done.wait(interval):
            frame = sys._current_frames().get(main)  # type: ignore[arg-type]
            st = stats[phase(frame)]
            st[0] += 1
            st[1] = max(st[1], rss_mb())
            n += 1
            if threads is not None and n % 100 == 0:
                thread_cpu(threads)

    t = threading.Thread(target=sampler, daemon=True, name="sampler")
    t0 = time.perf_counter()
    t.start()
    try:
        fn()
    finally:
        done.set()
        t.join()
        if threads is not None:
            thread_cpu(threads)
    return stats, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.phases", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--large", action="store_true", help="the large network, not the quickstart")
    p.add_argument("--metro", action="store_true", help="the metro preset (100k subscribers)")
    p.add_argument("--national", action="store_true",
                   help="the national preset (1M subscribers)")
    p.add_argument("--days", type=float, help="simulated days (default: the case's own)")
    p.add_argument("--report", action="store_true", help="include report generation")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="extra scenario overrides")
    args = p.parse_args(argv)
    import tempfile

    import twin

    case = (LARGE if args.large else METRO if args.metro
            else NATIONAL if args.national else ())
    overrides = [*case, *args.set]
    if args.days is not None:
        overrides.append(f"duration={args.days:g}d")
    load0 = os.getloadavg()[0]
    cpu0 = time.process_time()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    threads: dict[int, tuple[str, float]] = {}
    thread_cpu(threads)
    before = by_thread(threads)  # this process's start (imports) is not the run's
    with tempfile.TemporaryDirectory(prefix="twin-phases-") as tmp:
        stats, wall = sample(lambda: twin.simulate(
            QUICKSTART, out=Path(tmp) / "run", overrides=overrides, report=args.report),
            threads=threads)
    cpu = time.process_time() - cpu0
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = sum(n for n, _ in stats.values()) or 1
    print(f"wall {wall:.2f} s, cpu {cpu:.2f} s (all threads), {total:.0f} samples of the main "
          f"thread; load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(f"  {'phase':<16} {'share':>7}  {'time':>8}  {'max RSS':>9}")
    for name, (n, rss) in sorted(stats.items(), key=lambda kv: -kv[1][0]):
        print(f"  {name:<16} {100 * n / total:5.1f} %  {wall * n / total:6.2f} s  "
              f"{rss:6.0f} MB")
    used = {k: v - before.get(k, 0.0) for k, v in by_thread(threads).items()}
    used["child processes"] = ((children1.ru_utime + children1.ru_stime)
                               - (children0.ru_utime + children0.ru_stime))
    used = {k: v for k, v in used.items() if v >= 0.005 and k != "sampler"}
    # /proc read (Linux): the main thread's time at least (a short run's other threads may
    # start and end between two readings, unseen)
    if any(k != "child processes" for k in used):
        print(f"  {'CPU by thread':<22} {'time':>8}  {'cores':>5}")
        for name, v in sorted(used.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<22} {v:6.2f} s  {v / wall:5.2f}")
        print(f"  {'all':<22} {sum(used.values()):6.2f} s  {sum(used.values()) / wall:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
