"""The documentation says what the code does: a test that fails when the docs drift.

Rules (deliberately simple; each test states its own):

- A *name* in a Markdown section is a dotted identifier inside backticks (`` `oss.mttr_s` ``,
  `` `crews.count` ``, the `count` in `` `{region: '*', count: 1}` ``). A *section* runs from
  its heading to the next heading of the same or a higher level.
- README summary keys: every flattened key of ``summary.json`` is named in a row of the
  README's ``## summary.json`` table (first cell). A row may abbreviate: after a full key
  ``a.b_c``, `` `.d` `` stands for ``a.d`` and `` `_x` `` for ``a.b_x`` (the first key's leaf up
  to its first underscore, plus the fragment). A row whose meaning says "every key in
  [doc](docs/X.md#anchor)" delegates: an ``a.x`` key counts when ``x`` is named in that
  section of that page.
- Tables: every table a run writes is in the "Truth and observation" overview of
  docs/tables.md and has a ``### `name` `` section there naming each of its columns in
  backticks on its own (`` `col` ``). The quickstart writes every table the
  code declares (checked against the ``records.buffer("…")`` calls in ``twin/``), so one short
  run covers the tables of every scenario.
- Scenario fields: every field of the pydantic models in ``twin/scenario/schema/`` (walked
  from ``Scenario``; a dict or list field is one field, and a dict/list *of models* is also
  walked into; a field holding one nested model is checked through that model's fields only)
  is named in docs/scenario.md inside the section of its top-level key
  (``## Top level`` for the top-level fields, ``## `network` `` … ``## `bss` `` for the
  rest) by its dotted path relative to its nearest *anchor*: the top-level key, an item of a
  list/dict of models (``faults.scripted[]``, ``bss.catalog.offers.*``), or one of the models
  the page documents in a table of their own (``ANCHOR_MODELS``). So ``oss.crews.count`` must
  appear as `` `crews.count` `` in ``## `oss` ``, a storm's ``factor`` as `` `factor` `` in
  ``## `faults` ``. A missing field fails unless its exact relative path happens to be named in
  the same section for another reason.
- README scenarios: the scenario table lists exactly ``scenarios/*.yaml``; the dependency table
  lists exactly ``[project].dependencies`` of pyproject.toml.
- The handler table in docs/tables.md has a row for each routed message type naming its
  handler (from the run's ``manifest.json`` ``message_routes``, i.e. ``twin/wiring.py``), and
  says `` `bss.integration_latency_s` `` exactly for the subscriptions wired with it.
- Relative links between README.md and docs/*.md resolve to a file and a heading.
"""

from __future__ import annotations

import re
import tomllib
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from twin.scenario import schema

from .support import QUICKSTART, REPO, SCENARIO_FILES, SMALL, RunScenario

DOCS = REPO / "docs"
NAME = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*")
SPAN = re.compile(r"`([^`\n]+)`")

