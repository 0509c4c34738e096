"""The command's small promises: ``python -m twin``, ``--version``, help for every argument,
``list`` of a missing directory, and user text printed as text (no markup, no escapes)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rich.highlighter
import yaml
from e2e_support import ENV, REPO

import twin
from twin.cli import main, parser


def test_python_m_twin_is_the_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "twin", "--version"], cwd=REPO, env=ENV,
                          capture_output=True, text=True, timeout=120, check=False)
    assert (proc.returncode, proc.stdout.strip()) == (0, f"twin {twin.__version__}")
    usage = subprocess.run([sys.executable, "-m", "twin", "--help"], cwd=REPO, env=ENV,
                           capture_output=True, text=True, timeout=120, check=False)
    assert usage.returncode == 0 and usage.stdout.startswith("usage: twin ")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"twin {twin.__version__}"


def every_action() -> list[tuple[str, argparse.Action]]:
    top = parser()
    found = [("twin", a) for a in top._actions]
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [(f"twin {name}", a) for a in sub._actions]
    return found


def test_every_argument_has_help() -> None:
    actions = every_action()
    assert len(actions) > 30
    missing = [f"{cmd} {a.option_strings or a.dest}" for cmd, a in actions
               if not a.help or a.help == argparse.SUPPRESS]
    assert missing == []


@pytest.mark.parametrize("make", [lambda p: None, lambda p: p.write_text("x")])
def test_list_of_a_missing_directory_is_an_error(tmp_path: Path, make: Any,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    where = tmp_path / "nosuch"
    make(where)
    assert main(["list", "--dir", str(where)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: --dir {where}: ")


def test_list_survives_unreadable_files(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_bytes(b"description: caf\xe9\n")
    (tmp_path / "b.yaml").write_text("description: x\ndescription: y\n")
    (tmp_path / "c.yaml").write_text("description: oops [/] tag. More.\n")
    assert main(["list", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("(unreadable)") == 2 and "oops [/] tag" in out


@pytest.fixture
def marked_up(tmp_path: Path, explicit_scenario: dict[str, Any]) -> Path:
    explicit_scenario.update(name="r[bold]x", description="oops [/] tag [bold]x\x1b[2J",
                             duration="2h")
    path = tmp_path / "we[ird].yaml"
    path.write_text(yaml.safe_dump(explicit_scenario))
    return path


def test_user_text_is_printed_as_text(marked_up: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def no_highlighting(self: Any, text: Any) -> None:
        raise AssertionError("user text went through rich's highlighter")

    monkeypatch.setattr(rich.highlighter.RegexHighlighter, "highlight", no_highlighting)
    assert main(["validate", str(marked_up)]) == 0
    out = capsys.readouterr().out
    assert "r[bold]x: oops [/] tag [bold]x\\x1b[2J" in out and "\x1b" not in out
    run_dir = tmp_path / "out[/]dir"
    assert main(["run", str(marked_up), "--out", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert f"run directory: {run_dir}" in out and "r[bold]x (seed 7)" in out
    assert json.loads((run_dir / "summary.json").read_text())["scenario"] == "r[bold]x"
    assert main(["validate", str(marked_up), "--set", "seed=-1"]) == 2
    err = capsys.readouterr().err
    assert f"error: {marked_up}: invalid scenario" in err and "seed: " in err


def test_a_long_description_is_printed_in_linear_time(
        tmp_path: Path, explicit_scenario: dict[str, Any],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation prints the description; rich's highlighter took time quadratic in its
    length (100,000 characters: two minutes). No highlighting, so no regex over it."""
    calls: list[int] = []
    original = rich.text.Text.highlight_regex

    def counted(self: Any, *args: Any, **kwargs: Any) -> int:
        calls.append(len(self.plain))
        return int(original(self, *args, **kwargs))

    monkeypatch.setattr(rich.text.Text, "highlight_regex", counted)
    explicit_scenario["description"] = "x." * 50_000
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(explicit_scenario))
    assert main(["validate", str(path)]) == 0
    assert "x." * 50_000 in capsys.readouterr().out.replace("\n", "")
    assert all(n < 1_000 for n in calls), calls


def test_export_and_compare_refuse_what_is_not_theirs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "data.csv").write_text("mine")
    assert main(["compare", "scenarios/quickstart.yaml", "--vary", "oss.crews.count=1,2",
                 "-n", "1", "--set", "duration=2d", "--out", str(mine), "-q"]) == 2
    err = capsys.readouterr().err
    assert "is not a directory a twin study wrote" in err and "choose another --out" in err
    assert [p.name for p in mine.iterdir()] == ["data.csv"]
    run = tmp_path / "run"
    (run / "tables").mkdir(parents=True)
    (run / "summary.json").write_text("{}")
    (run / "tables" / "alarms.parquet").write_bytes(b"")
    assert main(["export", str(run), "--api", "TMF642", "--out", str(mine)]) == 2
    err = capsys.readouterr().err
    assert "is not a TMF export directory" in err and "refusing" in err
    assert [p.name for p in mine.iterdir()] == ["data.csv"]


def test_the_report_draws_user_text_as_text(tmp_path: Path,
                                            explicit_scenario: dict[str, Any]) -> None:
    """Element ids label the timeline; a "$" in one started matplotlib's math notation and
    the report failed (``\\frac`` without its braces)."""
    odd = "c$\\frac{1}$[/]"
    explicit_scenario["network"]["elements"][1]["id"] = odd
    explicit_scenario["network"]["links"][0]["a"] = odd
    explicit_scenario["bss"]["catalog"]["currency"] = "$$$"
    explicit_scenario.update(duration="6h", faults={"scripted": [
        {"at": "1h", "target": odd, "mode": "element_failure"}]})
    run = twin.simulate(explicit_scenario, out=tmp_path / "run")
    assert len(list((run.path / "figures").glob("*.png"))) >= 3
    assert odd in (run.path / "report.html").read_text().replace("&#x27;", "'")
