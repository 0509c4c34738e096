"""Where usage revenue went, rated from the ground truth with the BSS's own rules.

Rating is not additive record by record — allowances and tiers depend on what else a
subscription used in the cycle — so each loss or leak is measured as the difference between
two ratings: the ``usage`` truth table is rated several times by a fresh
:class:`~twin.bss.rating.Rater`, in the table's order (the order the network wrote its
records), each time with one more cause taken away:

======================  ==================================================================
step                    what is rated
======================  ==================================================================
potential               every offered attempt as if carried in full
without lost attempts   … minus attempts on cells out of service
with drops              … with dropped calls and sessions cut where they were dropped
without denied          … minus attempts online charging denied (no credit; OCS down),
                        and sessions cut where their granted quota ran out
carried                 … minus blocked attempts: what the network carried
collected               … minus records the mediation collector lost
accepted                … minus records mediation rejected (validation)
guided                  … minus records left in suspense or rejected as unguidable
in time                 … minus records written off as too late
charged                 … minus prepaid sessions served uncharged (fail-open)
subscribed              … minus usage of lines that had left (churn): the set the BSS
                        rated
======================  ==================================================================

Successive differences are lost to outages, to drops, to denials, to blocking, and leaked by
collector loss, rejects, unguided suspense, late write-off, fail-open charging and usage after
termination — exactly, in integer minor units. Only the first step is rated in full. Rating
is separable by counter — (bill cycle, line, usage kind): a record's charge depends only on
the records before it with the same counter — so each later step rates only the counters
where one of its records differs from the step before (a call lost, cut or leaked there);
every other record keeps the charge the step before gave it. The result is exactly that of
rating every step in full, at the cost of one rating plus the few lines that lost something.
One compiled loop (:func:`_chain_records`) walks a batch record by record through every
step, with the rater's own per-record rating (:mod:`twin.bss.rating`).

The BSS's own order is checked the same way: rating the ``rated`` table again in the order
the BSS rated it, with the catalog's prices, reproduces every charge except those of records
rated with a misconfigured price, whose catalog charge the BSS priced as it rated them
(:mod:`twin.bss.rerating`). The difference between the two orders (truth order and arrival
order; allowances go to whichever record comes first) is reported. :func:`rerate_bss_order`
re-rates the table in full, for tests that check that bookkeeping.
Everything is read in batches, so memory stays bounded on long runs (one byte per record id
for the records' fates, folded as the ``cdrs`` table is written: :class:`Fates`). Since no
counter spans two lines, the lines are rated in shares on threads of their own
(:func:`shares`), and the shares' sums are the chain's.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from twin.bss import mediation as med
from twin.bss.catalog import quantity
from twin.bss.rating import F64, I64, Arrays, Rater, hour_period, rate_one
from twin.kernel.compiled import cores, float64s, int64s, kernel
from twin.messages import SubscriberBase

LOST, RATED, REJECTED, TOO_LATE, SUSPENSE, UNGUIDABLE, FAIL_OPEN, TERMINATED = range(8)
STEPS = ("potential", "without_lost", "with_drops", "without_denied", "carried", "collected",
         "accepted", "guided", "in_time", "charged", "subscribed")
BATCH = 250_000
CHUNK = 4096  # records whose counters the chain's loop reads ahead (they fit in L2)


def read_batches(path: Path, columns: list[str],
                 labels: tuple[str, ...] = ()) -> Iterator[pa.RecordBatch]:
    """Read a table in batches; without pre-buffering pyarrow would keep the whole file's
    pages while iterating, and a 30-day run's tables would sit in memory at once. The
    string columns ``labels`` come as dictionaries (read with :func:`label_values`), not
    strings."""
    batches: Iterator[pa.RecordBatch] = pq.ParquetFile(
        path, pre_buffer=False, read_dictionary=list(labels)).iter_batches(
        batch_size=BATCH, columns=columns, use_threads=False)
    return _ahead(batches)


def _ahead(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """The batches, read and decoded one or two ahead on another thread (pyarrow releases
    the GIL) while the caller rates the one before."""
    q: queue.Queue[pa.RecordBatch | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: pa.RecordBatch | BaseException | None) -> bool:
        """Hand ``item`` over, unless the reader below has stopped reading."""
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for b in batches:
                if not put(b):
                    return
            put(None)
        except BaseException as e:  # handed to the reader below
            put(e)

    t = threading.Thread(target=read, name="parquet-reader", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        t.join()


def label_values(column: pa.Array, value: Callable[[str | None], int],
                 dtype: type = np.int8) -> np.ndarray:
    """``value`` of each row of a string column, computed once per distinct string (and
    once for the nulls, as ``value(None)``)."""
    table, idx = label_codes(column, value, dtype)
    out: np.ndarray = table[idx]
    return out


def label_codes(column: pa.Array, value: Callable[[str | None], int],
                dtype: type = np.int8) -> tuple[np.ndarray, np.ndarray]:
    """:func:`label_values` in two parts, for a loop that looks them up as it goes: the
    ``value`` of each distinct string (the nulls' last), and each row's position among them."""
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    names, idx = column.dictionary.to_pylist(), column.indices
    if idx.null_count:
        names.append(None)
        idx = idx.fill_null(len(names) - 1)
    return np.array([value(x) for x in names], dtype=dtype), idx.to_numpy()


def position_in(names: tuple[str, ...]) -> Callable[[str | None], int]:
    """A label's position in ``names`` (-1: another, or null)."""
    return lambda x: names.index(x) if x in names else -1


@dataclass
class Parts:
    """Sessions the network wrote as partial records, sorted by charging id: what of each
    reached mediation (``collected``) and what it held for assembly (``accepted``) — the
    quantity and the start the session is rated with at those steps."""

    ids: npt.NDArray[np.int64]
    collected_qty: npt.NDArray[np.int64]
    collected_start: npt.NDArray[np.float64]
    accepted_qty: npt.NDArray[np.int64]
    accepted_start: npt.NDArray[np.float64]
    # a bit per id up to the largest, set for these sessions: most records are not one,
    # and a bit tells so without a search
    bits: npt.NDArray[np.uint8] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=np.int64)
        self.bits = np.zeros(int(ids.max()) // 8 + 1 if ids.size else 0, dtype=np.uint8)
        np.bitwise_or.at(self.bits, ids >> 3, np.left_shift(1, ids & 7).astype(np.uint8))

    def lookup(self, ids: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.bool_],
                                                           npt.NDArray[np.int64]]:
        """Which of ``ids`` are sessions in parts, and where each is (0 for the others)."""
        ids = np.asarray(ids, dtype=np.int64)
        has = np.zeros(ids.size, dtype=bool)
        pos = np.zeros(ids.size, dtype=np.int64)
        inside = np.flatnonzero((ids >= 0) & (ids < 8 * self.bits.size))
        if inside.size:
            i = ids[inside]
            maybe = inside[(self.bits[i >> 3] >> (i & 7).astype(np.uint8)) & 1 == 1]
            pos[maybe] = np.searchsorted(self.ids, ids[maybe])
            has[maybe] = self.ids[pos[maybe]] == ids[maybe]
        return has, pos


