"""Every shipped scenario shows what its description says, and these tests hold it to it.

A scenario's ``expect`` section lists outcomes — a summary key, a value and a tolerance — and
its description must state each one in the words :meth:`Outcome.phrase` renders ("blocking
3.65 % ± 0.3 pp"), with the seeds (and any ``expect.set`` overrides) they hold for. The run at
the scenario's own seed and settings is checked in ``test_scenarios_run.py`` on the run its
other tests share; this file runs the other seeds and the stated overrides.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import twin
from twin.scenario.schema import Outcome

from .support import QUICKSTART, SCENARIO_FILES, SCENARIOS, RunScenario, missed_outcomes


def _cases() -> list[object]:
    """(scenario, seed) runs besides the scenario's own seed and settings."""
    cases: list[object] = []
    for path in SCENARIO_FILES:
        sc = twin.load_scenario(path)
        for seed in sc.expect.seeds or [sc.seed]:
            if seed != sc.seed or sc.expect.set:
                cases.append(pytest.param(path, seed, id=f"{path.stem}-seed{seed}"))
    return cases


def _said(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _seeds_phrase(seeds: list[int]) -> str:
    if len(seeds) == 1:
        return f"with seed {seeds[0]}"
    listed = ", ".join(str(s) for s in seeds[:-1]) + f" and {seeds[-1]}"
    return f"with each of seeds {listed}"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_the_description_states_each_expected_outcome(path: Path) -> None:
    sc = twin.load_scenario(path)
    said = _said(sc.description)
    assert sc.expect.outcomes, f"{path.name}: no expect.outcomes — say what the scenario shows"
    assert _seeds_phrase(sc.expect.seeds or [sc.seed]) in said, (
        f"{path.name}: the description does not say which seeds the outcomes hold for")
    for override in sc.expect.set:
        assert f"--set {override}" in said, f"{path.name}: the description omits {override}"
    for outcome in sc.expect.outcomes:
        assert outcome.phrase() in said, (
            f"{path.name}: the description should say {outcome.phrase()!r}")


@pytest.mark.parametrize(("path", "seed"), _cases())
def test_the_scenario_shows_what_it_says_on_other_seeds(path: Path, seed: int,
                                                        run_scenario: RunScenario) -> None:
    overrides = twin.load_scenario(path).expect.set
    run = run_scenario(path, seed=seed, overrides=overrides)
    missed = missed_outcomes(run)
    assert not missed, f"{path.name} seed {seed}: " + "; ".join(missed)


def test_the_own_seed_is_checked_elsewhere_and_other_seeds_here() -> None:
    # single_cell_erlang's blocking is noisy: its two further seeds run here
    ids = [c.id for c in _cases()]  # type: ignore[attr-defined]
    assert "single_cell_erlang-seed8" in ids and "single_cell_erlang-seed9" in ids
    assert not any(i.startswith("quickstart-") for i in ids)


def test_a_missed_outcome_is_reported(tmp_path: Path) -> None:
    promise = ("expect.outcomes=[{key: traffic.blocking_ratio, label: blocking, value: 0.5, "
               "tolerance: 0.01, unit: '%'}, {key: faults.injected, label: faults, value: 0}]")
    run = twin.simulate(SCENARIOS / "single_cell_erlang.yaml", out=tmp_path / "run",
                        overrides=("duration=2h", promise), report=False)
    missed = missed_outcomes(run)
    assert len(missed) == 1 and missed[0].startswith("blocking 50 % ± 1 pp: measured "), missed


def test_an_outcome_reads_as_the_description_writes_it() -> None:
    blocking = Outcome(key="traffic.blocking_ratio", label="blocking", value=0.0365,
                       tolerance=0.003, unit="%")
    assert blocking.phrase() == "blocking 3.65 % ± 0.3 pp"
    assert blocking.holds(0.0395) and blocking.holds(0.0335)
    assert not blocking.holds(0.0396) and not blocking.holds(0.0334)
    credits = Outcome(key="bss.sla_credits_minor", label="SLA credits", value=156_000,
                      tolerance=50_000, unit="EUR")
    assert credits.phrase() == "SLA credits 1,560 EUR ± 500 EUR"
    mttr = Outcome(key="oss.mttr_s", label="MTTR", value=7200, tolerance=1800, unit="h")
    assert mttr.phrase() == "MTTR 2 h ± 0.5 h"
    exact = Outcome(key="oss.incidents", label="incidents", value=8)
    assert exact.phrase() == "incidents 8"
    assert exact.holds(8) and not exact.holds(9) and not exact.holds(7)


@pytest.mark.parametrize(("expect", "field"), [
    ({"outcomes": [{"key": "blocking", "label": "b", "value": 1}]}, "expect.outcomes[0].key"),
    ({"outcomes": [{"key": "a.b", "label": "b", "value": 1, "tolerance": -1}]},
     "expect.outcomes[0].tolerance"),
    ({"outcomes": [{"key": "a.b", "label": "b", "value": 1, "unit": "EUR/h"}]},
     "expect.outcomes[0].unit"),
    ({"seeds": [1, 1]}, "expect.seeds"),
    ({"seeds": [-1]}, "expect.seeds[0]"),
    ({"set": ["duration"]}, "expect.set"),
    ({"outcome": []}, "expect.outcome"),
])
def test_a_bad_expectation_names_its_field(expect: dict[str, object], field: str) -> None:
    with pytest.raises(twin.ScenarioError) as err:
        twin.load_scenario(QUICKSTART, (f"expect={_flow(expect)}",))
    assert any(p.startswith(field + ":") for p in err.value.problems), err.value.problems


def _flow(value: object) -> str:
    """A YAML flow form of ``value`` (an override's value is read as YAML)."""
    return json.dumps(value)
