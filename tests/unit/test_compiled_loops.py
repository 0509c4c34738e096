"""The compiled loops against the numpy formulas they replace (same results, exactly), and
the shortcuts that replaced a pass over a table."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.analysis.revenue import (
    Parts,
    Steps,
    _Chain,
    _max_id,
    label_values,
    position_in,
    prepare_steps,
)
from twin.bss.catalog import PriceTable, quantity
from twin.bss.mediation import KeySet, _by_bucket
from twin.bss.rating import Rater, TariffClock
from twin.kernel import Calendar
from twin.kernel.compiled import kernel
from twin.network.offered import by_cell_then_time, pick_guide, pick_weighted
from twin.scenario.schema import CatalogSpec

keys = st.lists(st.integers(0, 2**62), max_size=300)


@settings(max_examples=200, deadline=None)
@given(first=keys, second=keys)
def test_key_set_holds_what_was_added_and_grows(first: list[int], second: list[int]) -> None:
    s = KeySet(16)  # small: adding grows it several times
    s.add(np.array(first, dtype=np.int64))
    probe = np.array(second, dtype=np.int64)
    assert s.contains(probe).tolist() == [k in set(first) for k in second]
    s.add(probe)
    assert s.size == len(set(first) | set(second))
    assert s.contains(np.array(first + second, dtype=np.int64)).all()
    assert 2 * s.size <= s.table.size


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 40), max_size=200))
def test_repeats_are_the_rows_after_a_keys_first(values: list[int]) -> None:
    """What ``np.unique(..., return_index=True)`` marks: every row but a key's first."""
    k = np.array(values, dtype=np.int64)
    expected = np.ones(k.size, dtype=bool)
    expected[np.unique(k, return_index=True)[1]] = False
    assert KeySet.repeats(k).tolist() == expected.tolist()


def test_batch_rows_by_hour() -> None:
    bucket = np.array([5, 3, 5, 4, 3], dtype=np.int64)
    got = {b: np.asarray(rows).tolist() for b, rows in _by_bucket(bucket)}
    assert got == {3: [1, 4], 4: [3], 5: [0, 2]}
    assert _by_bucket(np.array([7, 7])) == [(7, slice(None))]
    assert _by_bucket(np.array([], dtype=np.int64)) == []


def test_attempts_ordered_by_cell_then_start_as_lexsort_orders_them() -> None:
    rng = np.random.default_rng(3)
    counts = rng.poisson(20, 300)
    cell = np.repeat(np.arange(300, dtype=np.int32), counts)
    t0, t1 = 2_000_000.0, 2_000_900.0
    start = t0 + rng.random(cell.size) * (t1 - t0)
    start[5] = start[4]  # an exact tie keeps the rows' order
    order = by_cell_then_time(cell, start)
    assert np.array_equal(order, np.lexsort((start, cell)))


def test_starts_too_close_for_the_combined_key_are_ordered_by_lexsort() -> None:
    """Two starts a few ulps apart in a cell far from 0 merge into one combined key: the
    fallback orders them by start as lexsort does, not by row."""
    t0 = 2_000_000.0
    cell = np.array([7000, 7000], dtype=np.int32)
    start = np.array([np.nextafter(t0 + 500.0, np.inf), t0 + 500.0])
    assert by_cell_then_time(cell, start).tolist() == [1, 0]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=12), st.integers(0, 2**32))