class Fates:
    """What finally happened to each call or session (by charging id) at mediation
    (``LOST``: never collected), and the partial records of long sessions: folded from the
    ``cdrs`` table's rows in the table's order — read back from its file
    (:func:`record_fates`), or handed each row group as it is written (:meth:`add` as a
    :attr:`~twin.kernel.records.RecordBuffer.written` hook), which spares the summary the
    read. :meth:`result` spends the fold (its array becomes the result's)."""

    COLUMNS = ("charging_id", "state", "reason", "seq", "kind", "start", "duration_s",
               "volume_bytes")
    # the labels mediation writes (twin.bss.mediation), in the order the fold codes them
    STATES = tuple(med.STATES[i] for i in (med.GUIDED, med.RECYCLED, med.HELD))
    REASONS = tuple(med.REASONS[i] for i in (med.DUPLICATE, med.TOO_LATE, med.UNGUIDABLE,
                                             med.FAIL_OPEN, med.TERMINATED))
    # a fate by the reason's position (-1: a reason not listed)
    BY_REASON = np.array([REJECTED, TOO_LATE, UNGUIDABLE, FAIL_OPEN, TERMINATED, REJECTED],
                         dtype=np.int8)

    def __init__(self) -> None:
        self._fate = np.full(0, LOST, dtype=np.int8)  # grown as larger ids come
        self._parts: list[tuple[np.ndarray, ...]] = []

    def add(self, rows: pa.RecordBatch | pa.Table) -> None:
        """The next rows of the table (at least :attr:`COLUMNS`; labels as strings or as
        dictionaries)."""
        # a table (a row group, written in chunks): the columns read here, joined
        batches = (rows.select(list(self.COLUMNS)).combine_chunks().to_batches()
                   if isinstance(rows, pa.Table) else [rows])
        for b in batches:
            self._add(b)

    def _add(self, b: pa.RecordBatch) -> None:
        ids = b.column("charging_id").to_numpy()
        state = label_values(b.column("state"), position_in(self.STATES))
        reason = label_values(b.column("reason"), position_in(self.REASONS))
        seq = b.column("seq").to_numpy()
        keep = (reason != 0) & (ids >= 0)
        code = np.where(state == 0, RATED, np.where(state == 1, SUSPENSE,
                                                    self.BY_REASON[reason])).astype(np.int8)
        whole = keep & (seq == 0)  # a record of a whole session, or an assembled session
        if whole.any():
            top = int(ids[whole].max())
            if top >= self._fate.size:  # ids come about in order: half again, at most
                grown = np.full(max(top + 1, self._fate.size * 3 // 2), LOST, dtype=np.int8)
                grown[:self._fate.size] = self._fate
                self._fate = grown
            self._fate[ids[whole]] = code[whole]  # later decisions (after suspense) overwrite
        part = keep & (seq > 0)
        if part.any():
            kind = b.column("kind").to_numpy()[part].astype(np.int64)
            self._parts.append((ids[part], quantity(kind, b.column("duration_s").to_numpy()[part],
                                                    b.column("volume_bytes").to_numpy()[part]),
                                b.column("start").to_numpy()[part], state[part] == 2))

    def result(self, max_id: int) -> tuple[npt.NDArray[np.int8], Parts]:
        """The fate of each id up to ``max_id`` (the usage table's largest), and the
        partial records of those sessions."""
        fate, n = self._fate, max_id + 1
        self._fate = np.full(0, LOST, dtype=np.int8)  # spent: no second copy of a large run's
        if fate.size >= n:
            fate = fate[:n]
        else:
            fate = np.concatenate([fate, np.full(n - fate.size, LOST, dtype=np.int8)])
        if not self._parts:
            e = np.empty(0, dtype=np.int64)
            return fate, Parts(e, e, np.empty(0), e, np.empty(0))
        pid, qty, start, ok = (np.concatenate(x) for x in zip(*self._parts, strict=True))
        mine = pid <= max_id
        pid, qty, start, ok = pid[mine], qty[mine], start[mine], ok[mine]
        ids, inv = np.unique(pid, return_inverse=True)
        n = ids.size
        cq = np.bincount(inv, weights=qty, minlength=n).astype(np.int64)
        aq = np.bincount(inv[ok], weights=qty[ok], minlength=n).astype(np.int64)
        cs = np.full(n, np.inf)
        np.minimum.at(cs, inv, start)
        as_ = np.full(n, np.inf)
        np.minimum.at(as_, inv[ok], start[ok])
        # parts came, none was accepted: no assembled record, the session was rejected
        fate[ids[fate[ids] == LOST]] = REJECTED
        return fate, Parts(ids, cq, cs, aq, as_)


def record_fates(cdrs_path: Path, max_id: int) -> tuple[npt.NDArray[np.int8], Parts]:
    """:class:`Fates` of the ``cdrs`` table at ``cdrs_path``, read back from the file."""
    fates = Fates()
    for b in read_batches(cdrs_path, list(Fates.COLUMNS), ("state", "reason")):
        fates.add(b)
    return fates.result(max_id)


def _max_id(usage_path: Path) -> int:
    """The largest record id: from the row groups' statistics (written for ``id``), or
    read when a row group has none."""
    meta = pq.ParquetFile(usage_path).metadata
    col = meta.schema.names.index("id")
    stats = [meta.row_group(g).column(col).statistics for g in range(meta.num_row_groups)]
    if all(st is not None and st.has_min_max for st in stats):
        return max((int(st.max) for st in stats), default=-1)
    top = -1
    for b in read_batches(usage_path, ["id"]):
        ids = b.column("id").to_numpy()
        if ids.size:
            top = max(top, int(ids.max()))
    return top


OfferOf = Callable[[npt.NDArray[np.int64], npt.NDArray[np.float64]], npt.NDArray[np.int64]]


def _offer_of(subs: SubscriberBase, offer_of: OfferOf | None) -> OfferOf:
    """The offer of each line at each instant: the BSS's product inventory (offer changes),
    or the base's offers."""
    if offer_of is not None:
        return offer_of
    return lambda sub, start: subs.offer[sub].astype(np.int64)


def _own_counter(root: npt.NDArray[np.int64], counters: npt.NDArray[np.int64],
                 own: npt.NDArray[np.int32], key: int, i: int) -> None:
    """Counter ``key`` of step ``i`` goes its own way from now on (bit ``i`` of ``own``):
    it starts from the state the step before has for it (its own, or the one it shares
    further up; step 0's, ``root``, owns every counter)."""
    if own[key] >> i & 1:
        return
    own[key] |= 1 << i
    j = i - 1
    while j > 0 and not own[key] >> j & 1:
        j -= 1
    src = counters[j, key] if j > 0 else root[key]
    counters[i, key, 0] = src[0]
    counters[i, key, 1] = src[1]


_own = kernel(_own_counter, inline=True)


def _lowest_bit(x: int) -> int:
    """The position of the lowest set bit of ``x`` (> 0)."""
    i = 0
    while not x >> i & 1:
        i += 1
    return i


_lowest = kernel(_lowest_bit, inline=True)


def _all_in(arrays: Arrays, r: int, v: int) -> bool:
    """Whether every array of ``arrays`` has ``v`` at ``r``."""
    for x in arrays:  # noqa: SIM110 (compiled: no generator expressions)
        if x[r] != v:
            return False
    return True


_all = kernel(_all_in, inline=True)


def _chain_records(held: npt.NDArray[np.int32], moved: npt.NDArray[np.int32], q: Arrays,
                   at: npt.NDArray[np.int64], start: Arrays, cycle: Arrays,
                   sub: npt.NDArray[np.int64], offer: npt.NDArray[np.int64],
                   kind: npt.NDArray[np.int64], period_in: Arrays,
                   table: npt.NDArray[np.int64], weekday0: int, offset: float, cycles: Arrays,
                   tariff: Arrays, line_of: npt.NDArray[np.int64],
                   rows: npt.NDArray[np.int64], lines: int,
                   root: npt.NDArray[np.int64], counters: npt.NDArray[np.int64],
                   own: npt.NDArray[np.int32], money: npt.NDArray[np.int64]) -> int:
    """Rate a batch at every step, record by record in the table's order. Record ``r`` is in
    step ``i`` if bit ``i`` of ``held[r]`` is set, with quantity ``q[i][r]`` and the start
    ``start[at[i]][r]`` (in bill cycle ``cycle[at[i]][r]``; tariff period
    ``period_in[at[i]][r]`` when given, else by ``table``); bit ``i`` of ``moved[r]``: its
    quantity or start differs from step ``i - 1``'s.

    Step 0 rates every record with ``root``; step ``i`` rates with ``counters[i]`` only
    the counters it owns (bit ``i`` of
    ``own``): where a record differs from the step before, its counters (before and now)
    part from the step before's first; elsewhere a record's charge is the step before's. A
    record no step differs on, on a counter no step owns, is rated once. Only the records
    ``rows`` are rated (a share's: the records of its lines, in order); a counter is
    (cycle, ``line_of[r]``, kind) of the share's ``lines`` lines; each step's counters are an
    array of their own (the few steps that own many counters then find them in the cache).
    ``money[0]`` sums step 0's charges, ``money[i]`` how much step ``i``'s sum differs
    from step ``i - 1``'s."""
    n_steps = at.size
    top = (1 << n_steps) - 2  # the bits of steps 1 … n_steps - 1
    warm = 0
    for lo in range(0, rows.size, CHUNK):
        hi = min(lo + CHUNK, rows.size)
        # first every record's counter read: independent loads the memory serves together,
        # so the loop below finds them in the cache (a miss a record otherwise)
        for j in range(lo, hi):
            r = rows[j]
            key = (cycle[0][r] * lines + line_of[r]) * 3 + kind[r]
            warm += root[key, 0]
            mine = own[key]
            while mine:  # the steps owning it
                warm += counters[_lowest(mine), key, 0]
                mine &= mine - 1
        for j in range(lo, hi):
            r = rows[j]
            s, kd = sub[r], kind[r]
            line = line_of[r]
            k = cycle[0][r]
            key = (k * lines + line) * 3 + kd
            h = held[r]
            differs = ((h ^ (h << 1)) | (moved[r] & h)) & top
            plain = differs == 0 and own[key] == 0  # the same charge at every step
            # counters part before this record is rated at any step, where it differs
            d = differs
            while d:
                i = _lowest(d)
                d &= d - 1
                if h >> i & 1:
                    _own(root, counters, own, (cycle[at[i]][r] * lines + line) * 3 + kd, i)
                if h >> (i - 1) & 1:
                    _own(root, counters, own, (cycle[at[i - 1]][r] * lines + line) * 3 + kd, i)
            pe = (period_in[0][r] if period_in[0].size
                  else hour_period(start[0][r], table, weekday0, offset))
            c = rate_one(s, k, offer[r], kd, q[0][r], pe, root[key], cycles, tariff)[3]
            money[0] += c
            if plain:
                continue
            # the steps whose charge can differ from the one before's: every one, unless all
            # start in one bill cycle (one counter, ``key``); then those that own it and hold
            # the record, or stop holding it (step 0 holds every record)
            m = top
            if _all(cycle, r, k):
                m &= (own[key] & h) | ((h | 1) << 1 & ~h)
            while m:
                i = _lowest(m)
                m &= m - 1
                now = c
                if not h >> i & 1:
                    now = 0
                else:
                    a = at[i]
                    k = cycle[a][r]
                    key = (k * lines + line) * 3 + kd
                    if own[key] >> i & 1:
                        pe = period_in[a][r] if period_in[a].size else hour_period(
                            start[a][r], table, weekday0, offset)
                        now = rate_one(s, k, offer[r], kd, q[i][r], pe, counters[i, key],
                                       cycles, tariff)[3]
                money[i] += now - c
                c = now
    return warm


_chain_loop = kernel(_chain_records, nonzero_divisors=True)  # as rate_one


def _record_rows(ids: I64, kind_at: npt.NDArray[np.integer], kinds: I64,
                 code_at: npt.NDArray[np.integer], codes: I64, intended_s: F64, actual_s: F64,
                 answer_s: F64, intended_bytes: I64, actual_bytes: I64, start: F64,
                 fate: npt.NDArray[np.int8], held_by: npt.NDArray[np.int32],
                 bits: npt.NDArray[np.uint8], part_ids: I64, part_cq: I64, part_cs: F64,
                 part_aq: I64, part_as: F64, kind: I64, held: npt.NDArray[np.int32],
                 moved: npt.NDArray[np.int32], full: I64, cut: I64, ended: I64, got: I64,
                 coll: I64, acc: I64, start_w: F64, coll_s: F64, acc_s: F64, by_held: I64) -> int:
    """:meth:`_Chain.prepare`'s arithmetic, record by record: each record's ``kind`` (its
    label's ``kinds[kind_at[r]]``) and outcome code (``codes[code_at[r]]``), the quantities (as
    :func:`~twin.bss.catalog.quantity` gives them; a call's chargeable seconds run from its
    answer to its release, started seconds as the MSC writes them), the steps that hold each record
    (``held_by`` by outcome ``code`` — :data:`_Chain.OUTCOMES`' position, 4 another, 5 a
    denial — and fate), what of a session in parts reached mediation (:class:`Parts`'
    arrays), a copy of the starts, and the ``moved`` bits :func:`prepare_steps` gives these
    steps (the collected and accepted quantities and starts compared only in a batch with
    a session in parts, where they are arrays of their own). Returns how many records are
    sessions in parts."""
    n = ids.size
    n_fates = fate.size
    top = 8 * bits.size
    with_parts = 0
    for r in range(n):
        i = ids[r]
        if i < 0 or i >= n_fates:
            raise IndexError("a usage record id beyond the fates")
        kd = kinds[kind_at[r]]
        kind[r] = kd
        fq, gq = np.int64(1), np.int64(1)
        if kd == 0:  # voice: started seconds from the answer
            f = intended_s[r] - answer_s[r]
            g = actual_s[r] - answer_s[r]
            fq = np.int64(np.ceil(f if not f < 0.0 else 0.0))
            gq = np.int64(np.ceil(g if not g < 0.0 else 0.0))
        elif kd == 1:
            fq, gq = intended_bytes[r], actual_bytes[r]
        c = codes[code_at[r]]
        o = min(c, 4)
        h = held_by[(o * 2 + (c == 5)) * (TERMINATED + 1) + fate[i]]
        held[r] = h
        by_held[h] += 1
        full[r] = fq
        cut[r] = gq if o == 1 else fq
        ended[r] = gq if o == 3 else cut[r]
        got[r] = gq
        start_w[r] = start[r]
        coll[r], acc[r], coll_s[r], acc_s[r] = gq, gq, start[r], start[r]
        if 0 <= i < top and (bits[i >> 3] >> (i & 7)) & 1:
            p = np.searchsorted(part_ids, i)
            if p < part_ids.size and part_ids[p] == i:
                coll[r], acc[r] = part_cq[p], part_aq[p]
                coll_s[r], acc_s[r] = part_cs[p], part_as[p]
                with_parts += 1
    for r in range(n):
        m = (np.int32(cut[r] != full[r]) << 2 | np.int32(ended[r] != cut[r]) << 3
             | np.int32(got[r] != ended[r]) << 4)
        if with_parts:
            m |= (np.int32(coll[r] != got[r] or coll_s[r] != start_w[r]) << 5
                  | np.int32(acc[r] != coll[r] or acc_s[r] != coll_s[r]) << 6)
        moved[r] = m
    return with_parts


_record_loop = kernel(_record_rows)


def step_bits(masks: Sequence[npt.NDArray[np.bool_]]) -> npt.NDArray[np.int32]:
    """Bit ``i`` of a record's value: ``masks[i]`` holds it."""
    out = np.zeros(np.shape(masks[0]), dtype=np.int32)
    for i, m in enumerate(masks):
        out |= np.asarray(m, dtype=np.int32) << i
    return out


def _writable(x: np.ndarray) -> np.ndarray:
    return x if x.flags.writeable else x.copy()


@dataclass(frozen=True, eq=False)
class Steps:
    """A batch made ready for :func:`_chain_records` once, whatever share of its lines a
    :class:`StepCounters` rates: the loop's arguments about the records."""

    held: npt.NDArray[np.int32]
    moved: npt.NDArray[np.int32]
    q: Arrays  # each step's quantities
    at: npt.NDArray[np.int64]
    starts: Arrays  # each step's starts, their bill cycles and tariff periods
    cycle: Arrays
    sub: npt.NDArray[np.int64]
    offer: npt.NDArray[np.int64]
    kind: npt.NDArray[np.int64]
    period: Arrays
    line_of: npt.NDArray[np.int64]  # each record's line within its share
    share_of: npt.NDArray[np.int64]  # each record's share (empty: one share)


def prepare_steps(root: Rater, held: npt.NDArray[np.int32], q: Sequence[npt.NDArray[np.int64]],
                  starts: Sequence[npt.NDArray[np.float64]], at: npt.NDArray[np.int64],
                  sub: npt.NDArray[np.int64], offer: npt.NDArray[np.int64],
                  kind: npt.NDArray[np.int64], n_shares: int = 1) -> Steps:
    """A batch of records for every step of a chain, ready for :meth:`StepCounters.rate_steps`
    of any of ``n_shares`` shares (``root``: their rules): ``held`` by :func:`step_bits`,
    step ``i``'s quantities ``q[i]`` and starts ``starts[at[i]]`` (steps with the same array
    rate the same values)."""
    moved = np.zeros(sub.size, dtype=np.int32)
    for i in range(1, len(q)):
        if q[i] is not q[i - 1]:
            moved |= (q[i] != q[i - 1]).astype(np.int32) << i
        if at[i] != at[i - 1] and starts[at[i]] is not starts[at[i - 1]]:
            moved |= (starts[at[i]] != starts[at[i - 1]]).astype(np.int32) << i
    return _steps(root, held, moved, q, starts, at, sub, offer, kind, n_shares)


def _steps(root: Rater, held: npt.NDArray[np.int32], moved: npt.NDArray[np.int32],
           q: Sequence[npt.NDArray[np.int64]], starts: Sequence[npt.NDArray[np.float64]],
           at: npt.NDArray[np.int64], sub: npt.NDArray[np.int64], offer: npt.NDArray[np.int64],
           kind: npt.NDArray[np.int64], n_shares: int) -> Steps:
    """:class:`Steps` of a batch whose ``moved`` bits are known (see :func:`prepare_steps`)."""
    clock = root.clock
    # one array type in each tuple (the loop indexes them by step); a start's cycle and
    # period computed once however many steps share it
    same = {id(x): _writable(int64s(x)) for x in q}
    qs = tuple(same[id(x)] for x in q)
    found = {id(x): _writable(float64s(x)) for x in starts}
    cycle = {k: root.cycle_of(x, sub) for k, x in found.items()}
    period = {k: clock.period(x) if clock.hours and clock.table is None
              else np.empty(0, dtype=np.int64) for k, x in found.items()}
    sub = int64s(sub)
    line_of, share_of = ((sub, np.empty(0, dtype=np.int64)) if n_shares == 1
                         else np.divmod(sub, n_shares))
    return Steps(held, moved, qs, np.asarray(at, dtype=np.int64),
                 tuple(found[id(x)] for x in starts), tuple(cycle[id(x)] for x in starts),
                 sub, int64s(offer), int64s(kind),
                 tuple(period[id(x)] for x in starts), line_of, share_of)


class StepCounters:
    """The rating counters of every step of a chain of ratings, for the lines ``line % n ==
    k`` of ``share`` (k, n), with ``root``'s rules; what each step owns; each step's money."""

    def __init__(self, root: Rater, steps: int, share: tuple[int, int] = (0, 1)) -> None:
        self.root, (self.k_share, self.n_share) = root, share
        self.lines = -(-root.n_subs // self.n_share)
        n = root.n_cycles * self.lines * 3
        self.root_counters = np.zeros((n, 2), dtype=np.int64)
        # pages of steps that own nothing there are never touched, nor committed ([0] never)
        self.counters = np.zeros((steps, n, 2), dtype=np.int64)
        self.own = np.zeros(n, dtype=np.int32)
        self.sums = np.zeros(steps, dtype=np.int64)

    @property
    def money(self) -> npt.NDArray[np.int64]:
        """Each step's sum of charges."""
        out: npt.NDArray[np.int64] = np.cumsum(self.sums)
        return out

    def rate(self, held: npt.NDArray[np.int32], q: Sequence[npt.NDArray[np.int64]],
             starts: Sequence[npt.NDArray[np.float64]], at: npt.NDArray[np.int64],
             sub: npt.NDArray[np.int64], offer: npt.NDArray[np.int64],
             kind: npt.NDArray[np.int64]) -> None:
        """Rate a batch's records of this share at every step (see :func:`prepare_steps`)."""
        self.rate_steps(prepare_steps(self.root, held, q, starts, at, sub, offer, kind,
                                      self.n_share))

    def rate_steps(self, b: Steps) -> None:
        """Rate the records of a prepared batch that are this share's, at every step
        (:func:`_chain_records`; without the GIL, beside the other shares)."""
        root, clock = self.root, self.root.clock
        # its records' rows: the loop then visits no other share's records
        rows = (np.flatnonzero(b.share_of == self.k_share) if b.share_of.size
                else np.arange(b.sub.size, dtype=np.int64))
        _chain_loop(b.held, b.moved, b.q, b.at, b.starts, b.cycle, b.sub, b.offer, b.kind,
                    b.period, root.period_table(), clock.weekday0, clock.offset, root.cycles(),
                    root.tariff(root.prices), b.line_of, rows, self.lines,
                    self.root_counters, self.counters, self.own, self.sums)


class _Chain:
    """The chain's counters and sums, for ``n`` shares of the lines (``line % n == k``).
    Rating is separable by counter, and a line's counters are all in one share, so the
    shares' sums add up to the whole chain's, exactly, however many there are. A batch is
    made ready once (:meth:`prepare`); each share rates its lines of it (:meth:`rate`)."""

    COLUMNS = ("id", "sub", "kind", "start", "intended_s", "actual_s", "intended_bytes",
               "actual_bytes", "outcome", "answer_s")
    OUTCOMES = ("completed", "dropped", "lost_outage", "quota_exhausted")
    # which start each step rates with: the network's, collected partials', accepted ones'
    AT = np.array([0, 0, 0, 0, 0, 1, 2, 2, 2, 2, 2], dtype=np.int64)

    def __init__(self, make_rater: Callable[[], Rater], in_full: bool,
                 fate: npt.NDArray[np.int8], parts: Parts, offer_at: OfferOf,
                 n_shares: int = 1) -> None:
        self.fate, self.parts, self.offer_at = fate, parts, offer_at
        self.n_shares, self.in_full = n_shares, in_full
        self.shares = [StepCounters(make_rater(), len(STEPS), (k, n_shares))
                       for k in range(n_shares)]
        self.full = ([[make_rater() for _ in STEPS] for _ in range(n_shares)]
                     if in_full else [])
        self.full_money = np.zeros((n_shares, len(STEPS)), dtype=np.int64)
        self.by_held = np.zeros(1 << len(STEPS), dtype=np.int64)  # records by held bits
        # the steps holding a record, by its outcome (OUTCOMES, then any other), whether
        # online charging denied it, and its fate
        o, d, f = np.meshgrid(np.arange(len(self.OUTCOMES) + 1), [False, True],
                              np.arange(TERMINATED + 1), indexing="ij")
        self.held_by = step_bits(_held(o.ravel(), d.ravel(), f.ravel().astype(np.int8)))

    @property
    def money(self) -> dict[str, int]:
        m = (self.full_money.sum(axis=0) if self.in_full
             else sum((s.money for s in self.shares), np.zeros(len(STEPS), dtype=np.int64)))
        return {k: int(v) for k, v in zip(STEPS, m, strict=True)}

    @property
    def offered(self) -> int:
        """Records rated so far (every record is held by some pattern of steps)."""
        return int(self.by_held.sum())

    @property
    def records(self) -> dict[str, int]:
        bits = np.arange(self.by_held.size)
        return {name: int(self.by_held[(bits >> i & 1) == 1].sum())
                for i, name in enumerate(STEPS)}

    def prepare(self, b: pa.RecordBatch) -> Steps:
        """A batch of the table (in its order) made ready for every share's rating."""
        parts = self.parts
        ids = int64s(b.column("id").to_numpy())
        sub = int64s(b.column("sub").to_numpy())
        kinds, kind_at = label_codes(b.column("kind"),
                                     lambda x: 0 if x == "voice" else 1 if x == "data" else 2,
                                     np.int64)
        # an outcome's position, 4 another, 5 a denial by online charging
        codes, code_at = label_codes(b.column("outcome"), lambda x: (
            self.OUTCOMES.index(x) if x in self.OUTCOMES
            else 5 if (x or "").startswith("denied") else 4), np.int64)
        start = b.column("start").to_numpy()
        offer = self.offer_at(sub, start)
        n = ids.size
        kind = np.empty(n, dtype=np.int64)
        held, moved = np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32)
        full, cut, ended, got, coll, acc = (np.empty(n, dtype=np.int64) for _ in range(6))
        start_w, coll_s, acc_s = (np.empty(n, dtype=np.float64) for _ in range(3))
        seconds = [float64s(b.column(c).to_numpy())
                   for c in ("intended_s", "actual_s", "answer_s")]
        volumes = [int64s(b.column(c).to_numpy()) for c in ("intended_bytes", "actual_bytes")]
        with_parts = _record_loop(
            ids, kind_at, kinds, code_at, codes, seconds[0], seconds[1], seconds[2],
            volumes[0], volumes[1], float64s(start), self.fate, self.held_by, parts.bits,
            parts.ids, parts.collected_qty, parts.collected_start, parts.accepted_qty,
            parts.accepted_start, kind, held, moved, full, cut, ended, got, coll, acc, start_w,
            coll_s, acc_s, self.by_held)
        if not with_parts:  # as prepare_steps would see them: the same arrays
            coll, acc, coll_s, acc_s = got, got, start_w, start_w
        q = [full, full, cut, ended, got, coll, acc, acc, acc, acc, acc]
        return _steps(self.shares[0].root, held, moved, q, [start_w, coll_s, acc_s], self.AT,
                      sub, offer, kind, self.n_shares)

    def rate(self, k: int, b: Steps) -> None:
        """Share ``k`` rates its lines of a prepared batch."""
        if not self.in_full:
            self.shares[k].rate_steps(b)
            return
        mine = (b.share_of == k) if b.share_of.size else np.ones(b.sub.size, dtype=bool)
        for i, rater in enumerate(self.full[k]):
            rows = np.flatnonzero(mine & (b.held >> i & 1 == 1))
            self.full_money[k, i] += int(rater.rate(b.sub[rows], b.offer[rows], b.kind[rows],
                                                    b.starts[b.at[i]][rows],
                                                    b.q[i][rows]).charge.sum())


def _held(outcome: npt.NDArray[np.int64], denied: npt.NDArray[np.bool_],
          f: npt.NDArray[np.int8]) -> list[npt.NDArray[np.bool_]]:
    """Which records each step of :data:`STEPS` holds, by outcome (index of
    ``_Chain.OUTCOMES``), denial by online charging and fate at mediation."""
    dropped, lost, quota = outcome == 1, outcome == 2, outcome == 3
    served = (outcome == 0) | dropped | quota
    collected = served & (f != LOST)
    accepted = collected & (f != REJECTED)
    guided = accepted & (f != SUSPENSE) & (f != UNGUIDABLE)
    in_time = guided & (f != TOO_LATE)
    charged = in_time & (f != FAIL_OPEN)
    subscribed = charged & (f != TERMINATED)
    return [np.ones(outcome.size, dtype=bool), ~lost, ~lost, ~lost & ~denied, served,
            collected, accepted, guided, in_time, charged, subscribed]


def shares() -> int:
    """How many shares of the lines the chain rates at once: one per core this process may
    use, up to two (each share keeps counters of its own; beyond two the lock that numpy
    releases only inside its loops is held too often to gain)."""
    return max(1, min(cores(), 2))


def usage_chain(tables: Path, subs: SubscriberBase, make_rater: Callable[[], Rater],
                offer_of: OfferOf | None = None, in_full: bool = False,
                n_shares: int | None = None, fates: Fates | None = None) -> dict[str, int]:
    """Money (minor units) and record counts at each step of the chain. ``in_full`` rates every
    step in full (the reference the shared rating must equal; slow). The lines are rated in
    ``n_shares`` shares on as many threads (default :func:`shares`); the sums do not depend
    on how many. ``fates``: the ``cdrs`` table folded as it was written (else read here)."""
    offer_at = _offer_of(subs, offer_of)
    usage_path = tables / "usage.parquet"
    fate, parts = (record_fates(tables / "cdrs.parquet", _max_id(usage_path)) if fates is None
                   else fates.result(_max_id(usage_path)))
    n = n_shares or shares()
    chain = _Chain(make_rater, in_full, fate, parts, offer_at, n)
    batches = read_batches(usage_path, list(_Chain.COLUMNS), ("kind", "outcome"))
    # each batch is made ready here while the shares rate the one before on their threads
    with ThreadPoolExecutor(n, thread_name_prefix="usage-chain") as pool:
        rating: list[Future[None]] = []
        for b in batches:
            ready = chain.prepare(b)
            for r in rating:  # a share rates its batches in the table's order
                r.result()
            rating = [pool.submit(chain.rate, k, ready) for k in range(n)]
        for r in rating:
            r.result()
    money, records = chain.money, chain.records
    out = {f"{k}_minor": money[k] for k in STEPS}
    out.update({f"{k}_records": records[k] for k in STEPS})
    out["offered_records"] = chain.offered
    return out


def rerate_bss_order(rated_path: Path, subs: SubscriberBase, rater: Rater,
                     offer_of: OfferOf | None = None) -> dict[str, int]:
    """Re-rate the ``rated`` table's first ratings in the order the BSS made them, with the
    catalog's prices. Returns the sum, the BSS's sum of those rows, and how many rows differ."""
    out = dict(catalog_minor=0, bss_minor=0, rerated_minor=0, rows_differing=0)
    cols = ["sub", "kind", "start", "duration_s", "volume_bytes", "charge_minor", "state"]
    for b in read_batches(rated_path, cols, ("state",)):
        first = label_values(b.column("state"), lambda x: x == "rated", np.bool_)
        charge = b.column("charge_minor").to_numpy()
        out["rerated_minor"] += int(charge[~first].sum())
        sub = b.column("sub").to_numpy()[first].astype(np.int64)
        kind = b.column("kind").to_numpy()[first].astype(np.int64)
        start = b.column("start").to_numpy()[first]
        r = rater.rate(sub, _offer_of(subs, offer_of)(sub, start), kind, start,
                       quantity(kind, b.column("duration_s").to_numpy()[first],
                                b.column("volume_bytes").to_numpy()[first]))
        out["catalog_minor"] += int(r.charge.sum())
        out["bss_minor"] += int(charge[first].sum())
        out["rows_differing"] += int((r.charge != charge[first]).sum())
    return out


def bss_order(rated_path: Path, repriced_minor: int, repriced_rows: int,
              sums: tuple[int, int] | None = None) -> dict[str, int]:
    """What :func:`rerate_bss_order` gives, from the ``rated`` table's sums and the BSS's
    catalog pricing of the records it rated with a misconfigured price: ``repriced_minor``
    (catalog charge − charge, summed) on ``repriced_rows`` rows that differ. Every other
    record the catalog prices as the BSS did — same counters, same prices. ``sums``: the
    table's charges of first ratings and of the other rows, if already summed (else read)."""
    out = dict(catalog_minor=0, bss_minor=0, rerated_minor=0, rows_differing=repriced_rows)
    if sums is not None:
        out["bss_minor"], out["rerated_minor"] = sums
    else:
        for b in read_batches(rated_path, ["state", "charge_minor"], ("state",)):
            first = label_values(b.column("state"), lambda x: x == "rated", np.bool_)
            charge = b.column("charge_minor").to_numpy()
            out["bss_minor"] += int(charge[first].sum())
            out["rerated_minor"] += int(charge[~first].sum())
    out["catalog_minor"] = out["bss_minor"] + repriced_minor
    return out


def lost_revenue(usage_path: Path, subs: SubscriberBase, make_rater: Callable[[], Rater],
                 offer_of: OfferOf | None = None,
                 repriced: tuple[int, int] | None = None,
                 fates: Fates | None = None,
                 rated_sums: Callable[[], tuple[int, int]] | None = None) -> dict[str, int]:
    """The usage chain of a run (``usage_path`` in its tables directory), with the losses
    split out: ``lost_outage_minor`` (attempts on cells out of service), ``lost_dropped_minor``
    (the unserved rest of dropped calls and sessions), ``lost_blocking_minor``, and the
    leaks between the network and rating. ``repriced``: the BSS's catalog pricing of its
    misrated records (see :func:`bss_order`); None re-rates the ``rated`` table in full.
    ``fates``: the ``cdrs`` table folded as it was written (see :class:`Fates`);
    ``rated_sums``: gives :func:`bss_order`'s sums of the ``rated`` table once the usage
    chain is rated (the books summed them meanwhile), else they are read here."""
    tables = usage_path.parent
    c = usage_chain(tables, subs, make_rater, offer_of, fates=fates)
    order = (rerate_bss_order(tables / "rated.parquet", subs, make_rater(), offer_of)
             if repriced is None else bss_order(tables / "rated.parquet", *repriced,
                                                sums=rated_sums() if rated_sums else None))
    m = {k: c[f"{k}_minor"] for k in STEPS}
    r = {k: c[f"{k}_records"] for k in STEPS}
    return {
        **c,
        "potential_usage_minor": m["potential"],
        "carried_usage_minor": m["carried"],
        "lost_outage_minor": m["potential"] - m["without_lost"],
        "lost_dropped_minor": m["without_lost"] - m["with_drops"],
        "lost_denied_minor": m["with_drops"] - m["without_denied"],
        "lost_blocking_minor": m["without_denied"] - m["carried"],
        "leaked_collector_minor": m["carried"] - m["collected"],
        "leaked_rejected_minor": m["collected"] - m["accepted"],
        "leaked_suspense_minor": m["accepted"] - m["guided"],
        "leaked_late_minor": m["guided"] - m["in_time"],
        "leaked_fail_open_minor": m["in_time"] - m["charged"],
        "leaked_terminated_minor": m["charged"] - m["subscribed"],
        "lost_outage_records": r["potential"] - r["without_lost"],
        "lost_denied_records": r["with_drops"] - r["without_denied"],
        "lost_blocking_records": r["without_denied"] - r["carried"],
        "leaked_collector_records": r["carried"] - r["collected"],
        "leaked_rejected_records": r["collected"] - r["accepted"],
        "leaked_suspense_records": r["accepted"] - r["guided"],
        "leaked_late_records": r["guided"] - r["in_time"],
        "leaked_fail_open_records": r["in_time"] - r["charged"],
        "leaked_terminated_records": r["charged"] - r["subscribed"],
        "rating_order_minor": m["subscribed"] - order["catalog_minor"],
        "rerated_catalog_minor": order["catalog_minor"],
        "rerated_bss_minor": order["bss_minor"],
        "rerate_adjustments_minor": order["rerated_minor"],
        "rerated_rows_differing": order["rows_differing"],
    }
