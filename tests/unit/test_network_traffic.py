"""The traffic engine on its own, interval by interval, against oracles written here: a
call-by-call loss system for blocking, the outage rules (calls up when a cell goes dark
drop there, attempts while it is dark are lost), the period counters as sums over the
usage rows, the day's profile, crowds, lines in and out of service, and the calls still up
at the horizon. A bare simulation with four cells and no other layer; the radio off unless
a test switches it on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from twin.kernel import Sim
from twin.messages import SubscriberBase, UsageBatch
from twin.network import build_topology
from twin.network.state import CellChange, NetworkState
from twin.network.traffic import TrafficEngine
from twin.scenario.schema import NetworkSpec, TrafficSpec

H = 3600.0
INTERVAL = 900.0


class Traffic:
    """A TrafficEngine on a four-cell network; what it publishes is kept."""

    def __init__(self, sim: Sim, spec: dict[str, Any], subs_per_cell: int,
                 demand: np.ndarray | None, existing: int, duplicates: float = 0.0,
                 prepaid: np.ndarray | None = None, cell: np.ndarray | None = None) -> None:
        topo = build_topology(NetworkSpec.model_validate({
            "preset": "small", "sites": 2, "sites_per_chain": 2, "cells_per_site": 2,
            "transport": "tree"}))
        self.state = NetworkState(topo)
        n = len(self.state.cell_ids)
        if cell is None:  # each line's cell; by default subs_per_cell lines a cell, in order
            cell = np.repeat(np.arange(n), subs_per_cell).astype(np.int32)
        self.subs = SubscriberBase(cells=tuple(self.state.cell_ids), offers=("o",), cell=cell,
                                   offer=np.zeros(cell.size, np.int16),
                                   account=np.arange(cell.size, dtype=np.int32),
                                   demand=demand, existing=existing, prepaid=prepaid)
        self.spec = TrafficSpec.model_validate({"profile": "flat", "radio": {"drop_rate": 0},
                                                **spec})
        self.sim = sim
        self.published: list[Any] = []
        self.engine = TrafficEngine(sim, self.spec, self.state, self.subs, duplicates,
                                    self.published.append)
        self.quality: tuple[np.ndarray, np.ndarray] | None = None  # else the state's

    def run(self, until: float) -> None:
        """Step interval by interval from where the engine is to ``until``."""
        e = self.engine
        while e.t + INTERVAL <= until + 1e-9:
            e.quality = self.quality or self.state.cell_quality()
            e.step(e.t, e.t + INTERVAL)

    def go_dark(self, cell: int, t: float, in_service: bool = False) -> None:
        """Cell ``cell`` leaves (or returns to) service at ``t``, inside the next step."""
        self.state.in_service[cell] = in_service
        self.state.changes.append(CellChange(t, cell, in_service))

    def answer_all(self, result: int, fail_open: bool = True, granted: int = 0) -> None:
        """Online charging on, an OCS giving every request ``result`` and ``granted`` units;
        what the engine sends it is kept with the rest."""
        from twin.messages import CreditAnswer, CreditRequest

        def answer(msg: Any) -> None:
            self.published.append(msg)
            if isinstance(msg, CreditRequest):
                ids = msg.columns["session_id"]
                self.engine.on_credit_answer(CreditAnswer({
                    "session_id": ids, "result": np.full(ids.size, result, np.int8),
                    "granted": np.full(ids.size, granted, np.int64)}, fail_open))

        self.engine.enable_online_charging(answer)

    def usage(self) -> list[dict[str, Any]]:
        _, staged, rows = self.engine.usage.unflushed()
        tables = [*staged, *([rows] if rows is not None else [])]
        return [r for t in tables for r in t.to_pylist()]

    def pm(self) -> list[dict[str, Any]]:
        _, staged, rows = self.engine.pm.unflushed()
        tables = [*staged, *([rows] if rows is not None else [])]
        return [r for t in tables for r in t.to_pylist()]

    def records(self) -> dict[str, np.ndarray]:
        batches = [m.columns for m in self.published if isinstance(m, UsageBatch)]
        return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}


@pytest.fixture
def traffic(make_sim: Callable[..., Sim]) -> Callable[..., Traffic]:
    def make(spec: dict[str, Any] | None = None, subs_per_cell: int = 50,
             horizon: float = 86_400.0, demand: np.ndarray | None = None,
             existing: int = -1, seed: int = 1, duplicates: float = 0.0,
             prepaid: np.ndarray | None = None) -> Traffic:
        return Traffic(make_sim(horizon=horizon, seed=seed), spec or {}, subs_per_cell,
                       demand, existing, duplicates, prepaid)
    return make


VOICE_ONLY = {"data": {"sessions_per_sub_day": 0}, "sms": {"per_sub_day": 0}}
DATA_ONLY = {"voice": {"calls_per_sub_day": 0}, "sms": {"per_sub_day": 0}}


def loss_system(calls: list[dict[str, Any]], channels: int) -> dict[int, str]:
    """Erlang's loss system by hand: in order of arrival, a call finding every channel busy
    (admitted calls that have not ended) is blocked; the others are carried."""
    ends: list[float] = []
    out = {}
    for c in sorted(calls, key=lambda r: r["start"]):
        ends = [e for e in ends if e > c["start"]]
        if len(ends) >= channels:
            out[c["id"]] = "blocked"
        else:
            ends.append(c["start"] + c["intended_s"])
            out[c["id"]] = "completed"
    return out


def test_blocking_is_erlangs_loss_system_call_by_call(traffic: Callable[..., Traffic]) -> None:
    """Three channels a cell and about 2.5 Erlang offered: cells block in some intervals
    and not in others; every call's fate is the loss system's, across intervals (calls
    carried from one to the next hold their channel)."""
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 40, "holding": {
        "dist": "exponential", "mean_s": 110}}}, horizon=8 * H)
    t.engine.channels = np.array([3, 3, 3, 3])
    t.run(8 * H)
    t.engine.finish()
    rows = t.usage()
    assert {r["outcome"] for r in rows} == {"completed", "blocked"}
    for cell in t.state.cell_ids:
        mine = [r for r in rows if r["cell"] == cell]
        want = loss_system(mine, 3)
        assert {r["id"]: r["outcome"] for r in mine} == want
    blocked = sum(r["outcome"] == "blocked" for r in rows)
    assert 0.05 < blocked / len(rows) < 0.4  # Erlang B(2.5 E, 3) is 0.28


def test_cells_that_cannot_block_admit_every_call(traffic: Callable[..., Traffic]) -> None:
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 40}}, horizon=4 * H)
    t.engine.channels = np.array([1000, 1000, 1000, 1000])
    t.run(4 * H)
    t.engine.finish()
    assert {r["outcome"] for r in t.usage()} == {"completed"}


def test_a_cell_going_dark_drops_its_calls_and_loses_new_attempts(
        traffic: Callable[..., Traffic]) -> None:
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 200, "holding": {
        "dist": "deterministic", "mean_s": 600}}}, horizon=3 * H)
    t.engine.channels = np.full(4, 1000)
    t.run(H)
    dark, back = H + 300.0, 2 * H + 450.0
    t.go_dark(0, dark)
    t.run(2 * H)
    t.go_dark(0, back, in_service=True)
    t.run(3 * H)
    t.engine.finish()
    cell = t.state.cell_ids[0]
    rows = [r for r in t.usage() if r["cell"] == cell]
    for r in rows:
        end = r["start"] + r["intended_s"]
        if dark <= r["start"] < back:
            assert (r["outcome"], r["actual_s"]) == ("lost_outage", 0.0)
        elif r["start"] < dark < end:
            assert r["outcome"] == "dropped"
            assert r["actual_s"] == pytest.approx(dark - r["start"])
        else:
            assert (r["outcome"], r["actual_s"]) == ("completed", pytest.approx(600.0))
    outcomes = {r["outcome"] for r in rows}
    assert outcomes == {"completed", "dropped", "lost_outage"}
    assert {r["outcome"] for r in t.usage() if r["cell"] != cell} == {"completed"}
    # the period counters: the cell was available for the part of each period it was up
    avail = {p["period_start"]: p["available_s"] for p in t.pm() if p["cell"] == cell}
    assert avail[H] == 300.0 and avail[H + INTERVAL] == 0.0
    assert avail[2 * H] == 450.0 and avail[2 * H + INTERVAL] == INTERVAL


def test_a_cell_dark_a_whole_interval_loses_every_attempt(
        traffic: Callable[..., Traffic]) -> None:
    t = traffic({"voice": {"calls_per_sub_day": 100}, "data": {"sessions_per_sub_day": 100},
                 "sms": {"per_sub_day": 100}}, horizon=2 * H)
    t.run(H)
    t.state.in_service[1] = False  # went dark before this interval began
    t.run(2 * H)
    cell = t.state.cell_ids[1]
    late = [r for r in t.usage() if r["cell"] == cell and r["start"] >= H]
    assert late and {r["outcome"] for r in late} == {"lost_outage"}
    assert {r["kind"] for r in late} == {"voice", "data", "sms"}
    pm = [p for p in t.pm() if p["cell"] == cell and p["period_start"] >= H]
    assert all(p["available_s"] == 0.0 for p in pm)
    assert sum(p["calls_lost_outage"] + p["sessions_lost_outage"] + p["sms_lost_outage"]
               for p in pm) == len(late)


def test_period_counters_are_the_usage_rows_summed(traffic: Callable[..., Traffic]) -> None:
    t = traffic({"voice": {"calls_per_sub_day": 60, "holding": {"dist": "exponential",
                                                                "mean_s": 200}}},
                horizon=3 * H)
    t.engine.channels = np.array([2, 4, 30, 30])
    t.run(H)
    t.go_dark(3, H + 100.0)
    t.run(3 * H)
    t.engine.finish()  # the calls still up become rows too
    rows = t.usage()
    for p in t.pm():
        t0, t1 = p["period_start"], p["period_start"] + INTERVAL
        mine = [r for r in rows if r["cell"] == p["cell"] and t0 <= r["start"] < t1]
        voice = [r for r in mine if r["kind"] == "voice"]
        assert p["calls_offered"] == len(voice)
        for col, outcome in (("calls_blocked", "blocked"), ("calls_lost_outage", "lost_outage")):
            assert p[col] == sum(r["outcome"] == outcome for r in voice)
        assert p["sessions_offered"] == sum(r["kind"] == "data" for r in mine)
        assert p["sms_offered"] == sum(r["kind"] == "sms" for r in mine)
    assert sum(p["calls_blocked"] for p in t.pm()) > 0
    assert sum(p["calls_lost_outage"] for p in t.pm()) > 0
    assert t.engine.counts["calls_offered"] == sum(p["calls_offered"] for p in t.pm())


def test_carried_erlang_is_the_calls_time_up_in_the_period(
        traffic: Callable[..., Traffic]) -> None:
    """Blocked calls and calls lost to an outage hold no channel; dropped ones hold theirs
    until they drop."""
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 30, "holding": {
        "dist": "exponential", "mean_s": 400}}}, horizon=2 * H)
    t.engine.channels = np.array([2, 1000, 1000, 1000])
    t.run(H)
    t.go_dark(1, H + 200.0)
    t.run(2 * H)
    t.engine.finish()
    rows = t.usage()
    assert {"completed", "dropped", "blocked", "lost_outage"} <= {r["outcome"] for r in rows}
    for p in t.pm():
        t0, t1 = p["period_start"], p["period_start"] + INTERVAL
        busy = sum(max(0.0, min(r["start"] + r["actual_s"], t1) - max(r["start"], t0))
                   for r in rows if r["cell"] == p["cell"]
                   and r["outcome"] in ("completed", "dropped"))
        assert p["carried_erlang"] == pytest.approx(busy / INTERVAL)


def test_calls_up_at_the_horizon_end_as_planned(traffic: Callable[..., Traffic]) -> None:
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 50, "holding": {
        "dist": "deterministic", "mean_s": 1200}}}, horizon=H)
    t.engine.channels = np.full(4, 1000)
    t.run(H)
    up = len(t.engine.carried[0])
    before = len(t.usage())
    assert up > 0
    t.engine.finish()
    rows = t.usage()
    assert len(rows) == before + up
    assert all(r["actual_s"] == pytest.approx(1200.0) for r in rows)
    assert len(t.engine.carried[0]) == 0


# --- demand: the profile, weekends and holidays, crowds, lines ----------------------------


def offered_per_hour(t: Traffic) -> np.ndarray:
    out = np.zeros(24)
    for p in t.pm():
        out[int(p["period_start"] // H) % 24] += p["calls_offered"]
    return out


def test_the_diurnal_profile_shapes_each_hour(traffic: Callable[..., Traffic]) -> None:
    shares = [1.0] * 24
    shares[10] = 9.0  # one busy hour
    t = traffic({**VOICE_ONLY, "profile": "diurnal", "hourly_shares": shares,
                 "voice": {"calls_per_sub_day": 96}})  # Monday 2026-01-05
    t.run(24 * H)
    per_hour = offered_per_hour(t)
    day = 200 * 96  # lines × calls a day
    assert per_hour[10] == pytest.approx(day * 9 / 32, rel=0.05)
    assert per_hour[3] == pytest.approx(day / 32, rel=0.15)


@pytest.mark.parametrize(("day", "holiday"), [(5, False), (0, True)])
def test_weekends_and_holidays_follow_the_weekend_profile(
        traffic: Callable[..., Traffic], day: int, holiday: bool) -> None:
    """Saturday (day 5 of a run starting on a Monday), or a Monday declared a holiday,
    runs the weekend shares at the weekend factor."""
    weekend = [1.0] * 24
    weekend[20] = 5.0
    t = traffic({**VOICE_ONLY, "profile": "diurnal", "weekend_shares": weekend,
                 "weekend_factor": 0.5, "voice": {"calls_per_sub_day": 96},
                 "holidays": [date(2026, 1, 5)] if holiday else []},
                horizon=(day + 1) * 24 * H)
    t.engine.t = day * 24 * H
    t.run((day + 1) * 24 * H)
    per_hour = offered_per_hour(t)
    day_calls = 200 * 96 * 0.5
    assert per_hour[20] == pytest.approx(day_calls * 5 / 28, rel=0.05)
    assert per_hour.sum() == pytest.approx(day_calls, rel=0.03)


def test_a_crowd_multiplies_its_sites_demand_while_it_lasts(
        traffic: Callable[..., Traffic]) -> None:
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 96},
                 "events": [{"at": 2 * H, "duration": H, "site": "site2", "factor": 4}]},
                horizon=4 * H)
    t.run(4 * H)
    by = {}
    for p in t.pm():
        hour = int(p["period_start"] // H)
        site = p["cell"].split("-")[0]
        by[(site, hour)] = by.get((site, hour), 0) + p["calls_offered"]
    per_hour = 100 * 96 / 24  # two cells of 50 lines
    assert by[("site2", 2)] == pytest.approx(4 * per_hour, rel=0.1)
    assert by[("site2", 1)] == pytest.approx(per_hour, rel=0.2)
    assert by[("site1", 2)] == pytest.approx(per_hour, rel=0.2)
    assert by[("site2", 3)] == pytest.approx(per_hour, rel=0.2)  # over at 3 h


def test_attempts_pick_lines_of_their_cell_in_proportion_to_demand(
        traffic: Callable[..., Traffic]) -> None:
    demand = np.tile(np.array([1.0] * 40 + [5.0] * 10), 4)  # ten heavy lines a cell
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 100}}, demand=demand,
                horizon=6 * H)
    t.run(6 * H)
    rows = t.usage()
    subs = np.array([r["sub"] for r in rows])
    cells = [r["cell"] for r in rows]
    home = t.subs.cell[subs]
    assert [t.state.cell_ids[c] for c in home] == cells  # a line calls from its own cell
    heavy = (subs % 50) >= 40
    assert heavy.mean() == pytest.approx(50 / 90, abs=0.03)  # 10 × 5 of 40 + 50
    # per cell the rate follows the cell's demand (90 lines' worth here, not 50)
    assert len(rows) == pytest.approx(4 * 90 * 100 / 4, rel=0.05)


def test_prospects_call_only_once_their_line_is_in_service(
        traffic: Callable[..., Traffic]) -> None:
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 200}}, existing=100,
                horizon=4 * H)
    t.engine.line_from[150] = 2 * H  # activated at 2 h, ceased at 3 h
    t.engine.line_until[150] = 3 * H
    t.run(4 * H)
    starts = [r["start"] for r in t.usage() if r["sub"] == 150]
    assert starts and all(2 * H <= s < 3 * H for s in starts)
    assert all(r["sub"] < 100 or r["sub"] == 150 for r in t.usage())
    assert len({r["sub"] for r in t.usage() if r["sub"] < 100}) > 90  # the existing lines


def test_ids_run_in_the_order_drawn_and_rows_are_sorted_by_cell_and_start(
        traffic: Callable[..., Traffic]) -> None:
    t = traffic({"voice": {"calls_per_sub_day": 50}}, horizon=2 * H)
    new = t.engine._generate(0, np.full(4, 30.0), 0.0, INTERVAL)
    assert (new.id == np.arange(1, len(new) + 1)).all()
    assert t.engine.next_id == len(new) + 1
    key = new.cell * 1e9 + new.start
    assert (np.diff(key) >= 0).all()
    assert ((new.start >= 0) & (new.start < INTERVAL)).all()
    assert (new.end > new.start).all()


# --- degraded cells, radio drops ------------------------------------------------------------


def test_a_degraded_cell_keeps_its_share_of_channels(traffic: Callable[..., Traffic]) -> None:
    """Half the channels left (4 → 2): the loss system with two; a cell with less than one
    channel left serves nobody, though it is up."""
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 40, "holding": {
        "dist": "exponential", "mean_s": 110}}}, horizon=4 * H)
    t.engine.channels = np.array([4, 4, 4, 4])
    t.quality = (np.array([0.5, 0.1, 1.0, 1.0]), np.zeros(4))
    t.run(4 * H)
    t.engine.finish()
    rows = t.usage()
    first = [r for r in rows if r["cell"] == t.state.cell_ids[0]]
    assert {r["id"]: r["outcome"] for r in first} == loss_system(first, 2)
    asleep = [r for r in rows if r["cell"] == t.state.cell_ids[1]]
    assert asleep and {r["outcome"] for r in asleep} == {"lost_outage"}
    assert all(p["available_s"] == INTERVAL for p in t.pm())  # up as far as anyone can tell
    third = [r for r in rows if r["cell"] == t.state.cell_ids[2]]
    assert {r["id"]: r["outcome"] for r in third} == loss_system(third, 4)


def test_answered_calls_in_a_degraded_cell_drop_at_its_rate(
        traffic: Callable[..., Traffic]) -> None:
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 100, "holding": {
        "dist": "deterministic", "mean_s": 100}}}, horizon=8 * H)
    t.engine.channels = np.full(4, 1000)
    t.quality = (np.ones(4), np.array([0.3, 0.0, 0.0, 0.0]))
    t.run(8 * H)
    t.engine.finish()
    rows = t.usage()
    mine = [r for r in rows if r["cell"] == t.state.cell_ids[0]]
    dropped = [r for r in mine if r["outcome"] == "dropped"]
    assert len(dropped) / len(mine) == pytest.approx(0.3, abs=0.04)
    assert all(0 <= r["actual_s"] < 100 for r in dropped)
    interval_end = [(r["start"] // INTERVAL + 1) * INTERVAL for r in dropped]
    assert all(r["start"] + r["actual_s"] <= end for r, end in zip(dropped, interval_end,
                                                                       strict=True))
    assert np.std([r["actual_s"] for r in dropped]) > 20  # a uniform instant, not a fixed one
    assert {r["outcome"] for r in rows if r["cell"] != t.state.cell_ids[0]} == {"completed"}
    assert sum(p["calls_dropped"] for p in t.pm()) == len(dropped)


RADIO = {"drop_rate": 0.2, "load_sensitivity": 0.0, "coverage_mix": {"poor": 1.0},
         "coverage_factor": {"poor": 2.0}}


def test_radio_drops_follow_the_hazard(traffic: Callable[..., Traffic]) -> None:
    """Hazard 0.2 / 100 s × 2 (poor coverage): a 100-s call drops with 1 − e^−0.4."""
    t = traffic({**VOICE_ONLY, "radio": RADIO, "voice": {"calls_per_sub_day": 100, "holding": {
        "dist": "deterministic", "mean_s": 100}}}, horizon=6 * H)
    t.engine.channels = np.full(4, 1000)
    t.run(6 * H)
    t.engine.finish()
    rows = t.usage()
    share = sum(r["outcome"] == "dropped" for r in rows) / len(rows)
    assert share == pytest.approx(1 - np.exp(-0.4), abs=0.03)
    assert t.engine._radio_hazard(np.full(4, 10.0), np.full(4, 5), INTERVAL) == \
        pytest.approx(np.full(4, 0.004))


def test_radio_drop_hazard_rises_with_the_load(traffic: Callable[..., Traffic]) -> None:
    t = traffic({**VOICE_ONLY, "radio": {**RADIO, "load_sensitivity": 3.0}})
    rate = np.array([4.0, 45.0, 900.0, 4.0])  # calls this interval (110 s each)
    hazard = t.engine._radio_hazard(rate, np.array([1, 10, 5, 0]), INTERVAL)
    base = 0.2 / 110 * 2  # the default holding time's mean is 110 s
    load = np.array([4 * 110 / INTERVAL, 45 * 110 / INTERVAL / 10, 1.0, 1.0])  # at most 1;
    # no channel: 1
    assert hazard == pytest.approx(base * (1 + 3.0 * load))
    off = traffic({"radio": {"drop_rate": 0}}).engine
    assert off._radio_hazard(rate, np.full(4, 5), INTERVAL) is None


def test_a_calls_radio_fate_does_not_depend_on_the_rest_of_the_run(
        traffic: Callable[..., Traffic]) -> None:
    """Common random numbers: with another cell dark all along, every call of the other
    cells drops (or not) at the same instant."""
    spec = {**VOICE_ONLY, "radio": RADIO, "voice": {"calls_per_sub_day": 60, "holding": {
        "dist": "exponential", "mean_s": 300}}}
    runs = []
    for dark in (False, True):
        t = traffic(spec, horizon=3 * H)
        t.engine.channels = np.full(4, 1000)
        if dark:
            t.state.in_service[0] = False
        t.run(3 * H)
        t.engine.finish()
        runs.append({r["id"]: (r["outcome"], r["actual_s"]) for r in t.usage()
                     if r["cell"] != t.state.cell_ids[0]})
    assert runs[0] == runs[1]
    assert "dropped" in {o for o, _ in runs[0].values()}


# --- what goes out: period reports, records, duplicates ----------------------------------


def test_the_period_report_the_oss_gets(traffic: Callable[..., Traffic]) -> None:
    """Every kind of failure at once: blocking (cells 0 and 1), drops (cell 0 degraded, with
    little traffic: periods of one answered call), an outage (cell 2 from 1 h 05), and every
    third line prepaid and refused credit."""
    from twin.messages import DENIED_CREDIT, PmReport

    t = traffic({"voice": {"calls_per_sub_day": 60, "holding": {"dist": "exponential",
                                                               "mean_s": 300}}},
                horizon=2 * H, demand=np.where(np.arange(200) < 50, 0.05, 1.0),
                prepaid=np.arange(200) % 3 == 0)
    t.answer_all(DENIED_CREDIT)
    t.engine.channels = np.array([2, 4, 30, 30])
    t.quality = (np.ones(4), np.array([0.9, 0.3, 0.0, 0.0]))
    t.run(H)
    t.go_dark(2, H + 300.0)
    t.run(2 * H)
    reports = [m for m in t.published if isinstance(m, PmReport)]
    assert [(r.period_start, r.period_s, r.object_kind) for r in reports] == [
        (k * INTERVAL, INTERVAL, "cell") for k in range(8)]
    rows = t.pm()
    one_answered = False
    for k, r in enumerate(reports):
        assert r.objects == tuple(t.state.cell_ids)
        mine = rows[4 * k:4 * k + 4]
        cols = {name: np.array([p[name] for p in mine]) for name in mine[0]}
        col = cols.__getitem__
        c = r.counters
        attempted = col("calls_offered") - col("calls_denied")
        assert (c["calls_attempted"] == attempted).all()
        assert (c["calls_blocked"] == col("calls_blocked")).all()
        assert (c["calls_failed"] == col("calls_lost_outage")).all()
        assert (c["calls_dropped"] == col("calls_dropped")).all()
        answered = attempted - col("calls_blocked") - col("calls_lost_outage")
        assert c["drop_rate"] == pytest.approx(col("calls_dropped") / np.maximum(answered, 1))
        assert c["traffic_erlang"] == pytest.approx(col("carried_erlang"))
        assert (c["sms_attempted"] == col("sms_offered")).all()
        assert (c["sessions_attempted"] == col("sessions_offered")).all()
        assert c["data_mb"] == pytest.approx(col("data_mb"))
        util = col("data_mb") * 8 / INTERVAL / t.engine.data_capacity
        assert c["data_utilisation"] == pytest.approx(util)
        assert col("data_utilisation") == pytest.approx(util)
        assert c["throughput_factor"] == pytest.approx(1 / np.maximum(util, 1))
        assert (c["available_s"] == col("available_s")).all()
        one_answered |= bool(((answered == 1) & (col("calls_dropped") == 1)).any())
    assert one_answered
    for key in ("calls_dropped", "calls_failed", "calls_blocked"):
        assert sum(c.counters[key].sum() for c in reports) > 0, key
    for key in ("calls_failed", "calls_blocked"):  # beside drops in one cell and period
        assert any(((r.counters["calls_dropped"] > 0) & (r.counters[key] > 0)).any()
                   for r in reports), key
    assert sum(c.counters["calls_attempted"].sum() for c in reports) < sum(
        p["calls_offered"] for p in rows)  # the denied ones


def test_a_busy_cell_shares_its_data_capacity(traffic: Callable[..., Traffic]) -> None:
    t = traffic({**DATA_ONLY,
                 "data": {"sessions_per_sub_day": 200}}, horizon=H)
    t.engine.data_capacity = np.array([0.01, 1e6, 1e6, 1e6])  # Mb/s
    t.run(H)
    tight = [p for p in t.pm() if p["cell"] == t.state.cell_ids[0]]
    assert all(p["data_utilisation"] > 1 for p in tight)
    assert [p["throughput_factor"] for p in tight] == pytest.approx(
        [1 / p["data_utilisation"] for p in tight])
    assert {p["throughput_factor"] for p in t.pm() if p not in tight} == {1.0}


def test_served_data_moves_its_share_of_the_volume(traffic: Callable[..., Traffic]) -> None:
    t = traffic({**DATA_ONLY,
                 "data": {"sessions_per_sub_day": 100,
                          "duration": {"dist": "deterministic", "mean_s": 800}}},
                horizon=2 * H)
    t.run(H)
    t.go_dark(0, H + 400.0)
    t.run(2 * H)
    t.engine.finish()
    rows = [r for r in t.usage() if r["kind"] == "data"]
    cut = [r for r in rows if r["outcome"] == "dropped"]
    assert cut
    for r in rows:
        share = r["actual_s"] / r["intended_s"]
        assert r["actual_bytes"] == int(np.floor(r["intended_bytes"] * share))
    for p in t.pm():
        t0 = p["period_start"]
        moved = sum(r["actual_bytes"] for r in rows if r["cell"] == p["cell"]
                    and r["outcome"] in ("completed", "dropped")
                    and t0 <= r["start"] + r["actual_s"] < t0 + INTERVAL)
        assert p["data_mb"] == pytest.approx(moved / 1e6)
    assert t.engine.counts["data_bytes"] == sum(r["actual_bytes"] for r in rows)


@pytest.mark.parametrize("rate", [0.0, 0.25])
def test_records_of_served_usage_go_out_some_twice(traffic: Callable[..., Traffic],
                                                   rate: float) -> None:
    t = traffic({"voice": {"calls_per_sub_day": 20}}, horizon=2 * H, duplicates=rate)
    t.engine.channels = np.full(4, 1000)
    t.run(2 * H)
    t.engine.finish()
    served = [r for r in t.usage() if r["outcome"] in ("completed", "dropped")]
    ids = t.records()["record_id"]
    assert len(set(ids.tolist())) == len(served)
    assert len(ids) - len(served) == pytest.approx(rate * len(served), abs=0.05 * len(served))


# --- online charging: one request an interval, denials, quotas --------------------------------


def test_prepaid_attempts_are_admitted_denied_or_capped_by_online_charging(
        traffic: Callable[..., Traffic]) -> None:
    """Lines 0–99 are prepaid: the OCS denies even lines, grants odd lines 30 s of talk or
    1 MB. Denied attempts are rows without records, counted as denied and offered; capped
    ones end when their quota is used up, released by the OCS."""
    from twin.messages import (
        CAMEL_INIT_CALL_RELEASE,
        DENIED_CREDIT,
        GRANTED,
        CreditAnswer,
        CreditRequest,
    )

    t = traffic({"voice": {"calls_per_sub_day": 40, "holding": {"dist": "deterministic",
                                                               "mean_s": 120}},
                 "data": {"sessions_per_sub_day": 40, "mb_per_session": {
                     "dist": "exponential", "mean": 5}},
                 "sms": {"per_sub_day": 40}}, horizon=2 * H, prepaid=np.arange(200) < 100)
    t.engine.channels = np.full(4, 1000)
    requests: list[CreditRequest] = []

    def answer(msg: Any) -> None:
        if not isinstance(msg, CreditRequest):
            return
        requests.append(msg)
        sub = msg.columns["sub"]
        grant = np.where(msg.columns["kind"] == 1, 1_000_000, 30)
        t.engine.on_credit_answer(CreditAnswer({
            "session_id": msg.columns["session_id"],
            "result": np.where(sub % 2 == 0, DENIED_CREDIT, GRANTED).astype(np.int8),
            "granted": np.where(sub % 2 == 0, 0, grant)}, True))

    t.engine.enable_online_charging(answer)
    t.state.in_service[1] = False  # lines 50–99 are in a dark cell: nobody asks for them
    t.run(2 * H)
    t.engine.finish()
    assert len(requests) == 8  # one an interval
    assert all((r.columns["sub"] < 50).all() for r in requests)
    assert {r["outcome"] for r in t.usage() if 50 <= r["sub"] < 100} == {"lost_outage"}
    rows = t.usage()
    by_id = {r["id"]: r for r in rows}
    for r in rows:
        if r["sub"] >= 100:
            assert r["outcome"] in ("completed", "dropped")
        elif r["sub"] >= 50:
            continue
        elif r["sub"] % 2 == 0:
            assert r["outcome"] == "denied_credit" and r["actual_s"] == 0.0
        elif r["kind"] == "voice":  # 120 s wanted, 30 s granted after the answer
            assert r["outcome"] == "quota_exhausted"
            assert r["intended_s"] == pytest.approx(120.0)
            assert r["actual_s"] == pytest.approx(r["answer_s"] + 30, abs=1e-3)
    recs = t.records()
    ids = recs["record_id"]
    assert not any(by_id[int(i)]["outcome"] == "denied_credit" for i in recs["charging_id"])
    capped = [by_id[int(i)]["outcome"] == "quota_exhausted" for i in recs["charging_id"]]
    assert (recs["cause"][capped] == CAMEL_INIT_CALL_RELEASE).all()
    assert (recs["online"][np.array([by_id[int(i)]["sub"] for i in recs["charging_id"]])
                           >= 100] == 0).all()
    assert ids.size == len(set(ids.tolist()))
    denied = {k: sum(r["outcome"] == "denied_credit" for r in rows if r["kind"] == k)
              for k in ("voice", "data", "sms")}
    assert all(denied.values())
    pm = t.pm()
    assert sum(p["calls_denied"] for p in pm) == denied["voice"]
    assert sum(p["sessions_denied"] for p in pm) == denied["data"]
    assert sum(p["sms_denied"] for p in pm) == denied["sms"]
    assert sum(p["calls_offered"] for p in pm) == sum(r["kind"] == "voice" for r in rows)
    assert t.engine.counts["calls_denied"] == denied["voice"]
    assert t.engine.counts["sms_denied"] == denied["sms"]


def test_the_process_steps_each_interval_and_finish_the_last_part(
        traffic: Callable[..., Traffic]) -> None:
    """A horizon 300 s past the fourth interval: four full periods from the process, the
    last 300 s from ``finish``; calls still up end then."""
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 100, "holding": {
        "dist": "deterministic", "mean_s": 200}}}, horizon=H + 300)
    t.engine.channels = np.full(4, 1000)
    t.sim.env.process(t.engine.process())
    t.sim.env.run(until=H + 300)
    assert sorted({p["period_start"] for p in t.pm()}) == [0.0, 900.0, 1800.0, 2700.0]
    t.engine.finish()
    last = [p for p in t.pm() if p["period_start"] == H]
    assert len(last) == 4 and {p["available_s"] for p in last} == {300.0}
    rows = t.usage()
    assert max(r["start"] for r in rows) < H + 300
    assert all(r["outcome"] == "completed" and r["actual_s"] == pytest.approx(200.0)
               for r in rows)
    assert len(t.engine.carried[0]) == 0


# --- holding times, volumes, coverage -------------------------------------------------------


@pytest.mark.parametrize(("spec", "median"), [
    ({"dist": "exponential", "mean_s": 120.0}, 120.0 * np.log(2)),
    ({"dist": "lognormal", "mean_s": 120.0, "sigma": 0.8}, 120.0 * np.exp(-0.32)),
    ({"dist": "loglogistic", "mean_s": 120.0, "shape": 4.0},
     120.0 * np.sin(np.pi / 4) / (np.pi / 4)),
    ({"dist": "deterministic", "mean_s": 120.0}, 120.0),
])
def test_holding_times_have_the_mean_and_shape_asked_for(spec: dict[str, Any],
                                                         median: float) -> None:
    """Each distribution's mean is the one asked for; its median tells the shape apart
    (lognormal: e^(μ), μ = ln mean − σ²/2; log-logistic: its scale)."""
    from twin.network.offered import draw_holding
    from twin.scenario.schema.traffic import HoldingSpec

    x = draw_holding(np.random.default_rng(3), HoldingSpec.model_validate(spec), 400_000)
    assert x.mean() == pytest.approx(120.0, rel=0.02)
    assert np.median(x) == pytest.approx(median, rel=0.02)


@pytest.mark.parametrize(("spec", "median_mb"), [
    ({"dist": "exponential", "mean": 20.0}, 20.0 * np.log(2)),
    ({"dist": "lognormal", "mean": 20.0, "sigma": 1.5}, 20.0 * np.exp(-1.125)),
])
def test_session_volumes_are_whole_bytes_of_the_mean_asked_for(spec: dict[str, Any],
                                                              median_mb: float) -> None:
    from twin.network.offered import draw_volume
    from twin.scenario.schema.traffic import VolumeSpec

    x = draw_volume(np.random.default_rng(4), VolumeSpec.model_validate(spec), 400_000)
    assert (x == np.floor(x)).all() and x.min() >= 0
    assert x.mean() / 1e6 == pytest.approx(20.0, rel=0.02)
    assert np.median(x) / 1e6 == pytest.approx(median_mb, rel=0.02)


def test_each_cells_radio_hazard_is_its_coverage_class(traffic: Callable[..., Traffic]) -> None:
    t = traffic({"radio": {"drop_rate": 0.05, "coverage_mix": {"good": 0.5, "poor": 0.5},
                           "coverage_factor": {"good": 0.5, "poor": 3.0}},
                 "voice": {"holding": {"mean_s": 100}}}, seed=7)
    e = t.engine
    assert set(e.coverage.tolist()) <= {"good", "poor"}
    want = 0.05 / 100 * np.where(e.coverage == "poor", 3.0, 0.5)
    assert e.radio_hazard == pytest.approx(want)
    draws = [set(traffic({"radio": {"coverage_mix": {"good": 0.5, "poor": 0.5}}},
                         seed=s).engine.coverage.tolist()) for s in range(1, 9)]
    assert set().union(*draws) == {"good", "poor"}  # both classes drawn


# --- its random streams, counters and tables ------------------------------------------------


def test_each_draw_comes_from_its_own_stream(traffic: Callable[..., Traffic],
                                             make_sim: Callable[..., Sim]) -> None:
    """Common random numbers: voice, data and messages, coverage, radio keys and duplicate
    records each draw from a stream of their own, by name."""
    t = traffic({"radio": {"coverage_mix": {"good": 0.5, "poor": 0.5}}}, seed=5)
    e = t.engine
    ref = make_sim(horizon=86_400.0, seed=5).rng
    rate = np.array([3.0, 5.0, 7.0, 11.0])
    for kind, name in enumerate(("traffic.voice", "traffic.data", "traffic.sms")):
        assert len(e._generate(kind, rate, 0.0, INTERVAL)) == ref.stream(name).poisson(rate).sum()
    pick = ref.stream("network.coverage").choice(2, size=4, p=np.array([0.5, 0.5]))
    assert e.coverage.tolist() == [("good", "poor")[i] for i in pick]
    keys = ref.stream("traffic.radio").integers(0, 2**63, size=2, dtype=np.int64)
    assert e.radio_keys.tolist() == keys.astype(np.uint64).tolist()
    assert e.cdr_rng.random() == ref.stream("network.cdr").random()
    assert e.drop_rng.random() == ref.stream("traffic.drops").random()


def test_run_counters_are_the_period_counters_summed(traffic: Callable[..., Traffic]) -> None:
    """Every other line prepaid and refused credit: its attempts count as offered and
    denied."""
    from twin.messages import DENIED_CREDIT

    t = traffic({"voice": {"calls_per_sub_day": 80, "holding": {"dist": "exponential",
                                                               "mean_s": 300}},
                 "radio": RADIO}, horizon=2 * H, prepaid=np.arange(200) % 2 == 0)
    t.answer_all(DENIED_CREDIT)
    t.engine.channels = np.array([2, 4, 30, 30])
    t.run(H)
    t.go_dark(3, H + 100.0)
    t.run(2 * H)
    pm = t.pm()
    counts = t.engine.counts
    for key in ("calls_offered", "calls_blocked", "calls_lost_outage", "calls_dropped",
                "sessions_offered", "sms_offered", "sms_lost_outage", "calls_denied",
                "sessions_denied", "sms_denied"):
        assert counts[key] == sum(p[key] for p in pm), key
    assert min(counts[k] for k in ("calls_blocked", "calls_lost_outage", "calls_dropped",
                                   "sms_lost_outage", "calls_denied", "sessions_denied",
                                   "sms_denied")) > 0
    assert counts["data_bytes"] == pytest.approx(sum(p["data_mb"] for p in pm) * 1e6, rel=1e-9)
    t.engine.finish()
    rows = len(t.usage())
    t.sim.records.close()  # the engine's tables, by name
    tables = t.sim.records.directory
    assert pq.read_table(tables / "traffic.parquet").num_rows == len(pm)
    assert pq.read_table(tables / "usage.parquet").num_rows == rows > 0


def test_long_data_sessions_go_out_in_partial_records_that_add_up(
        traffic: Callable[..., Traffic]) -> None:
    """Sessions of 2,000 s with a 600-s partial limit: records as the session goes, across
    intervals and at the horizon, adding up to each session's bytes and seconds; one cut
    short by an outage too."""
    t = traffic({**DATA_ONLY,
                 "records": {"partial_time_limit": 600},
                 "data": {"sessions_per_sub_day": 30,
                          "duration": {"dist": "deterministic", "mean_s": 2000}}},
                horizon=2 * H)
    t.run(H)
    t.go_dark(0, H + 500.0)
    t.run(2 * H)
    t.engine.finish()
    rows = {r["id"]: r for r in t.usage()}
    recs = t.records()
    served = {i for i, r in rows.items() if r["outcome"] in ("completed", "dropped")}
    assert set(recs["charging_id"].tolist()) == served
    for i in served:
        mine = recs["charging_id"] == i
        assert recs["volume_bytes"][mine].sum() == rows[i]["actual_bytes"]
        assert recs["duration_s"][mine].sum() == np.ceil(rows[i]["actual_s"])
        assert mine.sum() == max(1, int(np.ceil(rows[i]["actual_s"] / 600)))
    assert max(np.bincount(recs["charging_id"])) == 4  # 2,000 s in parts of 600 s
    assert any(rows[i]["outcome"] == "dropped" for i in served)


def test_each_intervals_rate_is_the_lines_demand_over_the_day(
        traffic: Callable[..., Traffic], monkeypatch: pytest.MonkeyPatch) -> None:
    """Offered per cell per interval: lines' demand × attempts a day × the hour's share
    of the day, over the interval's seconds — exactly, before the Poisson draw."""
    demand = np.tile(np.array([1.0] * 45 + [3.0] * 5), 4)  # 60 lines' worth a cell
    shares = [1.0] * 24
    shares[0] = 5.0
    t = traffic({"profile": "diurnal", "hourly_shares": shares,
                 "voice": {"calls_per_sub_day": 12}, "data": {"sessions_per_sub_day": 48},
                 "sms": {"per_sub_day": 6},
                 "events": [{"at": 0, "duration": 600, "site": "site1", "factor": 2}]},
                demand=demand, horizon=2 * INTERVAL)
    seen: list[tuple[int, np.ndarray, float, float]] = []
    real = t.engine._generate

    def spy(kind: int, rate: np.ndarray, t0: float, t1: float) -> Any:
        seen.append((kind, rate.copy(), t0, t1))
        return real(kind, rate, t0, t1)

    monkeypatch.setattr(t.engine, "_generate", spy)
    t.run(2 * INTERVAL)
    crowd = np.array([2.0, 2.0, 1.0, 1.0])  # site1's cells while the crowd is there
    for k, per_day in enumerate((12, 48, 6)):
        first, second = (r for kind, r, _, _ in seen if kind == k)
        want = 60 * per_day * 5 / 28 / 3600 * INTERVAL
        assert first == pytest.approx(want * crowd, rel=1e-12)  # mid-interval: 450 s < 600 s
        assert second == pytest.approx(np.full(4, want), rel=1e-12)
    assert [(t0, t1) for _, _, t0, t1 in seen] == [(0.0, INTERVAL)] * 3 + [
        (INTERVAL, 2 * INTERVAL)] * 3


