"""Where the twin writes: only to a new path or over its own output, errors in one line.

Each README promise about output is checked through the installed command: a target that is
not the twin's is refused with exit 2 and left as it was (a user's directory, a file, a
comparison where a run was asked for); a scenario name cannot point outside ``runs/``; a
parent that is a file, a read-only file system and a full disk each give one line, exit 2
(before running) or 1 (while writing), and an earlier run stays whole; a run that fails
exits 1 and writes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import ENV, REPO, earlier_run, snapshot, twin

from twin.cli import main

SHORT = ["-q", "--set", "duration=2h"]


@pytest.fixture
def tiny(tmp_path: Path, explicit_scenario: dict[str, Any]) -> Path:
    explicit_scenario["duration"] = "2h"
    path = tmp_path / "scenario" / "tiny.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(explicit_scenario))
    return path


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_a_users_directory_is_refused_and_left_alone(tmp_path: Path, tiny: Path) -> None:
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("three years of work")
    proc = twin("run", str(tiny), "--out", str(mine), *SHORT)
    assert proc.returncode == 2
    line = one_error_line(proc.stderr)
    assert "is not a run directory" in line and "refusing to replace it" in line
    assert (mine / "chapter1.tex").read_text() == "three years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario", "thesis"]


def test_a_file_is_refused_and_left_alone(tmp_path: Path, tiny: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    proc = twin("run", str(tiny), "--out", str(notes), *SHORT)
    assert proc.returncode == 2
    assert "exists and is not a directory" in one_error_line(proc.stderr)
    assert notes.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "scenario"]


def test_an_earlier_run_is_replaced(tmp_path: Path, tiny: Path) -> None:
    out = tmp_path / "run"
    earlier_run(out)
    proc = twin("run", str(tiny), "--out", str(out), *SHORT)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "summary.json").read_text())["scenario"] == "tiny"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "scenario"]


def test_other_outputs_are_not_replaced_by_a_run(tmp_path: Path, tiny: Path) -> None:
    cmp = tmp_path / "cmp"
    cmp.mkdir()
    (cmp / "manifest.json").write_text(json.dumps({"twin_version": "0.1.0",
                                                   "kind": "comparison"}))
    proc = twin("run", str(tiny), "--out", str(cmp), *SHORT)
    assert proc.returncode == 2
    assert "is a comparison directory, not a run directory" in one_error_line(proc.stderr)
    export = twin("export", str(tmp_path), "--out", str(cmp))
    assert export.returncode == 2 and "not a run directory" in export.stderr


@pytest.mark.parametrize("name", ["..", ".", "/tmp/elsewhere", "a/../../b", ".hidden"])
def test_a_scenario_name_cannot_point_outside_runs(
        tmp_path: Path, tiny: Path, name: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("the current directory")
    monkeypatch.chdir(work)  # `twin run` without --out writes runs/<name> here
    assert main(["run", str(tiny), "--set", f"name={name}", *SHORT]) == 2
    assert "name: must be a plain name" in capsys.readouterr().err
    assert sorted(p.name for p in work.iterdir()) == ["keep.txt"]


def test_an_invalid_scenario_writes_nothing(tmp_path: Path, tiny: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs" / "x"
    assert main(["run", str(tiny), "--out", str(out), "--set", "subscribers.count=-1"]) == 2
    assert "subscribers.count: " in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_parent_that_is_a_file_is_one_line(tmp_path: Path, tiny: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    assert main(["run", str(tiny), "--out", str(tmp_path / "file" / "run"), *SHORT]) == 2
    assert "is not a directory" in one_error_line(capsys.readouterr().err)


def test_a_run_that_fails_exits_1_and_writes_nothing(tmp_path: Path, tiny: Path) -> None:
    out = tmp_path / "run"
    before = earlier_run(out)
    broken = ("import sys, twin.api\n"
              "def boom(*a, **k): raise RuntimeError('summary failed')\n"
              "twin.api.summarize = boom\n"
              "from twin.cli import run\n"
              "sys.argv = ['twin', *sys.argv[1:]]\nrun()\n")
    proc = subprocess.run([sys.executable, "-c", broken, "run", str(tiny), "--out", str(out),
                           "-q"], env=ENV, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "summary failed" in proc.stderr
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "scenario"]


# --- the file system refuses: a small or read-only one of our own (root, Linux) -----------


def in_own_mounts(script: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (sh) in a private mount namespace: its mounts vanish with it."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) to mount a small file system privately")
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces unavailable: {probe.stderr!r}")
    env = {**ENV, "TWIN": str(Path(sys.executable).parent / "twin"), "T": str(tmp_path)}
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           script], env=env, capture_output=True, text=True, timeout=600,
                          check=False, cwd=REPO)


def test_a_full_disk_is_one_line_and_the_earlier_run_stays(tmp_path: Path) -> None:
    # an earlier run on a 1 MB file system; the next run cannot fit beside it
    earlier_run(tmp_path / "earlier")
    script = """
