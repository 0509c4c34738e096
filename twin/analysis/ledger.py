"""The books balance: every invoice line on one invoice, every record rated on one bill.

The revenue funnel (:mod:`twin.analysis.reconcile`) adds totals; a line written with no
invoice, or a fee charged to nobody, can hide inside a total that still adds up. These
identities look at the rows themselves, from the run's tables only:

* **invoice ids** — each invoice id names one invoice, and an account has one invoice per
  bill cycle;
* **lines on one invoice** — every row of ``invoice_lines`` names an invoice that exists,
  of the same account;
* **invoices are their lines** — per invoice, each amount column (recurring, one-time,
  discount, usage, SLA credit) is the sum of its lines of that type, ``net_minor`` the sum
  of every line but tax, the tax line ``tax_minor`` (VAT of the net, rounded half up) and
  ``total_minor = net_minor + tax_minor``;
* **one-time fees billed once** — every line activated in the run pays its offer's one-time
  fee on exactly one invoice line, and no other line pays one;
* **usage lines are rated records** — each usage line of an invoice is the sum of the rated
  records (and re-rating differences) posted to that invoice, line and kind;
* **every rated record disposed of** — a rated record is either billed on its own cycle's
  invoice, carried to a later bill (it was rated after its own bill ran; it goes on the next
  open one), or charged to a prepaid balance. Nothing is billed on a bill that ran before it
  was rated, or on a cycle before the usage happened. Write-offs happen before rating
  (mediation's ``too late``), so a rated record is never written off; a correction that
  lowers a charge is a negative re-rating row, posted like any other (a credit).

Each identity gives an :class:`Identity`; the reconciliation fails the run if any does not
hold. The row counts it finds are part of the summary (``records_billed`` …).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from twin.analysis.revenue import label_values, position_in, read_batches
from twin.kernel.compiled import kernel


@dataclass(frozen=True)
class Identity:
    name: str
    holds: bool
    detail: str  # what was found: the counts that break it, or what it checked


def ints_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, ...]:
    """The one row ``sql`` returns, as integers (a null as 0)."""
    rows = con.execute(sql).fetchall()  # all: the connection is free for the next one
    assert len(rows) == 1
    row = rows[0]
    return tuple(int(x) if x is not None else 0 for x in row)


def _check(name: str, bad: int, what: str, ok: str) -> Identity:
    return Identity(name, bad == 0, f"{bad:,} {what}" if bad else ok)


def ledger(tables: Path, vat_pct: float,
           one_time_fee: Mapping[str, int]) -> tuple[list[Identity], dict[str, int]]:
    """Check the identities over the run's ``invoices``, ``invoice_lines``, ``rated``,
    ``subscriptions`` and ``product_orders`` tables. ``one_time_fee`` is each offer's fee
    (minor units). Returns the identities and the record counts of each disposition."""
    con = duckdb.connect()
    for name in ("invoices", "invoice_lines", "rated", "subscriptions", "product_orders"):
        path = tables / f"{name}.parquet"
        if path.exists():
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM '{path}'")
        elif name == "product_orders":  # a run without orders
            con.execute("CREATE VIEW product_orders AS SELECT 0::BIGINT AS sub, "
                        "''::VARCHAR AS action, ''::VARCHAR AS state WHERE false")
        else:
            raise FileNotFoundError(path)
    fees = ", ".join(f"({_sql_text(k)}, {int(v)})" for k, v in sorted(one_time_fee.items()))
    con.execute("CREATE TEMP TABLE fees(offer VARCHAR, fee BIGINT)")
    if fees:
        con.execute(f"INSERT INTO fees VALUES {fees}")
    out = [_invoice_ids(con), _lines_on_invoices(con), _invoices_are_lines(con, vat_pct),
           _one_time_fees(con), _usage_lines(con)]
    disposed, counts = _dispositions(con, tables)
    con.close()
    return [*out, disposed], counts


def _sql_text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _invoice_ids(con: duckdb.DuckDBPyConnection) -> Identity:
    (dup_id, dup_cycle) = ints_row(con, """
        SELECT (SELECT count(*) - count(DISTINCT invoice_id) FROM invoices),
               (SELECT count(*) FROM (SELECT account, bill_cycle FROM invoices
                                      GROUP BY ALL HAVING count(*) > 1))""")
    return _check("invoice_ids_unique", dup_id + dup_cycle,
                  f"invoice ids used twice ({dup_id}) or accounts with two invoices in one "
                  f"bill cycle ({dup_cycle})", "one invoice per id, per account and cycle")


def _lines_on_invoices(con: duckdb.DuckDBPyConnection) -> Identity:
    (orphans, minor, wrong) = ints_row(con, """
        SELECT count(*) FILTER (WHERE i.invoice_id IS NULL),
               coalesce(sum(l.amount_minor) FILTER (WHERE i.invoice_id IS NULL), 0),
               count(*) FILTER (WHERE i.invoice_id IS NOT NULL AND i.account <> l.account)
        FROM invoice_lines l LEFT JOIN (SELECT DISTINCT invoice_id, account FROM invoices) i
             USING (invoice_id)""")
    return _check("lines_on_one_invoice", orphans + wrong,
                  f"invoice lines on no invoice ({orphans}, {minor:,} minor units) or on "
                  f"another account's ({wrong})", "every invoice line on its account's invoice")


_COMPONENTS = {  # invoice column: (line types, sign of the lines)
    "recurring_minor": ("'recurring'", 1), "one_time_minor": ("'one_time'", 1),
    "discount_minor": ("'discount'", -1),
    "usage_minor": ("'usage_voice', 'usage_data', 'usage_sms'", 1),
    "sla_credit_minor": ("'sla_credit'", -1), "tax_minor": ("'tax'", 1),
}


def _invoices_are_lines(con: duckdb.DuckDBPyConnection, vat_pct: float) -> Identity:
    sums = ",\n".join(
        f"coalesce(sum(amount_minor) FILTER (WHERE line_type IN ({types})), 0) * {sign} "
        f"AS {col}" for col, (types, sign) in _COMPONENTS.items())
    differs = " OR ".join(f"i.{c} <> coalesce(l.{c}, 0)" for c in _COMPONENTS)
    # VAT of the net amount in basis points, half away from zero (as money.percent_of)
    vat = f"sign(i.net_minor) * ((abs(i.net_minor) * {round(vat_pct * 100)} + 5000) // 10000)"
    (bad, parts, totals, tax) = ints_row(con, f"""
        WITH l AS (SELECT invoice_id, {sums},
                          coalesce(sum(amount_minor) FILTER (WHERE line_type <> 'tax'), 0)
                              AS net_minor
                   FROM invoice_lines GROUP BY invoice_id)
        SELECT count(*) FILTER (WHERE {differs} OR i.net_minor <> coalesce(l.net_minor, 0)
                                   OR i.total_minor <> i.net_minor + i.tax_minor
                                   OR i.tax_minor <> {vat}),
               count(*) FILTER (WHERE {differs} OR i.net_minor <> coalesce(l.net_minor, 0)),
               count(*) FILTER (WHERE i.total_minor <> i.net_minor + i.tax_minor),
               count(*) FILTER (WHERE i.tax_minor <> {vat})
        FROM invoices i LEFT JOIN l USING (invoice_id)""")
    return _check("invoice_is_its_lines", bad,
                  f"invoices whose amounts are not their lines ({parts}), whose total is not "
                  f"net + tax ({totals}) or whose tax is not {vat_pct:g} % of the net ({tax})",
                  "every invoice is the sum of its lines plus tax")


def _one_time_fees(con: duckdb.DuckDBPyConnection) -> Identity:
    # a line owes its offer's fee when it is new and its activation was not left undone
    # (an order for it that never completed)
    (bad, twice) = ints_row(con, """
        WITH owed AS (
            SELECT s.sub, CASE WHEN s.new_line AND NOT EXISTS (
                               SELECT 1 FROM product_orders o WHERE o.sub = s.sub
                               AND o.action = 'add' AND o.state <> 'completed')
                          THEN coalesce(f.fee, 0) ELSE 0 END AS fee
            FROM subscriptions s LEFT JOIN fees f USING (offer)),
        paid AS (SELECT sub, sum(amount_minor) AS paid, count(*) AS n FROM invoice_lines
                 WHERE line_type = 'one_time' GROUP BY sub)
        SELECT count(*) FILTER (WHERE coalesce(paid, 0) <> coalesce(fee, 0)),
               count(*) FILTER (WHERE n > 1)
        FROM owed FULL OUTER JOIN paid USING (sub)""")
    return _check("one_time_fees_billed_once", bad + twice,
                  f"lines whose one-time fee was not billed, billed wrong or unowed ({bad}), "
                  f"or billed twice ({twice})", "every one-time fee owed billed once")


_KIND_LINE = "CASE r.kind WHEN 0 THEN 'usage_voice' WHEN 1 THEN 'usage_data' ELSE 'usage_sms' END"


def _usage_lines(con: duckdb.DuckDBPyConnection) -> Identity:
    (bad,) = ints_row(con, f"""
        WITH r AS (  -- summed per line and kind first: the join then sees few rows; rows
                     -- charging nothing add nothing to a line (most usage is in bundles)
            SELECT account, bill_cycle, sub, kind, sum(charge_minor) AS amount FROM rated
            WHERE channel = 'invoice' AND charge_minor <> 0 GROUP BY ALL),
        posted AS (
            SELECT i.invoice_id, r.sub, {_KIND_LINE} AS line_type, sum(r.amount) AS amount
            FROM r JOIN invoices i ON i.account = r.account AND i.bill_cycle = r.bill_cycle
            GROUP BY ALL),
        billed AS (
            SELECT invoice_id, sub, line_type, sum(amount_minor) AS amount FROM invoice_lines
            WHERE line_type IN ('usage_voice', 'usage_data', 'usage_sms') GROUP BY ALL)
        SELECT count(*) FROM posted FULL OUTER JOIN billed USING (invoice_id, sub, line_type)
        WHERE coalesce(posted.amount, 0) <> coalesce(billed.amount, 0)""")
    return _check("usage_lines_are_rated_records", bad,
                  "usage lines that are not the sum of the records posted to them",
                  "every usage line is the sum of its rated records")


# of the rows posted to a later cycle than their own (``late``: account, start, rated_at,
# charge_minor, state), those whose own bill (the account's that covers their start) had run
# when they were rated: carried to the next open bill
CARRIED = """
    SELECT count(*),
           count(*) FILTER (WHERE o.bill_run <= l.rated_at AND l.start < o.billed_to),
           count(*) FILTER (WHERE o.bill_run <= l.rated_at AND l.start < o.billed_to
                            AND l.state = 'rated'),
           coalesce(sum(l.charge_minor) FILTER (WHERE o.bill_run <= l.rated_at
                                                AND l.start < o.billed_to), 0)
    FROM {late} l
    ASOF LEFT JOIN invoices o ON o.account = l.account AND l.start >= o.billed_from"""
CHANNELS, STATES = ("balance", "invoice"), ("rated", "rerated")  # as the loop codes them
_RATED = ["account", "bill_cycle", "channel", "state", "start", "rated_at", "sub",
          "charge_minor"]
_DENSE = 1 << 24  # invoice keys looked up in a table up to this size, else by search


class _Bills:
    """Each rated row's invoice: the one of its account and bill cycle (-1: none; -2: two
    that differ, so it is on no one bill; a row written twice is one invoice, which
    ``invoice_ids_unique`` reports)."""

    COLUMNS = ("invoice_id", "account", "bill_cycle", "bill_run", "billed_from", "billed_to")

    def __init__(self, invoices: pa.Table) -> None:
        invoices = (invoices.select(list(self.COLUMNS)).drop_null()  # on no bill, as in a join
                    .group_by(list(self.COLUMNS)).aggregate([]))
        cols = {c: invoices[c].to_numpy(zero_copy_only=False) for c in self.COLUMNS}
        self.bill_run, self.billed_from, self.billed_to = (
            cols["bill_run"], cols["billed_from"], cols["billed_to"])
        acc, cyc = cols["account"].astype(np.int64), cols["bill_cycle"].astype(np.int64)
        self.empty = acc.size == 0
        self.dense = True
        self.a0 = self.c0 = self.na = self.nc = 0
        self.table = np.full(1, -1, dtype=np.int64)  # (the compiled loop takes empty as none)
        if self.empty:
            return
        self.a0, self.c0 = int(acc.min()), int(cyc.min())
        self.na, self.nc = int(acc.max()) - self.a0 + 1, int(cyc.max()) - self.c0 + 1
        self.dense = self.na * self.nc <= _DENSE
        if self.dense:
            key = (acc - self.a0) * self.nc + (cyc - self.c0)
        else:  # ids far apart: accounts and cycles by rank
            self.accounts, self.cycles = np.unique(acc), np.unique(cyc)
            key = (np.searchsorted(self.accounts, acc) * self.cycles.size
                   + np.searchsorted(self.cycles, cyc))
        order = np.argsort(key, kind="stable")
        self.keys, first, count = np.unique(key[order], return_index=True,
                                            return_counts=True)
        self.row = np.where(count == 1, order[first], -2)
        if self.dense:
            self.table = np.full(self.na * self.nc, -1, dtype=np.int64)
            self.table[self.keys] = self.row

    def dense_table(self) -> tuple[int, int, int, int, npt.NDArray[np.int64]]:
        """(a0, c0, na, nc, table) for the compiled loop (table empty: look up by :meth:`of`)."""
        if self.dense:
            return self.a0, self.c0, self.na, self.nc, self.table
        return 0, 0, 0, 0, np.empty(0, dtype=np.int64)

    def of(self, account: npt.NDArray[np.int64],
           cycle: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Each row's invoice, looked up by rank (ids too far apart for :meth:`dense_table`)."""
        out = np.full(account.size, -1, dtype=np.int64)
        ra = np.minimum(np.searchsorted(self.accounts, account), self.accounts.size - 1)
        rc = np.minimum(np.searchsorted(self.cycles, cycle), self.cycles.size - 1)
        key = ra * self.cycles.size + rc
        pos = np.minimum(np.searchsorted(self.keys, key), self.keys.size - 1)
        ok = ((self.accounts[ra] == account) & (self.cycles[rc] == cycle)
              & (self.keys[pos] == key))
        out[ok] = self.row[pos[ok]]
        return out


