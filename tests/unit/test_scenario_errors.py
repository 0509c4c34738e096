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


def test_a_field_of_number_or_mapping_names_the_key_not_the_union(
        explicit_scenario: dict[str, Any]) -> None:
    problems = problems_of(explicit_scenario, set_in(
        ("bss", "care"), {"churn_base_monthly": {"prepaid": 0.04, "weird": 0.1}}))
    assert problems == ["bss.care.churn_base_monthly: Input should be a valid number",
                        "bss.care.churn_base_monthly.weird: Input should be 'prepaid' or "
                        "'postpaid'"]


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


# Inputs that crashed or slipped through before the ranges (issue 9): each a clean problem.
RANGE_CASES: list[tuple[str, Mutation, str, str]] = [
    ("negative seed", set_in(("seed",), -1), "seed", "greater than or equal to 0"),
    ("seed past 64 bits", set_in(("seed",), 2**63), "seed", "less than or equal"),
    ("fee past 64 bits", set_in(("bss", "catalog", "offers", "enterprise", "recurring_fee"),
                                2**63), "bss.catalog.offers.enterprise.recurring_fee",
     "less than or equal"),
    ("price past its range",
     set_in(("bss", "catalog", "offers", "consumer_prepaid", "voice", "price"), 10**7),
     "bss.catalog.offers.consumer_prepaid.voice.price", "less than or equal"),
    ("infinite float", set_in(("oss",), {"noc": {"triage_mean_s": float("inf")}}),
     "oss.noc.triage_mean_s", "finite"),
    ("NaN share", set_in(("oss",), {"inventory": {"stale_links": float("nan")}}),
     "oss.inventory.stale_links", "finite"),
    ("a million years", set_in(("duration",), "99999999999d"), "duration", "ten years"),
    ("huge integer duration", set_in(("duration",), 10**400), "duration", "ten years"),
    ("start past the calendar", set_in(("start",), "9999-12-31T23:59:59Z"), "start", "1970"),
    ("start before the epoch", set_in(("start",), "1969-12-31T23:59:59Z"), "start", "1970"),
    ("a site count that eats memory",
     lambda d: d.update(network={"preset": "small", "sites": 10**9}), "network.sites",
     "less than or equal to 20000"),
    ("subscribers past the bound", set_in(("subscribers", "count"), 10**8), "subscribers.count",
     "less than or equal to 10000000"),
    ("name '..'", set_in(("name",), ".."), "name", "plain name"),
    ("absolute name", set_in(("name",), "/tmp/elsewhere"), "name", "plain name"),
    ("name with a separator", set_in(("name",), "runs/../x"), "name", "plain name"),
    ("a traffic interval of a millisecond", set_in(("traffic",), {"interval": 0.001}),
     "traffic.interval", "greater than or equal to 60"),
    ("an MTBF of a nanosecond", set_in(("faults",), {"random": {"mtbf_h": {"cell": 1e-9}}}),
     "faults.random.mtbf_h.cell", "greater than or equal to 1"),
    ("alarm sync every second", set_in(("oss",), {"alarms": {"resync_interval": 1}}),
     "oss.alarms.resync_interval", "60 seconds"),
    ("crew hours past midnight", set_in(("oss",), {"crews": {"teams": [
        {"shifts": [{"hours": [8, 25]}]}]}}), "oss.crews.teams[0].shifts[0].hours[1]",
     "less than or equal to 24"),
    ("description of a million characters", set_in(("description",), "x" * 1_000_000),
     "description", "at most 100000"),
]


@pytest.mark.parametrize(("mutate", "field", "word"),
                         [c[1:] for c in RANGE_CASES], ids=[c[0] for c in RANGE_CASES])
def test_out_of_range_input_names_the_field(explicit_scenario: dict[str, Any],
                                            mutate: Mutation, field: str, word: str) -> None:
    problems = problems_of(explicit_scenario, mutate)
    assert problems[0].startswith(f"{field}: "), problems
    assert word.lower() in problems[0].lower(), problems