def test_weighted_pick_is_searching_all_lines_clipped_to_the_cell(lines: list[int],
                                                                  seed: int) -> None:
    rng = np.random.default_rng(seed)
    subs_on = np.array([2, *lines], dtype=np.int64)  # a cell without lines gets no attempt
    first = np.concatenate([[0], np.cumsum(subs_on)[:-1]])
    weight = rng.random(int(subs_on.sum())) * rng.choice([0.0, 1.0, 5.0], subs_on.sum())
    demand_on = np.array([weight[f:f + n].sum() for f, n in zip(first, subs_on, strict=True)])
    weight_cum = np.cumsum(weight)
    sub_by_cell = rng.permutation(weight.size).astype(np.int64)
    cell = np.repeat(np.flatnonzero(subs_on), 50)
    u = rng.random(cell.size)
    u[:3] = [0.0, 1.0 - 2**-53, 0.5]
    f = first[cell]
    below = np.where(f > 0, weight_cum[np.maximum(f - 1, 0)], 0.0)
    pos = np.searchsorted(weight_cum, below + u * demand_on[cell], side="right")
    expected = sub_by_cell[np.clip(pos, f, f + subs_on[cell] - 1)]
    # the guide says where to start: any start gives the same line, only slower
    guide = pick_guide(first, subs_on, demand_on, weight_cum)
    lines_of = np.repeat(np.arange(subs_on.size), subs_on)
    for g in (guide, first[lines_of], first[lines_of] + subs_on[lines_of] - 1,
              first[lines_of] + rng.integers(0, subs_on[lines_of])):
        out = np.empty(cell.size, dtype=np.int64)
        pick_weighted(cell, u, first, subs_on, demand_on, weight_cum, g.astype(np.int64),
                      sub_by_cell, out)
        assert np.array_equal(out, expected)


