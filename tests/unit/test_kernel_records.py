"""Record buffers: columnar rows flushed to Parquet in chunks, nothing lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from twin.kernel import RecordBuffer, RecordStore

SCHEMA = pa.schema([("i", pa.int64()), ("name", pa.string()), ("x", pa.float64())])


def test_small_chunks_write_every_appended_row(tmp_path: Path) -> None:
    buf = RecordBuffer("t", SCHEMA, tmp_path / "t.parquet", chunk_rows=3)
    for i in range(10):
        buf.append(i=i, name=f"r{i}", x=i / 2)
    # full chunks were flushed while appending, before close
    assert (tmp_path / "t.parquet").exists()
    buf.close()
    f = pq.ParquetFile(tmp_path / "t.parquet")
    assert f.metadata.num_rows == 10
    assert f.metadata.num_row_groups >= 3  # written in several chunks, not at the end only
    table = f.read()
    assert table.column("i").to_pylist() == list(range(10))
    assert table.column("name").to_pylist() == [f"r{i}" for i in range(10)]
    assert buf.rows == 10


def test_extend_batches_and_rows_keep_their_order(tmp_path: Path) -> None:
    buf = RecordBuffer("t", SCHEMA, tmp_path / "t.parquet", chunk_rows=4)
    buf.append(i=0, name="a", x=0.0)
    buf.append(i=1, name="b", x=1.0)
    buf.extend({"i": np.arange(2, 9), "name": [f"v{k}" for k in range(2, 9)],
                "x": np.linspace(2, 8, 7)})
    buf.append(i=9, name="z", x=9.0)
    buf.extend({"i": np.array([], dtype=np.int64), "name": [], "x": np.array([])})  # no-op
    buf.close()
    table = pq.read_table(tmp_path / "t.parquet")
    assert table.num_rows == 10
    assert table.column("i").to_pylist() == list(range(10))
    assert table.schema.equals(SCHEMA)


def test_append_with_missing_or_unknown_keys_raises(tmp_path: Path) -> None:
    buf = RecordBuffer("t", SCHEMA, tmp_path / "t.parquet")
    with pytest.raises(KeyError, match="missing"):
        buf.append(i=1, name="a")
    with pytest.raises(KeyError, match="unknown"):
        buf.append(i=1, name="a", x=0.0, extra=5)
    buf.append(i=1, name="a", x=0.0)
    buf.close()
    assert pq.read_table(tmp_path / "t.parquet").num_rows == 1  # bad rows left no trace


def test_empty_buffer_writes_an_empty_table_with_its_schema(tmp_path: Path) -> None:
    buf = RecordBuffer("t", SCHEMA, tmp_path / "t.parquet")
    buf.close()
    buf.close()  # idempotent
    table = pq.read_table(tmp_path / "t.parquet")
    assert table.num_rows == 0
    assert table.schema.equals(SCHEMA)


def test_store_reads_back_closed_tables(tmp_path: Path) -> None:
    store = RecordStore(tmp_path, chunk_rows=2)
    a = store.buffer("a", SCHEMA)
    b = store.buffer("b", pa.schema([("k", pa.string())]))
    for i in range(5):
        a.append(i=i, name=str(i), x=float(i))
    b.append(k="only")
    with pytest.raises(RuntimeError, match="still open"):
        store.read("a")
    store.close()
    assert store.read("a").column("i").to_pylist() == [0, 1, 2, 3, 4]
    assert store.read("b").column("k").to_pylist() == ["only"]
    assert sorted(p.name for p in tmp_path.glob("*.parquet")) == ["a.parquet", "b.parquet"]


def test_store_rejects_a_table_declared_twice(tmp_path: Path) -> None:
    store = RecordStore(tmp_path)
    store.buffer("a", SCHEMA)
    with pytest.raises(ValueError, match="twice"):
        store.buffer("a", SCHEMA)


def test_many_rows_in_small_chunks_via_sim(make_sim: Any) -> None:
    sim = make_sim(horizon=100.0, chunk_rows=64)
    buf = sim.records.buffer("big", SCHEMA)
    n = 1_000
    for start in range(0, n, 100):
        idx = np.arange(start, start + 100)
        buf.extend({"i": idx, "name": idx.astype(str), "x": idx * 1.5})
    sim.run()  # closes the tables
    f = pq.ParquetFile(buf.path)
    assert f.metadata.num_rows == n
    assert f.metadata.num_row_groups > 1
    assert f.read().column("i").to_pylist() == list(range(n))


def test_label_columns_mixed_with_plain_strings(tmp_path: Path) -> None:
    """String columns given as integer codes (labels) decode to the same strings, also when
    a chunk mixes them with rows appended one by one."""
    from twin.kernel import labels

    names = ("voice", "data")
    buf = RecordBuffer("t", SCHEMA, tmp_path / "t.parquet", chunk_rows=5)
    buf.extend({"i": np.arange(3), "name": labels(np.array([0, 1, 1]), names),
                "x": np.zeros(3)})
    buf.append(i=3, name="other", x=0.0)
    buf.extend({"i": np.arange(4, 8), "name": labels(np.array([1, 0, 0, 1]), names),
                "x": np.zeros(4)})
    buf.extend({"i": np.arange(8, 10), "name": labels(np.array([1, 0]), ("a", "b")),
                "x": np.zeros(2)})  # a different code table
    buf.close()
    got = pq.read_table(tmp_path / "t.parquet").column("name").to_pylist()
    assert got == ["voice", "data", "data", "other", "data", "voice", "voice", "data", "b", "a"]


def test_extend_with_unequal_columns_raises(tmp_path: Path) -> None:
    buf = RecordBuffer("t", SCHEMA, tmp_path / "t.parquet")
    with pytest.raises((ValueError, pa.ArrowInvalid)):
        buf.extend({"i": np.arange(3), "name": ["a", "b"], "x": np.zeros(3)})


def test_store_writes_on_its_thread_and_reports_its_failures(tmp_path: Path) -> None:
    """Chunks are encoded on the store's writer thread, in order; a failure there (here the
    directory vanished) is raised in the simulation's thread, not lost."""
    store = RecordStore(tmp_path / "ok", chunk_rows=3)
    (tmp_path / "ok").mkdir()
    buf = store.buffer("t", SCHEMA)
    for i in range(10):
        buf.append(i=i, name=f"r{i}", x=float(i))
    store.close()
    assert pq.read_table(buf.path).column("i").to_pylist() == list(range(10))
    assert pq.ParquetFile(buf.path).metadata.num_row_groups >= 3

    broken = RecordStore(tmp_path / "missing", chunk_rows=2)
    b = broken.buffer("t", SCHEMA)
    with pytest.raises(OSError):  # the writer's own error, raised on the simulation's thread
        for i in range(10):
            b.append(i=i, name="x", x=0.0)
        broken.close()


