"""What the BSS has mediated, rated and billed so far, as TMF635 ``Usage`` and TMF678
``CustomerBill`` / ``AppliedCustomerBillingRate`` — served while the twin runs.

The resources are built by the exporters ``twin export`` uses (:class:`~twin.bss.tmf635.
UsageText`, :func:`~twin.bss.exports.tmf678_bills`, :func:`~twin.bss.exports.tmf678_rates`)
from the BSS's own tables — ``cdrs``, ``rated``, ``invoices``, ``invoice_lines`` — read as
:class:`~twin.live.tables.LiveTable` s: a page reads the few row groups it lies in, found by
counts and id ranges kept per row group. A usage record's status is as the BSS has decided
it so far (a record still in suspense is ``recycled``; one rated but not yet on a bill is
``rated``), so it can change between two reads, as in a real mediation system.

Filters: usage by ``usageType`` (counted per row group as records arrive) and by ``status``
(decided per request, so it reads every row group: seconds for millions of records); bills
by ``billingAccount.id`` and ``state``; billing rates by ``bill.id``.
"""

from __future__ import annotations

import copy
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from twin.bss import exports
from twin.bss.tmf635 import CDR_COLUMNS, KIND_NAMES, RATED_COLUMNS, STATUS, Fates, UsageText
from twin.live.tables import Group, LiveTable, page
from twin.wiring import Assembly

FATE_COLUMNS = ["node_id", "record_id", "charging_id", "parts", "state", "reason"]
USAGE_ID = re.compile(r"(\d{1,9})-(\d{1,15})(?:-dup-(\d{1,15}))?")
RATE_ID = re.compile(r"(\d{1,15})-(\d{1,9})")
ACCOUNT_ID = re.compile(r"acc-(\d{1,15})")
PAGES_KEPT = 32  # pages built, kept for pollers until the tables change
_Page = TypeVar("_Page")


class NotFound(LookupError):
    pass


def _np(t: pa.Table, name: str) -> npt.NDArray[Any]:
    return np.asarray(t[name].to_numpy())


def _first(t: pa.Table) -> npt.NDArray[np.bool_]:
    """First receipts (the usage records): not a session's assembly, not a later decision."""
    out: npt.NDArray[np.bool_] = (_np(t, "parts") == 0) & (
        _np(t, "processed") == _np(t, "received"))
    return out


def _kind(t: pa.Table) -> npt.NDArray[np.int64]:
    k = _np(t, "kind").astype(np.int64)
    return np.where((k >= 0) & (k < len(KIND_NAMES)), k, len(KIND_NAMES))


@dataclass(frozen=True)
class _CdrGroup:
    first: int
    kinds: npt.NDArray[np.int64]  # first receipts per usage type (unknown last)
    later: pa.Table  # the rows deciding records received earlier (for Fates)
    records: tuple[int, int]  # record id range


def _cdr_summary(t: pa.Table) -> _CdrGroup:
    first = _first(t)
    rec = _np(t, "record_id")
    return _CdrGroup(int(first.sum()),
                     np.bincount(_kind(t)[first], minlength=len(KIND_NAMES) + 1),
                     t.filter(pa.array(~first)).select(FATE_COLUMNS),
                     (int(rec.min()), int(rec.max())) if rec.size else (0, -1))


def _range(column: str) -> Callable[[pa.Table], tuple[int, int]]:
    def summary(t: pa.Table) -> tuple[int, int]:
        v = _np(t, column)
        return (int(v.min()), int(v.max())) if v.size else (0, -1)
    return summary


@dataclass(frozen=True)
class _LineGroup:
    rates: int  # lines that are billing rates (not tax)
    invoices: tuple[int, int]


def _line_summary(t: pa.Table) -> _LineGroup:
    rates = int(pc.sum(pc.not_equal(t["line_type"], "tax")).as_py() or 0)
    return _LineGroup(rates, _range("invoice_id")(t))


def _overlapping(groups: list[Group], lo: int, hi: int,
                 key: Callable[[Any], tuple[int, int]] = lambda s: s) -> list[Group]:
    return [g for g in groups if key(g.summary)[0] <= hi and key(g.summary)[1] >= lo]


def _rows(groups: list[Group]) -> int:
    return sum(g.rows for g in groups)


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    return pa.concat_tables(tables) if tables else schema.empty_table()