def test_dedup_keys_of_consecutive_sessions_spread_over_the_table() -> None:
    """Keys as the network writes them — three recording entities (one per usage kind)
    taking consecutive charging ids in blocks, a few partial-record sequence numbers —
    added a batch at a time leave no long run of taken slots: a key not in the set (most
    keys looked up) probes to the end of the run its home slot is in, so runs as long as
    the hour's keys would make each batch slower than the one before."""
    s = KeySet()
    cid = np.arange(10**6, 10**6 + 120_000, dtype=np.int64)
    node = 1 + (cid // 500) % 3
    seq = (cid % 11 == 0).astype(np.int64)
    for batch in np.array_split((node << 56) | (cid << 12) | seq, 8):
        s.add(batch)
    assert s.size == cid.size
    taken = np.concatenate([[0], (s.table != -1).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(taken))
    longest = int((edges[1::2] - edges[::2]).max())
    assert longest < 100, longest


def test_largest_record_id_from_statistics_or_read(tmp_path: Path) -> None:
    """The revenue chain sizes its fates by the largest usage id: from the row groups'
    statistics when written, else read (a table written without them)."""
    table = pa.table({"id": pa.array([4, 17, 9, 2], pa.int64())})
    pq.write_table(table, tmp_path / "with.parquet", row_group_size=2)
    pq.write_table(table, tmp_path / "without.parquet", row_group_size=2,
                   write_statistics=False)
    pq.write_table(table.slice(0, 0), tmp_path / "empty.parquet")
    assert _max_id(tmp_path / "with.parquet") == 17
    assert _max_id(tmp_path / "without.parquet") == 17
    assert _max_id(tmp_path / "empty.parquet") == -1


def test_a_negative_key_is_refused_not_read_as_an_empty_slot() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        KeySet().add(np.array([3, -1], dtype=np.int64))
    with pytest.raises(ValueError, match="non-negative"):
        KeySet.repeats(np.array([-5], dtype=np.int64))


def _talk(seconds: np.ndarray, answer_s: np.ndarray) -> np.ndarray:
    """Chargeable seconds: answer to release, started seconds (as the MSC writes them)."""
    return np.ceil(np.maximum(seconds - answer_s, 0.0)).astype(np.int64)


def _numpy_prepare(chain: _Chain, b: pa.RecordBatch) -> Steps:
    """The revenue chain's batch preparation as numpy formulas (what the compiled pass of
    ``_Chain.prepare`` replaced)."""
    parts = chain.parts
    ids = b.column("id").to_numpy()
    sub = b.column("sub").to_numpy().astype(np.int64)
    kind = label_values(b.column("kind"), lambda x: 0 if x == "voice" else 1 if x == "data"
                        else 2, np.int64)
    outcome = label_values(b.column("outcome"), position_in(chain.OUTCOMES))
    denied = label_values(b.column("outcome"), lambda x: (x or "").startswith("denied"),
                          np.bool_)
    start = b.column("start").to_numpy()
    answer = b.column("answer_s").to_numpy()
    full = quantity(kind, _talk(b.column("intended_s").to_numpy(), answer),
                    b.column("intended_bytes").to_numpy())
    got = quantity(kind, _talk(b.column("actual_s").to_numpy(), answer),
                   b.column("actual_bytes").to_numpy())
    outcome = np.where(outcome < 0, len(chain.OUTCOMES), outcome).astype(np.int64)
    held = chain.held_by[(outcome * 2 + denied) * 8 + chain.fate[ids]]
    cut = np.where(outcome == 1, got, full)
    has, pos = parts.lookup(ids)
    coll, acc, coll_s, acc_s = got, got, start, start
    if has.any():
        coll = np.where(has, parts.collected_qty[pos], got)
        acc = np.where(has, parts.accepted_qty[pos], got)
        coll_s = np.where(has, parts.collected_start[pos], start)
        acc_s = np.where(has, parts.accepted_start[pos], start)
    q = [full, full, cut, np.where(outcome == 3, got, cut), got, coll, acc, acc, acc, acc, acc]
    chain.by_held += np.bincount(held, minlength=chain.by_held.size)
    return prepare_steps(chain.shares[0].root, held, q, [start, coll_s, acc_s], chain.AT, sub,
                         np.zeros(sub.size, dtype=np.int64), kind, chain.n_shares)


def _rater(catalog: dict[str, Any]) -> Rater:
    spec = CatalogSpec.model_validate(catalog)
    return Rater(PriceTable.build(spec, tuple(spec.offers)), [-4 * 86_400.0, 27 * 86_400.0,
                                                        55 * 86_400.0], 41 * 86_400.0, 6,
                 TariffClock(Calendar(datetime(2026, 1, 5, tzinfo=UTC)), spec.tariff_periods))


KINDS = ["voice", "data", "sms", None]
OUTCOMES = ["completed", "dropped", "lost_outage", "quota_exhausted", "blocked",
            "denied_credit", "denied_ocs", None]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_the_chains_batch_preparation_is_the_numpy_formulas(default_catalog: dict[str, Any],
                                                            data: st.DataObject) -> None:
    """Quantities (answered seconds, bytes, a message), the steps holding each record by
    outcome, denial and fate, sessions in parts (what reached mediation, and when), the
    ``moved`` bits (a start that is not a number included: it differs from itself where
    numpy compared the arrays) and which steps share an array: as the numpy formulas gave
    them."""
    n = data.draw(st.integers(1, 40))
    ids = np.array(data.draw(st.lists(st.integers(0, 59), min_size=n, max_size=n,
                                      unique=True)), dtype=np.int64)
    fate = np.array(data.draw(st.lists(st.integers(0, 7), min_size=60, max_size=60)),
                    dtype=np.int8)
    in_parts = sorted(data.draw(st.sets(st.integers(0, 70), max_size=12)))
    k = len(in_parts)
    # few values, so that quantities and starts of the steps often agree, and differ alone
    few_starts = st.sampled_from([0.0, 3_600.0, 2.5 * 86_400.0, 30 * 86_400.0, float("nan")])
    ints = st.lists(st.sampled_from([0, 1, 60, 61]), min_size=k, max_size=k)
    times = st.lists(few_starts, min_size=k, max_size=k)
    parts = Parts(np.array(in_parts, dtype=np.int64), np.array(data.draw(ints), np.int64),
                  np.array(data.draw(times)), np.array(data.draw(ints), np.int64),
                  np.array(data.draw(times)))
    seconds = st.lists(st.sampled_from([0.0, 0.5, 1.0, 59.5, 60.0, 61.0, 400.25]),
                       min_size=n, max_size=n)
    volumes = st.lists(st.sampled_from([0, 1, 60, 61, 10**9]), min_size=n, max_size=n)
    dictionary = data.draw(st.booleans())  # labels as read back, or as strings

    def labels(values: list[str | None]) -> pa.Array:
        a = pa.array(values, pa.string())
        return a.dictionary_encode() if dictionary else a

    b = pa.RecordBatch.from_pydict({
        "id": ids, "sub": np.array(data.draw(st.lists(st.integers(0, 5), min_size=n,
                                                      max_size=n)), dtype=np.int64),
        "kind": labels(data.draw(st.lists(st.sampled_from(KINDS), min_size=n, max_size=n))),
        "start": np.array(data.draw(st.lists(few_starts | st.floats(0, 40 * 86_400.0),
                                             min_size=n, max_size=n))),
        "intended_s": np.array(data.draw(seconds)), "actual_s": np.array(data.draw(seconds)),
        "intended_bytes": np.array(data.draw(volumes), dtype=np.int64),
        "actual_bytes": np.array(data.draw(volumes), dtype=np.int64),
        "outcome": labels(data.draw(st.lists(st.sampled_from(OUTCOMES), min_size=n,
                                             max_size=n))),
        "answer_s": np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 30.0]),
                                                min_size=n, max_size=n))),
    })

    def chain() -> _Chain:
        return _Chain(lambda: _rater(default_catalog), False, fate, parts,
                      lambda sub, start: np.zeros(np.size(sub), dtype=np.int64), 2)

    compiled, numpy = chain(), chain()
    got, want = compiled.prepare(b), _numpy_prepare(numpy, b)
    for name in ("held", "moved", "sub", "offer", "kind", "line_of", "share_of", "at"):
        assert getattr(got, name).tolist() == getattr(want, name).tolist(), name
    for name in ("q", "starts", "cycle", "period"):
        x, y = getattr(got, name), getattr(want, name)
        assert all(np.array_equal(a, c, equal_nan=a.dtype.kind == "f")
                   for a, c in zip(x, y, strict=True)), name
        assert [a.dtype for a in x] == [a.dtype for a in y], name
        # the steps that share an array share it in both (the loop rates them alike)
        assert [[a is c for c in x] for a in x] == [[a is c for c in y] for a in y], name
    assert compiled.by_held.tolist() == numpy.by_held.tolist()