def test_chunks_become_tables_on_the_writer_thread_and_their_errors_are_not_lost(
        tmp_path: Path) -> None:
    """Without a tap, a chunk of large batches becomes its Arrow table on the writer's
    thread, not the simulation's; a chunk of small batches, a tapped chunk and the last
    chunk at close in the appending thread. A value that does not fit its column fails on
    the writer's thread and is raised on the simulation's when the store closes."""
    import threading

    from twin.kernel.records import SMALL_BATCH
    from twin.kernel.records import RecordBuffer as Buffer

    built: list[tuple[str, str, int]] = []
    real = Buffer._table

    def spy(self: Buffer, chunks: Any) -> pa.Table:
        table = real(self, chunks)
        built.append((self.name, threading.current_thread().name, table.num_rows))
        return table

    def rows(n: int, start: int = 0) -> dict[str, Any]:
        return {"i": np.arange(start, start + n), "name": ["a"] * n, "x": np.zeros(n)}

    here = threading.current_thread().name
    store = RecordStore(tmp_path / "a", chunk_rows=2 * SMALL_BATCH)
    (tmp_path / "a").mkdir()
    large, small, tapped = (store.buffer(n, SCHEMA) for n in ("large", "small", "tapped"))
    seen: list[int] = []
    tapped.taps.append(lambda t: seen.append(t.num_rows))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Buffer, "_table", spy)
        large.extend(rows(SMALL_BATCH))
        large.extend(rows(SMALL_BATCH, SMALL_BATCH))  # a full chunk of two large batches
        large.extend(rows(3, 2 * SMALL_BATCH))  # left for close
        for k in range(0, 2 * SMALL_BATCH, 64):
            small.extend(rows(64, k))  # a full chunk of small batches
        tapped.extend(rows(2 * SMALL_BATCH))
        store.close()
    assert sorted(built) == sorted([
        ("large", "parquet-writer", 2 * SMALL_BATCH), ("large", here, 3),
        ("small", here, 2 * SMALL_BATCH), ("tapped", here, 2 * SMALL_BATCH)])
    assert seen == [2 * SMALL_BATCH]
    for buf, n in ((large, 2 * SMALL_BATCH + 3), (small, 2 * SMALL_BATCH)):
        assert pq.read_table(buf.path).column("i").to_pylist() == list(range(n))

    bad = RecordStore(tmp_path / "b", chunk_rows=SMALL_BATCH)
    (tmp_path / "b").mkdir()
    b = bad.buffer("t", SCHEMA)
    b.extend({"i": np.array(["not a number"] * SMALL_BATCH, dtype=object),
              "name": ["a"] * SMALL_BATCH, "x": np.zeros(SMALL_BATCH)})
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)):
        bad.close()


