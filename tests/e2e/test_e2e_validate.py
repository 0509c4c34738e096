"""End to end: `twin validate` and the bad-input contract of the CLI (exit 2, field named)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import twin.api
from twin.cli import main

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "scenarios" / "quickstart.yaml"


def words(text: str) -> str:
    """Console output with line wrapping undone."""
    return " ".join(text.split())


def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(QUICKSTART)]) == 0
    out = words(capsys.readouterr().out)
    assert "valid" in out and "quickstart" in out


def test_validate_with_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(QUICKSTART), "--set", "oss.crews.count=0"]) == 2
    assert "oss.crews.count:" in capsys.readouterr().err


def _wrong_type(d: dict[str, Any]) -> None:
    d["subscribers"]["count"] = "lots"


def _missing(d: dict[str, Any]) -> None:
    del d["start"]


def _unknown(d: dict[str, Any]) -> None:
    d["network"]["colour"] = "red"


def _bad_link(d: dict[str, Any]) -> None:
    d["network"]["links"][0]["b"] = "ghost"


def _bad_target(d: dict[str, Any]) -> None:
    d["faults"] = {"scripted": [{"at": "1h", "target": "cell9", "mode": "element_failure"}]}


def _bad_mix(d: dict[str, Any]) -> None:
    d["subscribers"]["mix"] = {"consumer_postpaid": 0.9}


BAD = [
    ("wrong type", _wrong_type, "subscribers.count:"),
    ("missing required field", _missing, "start: required field is missing"),
    ("unknown field", _unknown, "network.colour: unknown field"),
    ("link to a missing element", _bad_link, "network.links[0].b: unknown element 'ghost'"),
    ("unknown fault target", _bad_target, "faults.scripted[0].target: no element 'cell9'"),
    ("mix not adding to 1", _bad_mix, "subscribers.mix: shares must add up to 1"),
]


@pytest.mark.parametrize(("mutate", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_scenario_exits_2_naming_the_field(
        command: str, mutate: Any, expected: str, tmp_path: Path,
        explicit_scenario: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(explicit_scenario)
    mutate(data)
    path = write(tmp_path / "bad.yaml", data)
    out = tmp_path / "out"
    args = [command, str(path)] + (["--out", str(out)] if command == "run" else [])
    assert main(args) == 2
    captured = capsys.readouterr()
    err = words(captured.err)
    assert expected in err
    assert "invalid scenario" in err
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists()  # no run directory written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_bad_scenario_leaves_an_earlier_run_untouched(
        tmp_path: Path, explicit_scenario: dict[str, Any],
        capsys: pytest.CaptureFixture[str]) -> None:
    earlier = tmp_path / "runs" / "tiny"
    (earlier / "tables").mkdir(parents=True)
    (earlier / "summary.json").write_text('{"scenario": "earlier"}\n')
    (earlier / "tables" / "alarms.parquet").write_bytes(b"earlier table")
    before = {p: p.read_bytes() for p in earlier.rglob("*") if p.is_file()}
    explicit_scenario["network"]["links"][0]["b"] = "ghost"
    path = write(tmp_path / "bad.yaml", explicit_scenario)
    assert main(["run", str(path), "--out", str(earlier)]) == 2
    assert "network.links[0].b" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in earlier.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in earlier.parent.iterdir()) == ["tiny"]


def test_bad_override_on_a_good_scenario(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["run", str(QUICKSTART), "--out", str(out), "--set",
                 "faults.scripted[3].at=1d"]) == 2
    assert "faults.scripted[3].at" in words(capsys.readouterr().err)
    assert main(["run", str(QUICKSTART), "--out", str(out), "--set", "no-equals"]) == 2
    assert not out.exists()


def test_missing_scenario_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "no such scenario file" in words(capsys.readouterr().err)


def test_failed_run_leaves_an_earlier_run_untouched(
        tmp_path: Path, explicit_scenario: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that fails half way (here: summarising) raises, and writes nothing."""
    earlier = tmp_path / "run"
    earlier.mkdir()
    (earlier / "manifest.json").write_text('{"twin_version": "0.1.0"}\n')
    (earlier / "summary.json").write_text('{"scenario": "earlier"}\n')

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("summary failed")

    monkeypatch.setattr(twin.api, "summarize", broken)
    explicit_scenario["duration"] = "2h"
    with pytest.raises(RuntimeError, match="summary failed"):
        twin.simulate(explicit_scenario, out=earlier, report=False)
    assert (earlier / "summary.json").read_text() == '{"scenario": "earlier"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_failing_handler_fails_the_run_loudly(
        tmp_path: Path, explicit_scenario: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A BSS handler that raises is not swallowed by the bus: the run fails, nothing written."""
    from twin.bss import BusinessSupport

    def broken(self: Any, batch: Any) -> None:
        raise ValueError("rating exploded")

    monkeypatch.setattr(BusinessSupport, "on_usage", broken)
    explicit_scenario["duration"] = "2h"
    with pytest.raises(ValueError, match="rating exploded"):
        twin.simulate(explicit_scenario, out=tmp_path / "run", report=False)
    assert list(tmp_path.iterdir()) == []


def test_printed_paths_are_not_folded(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    deep = tmp_path / ("d" * 200) / ("e" * 200)
    (deep / "catalogs").mkdir(parents=True)
    shutil.copy(QUICKSTART, deep / "s.yaml")
    shutil.copy(REPO / "scenarios" / "catalogs" / "default.yaml", deep / "catalogs")
    assert main(["validate", str(deep / "s.yaml")]) == 0
    out = capsys.readouterr().out
    assert str(deep / "s.yaml") in out
