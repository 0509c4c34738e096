"""The shape of demand: busy hour, weekends, holidays and crowd events."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import twin
from twin.scenario.schema import DEFAULT_PROFILE

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
QUIET = ["faults.random.mtbf_h={}", "faults.scripted=[]", "subscribers.count=3000"]


def hourly_calls(run: twin.Run) -> pd.DataFrame:
    usage = run.table("usage")
    voice = usage[usage["kind"] == "voice"]
    start = pd.Timestamp(run.scenario["start"])
    when = start + pd.to_timedelta(voice["start"], unit="s")
    return pd.DataFrame({"day": when.dt.date, "hour": when.dt.hour,
                         "weekday": when.dt.day_of_week})


def test_busy_hour_share_follows_the_profile(tmp_path: Path) -> None:
    run = twin.simulate(SCENARIOS / "quickstart.yaml", out=tmp_path / "r", report=False,
                        overrides=QUIET)
    calls = hourly_calls(run)
    weekdays = calls[calls["weekday"] < 5]
    per_hour = weekdays.groupby(["day", "hour"]).size().unstack(fill_value=0)
    bh_share = (per_hour.max(axis=1) / per_hour.sum(axis=1)).to_numpy()
    configured = max(DEFAULT_PROFILE) / sum(DEFAULT_PROFILE)  # ≈ 0.121
    assert 0.12 <= configured <= 0.20  # the rule of thumb the default profile is built to
    # each day's busiest hour: the configured share, plus a little Poisson noise (a day
    # has ~9,000 calls, so the sd of one hour's share is ~0.0035)
    assert abs(bh_share.mean() - configured) < 0.01, bh_share
    assert (per_hour.idxmax(axis=1) == int(np.argmax(DEFAULT_PROFILE))).mean() >= 0.6
    # weekends carry less (weekend_factor 0.85) and peak later in the morning
    per_day = calls.groupby(["day", "weekday"]).size().reset_index(name="n")
    weekend = per_day[per_day["weekday"] >= 5]["n"].mean()
    weekday = per_day[per_day["weekday"] < 5]["n"].mean()
    assert 0.78 < weekend / weekday < 0.92


def test_a_holiday_runs_as_a_weekend_day_and_a_crowd_raises_demand(tmp_path: Path) -> None:
    base = twin.simulate(SCENARIOS / "quickstart.yaml", out=tmp_path / "a", report=False,
                         overrides=[*QUIET, "duration=2d"])
    busy = twin.simulate(SCENARIOS / "quickstart.yaml", out=tmp_path / "b", report=False,
                         overrides=[*QUIET, "duration=2d", "traffic.holidays=[2026-01-06]",
                                    "traffic.events=[{at: 1d18h, duration: 3h, site: site5, "
                                    "factor: 6}]"])
    a, b = hourly_calls(base), hourly_calls(busy)
    day2 = pd.Timestamp("2026-01-06").date()
    ua, ub = base.table("usage"), busy.table("usage")
    site5 = ((ub["kind"] == "voice") & ub["cell"].str.startswith("site5-")
             & ub["start"].between(42 * 3600, 45 * 3600))
    site5a = ((ua["kind"] == "voice") & ua["cell"].str.startswith("site5-")
              & ua["start"].between(42 * 3600, 45 * 3600))
    assert site5.sum() > 4 * site5a.sum()  # the crowd at site5
    ratio = ((b["day"] == day2).sum() - site5.sum() + site5a.sum()) / (a["day"] == day2).sum()
    assert 0.8 < ratio < 0.92  # the holiday carries a weekend day's volume
