"""Mediation's intake: records that cannot be read are rejected with a reason, never raised.

Like a sorting office that returns a letter with no address rather than jamming the machine,
:func:`screen` looks at a batch of usage records before mediation's own steps and splits it
into records those steps can take and rejects:

* the whole batch, when a required column is missing, a column's length differs from
  ``record_id``'s, or a column is not numbers (text, objects, several dimensions);
* a record whose start, answer or release time is not a finite number of seconds within
  a few centuries of the start (:data:`TIME_MAX_S`);
* a record with an identifier out of range: ``record_id`` or the party numbers outside
  0 … 2^63 − 1 (the 64-bit columns of ``cdrs``), a recording entity (``node_id``) outside
  0 … 127, a charging id outside 0 … 2^44 − 1 or a sequence number outside 0 … 4095 (the
  three are packed into one 64-bit duplicate key; a record id standing in for a missing
  charging id likewise), ``kind``, ``cause`` or ``online``
  outside a byte, ``sub`` outside 64 bits;
* a record with a quantity above :data:`QUANTITY_MAX` (seconds or bytes), where rating's
  64-bit arithmetic would overflow.

Unknown subscribers, negative quantities and unknown record types stay mediation's own
checks, as before. The rejects keep what could be read of them in the ``cdrs`` table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from twin.kernel.compiled import kernel

REQUIRED = ("record_id", "node_id", "sub", "kind", "start", "duration_s", "volume_bytes",
            "cause")
OPTIONAL = ("charging_id", "seq", "parts", "uplink_bytes", "downlink_bytes", "calling",
            "called", "answer", "release", "online")
TIMES = ("start", "answer", "release")
TIME_MAX_S = 1e10  # about 317 years either side of the start
QUANTITY_MAX = 10**12  # seconds or bytes in one record
I64_MAX = 2**63 - 1
# (low, high) allowed per integer column
BOUNDS: dict[str, tuple[int, int]] = {
    "record_id": (0, I64_MAX), "node_id": (0, 127), "sub": (-I64_MAX, I64_MAX),
    "kind": (-128, 127), "duration_s": (-I64_MAX, QUANTITY_MAX),
    "volume_bytes": (-I64_MAX, QUANTITY_MAX), "cause": (-128, 127),
    "charging_id": (0, 2**44 - 1), "seq": (0, 4095), "parts": (0, 2**31 - 1),
    "uplink_bytes": (0, QUANTITY_MAX), "downlink_bytes": (0, QUANTITY_MAX),
    "calling": (0, I64_MAX), "called": (0, I64_MAX), "online": (-128, 127),
}
QUANTITIES = ("duration_s", "volume_bytes", "uplink_bytes", "downlink_bytes")
DTYPES = {"kind": np.int8, "cause": np.int8, "online": np.int8, "parts": np.int32,
          **{t: np.float64 for t in TIMES}}

# reasons, in mediation's ``cdrs.reason`` column
MISSING_COLUMN = "malformed batch: missing column"
UNEQUAL_LENGTHS = "malformed batch: columns of unequal length"
NOT_NUMERIC = "malformed batch: column not numeric"
BAD_TIME = "time not finite or out of range"
BAD_ID = "identifier out of range"
BAD_QUANTITY = "quantity out of range"
REASONS = (MISSING_COLUMN, UNEQUAL_LENGTHS, NOT_NUMERIC, BAD_TIME, BAD_ID, BAD_QUANTITY)

Cols = dict[str, np.ndarray]


def _length(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return 1


def _array(value: Any) -> np.ndarray | None:
    """A column as a 1-D numeric array, or None."""
    try:
        a = np.asarray(value)
    except (ValueError, TypeError):  # ragged nested lists
        return None
    if a.ndim != 1 or a.dtype.kind not in "biuf":
        return None
    return a


def _batch_problem(columns: Mapping[str, Any], n: int) -> str | None:
    if any(k not in columns for k in REQUIRED):
        return MISSING_COLUMN
    known = [k for k in (*REQUIRED, *OPTIONAL) if k in columns]
    if any(_length(columns[k]) != n for k in known):
        return UNEQUAL_LENGTHS
    if any(_array(columns[k]) is None for k in known):
        return NOT_NUMERIC
    return None


def _fits(a: np.ndarray, lo: int, hi: int) -> np.ndarray | None:
    """Which values of ``a`` are whole numbers from ``lo`` to ``hi``; None: all of them,
    whatever they are (an integer type whose range is inside the bounds)."""
    if a.dtype.kind == "f":
        flo, fhi = _float_bounds(lo, hi)
        with np.errstate(invalid="ignore"):
            out: np.ndarray = (a >= flo) & (a <= fhi) & (a == np.floor(a))
        return out
    if a.dtype.kind == "u":
        return (a <= np.uint64(hi)) & (a >= np.uint64(max(lo, 0)))
    if a.dtype.kind == "b":
        return (a >= lo) & (a <= hi)
    # a signed integer: only the bounds its type can cross are compared
    info = np.iinfo(a.dtype)
    low, high = lo > info.min, hi < info.max
    if low and high:
        return (a >= lo) & (a <= hi)
    if low:
        return a >= lo
    if high:
        return a <= hi
    return None


def _row_problems(c: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Per row: index into :data:`REASONS` + 1, or 0 for a readable record."""
    code = np.zeros(n, dtype=np.int8)

    def mark(bad: np.ndarray, reason: str) -> None:
        if bad.any():  # most batches have no problem: no rows to mark
            code[(code == 0) & bad] = REASONS.index(reason) + 1

    for name in TIMES:
        if name in c:
            a = c[name]
            if a.dtype in _COMPILED:
                _mark_outside(a, -TIME_MAX_S, TIME_MAX_S, False, code,
                              REASONS.index(BAD_TIME) + 1)
                continue
            with np.errstate(invalid="ignore"):
                mark(~(np.abs(a.astype(np.float64, copy=False)) <= TIME_MAX_S),
                     BAD_TIME)  # NaN: not within
    for name, (lo, hi) in BOUNDS.items():
        if name in c:
            a = c[name]
            reason = BAD_QUANTITY if name in QUANTITIES else BAD_ID
            if a.dtype in _COMPILED:
                if a.dtype.kind == "f":
                    _mark_outside(a, *_float_bounds(lo, hi), True, code,
                                  REASONS.index(reason) + 1)
                else:
                    _mark_outside(a, lo, hi, False, code, REASONS.index(reason) + 1)
                continue
            fits = _fits(a, lo, hi)
            if fits is not None:
                mark(~fits, reason)
    return code


