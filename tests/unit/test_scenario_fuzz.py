"""Fuzzing scenario files: every mutated file is valid or gets ``field: problem`` lines, exit 2.

Hypothesis mutates a valid scenario file the way users and hostile inputs do: a field set to
an integer at or past 64 bits, a negative number, ``.inf`` or ``.nan``, a duration of a
million years, a date at or past the calendar's edge or one that does not exist, rich markup
and path tricks in names, descriptions and keys, text where numbers belong, deep nesting,
alias bombs, duplicate keys, bytes that are not UTF-8. ``twin validate`` must answer each
with exit 0, or exit 2 and one ``field.path: what is wrong`` line per problem — never a
traceback.
"""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import re
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CATALOG_PATH
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from twin.cli import main
from twin.scenario import schema

BASE: dict[str, Any] = {
    "name": "fuzz", "description": "Two cells on one core router.", "seed": 7,
    "start": "2026-01-05T00:00:00Z", "duration": "1d",
    "network": {"elements": [{"id": "core1", "type": "core_router"},
                             {"id": "cell1", "type": "cell", "voice_channels": 5},
                             {"id": "cell2", "type": "cell"}],
                "links": [{"a": "cell1", "b": "core1"}, {"a": "cell2", "b": "core1"}]},
    "subscribers": {"count": 20},
    "faults": {"scripted": [{"at": "2h", "target": "cell2-core1", "mode": "fibre_cut"}]},
    "bss": {"catalog": yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))},
}
PROBLEM = re.compile(r"^  \S[^\n]*?: \S")  # "  field.path: what is wrong"


def _models(tp: Any) -> list[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    if typing.get_origin(tp) in (typing.Union, types.UnionType, list, dict, tuple,
                                 typing.Annotated):
        return [m for a in typing.get_args(tp) for m in _models(a)]
    return []


def field_paths(model: type[BaseModel] = schema.Scenario, prefix: tuple[Any, ...] = (),
                depth: int = 0) -> list[tuple[Any, ...]]:
    """Every field of the schema as a key path (a list item as index 0)."""
    out = []
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        out.append(path)
        origin = typing.get_origin(info.annotation)
        for sub in _models(info.annotation):
            if depth < 6 and sub is not model:
                inner = (*path, 0) if origin is list else path
                out.extend(field_paths(sub, inner, depth + 1))
    return out


PATHS = field_paths()

ODD_VALUES = st.one_of(
    st.sampled_from([-1, 0, 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 10**400,
                     0.5, -0.0, 1e308, float("inf"), float("-inf"), float("nan"), True, None,
                     "", "7d", "99999999999999999999d", "1e400s", "-1h", "inf", "..", "/etc",
                     "a/b", ".hidden", "oops [/] tag", "[bold red]x[/]", "$\\frac{1}{$",
                     "\x1b[2J", "line\nbreak", "x" * 2000, [], {}, [[[[[]]]]],
                     "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1969-12-31T23:59:59Z",
                     "2100-01-01T00:00:00Z", "2099-12-31T23:59:59-12:00"]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
RAW_VALUES = [".inf", "-.inf", ".nan", "2026-02-30", "2026-13-01 00:00:00", "9999-12-31",
              "0x7fffffffffffffff1", "!!python/object:os.system", "*undefined", "&a [*a]",
              "[" * 400 + "]" * 400, "{a: 1, a: 2}", "'oops [/] tag'", "!!binary AAAA",
              "1_000_000_000_000_000_000_000", "<<: {}"]


def set_path(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = data
    for step, nxt in itertools.pairwise(path):
        if isinstance(step, int):
            if not isinstance(node, list) or not node:
                return
            node = node[0]
        else:
            if not isinstance(node, dict):
                return
            if not isinstance(node.get(step), dict | list):
                node[step] = [{}] if isinstance(nxt, int) else {}
            node = node[step]
    if isinstance(node, dict) and not isinstance(path[-1], int):
        node[path[-1]] = value


def dump(data: dict[str, Any]) -> str:
    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, RecursionError):
        return yaml.safe_dump({**data, "description": "unrepresentable"}, sort_keys=False)


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        set_path(data, draw(st.sampled_from(PATHS)), draw(ODD_VALUES))
    text = dump(data)
    lines = text.split("\n")
    how = draw(st.sampled_from(["none", "raw", "duplicate", "deep", "bomb", "bytes", "merge"]))
    if how == "raw":  # a YAML value written in a way safe_dump never writes
        i = draw(st.sampled_from([k for k, line in enumerate(lines) if ": " in line]))
        lines[i] = lines[i].split(": ", 1)[0] + ": " + draw(st.sampled_from(RAW_VALUES))
    elif how == "duplicate":  # a key given twice, at the top or inside a mapping
        i = draw(st.sampled_from([k for k, line in enumerate(lines) if ": " in line]))
        lines.insert(draw(st.integers(i + 1, min(i + 3, len(lines)))), lines[i])
    elif how == "deep":
        depth = draw(st.sampled_from([40, 300, 5_000]))
        lines.append("extra: " + "[" * depth + "]" * depth)
    elif how == "bomb":
        lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"] + [
            f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)] + lines
    elif how == "merge":  # a legitimate merge key: must not count as a duplicate
        lines = ["base: &base {count: 20}", *lines, "extra_subscribers:", "  <<: *base",
                 "  count: 30"]
    raw = "\n".join(lines).encode("utf-8")
    if how == "bytes":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80",
                                               b"\x00", b"\xe9t\xe9"])) + raw[at:]
    return raw


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "mutant.yaml"


def validate(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=400)
@given(raw=mutated_files())
def test_every_mutated_scenario_is_valid_or_a_clean_error(scenario_file: Path,
                                                          raw: bytes) -> None:
    scenario_file.write_bytes(raw)
    code, out, err = validate(scenario_file)  # nothing but ScenarioError may escape
    assert code in (0, 2), (code, err)
    if code == 2:
        first, *problems = err.rstrip("\n").split("\n")
        assert first.startswith("error: ") and first.endswith("invalid scenario"), err
        assert problems, err
        assert all(PROBLEM.match(p) for p in problems), err
    else:
        assert out.startswith(f"{scenario_file}: valid"), out
    assert "\x1b" not in out + err  # user text is printed as text, escapes and all


def test_the_fuzzer_reaches_every_layer() -> None:
    """Guard on the strategy: its paths cover each section and reach nested models."""
    tops = {p[0] for p in PATHS}
    assert tops == set(schema.Scenario.model_fields)
    assert ("bss", "catalog", "offers") in PATHS
    assert ("oss", "crews", "teams", 0, "shifts", 0, "hours") in PATHS
    assert ("faults", "scripted", 0, "flap_up") in PATHS
