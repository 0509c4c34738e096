"""Shared pieces of the scenario schema: durations, shares, the strict base model."""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_UNIT = {"w": 604_800.0, "d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
_DUR = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*([wdhms])\s*)+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")


DAY_S = 86_400.0
MAX_DURATION_S = 3_660 * DAY_S
# the same ten years for times given in a unit of their own (travel_mean_min, mttr_h, …)
MAX_MINUTES = 3_660 * 1_440
MAX_HOURS = 3_660 * 24  # ten years: the longest any time in a scenario may be
_DUR_TEXT_MAX = 200  # characters of duration text worth reading


def parse_duration(value: object) -> float:
    """Seconds from ``"1d10h"``-style text or a plain number of seconds (at most
    :data:`MAX_DURATION_S`)."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '7d', '1d10h', '90m' or seconds")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("a duration must be a finite number of seconds")
        if abs(value) > 2 * MAX_DURATION_S:  # (an int too big for a float, too)
            seconds = math.inf if value > 0 else -math.inf
        else:
            seconds = float(value)
    elif isinstance(value, str) and len(value) <= _DUR_TEXT_MAX and _DUR.match(value):
        seconds = sum(float(n) * _UNIT[u] for n, u in _PART.findall(value))
    else:
        raise ValueError("expected a duration like '7d', '1d10h', '90m' or seconds")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds > MAX_DURATION_S:
        raise ValueError("a duration cannot be longer than 3660d (ten years)")
    return seconds


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
    # numbers are finite: no .inf or .nan slips into arithmetic that assumes a real value
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# Bounds shared by many fields (docs/scenario.md, "Ranges", lists every field's).
MONEY_MAX = 10**9  # minor units of one fee or balance (10 million EUR in cents)
PRICE_MAX = 10**6  # minor units per priced quantity
KM_MAX = 40_000.0  # a position, km from the datum: the Earth's circumference
Km = Annotated[float, Field(ge=-KM_MAX, le=KM_MAX)]
Hour = Annotated[float, Field(ge=0, le=24)]  # of the day