@pytest.mark.parametrize("start", [datetime(2026, 1, 5, tzinfo=UTC),
                                   datetime(2026, 3, 7, 22, 30, 15, tzinfo=UTC),
                                   datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)])
def test_a_records_tariff_period_is_the_clocks(start: datetime) -> None:
    """The period the compiled loops look up for one instant (weekday in integers) is the
    clock's whole-array one, on every weekday and hour, the hour's edges and past a week."""
    from twin.bss.rating import hour_period
    from twin.scenario.schema import TariffPeriod

    clock = TariffClock(Calendar(start), [
        TariffPeriod(name="night", hours=(22.0, 6.0)),
        TariffPeriod(name="weekend", days=["sat", "sun"]),
        TariffPeriod(name="evening", days=["mon", "tue", "wed", "thu", "fri"],
                     hours=(18.0, 22.0))])
    assert clock.table is not None
    rng = np.random.default_rng(5)
    t = np.concatenate([rng.uniform(0, 90 * 86_400.0, 20_000),
                        np.arange(0, 15 * 86_400.0, 3600.0) - clock.offset % 3600.0,
                        np.arange(0, 15 * 86_400.0, 3600.0) - clock.offset % 3600.0 - 1e-6])
    t = t[t >= 0]
    got = [hour_period(float(x), clock.table, clock.weekday0, clock.offset) for x in t]
    np.testing.assert_array_equal(got, clock.period(t))
    assert len(set(got)) == 4  # peak and every period met


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 200), min_size=1, max_size=8), st.integers(0, 2**32))
def test_crowded_cells_are_merged_in_order_as_lexsort_orders_them(counts: list[int],
                                                                  seed: int) -> None:
    """Cells with more rows than one insertion run (merged runs), and starts drawn from a
    few values (ties across runs keep the rows' order)."""
    rng = np.random.default_rng(seed)
    cell = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    start = rng.choice(rng.random(5) * 900.0, cell.size) if seed % 2 else rng.random(cell.size)
    assert np.array_equal(by_cell_then_time(cell, start), np.lexsort((start, cell)))


