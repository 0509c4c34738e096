"""Sessions written in parts, looked up by record id (``twin/analysis/revenue.py``)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.analysis.revenue import Parts

CI = settings.get_profile("ci")


def parts(ids: list[int]) -> Parts:
    a = np.array(sorted(set(ids)), dtype=np.int64)
    return Parts(a, a * 10, a * 1.0, a * 20, a * 2.0)


@settings(CI, max_examples=200)
@given(st.lists(st.integers(0, 5000), max_size=60),
       st.lists(st.integers(-20, 5100), max_size=200))
def test_a_record_is_found_exactly_when_its_session_is_in_parts(
        known: list[int], asked: list[int]) -> None:
    p = parts(known)
    has, pos = p.lookup(np.array(asked, dtype=np.int64))
    assert has.tolist() == [x in set(known) for x in asked]
    # where found, the position is the session's; every position may be read
    assert (p.ids[pos[has]] == np.array(asked, dtype=np.int64)[has]).all()
    assert ((pos >= 0) & (pos < max(p.ids.size, 1))).all()


def test_no_sessions_in_parts() -> None:
    has, pos = parts([]).lookup(np.array([0, 1, 7], dtype=np.int64))
    assert not has.any() and (pos == 0).all()
