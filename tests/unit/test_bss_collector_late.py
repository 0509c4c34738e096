"""The BSS collector's files held back in transfer (``file_late_share``): a held file stays on
its recording entity, whole, and is delivered at the first pickup at or after its re-send
time; one still held at the end of the run is lost to it; online-charged records never wait."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from twin.bss.collection import Collector
from twin.kernel import Sim
from twin.messages import OFFLINE, ONLINE, UsageBatch
from twin.scenario.schema import MediationSpec

PICKUP = 900.0


def batch(first: int, nodes: list[int], online: list[int] | None = None) -> UsageBatch:
    n = len(nodes)
    return UsageBatch({
        "record_id": np.arange(first, first + n, dtype=np.int64),
        "node_id": np.array(nodes, dtype=np.int64),
        "start": np.zeros(n),
        "online": np.array(online if online is not None else [OFFLINE] * n, dtype=np.int8)})


def run(sim: Sim, spec: MediationSpec, batches: list[tuple[float, UsageBatch]],
        until: float) -> tuple[Collector, list[tuple[float, list[int]]]]:
    got: list[tuple[float, list[int]]] = []
    collector = Collector(sim, spec, lambda b: got.append(
        (sim.now, b.columns["record_id"].tolist())))
    for t, b in batches:
        sim.env.run(until=t)
        collector.on_batch(b)
    sim.env.run(until=until)
    collector.finish()
    return collector, got


def test_every_file_held_comes_whole_at_the_first_pickup_after_its_time(
        make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(horizon=40 * 86_400.0)
    spec = MediationSpec(file_late_share=1.0, file_late_mean=3600.0, file_cut_share=0.0)
    collector, got = run(sim, spec, [(100.0, batch(1, [1, 1, 2, 3, 3]))], 40 * 86_400.0)
    # one pickup delivers the (now empty) batch; each node's file comes on its own later
    files = [(t, ids) for t, ids in got if ids]
    assert sorted(ids for _, ids in files) == [[1, 2], [3], [4, 5]]
    assert collector.held == []
    for t, _ in files:
        assert t % PICKUP == 0 and t > PICKUP
    assert collector.files_late == 3 and collector.lost_records == 0
    assert collector.late_records == 5
    assert collector.delayed_s == sum((t - 100.0) * len(ids) for t, ids in files)
    assert collector.summary["files_late"] == 3


def test_a_file_is_delivered_at_the_first_pickup_at_or_after_its_resend_time(
        make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(horizon=40 * 86_400.0)
    spec = MediationSpec(file_late_share=1.0, file_late_mean=86_400.0, file_cut_share=0.0)
    got: list[tuple[float, list[int]]] = []
    collector = Collector(sim, spec, lambda b: got.append(
        (sim.now, b.columns["record_id"].tolist())))
    sim.env.run(until=10.0)
    collector.on_batch(batch(1, [2, 2]))
    sim.env.run(until=PICKUP + 1)
    assert len(collector.held) == 1
    due = collector.held[0][0]
    sim.env.run(until=due + 2 * PICKUP)
    arrived = [t for t, ids in got if ids == [1, 2]]
    assert arrived == [np.ceil(due / PICKUP) * PICKUP]


def test_files_still_held_at_the_end_of_the_run_are_lost(
        make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(horizon=2 * 86_400.0)
    spec = MediationSpec(file_late_share=1.0, file_late_mean="3000d", file_cut_share=0.0)
    collector, got = run(sim, spec, [(100.0, batch(1, [1, 2, 2]))], 2 * 86_400.0)
    assert all(ids == [] for _, ids in got)
    assert collector.files_late == 2 and collector.lost_records == 3
    assert collector.late_records == 0 and collector.held == []


def test_online_charged_records_are_in_no_file_and_never_wait(
        make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(horizon=86_400.0)
    spec = MediationSpec(file_late_share=1.0, file_late_mean="3000d", file_cut_share=0.0)
    collector, got = run(sim, spec, [(100.0, batch(1, [1, 1, 1], [ONLINE, OFFLINE, ONLINE]))],
                         86_400.0)
    assert got[0] == (PICKUP, [1, 3])
    assert collector.lost_records == 1 and collector.files_late == 1


def test_no_share_no_hold_and_the_cut_draws_stay(make_sim: Callable[..., Sim]) -> None:
    def on_time(late: float) -> dict[float, set[int]]:
        sim = make_sim(horizon=86_400.0, seed=7)
        spec = MediationSpec(file_late_share=late, file_cut_share=0.3)
        batches = [(k * PICKUP + 1, batch(100 * k, [1] * 10 + [2] * 10 + [3] * 10))
                   for k in range(40)]
        collector, got = run(sim, spec, batches, 86_400.0)
        assert (collector.files_late == 0) == (late == 0)
        delivered: dict[float, set[int]] = {}
        for t, ids in got:
            delivered.setdefault(t, set()).update(i for i in ids if i // 100 == t // PICKUP - 1)
        return delivered

    plain, held = on_time(0.0), on_time(0.2)
    assert sum(map(len, plain.values())) < 40 * 30  # some files were cut
    for t, rows in plain.items():
        # a file not held is cut where it was without holds; a held one is missing whole
        missing = rows - held[t]
        assert held[t] <= rows
        assert {i % 100 // 10 for i in missing}.isdisjoint({i % 100 // 10 for i in held[t]})