def _mark_outside_rows(a: np.ndarray, lo: Any, hi: Any, whole: bool, code: np.ndarray,
                       value: int) -> None:
    """Where ``code`` is still 0 and ``a`` is not from ``lo`` to ``hi`` (nor a whole number,
    if ``whole``): ``value``. NaN is within nothing. What :func:`_fits` and a mask give, in
    one pass over the rows and no arrays in between."""
    for i in range(a.size):
        if code[i] == 0:
            x = a[i]
            if not (x >= lo and x <= hi) or (whole and x != np.floor(x)):
                code[i] = value


_mark_outside = kernel(_mark_outside_rows)
# the machine types the compiled pass takes (others, and other byte orders, go through numpy)
_COMPILED = frozenset(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64, np.float64))


def _float_bounds(lo: int, hi: int) -> tuple[float, float]:
    """The nearest doubles inside the bounds (2^63 - 1 is not a double)."""
    flo = float(lo) if float(lo) >= lo else float(np.nextafter(float(lo), 0.0))
    fhi = float(hi) if float(hi) <= hi else float(np.nextafter(float(hi), 0.0))
    return flo, fhi


def _loggable(columns: Mapping[str, Any], rows: np.ndarray | None, n: int) -> Cols:
    """What can be kept of rejected rows: readable values as they are, the rest zero."""
    size = n if rows is None else rows.size
    out: Cols = {}
    for name in (*REQUIRED, *OPTIONAL):
        dtype = DTYPES.get(name, np.int64)
        a = _array(columns[name]) if name in columns else None
        if a is None or a.size != n:
            out[name] = np.zeros(size, dtype=dtype)
            continue
        a = a if rows is None else a[rows]
        if name in TIMES:
            out[name] = a.astype(np.float64)
        else:
            lo, hi = BOUNDS[name]
            fits = _fits(a, lo, hi)
            out[name] = (a if fits is None else np.where(fits, a, 0)).astype(dtype)
    return out


def screen(columns: Mapping[str, Any]) -> tuple[Cols, Cols, list[str]]:
    """Split a batch into (records mediation can take, rejected records, their reasons).

    Both are dicts of typed columns: the first holds the columns the batch gave (optional
    ones left out stay out); the second every column of the ``cdrs`` table."""
    n = _length(columns["record_id"]) if "record_id" in columns else max(
        (_length(v) for v in columns.values()), default=0)
    problem = _batch_problem(columns, n)
    if problem is not None:
        bad = _loggable(columns, None, n)
        empty = {k: np.zeros(0, dtype=DTYPES.get(k, np.int64)) for k in REQUIRED}
        return empty, bad, [problem] * n
    arrays = {k: a for k in (*REQUIRED, *OPTIONAL) if k in columns
              for a in [_array(columns[k])] if a is not None}
    code = _row_problems(arrays, n)
    if "charging_id" not in arrays:  # the record id stands in for it in the duplicate key
        fits = _fits(arrays["record_id"], *BOUNDS["charging_id"])
        if fits is not None:
            code[(code == 0) & ~fits] = REASONS.index(BAD_ID) + 1
    # columns already of their type are taken as they are (nothing writes into them)
    if not code.any():
        good = {k: a.astype(DTYPES.get(k, np.int64), copy=False) for k, a in arrays.items()}
        return good, {}, []
    ok = code == 0
    rows = np.flatnonzero(~ok)
    good = {k: a[ok].astype(DTYPES.get(k, np.int64), copy=False) for k, a in arrays.items()}
    bad = _loggable(arrays, rows, n)
    return good, bad, [REASONS[i - 1] for i in code[rows]]
