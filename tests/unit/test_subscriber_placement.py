"""Subscribers homed on cells in proportion to ``subscribers.site_weights``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from twin.scenario.schema import Scenario
from twin.scenario.subscribers import build_subscribers

CELLS = ["s1-c1", "s1-c2", "s2-c1", "s2-c2", "s3-c1"]
SITES = ["s1", "s1", "s2", "s2", "s3"]


def base(explicit_scenario: dict[str, Any], **subs: Any) -> Scenario:
    explicit_scenario["subscribers"] = {"count": 20_000, "lines_per_enterprise_account": 10,
                                        **subs}
    return Scenario.model_validate(explicit_scenario)


def test_sites_and_cells_weigh_as_given(explicit_scenario: dict[str, Any]) -> None:
    sc = base(explicit_scenario, site_weights={"s2": 4, "s3-c1": 0})
    subs = build_subscribers(sc, CELLS, np.random.default_rng(1), sites=SITES)
    share = np.bincount(subs.cell, minlength=5) / subs.count
    np.testing.assert_allclose(share, [0.1, 0.1, 0.4, 0.4, 0.0], atol=0.015)
    ent = subs.offer == subs.offers.index("enterprise")
    offices = np.bincount(subs.cell[ent], minlength=5)
    assert offices[4] == 0 and offices[2] + offices[3] > offices[0] + offices[1]


def test_uniform_without_weights_is_unchanged(explicit_scenario: dict[str, Any]) -> None:
    sc = base(explicit_scenario)
    a = build_subscribers(sc, CELLS, np.random.default_rng(1), sites=SITES)
    b = build_subscribers(sc, CELLS, np.random.default_rng(1))
    np.testing.assert_array_equal(a.cell, b.cell)
    assert set(np.unique(a.cell)) == set(range(5))


def test_an_unknown_site_is_named(explicit_scenario: dict[str, Any]) -> None:
    sc = base(explicit_scenario, site_weights={"s9": 2})
    with pytest.raises(ValueError, match=r"subscribers\.site_weights\.s9: no such site"):
        build_subscribers(sc, CELLS, np.random.default_rng(1), sites=SITES)
