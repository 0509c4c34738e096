"""Columnar record buffers flushed to Parquet in chunks.

A component appends rows (or whole column batches) to a named buffer; when the buffer holds
``chunk_rows`` rows it is written as one Parquet row group and emptied, so memory stays
bounded however long the run. Each table has a fixed pyarrow schema declared up front.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
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


def _to_arrow(parts: list[Column], type_: pa.DataType) -> pa.Array:
    if all(isinstance(p, Labels) for p in parts):
        names = parts[0].names  # type: ignore[union-attr]
        if all(p.names == names for p in parts):  # type: ignore[union-attr]
            codes = np.concatenate([p.codes for p in parts])  # type: ignore[union-attr]
            return pa.DictionaryArray.from_arrays(
                pa.array(codes), pa.array(list(names), pa.string())).dictionary_decode()
    arrays: list[Any] = []
    for p in parts:
        if isinstance(p, Labels):
            arrays.append(np.array(p.names, dtype=object)[p.codes])
        else:
            arrays.append(p)
    if all(isinstance(a, np.ndarray) and a.dtype != object for a in arrays):
        return pa.array(np.concatenate(arrays), type=type_)
    return pa.chunked_array([pa.array(a, type=type_) for a in arrays],
                            type=type_).combine_chunks()


class RecordBuffer:
    def __init__(self, name: str, schema: pa.Schema, path: Path,
                 chunk_rows: int = 250_000) -> None:
        self.name = name
        self.schema = schema
        self.path = path
        self.chunk_rows = chunk_rows
        self.rows = 0
        self._names: list[str] = list(schema.names)  # iterating a Schema is slow
        self._cols: dict[str, list[Any]] = {n: [] for n in self._names}
        self._pending = 0  # rows appended one by one, not yet staged as a chunk
        self._chunks: list[dict[str, Column]] = []
        self._staged = 0  # rows in _chunks
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

    def extend(self, columns: Mapping[str, Column]) -> None:
        """Append a column batch (for plentiful, vectorised records)."""
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

    def _stage_rows(self) -> None:
        if self._pending:
            self._chunks.append(dict(self._cols))
            self._staged += self._pending
            self._cols = {k: [] for k in self._cols}
            self._pending = 0

    def _open_writer(self) -> pq.ParquetWriter:
        if self._writer is None:
            # dictionary pages pay off for labels, not for measurements
            strings = [f.name for f in self.schema if pa.types.is_string(f.type)]
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="snappy",
                                            use_dictionary=strings)
        return self._writer

    def _flush(self) -> None:
        if not self._chunks:
            return
        table = pa.Table.from_arrays(
            [_to_arrow([c[f.name] for c in self._chunks], f.type) for f in self.schema],
            schema=self.schema)
        self._open_writer().write_table(table)
        self._chunks = []
        self._staged = 0

    def close(self) -> None:
        if self._closed:
            return
        self._stage_rows()
        self._open_writer()
        self._flush()
        if self._writer is not None:
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