def test_labels_are_stored_as_dictionaries_and_read_back_as_strings(tmp_path: Path) -> None:
    from twin.kernel import labels

    store = RecordStore(tmp_path)
    buf = store.buffer("t", SCHEMA)
    buf.extend({"i": np.arange(4), "name": labels(np.array([1, 0, 1, 1]), ("a", "b")),
                "x": np.zeros(4)})
    store.close()
    f = pq.ParquetFile(buf.path)
    assert f.schema_arrow.equals(SCHEMA)  # strings, as declared
    assert f.read().column("name").to_pylist() == ["b", "a", "b", "b"]
    column = f.metadata.row_group(0).column(1)
    assert "PLAIN_DICTIONARY" in column.encodings or "RLE_DICTIONARY" in column.encodings
    group = f.metadata.row_group(0)
    for number in (0, 2):  # an integer, a float: bytes split into streams, then LZ4
        assert "BYTE_STREAM_SPLIT" in group.column(number).encodings
        assert group.column(number).compression == "LZ4"
    assert f.read().column("x").to_pylist() == [0.0] * 4


def test_the_documented_rewrite_for_older_readers_drops_the_byte_stream_split(
        tmp_path: Path) -> None:
    """docs/tables.md's one line for readers without Parquet 2.11: the same rows, integers no
    longer split into byte streams, no LZ4."""
    store = RecordStore(tmp_path)
    buf = store.buffer("t", SCHEMA)
    buf.extend({"i": np.arange(5) * 7, "name": ["a", "b", "a", "c", "a"],
                "x": np.linspace(0.0, 1.0, 5)})
    store.close()
    portable = tmp_path / "t-portable.parquet"
    pq.write_table(pq.read_table(buf.path), portable)
    group = pq.ParquetFile(portable).metadata.row_group(0)
    assert "BYTE_STREAM_SPLIT" not in group.column(0).encodings
    assert group.column(0).compression != "LZ4"
    assert pq.read_table(portable).equals(pq.read_table(buf.path))


