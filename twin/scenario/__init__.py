"""Scenarios: the validated description of one simulated situation."""

from twin.scenario.loader import ScenarioError, dump, load, reseed
from twin.scenario.schema import Scenario, parse_duration

__all__ = ["Scenario", "ScenarioError", "dump", "load", "parse_duration", "reseed"]
