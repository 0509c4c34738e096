"""The mutation screen (``python -m tests.mutation_report screen``) on a made-up module: a
mutant that breaks what a test checks is killed, one that does not survives, and tests
that fail without any mutant stop the screen instead of counting kills."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# tests/ is not a package on pytest's path: load the report module from its file
_SPEC = importlib.util.spec_from_file_location(
    "mutation_report", Path(__file__).resolve().parents[1] / "mutation_report.py")
assert _SPEC is not None and _SPEC.loader is not None
mutation_report = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(mutation_report)

MODULE = "twin/bss/rating.py"  # screened with its listed test files, made up here
KILLS, SURVIVES = "pkgx.f__mutmut_1", "pkgx.f__mutmut_2"


def fake_mutants(root: Path, expected: int, killed_by: str = "return 2") -> None:
    """A module whose function is mutated the way mutmut's trampolines do it (by
    MUTANT_UNDER_TEST), its generated-mutants file, and the screen's test files."""
    (root / "pkgx").mkdir(parents=True)
    (root / "pkgx" / "__init__.py").write_text(
        "import os\n\n"
        "def f() -> int:\n"
        f"    if os.environ.get('MUTANT_UNDER_TEST') == '{KILLS}':\n"
        f"        {killed_by}\n"
        "    return 1  # the other mutant changes nothing a test can see\n")
    (root / "twin" / "bss").mkdir(parents=True)
    (root / f"{MODULE}.meta").write_text(json.dumps(
        {"exit_code_by_key": {KILLS: None, SURVIVES: None}}))
    unit = root / "tests" / "unit"
    unit.mkdir(parents=True)
    for name in mutation_report.SCREEN_TESTS[MODULE]:
        (unit / name).write_text("def test_nothing() -> None:\n    pass\n")
    (unit / mutation_report.SCREEN_TESTS[MODULE][0]).write_text(
        "from pkgx import f\n\n\ndef test_f() -> None:\n"
        f"    assert f() == {expected}\n")


def screen(root: Path, *shard: str, **env: str) -> subprocess.CompletedProcess[str]:
    (root / "screen").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "tests.mutation_report", "_screen", MODULE, *shard],
        cwd=mutation_report.REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TWIN_MUTANTS_DIR": str(root), **env})


def test_a_mutant_a_test_sees_is_killed_and_one_it_cannot_survives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_mutants(tmp_path, expected=1)
    done = screen(tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "screen" / "rating.json").read_text()) == {
        KILLS: 1, SURVIVES: 0}
    monkeypatch.setattr(mutation_report, "MUTANTS", tmp_path)
    monkeypatch.setattr(mutation_report, "SCREEN", tmp_path / "screen")
    assert "| `twin/bss/rating.py` | 2 | 1 | 1 | 0 | 0 | 50.0% |" in \
        mutation_report.screen_table()


def test_a_mutant_asking_for_too_much_memory_is_killed_not_the_worker(
        tmp_path: Path) -> None:
    """The worker's address space is capped: a mutant reserving 6 GiB (untouched, so
    harmless without the cap) fails its test with MemoryError under a 2 GiB cap, and the
    worker goes on to the next mutant."""
    fake_mutants(tmp_path, expected=1,
                 killed_by="import numpy; numpy.empty(6 << 30, numpy.uint8); return 1")
    done = screen(tmp_path, TWIN_SCREEN_MEMORY_GB="2")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "screen" / "rating.json").read_text()) == {
        KILLS: 1, SURVIVES: 0}


def test_tests_that_fail_without_a_mutant_stop_the_screen(tmp_path: Path) -> None:
    fake_mutants(tmp_path, expected=3)  # wrong whatever the mutant
    done = screen(tmp_path)
    assert done.returncode == 1
    assert "fail without a mutant" in done.stderr
    assert not (tmp_path / "screen" / "rating.json").exists()  # no kills counted


def test_two_workers_share_a_module_and_its_results(tmp_path: Path) -> None:
    """A lone module is split: each worker screens every other mutant into the same
    results."""
    fake_mutants(tmp_path, expected=1)
    first = screen(tmp_path, "0", "2")
    assert first.returncode == 0, first.stderr
    assert json.loads((tmp_path / "screen" / "rating.json").read_text()) == {KILLS: 1}
    assert "screened 1 mutants" in first.stderr
    second = screen(tmp_path, "1", "2")
    assert second.returncode == 0, second.stderr
    assert json.loads((tmp_path / "screen" / "rating.json").read_text()) == {
        KILLS: 1, SURVIVES: 0}


def test_a_second_screen_waits_for_the_first(tmp_path: Path) -> None:
    """While a screen runs (it holds the lock), another is refused before it touches the
    tests the first one is running."""
    import fcntl

    fake_mutants(tmp_path, expected=1)
    (tmp_path / "screen").mkdir()
    with open(tmp_path / "screen" / ".screen.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = subprocess.run(
            [sys.executable, "-m", "tests.mutation_report", "screen", MODULE],
            cwd=mutation_report.REPO, capture_output=True, text=True, timeout=300,
            env={**os.environ, "TWIN_MUTANTS_DIR": str(tmp_path)})
    assert done.returncode != 0
    assert "another mutation screen is running" in done.stderr
    assert not (tmp_path / "tests" / "conftest.py").exists()  # its tests left alone
