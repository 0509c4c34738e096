"""Scenario loading: YAML → extends/overrides → validation → a :class:`Scenario`.

A scenario may ``extend`` another file (a path relative to itself) and override any field;
mappings merge key by key, lists and scalars replace, and an empty mapping (``{}``) clears.
``overrides`` (the CLI's ``--set``) apply last. A catalog given as a path is read and
inlined, so the resolved scenario saved in a run directory stands on its own. Every problem
becomes a :class:`ScenarioError` whose lines each name the field path and what is wrong.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from twin.scenario.errors import ScenarioError
from twin.scenario.schema import Scenario
from twin.scenario.yamlfile import YamlProblem, parse, read_mapping

__all__ = ["ScenarioError", "apply_override", "deep_merge", "dump", "load", "reseed",
           "validate"]


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and v and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _resolve_extends(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        chain = " → ".join(p.name for p in (*seen, path))
        raise ScenarioError(str(path), [f"extends: circular ({chain})"])
    data = read_mapping(path, str(path))
    _resolve_catalog(data, path.parent, str(path))
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(str(path), ["extends: expected a file path"])
    parent_path = path.parent / parent
    if not parent_path.exists():
        raise ScenarioError(str(path), [f"extends: no such file {parent!r}"])
    return deep_merge(_resolve_extends(parent_path, (*seen, path)), data)


def _resolve_catalog(data: dict[str, Any], base: Path, source: str) -> None:
    bss = data.get("bss")
    if isinstance(bss, dict) and isinstance(bss.get("catalog"), str):
        cat_path = base / bss["catalog"]
        if not cat_path.exists():
            raise ScenarioError(source, [f"bss.catalog: no such file {bss['catalog']!r}"])
        bss["catalog"] = read_mapping(cat_path, str(cat_path))


_STEP = re.compile(r"^([A-Za-z_][\w-]*)((?:\[\d+\])*)$")


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply one ``dotted.path[0].field=value`` override; the value is read as YAML."""
    if "=" not in assignment:
        raise ScenarioError("--set", [f"{assignment}: expected dotted.path=value"])
    path, raw = assignment.split("=", 1)
    try:
        value = parse(raw, "--set", prefix=path.strip()) if raw != "" else ""
    except YamlProblem as exc:
        if not exc.syntax:
            raise
        value = raw  # not YAML: the text itself
    steps: list[str | int] = []
    for part in path.strip().split("."):
        m = _STEP.match(part)
        if not m:
            raise ScenarioError("--set", [f"{path}: not a field path"])
        steps.append(m.group(1))
        steps.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    node: Any = data
    for i, step in enumerate(steps[:-1]):
        nxt = steps[i + 1]
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                raise ScenarioError("--set", [f"{path}: index {step} out of range"])
            node = node[step]
        else:
            if not isinstance(node, dict):
                raise ScenarioError("--set", [f"{path}: {step} is not inside a mapping"])
            node = node.setdefault(step, [] if isinstance(nxt, int) else {})
    last = steps[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ScenarioError("--set", [f"{path}: index {last} out of range"])
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError("--set", [f"{path}: {last} is not inside a mapping"])


_PREFIXED = re.compile(r"^([\w\[\]\.-]+): (.*)$", re.S)


def _format(err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors():
        loc = ""
        for part in e["loc"]:
            if isinstance(part, int):
                loc += f"[{part}]"
            elif part.startswith(("function-", "tagged-union", "constrained-", "dict[",
                                  "list[")) or part == "[key]":
                continue  # the validator's or a union member's tag, not a field
            else:
                loc += f".{part}" if loc else str(part)
        msg = e["msg"].removeprefix("Value error, ")
        m = _PREFIXED.match(msg)
        if m and e["type"] == "value_error":
            loc = f"{loc}.{m.group(1)}" if loc and not m.group(1).startswith("[") else (
                f"{loc}{m.group(1)}" if loc else m.group(1))
            msg = m.group(2)
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        elif e["type"] == "missing":
            msg = "required field is missing"
        problems.append(f"{loc or '(scenario)'}: {msg}")
    return problems


def validate(data: Mapping[str, Any], source: str = "scenario") -> Scenario:
    try:
        scenario = Scenario.model_validate(dict(data))
    except ValidationError as err:
        raise ScenarioError(source, _format(err)) from None
    from twin.scenario.references import check_references

    problems = check_references(scenario)
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def reseed(scenario: Scenario, seed: object) -> Scenario:
    """The scenario with another root seed, checked like the scenario's own."""
    try:
        return Scenario.model_validate({**scenario.model_dump(), "seed": seed})
    except ValidationError as err:
        raise ScenarioError("--seed", _format(err)) from None


def load(source: str | Path | Mapping[str, Any] | Scenario,
         overrides: Iterable[str] = (), base_dir: str | Path = ".") -> Scenario:
    """A validated scenario from a path, a mapping or a scenario, with overrides applied.

    In a mapping, ``extends`` and a catalog path are relative to ``base_dir``.
    """
    if isinstance(source, Scenario):
        if not overrides:
            return source
        data: dict[str, Any] = source.model_dump(mode="json")
        label = source.name
    elif isinstance(source, Mapping):
        data = copy.deepcopy(dict(source))
        label = str(data.get("name", "scenario"))
        base = Path(base_dir)
        _resolve_catalog(data, base, label)
        parent = data.pop("extends", None)
        if parent is not None:
            if not isinstance(parent, str) or not (base / parent).exists():
                raise ScenarioError(label, [f"extends: no such file {parent!r}"])
            data = deep_merge(_resolve_extends(base / parent), data)
    else:
        path = Path(source)
        if not path.exists():
            raise ScenarioError(str(source), ["no such scenario file"])
        data = _resolve_extends(path)
        label = str(source)
    for assignment in overrides:
        apply_override(data, assignment)
    return validate(data, label)


def dump(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML (what a run directory keeps)."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
