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


@dataclass(frozen=True)
class Identity:
    name: str
    holds: bool
    detail: str  # what was found: the counts that break it, or what it checked


def _row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, ...]:
    row = con.execute(sql).fetchone()
    assert row is not None
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
    disposed, counts = _dispositions(con)
    con.close()
    return [*out, disposed], counts


def _sql_text(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _invoice_ids(con: duckdb.DuckDBPyConnection) -> Identity:
    (dup_id, dup_cycle) = _row(con, """
        SELECT (SELECT count(*) - count(DISTINCT invoice_id) FROM invoices),
               (SELECT count(*) FROM (SELECT account, bill_cycle FROM invoices
                                      GROUP BY ALL HAVING count(*) > 1))""")
    return _check("invoice_ids_unique", dup_id + dup_cycle,
                  f"invoice ids used twice ({dup_id}) or accounts with two invoices in one "
                  f"bill cycle ({dup_cycle})", "one invoice per id, per account and cycle")


def _lines_on_invoices(con: duckdb.DuckDBPyConnection) -> Identity:
    (orphans, minor, wrong) = _row(con, """
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
    (bad, parts, totals, tax) = _row(con, f"""
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
    (bad, twice) = _row(con, """
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
    (bad,) = _row(con, f"""
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


def _dispositions(con: duckdb.DuckDBPyConnection) -> tuple[Identity, dict[str, int]]:
    """Each rated row's fate: on its own cycle's bill, carried to a later one, or a
    prepaid balance's; anything else breaks the identity."""
    # one pass: the invoice each row was posted to (hash joins on small tables)
    posted = """
        FROM rated r
        LEFT JOIN invoices p ON p.account = r.account AND p.bill_cycle = r.bill_cycle"""
    valid = ("r.channel = 'invoice' AND p.invoice_id IS NOT NULL AND p.bill_run >= r.rated_at "
             "AND r.start < p.billed_to")
    bad_posting, own, balance, rerated = _row(con, f"""
        SELECT count(*) FILTER (WHERE CASE WHEN r.channel = 'balance' THEN r.bill_cycle <> -1
                                           ELSE NOT coalesce({valid}, false) END),
               count(*) FILTER (WHERE {valid} AND r.start >= p.billed_from
                                AND r.state = 'rated'),
               count(*) FILTER (WHERE r.channel = 'balance' AND r.bill_cycle = -1
                                AND r.state = 'rated'),
               count(*) FILTER (WHERE r.state = 'rerated')
        {posted}""")
    # the lines' account types only for the rows charged to a balance (a join of every row
    # with the subscriptions would cost as much as the pass above)
    (not_prepaid,) = _row(con, """
        SELECT count(*) FROM rated r
        LEFT JOIN (SELECT sub, account_type FROM subscriptions) s ON s.sub = r.sub
        WHERE r.channel = 'balance' AND coalesce(s.account_type, '') <> 'prepaid'""")
    # the few rows posted to a later cycle than their own: was their own bill run already?
    # (no account types needed: a join of every row fewer)
    late, carried, carried_rated, carried_minor = _row(con, f"""
        WITH l AS (SELECT r.account, r.start, r.rated_at, r.charge_minor, r.state {posted}
                   WHERE {valid} AND r.start < p.billed_from)
        SELECT count(*),
               count(*) FILTER (WHERE o.bill_run <= l.rated_at AND l.start < o.billed_to),
               count(*) FILTER (WHERE o.bill_run <= l.rated_at AND l.start < o.billed_to
                                AND l.state = 'rated'),
               coalesce(sum(l.charge_minor) FILTER (WHERE o.bill_run <= l.rated_at
                                                    AND l.start < o.billed_to), 0)
        FROM l ASOF LEFT JOIN invoices o ON o.account = l.account AND l.start >= o.billed_from""")
    bad = bad_posting + late - carried
    counts = {"records_billed": own + carried_rated, "records_billed_late": carried_rated,
              "records_charged_online": balance, "billed_late_minor": carried_minor,
              "rerated_rows": rerated}
    return _check("rated_records_disposed", bad + not_prepaid,
                  f"rated records neither on their bill, carried to a later one nor charged "
                  f"to a prepaid balance ({bad}), or charged to the balance of a line that is "
                  f"not prepaid ({not_prepaid})",
                  "every rated record billed, carried to a later bill or charged online"), counts
