"""Reading YAML a user wrote: plain data, every surprise a clear problem.

PyYAML's safe loader, left to itself, lets the last of two equal keys win without a word,
expands aliases without limit (ten lines can stand for a billion values), recurses once per
level of nesting (a deep file ends in ``RecursionError``), raises ``ValueError`` for a date
such as ``2026-02-30``, and a file that is not UTF-8 ends in ``UnicodeDecodeError``. Here
each is a :class:`ScenarioError` whose problem names the key path (or ``(file)``) and says
what is wrong. Merge keys (``<<: *base``) still work: keys written beside them override
the merged ones, as YAML means.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from twin.scenario.errors import ScenarioError

MAX_BYTES = 16 * 2**20  # a scenario with an inline catalog is a few kB
MAX_DEPTH = 32  # the schema nests about eight levels deep
MAX_VALUES = 1_000_000  # values after expanding aliases
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


# libyaml's parser when PyYAML has it: several times faster, and it limits nesting itself
Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlProblem(ScenarioError):
    """Text that is not usable YAML; ``syntax`` is true when it does not parse at all (as
    opposed to parsing into something refused: duplicate keys, too deep, too big)."""

    def __init__(self, source: str, problems: list[str], syntax: bool) -> None:
        super().__init__(source, problems)
        self.syntax = syntax


def _where(node: Node) -> str:
    return f"line {node.start_mark.line + 1}"


def _key_text(key: Any) -> str:
    return key if isinstance(key, str) else repr(key)


class _Checker:
    """One pass over the composed node graph: depth, expanded size, duplicate keys, dates."""

    def __init__(self, loader: yaml.SafeLoader, prefix: str) -> None:
        self.loader, self.prefix = loader, prefix
        self.sizes: dict[int, int] = {}  # expanded size per node already counted (aliases)
        self.problems: list[str] = []

    def _path(self, path: str) -> str:
        return path or self.prefix or "(file)"

    def size(self, node: Node, path: str, depth: int) -> int:
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if depth > MAX_DEPTH:
            raise YamlProblem("", [f"{self._path(path)}: nested deeper than {MAX_DEPTH} levels "
                                   f"(or an alias that contains itself)"], syntax=False)
        total = 1
        if isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                total += self.size(item, f"{path}[{i}]", depth + 1)
        elif isinstance(node, MappingNode):
            total += self._mapping(node, path, depth)
        elif isinstance(node, ScalarNode) and node.tag == _TIMESTAMP:
            try:
                self.loader.construct_object(node)
            except (ValueError, OverflowError) as exc:
                self.problems.append(f"{self._path(path)}: not a valid date or time "
                                     f"({node.value!r}: {exc})")
        if total > MAX_VALUES:
            raise YamlProblem("", [f"{self._path(path)}: more than {MAX_VALUES:,} values once "
                                   f"aliases are expanded"], syntax=False)
        self.sizes[id(node)] = total
        return total

    def _mapping(self, node: MappingNode, path: str, depth: int) -> int:
        total = 0
        seen: dict[Any, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:  # ``<<: *base``: its keys may be overridden here
                total += self.size(value_node, path, depth + 1)
                continue
            try:
                key = self.loader.construct_object(key_node, deep=True)
                hash(key)
            except (yaml.YAMLError, TypeError, ValueError, OverflowError):
                key = (key_node.tag, str(key_node.value))
            child = f"{path}.{_key_text(key)}" if path else (
                f"{self.prefix}.{_key_text(key)}" if self.prefix else _key_text(key))
            if key in seen:
                self.problems.append(f"{child}: duplicate key ({_where(seen[key])} and "
                                     f"{_where(key_node)}); give each key once")
            else:
                seen[key] = key_node
            total += 1 + self.size(value_node, child, depth + 1)
        return total


def parse(text: str, source: str, prefix: str = "") -> Any:
    """The data in YAML ``text``; problems name key paths under ``prefix``."""
    loader: yaml.SafeLoader | None = None
    try:
        loader = Loader(text)  # (the pure-Python one checks the characters already)
        node = loader.get_single_node()
        if node is None:
            return None
        checker = _Checker(loader, prefix)
        checker.size(node, "", 0)
        if checker.problems:
            raise YamlProblem(source, checker.problems, syntax=False)
        return loader.construct_document(node)
    except YamlProblem as exc:
        raise YamlProblem(source, exc.problems, exc.syntax) from None
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        if "maximum nesting depth" in detail:  # libyaml's own limit
            where = getattr(getattr(exc, "problem_mark", None), "line", None)
            at = f" (line {where + 1})" if where is not None else ""
            raise YamlProblem(source, [f"{prefix or '(file)'}: nested too deeply{at}"],
                              syntax=False) from None
        raise YamlProblem(source, [f"{prefix or '(file)'}: not valid YAML: {detail}"],
                          syntax=True) from None
    except RecursionError:
        raise YamlProblem(source, [f"{prefix or '(file)'}: nested too deeply"],
                          syntax=False) from None
    except (ValueError, OverflowError) as exc:  # a constructor's own check
        raise YamlProblem(source, [f"{prefix or '(file)'}: unreadable value: {exc}"],
                          syntax=True) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_mapping(path: Path, source: str | None = None) -> dict[str, Any]:
    """A YAML file that must hold a mapping (a scenario or a catalog)."""
    source = source or str(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(source, [f"(file): cannot read {path}: "
                                     f"{exc.strerror or exc}"]) from None
    if len(raw) > MAX_BYTES:
        raise ScenarioError(source, [f"(file): larger than {MAX_BYTES // 2**20} MiB"])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ScenarioError(source, [f"(file): not UTF-8 text (byte 0x{raw[exc.start]:02x} "
                                     f"on line {line})"]) from None
    data = parse(text, source)
    if not isinstance(data, dict):
        raise ScenarioError(source, ["(file): must hold a mapping of scenario fields"])
    return data
