"""Loading scenarios: files, `extends` with deep merge, `--set` overrides, the resolved dump."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from twin.scenario import Scenario, ScenarioError, dump, load
from twin.scenario.loader import apply_override, deep_merge

CATALOG = Path(__file__).resolve().parents[2] / "scenarios" / "catalogs" / "default.yaml"


def write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def base_file(tmp_path: Path) -> Path:
    """tmp/base.yaml with a catalog path relative to itself (tmp/catalogs/default.yaml)."""
    (tmp_path / "catalogs").mkdir()
    shutil.copy(CATALOG, tmp_path / "catalogs" / "default.yaml")
    return write(tmp_path / "base.yaml", {
        "name": "base",
        "description": "The base story.",
        "seed": 3,
        "start": "2026-01-05T00:00:00Z",
        "duration": "2d",
        "network": {"preset": "small", "sites": 6, "sites_per_chain": 3, "cells_per_site": 2,
                    "transport": "tree", "cell": {"voice_channels": 20}},
        "subscribers": {"count": 100,
                        "mix": {"consumer_postpaid": 0.5, "consumer_prepaid": 0.5}},
        "faults": {"scripted": [
            {"at": "1h", "target": "site1-site2", "mode": "fibre_cut"},
            {"at": "3h", "target": "site4", "mode": "element_failure"},
        ]},
        "oss": {"crews": {"count": 2, "travel_mean_min": 30}},
        "bss": {"catalog": "catalogs/default.yaml"},
    })


def test_load_file_inlines_the_catalog(base_file: Path, default_catalog: dict[str, Any]) -> None:
    sc = load(base_file)
    assert isinstance(sc, Scenario)
    assert sc.duration == 2 * 86_400
    assert sc.bss.catalog.currency == default_catalog["currency"]
    assert set(sc.bss.catalog.offers) == set(default_catalog["offers"])
    assert sc.bss.catalog.offers["enterprise"].sla is not None


def test_extends_deep_merges_mappings_and_replaces_lists(base_file: Path) -> None:
    child = write(base_file.parent / "variants" / "child.yaml", {
        "extends": "../base.yaml",
        "name": "child",
        "network": {"transport": "ring"},
        "oss": {"crews": {"count": 5}},
        "faults": {"scripted": [{"at": "5h", "target": "agg1-site1", "mode": "link_failure"}]},
    })
    sc = load(child)
    assert sc.name == "child"
    assert sc.description == "The base story."  # inherited
    # mappings merge key by key
    assert sc.network.transport == "ring"
    assert sc.network.sites == 6 and sc.network.cells_per_site == 2
    assert sc.network.cell.voice_channels == 20
    assert sc.oss.crews.count == 5
    assert sc.oss.crews.travel_mean_min == 30
    # lists replace wholesale
    assert [(f.target, f.at) for f in sc.faults.scripted] == [("agg1-site1", 5 * 3600.0)]
    # the base's catalog path was resolved relative to the base file, not the child
    assert "enterprise" in sc.bss.catalog.offers


def test_extends_chain_of_three(base_file: Path) -> None:
    write(base_file.parent / "mid.yaml", {"extends": "base.yaml", "seed": 100,
                                          "subscribers": {"count": 7}})
    leaf = write(base_file.parent / "leaf.yaml", {"extends": "mid.yaml", "seed": 200})
    sc = load(leaf)
    assert sc.seed == 200
    assert sc.subscribers.count == 7
    assert sc.subscribers.mix == {"consumer_postpaid": 0.5, "consumer_prepaid": 0.5}


def test_circular_extends_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", {"extends": "b.yaml", "name": "a"})
    write(tmp_path / "b.yaml", {"extends": "a.yaml", "name": "b"})
    with pytest.raises(ScenarioError) as info:
        load(tmp_path / "a.yaml")
    assert any(p.startswith("extends:") and "circular" in p for p in info.value.problems)


def test_self_extends_is_circular(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", {"extends": "a.yaml", "name": "a"})
    with pytest.raises(ScenarioError, match="circular"):
        load(tmp_path / "a.yaml")


def test_extends_missing_file(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", {"extends": "nowhere.yaml", "name": "a"})
    with pytest.raises(ScenarioError) as info:
        load(tmp_path / "a.yaml")
    assert info.value.problems[0].startswith("extends:")
    assert "nowhere.yaml" in info.value.problems[0]


def test_missing_scenario_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load(tmp_path / "missing.yaml")


def test_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ScenarioError, match="mapping"):
        load(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match="YAML"):
        load(tmp_path / "broken.yaml")


def test_missing_catalog_file_names_the_field(tmp_path: Path) -> None:
    write(tmp_path / "s.yaml", {"name": "s", "bss": {"catalog": "nope.yaml"}})
    with pytest.raises(ScenarioError) as info:
        load(tmp_path / "s.yaml")
    assert info.value.problems[0].startswith("bss.catalog:")


# --- overrides ---------------------------------------------------------------------------


def test_set_overrides_dotted_paths_and_list_indices(base_file: Path) -> None:
    sc = load(base_file, [
        "faults.scripted[0].at=2d",
        "faults.scripted[1].target=site5",
        "oss.crews.count=3",
        "network.transport=ring",
        "duration=3d",
        "seed=99",
    ])
    assert sc.faults.scripted[0].at == 2 * 86_400
    assert sc.faults.scripted[0].target == "site1-site2"  # untouched sibling field
    assert sc.faults.scripted[1].target == "site5"
    assert sc.oss.crews.count == 3
    assert sc.oss.crews.travel_mean_min == 30  # the rest of the mapping stays
    assert sc.network.transport == "ring"
    assert sc.duration == 3 * 86_400
    assert sc.seed == 99


def test_set_values_are_read_as_yaml(base_file: Path) -> None:
    sc = load(base_file, [
        "subscribers.mix={consumer_postpaid: 0.25, enterprise: 0.75}",
        "network.vendors=[acme, zeta]",
        "traffic.voice.calls_per_sub_day=1.5",
        "oss.crews.repair_dist=deterministic",
    ])
    assert sc.subscribers.mix == {"consumer_postpaid": 0.25, "enterprise": 0.75}
    assert sc.network.vendors == ["acme", "zeta"]
    assert sc.traffic.voice.calls_per_sub_day == 1.5
    assert sc.oss.crews.repair_dist == "deterministic"


def test_apply_override_types_and_creation() -> None:
    data: dict[str, Any] = {"a": {"b": 1}, "items": [{"x": 1}, {"x": 2}]}
    apply_override(data, "a.b=2")
    apply_override(data, "a.flag=true")
    apply_override(data, "a.text='3'")
    apply_override(data, "a.f=3.5")
    apply_override(data, "a.empty=")
    apply_override(data, "items[1].x=20")
    apply_override(data, "new.deep.key=ok")  # missing mappings are created
    apply_override(data, "a.eq=x=y")  # only the first '=' splits
    assert data["a"] == {"b": 2, "flag": True, "text": "3", "f": 3.5, "empty": "", "eq": "x=y"}
    assert data["items"] == [{"x": 1}, {"x": 20}]
    assert data["new"] == {"deep": {"key": "ok"}}


@pytest.mark.parametrize("assignment", [
    "no_equals_sign",
    "items[5].x=1",
    "items[2]=1",
    "a..b=1",
    "a.b c=1",
    "a.b.c=1",  # a.b is a number, not a mapping
])
def test_bad_overrides_are_scenario_errors(assignment: str) -> None:
    data: dict[str, Any] = {"a": {"b": 1}, "items": [{"x": 1}, {"x": 2}]}
    with pytest.raises(ScenarioError) as info:
        apply_override(data, assignment)
    assert info.value.source == "--set"


def test_override_producing_an_invalid_scenario_names_the_field(base_file: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load(base_file, ["oss.crews.count=many"])
    assert info.value.problems[0].startswith("oss.crews.count:")


def test_overrides_apply_to_dicts_and_scenarios(explicit_scenario: dict[str, Any]) -> None:
    before = copy.deepcopy(explicit_scenario)
    sc = load(explicit_scenario, ["subscribers.count=33"])
    assert sc.subscribers.count == 33
    assert explicit_scenario == before  # the caller's mapping is not mutated
    again = load(sc, ["seed=5"])
    assert (again.seed, again.subscribers.count) == (5, 33)
    assert load(sc) is sc


def test_mapping_resolves_catalog_and_extends_relative_to_base_dir(
        base_file: Path) -> None:
    sc = load({"extends": "base.yaml", "name": "from-dict", "subscribers": {"count": 9}},
              base_dir=base_file.parent)
    assert (sc.name, sc.subscribers.count, sc.seed) == ("from-dict", 9, 3)
    assert sc.network.cells_per_site == 2  # merged with the file it extends
    data = yaml.safe_load(base_file.read_text())
    assert data["bss"]["catalog"] == "catalogs/default.yaml"
    assert "enterprise" in load(data, base_dir=base_file.parent).bss.catalog.offers
    with pytest.raises(ScenarioError) as info:
        load({"extends": "nowhere.yaml", "name": "x"}, base_dir=base_file.parent)
    assert info.value.problems[0].startswith("extends:")


def test_deep_merge_does_not_mutate_inputs() -> None:
    base = {"a": {"b": [1, 2], "c": 1}, "d": 1}
    over = {"a": {"b": [3]}, "e": {"f": 1}}
    merged = deep_merge(base, over)
    assert merged == {"a": {"b": [3], "c": 1}, "d": 1, "e": {"f": 1}}
    merged["a"]["c"] = 99
    merged["e"]["f"] = 99
    assert base == {"a": {"b": [1, 2], "c": 1}, "d": 1}
    assert over == {"a": {"b": [3]}, "e": {"f": 1}}


def test_dump_round_trips_to_the_same_scenario(base_file: Path) -> None:
    sc = load(base_file, ["network.transport=ring"])
    text = dump(sc)
    data = yaml.safe_load(text)
    assert isinstance(data["bss"]["catalog"], dict)  # stands on its own: catalog inlined
    assert "extends" not in data
    assert load(data) == sc