def _divide(a: int, b: int) -> tuple[int, int, int]:
    return a // b, a % b, -(-a // b)


def _divide_unchecked(a: int, b: int) -> tuple[int, int, int]:
    return a // b, a % b, -(-a // b)  # (a function of its own: numba's cache has one per function)


@pytest.mark.skipif(bool(os.environ.get("MUTANT_UNDER_TEST")), reason="loops run as Python")
def test_loops_with_nonzero_divisors_divide_as_python_without_its_zero_check() -> None:
    checked = kernel(_divide)
    unchecked = kernel(_divide_unchecked, nonzero_divisors=True)
    for a, b in ((-7, 2), (7, -2), (-7, -2), (7, 2), (0, 3)):  # floor, as Python's
        assert checked(a, b) == unchecked(a, b) == _divide(a, b)
    with pytest.raises(ZeroDivisionError):
        checked(5, 0)
    assert unchecked(5, 0) == (0, 0, 0)  # no check left: only for divisors never zero


def test_an_intervals_calls_sorted_out_and_counted_as_the_numpy_steps_did() -> None:
    """The traffic engine's passes over an interval's calls (completed by its end, carried
    on, resolved, up; the PM counters per cell; the usage truth of the resolved ones) give
    what its whole-array steps gave, to the bit."""
    from twin.network import traffic as tr

    rng = np.random.default_rng(11)
    n, n_car, n_cells, t0, t1 = 5000, 800, 40, 900.0, 1800.0
    cell = rng.integers(0, n_cells, n).astype(np.int32)
    start = np.where(np.arange(n) < n_car, rng.random(n) * 900.0, t0 + rng.random(n) * 900.0)
    end = start + rng.exponential(300.0, n)
    end[:10] = t1  # ending exactly at the interval's end
    outcome = rng.choice(np.array([tr.ACTIVE, tr.BLOCKED, tr.LOST, tr.DROPPED], np.int8), n,
                         p=[0.85, 0.05, 0.05, 0.05])
    actual_end = np.where(outcome == tr.DROPPED, start + (end - start) * rng.random(n), end)
    # the whole-array steps
    want = outcome.copy()
    finished = (want == tr.DROPPED) | ((want == tr.ACTIVE) & (actual_end <= t1))
    want[(want == tr.ACTIVE) & (actual_end <= t1)] = tr.COMPLETED
    resolved = finished | (want == tr.BLOCKED) | (want == tr.LOST)
    up = (want == tr.ACTIVE) | (want == tr.COMPLETED) | (want == tr.DROPPED)
    got = outcome.copy()
    keep, done, up_rows = (np.empty(n, dtype=np.int64) for _ in range(3))
    counts = np.zeros(3, dtype=np.int64)
    tr._sort_out(got, actual_end, t1, keep, done, up_rows, counts)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(keep[:counts[0]], np.flatnonzero(want == tr.ACTIVE))
    np.testing.assert_array_equal(done[:counts[1]], np.flatnonzero(resolved))
    np.testing.assert_array_equal(up_rows[:counts[2]], np.flatnonzero(up))

    c, busy = np.zeros((4, n_cells), dtype=np.int64), np.zeros(n_cells)
    tr._pm_counts(cell, want, start, actual_end, n_car, t0, t1, True, c, busy)
    by = [np.arange(n) >= n_car, want == tr.BLOCKED, want == tr.LOST, want == tr.DROPPED]
    for row, mask in zip(c, by, strict=True):
        np.testing.assert_array_equal(row, np.bincount(cell[mask], minlength=n_cells))
    seconds = np.minimum(actual_end, t1) - np.maximum(start, t0)
    seconds[(want == tr.BLOCKED) | (want == tr.LOST)] = 0
    np.testing.assert_array_equal(busy, np.bincount(cell, seconds, minlength=n_cells))

    idx = np.flatnonzero(resolved)
    volume = np.floor(rng.lognormal(15.0, 1.0, idx.size))
    intended_end, had_end = end[idx].copy(), actual_end[idx].copy()
    intended_end[:5] = had_end[:5] = start[idx][:5]  # no time wanted (nor had)
    o = np.where(rng.random(idx.size) < 0.1, tr.QUOTA_END, want[idx]).astype(np.int8)
    intended, actual = np.empty(idx.size), np.empty(idx.size)
    moved, served = np.empty(idx.size, dtype=np.int64), np.empty(idx.size, dtype=np.int64)
    m = tr._truth_loop(start[idx], intended_end, had_end, o, volume, intended, actual,
                       moved, served)
    is_served = (o == tr.COMPLETED) | (o == tr.DROPPED) | (o == tr.QUOTA_END)
    want_actual = np.where(is_served, had_end - start[idx], 0.0)
    np.testing.assert_array_equal(intended, intended_end - start[idx])
    np.testing.assert_array_equal(actual, want_actual)
    np.testing.assert_array_equal(moved, np.floor(
        volume * (want_actual / np.maximum(intended_end - start[idx], tr._INSTANT))
    ).astype(np.int64))
    np.testing.assert_array_equal(served[:m], np.flatnonzero(is_served))


