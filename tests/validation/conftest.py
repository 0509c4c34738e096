"""Validation runs are many and large: each test gets its own system temporary folder, which
must be empty when it ends (a run written without ``out=`` would leave its directory there)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def leaves_no_temporary_files(tmp_path_factory: pytest.TempPathFactory,
                              monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    scratch: Path = tmp_path_factory.mktemp("system-tmp")
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield
    left = sorted(p.name for p in scratch.iterdir())
    assert not left, f"left in the system temporary folder: {left}"
