"""Named random streams: reproducible per (seed, name), independent across names."""

from __future__ import annotations

import numpy as np

from twin.kernel import RandomStreams


def draws(gen: np.random.Generator, n: int = 8) -> np.ndarray:
    return gen.random(n)


def test_same_seed_and_name_give_same_draws() -> None:
    a = RandomStreams(42).stream("faults")
    b = RandomStreams(42).stream("faults")
    np.testing.assert_array_equal(draws(a), draws(b))


def test_different_seed_gives_different_draws() -> None:
    a = RandomStreams(42).stream("faults")
    b = RandomStreams(43).stream("faults")
    assert not np.array_equal(draws(a), draws(b))


def test_different_names_give_different_draws() -> None:
    rs = RandomStreams(42)
    assert not np.array_equal(draws(rs.fresh("faults")), draws(rs.fresh("traffic")))


def test_a_stream_does_not_depend_on_use_of_other_streams() -> None:
    """Common random numbers: drawing heavily from one stream leaves another unchanged."""
    quiet = RandomStreams(5)
    expected = draws(quiet.stream("faults"), 100)

    busy = RandomStreams(5)
    busy.stream("oss.workforce").random(10_000)
    busy.stream("traffic.voice").normal(size=777)
    got = draws(busy.stream("faults"), 100)
    np.testing.assert_array_equal(expected, got)


def test_stream_order_of_creation_does_not_matter() -> None:
    a = RandomStreams(9)
    a_t, a_f = draws(a.stream("traffic")), draws(a.stream("faults"))
    b = RandomStreams(9)
    b_f, b_t = draws(b.stream("faults")), draws(b.stream("traffic"))
    np.testing.assert_array_equal(a_t, b_t)
    np.testing.assert_array_equal(a_f, b_f)


def test_stream_is_cached_and_continues() -> None:
    rs = RandomStreams(1)
    g = rs.stream("x")
    assert rs.stream("x") is g
    first = draws(rs.stream("x"))
    second = draws(rs.stream("x"))
    # the cached generator advances: the second call continues where the first stopped
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(np.concatenate([first, second]), draws(rs.fresh("x"), 16))


def test_fresh_restarts_and_is_not_cached() -> None:
    rs = RandomStreams(1)
    start = draws(rs.stream("x"))
    rs.stream("x").random(50)
    f1, f2 = rs.fresh("x"), rs.fresh("x")
    assert f1 is not f2
    assert f1 is not rs.stream("x")
    np.testing.assert_array_equal(draws(f1), start)
    np.testing.assert_array_equal(draws(f2), start)
