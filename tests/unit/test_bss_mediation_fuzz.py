"""Fuzzing collection and mediation: a malformed batch or record is a reject, never a crash.

Batches of usage records, valid at first, are broken at random in the ways a recording
entity or a file transfer can break them: a column missing, columns of unequal length, a
column of text, of objects or of two dimensions, a start time that is NaN or infinite, an id
at or past 2^63, a byte-sized code past a byte, a quantity in the petabytes. 2,500 batches
(over 10,000 records) pass through the BSS collector into mediation; nothing may raise,
every record is counted as received, every reject has its reason, and the ``cdrs`` table
must be writable.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from twin.bss import intake
from twin.bss.collection import Collector
from twin.bss.mediation import Mediation
from twin.kernel import Sim
from twin.messages import UsageBatch
from twin.scenario.schema import MediationSpec

N_SUBS = 50
BATCHES = 2_500
SEED = 635


def valid_columns(rng: random.Random, first_id: int, t: float) -> dict[str, Any]:
    n = rng.randint(1, 12)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    kind = np.array([rng.randrange(3) for _ in range(n)], dtype=np.int8)
    columns: dict[str, Any] = {
        "record_id": ids, "node_id": (kind + 1).astype(np.int64),
        "sub": np.array([rng.randrange(N_SUBS) for _ in range(n)], dtype=np.int64),
        "kind": kind, "start": t + np.arange(n, dtype=np.float64),
        "duration_s": np.array([rng.randrange(600) for _ in range(n)], dtype=np.int64),
        "volume_bytes": np.where(kind == 1, rng.randrange(10**8), 0).astype(np.int64),
        "cause": np.zeros(n, dtype=np.int8),
    }
    if rng.random() < 0.5:  # the 3GPP fields a recording entity may add
        columns["charging_id"] = ids.copy()
        columns["seq"] = np.array([rng.choice([0, 0, 1, 2]) for _ in range(n)], dtype=np.int64)
        columns["online"] = np.zeros(n, dtype=np.int8)
    return columns


ODD_VALUES = [np.nan, np.inf, -np.inf, 2**63, 2**64 - 1, -(2**63), 10**13, 300, -1, 5000, 1e19,
              1e300, 0.5]


def break_batch(columns: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    c = dict(columns)
    names = sorted(c)
    how = rng.randrange(9)
    name = rng.choice(names)
    n = len(c["record_id"])
    if how == 0:
        del c[name]
    elif how == 1:
        c[name] = np.asarray(c[name])[:-1] if n > 1 else np.asarray(c[name])[:0]
    elif how == 2:
        c[name] = np.array([str(v) for v in np.asarray(c[name])])
    elif how == 3:
        c[name] = np.array(list(c[name]), dtype=object)
    elif how == 4:
        c[name] = np.stack([np.asarray(c[name])] * 2)
    elif how == 5:
        c[name] = rng.choice([7, None, "text", [[1, 2], [3]]])
    else:  # a cell or two of odd values (float, uint64 or int64 columns)
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(names)
            value = rng.choice(ODD_VALUES)
            a = np.asarray(c[name])
            if isinstance(value, float) or value >= 2**63 or value < -(2**63) + 1:
                unsigned = a.dtype.kind in "iu" and (a >= 0).all() and not isinstance(
                    value, float) and value >= 0
                a = a.astype(np.uint64) if unsigned else a.astype(np.float64)
            elif not np.can_cast(np.min_scalar_type(value), a.dtype):
                a = a.astype(np.int64)
            a = a.copy()
            a[rng.randrange(n)] = value
            c[name] = a
    return c


def test_no_broken_batch_escapes_collection_and_mediation(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(horizon=40 * 86_400.0)
    mediation = Mediation(sim, N_SUBS, MediationSpec(dedup_retention=3600.0))
    collector = Collector(sim, MediationSpec(mode="streaming"), mediation.process)
    rng = random.Random(SEED)
    escapes: list[str] = []
    sent = 0
    first_id = 1
    for k in range(BATCHES):
        t = k * 60.0
        if t > sim.now:
            sim.env.run(until=t)
        columns = valid_columns(rng, first_id, t)
        first_id += len(columns["record_id"])
        if rng.random() < 0.7:
            columns = break_batch(columns, rng)
        batch = UsageBatch(columns)
        try:
            rows = batch.rows
            collector.on_batch(batch)
        except Exception as exc:  # the property under test: nothing escapes
            escapes.append(f"seed {SEED} batch {k}: {type(exc).__name__}: {exc!s:.200}")
            continue
        sent += rows
    try:
        mediation.recycle()
        mediation.assemble(flush=True)
    except Exception as exc:
        escapes.append(f"finishing: {type(exc).__name__}: {exc!s:.200}")
    assert escapes == [], f"{len(escapes)} escapes; first: {escapes[:5]}"
    assert sent >= 10_000
    assert mediation.received == sent
    assert mediation.unreadable > BATCHES // 4
    sim.records.close()
    cdrs = pq.read_table(mediation.cdrs.path).to_pandas()
    rejected = cdrs[cdrs["state"] == "rejected"]
    assert (rejected["reason"] != "").all()
    unreadable = rejected[rejected["reason"].isin(intake.REASONS)]
    assert len(unreadable) == mediation.unreadable
    assert set(unreadable["reason"]) == set(intake.REASONS)  # every reason was exercised


def frame(**changes: Any) -> dict[str, Any]:
    n = 3
    columns: dict[str, Any] = {
        "record_id": np.arange(1, n + 1, dtype=np.int64), "node_id": np.ones(n, np.int64),
        "sub": np.arange(n, dtype=np.int64), "kind": np.zeros(n, np.int8),
        "start": np.arange(n, dtype=np.float64), "duration_s": np.full(n, 60, np.int64),
        "volume_bytes": np.zeros(n, np.int64), "cause": np.zeros(n, np.int8)}
    columns.update(changes)
    return {k: v for k, v in columns.items() if v is not None}


@pytest.mark.parametrize(("columns", "reasons"), [
    (frame(start=np.array([0.0, np.nan, np.inf])),
     ["", "time not finite or out of range", "time not finite or out of range"]),
    (frame(record_id=np.array([1, 2**63, 3], dtype=np.uint64)),
     ["", "identifier out of range", ""]),
    (frame(charging_id=np.array([1, 2, 2**50]), seq=np.array([0, 4096, 0])),
     ["", "identifier out of range", "identifier out of range"]),
    (frame(kind=np.array([0, 300, 1])), ["", "identifier out of range", ""]),
    (frame(volume_bytes=np.array([0, 10**13, 0])), ["", "quantity out of range", ""]),
    (frame(cause=None), ["malformed batch: missing column"] * 3),
    (frame(sub=np.arange(2)), ["malformed batch: columns of unequal length"] * 3),
    (frame(sub=np.array(["a", "b", "c"])), ["malformed batch: column not numeric"] * 3),
])
def test_unreadable_records_are_rejected_with_their_reason(
        make_sim: Callable[..., Sim], columns: dict[str, Any], reasons: list[str]) -> None:
    mediation = Mediation(make_sim(), N_SUBS)
    out = mediation.process(UsageBatch(columns))
    ok = [i for i, r in enumerate(reasons) if not r]
    assert sorted(out.get("record_id", np.empty(0)).tolist()) == [i + 1 for i in ok]
    assert mediation.received == 3
    assert mediation.rejected == mediation.unreadable == 3 - len(ok)
    mediation.sim.records.close()
    rows = pq.read_table(mediation.cdrs.path).to_pylist()
    assert sorted(r["reason"] for r in rows) == sorted(reasons)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64,
                                   np.float64, np.bool_])
def test_bounds_are_checked_whatever_the_column_type(dtype: type) -> None:
    # the extremes of the type, the bounds and their neighbours: a bound the check leaves
    # out as one the type cannot cross must be one no value crosses
    if dtype is np.bool_:
        a = np.array([False, True])
    else:
        info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else np.finfo(dtype)
        edges = {int(info.min), int(info.max), 0, 1, -1, 127, 128, -128, -129, 4095, 4096,
                 2**44 - 1, 2**44, 2**63 - 1, -(2**63 - 1), 10**12, 10**12 + 1}
        a = np.array(sorted(v for v in edges if info.min <= v <= info.max), dtype=dtype)
    for lo, hi in intake.BOUNDS.values():
        whole = a == np.floor(a) if a.dtype.kind == "f" else np.ones(a.size, dtype=bool)
        expected = ((a.astype(object) >= lo) & (a.astype(object) <= hi)).astype(bool) & whole
        fits = intake._fits(a, lo, hi)
        got = np.ones(a.size, dtype=bool) if fits is None else fits
        assert got.tolist() == expected.tolist(), (lo, hi)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.float64])
def test_the_compiled_check_marks_what_the_numpy_check_marks(
        dtype: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """Row by row, the compiled pass gives each record the reason numpy's masks give: the
    first column it fails, in the same order (times, then the bounds)."""
    rng = np.random.default_rng(5)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else np.finfo(dtype)
    edges = [int(info.min), int(info.max), 0, 1, -1, 127, 128, -128, -129, 4095, 4096,
             2**44 - 1, 2**44, 2**63 - 1, -(2**63 - 1), 10**10, 10**10 + 1, 10**12, 10**12 + 1]
    values = [v for v in edges if info.min <= v <= info.max]
    if np.dtype(dtype).kind == "f":
        values += [np.nan, np.inf, -np.inf, 0.5, -1e10 - 0.5, 2.0**63, 4095.5]
    names = [*intake.TIMES, *intake.BOUNDS]
    # each row: two columns given one of the values, the others 0 (within every bound), so
    # rows fail different columns first, or none
    n = 400
    cols = {k: np.zeros(n, dtype=dtype) for k in names}
    for i in range(n):
        for k in rng.choice(names, 2, replace=False):
            cols[k][i] = values[rng.integers(len(values))]
    got = intake._row_problems(cols, n)
    monkeypatch.setattr(intake, "_COMPILED", frozenset())
    assert got.tolist() == intake._row_problems(cols, n).tolist()
    assert got.any() and not got.all()