def test_the_bounds_themselves_are_valid(explicit_scenario: dict[str, Any]) -> None:
    from twin.scenario.schema.base import MONEY_MAX, PRICE_MAX

    data = copy.deepcopy(explicit_scenario)
    data.update(seed=2**63 - 1, start="2099-12-31T00:00:00Z", duration="3660d")
    offer = data["bss"]["catalog"]["offers"]["enterprise"]
    offer.update(recurring_fee=MONEY_MAX, one_time_fee=MONEY_MAX)
    offer["voice"]["price"] = PRICE_MAX
    scenario = load(data)
    assert scenario.seed == 2**63 - 1 and scenario.duration == 3660 * 86_400


def test_seed_given_apart_is_checked_too(explicit_scenario: dict[str, Any]) -> None:
    from twin.scenario import reseed

    scenario = load(explicit_scenario)
    assert reseed(scenario, 5).seed == 5
    with pytest.raises(ScenarioError) as info:
        reseed(scenario, -1)
    assert info.value.problems[0].startswith("seed: ")


def write(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def file_problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load(path)
    return info.value.problems


def test_duplicate_keys_are_refused_with_their_path(
        tmp_path: Path, explicit_scenario: dict[str, Any]) -> None:
    text = yaml.safe_dump(explicit_scenario, sort_keys=False)
    top = write(tmp_path, text + "seed: 8\n")
    assert file_problems(top) == ["seed: duplicate key (line 3 and line "
                                  f"{text.count(chr(10)) + 1}); give each key once"]
    nested = text.replace("  count: 20\n", "  count: 20\n  count: 2000\n")
    problem, = file_problems(write(tmp_path, nested))
    assert problem.startswith("subscribers.count: duplicate key"), problem
    in_list = text.replace("  - id: core1\n", "  - id: core1\n    id: core2\n")
    problem, = file_problems(write(tmp_path, in_list))
    assert problem.startswith("network.elements[0].id: duplicate key"), problem


def test_merge_keys_are_not_duplicates(tmp_path: Path,
                                       explicit_scenario: dict[str, Any]) -> None:
    explicit_scenario.pop("subscribers")
    text = ("base: &base {count: 20, lines_per_enterprise_account: 4}\n"
            + yaml.safe_dump(explicit_scenario, sort_keys=False)
            + "subscribers:\n  <<: *base\n  count: 30\n")
    problems = file_problems(write(tmp_path, text))
    assert problems == ["base: unknown field"]  # the anchor's holder, not a duplicate


@pytest.mark.parametrize(("text", "problem"), [
    (b"name: caf\xe9\n", "(file): not UTF-8 text (byte 0xe9 on line 1)"),
    (b"name: x\nseed: 1\n\xff\n", "(file): not UTF-8 text (byte 0xff on line 3)"),
    ("name: x\nseed: " + "[" * 5000 + "]" * 5000 + "\n", ": nested too deeply"),
    ("name: x\nseed: " + "[" * 40 + "]" * 40 + "\n", "]: nested deeper than 32 levels"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)),
     "values once aliases are expanded"),
    ("name: x\nstart: 2026-02-30\n", "start: not a valid date or time"),
    ("name: !!python/object/apply:os.system [ls]\n", "(file): not valid YAML"),
    ("name: x\n\tseed: 1\n", "(file): not valid YAML"),
    ("- just\n- a list\n", "(file): must hold a mapping"),
])
def test_unreadable_files_are_clean_problems(tmp_path: Path, text: str | bytes,
                                             problem: str) -> None:
    problems = file_problems(write(tmp_path, text))
    assert len(problems) == 1 and problem in problems[0], problems


def test_a_directory_or_huge_file_is_a_clean_problem(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    assert "cannot read" in file_problems(tmp_path / "dir.yaml")[0]
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(17 * 2**20)
    assert file_problems(big) == ["(file): larger than 16 MiB"]


def test_set_values_are_read_as_strictly(explicit_scenario: dict[str, Any]) -> None:
    with pytest.raises(ScenarioError) as info:
        load(explicit_scenario, ["oss.crews={count: 1, count: 2}"])
    assert info.value.problems[0].startswith("oss.crews.count: duplicate key")
    with pytest.raises(ScenarioError) as info:
        load(explicit_scenario, ["seed=" + "[" * 3000 + "]" * 3000])
    assert "nested" in info.value.problems[0]
    assert load(explicit_scenario, ["description=oops [/] tag"]).description == "oops [/] tag"