def _numbers(batch: pa.RecordBatch, name: str) -> tuple[np.ndarray, npt.NDArray[np.bool_]]:
    """A column as numbers, its nulls as zeros, and where the nulls were."""
    col = batch.column(name)
    if col.null_count == 0:
        return col.to_numpy(), np.zeros(len(col), dtype=bool)
    return (col.fill_null(0).to_numpy(),
            col.is_null().to_numpy(zero_copy_only=False))


def _dispose_rows(account: npt.NDArray[np.int64], cycle: npt.NDArray[np.int64],
                  start: npt.NDArray[np.float64], rated_at: npt.NDArray[np.float64],
                  channel: npt.NDArray[np.int8], state: npt.NDArray[np.int8],
                  missing: npt.NDArray[np.bool_], inv: npt.NDArray[np.int64], a0: int,
                  c0: int, na: int, nc: int, table: npt.NDArray[np.int64],
                  bill_run: npt.NDArray[np.float64], billed_from: npt.NDArray[np.float64],
                  billed_to: npt.NDArray[np.float64],
                  counts: npt.NDArray[np.int64], late: npt.NDArray[np.int64]) -> int:
    """Add each row's disposition to ``counts`` (not disposed of, on its own cycle's bill
    and rated, charged online and rated, re-rating rows) and put the rows posted to a
    later cycle than their own in ``late``; returns how many. ``channel``: 0 balance,
    1 invoice (:data:`CHANNELS`); ``state``: 0 rated, 1 rerated (:data:`STATES`). A row's
    invoice is ``table[(account - a0) * nc + cycle - c0]`` (-1 none, -2 ambiguous), or
    ``inv[r]`` when ``table`` is empty; ``missing[r]`` (when given): a value of the row is null."""
    n_late = 0
    for r in range(account.size):
        st = state[r]
        if st == 1:
            counts[3] += 1
        if missing.size and missing[r]:
            counts[0] += 1
            continue
        ch = channel[r]
        if ch == 0:
            if cycle[r] != -1:
                counts[0] += 1
            elif st == 0:
                counts[2] += 1
            continue
        p = -1
        if ch == 1:
            if table.size:
                a, c = account[r] - a0, cycle[r] - c0
                if 0 <= a < na and 0 <= c < nc:
                    p = table[a * nc + c]
            else:
                p = inv[r]
        if p < 0 or not (bill_run[p] >= rated_at[r] and start[r] < billed_to[p]):
            counts[0] += 1
        elif start[r] >= billed_from[p]:
            if st == 0:
                counts[1] += 1
        else:
            late[n_late] = r
            n_late += 1
    return n_late


