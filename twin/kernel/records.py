"""Columnar record buffers flushed to Parquet in chunks.

A component appends rows (or whole column batches) to a named buffer; when the buffer holds
``chunk_rows`` rows it is handed to the writer thread as one Parquet row group and emptied,
so memory stays bounded however long the run. Each table has a fixed pyarrow schema declared
up front.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq


@dataclass(frozen=True, eq=False)
class Labels:
    """A string column given as integer codes into ``names``; decoded once per flush,
    which is far faster than building arrays of Python strings."""

    codes: np.ndarray
    names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.codes.size)


def labels(codes: np.ndarray, names: Sequence[str]) -> Labels:
    return Labels(np.asarray(codes, dtype=np.int32), tuple(names))


Column = Sequence[Any] | np.ndarray | Labels
SMALL_BATCH = 2048  # rows: a chunk of batches this small on average is converted in place
JOIN_BELOW = 8192  # rows: batches this small on average are joined into one array, larger
# ones are written as the column's chunks (a copy of each saved, for a little more to encode)
# min/max statistics let readers skip row groups: kept for times, ids and lines; not for
# labels (cell, kind, state), whose string min/max cost a fifth of a usage table's encoding
# and every row group holds most of their values anyway
STATS_COLUMNS = frozenset({
    "t", "start", "end", "period_start", "received", "raised", "created", "bill_run",
    "id", "record_id", "charging_id", "sub", "account",
    "fault_id", "alarm_id", "incident_id", "ticket_id", "invoice_id"})


def required(fields: Sequence[tuple[str, pa.DataType]]) -> pa.Schema:
    """A table's schema in which every column has a value in every row (NaN is a value):
    Parquet then stores the columns as required, without definition levels, which makes a
    large table a fifth cheaper to encode and to read back. A null is refused, with an error
    naming the column."""
    return pa.schema([pa.field(name, type_, nullable=False) for name, type_ in fields])


def _to_arrow(parts: list[Column], type_: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """One column of a chunk. A string column stored as a dictionary (``type_`` is a
    dictionary type) keeps its codes: label codes go to Parquet as they are, never decoded
    into millions of Python strings and encoded again. Large batches of numbers and labels
    become chunks of the column as they are (numbers without a copy); small ones are joined
    into one array first: a few calls per column however many batches it came in, since the
    writer's thread needs the GIL for each call while the simulation holds it."""
    dictionary = pa.types.is_dictionary(type_)
    join = len(parts) > 1 and sum(len(p) for p in parts) < JOIN_BELOW * len(parts)
    if all(isinstance(p, Labels) for p in parts):
        names = parts[0].names  # type: ignore[union-attr]
        if all(p.names == names for p in parts):  # type: ignore[union-attr]
            values = pa.array(list(names), pa.string())  # one dictionary for every chunk
            codes = _pieces([p.codes for p in parts], join)  # type: ignore[union-attr]
            out = pa.chunked_array([pa.DictionaryArray.from_arrays(c, values) for c in codes],
                                   pa.dictionary(pa.int32(), pa.string()))
            return out if dictionary else pc.dictionary_decode(out)
    value_type = type_.value_type if dictionary else type_
    arrays: list[Any] = []
    for p in parts:
        if isinstance(p, Labels):
            arrays.append(np.array(p.names, dtype=object)[p.codes])
        else:
            arrays.append(p)
    if all(isinstance(a, np.ndarray) and a.dtype != object for a in arrays) and not dictionary:
        return pa.chunked_array([pa.array(a, type=value_type) for a in _pieces(arrays, join)],
                                value_type)
    plain = pa.chunked_array([pa.array(a, type=value_type) for a in arrays],
                             type=value_type).combine_chunks()
    return pc.dictionary_encode(plain) if dictionary else plain  # one dictionary a row group


def _pieces(arrays: list[np.ndarray], join: bool) -> list[np.ndarray]:
    """The batches as the column's chunks: as they are, or joined into one."""
    return [np.concatenate(arrays)] if join else arrays


class Writer:
    """Encodes and writes Parquet row groups on a thread of its own, in the order they were
    handed over, so the simulation goes on while pyarrow (which releases the GIL) compresses
    on the other core. At most ``depth`` chunks wait: a simulation that outruns the disk
    waits for it, and memory stays bounded."""

    def __init__(self, depth: int = 3) -> None:
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue(maxsize=depth)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, job: Callable[[], None]) -> None:
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="parquet-writer",
                                            daemon=True)
            self._thread.start()
        self._queue.put(job)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    job()
            except BaseException as e:  # handed to the simulation's thread, never lost
                self._error = e
            finally:
                self._queue.task_done()

    def wait(self) -> None:
        """Until everything handed over is written; a failure of the writer is raised here."""
        if self._thread is not None:
            self._queue.join()
        self._raise()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._raise()

    def _raise(self) -> None:
        # the writer's own exception, so a full disk (OSError ENOSPC) is reported as one
        if self._error is not None:
            raise self._error


