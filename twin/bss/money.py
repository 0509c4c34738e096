"""Integer money arithmetic: prorating and percentages in minor units, rounding half up."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


def round_div(num: I64 | int, den: int) -> I64:
    """Integer division rounding half up (for non-negative values)."""
    return (np.asarray(num, dtype=np.int64) * 2 + den) // (2 * den)


def prorate(amount: I64, part_s: float, whole_s: float) -> I64:
    return round_div(amount * round(part_s), round(whole_s))


def percent_of(amount: I64, pct: npt.ArrayLike) -> I64:
    """``pct`` percent of ``amount``, half away from zero (to basis points of a percent)."""
    amount = np.asarray(amount, dtype=np.int64)
    p = np.asarray(pct, dtype=np.float64)
    if not np.isfinite(p).all():  # cast to integers it would be any amount, silently
        bad = p[~np.isfinite(p)][:3]
        raise ValueError(f"percent_of: percentages must be finite numbers, got {bad}")
    basis_points = np.rint(p * 100).astype(np.int64)
    return np.sign(amount) * round_div(np.abs(amount) * basis_points, 10_000)
