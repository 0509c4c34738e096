"""Columnar record buffers flushed to Parquet in chunks.

A component appends rows (or whole column batches) to a named buffer; when the buffer holds
``chunk_rows`` rows it is written as one Parquet row group and emptied, so memory stays
bounded however long the run. Each table has a fixed pyarrow schema declared up front.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def labels(codes: np.ndarray, names: Sequence[str]) -> pa.Array:
    """A string column built from integer codes into ``names`` — far faster than
    converting an array of Python strings."""
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), pa.array(list(names), pa.string()))
    return dictionary.dictionary_decode()


class RecordBuffer:
    def __init__(self, name: str, schema: pa.Schema, path: Path,
                 chunk_rows: int = 250_000) -> None:
        self.name = name
        self.schema = schema
        self.path = path
        self.chunk_rows = chunk_rows
        self.rows = 0
        self._cols: dict[str, list[Any]] = {f.name: [] for f in schema}
        self._pending = 0
        self._batches: list[pa.RecordBatch] = []
        self._writer: pq.ParquetWriter | None = None
        self._closed = False

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

    def extend(self, columns: Mapping[str, Sequence[Any] | np.ndarray]) -> None:
        """Append a column batch (for plentiful, vectorised records)."""
        batch = pa.RecordBatch.from_pydict(
            {f.name: columns[f.name] for f in self.schema}, schema=self.schema
        )
        if batch.num_rows == 0:
            return
        self._stage_rows()
        self._batches.append(batch)
        self.rows += batch.num_rows
        if sum(b.num_rows for b in self._batches) >= self.chunk_rows:
            self._flush()

    def _stage_rows(self) -> None:
        if self._pending:
            self._batches.append(pa.RecordBatch.from_pydict(self._cols, schema=self.schema))
            self._cols = {k: [] for k in self._cols}
            self._pending = 0

    def _flush(self) -> None:
        if not self._batches:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="snappy")
        self._writer.write_table(pa.Table.from_batches(self._batches, schema=self.schema))
        self._batches = []

    def close(self) -> None:
        if self._closed:
            return
        self._stage_rows()
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="snappy")
        self._flush()
        self._writer.close()
        self._writer = None
        self._closed = True


class RecordStore:
    """The set of tables a run writes, one Parquet file each under ``directory``."""

    def __init__(self, directory: Path, chunk_rows: int = 250_000) -> None:
        self.directory = directory
        self.chunk_rows = chunk_rows
        self.buffers: dict[str, RecordBuffer] = {}

    def buffer(self, name: str, schema: pa.Schema) -> RecordBuffer:
        if name in self.buffers:
            raise ValueError(f"table {name} declared twice")
        buf = RecordBuffer(name, schema, self.directory / f"{name}.parquet", self.chunk_rows)
        self.buffers[name] = buf
        return buf

    def close(self) -> None:
        for buf in self.buffers.values():
            buf.close()

    def read(self, name: str) -> pa.Table:
        """A closed table, read back from its Parquet file."""
        buf = self.buffers[name]
        if not buf._closed:
            raise RuntimeError(f"table {name} is still open")
        return pq.read_table(buf.path)
