"""The run directory, written atomically.

Everything is written into a hidden temporary directory beside the target and renamed into
place only when the run is complete, so an interrupted or failed run never leaves a
half-written directory under the final name — and an earlier run there stays untouched
until the new one is whole.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any


class RunDirectory:
    def __init__(self, final: Path) -> None:
        self.final = Path(final).resolve()
        self.tmp = self.final.parent / f".{self.final.name}.partial-{uuid.uuid4().hex[:8]}"

    @property
    def tables(self) -> Path:
        return self.tmp / "tables"

    def __enter__(self) -> RunDirectory:
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.tables.mkdir(parents=True)
        (self.tmp / "figures").mkdir()
        return self

    def write_text(self, name: str, text: str) -> None:
        (self.tmp / name).write_text(text, encoding="utf-8")

    def write_json(self, name: str, data: Any) -> None:
        self.write_text(name, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")

    def commit(self) -> Path:
        old = None
        if self.final.exists():
            old = self.final.parent / f".{self.final.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(self.final, old)
        os.rename(self.tmp, self.final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.final

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