@pytest.mark.parametrize("fail_open", [False, True])
def test_while_the_ocs_is_down_prepaid_attempts_fail_closed_or_open(
        traffic: Callable[..., Traffic], fail_open: bool) -> None:
    from twin.messages import FAIL_OPEN, OCS_UNAVAILABLE

    t = traffic({"voice": {"calls_per_sub_day": 40}}, horizon=H,
                prepaid=np.ones(200, dtype=bool))
    t.engine.channels = np.full(4, 1000)
    t.answer_all(OCS_UNAVAILABLE, fail_open)
    t.run(H)
    t.engine.finish()
    rows = t.usage()
    if fail_open:
        assert {r["outcome"] for r in rows} == {"completed"}
        assert set(t.records()["online"].tolist()) == {FAIL_OPEN}
    else:
        assert {r["outcome"] for r in rows} == {"denied_ocs"}
        assert all(r["actual_s"] == 0 and r["actual_bytes"] == 0 for r in rows)
        assert t.engine.counts["calls_denied"] == sum(r["kind"] == "voice" for r in rows)
        assert not [m for m in t.published if isinstance(m, UsageBatch)]


def test_log_logistic_holding_times_are_drawn_draw_for_draw(traffic: Callable[..., Traffic]
                                                            ) -> None:
    """The log-logistic quantile of each uniform, scaled to the mean (common random
    numbers: the same uniforms give the same calls)."""
    from twin.network.offered import draw_holding
    from twin.scenario.schema.traffic import HoldingSpec

    spec = HoldingSpec.model_validate({"dist": "loglogistic", "mean_s": 100.0, "shape": 3.0})
    got = draw_holding(np.random.default_rng(9), spec, 5)
    u = np.random.default_rng(9).random(5)
    scale = 100.0 * np.sin(np.pi / 3) / (np.pi / 3)
    assert got == pytest.approx(scale * (u / (1 - u)) ** (1 / 3), rel=1e-12)


