"""docs/tables.md documents the live twin's table, every column; docs/live.md names every
route the live twin serves and every option of ``twin serve``."""

from __future__ import annotations

import re
from pathlib import Path

from twin.cli import parser
from twin.live.operator import ACTIONS_SCHEMA

from .live_support import small_scenario
from .support import REPO

DOCS = REPO / "docs"


def test_operator_actions_is_in_tables_md() -> None:
    text = (DOCS / "tables.md").read_text(encoding="utf-8")
    overview = text[text.index("## Truth and observation"):text.index("## Ground truth")]
    assert "`operator_actions`" in overview
    section = text[text.index("### `operator_actions`"):]
    documented = set(re.findall(r"`([^`\n]+)`", section))
    assert set(ACTIONS_SCHEMA.names) <= documented
    declared = set()
    for path in (REPO / "twin" / "live").rglob("*.py"):
        declared |= set(re.findall(r'records\.buffer\(\s*"(\w+)"',
                                   path.read_text(encoding="utf-8")))
    assert declared == {"operator_actions"}


def test_live_md_names_every_route_and_option(tmp_path: Path) -> None:
    from twin.live.api import create_app
    from twin.live.service import LiveTwin

    text = (DOCS / "live.md").read_text(encoding="utf-8")
    _, sc = small_scenario(tmp_path)
    app = create_app(LiveTwin(sc, tmp_path / "run", expose_truth=True))  # not started
    paths = {r.path for r in app.routes if getattr(r, "include_in_schema", False)}
    missing = [p for p in sorted(paths) if p.rsplit("/v4", 1)[-1] not in text]
    assert not missing, f"routes not in docs/live.md: {missing}"
    sub = next(a for a in parser()._actions if a.dest == "command")
    serve = sub.choices["serve"]  # type: ignore[index]
    options = [o for act in serve._actions for o in act.option_strings
               if o.startswith("--") and o != "--help"]
    assert [o for o in options if f"`{o}" not in text] == []