class LiveBss:
    """The BSS's usage and bills so far (``groups`` are read with the simulation held still
    under ``lock``; everything else reads copies)."""

    def __init__(self, asm: Assembly, base_url: str, spill: Path,
                 lock: threading.RLock, group_rows: int | None = None) -> None:
        sc = asm.scenario
        self.start = sc.start
        self.base = base_url
        self.lock = lock
        cat = sc.bss.catalog
        self.per, self.currency, self.vat = int(cat.minor_per_major), cat.currency, cat.vat_pct
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="live-spill")
        bufs = asm.sim.records.buffers
        kw = {} if group_rows is None else {"group_rows": group_rows}
        self.cdrs = LiveTable(bufs["cdrs"], spill, _cdr_summary, self.pool, **kw)
        self.rated = LiveTable(bufs["rated"], spill, _range("charging_id"), self.pool, **kw)
        self.invoices = LiveTable(bufs["invoices"], spill, _range("invoice_id"), self.pool,
                                  **kw)
        self.lines = LiveTable(bufs["invoice_lines"], spill, _line_summary, self.pool, **kw)
        self.account = np.asarray(asm.subscribers.account, dtype=np.int64)
        self._text: UsageText | None = None
        self._fates: tuple[int, Fates] | None = None
        self._building = threading.Lock()
        self._pages: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._pages_lock = threading.Lock()
        threading.Thread(target=self._lookups, name="live-usage-lookups", daemon=True).start()

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def _groups(self, *tables: LiveTable) -> list[list[Group]]:
        with self.lock:
            return [t.groups() for t in tables]

    # --- TMF635 -------------------------------------------------------------------------------

    def _usage_text(self, cdrs: list[Group]) -> UsageText:
        rows = _rows(cdrs)
        fates = self._fates  # one read: another request may replace it meanwhile
        if fates is None or fates[0] != rows:
            later = _concat([g.summary.later for g in cdrs],
                            pa.schema([self.cdrs.schema.field(n) for n in FATE_COLUMNS]))
            fates = self._fates = (rows, Fates.of(later))
        text = copy.copy(self._lookups())  # the lookups shared, the decisions of this picture
        text.fates = fates[1]
        return text

    def _lookups(self) -> UsageText:
        """The usage texts' lookups (a second to build: built once, in the background from
        the start, not by every client at its first page)."""
        with self._building:
            if self._text is None:
                empty = pa.schema([self.cdrs.schema.field(n) for n in FATE_COLUMNS])
                self._text = UsageText(self.start, self.per, self.currency, self.base,
                                       self.account, Fates.of(empty.empty_table()))
            return self._text

    def _rated_of(self, rated: list[Group], ids: pa.Array | pa.ChunkedArray) -> pa.Table:
        v = np.asarray(ids.to_numpy() if isinstance(ids, pa.Array)
                       else ids.combine_chunks().to_numpy())
        if not v.size:
            return pa.schema([self.rated.schema.field(n) for n in RATED_COLUMNS]).empty_table()
        want = pa.array(np.unique(v))
        parts = [t.filter(pc.is_in(t["charging_id"], want)) for g in
                 _overlapping(rated, int(v.min()), int(v.max()))
                 for t in [g.load(RATED_COLUMNS, self.rated.schema)]]
        return _concat(parts, pa.schema([self.rated.schema.field(n) for n in RATED_COLUMNS]))

    def _select(self, g: Group, text: UsageText, rated: list[Group], kind: int | None,
                status: int | None) -> tuple[pa.Table, npt.NDArray[np.int64]]:
        """The usage records of a row group the filters select, with their rows."""
        t = g.load(CDR_COLUMNS, self.cdrs.schema)
        keep = _first(t)
        if kind is not None:
            keep &= _kind(t) == kind
        t, rows = t.filter(pa.array(keep)), np.flatnonzero(keep) + g.row0
        if status is not None:
            mine = text.statuses(t, self._rated_of(rated, t["charging_id"])) == status
            t, rows = t.filter(pa.array(mine)), rows[mine]
        return t, rows

    def _render(self, text: UsageText, rated: list[Group], t: pa.Table,
                rows: npt.NDArray[np.int64]) -> list[str]:
        if not t.num_rows:
            return []
        out: list[str] = text.texts(t, rows, self._rated_of(rated, t["charging_id"])
                                    ).to_pylist()
        return out

    def usage(self, offset: int, limit: int, usage_type: str | None = None,
              status: str | None = None) -> tuple[int, list[str]]:
        """The total of the records selected and the JSON texts of a page of them."""
        kind = KIND_NAMES.index(usage_type) if usage_type in KIND_NAMES else None
        code = STATUS.index(status) if status in STATUS else None
        if (usage_type is not None and kind is None) or (status is not None and code is None):
            return 0, []
        cdrs, rated = self._groups(self.cdrs, self.rated)
        key = ("usage", _rows(cdrs), _rows(rated), offset, limit, kind, code)
        return self._cached(key, lambda: self._usage(cdrs, rated, offset, limit, kind, code))

    def _usage(self, cdrs: list[Group], rated: list[Group], offset: int, limit: int,
               kind: int | None, code: int | None) -> tuple[int, list[str]]:
        text = self._usage_text(cdrs)
        if code is None:
            counts = [int(g.summary.first if kind is None else g.summary.kinds[kind])
                      for g in cdrs]
        else:  # the status is decided now: every row group is read (one at a time)
            counts = [self._select(g, text, rated, kind, code)[0].num_rows for g in cdrs]
        tables, rows = [], []
        for g, lo, hi in page(cdrs, counts, offset, limit):
            t, r = self._select(g, text, rated, kind, code)
            tables.append(t.slice(lo, hi - lo))
            rows.append(r[lo:hi])
        if not tables:
            return sum(counts), []
        return sum(counts), self._render(text, rated, pa.concat_tables(tables),
                                         np.concatenate(rows))

    def _cached(self, key: tuple[Any, ...], build: Callable[[], _Page]) -> _Page:
        """A page as built for the same tables (their row counts in ``key``): pollers
        asking for the same page between two changes get it without building it again."""
        with self._pages_lock:
            hit = self._pages.get(key)
            if hit is not None:
                self._pages.move_to_end(key)
                return cast(_Page, hit)
        out = build()
        with self._pages_lock:
            self._pages[key] = out
            while len(self._pages) > PAGES_KEPT:
                self._pages.popitem(last=False)
        return out

    def one_usage(self, uid: str) -> str:
        m = USAGE_ID.fullmatch(uid)
        if m is None:
            raise NotFound(uid)
        node, record = int(m[1]), int(m[2])
        cdrs, rated = self._groups(self.cdrs, self.rated)
        text = self._usage_text(cdrs)
        if m[3] is not None:  # a duplicate receipt: its row
            row = int(m[3])
            found = [g for g in cdrs if g.row0 <= row < g.row0 + g.rows]
        else:
            found = [g for g in cdrs if g.summary.records[0] <= record <= g.summary.records[1]]
        for g in found:
            t, rows = self._select(g, text, rated, None, None)
            hit = (_np(t, "node_id") == node) & (_np(t, "record_id") == record)
            for item in self._render(text, rated, t.filter(pa.array(hit)), rows[hit]):
                if item.startswith(f'{{"id":"{uid}"'):
                    return item
        raise NotFound(uid)

    # --- TMF678 -------------------------------------------------------------------------------

    def _bills(self, t: pa.Table) -> list[dict[str, Any]]:
        return exports.tmf678_bills(t.to_pandas(), self.start, self.per, self.vat, self.base)

    def bills(self, offset: int, limit: int, account: str | None = None,
              state: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        (groups,) = self._groups(self.invoices)
        return self._cached(("bills", _rows(groups), offset, limit, account, state),
                            lambda: self._bill_page(groups, offset, limit, account, state))

    def _bill_page(self, groups: list[Group], offset: int, limit: int, account: str | None,
                   state: str | None) -> tuple[int, list[dict[str, Any]]]:
        cols = list(self.invoices.schema.names)
        if state is not None and state != exports.BILL_STATE:
            return 0, []
        acc: int | None = None
        if account is not None:
            m = ACCOUNT_ID.fullmatch(account)
            if m is None:
                return 0, []
            acc = int(m[1])

        def keep(t: pa.Table) -> npt.NDArray[np.bool_]:
            return np.ones(t.num_rows, bool) if acc is None else _np(t, "account") == acc

        counts = [g.rows if acc is None else int(keep(g.load(["account"], self.invoices.schema))
                                                  .sum()) for g in groups]
        out = []
        for g, lo, hi in page(groups, counts, offset, limit):
            t = g.load(cols, self.invoices.schema)
            out += self._bills(t.filter(pa.array(keep(t))).slice(lo, hi - lo))
        return sum(counts), out

    def _invoices_of(self, groups: list[Group], ids: npt.NDArray[np.int64]) -> pa.Table:
        want = pa.array(np.unique(ids))
        lo, hi = (int(ids.min()), int(ids.max())) if ids.size else (0, -1)
        return _concat([t.filter(pc.is_in(t["invoice_id"], want))
                        for g in _overlapping(groups, lo, hi)
                        for t in [g.load(list(self.invoices.schema.names),
                                         self.invoices.schema)]], self.invoices.schema)

    def one_bill(self, bid: str) -> dict[str, Any]:
        if not bid.isdigit() or len(bid) > 15:
            raise NotFound(bid)
        (groups,) = self._groups(self.invoices)
        t = self._invoices_of(groups, np.array([int(bid)]))
        if not t.num_rows:
            raise NotFound(bid)
        return self._bills(t)[0]

    def _rates(self, invoices: list[Group], lines: list[Group],
               ids: npt.NDArray[np.int64]) -> list[tuple[int, dict[str, Any]]]:
        """Every billing rate of some invoices, with the row of its line: their lines are
        read whole, so each rate keeps its number on its invoice."""
        if not ids.size:
            return []
        want = pa.array(np.unique(ids))
        cols = list(self.lines.schema.names)
        parts, rows = [], []
        for g in _overlapping(lines, int(ids.min()), int(ids.max()), lambda s: s.invoices):
            t = g.load(cols, self.lines.schema)
            mine = pc.is_in(t["invoice_id"], want).to_numpy(zero_copy_only=False)
            parts.append(t.filter(pa.array(mine)))
            rows.append(np.flatnonzero(mine) + g.row0)
        t = pa.concat_tables(parts)
        row = np.concatenate(rows)[pc.not_equal(t["line_type"], "tax").to_numpy(
            zero_copy_only=False)]
        rates = exports.tmf678_rates(t.to_pandas(), self._invoices_of(invoices, ids)
                                     .to_pandas(), self.start, self.per, self.base)
        return list(zip(row.tolist(), rates, strict=True))

    def rates(self, offset: int, limit: int,
              bill: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        invoices, lines = self._groups(self.invoices, self.lines)
        return self._cached(("rates", _rows(invoices), _rows(lines), offset, limit, bill),
                            lambda: self._rate_page(invoices, lines, offset, limit, bill))

    def _rate_page(self, invoices: list[Group], lines: list[Group], offset: int, limit: int,
                   bill: str | None) -> tuple[int, list[dict[str, Any]]]:
        if bill is not None and not (bill.isdigit() and len(bill) <= 15):
            return 0, []
        inv = int(bill) if bill is not None else None

        def chosen(g: Group) -> npt.NDArray[np.int64]:
            t = g.load(["invoice_id", "line_type"], self.lines.schema)
            keep = pc.not_equal(t["line_type"], "tax").to_numpy(zero_copy_only=False)
            if inv is not None:
                keep &= _np(t, "invoice_id") == inv
            out: npt.NDArray[np.int64] = np.flatnonzero(keep)
            return out

        if inv is None:
            counts = [g.summary.rates for g in lines]
        else:
            counts = [len(chosen(g)) if g.summary.invoices[0] <= inv <= g.summary.invoices[1]
                      else 0 for g in lines]
        wanted: list[int] = []
        ids: list[npt.NDArray[np.int64]] = []
        for g, lo, hi in page(lines, counts, offset, limit):
            mine = chosen(g)[lo:hi]
            wanted += (mine + g.row0).tolist()
            ids.append(_np(g.load(["invoice_id"], self.lines.schema), "invoice_id")[mine])
        if not wanted:
            return sum(counts), []
        by_row = dict(self._rates(invoices, lines, np.concatenate(ids)))
        return sum(counts), [by_row[r] for r in wanted]

    def one_rate(self, rid: str) -> dict[str, Any]:
        m = RATE_ID.fullmatch(rid)
        if m is None:
            raise NotFound(rid)
        invoices, lines = self._groups(self.invoices, self.lines)
        for _, rate in self._rates(invoices, lines, np.array([int(m[1])])):
            if rate["id"] == rid:
                return rate
        raise NotFound(rid)