def test_lines_are_picked_in_their_order_within_a_cell(make_sim: Callable[..., Sim]) -> None:
    """Lines of three cells interleaved (line i in cell i mod 3), none in the last cell: a
    cell's lines in index order, the first uniform picking the first line."""
    t = Traffic(make_sim(horizon=H), {}, 0, None, -1, cell=np.arange(30, dtype=np.int32) % 3)
    e, subs = t.engine, t.subs
    assert e.offered.subs_on.tolist() == [10, 10, 10, 0]
    assert e.offered.demand_on.tolist() == [10.0, 10.0, 10.0, 0.0]
    picked = e.offered.pick(np.array([0, 0, 1, 2, 2]), np.array([0.0, 0.99, 0.15, 0.0, 0.55]))
    assert picked.tolist() == [0, 27, 4, 2, 17]
    rate = np.array([20.0, 20.0, 20.0, 0.0])
    new = e._generate(0, rate, 0.0, INTERVAL)
    assert set(new.cell.tolist()) == {0, 1, 2}
    assert (subs.cell[new.sub] == new.cell).all()


def test_a_run_shorter_than_an_interval_is_one_period(traffic: Callable[..., Traffic]) -> None:
    """Horizon 300 s: the process steps nothing, the horizon's step takes the network as it
    was at the start."""
    t = traffic({"voice": {"calls_per_sub_day": 200}}, horizon=300.0)
    t.sim.env.process(t.engine.process())
    t.sim.env.run(until=300.0)
    assert t.pm() == []
    t.engine.finish()
    assert [(p["period_start"], p["available_s"]) for p in t.pm()] == [(0.0, 300.0)] * 4
    assert t.usage()


