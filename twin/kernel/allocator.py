"""The C allocator's thresholds, set once per process for a run's allocation pattern.

A run allocates and frees the same few array sizes over and over: each step's columns, each
flush's 250,000-row chunks (a few MB each). glibc's ``malloc`` serves every block above its
mmap threshold (128 KB at first, then raised to the size of the largest such block freed, so
a block of just that size still goes) with fresh pages from the kernel and gives them back
when freed, so the next such block faults its pages in again; and it returns the top of its
heap to the kernel as soon as a little is free there. On a metro run that is a fifth of the
process's time, spent in the kernel. Blocks up to 32 MB from the heap, and the heap trimmed
only beyond 256 MB free, keep those pages: 10 simulated days of the metro preset took 21.0 s
(4.1 s of it in the kernel) and take 19.2–20.0 s (2.3–2.5 s), for about 60 MB more peak
memory (``python -m tests.benchmarks.phases --metro --days 10``).

Only glibc on Linux, and only where the user has not set the thresholds already
(``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``): anything else is left alone.

Python's cyclic garbage collector is the other allocator-side cost: it runs a young
collection every 700 container objects allocated, and a run allocates many short-lived ones
(each step's dicts, tuples and batches, freed by their reference counts, not by it) while
holding a long-lived scenario, topology and subscriber base that every older collection walks
again. :func:`fewer_collections` raises the first threshold for the duration of a run: a metro
month spent 0.36 s in collections and spends 0.04 s.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import sys
import threading
from collections.abc import Iterator, Mapping

YOUNG = 10_000  # container allocations between young collections during a run (Python: 700)
M_TRIM_THRESHOLD = -1  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
SETTINGS = {M_MMAP_THRESHOLD: 32 << 20, M_TRIM_THRESHOLD: 256 << 20}
ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")

_done: dict[int, int] | None = None


def _glibc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        version = libc.gnu_get_libc_version  # glibc's own: absent from musl
    except (OSError, AttributeError):
        return None
    version.restype = ctypes.c_char_p
    return libc


def tune(environ: Mapping[str, str] | None = None) -> dict[int, int]:
    """Set the thresholds (once per process); what was set, by ``mallopt`` parameter —
    empty where nothing was (not glibc, or set by the user's environment)."""
    global _done
    if _done is not None:
        return _done
    env = os.environ if environ is None else environ
    libc = None if any(k in env for k in ENV) else _glibc()
    done: dict[int, int] = {}
    if libc is not None:
        for param, value in SETTINGS.items():
            if libc.mallopt(ctypes.c_int(param), ctypes.c_int(value)) == 1:
                done[param] = value
    _done = done
    return done


_collections_lock = threading.Lock()
_collections_users = 0
_collections_before: tuple[int, ...] = ()


@contextlib.contextmanager
def fewer_collections(young: int = YOUNG) -> Iterator[None]:
    """The garbage collector's first threshold at least ``young`` inside the block, as it
    was before the first of any overlapping blocks (runs on several threads) once the last
    ends; the older generations' thresholds are left alone."""
    global _collections_users, _collections_before
    with _collections_lock:
        if _collections_users == 0:
            _collections_before = gc.get_threshold()
        _collections_users += 1
        now = gc.get_threshold()
        gc.set_threshold(max(young, now[0]), *now[1:])
    try:
        yield
    finally:
        with _collections_lock:
            _collections_users -= 1
            if _collections_users == 0:
                gc.set_threshold(*_collections_before)
