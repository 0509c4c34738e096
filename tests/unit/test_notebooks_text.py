"""The quickstart, trainer and QA notebooks say what they show, fold their answers, and type
no results.

Numbers in a notebook's prose go stale when defaults are recalibrated; so the prose of these
notebooks names no number (other than section and list numbering and the names of things):
every figure a reader sees is printed by a cell from the run in front of them, and what the
prose says in words ("a dozen sites", "well under a minute") a cell asserts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
OURS = ("04_trainer_course", "05_mediation_rating", "06_qa")
WITH_ANSWERS = ("04_trainer_course", "05_mediation_rating")
NO_TYPED_NUMBERS = ("01_quickstart", *OURS)


def cells(name: str) -> list[dict]:
    return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text())["cells"]


def prose_numbers(text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks
    text = re.sub(r"`[^`]*`", "", text)  # code spans: names, overrides, files
    text = re.sub(r"^#+ \d+ ·|^#+ \d+\.", "", text, flags=re.M)  # "# 04 ·", "## 1."
    text = re.sub(r"^\s*\d+\. ", "", text, flags=re.M)  # numbered lists
    text = re.sub(r"(?i)question \d+|notebook \d+|SHA-256|\(\w\)", "", text)
    return re.findall(r"\d[\d.,]*", text)


@pytest.mark.parametrize("name", NO_TYPED_NUMBERS)
def test_the_prose_types_no_numbers(name: str) -> None:
    found = {n: prose_numbers("".join(c["source"])) for n, c in enumerate(cells(name))
             if c["cell_type"] == "markdown"}
    assert not {k: v for k, v in found.items() if v}, f"{name}: numbers typed in the text"


@pytest.mark.parametrize("name", sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")))
def test_each_says_what_it_shows_and_is_stored_without_outputs(name: str) -> None:
    cs = cells(name)
    first = "".join(cs[0]["source"])
    assert cs[0]["cell_type"] == "markdown" and first.startswith(f"# {name[:2]} · ")
    assert len(first) > 300  # an introduction, not just a title
    assert all(not c.get("outputs") for c in cs if c["cell_type"] == "code")


@pytest.mark.parametrize("name", WITH_ANSWERS)
def test_answers_are_folded_and_follow_their_questions(name: str) -> None:
    cs = cells(name)
    answers = [i for i, c in enumerate(cs) if "".join(c["source"]).startswith("# ANSWER")]
    assert len(answers) >= 2
    for i in answers:
        meta = cs[i]["metadata"]
        assert meta["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
        assert "answer" in meta["tags"]
        asked = next(c for c in reversed(cs[:i]) if c["cell_type"] == "markdown")
        assert "**Question" in "".join(asked["source"]), f"answer {i} follows no question"