def test_each_interval_takes_the_network_as_it_is_when_it_starts(
        traffic: Callable[..., Traffic]) -> None:
    """Cell 0 degrades from 900 s on (every answered call drops): the second interval's
    calls drop, the first's do not — the last full interval too takes its own start's."""
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 100, "holding": {
        "dist": "deterministic", "mean_s": 60}}}, horizon=2 * INTERVAL)
    t.engine.channels = np.full(4, 1000)
    sim = t.sim
    t.state.cell_quality = lambda: (np.ones(4), np.array(  # type: ignore[method-assign]
        [1.0 if sim.now >= INTERVAL else 0.0, 0, 0, 0]))
    sim.env.process(t.engine.process())
    sim.env.run(until=2 * INTERVAL)
    t.engine.finish()
    first = [r["outcome"] for r in t.usage() if r["cell"] == t.state.cell_ids[0]
             and r["start"] < INTERVAL - 60]
    second = [r["outcome"] for r in t.usage() if r["cell"] == t.state.cell_ids[0]
              and r["start"] >= INTERVAL]
    assert set(first) == {"completed"} and set(second) == {"dropped"}


def test_a_crowd_at_a_site_without_cells_changes_nothing(traffic: Callable[..., Traffic]
                                                         ) -> None:
    t = traffic({"voice": {"calls_per_sub_day": 50},
                 "events": [{"at": 0, "duration": H, "site": "core1", "factor": 5}]})
    t.run(INTERVAL)
    assert t.engine.offered.event_factor(450.0) == pytest.approx(np.ones(4))


