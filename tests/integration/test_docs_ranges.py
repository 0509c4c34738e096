"""Every number a scenario holds has a sane range, and docs/scenario.md lists it.

The schema's bounds (pydantic ``ge``/``gt``/``le``/``lt``, and the ten-year limit of every
duration) are walked from ``Scenario``; each numeric field, however deep (a list item is
``[]``, a mapping's value ``.*``), must have a lower and an upper bound, and the table under
``## Ranges`` in docs/scenario.md must say exactly those bounds. To rewrite the table after a
schema change: ``python -m tests.integration.test_docs_ranges``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

import annotated_types as at
from pydantic import BaseModel
from pydantic.functional_validators import BeforeValidator

from twin.scenario import schema
from twin.scenario.schema.base import MAX_DURATION_S, parse_duration

from .support import REPO

HEADER = "| field | kind | from | to |\n|---|---|---|---|"


def _bounds(meta: list[Any]) -> tuple[Any, bool, Any, bool]:
    lo = hi = None
    lo_x = hi_x = False
    for m in meta:
        if isinstance(m, at.Ge):
            lo, lo_x = m.ge, False
        elif isinstance(m, at.Gt):
            lo, lo_x = m.gt, True
        elif isinstance(m, at.Le):
            hi, hi_x = m.le, False
        elif isinstance(m, at.Lt):
            hi, hi_x = m.lt, True
        elif hasattr(m, "metadata"):  # a FieldInfo inside Annotated
            inner = _bounds(list(m.metadata))
            if inner[0] is not None:
                lo, lo_x = inner[0], inner[1]
            if inner[2] is not None:
                hi, hi_x = inner[2], inner[3]
    return lo, lo_x, hi, hi_x


def _is_duration(meta: list[Any]) -> bool:
    return any(isinstance(m, BeforeValidator) and m.func is parse_duration for m in meta)


def _leaves(tp: Any, meta: list[Any], path: str) -> Iterator[tuple[str, str, list[Any]]]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(tp)
        yield from _leaves(base, [*meta, *extra], path)
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is not type(None):
                yield from _leaves(arg, meta, path)
    elif origin is list:
        yield from _leaves(typing.get_args(tp)[0], [], f"{path}[]")
    elif origin is dict:
        yield from _leaves(typing.get_args(tp)[1], [], f"{path}.*")
    elif origin is tuple:
        for arg in dict.fromkeys(typing.get_args(tp)):
            yield from _leaves(arg, [], f"{path}[]")
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        yield from numeric_fields(tp, path)
    elif tp is float and _is_duration(meta):
        yield path, "duration", meta
    elif tp in (int, float) and tp is not bool:
        yield path, "integer" if tp is int else "number", meta


def numeric_fields(model: type[BaseModel] = schema.Scenario,
                   prefix: str = "") -> Iterator[tuple[str, str, list[Any]]]:
    """(dotted path, kind, constraint metadata) of every numeric field under ``model``."""
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        yield from _leaves(info.annotation, list(info.metadata), path)


def _number(x: float) -> str:
    if isinstance(x, int) or (float(x).is_integer() and abs(x) < 1e16):
        return f"{int(x):,}"
    return f"{x:g}"


def _seconds(x: float) -> str:
    if x == 0:
        return "0"
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if x and x % size == 0:
            return f"{int(x // size):,}{unit}"
    return f"{_number(x)} s"


def rows() -> list[str]:
    out = []
    for path, kind, meta in numeric_fields():
        lo, lo_x, hi, hi_x = _bounds(meta)
        fmt = _seconds if kind == "duration" else _number
        if kind == "duration":
            lo = 0 if lo is None else lo
            hi = MAX_DURATION_S if hi is None else hi
        assert lo is not None and hi is not None, f"{path}: no range"
        low = ("> " if lo_x else "") + fmt(lo)
        high = ("< " if hi_x else "") + fmt(hi)
        out.append(f"| `{path}` | {kind} | {low} | {high} |")
    return out


def render() -> str:
    return HEADER + "\n" + "\n".join(rows())


def documented() -> list[str]:
    text = (REPO / "docs" / "scenario.md").read_text(encoding="utf-8")
    section = text.split("\n## Ranges\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


def test_every_numeric_field_is_bounded_both_ways() -> None:
    fields = list(numeric_fields())
    assert len(fields) > 150  # the walk reaches the nested models
    for path, kind, meta in fields:
        lo, _, hi, _ = _bounds(meta)
        if kind != "duration":
            assert lo is not None and hi is not None, f"{path}: give it a range"


def test_the_ranges_table_matches_the_schema() -> None:
    want, have = rows(), documented()
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    assert not missing and not extra, (
        "docs/scenario.md ## Ranges is out of date (python -m tests.integration."
        f"test_docs_ranges prints it); missing: {missing[:10]}, not in the schema: "
        f"{extra[:10]}")


if __name__ == "__main__":
    print(render())
