"""The Hypothesis profile the suite runs under: a failure found once reproduces anywhere."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.skipif(os.environ.get("HYPOTHESIS_PROFILE", "ci") != "ci",
                    reason="another profile was asked for")
def test_the_ci_profile_is_derandomised_without_a_database() -> None:
    p = settings.default
    assert p.derandomize and p.database is None and p.deadline is None and p.print_blob
    assert p.max_examples >= 100


seen: list[list[int]] = []


@settings(max_examples=5)
@given(st.lists(st.integers()))
def _draw(xs: list[int]) -> None:
    seen.append(xs)


@pytest.mark.skipif(os.environ.get("HYPOTHESIS_PROFILE", "ci") != "ci",
                    reason="another profile was asked for")
def test_a_property_draws_the_same_examples_every_time() -> None:
    _draw()
    first = list(seen)
    seen.clear()
    _draw()
    assert seen == first and len(first) == 5