def test_a_congested_transport_path_slows_its_cells_and_is_reported(
        traffic: Callable[..., Traffic]) -> None:
    """Fibre of 0.1 Mb/s: the cells' data overloads their path; each cell gets the path's
    capacity over its load, and the engine says when the congested links changed."""
    from twin.network.transport import TransportLoad

    t = traffic({**DATA_ONLY,
                 "data": {"sessions_per_sub_day": 100}}, horizon=H)
    t.engine.data_capacity = np.full(4, 1e6)
    t.engine.transport = TransportLoad(t.sim, t.state, {"fibre": 0.1}, 0.8, 0.6)
    t.run(INTERVAL)  # nobody to tell yet: congestion is only recorded
    assert t.state.congested
    t.state.congested.clear()
    changed: list[float] = []
    t.engine.on_congestion = lambda: changed.append(t.engine.t)
    t.run(3 * INTERVAL)
    pm = t.pm()
    assert all(0 < p["throughput_factor"] < 1 for p in pm)
    assert t.state.congested and changed == [INTERVAL]  # congested again, then kept
    from twin.messages import PmReport

    links = [m for m in t.published if isinstance(m, PmReport) and m.object_kind == "link"]
    assert len(links) == 3 and len({p["period_start"] for p in pm}) == 3


def test_long_calls_up_at_the_horizon_are_one_voice_record_each(
        traffic: Callable[..., Traffic]) -> None:
    """Partial records are for data sessions: calls of 2,000 s still up at the horizon,
    with a 600-s partial limit, end in one record each."""
    t = traffic({**VOICE_ONLY, "records": {"partial_time_limit": 600},
                 "voice": {"calls_per_sub_day": 40, "holding": {"dist": "deterministic",
                                                                "mean_s": 2000}}},
                horizon=H)
    t.engine.channels = np.full(4, 1000)
    t.run(H)
    up = len(t.engine.carried[0])
    t.engine.finish()
    served = [r for r in t.usage() if r["outcome"] == "completed"]
    assert up > 0 and len(served) > up
    assert sorted(t.records()["charging_id"].tolist()) == sorted(r["id"] for r in served)


