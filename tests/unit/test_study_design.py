"""Study designs: grids, Latin hypercubes and random points; parsing; run keys."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.scenario import ScenarioError
from twin.study.cache import ResultCache, code_version, run_key
from twin.study.design import Design, Range, parse_sample, parse_vary
from twin.study.metrics import DEFAULT_METRICS, SUMMARY_KEYS, choose_metrics


def test_a_grid_is_every_combination_baseline_first() -> None:
    d = Design({"a": ["1", "2"], "b": ["x", "y", "z"]})
    labels = [v.label for v in d.variants()]
    assert labels[0] == "a=1 b=x" and len(labels) == 6 and len(set(labels)) == 6
    assert d.variants()[5].overrides == ["a=2", "b=z"]
    assert d.variants()[5].slug == "05-a=2_b=z"


@given(points=st.integers(2, 30), seed=st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_a_latin_hypercube_draws_each_stratum_once(points: int, seed: int) -> None:
    d = Design({}, [Range("x", 0, 1, False), Range("y", 5, 9, False)], points, "lhs", seed)
    u = np.array(d.unit_points())
    assert u.shape == (points, 2) and ((u >= 0) & (u < 1)).all()
    for col in u.T:
        assert sorted(np.floor(col * points).astype(int)) == list(range(points))
    assert d.unit_points() == Design({}, d.ranges, points, "lhs", seed).unit_points()


def test_sampled_values_and_their_variants() -> None:
    ranges = parse_sample(["oss.crews.count=1..4", "oss.crews.travel_mean_min=30.0..90"])
    assert ranges[0] == Range("oss.crews.count", 1, 4, True)
    assert not ranges[1].integer
    assert [ranges[0].value(u) for u in (0.0, 0.24, 0.25, 0.999)] == [1, 1, 2, 4]
    assert ranges[1].value(0.5) == 60.0 and ranges[1].value(1 / 3) == 50.0
    d = Design({"p": ["fifo", "revenue"]}, ranges, 5, "random", 1)
    vs = d.variants()
    assert len(vs) == 10 and vs[0].assign[0] == ("p", "fifo")
    assert all(1 <= int(dict(v.assign)["oss.crews.count"]) <= 4 for v in vs)
    assert all(30 <= float(dict(v.assign)["oss.crews.travel_mean_min"]) <= 90 for v in vs)


def test_identical_points_are_one_variant() -> None:
    d = Design({}, [Range("n", 1, 2, True)], 6, "lhs", 0)
    assert sorted(v.label for v in d.variants()) == ["n=1", "n=2"]


@pytest.mark.parametrize(("item", "said"), [
    ("x", "expected PATH=LOW..HIGH"), ("x=1..", "expected PATH=LOW..HIGH"),
    ("x=a..b", "expected PATH=LOW..HIGH"), ("x=2..2", "not below"),
])
def test_parse_sample_names_the_problem(item: str, said: str) -> None:
    with pytest.raises(ScenarioError, match=said):
        parse_sample([item])


@given(st.text(max_size=40))
def test_parsers_never_crash(text: str) -> None:
    for parse in (parse_sample, parse_vary):
        with contextlib.suppress(ScenarioError):
            parse([text])


def test_parse_vary_keeps_bracketed_values_whole() -> None:
    assert parse_vary(["a.b=1,2", "c=[1,2],[]"]) == {"a.b": ["1", "2"], "c": ["[1,2]", "[]"]}


def test_metric_choice() -> None:
    assert choose_metrics(None) == list(DEFAULT_METRICS)
    assert choose_metrics(["all"]) == list(SUMMARY_KEYS)
    assert choose_metrics(["oss.mttr_s", "oss.mttr_s"]) == ["oss.mttr_s"]
    with pytest.raises(ScenarioError, match=r"did you mean oss\.mttr_s"):
        choose_metrics(["oss.mtr_s"])


def test_run_keys_and_the_cache(tmp_path) -> None:  # type: ignore[no-untyped-def]
    v = code_version()
    assert v.startswith("0.") and "+" in v
    k = run_key("name: a\n", 1, v)
    assert k != run_key("name: a\n", 2, v) != run_key("name: b\n", 1, v)
    assert k != run_key("name: a\n", 1, v + "x")
    cache = ResultCache(tmp_path / "cache")
    assert cache.get(k) is None and k not in cache
    cache.put(k, {"summary": {"x": 1.5}})
    assert cache.get(k) == {"summary": {"x": 1.5}, "key": k} and k in cache
    assert cache.keys() == [k]
    (tmp_path / "cache" / f"{k}.json").write_text("{half")  # damaged: treated as missing
    assert cache.get(k) is None
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [f"{k}.json"]  # no temp files


def test_until_ci_targets() -> None:
    from twin.study.console import parse_until_ci

    assert parse_until_ci(None, ["a", "b"]) is None
    assert parse_until_ci(["600"], ["a", "b"]) == {"a": 600.0, "b": 600.0}
    assert parse_until_ci(["0.5", "b=10"], ["a", "b"]) == {"a": 0.5, "b": 10.0}
    assert parse_until_ci(["b=1e3"], ["a", "b"]) == {"b": 1000.0}
    for bad in (["soon"], ["=5"], ["b=x"]):
        with pytest.raises(ScenarioError, match="HALF_WIDTH"):
            parse_until_ci(bad, ["a", "b"])
