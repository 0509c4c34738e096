"""Study designs: which variants of a scenario to run.

A *variant* is a set of ``--set``-style assignments. ``--vary PATH=V1,V2`` crosses listed
values (a full grid; the first combination is the baseline). ``--sample PATH=LO..HI`` draws
``points`` values from a range — independently at random, or as a Latin hypercube, where
each range is cut into ``points`` equal strata and every stratum is drawn exactly once, so a
handful of points still covers every range end to end. Sampled points are crossed with the
grid. Every variant then runs on the same seeds (common random numbers), so their
differences come from the design, not the dice.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import yaml

from twin.scenario import ScenarioError

SampleKind = Literal["lhs", "random"]
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")


def parse_vary(items: Iterable[str]) -> dict[str, list[str]]:
    """``["oss.crews.count=1,2,3"]`` → ``{"oss.crews.count": ["1", "2", "3"]}``.

    Values split on commas outside brackets, so a list value stays whole:
    ``faults.scripted=[],[{…}]``.
    """
    out: dict[str, list[str]] = {}
    for item in items:
        path, sep, values = item.partition("=")
        if not sep or not path.strip() or not values.strip():
            raise ScenarioError("--vary", [f"{item!r}: expected PATH=VALUE1,VALUE2,…"])
        parts, depth, cur = [], 0, ""
        for ch in values:
            depth += ch in "[{"
            depth -= ch in "]}"
            if ch == "," and depth == 0:
                parts.append(cur.strip())
                cur = ""
            else:
                cur += ch
        parts.append(cur.strip())
        key = path.strip()
        if key in out:
            raise ScenarioError("--vary", [f"{key}: given twice"])
        if len(set(parts)) != len(parts):
            raise ScenarioError("--vary", [f"{key}: the same value is given twice"])
        out[key] = parts
    return out


@dataclass(frozen=True)
class Range:
    """``PATH=LO..HI``: integers when both ends are integers, else real numbers."""

    path: str
    lo: float
    hi: float
    integer: bool

    def value(self, u: float) -> int | float:
        """The value at ``u`` in [0, 1): integers spread evenly over LO…HI inclusive; reals
        rounded to four significant digits (what the run uses is what the table shows)."""
        if self.integer:
            return int(min(self.hi, math.floor(self.lo + u * (self.hi - self.lo + 1))))
        return float(f"{self.lo + u * (self.hi - self.lo):.4g}")

    def text(self, v: int | float) -> str:
        return str(v)


def parse_sample(items: Iterable[str]) -> list[Range]:
    """``["oss.crews.travel_mean_min=30..90"]`` → ranges; every problem names its item."""
    ranges: list[Range] = []
    problems = []
    for item in items:
        path, sep, span = item.partition("=")
        lo, dots, hi = span.partition("..")
        path, lo, hi = path.strip(), lo.strip(), hi.strip()
        if not sep or not path or not dots or not _NUMBER.match(lo) or not _NUMBER.match(hi):
            problems.append(f"{item!r}: expected PATH=LOW..HIGH with numbers, e.g. "
                            "oss.crews.travel_mean_min=30..90")
            continue
        if float(lo) >= float(hi):
            problems.append(f"{path}: the low end {lo} is not below the high end {hi}")
            continue
        if any(r.path == path for r in ranges):
            problems.append(f"{path}: given twice")
            continue
        ranges.append(Range(path, float(lo), float(hi),
                            bool(_INTEGER.match(lo) and _INTEGER.match(hi))))
    if problems:
        raise ScenarioError("--sample", problems)
    return ranges


@dataclass(frozen=True)
class Variant:
    """One design point: its position, a readable label and its assignments."""

    index: int
    assign: tuple[tuple[str, str], ...]
    label: str = field(init=False)

    def __post_init__(self) -> None:
        label = " ".join(f"{k}={v}" for k, v in self.assign) or "baseline"
        object.__setattr__(self, "label", label)

    @property
    def overrides(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.assign]

    @property
    def slug(self) -> str:
        """A directory name: ``03-oss.crews.count=2_oss.repair_policy=fifo``."""
        return f"{self.index:02d}-" + (re.sub(r"[^A-Za-z0-9_.=-]+", "_", self.label)[:60]
                                       or "baseline")


def value_of(text: str) -> object:
    """A ``--set`` value as the table shows it: a number when it reads as one."""
    try:
        v = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return v if isinstance(v, int | float) and not isinstance(v, bool) else text


@dataclass(frozen=True)
class Design:
    """Grid values and sampled ranges; :meth:`variants` lists the design points."""

    vary: Mapping[str, Sequence[str]] = field(default_factory=dict)
    ranges: Sequence[Range] = ()
    points: int = 10
    kind: SampleKind = "lhs"
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if self.ranges and self.points < 2:
            problems.append(f"--points: at least 2 points to sample a range "
                            f"(got {self.points})")
        if self.kind not in ("lhs", "random"):
            problems.append(f"--design: {self.kind!r} is not one of lhs, random")
        both = sorted(set(self.vary) & {r.path for r in self.ranges})
        problems += [f"{p}: both varied and sampled" for p in both]
        if not self.vary and not self.ranges:
            problems.append("--vary or --sample: give at least one PATH=… to study")
        if problems:
            raise ScenarioError("--vary/--sample", problems)

    @property
    def sampled(self) -> bool:
        return bool(self.ranges)

    def unit_points(self) -> list[list[float]]:
        """``points`` rows of one number in [0, 1) per range, from the design's own seed."""
        import numpy as np

        rng = np.random.default_rng([int(self.seed), 0x5EED])  # not the runs' streams
        n, d = self.points, len(self.ranges)
        if self.kind == "random":
            u = rng.random((n, d))
        else:  # one draw in each of n strata per range, strata paired at random
            u = np.column_stack([(rng.permutation(n) + rng.random(n)) / n for _ in range(d)])
        return [[float(x) for x in row] for row in u]

    def variants(self) -> list[Variant]:
        keys = list(self.vary)
        grid = [tuple(zip(keys, combo, strict=True))
                for combo in itertools.product(*(self.vary[k] for k in keys))]
        samples: list[tuple[tuple[str, str], ...]] = [()]
        if self.ranges:
            samples = [tuple((r.path, r.text(r.value(x)))
                             for r, x in zip(self.ranges, row, strict=True))
                       for row in self.unit_points()]
        # identical points (an integer range narrower than --points) are one variant
        combos = list(dict.fromkeys(g + s for g, s in itertools.product(grid, samples)))
        return [Variant(i, assign) for i, assign in enumerate(combos)]
