"""Shared fixtures for the unit and end-to-end tests: tiny scenarios built as dicts."""

from __future__ import annotations

import copy
import gc
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, settings

# One Hypothesis profile for CI and local runs: derandomised (each test's examples follow from
# its name, so a failure reproduces on any machine), no example database, no deadline (the
# machine is shared), and a failing example printed with the blob that replays it.
# HYPOTHESIS_PROFILE=explore draws fresh random examples, ten times as many.
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, print_blob=True, max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("explore", settings.get_profile("ci"), derandomize=False,
                          max_examples=2000)
# Under mutation testing (mutmut sets MUTANT_UNDER_TEST) a failing example only has to
# fail: shrinking it would cost most of a killed mutant's time.
settings.register_profile("mutation", settings.get_profile("ci"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
HYPOTHESIS_PROFILE = os.environ.get(
    "HYPOTHESIS_PROFILE", "mutation" if os.environ.get("MUTANT_UNDER_TEST") else "ci")
settings.load_profile(HYPOTHESIS_PROFILE)

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
CATALOG_PATH = SCENARIOS / "catalogs" / "default.yaml"
START = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    """Under ``make mutation``'s traced run, no garbage collection while mutmut reads its set.

    mutmut records every call of a mutated function in a set and iterates over it at each
    test's teardown; a finaliser run by the collector in that loop (a simpy generator closed,
    say) calls a mutated function and the loop fails with "Set changed size during iteration".
    """
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return (yield)
    gc.collect()
    gc.disable()
    try:
        return (yield)
    finally:
        gc.enable()


@pytest.fixture(scope="session")
def default_catalog() -> dict[str, Any]:
    """The default product catalog as a mapping (for inlining into dict scenarios)."""
    data: dict[str, Any] = yaml.safe_load(CATALOG_PATH.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def explicit_scenario(default_catalog: dict[str, Any]) -> dict[str, Any]:
    """A one-core, two-cell network listed explicitly; one day, a handful of subscribers."""
    return {
        "name": "tiny",
        "description": "Two cells on one core router, for tests.",
        "seed": 7,
        "start": "2026-01-05T00:00:00Z",
        "duration": "1d",
        "network": {
            "elements": [
                {"id": "core1", "type": "core_router"},
                {"id": "cell1", "type": "cell", "voice_channels": 5},
                {"id": "cell2", "type": "cell"},
            ],
            "links": [{"a": "cell1", "b": "core1"}, {"a": "cell2", "b": "core1"}],
        },
        "subscribers": {"count": 20},
        "bss": {"catalog": copy.deepcopy(default_catalog)},
    }


@pytest.fixture
def generated_scenario(default_catalog: dict[str, Any]) -> dict[str, Any]:
    """A small generated tree network (6 sites on 2 chains) with one scripted fibre cut."""
    return {
        "name": "tiny-generated",
        "description": "Six sites on two chains; a fibre cut at 02:00.",
        "seed": 11,
        "start": "2026-01-05T00:00:00Z",
        "duration": "1d",
        "network": {"preset": "small", "sites": 6, "sites_per_chain": 3,
                    "cells_per_site": 2, "transport": "tree"},
        "subscribers": {"count": 60},
        "faults": {"scripted": [{"at": "2h", "target": "site1-site2", "mode": "fibre_cut"}]},
        "bss": {"catalog": copy.deepcopy(default_catalog)},
    }


@pytest.fixture
def make_sim(tmp_path: Path) -> Callable[..., Any]:
    """Build a bare :class:`twin.kernel.Sim` writing its tables under ``tmp_path``."""
    from twin.kernel import Sim

    def make(horizon: float = 86_400.0, seed: int = 1, chunk_rows: int = 250_000) -> Sim:
        tables = tmp_path / "tables"
        tables.mkdir(exist_ok=True)
        return Sim.create(START, horizon, seed, tables, chunk_rows=chunk_rows)

    return make


def pytest_report_header(config: pytest.Config) -> str:
    profile = settings.default
    return (f"hypothesis: profile {HYPOTHESIS_PROFILE!r}, derandomize="
            f"{profile.derandomize}, max_examples={profile.max_examples} (seed: each test's "
            f"name when derandomised)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under mutation testing (mutmut sets MUTANT_UNDER_TEST), the unit tests run first: a
    mutant stops at its first failing test, so a killed mutant rarely waits for a scenario
    run. Otherwise the order is pytest's own."""
    if os.environ.get("MUTANT_UNDER_TEST"):
        items.sort(key=lambda item: "tests/unit/" not in item.nodeid.replace("\\", "/"))
