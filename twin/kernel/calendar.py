"""Maps simulated seconds to wall-clock instants.

Simulated time is a float of seconds since the scenario's start instant. The calendar is the
one place that knows what day of the week or month a second falls on, so diurnal profiles and
bill cycles never do their own date arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

DAY = 86_400.0
HOUR = 3_600.0


@dataclass(frozen=True)
class Calendar:
    start: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            object.__setattr__(self, "start", self.start.replace(tzinfo=UTC))

    def at(self, t: float) -> datetime:
        """The instant of simulated second ``t``."""
        return self.start + timedelta(seconds=float(t))

    def seconds(self, when: datetime) -> float:
        """Simulated seconds of an instant (negative before the start)."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return (when - self.start).total_seconds()

    def hour_of_day(self, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Fractional local hour (0–24) for each simulated second."""
        offset = self.start.hour * HOUR + self.start.minute * 60 + self.start.second
        return ((np.asarray(t, dtype=np.float64) + offset) % DAY) / HOUR

    def weekday(self, t: float) -> int:
        """Monday is 0."""
        return self.at(t).weekday()

    def month_starts(self, horizon: float) -> list[float]:
        """Simulated seconds of each first-of-month midnight inside ``(0, horizon)``."""
        out: list[float] = []
        y, m = self.start.year, self.start.month
        while True:
            m += 1
            if m > 12:
                y, m = y + 1, 1
            s = self.seconds(datetime(y, m, 1, tzinfo=self.start.tzinfo))
            if s >= horizon:
                return out
            out.append(s)

    def month_length(self, t: float) -> float:
        """Seconds in the calendar month containing simulated second ``t``."""
        d = self.at(t)
        first = d.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = first.replace(year=first.year + 1, month=1) if first.month == 12 else first.replace(
            month=first.month + 1
        )
        return (nxt - first).total_seconds()
