"""Compiled loops for the record-by-record steps that numpy can only emulate with sorts.

A rating counter (or a dedup window) is a running state that each record reads and advances in
record order; numpy expresses that as a stable sort by counter, segmented cumulative sums and
scatters back — several passes over every batch. A compiled loop does it in one pass, in
record order, without the GIL (so rating on one thread runs beside Parquet encoding and the
revenue chain's other share). :func:`kernel` compiles with numba, cached on disk beside the
module, so only a machine's first run pays the compilation.

Under mutation testing (mutmut sets ``MUTANT_UNDER_TEST``) a loop stays plain Python, so its
mutants run: define it undecorated and compile it by name (``_loop = kernel(_loop_py)``) —
mutmut leaves decorated functions alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

F = TypeVar("F", bound=Callable[..., Any])
I64 = npt.NDArray[np.int64]  # the array types the compiled loops take
F64 = npt.NDArray[np.float64]


def kernel(fn: F, inline: bool = False, nonzero_divisors: bool = False) -> F:
    """``fn`` compiled to machine code (numba, nopython, releasing the GIL, cached).

    ``inline``: a function other loops call record by record (a record's rating), compiled
    into each caller; as a call it would be passed its arrays' descriptors every time, and
    the caller would run twice as slow. The loops allocate nothing (their callers pass every
    array in), so they run without numba's reference counting, which would count each array
    argument of such a call up and down atomically.

    ``nonzero_divisors``: every divisor in ``fn`` is nonzero by construction (validated
    increments, clamped lengths), so numba leaves out the zero check it makes before each
    integer division (raising as Python would): 5–10 % of a rating loop's time. Division
    by zero then gives 0 silently: only for loops whose divisors cannot be zero."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        return fn
    import numba  # here: a mutation run needs none of it

    opts: dict[str, Any] = {"cache": True, "nogil": True, "_nrt": False,
                            "inline": "always" if inline else "never",
                            "error_model": "numpy" if nonzero_divisors else "python"}
    return cast(F, numba.njit(**opts)(fn))


def int64s(x: npt.ArrayLike) -> I64:
    """``x`` as a contiguous int64 array (itself when it is one): how the compiled loops
    take their integer arrays, one machine type whatever the caller's."""
    return np.ascontiguousarray(x, dtype=np.int64)


def float64s(x: npt.ArrayLike) -> F64:
    """``x`` as a contiguous float64 array (itself when it is one), as :func:`int64s`."""
    return np.ascontiguousarray(x, dtype=np.float64)


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
