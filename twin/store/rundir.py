"""Output directories, written atomically and only ever over what the twin wrote.

A run directory (and a comparison's or a TMF export's) is written into a hidden *partial*
directory beside its target, ``.<name>.partial-<pid>-<random>``, and swapped into place only
when complete, so an interrupted or failed run never leaves a half-written directory under
the final name, and an earlier one there stays whole until the new one replaces it.

* **Ownership.** The twin replaces a target only if it is absent, an empty directory, or an
  earlier output of the same kind: a run directory (``manifest.json`` with ``twin_version``),
  a comparison (the same, with ``"kind": "comparison"``), or a TMF export (nothing but
  ``TMFnnn-resource.json`` files). Anything else — a file, a user's directory, another kind
  of output — is refused with :class:`OutputError` before anything runs.
* **The swap.** On Linux the new directory and the old one trade places in one
  ``renameat2(RENAME_EXCHANGE)`` call, so a kill at any instant leaves either the old or the
  new output at the target, never neither. Where that call is missing (other systems, file
  systems without it) two renames are used — target aside to ``.<name>.old-<pid>-<random>``,
  partial into place — and the next output into the same directory puts an old directory
  back if a kill fell between them.
* **Leftovers.** A partial directory holds ``owner.json`` (pid, host, process start time)
  until the swap; its name carries the pid too. Leftovers of processes that are dead (on this
  host) are removed at the start of the next output into the same directory; those of live
  processes, of other hosts, or not recognisably the twin's are left alone.
* **Write errors.** No space left, a file too large, a read-only file system part-way: the
  partial directory is removed and :class:`OutputWriteError` says what failed in one line.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import json
import os
import re
import secrets
import shutil
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

Kind = Literal["run", "comparison", "export"]
MANIFEST = "manifest.json"
OWNER = "owner.json"
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<what>partial|old)-(?P<pid>\d+)-[0-9a-f]{8}$")
_EXPORT_FILE = re.compile(r"^TMF\d{3}-[A-Za-z]+\.json$")
# errors of the storage rather than of the program: reported in one line, not a traceback
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO,
                            errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EMLINK})
_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2
_AT_FDCWD = -100


class OutputError(ValueError):
    """An output target the twin will not or cannot write to; nothing was written."""


class OutputWriteError(OSError):
    """Writing an output failed part-way (no space left, …). The partial output is gone and an
    earlier output at the target is untouched."""


# --- what a directory is -----------------------------------------------------------------------


def kind_of(path: Path) -> Kind | Literal["empty"] | None:
    """The twin output a directory holds, ``"empty"``, or None (not recognisably the twin's)."""
    try:
        names = [e.name for e in os.scandir(path)]
    except OSError:
        return None
    if not names:
        return "empty"
    if MANIFEST in names:
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if isinstance(manifest, dict) and "twin_version" in manifest:
            kind = manifest.get("kind", "run")
            return kind if kind in ("run", "comparison") else None
        return None
    if all(_EXPORT_FILE.match(n) and (path / n).is_file() for n in names):
        return "export"
    return None


_NOUN = {"run": "a run directory", "comparison": "a comparison directory",
         "export": "a TMF export directory"}


def check_target(final: Path, kind: Kind) -> None:
    """Raise :class:`OutputError` unless ``final`` may be written: absent, an empty directory
    or an earlier output of ``kind``."""
    if final.name in ("", ".", ".."):
        raise OutputError(f"{final}: not a usable output path")
    if not os.path.lexists(final):
        parent = final.parent
        while not os.path.lexists(parent) and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise OutputError(f"{final}: cannot create it, {parent} is not a directory")
        return
    if not final.is_dir():
        raise OutputError(f"{final}: exists and is not a directory; give a new path "
                          f"(the twin replaces only its own {kind} output)")
    found = kind_of(final)
    if found in ("empty", kind):
        return
    what = _NOUN[found] if found in _NOUN else f"not {_NOUN[kind]} (no twin manifest.json)"
    if found in _NOUN:
        what = f"{what}, not {_NOUN[kind]}"
    raise OutputError(f"{final}: exists and is {what}; refusing to replace it, give a new "
                      f"path")


# --- owners of leftovers ----------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of a process, from /proc; None if
    unknown."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # after "pid (comm) "
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def _alive(pid: int, started: int | None) -> bool:
    """Whether process ``pid`` (started at ``started`` ticks, if known) still runs here."""
    if os.name != "posix":
        return True  # no safe liveness test: never treat another's leftover as dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, start = stat
    if state == "Z":  # exited, not yet reaped
        return False
    return started is None or start == started


def _owner() -> dict[str, Any]:
    stat = _proc_stat(os.getpid())
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": stat[1] if stat else None}


def _stale(path: Path, pid_in_name: int) -> bool:
    """A leftover of a process that has died on this host (and so safe to remove)."""
    try:
        owner = json.loads((path / OWNER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        owner = None
    except (OSError, ValueError):
        owner = None  # cut while its owner file was written: only an otherwise empty one goes
        if _contents(path) != {OWNER}:
            return False
    if isinstance(owner, dict):
        pid, started = owner.get("pid"), owner.get("started")
        if owner.get("host") != socket.gethostname() or not isinstance(pid, int):
            return False
        return not _alive(pid, started if isinstance(started, int) else None)
    # no owner file (cut right after mkdir, or an old output swapped out): trust the name's
    # pid only for content that is recognisably the twin's, or for nothing at all
    contents = _contents(path)
    ours = kind_of(path) is not None or (contents is not None and contents <= {OWNER})
    return ours and not _alive(pid_in_name, None)


def _contents(path: Path) -> set[str] | None:
    """The names in ``path``; None if it cannot be listed (then it is left alone)."""
    try:
        return set(os.listdir(path))
    except OSError:
        return None


def remove(path: Path) -> None:
    """Remove an output directory of ours, its owner file and manifest last: a process killed
    part-way leaves what the next run still recognises as its own (and removes)."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    last = [e for e in entries if e.name in (OWNER, MANIFEST)]
    for entry in [e for e in entries if e.name not in (OWNER, MANIFEST)] + last:
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
    with contextlib.suppress(OSError):
        os.rmdir(path)


def clean_stale(parent: Path) -> list[Path]:
    """Remove the partial (and swapped-out) directories dead twin processes left in
    ``parent``; put back an old output a cut fallback swap left aside. Returns what was
    removed or restored."""
    done: list[Path] = []
    try:
        entries = sorted(os.scandir(parent), key=lambda e: e.name)
    except OSError:
        return done
    for entry in entries:
        m = _LEFTOVER.match(entry.name)
        if m is None or not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        if not _stale(path, int(m["pid"])):
            continue
        target = parent / m["name"]
        if m["what"] == "old" and not os.path.lexists(target):
            os.rename(path, target)  # the new output never arrived: the old one goes back
        else:
            remove(path)
        done.append(path)
    return done


# --- the swap -------------------------------------------------------------------------------


def _libc_renameat2() -> Callable[..., int] | None:
    if not hasattr(os, "fsencode") or os.uname().sysname != "Linux":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    fn = getattr(libc, "renameat2", None)  # glibc ≥ 2.28
    if fn is None:
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                   ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_renameat2_fn = _libc_renameat2() if os.name == "posix" else None


def renameat2(src: Path, dst: Path, flags: int) -> bool:
    """``renameat2(src, dst, flags)``; False where the system or file system lacks it."""
    if _renameat2_fn is None:
        return False
    if _renameat2_fn(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(src), None, str(dst))


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait while the swap's few system calls run."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _storage_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS


class RunDirectory:
    """``with RunDirectory(target) as rd:`` write into ``rd.tmp``, then ``rd.commit()``."""

    def __init__(self, final: Path, kind: Kind = "run") -> None:
        self.final = Path(final).resolve()  # a link to a run directory: replace its target
        self.kind = kind
        self.tmp = self.final.parent / (f".{self.final.name}.partial-{os.getpid()}-"
                                        f"{secrets.token_hex(4)}")
        self._aside: Path | None = None  # fallback swap: the old output, moved aside
        self.committed = False

    @property
    def tables(self) -> Path:
        return self.tmp / "tables"

    def __enter__(self) -> RunDirectory:
        check_target(self.final, self.kind)
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            clean_stale(self.final.parent)
            self.tmp.mkdir()
        except OSError as exc:
            raise OutputError(f"{self.final}: cannot write in {self.final.parent}: "
                              f"{exc.strerror or exc}") from None
        try:
            self.write_json(OWNER, _owner())
            if self.kind == "run":
                self.tables.mkdir()
                (self.tmp / "figures").mkdir()
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        return self

    def write_text(self, name: str, text: str) -> None:
        (self.tmp / name).write_text(text, encoding="utf-8")

    def write_json(self, name: str, data: Any) -> None:
        self.write_text(name, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")

    def commit(self) -> Path:
        """Swap the finished output into place; the old one, if any, is then removed."""
        check_target(self.final, self.kind)  # something may have appeared meanwhile
        with _signals_held():
            (self.tmp / OWNER).unlink()
            if not os.path.lexists(self.final):
                if not renameat2(self.tmp, self.final, _RENAME_NOREPLACE):
                    os.rename(self.tmp, self.final)
            elif not renameat2(self.tmp, self.final, _RENAME_EXCHANGE):
                self._aside = self.final.parent / (f".{self.final.name}.old-{os.getpid()}-"
                                                   f"{secrets.token_hex(4)}")
                os.rename(self.final, self._aside)
                os.rename(self.tmp, self.final)
                self.tmp, self._aside = self._aside, None
            self.committed = True
        # after an exchange the old output sits at the partial's name
        remove(self.tmp)
        return self.final

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            return
        if self._aside is not None and not os.path.lexists(self.final):
            os.rename(self._aside, self.final)  # cut between the fallback's two renames
        remove(self.tmp)
        if _storage_error(exc) and not isinstance(exc, OutputWriteError):
            assert isinstance(exc, OSError)
            raise OutputWriteError(f"{self.final}: cannot write the {self.kind} output: "
                                   f"{exc.strerror or exc}") from exc
