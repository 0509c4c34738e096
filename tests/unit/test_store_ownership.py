"""Output directories: the twin replaces only its own, swaps atomically, cleans what dead runs
left, and reports write errors in one line — never destroying what it did not create."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from twin.store import rundir
from twin.store.rundir import (
    OutputError,
    OutputWriteError,
    RunDirectory,
    check_target,
    clean_stale,
    kind_of,
)

MANIFEST = json.dumps({"twin_version": "0.1.0", "scenario": "s"})


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def earlier_run(path: Path, marker: str = "earlier") -> Path:
    (path / "tables").mkdir(parents=True)
    (path / "manifest.json").write_text(MANIFEST)
    (path / "summary.json").write_text(json.dumps({"scenario": marker}))
    return path


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_what_counts_as_the_twins(tmp_path: Path) -> None:
    assert kind_of(earlier_run(tmp_path / "run")) == "run"
    cmp = tmp_path / "cmp"
    cmp.mkdir()
    (cmp / "manifest.json").write_text(json.dumps({"twin_version": "0.1.0",
                                                   "kind": "comparison"}))
    assert kind_of(cmp) == "comparison"
    tmf = tmp_path / "tmf"
    tmf.mkdir()
    (tmf / "TMF642-alarm.json").write_text("[]")
    assert kind_of(tmf) == "export"
    (tmp_path / "empty").mkdir()
    assert kind_of(tmp_path / "empty") == "empty"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "manifest.json").write_text('{"name": "my own manifest"}')
    assert kind_of(mine) is None
    (tmf / "notes.txt").write_text("mine")
    assert kind_of(tmf) is None  # an export with a user's file in it is no longer ours


@pytest.mark.parametrize(("make", "kind", "words"), [
    (lambda p: p.write_text("a file"), "run", "exists and is not a directory"),
    (lambda p: (p.mkdir(), (p / "thesis.tex").write_text("years")), "run",
     "is not a run directory (no twin manifest.json); refusing to replace it"),
    (lambda p: (p.mkdir(), (p / "manifest.json").write_text(
        '{"twin_version": "0", "kind": "comparison"}')), "run",
     "is a comparison directory, not a run directory"),
    (lambda p: earlier_run(p), "export", "is a run directory, not a TMF export directory"),
])
def test_anything_else_is_refused(tmp_path: Path, make, kind: str, words: str) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "target"
    make(target)
    before = snapshot(tmp_path)
    with pytest.raises(OutputError, match=r"refusing|not a directory") as info, \
            RunDirectory(target, kind=kind) as rd:  # type: ignore[arg-type]
        rd.commit()
    assert words in str(info.value) and "\n" not in str(info.value)
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]


def test_a_parent_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is not a directory"):
        check_target(tmp_path / "file" / "sub" / "run", "run")


def test_an_empty_directory_or_an_earlier_run_is_replaced(tmp_path: Path) -> None:
    for target in (tmp_path / "empty", earlier_run(tmp_path / "run")):
        target.mkdir(exist_ok=True)
        with RunDirectory(target) as rd:
            rd.write_text("manifest.json", MANIFEST)
            rd.write_text("new.txt", "new")
            rd.commit()
        assert (target / "new.txt").read_text() == "new"
        assert not (target / "summary.json").exists()
        assert not (target / rundir.OWNER).exists()  # the owner file stays behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "run"]


def test_the_swap_is_one_exchange_on_linux(tmp_path: Path) -> None:
    if rundir._renameat2_fn is None:
        pytest.skip("renameat2 is Linux (glibc ≥ 2.28) only")
    target = earlier_run(tmp_path / "run")
    with RunDirectory(target) as rd:
        rd.write_text("manifest.json", MANIFEST)
        inode = rd.tmp.stat().st_ino
        rd.commit()
    assert target.stat().st_ino == inode  # the partial directory itself, now at the target


def test_fallback_swap_of_two_renames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rundir, "renameat2", lambda *a: False)
    target = earlier_run(tmp_path / "run")
    with RunDirectory(target) as rd:
        rd.write_text("manifest.json", MANIFEST)
        rd.write_text("new.txt", "new")
        rd.commit()
    assert (target / "new.txt").exists() and not (target / "summary.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_fallback_cut_between_its_renames_puts_the_old_run_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rundir, "renameat2", lambda *a: False)
    target = earlier_run(tmp_path / "run")
    before = snapshot(target)
    real_rename = os.rename
    calls = []

    def second_fails(src: str, dst: str) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EIO, "I/O error")
        real_rename(src, dst)

    monkeypatch.setattr(rundir.os, "rename", second_fails)
    with pytest.raises(OutputWriteError, match="I/O error"), RunDirectory(target) as rd:
        rd.write_text("manifest.json", MANIFEST)
        rd.commit()
    monkeypatch.setattr(rundir.os, "rename", real_rename)
    assert snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_kill_between_the_fallback_renames_is_repaired_by_the_next_run(
        tmp_path: Path) -> None:
    aside = tmp_path / f".run.old-{dead_pid()}-0123abcd"  # the state such a kill leaves
    earlier_run(aside)
    restored = clean_stale(tmp_path)
    assert restored == [aside]
    assert kind_of(tmp_path / "run") == "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def partial(parent: Path, pid: int, owner: dict[str, object] | None,
            content: str | None = "half a table") -> Path:
    path = parent / f".run.partial-{pid}-{os.urandom(4).hex()}"
    (path / "tables").mkdir(parents=True)
    if content is not None:
        (path / "tables" / "t.parquet").write_text(content)
    if owner is not None:
        (path / rundir.OWNER).write_text(json.dumps(owner))
    return path


def test_stale_partials_of_dead_processes_go_live_ones_stay(tmp_path: Path) -> None:
    here = socket.gethostname()
    me = rundir._owner()
    dead = dead_pid()
    gone = partial(tmp_path, dead, {"pid": dead, "host": here, "started": None})
    live = partial(tmp_path, os.getpid(), me)
    reused = partial(tmp_path, os.getpid(), {**me, "started": (me["started"] or 0) + 1})
    elsewhere = partial(tmp_path, dead, {"pid": dead, "host": f"not-{here}", "started": None})
    ownerless_ours = partial(tmp_path, dead, None, content=None)  # cut right after mkdir
    (ownerless_ours / "tables").rmdir()
    ownerless_other = partial(tmp_path, dead, None)  # no owner, content not the twin's
    user = tmp_path / ".run.partial-notes"
    user.mkdir()
    # killed between mkdir and its owner file, or while writing it: nothing else inside
    empty = tmp_path / f".empty.partial-{dead}-0000aaa1"
    empty.mkdir()
    half_owner = tmp_path / f".half.partial-{dead}-0000aaa2"
    half_owner.mkdir()
    (half_owner / rundir.OWNER).write_text('{"pid": ')
    half_owner_other = tmp_path / f".other.partial-{dead}-0000aaa3"  # and something not ours
    half_owner_other.mkdir()
    (half_owner_other / rundir.OWNER).write_text('{"pid": ')
    (half_owner_other / "notes.txt").write_text("mine")
    removed = clean_stale(tmp_path)
    assert sorted(removed) == sorted([gone, reused, ownerless_ours, empty, half_owner])
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(p.name for p in (live, elsewhere, ownerless_other, user,
                                           half_owner_other))


def test_a_new_run_cleans_the_leftovers_beside_it(tmp_path: Path) -> None:
    dead = dead_pid()
    gone = partial(tmp_path, dead, {"pid": dead, "host": socket.gethostname(),
                                    "started": None})
    with RunDirectory(tmp_path / "other") as rd:
        assert not gone.exists()
        assert json.loads((rd.tmp / rundir.OWNER).read_text())["pid"] == os.getpid()
        assert rd.tmp.name.startswith(f".other.partial-{os.getpid()}-")
        rd.commit()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EFBIG, errno.EROFS, errno.EACCES])
def test_write_errors_are_one_line_and_leave_the_earlier_run(tmp_path: Path,
                                                              code: int) -> None:
    target = earlier_run(tmp_path / "run")
    before = snapshot(target)
    with pytest.raises(OutputWriteError) as info, RunDirectory(target) as rd:
        rd.write_text("half.txt", "x")
        raise OSError(code, os.strerror(code))
    assert str(info.value) == (f"{target}: cannot write the run output: "
                               f"{os.strerror(code)}")
    assert snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_program_error_is_not_dressed_as_a_write_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), RunDirectory(tmp_path / "run"):
        raise FileNotFoundError(errno.ENOENT, "a bug, not the disk")
    assert list(tmp_path.iterdir()) == []


def test_cannot_create_the_partial_is_an_output_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(OutputError, match=r"cannot write in .*: Permission denied"), \
            RunDirectory(tmp_path / "run"):
        pass