def test_kpi_sums_above_the_cell_are_the_bincount_of_every_level() -> None:
    """Each period's counters summed into the site, region and network rows: the bincount
    of the cells' rows at each level, in the same order of additions (the same floats)."""
    from twin.oss.kpis import _sum_above

    rng = np.random.default_rng(2)
    periods, keys, n, above_n = 7, 10, 300, 40
    w = rng.lognormal(2.0, 2.0, (periods, keys, n))
    above = np.stack([rng.integers(0, 30, n), rng.integers(30, 39, n), np.full(n, 39)])
    flat = (np.arange(periods)[:, None] * keys * above_n
            + (np.arange(keys)[:, None] * above_n + above.ravel()[None, :]).ravel()[None, :])
    want = np.bincount(flat.ravel(), weights=np.concatenate([w, w, w], axis=2).ravel(),
                       minlength=periods * keys * above_n).reshape(periods, keys, above_n)
    got = np.zeros((periods, keys, above_n))
    _sum_above(w, above, got)
    np.testing.assert_array_equal(got, want)


def test_mediations_first_look_is_the_numpy_steps() -> None:
    """A batch's first reasons (the first rule that applies), dedup keys and hours."""
    from twin.bss import mediation as med

    rng = np.random.default_rng(4)
    n, n_subs = 5000, 1000
    c = {"sub": rng.integers(-5, n_subs + 5, n), "duration_s": rng.integers(-3, 500, n),
         "volume_bytes": rng.integers(-3, 10**9, n), "kind": rng.integers(-1, 4, n),
         "node_id": rng.integers(1, 4, n), "charging_id": rng.integers(1, 2**40, n),
         "seq": rng.integers(0, 20, n), "start": rng.random(n) * 86_400.0 - 3600.0}
    want = np.zeros(n, dtype=np.int8)
    want[(c["sub"] < 0) | (c["sub"] >= n_subs)] = med.UNKNOWN_SUB
    want[(want == med.OK) & ((c["duration_s"] < 0) | (c["volume_bytes"] < 0))] = med.NEGATIVE
    want[(want == med.OK) & ((c["kind"] < 0) | (c["kind"] > 2))] = med.UNKNOWN_TYPE
    reason = np.empty(n, dtype=np.int8)
    key, bucket = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    med._first_look(c["sub"], c["duration_s"], c["volume_bytes"], c["kind"], c["node_id"],
                    c["charging_id"], c["seq"], c["start"], n_subs, reason, key, bucket)
    assert {med.UNKNOWN_SUB, med.NEGATIVE, med.UNKNOWN_TYPE, med.OK} <= set(reason.tolist())
    np.testing.assert_array_equal(reason, want)
    np.testing.assert_array_equal(key, med.session_key(c) | c["seq"])
    np.testing.assert_array_equal(bucket, np.floor(c["start"] / med.BUCKET_S).astype(np.int64))