def test_label_batches_in_a_table_stored_with_its_arrow_schema(tmp_path: Path) -> None:
    """A table with a timestamp column keeps plain strings in the file; label batches with
    the same code table, handed over as they came (joined when converted), decode to
    their strings, in order, beside numbers appended the same way."""
    from twin.kernel import labels

    schema = pa.schema([("t", pa.timestamp("s", tz="UTC")), ("name", pa.string()),
                        ("x", pa.float64())])
    buf = RecordBuffer("t", schema, tmp_path / "t.parquet", chunk_rows=6)
    names = ("up", "down")
    for k in range(3):
        buf.extend({"t": [k * 10, k * 10 + 1, k * 10 + 2],
                    "name": labels(np.array([k % 2, 1, 0]), names),
                    "x": np.arange(3, dtype=float) + 3 * k})
    buf.close()
    f = pq.ParquetFile(tmp_path / "t.parquet")
    got = f.read()
    assert got.schema.field("name").type == pa.string()
    assert got.column("name").to_pylist() == ["up", "down", "up", "down", "down", "up",
                                              "up", "down", "up"]
    assert got.column("x").to_pylist() == [float(i) for i in range(9)]
    assert f.metadata.num_row_groups == 2


def test_written_hooks_see_each_row_group_in_order_on_the_writer_thread(
        tmp_path: Path) -> None:
    """A ``written`` hook is handed each row group as it is written, in the table's order and
    on the writer's thread, as stored (labels as dictionaries); its failure fails the run
    like a write error, raised on the simulation's thread."""
    import threading

    store = RecordStore(tmp_path, chunk_rows=4)
    buf = store.buffer("t", SCHEMA)
    seen: list[pa.Table] = []
    threads: set[str] = set()

    def hook(table: pa.Table) -> None:
        seen.append(table)
        threads.add(threading.current_thread().name)

    buf.written.append(hook)
    for i in range(10):
        buf.append(i=i, name=f"r{i}", x=float(i))
    buf.extend({"i": np.arange(10, 20), "name": [f"r{i}" for i in range(10, 20)],
                "x": np.arange(10, 20, dtype=float)})
    store.close()
    assert [t.num_rows for t in seen] == [
        g.num_rows for g in (pq.ParquetFile(buf.path).read_row_group(k)
                             for k in range(pq.ParquetFile(buf.path).metadata.num_row_groups))]
    assert pa.concat_tables(seen).column("i").to_pylist() == list(range(20))
    assert pa.types.is_dictionary(seen[0].schema.field("name").type)
    assert threads == {"parquet-writer"}

    failing = RecordStore(tmp_path / "failing", chunk_rows=2)
    (tmp_path / "failing").mkdir()
    b = failing.buffer("t", SCHEMA)

    def broken(table: pa.Table) -> None:
        raise ValueError("hook failed")

    b.written.append(broken)
    with pytest.raises(ValueError, match="hook failed"):
        for i in range(10):
            b.append(i=i, name="x", x=0.0)
        failing.close()


def test_required_columns_are_stored_without_nulls_and_refuse_one(tmp_path: Path) -> None:
    """A schema made with ``required`` is stored as Parquet required columns (labels too,
    as dictionaries), reads back as declared, and a null in one fails the write with an
    error naming the column, raised on the simulation's thread."""
    from twin.kernel import labels, required

    schema = required([("i", pa.int64()), ("name", pa.string()), ("x", pa.float64())])
    store = RecordStore(tmp_path / "ok")
    (tmp_path / "ok").mkdir()
    buf = store.buffer("t", schema)
    buf.extend({"i": np.arange(3), "name": labels(np.array([0, 1, 0]), ("a", "b")),
                "x": np.array([0.5, np.nan, 1.5])})  # NaN is a value
    buf.append(i=3, name="c", x=2.0)
    store.close()
    f = pq.ParquetFile(buf.path)
    assert f.schema_arrow.equals(schema)
    assert [f.schema.column(k).max_definition_level for k in range(3)] == [0, 0, 0]
    assert f.read().column("name").to_pylist() == ["a", "b", "a", "c"]

    bad = RecordStore(tmp_path / "bad")
    (tmp_path / "bad").mkdir()
    b = bad.buffer("t", schema)
    b.append(i=0, name=None, x=0.0)
    with pytest.raises(pa.ArrowInvalid, match=r"'name'.*non-nullable"):
        bad.close()