def _storage(schema: pa.Schema) -> tuple[pa.Schema, bool]:
    """The schema as stored: string columns dictionary-encoded in memory (they are labels
    mostly), unless the table has a type Parquet cannot round-trip without the Arrow schema
    in the file's metadata (timestamps in seconds). Without that metadata the file reads
    back as ``schema`` exactly, strings as strings."""
    if any(pa.types.is_timestamp(f.type) for f in schema):
        return schema, True
    fields = [f.with_type(pa.dictionary(pa.int32(), pa.string()))
              if pa.types.is_string(f.type) else f for f in schema]
    return pa.schema(fields), False


@dataclass(eq=False)
class _Later:
    """Rows of a table whose columns are computed when they are converted (see
    :meth:`RecordBuffer.extend_later`), once (a live reader may ask before the writer)."""

    table: str
    names: list[str]
    rows: int
    compute: Callable[[], Mapping[str, Column]]
    done: dict[str, Column] | None = None

    def columns(self) -> dict[str, Column]:
        if self.done is None:
            given = self.compute()
            missing = [n for n in self.names if n not in given]
            if missing:
                raise KeyError(f"table {self.table}: computed rows miss {missing}")
            out = {n: given[n] for n in self.names}
            sizes = {len(c) for c in out.values()}
            if sizes != {self.rows}:
                raise ValueError(f"table {self.table}: computed {sorted(sizes)} rows, not "
                                 f"{self.rows}")
            self.done = out
        return self.done


Chunk = dict[str, Column] | _Later


