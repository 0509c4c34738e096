"""Integration-test fixtures: scenario runs cached per pytest worker.

Tests asking ``run_scenario`` for the same scenario, seed, overrides and report flag share
one simulation. Helpers live in ``support.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import twin

from .support import RunScenario


@pytest.fixture(scope="session")
def run_scenario(tmp_path_factory: pytest.TempPathFactory) -> RunScenario:
    """``run_scenario(path, seed=None, overrides=(), report=False)`` → a cached :class:`Run`."""
    cache: dict[tuple[Any, ...], twin.Run] = {}

    def run(scenario: str | Path, *, seed: int | None = None, overrides: Iterable[str] = (),
            report: bool = False) -> twin.Run:
        overrides = tuple(overrides)
        key = (str(scenario), seed, overrides, report)
        if key not in cache:
            out = tmp_path_factory.mktemp(Path(scenario).stem) / "run"
            cache[key] = twin.simulate(scenario, seed=seed, overrides=overrides, out=out,
                                       report=report)
        return cache[key]

    return run
