"""Tables the BSS is still writing, readable while the twin runs, in bounded memory.

A run's Parquet files cannot be read before they are closed (the footer comes last), and the
buffers hand each full chunk to the writer and forget it. A :class:`LiveTable` taps one
buffer: each chunk it flushes is also written, on a thread of its own, to a part file in a
spill directory in row groups of :data:`GROUP_ROWS`, and a small summary of each row group is
kept in memory (counts, id ranges — whatever the reader needs to find a page without reading
everything). The rows not flushed yet are read from the buffer itself. A request then reads
only the row groups its page lies in: memory is a few row groups, however long the run.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from twin.kernel.records import RecordBuffer

GROUP_ROWS = 16_384


@dataclass
class _Part:
    path: Path
    table: pa.Table | None  # until its file is written


@dataclass(frozen=True)
class Group:
    """Consecutive rows of a table: ``rows`` rows from row ``row0``, with their summary."""

    row0: int
    rows: int
    summary: Any
    _part: _Part | None
    _index: int  # the row group in the part's file
    _lo: int  # its first row in the part
    _table: pa.Table | None  # rows not flushed yet

    def load(self, columns: list[str], schema: pa.Schema) -> pa.Table:
        if self._table is not None:
            t = self._table
        else:
            assert self._part is not None
            held = self._part.table
            if held is not None:
                t = held.slice(self._lo, self.rows)
            else:
                return _logical(pq.ParquetFile(self._part.path).read_row_group(
                    self._index, columns=columns), schema)
        return _logical(t.select(columns), schema)


def _logical(t: pa.Table, schema: pa.Schema) -> pa.Table:
    """``t`` with the buffer's declared types (its strings dictionary-encoded in memory)."""
    return t.cast(pa.schema([schema.field(n) for n in t.column_names]))


def _slices(t: pa.Table, size: int) -> Iterator[tuple[int, pa.Table]]:
    for lo in range(0, t.num_rows, size):
        yield lo, t.slice(lo, size)


class LiveTable:
    """One buffer's rows so far, as :class:`Group` s; ``summarise`` turns a row group (with
    the declared types) into what the reader keeps of it."""

    def __init__(self, buf: RecordBuffer, spill: Path,
                 summarise: Callable[[pa.Table], Any], pool: ThreadPoolExecutor,
                 group_rows: int = GROUP_ROWS) -> None:
        self.buf = buf
        self.group_rows = group_rows
        self.schema = buf.schema
        self.spill = spill
        self.summarise = summarise
        self.pool = pool
        self._groups: list[Group] = []
        self._rows = 0  # rows in _groups
        self._parts = itertools.count()
        # the rows not flushed yet, converted batch by batch as they are staged: full row
        # groups, and the batches of the one still filling
        self._flushes, self._seen = buf.flushes, 0
        self._full: list[Group] = []
        self._filling: list[pa.Table] = []
        self._open: Group | None = None
        self._lock = threading.Lock()
        buf.taps.append(self._flushed)

    def _flushed(self, stored: pa.Table) -> None:
        """A chunk the buffer hands to its writer (in the simulation's thread)."""
        part = _Part(self.spill / f"{self.buf.name}-{next(self._parts):05d}.parquet", stored)
        groups = []
        for i, (lo, t) in enumerate(_slices(stored, self.group_rows)):
            groups.append(Group(self._rows, t.num_rows, self.summarise(
                _logical(t, self.schema)), part, i, lo, None))
            self._rows += t.num_rows
        with self._lock:
            self._groups = self._groups + groups

        def write() -> None:
            pq.write_table(stored, part.path, row_group_size=self.group_rows,
                           compression="snappy")
            part.table = None

        self.pool.submit(write)

    def groups(self) -> list[Group]:
        """Every row so far (call with the simulation held still)."""
        with self._lock:
            done = self._groups
        buf = self.buf
        if buf.flushes != self._flushes:  # the staged batches went to a part
            self._flushes, self._seen = buf.flushes, 0
            self._full, self._filling, self._open = [], [], None
        self._seen, batches, rows = buf.unflushed(self._seen)
        if batches:
            self._filling += [_logical(t, self.schema) for t in batches]
            self._open = None
            t = pa.concat_tables(self._filling)
            full = t.num_rows // self.group_rows * self.group_rows
            for _, s in _slices(t.slice(0, full), self.group_rows):
                self._full.append(self._tail_group(s))
            self._filling = [t.slice(full)] if full < t.num_rows else []
        tail = self._filling + ([_logical(rows, self.schema)] if rows is not None else [])
        if rows is not None or (self._open is None and tail):
            self._open = self._tail_group(pa.concat_tables(tail))
        return done + self._full + ([self._open] if self._open is not None and tail else [])

    def _tail_group(self, t: pa.Table) -> Group:
        row0 = self._rows + sum(g.rows for g in self._full)
        return Group(row0, t.num_rows, self.summarise(t), None, 0, 0, t)


def page(groups: list[Group], counts: list[int], offset: int,
         limit: int) -> Iterator[tuple[Group, int, int]]:
    """The groups a page of the selected rows falls in, with the first and last+1 selected
    row of each within the group (``counts``: selected rows per group)."""
    for g, n in zip(groups, counts, strict=True):
        if limit <= 0:
            return
        if offset >= n:
            offset -= n
            continue
        take = min(n - offset, limit)
        yield g, offset, offset + take
        offset, limit = 0, limit - take
