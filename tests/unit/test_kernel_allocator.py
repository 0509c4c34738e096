"""The allocator's thresholds: set once, on glibc only, never over the user's own."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import twin
from twin.kernel import allocator

QUICKSTART = Path(__file__).parents[2] / "scenarios" / "quickstart.yaml"


class FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, param: Any, value: Any) -> int:
        self.calls.append((param.value, value.value))
        return 1


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> FakeLibc:
    fake = FakeLibc()
    monkeypatch.setattr(allocator, "_done", None)
    monkeypatch.setattr(allocator, "_glibc", lambda: fake)
    return fake


def test_both_thresholds_are_set_once(fresh: FakeLibc) -> None:
    done = allocator.tune({})
    assert done == {allocator.M_MMAP_THRESHOLD: 32 << 20, allocator.M_TRIM_THRESHOLD: 256 << 20}
    assert sorted(fresh.calls) == sorted(done.items())
    assert allocator.tune({}) is done and len(fresh.calls) == 2  # once per process


@pytest.mark.parametrize("var", allocator.ENV)
def test_the_users_own_setting_is_left_alone(fresh: FakeLibc, var: str) -> None:
    assert allocator.tune({var: "65536"}) == {}
    assert fresh.calls == []


def test_a_setting_malloc_refuses_is_not_reported(fresh: FakeLibc,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fresh, "mallopt", lambda param, value: 0)
    assert allocator.tune({}) == {}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_takes_them_here() -> None:
    libc = allocator._glibc()
    assert libc is not None  # this machine's Python runs on glibc
    assert libc.mallopt(allocator.M_MMAP_THRESHOLD, 32 << 20) == 1


def test_a_run_tunes_the_allocator(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(allocator, "tune", lambda: seen.append(True) or {})
    twin.simulate(QUICKSTART, out=tmp_path / "run", report=False,
                  overrides=("duration=1h", "subscribers.count=50",
                             "faults.scripted=[]"))
    assert seen == [True]


def test_fewer_collections_raises_the_young_threshold_and_restores_it() -> None:
    import gc

    before = gc.get_threshold()
    with allocator.fewer_collections(before[0] + 5000):
        assert gc.get_threshold() == (before[0] + 5000, *before[1:])
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), allocator.fewer_collections(before[0] + 1):
        raise RuntimeError("a run fails")
    assert gc.get_threshold() == before  # restored however the block ends


def test_fewer_collections_never_lowers_a_higher_threshold() -> None:
    import gc

    before = gc.get_threshold()
    try:
        gc.set_threshold(50_000, *before[1:])
        with allocator.fewer_collections(10_000):
            assert gc.get_threshold()[0] == 50_000
    finally:
        gc.set_threshold(*before)


def test_overlapping_runs_restore_the_threshold_once_the_last_ends() -> None:
    """Two runs on two threads whose blocks overlap: the first to end leaves the raised
    threshold to the other, the last puts back what was there before either."""
    import gc

    before = gc.get_threshold()
    first, second = allocator.fewer_collections(), allocator.fewer_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == max(allocator.YOUNG, before[0])
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
