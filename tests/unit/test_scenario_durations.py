"""Durations in scenario files: '7d', '1d10h', '90m', '30s', '1w' or plain seconds."""

from __future__ import annotations

import math

import pytest

from twin.scenario import parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("7d", 7 * 86_400),
    ("1d10h", 86_400 + 10 * 3_600),
    ("90m", 5_400),
    ("30s", 30),
    ("1w", 604_800),
    ("1.5h", 5_400),
    ("2h30m", 9_000),
    ("1d 2h", 93_600),
    (" 45m ", 2_700),
    (30, 30),
    (0, 0),
    (12.5, 12.5),
])
def test_parse_duration(text: object, seconds: float) -> None:
    got = parse_duration(text)
    assert isinstance(got, float)
    assert got == seconds


@pytest.mark.parametrize("bad", [
    "7x", "", "d", "abc", "7", "1d-2h", "h1", "1 day", "-5m", -1, -0.5, True, None, [1], "7d!",
])
def test_parse_duration_rejects(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize("bad", [math.inf, math.nan])
def test_parse_duration_rejects_non_finite(bad: float) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)
