"""The scenario: the top level that holds every layer's section."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import Field, field_validator, model_validator

from twin.scenario.schema.base import Duration, Strict
from twin.scenario.schema.bss import BssSpec
from twin.scenario.schema.emulation import EmulationSpec
from twin.scenario.schema.expect import ExpectSpec
from twin.scenario.schema.faults import FaultSpec
from twin.scenario.schema.network import NetworkSpec
from twin.scenario.schema.oss import OssSpec
from twin.scenario.schema.traffic import SubscriberSpec, TrafficSpec

SEED_MAX = 2**63 - 1  # the seed is kept in Parquet and JSON as a 64-bit integer
START_MIN = datetime(1970, 1, 1, tzinfo=UTC)  # element managers stamp alarms in epoch time
START_MAX = datetime(2100, 1, 1, tzinfo=UTC)
# a plain name: it names the default run directory runs/<name>, so no path separators,
# no leading dot (hidden, or "." and ".."), no control characters
_PLAIN_NAME = re.compile(r"[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]{0,99}")


class Scenario(Strict):
    name: str = Field(description="a plain name of 1 to 100 characters: no / or \\, no "
                                  "leading dot, no control characters")
    description: str = Field(min_length=1, max_length=100_000)
    seed: int = Field(0, ge=0, le=SEED_MAX)
    start: datetime
    duration: Duration = Field(gt=0)
    network: NetworkSpec
    subscribers: SubscriberSpec
    traffic: TrafficSpec = TrafficSpec()
    faults: FaultSpec = FaultSpec()
    oss: OssSpec = OssSpec()
    bss: BssSpec
    emulation: EmulationSpec = EmulationSpec()
    expect: ExpectSpec = ExpectSpec()

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not _PLAIN_NAME.fullmatch(name):
            raise ValueError("must be a plain name of 1 to 100 characters without / or \\, a "
                             "leading dot or control characters (it names runs/<name>)")
        return name

    @field_validator("start")
    @classmethod
    def _check_start(cls, start: datetime) -> datetime:
        aware = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
        if not START_MIN <= aware < START_MAX:
            raise ValueError("must be from 1970-01-01 to 2099-12-31")
        return start

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