class RecordBuffer:
    def __init__(self, name: str, schema: pa.Schema, path: Path,
                 chunk_rows: int = 250_000, writer: Writer | None = None) -> None:
        self.name = name
        self.schema = schema
        self.path = path
        self.chunk_rows = chunk_rows
        self.rows = 0
        self._names: list[str] = list(schema.names)  # iterating a Schema is slow
        self._stored, self._store_schema = _storage(schema)
        self._cols: dict[str, list[Any]] = {n: [] for n in self._names}
        self._pending = 0  # rows appended one by one, not yet staged as a chunk
        self._chunks: list[Chunk] = []
        self._staged = 0  # rows in _chunks
        self._writer: pq.ParquetWriter | None = None
        self._thread = writer  # None: write in the caller's thread
        self._closed = False
        # called with each chunk handed to the writer (a live reader keeps what it needs)
        self.taps: list[Callable[[pa.Table], None]] = []
        # called with each row group as it is written, in order, on the writer's thread (as
        # stored: strings as dictionaries); what one raises fails the run like a write error
        self.written: list[Callable[[pa.Table], None]] = []
        self.flushes = 0

    def append(self, **row: Any) -> None:
        """Append one row (for rare, discrete-event records)."""
        if row.keys() != self._cols.keys():
            missing = set(self._cols) - set(row)
            extra = set(row) - set(self._cols)
            raise KeyError(f"table {self.name}: missing {sorted(missing)}, unknown {sorted(extra)}")
        for k, v in row.items():
            self._cols[k].append(v)
        self._pending += 1
        self.rows += 1
        if self._pending >= self.chunk_rows:
            self._stage_rows()
            self._flush()

    def extend(self, columns: Mapping[str, Column]) -> None:
        """Append a column batch (for plentiful, vectorised records). Arrays are kept as
        they are, not copied, until their chunk is converted (perhaps later, on the writer's
        thread): do not change them afterwards."""
        chunk = {n: columns[n] for n in self._names}
        sizes = {len(c) for c in chunk.values()}
        if len(sizes) != 1:
            raise ValueError(f"table {self.name}: columns of unequal length {sorted(sizes)}")
        n = sizes.pop()
        if n == 0:
            return
        self._stage_rows()
        self._chunks.append(chunk)
        self._staged += n
        self.rows += n
        if self._staged >= self.chunk_rows:
            self._flush()

    def extend_later(self, rows: int, columns: Callable[[], Mapping[str, Column]]) -> None:
        """Append ``rows`` rows whose columns ``columns()`` computes when their chunk becomes
        a table — on the writer's thread, mostly: work whose only use is this table is done
        beside the simulation. ``columns`` must not depend on what changes after the call."""
        if rows <= 0:
            return
        self._stage_rows()
        self._chunks.append(_Later(self.name, self._names, rows, columns))
        self._staged += rows
        self.rows += rows
        if self._staged >= self.chunk_rows:
            self._flush()

    def _stage_rows(self) -> None:
        if self._pending:
            self._chunks.append(dict(self._cols))
            self._staged += self._pending
            self._cols = {k: [] for k in self._cols}
            self._pending = 0

    def _run(self, job: Callable[[], None]) -> None:
        if self._thread is None:
            job()
        else:
            self._thread.submit(job)

    def _write(self, table: pa.Table | None) -> None:
        """Open the file on first use; write ``table`` as one row group (in the writer's
        thread when there is one)."""
        if self._writer is None:
            # dictionary pages pay off for labels; numbers (ids, counters, amounts, times)
            # compress with their bytes split into streams (the high bytes of neighbours
            # mostly alike): a fifth less to write than delta encoding, and about as small;
            # LZ4 writes them as fast as Snappy and reads them back faster; values go to the
            # encoders 64k at a time, not 1k: the same file content, about 7 % less to encode
            strings = [f.name for f in self.schema if pa.types.is_string(f.type)]
            encodings = {f.name: "BYTE_STREAM_SPLIT" for f in self.schema
                         if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)}
            # statistics only where they pay off (STATS_COLUMNS)
            stats = [f.name for f in self.schema if f.name in STATS_COLUMNS]
            self._writer = pq.ParquetWriter(self.path, self._stored, compression="lz4",
                                            use_dictionary=strings, column_encoding=encodings,
                                            store_schema=self._store_schema,
                                            write_statistics=stats, write_batch_size=1 << 16)
        if table is not None:
            self._writer.write_table(table)
            for hook in self.written:
                hook(table)

    def _finish(self) -> None:
        self._write(None)
        assert self._writer is not None
        self._writer.close()
        self._writer = None

    def _table(self, chunks: list[Chunk]) -> pa.Table:
        cols = [c.columns() if isinstance(c, _Later) else c for c in chunks]
        return pa.Table.from_arrays(
            [_to_arrow([c[f.name] for c in cols], f.type) for f in self._stored],
            schema=self._stored)

    def _flush(self, here: bool = False) -> None:
        if not self._chunks:
            return
        chunks = self._chunks
        rows = self._staged
        self._chunks = []
        self._staged = 0
        self.flushes += 1
        # the writer's thread needs the GIL for each column it converts: it gets it at once
        # while the simulation works on large batches (numpy releases the GIL inside them),
        # but waits for it between the small steps of a run of small batches; those the
        # simulation's thread converts itself. A live reader needs the table now, here.
        if here or self.taps or rows < SMALL_BATCH * len(chunks):
            table = self._table(chunks)
            for tap in self.taps:
                tap(table)
            self._run(lambda: self._write(table))
        else:  # built beside the simulation, in the writer's thread
            self._run(lambda: self._write(self._table(chunks)))

    def unflushed(self, start: int = 0) -> tuple[int, list[pa.Table], pa.Table | None]:
        """The rows appended but not yet handed to the writer (copies; call from the thread
        that appends, or while it is held still): how many batches are staged, the staged
        batches from ``start`` on as tables, and the rows appended one by one since the last
        batch (None if none). ``flushes`` tells when the staged batches started again."""
        tables = [self._table([c]) for c in self._chunks[start:]]
        rows = (self._table([{k: list(v) for k, v in self._cols.items()}])
                if self._pending else None)
        return len(self._chunks), tables, rows

    def close(self) -> None:
        """Write what is left and close the file (its writer thread finishes it)."""
        if self._closed:
            return
        self._stage_rows()
        # at the end every table flushes at once: built here while the writer encodes the
        # one before
        self._flush(here=True)
        self._run(self._finish)
        self._closed = True


class RecordStore:
    """The set of tables a run writes, one Parquet file each under ``directory``, encoded
    and written by one background thread."""

    def __init__(self, directory: Path, chunk_rows: int = 250_000) -> None:
        self.directory = directory
        self.chunk_rows = chunk_rows
        self.buffers: dict[str, RecordBuffer] = {}
        self.writer = Writer()

    def buffer(self, name: str, schema: pa.Schema) -> RecordBuffer:
        if name in self.buffers:
            raise ValueError(f"table {name} declared twice")
        buf = RecordBuffer(name, schema, self.directory / f"{name}.parquet", self.chunk_rows,
                           self.writer)
        self.buffers[name] = buf
        return buf

    def close(self) -> None:
        for buf in self.buffers.values():
            buf.close()
        self.writer.stop()

    def read(self, name: str) -> pa.Table:
        """A closed table, read back from its Parquet file."""
        buf = self.buffers[name]
        if not buf._closed:
            raise RuntimeError(f"table {name} is still open")
        self.writer.wait()
        return pq.read_table(buf.path)