def test_the_radio_load_is_taken_over_each_intervals_length(
        traffic: Callable[..., Traffic], monkeypatch: pytest.MonkeyPatch) -> None:
    t = traffic({"radio": RADIO}, horizon=3 * INTERVAL)
    spans: list[float] = []
    real = t.engine._radio_hazard

    def spy(rate: np.ndarray, channels: np.ndarray, span: float) -> Any:
        spans.append(span)
        return real(rate, channels, span)

    monkeypatch.setattr(t.engine, "_radio_hazard", spy)
    t.run(3 * INTERVAL)
    assert spans == [INTERVAL] * 3


def test_attempts_in_a_cell_changing_state_are_asked_for_credit(
        traffic: Callable[..., Traffic]) -> None:
    """Cell 0 goes dark 300 s into an interval: its attempts of that interval are asked for
    (the OCS cannot know which part of it the cell serves), and all are denied here."""
    from twin.messages import DENIED_CREDIT

    t = traffic({"voice": {"calls_per_sub_day": 100}}, horizon=2 * INTERVAL,
                prepaid=np.ones(200, dtype=bool))
    t.answer_all(DENIED_CREDIT)
    t.run(INTERVAL)
    t.go_dark(0, INTERVAL + 300.0)
    t.run(2 * INTERVAL)
    mine = [r for r in t.usage() if r["cell"] == t.state.cell_ids[0] and r["start"] >= INTERVAL]
    assert mine and {r["outcome"] for r in mine} == {"denied_credit"}


