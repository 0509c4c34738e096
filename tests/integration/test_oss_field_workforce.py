"""A fortnight with a realistic field force (``scenarios/field_workforce.yaml``): day crews
with skills on weekdays, an on-call crew at night and at weekends, travel from a depot by
road distance, spare parts with a two-day reorder lead time."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import twin
from twin.network.topology import build_topology

from .support import SCENARIOS, RunScenario

FIELD = SCENARIOS / "field_workforce.yaml"
H = 3600.0


@pytest.fixture(scope="module")
def run(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(FIELD)


def _dispatches(run: twin.Run) -> pd.DataFrame:
    st = run.table("ticket_status")
    d = st[st["reason"].str.match(r"crew \d+ dispatched")].copy()
    d["crew"] = d["reason"].str.extract(r"crew (\d+)")[0].astype(int)
    notes = run.table("ticket_notes")
    n = notes[notes["text"].str.match(r"crew \d+ (called out|dispatched to repair)")].copy()
    n["crew"] = n["text"].str.extract(r"crew (\d+)")[0].astype(int)
    return pd.concat([d[["ticket_id", "t", "crew"]], n[["ticket_id", "t", "crew"]]])


def test_crews_work_their_shifts(run: twin.Run) -> None:
    d = _dispatches(run)
    assert not d.empty
    hour = (d["t"] % 86_400) / H
    weekday = (d["t"] // 86_400) % 7  # the run starts on a Monday
    day_shift = (weekday < 5) & (hour >= 8) & (hour < 20)
    assert day_shift[d["crew"] <= 3].all(), "a day crew set out off shift"
    assert (~day_shift[d["crew"] == 4]).all(), "the on-call crew was called in the day shift"
    assert (d["crew"] == 4).any() and (d["crew"] <= 3).any()


def test_crews_have_the_skills_of_their_tickets(run: twin.Run) -> None:
    t = run.table("tickets").set_index("ticket_id")
    d = _dispatches(run)
    skill = t.loc[d["ticket_id"], "skill"].to_numpy()
    assert set(skill[(d["crew"] <= 2).to_numpy()]) <= {"radio"}
    assert set(skill[(d["crew"] == 3).to_numpy()]) <= {"transmission", "power", "core"}
    cells = t[t["root"].str.contains("-c\\d+$", regex=True)]
    assert (cells["skill"] == "radio").all()


def test_travel_is_the_road_distance_from_the_depot(run: twin.Run) -> None:
    topo = build_topology(twin.load_scenario(FIELD).network)
    t = run.table("tickets")
    rolled = t[(t["truck_rolls"] > 0) & t["root"].isin(list(topo.elements))]
    assert len(rolled) >= 5
    for r in rolled.itertuples():
        x, y = topo.elements[r.root].location  # type: ignore[misc]
        assert r.travel_s == pytest.approx(math.hypot(x, y) * 1.3 / 50 * H + 600)


def test_parts_run_out_and_tickets_wait_for_them(run: twin.Run) -> None:
    s = run.summary["oss"]
    assert s["spares_used"] > 0 and s["spares_stockouts"] > 0
    t = run.table("tickets")
    waited = t[t["part_wait_s"] > 0]
    assert 0 < len(waited) <= s["spares_stockouts"]
    status = run.table("ticket_status")
    pending = status[status["status"] == "pending"]
    assert set(pending["ticket_id"]) >= set(waited["ticket_id"])
    assert pending["reason"].str.startswith("awaiting spare part").all()
    # a backorder that placed an order of its own waits at most the lead time (a unit
    # handed back by a ticket that did not need it may come sooner)
    parts = run.table("spare_parts")
    back = parts[parts["event"] == "backordered"]
    for r in back.itertuples():
        ordered = parts[(parts["ticket_id"] == r.ticket_id) & (parts["event"] == "ordered")
                        & (parts["t"] == r.t)]
        row = t[t["ticket_id"] == r.ticket_id].iloc[0]
        if not ordered.empty and row["part_wait_s"] > 0:
            assert row["part_wait_s"] <= 2 * 86_400.0 + 1e-6
    # the stock never goes negative
    assert (parts["on_hand"] >= 0).all() and (parts["on_order"] >= 0).all()
    # and parts slow repairs down against crew_shortage's unlimited shelf
    assert s["mttr_repair_s"] > run_free_mttr(run)


def run_free_mttr(run: twin.Run) -> float:
    """The same field force with parts always on the shelf (no stockout possible)."""
    free = twin.simulate(FIELD, overrides=("oss.spares.enabled=false",), report=False,
                         out=run.path.parent / "free")
    assert free.summary["oss"]["spares_stockouts"] == 0
    return float(free.summary["oss"]["mttr_repair_s"])


def test_utilisation_is_over_duty_time(run: twin.Run) -> None:
    # 3 day crews × 10 weekdays × 12 h + the on-call crew's 14 nights and 4 weekend days
    duty = (3 * 10 * 12 + 14 * 12 + 4 * 12) * H
    u = run.summary["oss"]["crew_utilisation"]
    assert 0 < u < 1
    assert u * duty > 24 * 30 * 60  # at least its truck rolls' half-hour of repair each