_dispose = kernel(_dispose_rows)


def _dispositions(con: duckdb.DuckDBPyConnection,
                  tables: Path) -> tuple[Identity, dict[str, int]]:
    """Each rated row's fate: on its own cycle's bill, carried to a later one, or a
    prepaid balance's; anything else breaks the identity. A row is posted to the invoice of
    its account and bill cycle; it is on that bill if it is charged to invoices, was rated
    by the bill run and happened before the bill's end; it is charged online if charged to
    a balance with no bill cycle (-1). A row missing any of these values is neither. The
    table is read once, in batches, by a compiled loop (a join of every row in DuckDB was
    most of a month's summary); the few rows posted to a later cycle than their own then
    go to DuckDB."""
    bills = _Bills(pq.read_table(tables / "invoices.parquet"))
    subs = pq.read_table(tables / "subscriptions.parquet", columns=["sub", "account_type"])
    prepaid = np.unique(subs["sub"].to_numpy(zero_copy_only=False)[
        pc.equal(subs["account_type"], "prepaid").fill_null(False).to_numpy(
            zero_copy_only=False)])
    tally = np.zeros(4, dtype=np.int64)  # bad, own, balance, rerated
    not_prepaid = 0
    late: list[pa.RecordBatch] = []
    none = np.empty(0, dtype=np.int64)
    for b in read_batches(tables / "rated.parquet", _RATED, ("channel", "state")):
        (account, m1), (cycle, m2), (start, m3), (rated_at, m4), (sub, m5) = (
            _numbers(b, c) for c in ("account", "bill_cycle", "start", "rated_at", "sub"))
        missing = m1 | m2 | m3 | m4 | m5
        channel = label_values(b.column("channel"), position_in(CHANNELS))
        state = label_values(b.column("state"), position_in(STATES))
        account, cycle = account.astype(np.int64, copy=False), cycle.astype(np.int64, copy=False)
        rows = np.empty(account.size, dtype=np.int64)
        n = _dispose(account, cycle, start.astype(np.float64, copy=False),
                     rated_at.astype(np.float64, copy=False), channel, state,
                     missing if missing.any() else np.empty(0, dtype=bool),
                     none if bills.dense else bills.of(account, cycle), *bills.dense_table(),
                     bills.bill_run, bills.billed_from, bills.billed_to, tally, rows)
        not_prepaid += int(np.count_nonzero(~np.isin(sub[(channel == 0) & ~missing],
                                                     prepaid)))
        if n:
            late.append(b.select(["account", "start", "rated_at", "charge_minor",
                                  "state"]).take(pa.array(rows[:n])))
    # the few rows posted to a later cycle than their own: was their own bill run already?
    late_rows = (pa.Table.from_batches(late) if late else pa.table({
        "account": pa.array([], pa.int64()), "start": pa.array([], pa.float64()),
        "rated_at": pa.array([], pa.float64()), "charge_minor": pa.array([], pa.int64()),
        "state": pa.array([], pa.string())}))
    con.register("late_rows", late_rows)
    n_late, carried, carried_rated, carried_minor = ints_row(con,
                                                             CARRIED.format(late="late_rows"))
    con.unregister("late_rows")
    bad, own, balance, rerated = (int(x) for x in tally)
    bad += n_late - carried
    counts = {"records_billed": own + carried_rated, "records_billed_late": carried_rated,
              "records_charged_online": balance, "billed_late_minor": carried_minor,
              "rerated_rows": rerated}
    return _check("rated_records_disposed", bad + not_prepaid,
                  f"rated records neither on their bill, carried to a later one nor charged "
                  f"to a prepaid balance ({bad}), or charged to the balance of a line that is "
                  f"not prepaid ({not_prepaid})",
                  "every rated record billed, carried to a later bill or charged online"), counts
