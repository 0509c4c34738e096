"""Faults: random failure modes, scripted faults, storms, repairs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from twin.scenario.schema.base import MAX_HOURS, Duration, ElementType, Share, Strict

MTBF_MAX_H = 1e9  # "never" in practice; at least an hour (more faults than hours is noise)

FaultMode = Literal[
    "element_failure",  # hard failure of the hardware: needs a truck roll (replace)
    "software_crash",  # the element is down; a remote restart fixes it
    "degradation",  # up, but with capacity loss and/or an elevated call-drop rate
    "flapping",  # repeatedly down and up until replaced
    "power_outage",  # mains lost at a power domain: on battery, then down
    "planned_maintenance",  # announced window: down for its duration
    "link_failure",  # one link down (a port or a microwave hop)
    "fibre_cut",  # every link in the cable down until spliced
]
ELEMENT_MODES = ("element_failure", "software_crash", "degradation", "flapping",
                 "planned_maintenance")


class RepairSpec(Strict):
    """How random faults end: by the OSS (tickets and crews), or after a time the scenario
    fixes — a controlled experiment with no crew limit and no detection delay."""

    by: Literal["oss", "fixed"] = "oss"
    mttr_h: float = Field(4.0, gt=0, le=MAX_HOURS, description="with by: fixed")
    dist: Literal["deterministic", "exponential"] = "deterministic"


class StormSpec(Strict):
    at: Duration
    duration: Duration = Field(gt=0)
    region: str
    factor: float = Field(gt=1, le=1_000,
                          description="failure rates multiplied by this in the region")


class RandomFaultSpec(Strict):
    mtbf_h: dict[ElementType, Annotated[float, Field(ge=1, le=MTBF_MAX_H)]] = Field(
        default_factory=dict, description="mean time between failures per element type")
    link_mtbf_h: float | None = Field(None, ge=1, le=MTBF_MAX_H)
    cuts_per_1000km_year: float | None = Field(
        None, ge=0, le=1000, description="fibre cuts per 1,000 km of cable a year: each fibre "
                                         "cable (a link, or the links sharing a cable) is cut at "
                                         "this rate times its length, on top of link_mtbf_h (2.73 "
                                         "is a published average; see docs/domain.md)")
    distribution: Literal["exponential", "weibull"] = "exponential"
    weibull_shape: float = Field(1.5, ge=0.1, le=20,
                                 description="k; < 1 infant mortality, > 1 wear-out")
    crash_share: Share = Field(0.3, description="share of element failures that are "
                                                "software crashes (the rest are hardware)")
    repair: RepairSpec = RepairSpec()


class ScriptedFault(Strict):
    at: Duration
    target: str = Field(description="element, link, cable, or power domain (power_outage)")
    mode: FaultMode
    duration: Duration | None = Field(None, description="clears by itself after this long")
    silent: bool = Field(False, description="raises no alarm; shows only in PM counters")
    capacity_factor: Share = Field(1.0, description="degradation: share of channels left")
    drop_rate: Share = Field(0.0, description="degradation: chance an answered call drops")
    flap_down: Duration = Field(120.0, ge=1, description="flapping: down time per flap")
    flap_up: Duration = Field(600.0, ge=1, description="flapping: up time between flaps")
    window: Duration | None = Field(
        None, gt=0, description="planned_maintenance: the announced window (default: the "
                                "duration); work lasting longer overruns it")
    notice: Duration | None = Field(
        None, description="planned_maintenance: announced this long ahead (default "
                          "faults.maintenance_notice)")

    @model_validator(mode="after")
    def _check_mode(self) -> ScriptedFault:
        if self.mode in ("power_outage", "planned_maintenance") and self.duration is None:
            raise ValueError(f"duration: a {self.mode} needs a duration")
        for name in ("window", "notice"):
            if getattr(self, name) is not None and self.mode != "planned_maintenance":
                raise ValueError(f"{name}: only a planned_maintenance has one")
        if self.silent and self.mode != "degradation":
            raise ValueError("silent: only a degradation can be silent")
        return self


class FaultSpec(Strict):
    random: RandomFaultSpec = RandomFaultSpec()
    scripted: list[ScriptedFault] = Field(default_factory=list)
    storms: list[StormSpec] = Field(default_factory=list)
    maintenance_notice: Duration = Field(
        3 * 86_400.0, description="how long ahead change management announces a planned "
                                  "maintenance window to the OSS")