def test_only_calls_drop_for_radio_reasons(traffic: Callable[..., Traffic]) -> None:
    t = traffic({"radio": {**RADIO, "drop_rate": 0.9}, "voice": {"calls_per_sub_day": 30}},
                horizon=H)
    t.engine.channels = np.full(4, 1000)
    t.run(H)
    t.engine.finish()
    dropped = {r["kind"] for r in t.usage() if r["outcome"] == "dropped"}
    assert dropped == {"voice"}


def test_crowds_start_on_their_second_and_overlapping_ones_multiply(
        traffic: Callable[..., Traffic]) -> None:
    t = traffic({"events": [{"at": 450, "duration": 900, "site": "site1", "factor": 2},
                            {"at": 0, "duration": 2000, "site": "site1", "factor": 3}]})
    e = t.engine
    assert e.offered.event_factor(449.0) == pytest.approx([3, 3, 1, 1])
    assert e.offered.event_factor(450.0) == pytest.approx([6, 6, 1, 1])
    assert e.offered.event_factor(1350.0) == pytest.approx([3, 3, 1, 1])


@pytest.mark.parametrize(("cell", "picks"), [
    ([0, 1, 1, 1], [(1, 0.9, 3), (1, 0.0, 1), (0, 0.5, 0)]),
    ([0, 0, 1, 1], [(0, 0.0, 0), (0, 0.6, 1), (1, 0.0, 2), (1, 1.0, 3)]),
    ([0, 0, 1, 1], [(0, 0.5, 1), (1, 0.5, 3)]),  # a weight's upper end begins the next line
])
def test_weighted_picks_land_on_the_line_whose_weight_covers_the_uniform(
        make_sim: Callable[..., Sim], cell: list[int], picks: list[tuple[int, float, int]]
        ) -> None:
    """Four lines of weight 1: a cell's uniform walks its own lines' running weights, and
    even u = 1 stays in the cell."""
    t = Traffic(make_sim(horizon=H), {}, 0, np.ones(4), -1, cell=np.array(cell, np.int32))
    c, u, line = zip(*picks, strict=True)
    assert t.engine.offered.pick(np.array(c), np.array(u)).tolist() == list(line)


def test_degraded_cells_drop_answered_calls_draw_for_draw(
        traffic: Callable[..., Traffic]) -> None:
    """Cells 0 and 2 degraded (drop rates 0.5 and 0.8): in each interval the calls answered
    there, in the order drawn, take two uniforms each from the ``traffic.drops`` stream —
    a call drops if the first is below its cell's rate, at the second's share of its part of
    the interval, and its record says so. Sessions and texts neither drop nor draw; an
    interval with no such call draws nothing. The oracle replays the stream."""
    from twin.messages import ABNORMAL_RELEASE, NORMAL_RELEASE

    drop = np.array([0.5, 0.0, 0.8, 0.0])
    t = traffic({"voice": {"calls_per_sub_day": 2, "holding": {"dist": "deterministic",
                                                              "mean_s": 600}},
                 "data": {"sessions_per_sub_day": 20}, "sms": {"per_sub_day": 20}},
                horizon=8 * H)
    t.engine.channels = np.full(4, 1000)
    t.quality = (np.ones(4), drop)
    t.run(8 * H)
    t.engine.finish()
    rows = t.usage()
    assert {r["outcome"] for r in rows if r["kind"] != "voice"} == {"completed"}
    assert {r["answer_s"] for r in rows if r["kind"] != "voice"} == {0.0}  # calls only
    rng = t.sim.rng.fresh("traffic.drops")
    rate = dict(zip(t.state.cell_ids, drop, strict=True))
    calls = sorted((r for r in rows if r["kind"] == "voice"), key=lambda r: r["id"])
    sizes = []
    for k in range(32):
        t0, t1 = k * INTERVAL, (k + 1) * INTERVAL
        here = [r for r in calls if t0 <= r["start"] < t1]
        mine = [r for r in here if rate[r["cell"]] > 0]
        sizes.append(len(mine))
        u = rng.random((2, len(mine))) if mine else np.empty((2, 0))
        for r, u0, u1 in zip(mine, *u, strict=True):
            if u0 < rate[r["cell"]]:
                want = ("dropped", pytest.approx(u1 * (min(r["start"] + 600, t1) - r["start"])))
            else:
                want = ("completed", pytest.approx(600.0))
            assert (r["outcome"], r["actual_s"]) == want
        assert all(r["outcome"] == "completed" for r in here if rate[r["cell"]] == 0)
    assert 0 in sizes and 1 in sizes and max(sizes) > 1
    recs = t.records()
    outcome = {r["id"]: r["outcome"] for r in calls}
    voice = [i for i, c in enumerate(recs["charging_id"].tolist()) if c in outcome]
    causes = {outcome[int(recs["charging_id"][i])]: set() for i in voice}
    for i in voice:
        causes[outcome[int(recs["charging_id"][i])]].add(int(recs["cause"][i]))
    assert causes == {"dropped": {ABNORMAL_RELEASE}, "completed": {NORMAL_RELEASE}}


@pytest.mark.parametrize(("radio", "mean_s", "calls"), [
    (RADIO, 300.0, 300),  # 0.2 / 300 s × 2: a few calls drop, some in a later interval
    ({**RADIO, "drop_rate": 1.0, "coverage_factor": {"poor": 50.0}}, 20.0, 300),  # 2.5 / s
    ({**RADIO, "drop_rate": 1.0, "coverage_factor": {"poor": 5.0}}, 300.0, 0.3),  # 1 call up
])
def test_radio_drops_are_drawn_draw_for_draw(traffic: Callable[..., Traffic],
                                             radio: dict[str, Any], mean_s: float,
                                             calls: float) -> None:
    """Each interval a call is up in, it hashes its id and the interval's start in ms with the
    two ``traffic.radio`` keys: it drops if the first uniform is below 1 − e^(−hazard × its
    time up there), at the second's share of that time. The oracle walks every call."""
    from twin.network.records import hashed_uniform, splitmix

    t = traffic({**VOICE_ONLY, "radio": radio, "voice": {
        "calls_per_sub_day": calls, "holding": {"dist": "exponential", "mean_s": mean_s}}},
        horizon=8 * H)
    t.engine.channels = np.full(4, 1000)
    t.run(8 * H)
    t.engine.finish()
    hazard = radio["drop_rate"] / mean_s * radio["coverage_factor"]["poor"]
    keys = t.engine.radio_keys
    short = 0  # dropped calls up less than a second in their last interval
    up: dict[float, int] = {}  # calls up in each interval
    rows = t.usage()
    for r in rows:
        start, end = r["start"], r["start"] + r["intended_s"]
        want = ("completed", end - start)
        t0 = start // INTERVAL * INTERVAL
        while t0 < 8 * H and end > t0:
            up[t0] = up.get(t0, 0) + 1
            s, t1 = max(start, t0), t0 + INTERVAL
            span = min(end, t1) - s
            base = splitmix(np.array([r["id"]], np.uint64) ^ np.uint64(int(t0 * 1000)))
            u0, u1 = (float(hashed_uniform(base, k)[0]) for k in keys)
            if u0 < -np.expm1(-hazard * span):
                want = ("dropped", s + u1 * span - start)
                short += span < 1.0
                break
            t0 = t1
        assert (r["outcome"], r["actual_s"]) == (want[0], pytest.approx(want[1])), r
    assert "dropped" in {r["outcome"] for r in rows}
    assert short > 0 or mean_s > 100
    assert 1 in up.values() or calls > 1