set -u
mkdir -p "$T/disk" "$T/seen"
mount -t tmpfs -o size=1m tmpfs "$T/disk" || exit 90
cp -a "$T/earlier" "$T/disk/run"
"$TWIN" run scenarios/quickstart.yaml -q --out "$T/disk/run" --set duration=2d \
    >/dev/null 2>"$T/seen/stderr"
echo $? > "$T/seen/code"
ls -A "$T/disk" > "$T/seen/listing"
cp -a "$T/disk/run" "$T/seen/after"
"""
    proc = in_own_mounts(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    seen = tmp_path / "seen"
    err = (seen / "stderr").read_text()
    assert (seen / "code").read_text().strip() == "1", err
    line = one_error_line(err)
    assert "No space left on device" in line and "cannot write" in line
    assert (seen / "listing").read_text().split() == ["run"]  # no partial left behind
    assert snapshot(seen / "after") == snapshot(tmp_path / "earlier")


def test_a_read_only_file_system_is_one_line_exit_2(tmp_path: Path, tiny: Path) -> None:
    earlier_run(tmp_path / "earlier")
    script = """
set -u
mkdir -p "$T/ro" "$T/seen"
mount -t tmpfs -o size=1m tmpfs "$T/ro" || exit 90
cp -a "$T/earlier" "$T/ro/run"
mount -o remount,ro "$T/ro" || exit 92
"$TWIN" run "$T/scenario/tiny.yaml" -q --out "$T/ro/run" >/dev/null 2>"$T/seen/stderr"
echo $? > "$T/seen/code"
"$TWIN" run "$T/scenario/tiny.yaml" -q --out "$T/ro/new/run" >/dev/null 2>>"$T/seen/stderr"
echo $? >> "$T/seen/code"
cp -a "$T/ro/run" "$T/seen/after"
"""
    proc = in_own_mounts(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    seen = tmp_path / "seen"
    err = (seen / "stderr").read_text()
    assert (seen / "code").read_text().split() == ["2", "2"], err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and all("Read-only file system" in x for x in lines), err
    assert snapshot(seen / "after") == snapshot(tmp_path / "earlier")


def test_a_file_too_large_while_writing_is_one_line_exit_1(tmp_path: Path) -> None:
    import resource
    import signal

    def limit() -> None:  # a file-size limit: writes past 1 MB fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20))

    out = tmp_path / "run"
    before = earlier_run(out)
    proc = subprocess.run([str(Path(sys.executable).parent / "twin"), "run",
                           "scenarios/quickstart.yaml", "-q", "--set", "duration=2d", "--out",
                           str(out)], cwd=REPO, env=ENV, capture_output=True, text=True,
                          timeout=600, check=False, preexec_fn=limit)
    assert proc.returncode == 1, proc.stderr
    assert "File too large" in one_error_line(proc.stderr)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
