"""Shared pieces of the scenario schema: durations, shares, the strict base model."""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_UNIT = {"w": 604_800.0, "d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
_DUR = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*([wdhms])\s*)+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")


def parse_duration(value: object) -> float:
    """Seconds from ``"1d10h"``-style text or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '7d', '1d10h', '90m' or seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("a duration must be a finite number of seconds")
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str) and _DUR.match(value):
        return sum(float(n) * _UNIT[u] for n, u in _PART.findall(value))
    raise ValueError("expected a duration like '7d', '1d10h', '90m' or seconds")


Duration = Annotated[float, BeforeValidator(parse_duration)]
Share = Annotated[float, Field(ge=0, le=1)]
ElementType = Literal[
    "core_router", "agg_router", "site_router", "cell",
    # core network functions: voice core/IMS, packet gateway, subscriber database, DNS,
    # online charging system, charging data collector
    "msc", "pgw", "hss", "dns", "ocs", "cdf",
]
Technology = Literal["2G", "4G", "5G"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