def test_the_blocking_screen_flags_the_cells_where_a_call_can_find_every_channel_busy(
        traffic: Callable[..., Traffic]) -> None:
    """Only cells where some new call finds at least its channel count of calls still up
    (carried in, or new and earlier) are replayed call by call; the screen names exactly
    those. Times on half-second grids: no end falls within the screen's float margin of a
    start."""
    from twin.network.traffic import Batch

    t = traffic(VOICE_ONLY)
    rng = np.random.default_rng(7)

    def batch(n: int, lo: float, hi: float) -> Batch:
        cell = rng.integers(0, 4, n)
        start = lo + rng.integers(0, int(hi - lo), n).astype(float)
        order = np.lexsort((start, cell))
        end = start[order] + 0.5 + rng.integers(0, 900, n)
        return Batch(np.arange(n), cell[order].astype(np.int32), np.zeros(n, np.int64),
                     start[order], end, np.zeros(n))

    flagged = []
    for _ in range(200):
        car = batch(int(rng.integers(0, 12)), 0.0, INTERVAL)
        car = car.take(np.flatnonzero(car.end > INTERVAL))  # still up when the interval starts
        new = batch(int(rng.integers(1, 30)), INTERVAL, 2 * INTERVAL)
        cap = rng.integers(1, 6, 4)
        want = set()
        for i in range(len(new)):
            c, s = new.cell[i], new.start[i]
            up = (((new.cell[:i] == c) & (new.end[:i] > s)).sum()
                  + ((car.cell == c) & (car.end > s)).sum())
            if up >= cap[c]:
                want.add(int(c))
        assert t.engine._may_block(car, new, cap) == want
        flagged.append(len(want))
    assert 0 in flagged and 4 in flagged
    # a call carried in that ends 5 ms after an arrival still holds the one channel then
    one = Batch(np.array([0]), np.array([2], np.int32), np.zeros(1, np.int64),
                np.array([INTERVAL + 100.0]), np.array([INTERVAL + 200.0]), np.zeros(1))
    held = Batch(np.array([1]), np.array([2], np.int32), np.zeros(1, np.int64),
                 np.array([500.0]), np.array([INTERVAL + 100.005]), np.zeros(1))
    assert t.engine._may_block(held, one, np.ones(4, np.int64)) == {2}


def test_granted_attempts_that_never_start_release_their_reservation(
        traffic: Callable[..., Traffic]) -> None:
    """Every line prepaid and granted plenty: the attempts blocked (cell 0 has two channels)
    or lost when cell 1 goes dark in the interval they were asked for are released to the OCS
    with their lines; served ones, dropped ones included, are not."""
    from twin.messages import GRANTED, CreditRelease

    t = traffic({"voice": {"calls_per_sub_day": 60, "holding": {"dist": "exponential",
                                                               "mean_s": 300}}},
                horizon=2 * H, prepaid=np.ones(200, dtype=bool))
    t.answer_all(GRANTED, granted=10**6)
    t.engine.channels = np.array([2, 1000, 1000, 1000])
    t.run(H)
    t.go_dark(1, H + 300.0)
    t.run(2 * H)
    t.engine.finish()
    rows = t.usage()
    released = [m for m in t.published if isinstance(m, CreditRelease)]
    got = {(int(i), int(s)) for m in released
           for i, s in zip(m.columns["session_id"], m.columns["sub"], strict=True)}
    want = {(r["id"], r["sub"]) for r in rows if r["outcome"] == "blocked"
            or (r["outcome"] == "lost_outage" and r["start"] < H + INTERVAL)}
    assert got == want
    kinds = {r["outcome"] for r in rows if (r["id"], r["sub"]) in want}
    assert kinds == {"blocked", "lost_outage"}
    assert "dropped" in {r["outcome"] for r in rows}
    assert len(got) == sum(len(m.columns["session_id"]) for m in released)


def test_short_data_sessions_move_their_whole_volume(traffic: Callable[..., Traffic]) -> None:
    """Half-second sessions served to the end move every byte they wanted."""
    t = traffic({**DATA_ONLY, "data": {"sessions_per_sub_day": 50, "duration": {
        "dist": "deterministic", "mean_s": 0.5}}}, horizon=H)
    t.run(H)
    t.engine.finish()
    rows = t.usage()
    assert rows and {r["outcome"] for r in rows} == {"completed"}
    assert all(r["actual_bytes"] == r["intended_bytes"] > 0 for r in rows)


def test_calls_still_up_in_a_cell_gone_to_sleep_drop_when_it_goes_dark(
        traffic: Callable[..., Traffic]) -> None:
    """Cell 0 degraded to no channel at all: its new attempts are lost, the calls it carries
    go on; when it then leaves service, those still up drop at that instant."""
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 100, "holding": {
        "dist": "deterministic", "mean_s": 1800}}}, horizon=3 * H)
    t.engine.channels = np.full(4, 1000)
    t.run(H)
    t.quality = (np.array([0.0, 1.0, 1.0, 1.0]), np.zeros(4))
    dark = H + INTERVAL + 300.0
    t.run(H + INTERVAL)
    t.go_dark(0, dark)
    t.run(3 * H)
    t.engine.finish()
    rows = [r for r in t.usage() if r["cell"] == t.state.cell_ids[0]]
    for r in rows:
        if r["start"] >= H:
            assert (r["outcome"], r["actual_s"]) == ("lost_outage", 0.0)
        elif r["start"] + 1800 > dark:
            assert (r["outcome"], r["actual_s"]) == ("dropped", pytest.approx(dark - r["start"]))
        else:
            assert (r["outcome"], r["actual_s"]) == ("completed", pytest.approx(1800.0))
    assert {r["outcome"] for r in rows} == {"completed", "dropped", "lost_outage"}


def test_a_cell_down_twice_in_an_interval_is_available_while_up(
        traffic: Callable[..., Traffic]) -> None:
    """Down from 100 s to 200 s and from 500 s to 700 s of the first interval: available
    600 s of it; calls up at each outage drop then, attempts during either are lost."""
    t = traffic({**VOICE_ONLY, "voice": {"calls_per_sub_day": 400, "holding": {
        "dist": "deterministic", "mean_s": 60}}}, horizon=INTERVAL)
    t.engine.channels = np.full(4, 1000)
    down = [(100.0, 200.0), (500.0, 700.0)]
    for a, b in down:
        t.go_dark(0, a)
        t.go_dark(0, b, in_service=True)
    t.run(INTERVAL)
    t.engine.finish()
    assert [p["available_s"] for p in t.pm()] == [600.0, INTERVAL, INTERVAL, INTERVAL]
    rows = [r for r in t.usage() if r["cell"] == t.state.cell_ids[0]]
    for r in rows:
        start = r["start"]
        if any(a <= start < b for a, b in down):
            assert r["outcome"] == "lost_outage"
        elif a_cut := next((a for a, _ in down if start < a < start + 60), None):
            assert (r["outcome"], r["actual_s"]) == ("dropped", pytest.approx(a_cut - start))
        else:
            assert r["outcome"] == "completed"
    assert {r["outcome"] for r in rows} == {"completed", "dropped", "lost_outage"}
