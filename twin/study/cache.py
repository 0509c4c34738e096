"""Run results kept by content, so that nothing runs twice.

A run is known by a key: the SHA-256 of the resolved scenario (YAML, with the run's seed), the
seed and the twin's code version. Two variants that resolve to the same scenario share one run;
a sweep re-run or resumed after an interruption finds every finished run under its key and
runs only the rest. The code version is the release number plus a digest of the package's
source (the modules a run executes), so an edited model never reuses the results of an older
one.

The cache is a directory of small JSON files (``<key>.json``: the run's summary and where and
how fast it ran), each written whole — to a temporary name, then renamed — so an interrupted
sweep leaves finished entries and nothing half-written.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import twin

# Code a run does not execute: the study machinery itself, the CLI, figures and export.
# Editing them keeps the cache; editing anything else (the model) empties it.
NOT_IN_A_RUN = ("study/", "cli.py", "compare.py", "report/", "export.py")


@functools.cache
def code_version() -> str:
    """``0.1.0+3f2a9c1d0b4e``: the release and a digest of the source a run executes."""
    root = Path(twin.__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(NOT_IN_A_RUN):
            continue
        digest.update(rel.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return f"{twin.__version__}+{digest.hexdigest()[:12]}"


def run_key(scenario_yaml: str, seed: int, version: str) -> str:
    """The key of one run: hash of the resolved scenario, the seed and the code version."""
    h = hashlib.sha256()
    for part in (version, str(int(seed)), scenario_yaml):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary name, then a rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class ResultCache:
    """Finished runs by key, as ``<directory>/<key>.json``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._path(key).is_file()

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return record if record.get("key") == key else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomic(self._path(key), json.dumps({**record, "key": key}, sort_keys=True))

    def keys(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json"))