def test_rows_computed_later_are_computed_on_the_writer_thread_in_order(
        tmp_path: Path) -> None:
    """``extend_later`` rows keep their place among the other batches and are computed
    when their chunk becomes a table: on the writer's thread for a chunk of large batches,
    once however often a live reader asks first. Columns missing or of the wrong length
    fail the run with the table named."""
    import threading

    from twin.kernel.records import SMALL_BATCH

    n = 2 * SMALL_BATCH
    computed: list[str] = []

    def later(lo: int) -> Any:
        def columns() -> dict[str, Any]:
            computed.append(threading.current_thread().name)
            return {"i": np.arange(lo, lo + n), "name": ["c"] * n, "x": np.ones(n)}
        return columns

    store = RecordStore(tmp_path / "a", chunk_rows=3 * n)
    (tmp_path / "a").mkdir()
    buf = store.buffer("t", SCHEMA)
    buf.extend({"i": np.arange(n), "name": ["a"] * n, "x": np.zeros(n)})
    buf.extend_later(n, later(n))
    assert computed == []  # not yet
    staged, tables, _ = buf.unflushed()
    assert staged == 2 and tables[1].column("i").to_pylist() == list(range(n, 2 * n))
    buf.extend_later(n, later(2 * n))  # the chunk is full: handed to the writer
    store.close()
    assert computed == [threading.current_thread().name, "parquet-writer"]
    table = pq.read_table(buf.path)
    assert table.column("i").to_pylist() == list(range(3 * n))
    assert table.column("name").to_pylist() == ["a"] * n + ["c"] * 2 * n

    for bad, error in (({"i": np.arange(2), "name": ["c"] * 2}, "miss \\['x'\\]"),
                       ({"i": np.arange(3), "name": ["c"] * 3, "x": np.ones(3)},
                        "computed \\[3\\] rows, not 2")):
        broken = RecordStore(tmp_path / f"b{len(bad)}")
        (tmp_path / f"b{len(bad)}").mkdir()
        broken.buffer("t", SCHEMA).extend_later(2, lambda bad=bad: bad)
        with pytest.raises((KeyError, ValueError), match=f"table t: .*{error}"):
            broken.close()


def test_large_batches_are_written_as_chunks_without_a_copy(tmp_path: Path) -> None:
    """Batches of at least JOIN_BELOW rows on average become the column's chunks as they
    are (numbers without a copy, labels sharing one dictionary); smaller ones are joined.
    Either way the file holds every row, in order, one row group per chunk of rows."""
    from twin.kernel import records

    big = [np.arange(k * 10_000, (k + 1) * 10_000, dtype=np.int64) for k in range(3)]
    col = records._to_arrow(list(big), pa.int64())
    assert col.num_chunks == 3 and np.shares_memory(col.chunk(1).to_numpy(), big[1])
    small = [np.arange(k * 100, (k + 1) * 100, dtype=np.int64) for k in range(3)]
    assert records._to_arrow(list(small), pa.int64()).num_chunks == 1
    names = ("voice", "data")
    lab = records._to_arrow([records.labels(np.arange(10_000) % 2, names)] * 2,
                            pa.dictionary(pa.int32(), pa.string()))
    dicts = [lab.chunk(k).dictionary.buffers()[2] for k in range(lab.num_chunks)]
    assert len(dicts) == 2 and dicts[0].address == dicts[1].address

    buf = RecordBuffer("t", SCHEMA, tmp_path / "t.parquet", chunk_rows=30_000)
    for k in range(6):
        i = np.arange(k * 10_000, (k + 1) * 10_000)
        buf.extend({"i": i, "name": records.labels(i % 2, names), "x": i / 2})
    buf.close()
    f = pq.ParquetFile(tmp_path / "t.parquet")
    assert f.metadata.num_row_groups == 2
    table = f.read()
    assert table.column("i").to_pylist() == list(range(60_000))
    assert table.column("name").to_pylist() == [names[k % 2] for k in range(60_000)]
    assert table.column("x").to_pylist() == [k / 2 for k in range(60_000)]