# Models with a table (or a paragraph listing their fields) of their own in docs/scenario.md:
# their fields are named relative to the model.
ANCHOR_MODELS: set[type[BaseModel]] = {
    schema.TelemetrySpec, schema.CatalogSpec, schema.UsagePrice, schema.SlaSpec,
    schema.Allowances, schema.DiscountSpec, schema.KpiThreshold,
}


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The section whose heading line is exactly ``heading`` (e.g. ``## `oss` ``)."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    try:
        start = lines.index(heading)
    except ValueError:
        raise AssertionError(f"no heading {heading!r}") from None
    out = []
    for line in lines[start + 1:]:
        m = re.match(r"(#+) ", line)
        if m and len(m.group(1)) <= level:
            break
        out.append(line)
    return "\n".join(out)


def names(text: str) -> set[str]:
    """Dotted identifiers inside backticks."""
    return {n for span in SPAN.findall(text) for n in NAME.findall(span)}


def spans(text: str) -> set[str]:
    return set(SPAN.findall(text))


def flatten(d: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for k, v in d.items():
        if isinstance(v, dict):
            yield from flatten(v, f"{prefix}{k}.")
        else:
            yield prefix + k


# ---------------------------------------------------------------- summary keys


def readme_summary_keys(readme: str) -> tuple[set[str], list[tuple[str, str, str]]]:
    """Keys the README's summary table names, and its delegations (prefix, doc, anchor)."""
    keys: set[str] = set()
    delegated: list[tuple[str, str, str]] = []
    for row in section(readme, "## summary.json").splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        first: str | None = None
        for token in SPAN.findall(cells[0]):
            token = token.strip()
            if token.startswith((".", "_")):
                assert first is not None, f"abbreviation {token!r} with no full key: {row}"
                prefix, leaf = first.rsplit(".", 1) if "." in first else ("", first)
                if token.startswith("."):
                    key = f"{prefix}{token}" if prefix else token[1:]
                else:
                    key = f"{prefix}.{leaf.split('_', 1)[0]}{token}"
            elif NAME.fullmatch(token):
                key = token
                first = first or token
            else:
                continue
            keys.add(key)
        m = re.search(r"every key in \[[^\]]*\]\((docs/[\w.]+)#([\w-]+)\)", cells[1])
        if m and first is not None:
            delegated.append((first.split(".", 1)[0], m.group(1), m.group(2)))
    return keys, delegated


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.lstrip("#").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchored_section(text: str, anchor: str) -> str:
    for line in text.splitlines():
        if line.startswith("#") and slug(line) == anchor:
            return section(text, line)
    raise AssertionError(f"no heading with anchor #{anchor}")


@pytest.fixture(scope="module")
def quick(run_scenario: RunScenario):
    return run_scenario(QUICKSTART, overrides=SMALL)


def test_every_summary_key_is_in_the_readme(quick) -> None:
    readme = read(REPO / "README.md")
    documented, delegated = readme_summary_keys(readme)
    for prefix, doc, anchor in delegated:
        for name in names(anchored_section(read(REPO / doc), anchor)):
            documented.add(f"{prefix}.{name}")
    missing = [k for k in flatten(quick.summary) if k not in documented]
    assert not missing, f"summary keys not in README's summary.json table: {missing}"
    stale = sorted(documented - set(flatten(quick.summary)) - {
        f"{p}.{n}" for p, d, a in delegated
        for n in names(anchored_section(read(REPO / d), a))})
    assert not stale, f"README names summary keys the run does not write: {stale}"


# ---------------------------------------------------------------------- tables


def declared_tables(emulation: bool = False) -> set[str]:
    """Tables the code declares; those of twin/emulation (written only by emulated runs,
    checked in tests/emulation) apart, those of twin/live (written only by served runs an
    outside tool acted in, checked in tests/integration/test_live_docs.py) left out."""
    found = set()
    for path in (REPO / "twin").rglob("*.py"):
        part = path.relative_to(REPO / "twin").parts[0]
        if part != "live" and (part == "emulation") == emulation:
            found |= set(re.findall(r'records\.buffer\(\s*"(\w+)"', read(path)))
    return found


def test_every_table_and_column_is_in_tables_md(quick) -> None:
    declared = declared_tables()
    assert declared, "no records.buffer(...) calls found: the scan is out of date"
    unwritten = declared - set(quick.tables)
    assert not unwritten, f"tables the quickstart does not write (run their scenario): {unwritten}"
    text = read(DOCS / "tables.md")
    overview = spans(section(text, "## Truth and observation"))
    problems = [f"{t}: not in the 'Truth and observation' table" for t in quick.tables
                if t not in overview]
    for table in quick.tables:
        heading = next((line for line in text.splitlines()
                        if line.startswith(f"### `{table}`")), None)
        if heading is None:
            problems.append(f"{table}: no '### `{table}`' section")
            continue
        documented = spans(section(text, heading))
        columns = quick.sql(f"SELECT * FROM {table} LIMIT 0").columns
        problems += [f"{table}.{c}: column not in its section"
                     for c in columns if c not in documented]
    assert not problems, "\n".join(problems)


def test_the_tables_said_to_have_no_nulls_store_required_columns(quick) -> None:
    """The conventions of docs/tables.md name the tables with a value in every row of every
    column: exactly those store every column as a Parquet required column."""
    import pyarrow.parquet as pq

    said = re.search(r"^- The large tables (.*?) have a value in every row",
                     read(DOCS / "tables.md"), re.M | re.S)
    assert said, "docs/tables.md no longer names the tables without nulls"
    named = spans(said.group(1))
    stored = {t for t in quick.tables
              if all(c.max_definition_level == 0 for c in
                     pq.ParquetFile(quick.path / "tables" / f"{t}.parquet").schema)}
    assert named == stored


def test_the_handler_table_lists_every_route(quick) -> None:
    text = section(read(DOCS / "tables.md"), "## The message log and the handler table")
    rows, latency = {}, {}
    for row in text.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[2]
            latency[cells[0].strip("`")] = cells[3]
    routes = quick.manifest["message_routes"]
    missing = [m for m in routes if m not in rows]
    assert not missing, f"routed messages not in the handler table: {missing}"
    wrong = [f"{m}: {h}" for m, hs in routes.items() for h in hs if h not in rows[m]]
    assert not wrong, f"handlers not named in the table: {wrong}"
    unrouted = sorted(set(rows) - set(routes))
    assert not unrouted, f"the handler table lists messages nobody receives: {unrouted}"
    wiring = read(REPO / "twin" / "wiring.py")
    delayed = {m for m, args in re.findall(r"bus\.subscribe\((\w+),([^)]*)\)", wiring)
               if "latency_s=scenario.bss.integration_latency_s" in args}
    assert delayed, "no delayed subscription found in twin/wiring.py: the scan is out of date"
    wrong_latency = [m for m in rows
                     if ("`bss.integration_latency_s`" in latency[m]) != (m in delayed)]
    assert not wrong_latency, f"latency column disagrees with twin/wiring.py: {wrong_latency}"


# ------------------------------------------------------------------ scenario fields


def _models(tp: Any) -> tuple[type[BaseModel] | None, bool]:
    """(the model inside an annotation, whether it sits in a list/dict/tuple)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _models(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            model, coll = _models(arg)
            if model is not None:
                return model, coll
        return None, False
    if origin in (list, dict, tuple):
        args = typing.get_args(tp)
        model, _ = _models(args[-1] if origin is dict else args[0]) if args else (None, False)
        return model, True
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp, False
    return None, False


def scenario_fields() -> Iterator[tuple[str, str, str]]:
    """(full path, top-level key, path relative to the nearest anchor) for every field."""

    def walk(model: type[BaseModel], path: str, top: str,
             rel: str) -> Iterator[tuple[str, str, str]]:
        for name, info in model.model_fields.items():
            full = f"{path}.{name}" if path else name
            here = f"{rel}.{name}" if rel else name
            sub, in_collection = _models(info.annotation)
            if sub is None or in_collection or not top:
                yield full, top or name, here
            if sub is None:
                continue
            if not top:  # a top-level key: its section anchors its fields
                yield from walk(sub, full, name, "")
            elif in_collection or sub in ANCHOR_MODELS:
                yield from walk(sub, full + ("[]" if in_collection else ""), top, "")
            else:
                yield from walk(sub, full, top, here)

    yield from walk(schema.Scenario, "", "", "")


def test_every_scenario_field_is_in_scenario_md() -> None:
    text = read(DOCS / "scenario.md")
    per_section: dict[str, set[str]] = {}
    missing = []
    fields = list(scenario_fields())
    assert len(fields) > 150, "the schema walk found too few fields"
    for full, top, rel in fields:
        heading = "## Top level" if "." not in full else f"## `{top}`"
        if heading not in per_section:
            per_section[heading] = names(section(text, heading))
        if rel not in per_section[heading]:
            missing.append(f"{full} (as `{rel}` under {heading!r})")
    assert not missing, "scenario fields not in docs/scenario.md:\n" + "\n".join(missing)


# ---------------------------------------------------------------------- README


def test_readme_lists_every_scenario() -> None:
    readme = read(REPO / "README.md")
    listed = re.findall(r"^\| `([\w-]+\.yaml)` \|", readme, flags=re.M)
    files = [p.name for p in SCENARIO_FILES]
    assert sorted(listed) == files, (
        f"missing from README: {sorted(set(files) - set(listed))}; "
        f"not in scenarios/: {sorted(set(listed) - set(files))}")
    assert len(listed) == len(set(listed)), "a scenario is listed twice"


def test_readme_dependency_table_matches_pyproject() -> None:
    project = tomllib.loads(read(REPO / "pyproject.toml"))["project"]
    deps = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower()
            for d in project["dependencies"]}
    table = section(read(REPO / "README.md"), "## What the dependencies do")
    rows = set(re.findall(r"^\| ([\w.-]+) \|", table, flags=re.M)) - {"package"}
    assert rows == deps, f"only in README: {rows - deps}; only in pyproject: {deps - rows}"
    dev = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0]
           for d in project["optional-dependencies"]["dev"]}
    prose = table.split("Development", 1)[1]
    missing = [d for d in dev if d not in prose]
    assert not missing, f"dev dependencies the README does not mention: {missing}"


def test_links_between_the_docs_resolve() -> None:
    """Every relative Markdown link from README.md and docs/*.md names an existing file and,
    with ``#anchor``, one of its headings (GitHub's anchors)."""
    broken = []
    for page in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", read(page)):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target} (no such file)")
                continue
            if anchor and file.suffix == ".md":
                slugs = {slug(line) for line in read(file).splitlines()
                         if re.match(r"#+ ", line)}
                if anchor not in slugs:
                    broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_files_the_docs_name_exist() -> None:
    """Every ``twin/….py``, ``tests/….py`` and ``scenarios/….yaml`` path in README.md and
    docs/*.md exists (``scenarios/mine.yaml``, the example of a user's file, aside)."""
    missing = []
    for page in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        for path in re.findall(r"(?:twin|tests|scenarios)/[\w/]+\.(?:py|yaml)", read(page)):
            if path != "scenarios/mine.yaml" and not (REPO / path).exists():
                missing.append(f"{page.name}: {path}")
    assert not missing, "\n".join(missing)
