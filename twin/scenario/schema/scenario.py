"""The scenario: the top level that holds every layer's section."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, model_validator

from twin.scenario.schema.base import Duration, Strict
from twin.scenario.schema.bss import BssSpec
from twin.scenario.schema.emulation import EmulationSpec
from twin.scenario.schema.faults import FaultSpec
from twin.scenario.schema.network import NetworkSpec
from twin.scenario.schema.oss import OssSpec
from twin.scenario.schema.traffic import SubscriberSpec, TrafficSpec


class Scenario(Strict):
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    seed: int = 0
    start: datetime
    duration: Duration = Field(gt=0)
    network: NetworkSpec
    subscribers: SubscriberSpec
    traffic: TrafficSpec = TrafficSpec()
    faults: FaultSpec = FaultSpec()
    oss: OssSpec = OssSpec()
    bss: BssSpec
    emulation: EmulationSpec = EmulationSpec()

    @model_validator(mode="after")
    def _check_mix_offers(self) -> Scenario:
        for offer in self.subscribers.mix:
            if offer not in self.bss.catalog.offers:
                raise ValueError(
                    f"subscribers.mix.{offer}: no such offer in the catalog "
                    f"(offers: {', '.join(sorted(self.bss.catalog.offers))})")
        names = set(self.bss.catalog.offers) | {
            o.segment for o in self.bss.catalog.offers.values()}
        for key in self.traffic.segment_factors:
            if key not in names:
                raise ValueError(f"traffic.segment_factors.{key}: neither an offer nor a "
                                 f"segment of the catalog ({', '.join(sorted(names))})")
        return self
