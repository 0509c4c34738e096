"""The bad-input contract: every problem is a ScenarioError naming the field path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from twin.scenario import ScenarioError, load

Mutation = Callable[[dict[str, Any]], None]


def problems_of(data: dict[str, Any], mutate: Mutation) -> list[str]:
    bad = copy.deepcopy(data)
    mutate(bad)
    with pytest.raises(ScenarioError) as info:
        load(bad)
    assert info.value.problems, "a ScenarioError must list its problems"
    return info.value.problems


def set_in(path: tuple[Any, ...], value: Any) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        node = d
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
    return mutate


def delete(*path: Any) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        node = d
        for step in path[:-1]:
            node = node[step]
        del node[path[-1]]
    return mutate


def scripted(*faults: dict[str, Any]) -> Mutation:
    return set_in(("faults",), {"scripted": list(faults)})


# (case id, mutation, the field path the first problem must name, a word of the message)
EXPLICIT_CASES: list[tuple[str, Mutation, str, str]] = [
    ("wrong type", set_in(("subscribers", "count"), "many"), "subscribers.count", "integer"),
    ("wrong type nested list", set_in(("network", "elements", 1, "voice_channels"), "lots"),
     "network.elements[1].voice_channels", "integer"),
    ("missing required", delete("start"), "start", "required"),
    ("missing required nested", delete("subscribers", "count"), "subscribers.count",
     "required"),
    ("missing bss", delete("bss"), "bss", "required"),
    ("unknown field top", set_in(("colour",), "red"), "colour", "unknown field"),
    ("unknown field nested", set_in(("network", "links", 0, "speed"), 10),
     "network.links[0].speed", "unknown field"),
    ("link to missing element", set_in(("network", "links", 0, "b"), "ghost"),
     "network.links[0].b", "ghost"),
    ("link from missing element", set_in(("network", "links", 1, "a"), "ghost"),
     "network.links[1].a", "ghost"),
    ("duplicate element", set_in(("network", "elements", 2, "id"), "cell1"),
     "network.elements[2].id", "duplicate"),
    ("channels on a router", set_in(("network", "elements", 0, "voice_channels"), 4),
     "network.elements[0].voice_channels", "cells"),
    ("duplicate link id", set_in(("network", "links", 1), {"a": "cell1", "b": "core1"}),
     "network.links[1].id", "duplicate"),
    ("unknown scripted link", scripted({"at": "2h", "target": "cell9-core1", "mode": "fibre_cut"}),
     "faults.scripted[0].target", "cell9-core1"),
    ("unknown scripted element",
     scripted({"at": "2h", "target": "cell1", "mode": "fibre_cut"},
              {"at": "3h", "target": "cell9", "mode": "element_failure"}),
     "faults.scripted[0].target", "cell1"),
    ("scripted fault after the end", scripted({"at": "2d", "target": "cell1",
                                               "mode": "element_failure"}),
     "faults.scripted[0].at", "end"),
    ("unknown fault mode", scripted({"at": "2h", "target": "cell1", "mode": "melt"}),
     "faults.scripted[0].mode", "element_failure"),
    ("mix does not add to 1",
     set_in(("subscribers", "mix"), {"consumer_postpaid": 0.5, "enterprise": 0.3}),
     "subscribers.mix", "add up to 1"),
    ("unknown offer in mix",
     set_in(("subscribers", "mix"), {"consumer_postpaid": 0.5, "gold": 0.5}),
     "subscribers.mix.gold", "no such offer"),
    ("bad duration", set_in(("duration",), "7x"), "duration", "duration"),
    ("zero duration", set_in(("duration",), 0), "duration", "greater than 0"),
    ("bad duration in catalog",
     set_in(("bss", "catalog", "offers", "enterprise", "sla", "credit_table", 0, "over"), "x"),
     "bss.catalog.offers.enterprise.sla.credit_table[0].over", "duration"),
    ("negative price",
     set_in(("bss", "catalog", "offers", "consumer_prepaid", "voice", "price"), -1),
     "bss.catalog.offers.consumer_prepaid.voice.price", "greater than or equal"),
    ("missing catalog file", set_in(("bss", "catalog"), "no/such/catalog.yaml"),
     "bss.catalog", "no such file"),
    ("catalog of the wrong type", set_in(("bss", "catalog"), 42), "bss.catalog", "dictionary"),
    ("both preset and elements", set_in(("network", "preset"), "small"), "network", "not both"),
    ("no core router", set_in(("network", "elements", 0, "type"), "agg_router"),
     "network.elements", "core_router"),
    ("site weight of no site", set_in(("subscribers", "site_weights"), {"mall": 2.0}),
     "subscribers.site_weights.mall", "no site or cell"),
    ("crew team in no region", set_in(("oss",), {"crews": {"teams": [{"region": "north"}]}}),
     "oss.crews.teams[0].region", "no region 'north'"),
    ("crews of no region", set_in(("oss",), {"crews": {"regions": {"north": 2}}}),
     "oss.crews.regions.north", "no region"),
]


@pytest.mark.parametrize(("mutate", "field", "word"),
                         [c[1:] for c in EXPLICIT_CASES], ids=[c[0] for c in EXPLICIT_CASES])
def test_bad_input_names_the_field(explicit_scenario: dict[str, Any], mutate: Mutation,
                                   field: str, word: str) -> None:
    problems = problems_of(explicit_scenario, mutate)
    assert problems[0].startswith(f"{field}: "), problems
    assert word.lower() in problems[0].lower(), problems


def test_unknown_generated_link_target(generated_scenario: dict[str, Any]) -> None:
    problems = problems_of(generated_scenario,
                           set_in(("faults", "scripted", 0, "target"), "site2-site1"))
    assert problems == ["faults.scripted[0].target: no link or cable 'site2-site1'"]


def test_every_problem_is_reported_not_only_the_first(explicit_scenario: dict[str, Any]) -> None:
    def several(d: dict[str, Any]) -> None:
        d["subscribers"]["count"] = "many"
        d["network"]["colour"] = "red"
        del d["start"]

    problems = problems_of(explicit_scenario, several)
    fields = sorted(p.split(":")[0] for p in problems)
    assert fields == ["network.colour", "start", "subscribers.count"]


def test_error_message_lists_source_and_problems(explicit_scenario: dict[str, Any]) -> None:
    bad = copy.deepcopy(explicit_scenario)
    bad["network"]["links"][0]["b"] = "ghost"
    with pytest.raises(ScenarioError) as info:
        load(bad)
    assert info.value.source == "tiny"
    text = str(info.value)
    assert text.startswith("tiny: invalid scenario")
    assert "network.links[0].b: unknown element 'ghost'" in text
    assert isinstance(info.value, ValueError)


def test_valid_fixtures_load(explicit_scenario: dict[str, Any],
                             generated_scenario: dict[str, Any]) -> None:
    """Guard: the cases above fail because of their mutation, not because the base is bad."""
    assert load(explicit_scenario).network.links[0].b == "core1"
    assert load(generated_scenario).faults.scripted[0].target == "site1-site2"


def test_file_source_is_named_in_the_error(tmp_path: Path,
                                           explicit_scenario: dict[str, Any]) -> None:
    explicit_scenario["subscribers"]["count"] = -3
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(explicit_scenario))
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert info.value.source == str(path)
    assert info.value.problems[0].startswith("subscribers.count: ")


def test_infinite_duration_in_yaml_is_rejected(tmp_path: Path,
                                               explicit_scenario: dict[str, Any]) -> None:
    text = yaml.safe_dump(explicit_scenario).replace("duration: 1d", "duration: .inf")
    assert "duration: .inf" in text
    path = tmp_path / "endless.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert info.value.problems[0].startswith("duration: ")


def test_bad_mapping_key_path_is_clean(explicit_scenario: dict[str, Any]) -> None:
    problems = problems_of(explicit_scenario,
                           set_in(("faults",), {"random": {"mtbf_h": {"toaster": 5}}}))
    assert problems[0].startswith("faults.random.mtbf_h.toaster: "), problems
