"""What a scenario promises: outcomes its description states, in a form a test can check.

Each outcome names a summary key and a value with a tolerance; :meth:`Outcome.phrase` renders
it the way the description must say it ("blocking 3.65 % ± 0.5 pp"), so the prose and the
check read the same numbers. ``tests/integration/test_scenarios_say.py`` runs every shipped
scenario (with ``set`` and for every seed in ``seeds``) and holds it to its outcomes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from twin.scenario.schema.base import Strict

VALUE_MAX = 1e15  # a summary value: counts, minor units, seconds and ratios all fit
SEED_MAX = 2**63 - 1
_KEY = r"^[a-z_]+(\.[a-z_0-9]+)+$"

Unit = Literal["", "%", "h", "min", "EUR"]
# how a summary value is shown: ratios as %, seconds as h or min, minor units as EUR
_SCALE: dict[str, float] = {"": 1.0, "%": 100.0, "h": 1 / 3600, "min": 1 / 60, "EUR": 0.01}


def _number(x: float) -> str:
    text = f"{x:,.6g}"
    return text[:-2] if text.endswith(".0") else text


class Outcome(Strict):
    key: str = Field(pattern=_KEY, max_length=100,
                     description="a summary.json key, dotted (traffic.blocking_ratio)")
    label: str = Field(min_length=1, max_length=100, description="what the description calls it")
    value: float = Field(ge=-VALUE_MAX, le=VALUE_MAX, description="in the summary's own unit")
    tolerance: float = Field(0.0, ge=0, le=VALUE_MAX, description="both sides of value")
    unit: Unit = ""

    def holds(self, measured: float) -> bool:
        # a little slack for the float rounding of value ± tolerance
        return abs(measured - self.value) <= self.tolerance * (1 + 1e-9) + 1e-12

    def shown(self, x: float) -> str:
        """``x`` (in the summary's unit) as the description writes it."""
        return _number(x * _SCALE[self.unit]) + (f" {self.unit}" if self.unit else "")

    def phrase(self) -> str:
        """The words the description must contain: label, value and tolerance."""
        text = f"{self.label} {self.shown(self.value)}"
        if self.tolerance:
            tol = _number(self.tolerance * _SCALE[self.unit])
            text += f" ± {tol} pp" if self.unit == "%" else f" ± {tol}" + (
                f" {self.unit}" if self.unit else "")
        return text


class ExpectSpec(Strict):
    seeds: list[Annotated[int, Field(ge=0, le=SEED_MAX)]] = Field(
        default_factory=list, max_length=20,
        description="seeds the outcomes hold for (default: seed)")
    set: list[str] = Field(default_factory=list, max_length=20,
                           description="overrides the outcomes are stated for (dotted.path=v)")
    outcomes: list[Outcome] = Field(default_factory=list, max_length=50)

    @field_validator("seeds")
    @classmethod
    def _check_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError("a seed is listed twice")
        return seeds

    @field_validator("set")
    @classmethod
    def _check_set(cls, overrides: list[str]) -> list[str]:
        for i, o in enumerate(overrides):
            if "=" not in o or len(o) > 500:
                raise ValueError(f"[{i}] must be dotted.path=value (at most 500 characters)")
        return overrides
