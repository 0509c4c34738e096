"""Calendar: simulated seconds ↔ instants, hour of day, month starts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from twin.kernel import Calendar
from twin.kernel.calendar import DAY, HOUR

JAN5 = datetime(2026, 1, 5, tzinfo=UTC)


def test_at_and_seconds_round_trip() -> None:
    cal = Calendar(JAN5)
    assert cal.at(0) == JAN5
    assert cal.at(DAY + 90) == JAN5 + timedelta(days=1, seconds=90)
    assert cal.seconds(datetime(2026, 1, 6, 1, tzinfo=UTC)) == DAY + HOUR
    assert cal.seconds(datetime(2026, 1, 4, tzinfo=UTC)) == -DAY


def test_naive_start_is_taken_as_utc() -> None:
    cal = Calendar(datetime(2026, 1, 5))
    assert cal.start.tzinfo is not None
    assert cal.at(0) == JAN5


def test_hour_of_day_from_midnight_start() -> None:
    cal = Calendar(JAN5)
    got = cal.hour_of_day([0.0, 5.5 * HOUR, 23 * HOUR + 1800, DAY, DAY + 2 * HOUR])
    np.testing.assert_allclose(got, [0.0, 5.5, 23.5, 0.0, 2.0])


def test_hour_of_day_wraps_past_midnight_for_a_late_start() -> None:
    cal = Calendar(datetime(2026, 1, 5, 22, 30, tzinfo=UTC))
    got = cal.hour_of_day(np.array([0.0, HOUR, 2 * HOUR, 3.5 * HOUR]))
    np.testing.assert_allclose(got, [22.5, 23.5, 0.5, 2.0])


def test_month_starts_inside_horizon() -> None:
    cal = Calendar(JAN5)
    # 1 Feb is 27 days after 5 Jan, 1 Mar 28 days later, 1 Apr 31 days after that
    assert cal.month_starts(60 * DAY) == [27 * DAY, 55 * DAY]
    assert cal.month_starts(90 * DAY) == [27 * DAY, 55 * DAY, 86 * DAY]


def test_month_starts_excludes_start_and_horizon() -> None:
    cal = Calendar(datetime(2026, 1, 1, tzinfo=UTC))  # starts on a month start
    assert cal.month_starts(31 * DAY) == []  # 1 Feb is exactly the horizon: excluded
    assert cal.month_starts(31 * DAY + 1) == [31 * DAY]
    assert Calendar(JAN5).month_starts(7 * DAY) == []


def test_month_starts_cross_a_year_end() -> None:
    cal = Calendar(datetime(2025, 12, 20, tzinfo=UTC))
    assert cal.month_starts(50 * DAY) == [12 * DAY, 43 * DAY]


@pytest.mark.parametrize(("when", "days"), [
    (datetime(2026, 2, 10, tzinfo=UTC), 28),
    (datetime(2028, 2, 10, tzinfo=UTC), 29),
    (datetime(2026, 12, 31, tzinfo=UTC), 31),
])
def test_month_length(when: datetime, days: int) -> None:
    cal = Calendar(JAN5)
    assert cal.month_length(cal.seconds(when)) == days * DAY


def test_weekday() -> None:
    cal = Calendar(JAN5)  # a Monday
    assert cal.weekday(0) == 0
    assert cal.weekday(5 * DAY + 1) == 5
