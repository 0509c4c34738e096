"""Revenue assurance: every unit of revenue accounted for, or the run fails.

The funnel follows usage from the network to the invoice (see :mod:`twin.analysis.revenue`
for how each step is rated from the truth):

    potential usage revenue
      − lost to outages (attempts on dead cells, the rest of dropped calls)
      − lost to online-charging denials − lost to blocking
      = carried usage revenue
      − leaked: collector loss, mediation rejects, unguided suspense, late write-off,
        fail-open charging
      − rating difference (allowances consumed in arrival order; misconfigured tariffs)
      = rated usage
      − charged to prepaid balances (online charging)
      = invoiced usage
      + recurring fees (had nobody churned) − lost to churn + one-time − discounts
      − SLA credits
      = billed (net of tax); + tax = invoiced total

Every line is an exact integer of minor units, and the run checks, raising
:class:`ReconciliationError` if any fails:

* the ``rated`` table, the BSS's counter, the usage lines on invoices and the charges to
  prepaid balances agree;
* re-rating the ``rated`` table in the BSS's order with the catalog reproduces every charge
  (unless a tariff was misconfigured on purpose);
* the records the truth says were rated are the records the BSS rated;
* the money identity above, against the ``invoices`` table's own totals.

The funnel is written as the ``revenue_assurance`` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from twin.analysis.ledger import Identity, ints_row, ledger
from twin.bss.billing import USAGE_LINES
from twin.bss.money import percent_of
from twin.bss.sla import counted_outage, credit_pct

RA_SCHEMA = pa.schema([
    ("step", pa.int64()), ("stage", pa.string()), ("kind", pa.string()),
    ("records", pa.int64()), ("amount_minor", pa.int64()), ("running_minor", pa.int64()),
])


class ReconciliationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Books:
    """What the BSS's own tables say: totals of ``rated``, ``cdrs``, ``invoices`` and
    ``invoice_lines``, and the ledger's identities over their rows. Independent of the
    truth's rating, so a run reads them while it rates the truth (:func:`read_books` on
    another thread: DuckDB works without the GIL)."""

    rated_minor: int
    rated_records: int
    online: int
    rated_first_minor: int  # charges of first ratings (state ``rated``; the rest re-rating)
    billed_usage: int
    receipts: int
    inv: dict[str, int]
    rows: list[Identity]
    counts: dict[str, int]


def read_books(tables: Path, bss: Any) -> Books:
    """The books of the run whose tables are in ``tables`` (``bss``: its catalog's VAT and
    one-time fees)."""
    con = duckdb.connect()
    inv_path, lines_path = tables / "invoices.parquet", tables / "invoice_lines.parquet"
    # one scan of the largest table for its four totals
    rated_minor, rated_records, online, first = ints_row(con, f"""
        SELECT sum(charge_minor), count(*) FILTER (WHERE state = 'rated'),
               sum(charge_minor) FILTER (WHERE channel = 'balance'),
               sum(charge_minor) FILTER (WHERE state = 'rated')
        FROM '{tables / 'rated.parquet'}'""")
    (billed_usage,) = ints_row(con, f"SELECT sum(amount_minor) FROM '{lines_path}' "
                                    f"WHERE line_type IN {USAGE_LINES}")
    (receipts,) = ints_row(con, f"SELECT count(*) FROM '{tables / 'cdrs.parquet'}' "
                                "WHERE parts = 0 AND processed = received")
    totals = ("recurring", "one_time", "discount", "usage", "sla_credit", "net", "tax", "total")
    inv = dict(zip(totals, ints_row(con, "SELECT " + ", ".join(f"sum({k}_minor)" for k in totals)
                                    + f" FROM '{inv_path}'"), strict=True))
    con.close()
    rows, counts = ledger(tables, float(bss.spec.catalog.vat_pct),
                          dict(zip(bss.prices.offers, bss.prices.one_time.tolist(), strict=True)))
    return Books(rated_minor, rated_records, online, first, billed_usage, receipts, inv, rows,
                 counts)


def reconcile(tables: Path, bss: Any, lost: dict[str, int], *, strict: bool = True,
              books: Books | None = None) -> dict[str, Any]:
    """The revenue-assurance figures and identities of a run. ``strict`` (a run): raise
    :class:`ReconciliationError` naming every identity that does not hold; otherwise (an
    audit of given books) return them anyway, ``identity_holds`` false and the broken
    identities named in ``identities_failed``, without writing the funnel table. ``books``:
    the tables' :func:`read_books`, if already read."""
    b = books if books is not None else read_books(tables, bss)
    rated_minor, rated_records, online = b.rated_minor, b.rated_records, b.online
    billed_usage, receipts, inv, rows, counts = (b.billed_usage, b.receipts, b.inv, b.rows,
                                                 b.counts)
    tariff_error = lost["rerated_catalog_minor"] - rated_minor
    losses = (lost["lost_outage_minor"] + lost["lost_dropped_minor"] + lost["lost_denied_minor"]
              + lost["lost_blocking_minor"])
    leaks = {k: lost[f"leaked_{k}_minor"] for k in ("collector", "rejected", "suspense",
                                                      "late", "fail_open", "terminated")}
    churn = bss.billing.totals["recurring_potential_minor"] - inv["recurring"]
    potential_revenue = (lost["potential_usage_minor"] + inv["recurring"] + churn
                         + inv["one_time"])
    expect_net = (potential_revenue - losses - sum(leaks.values()) - lost["rating_order_minor"]
                  - tariff_error - online - churn - inv["discount"] - inv["sla_credit"])
    checks = [
        Identity("rated_is_invoiced_plus_online",
                 rated_minor == billed_usage + online == bss.rated_minor
                 and online == bss.ocs.counts["debited_minor"],
                 f"rated usage {rated_minor} != invoiced usage {billed_usage} + charged online "
                 f"{online} (BSS counters: rated {bss.rated_minor}, debited "
                 f"{bss.ocs.counts['debited_minor']})"),
        Identity("rerating_reproduces_charges",
                 lost["rerated_rows_differing"] <= bss.misrated_records,
                 f"re-rating the rated table gives other charges on "
                 f"{lost['rerated_rows_differing']} rows ({bss.misrated_records} were rated "
                 "with a misconfigured tariff)"),
        Identity("received_records_logged_once", receipts == bss.mediation.received,
                 f"mediation received {bss.mediation.received} records, the cdrs table "
                 f"logs {receipts} first receipts (rows that are not an assembled session or "
                 "a later decision)"),
        Identity("truth_rated_is_bss_rated", lost["subscribed_records"] == rated_records,
                 f"the truth says {lost['subscribed_records']} records were rated, the BSS "
                 f"rated {rated_records}"),
        Identity("funnel_gives_billed_net",
                 expect_net == inv["net"] and inv["net"] + inv["tax"] == inv["total"],
                 f"the funnel gives {expect_net} billed net of tax, the invoices {inv['net']}"
                 f" (+ tax {inv['tax']} = {inv['net'] + inv['tax']}, total {inv['total']})"),
        Identity("carried_is_rated_plus_leaked",
                 lost["carried_usage_minor"] - sum(leaks.values()) - lost["rating_order_minor"]
                 - tariff_error == rated_minor,
                 "carried usage does not split into rated + leaked"),
        *rows,
    ]
    failed = [c for c in checks if not c.holds]
    if failed and strict:
        raise ReconciliationError("; ".join(f"{c.name}: {c.detail}" for c in failed))
    if not failed:
        _write_table(tables, lost, inv, leaks, tariff_error, rated_minor, rated_records,
                     online, churn)
    audit = {} if strict else {"identities_failed": [c.name for c in failed]}
    return {
        "potential_usage_minor": lost["potential_usage_minor"],
        "rated_minor": rated_minor,
        "invoiced_usage_minor": billed_usage,
        "lost_minor": losses,
        "unbilled_minor": lost["carried_usage_minor"] - rated_minor,
        "records_offered": lost["offered_records"],
        "records_carried": lost["carried_records"],
        "records_collected": lost["collected_records"],
        "records_accepted": lost["accepted_records"],
        "records_rated": rated_records,
        "records_billed": counts["records_billed"],
        "records_billed_late": counts["records_billed_late"],
        "records_charged_online": counts["records_charged_online"],
        "billed_late_minor": counts["billed_late_minor"],
        "potential_revenue_minor": potential_revenue,
        "lost_outage_minor": lost["lost_outage_minor"] + lost["lost_dropped_minor"],
        "lost_denied_minor": lost["lost_denied_minor"],
        "lost_blocking_minor": lost["lost_blocking_minor"],
        "carried_usage_minor": lost["carried_usage_minor"],
        **{f"leaked_{k}_minor": v for k, v in leaks.items()},
        "leaked_minor": sum(leaks.values()),
        "charged_online_minor": online,
        "rating_order_minor": lost["rating_order_minor"],
        "tariff_error_minor": tariff_error,
        "rerate_adjustments_minor": lost["rerate_adjustments_minor"],
        "lost_churn_minor": churn,
        "credited_minor": inv["sla_credit"],
        "discounts_minor": inv["discount"],
        "billed_net_minor": inv["net"],
        "identities_checked": len(checks),
        "identity_holds": not failed,
        **audit,
    }


def _write_table(tables: Path, lost: dict[str, int], inv: dict[str, int],
                 leaks: dict[str, int], tariff_error: int, rated_minor: int,
                 rated_records: int, online: int, churn: int) -> None:
    rows: list[tuple[str, str, int, int]] = [
        ("potential usage", "subtotal", lost["offered_records"], lost["potential_usage_minor"]),
        ("lost: cell out of service", "loss", lost["lost_outage_records"],
         -lost["lost_outage_minor"]),
        ("lost: dropped calls and sessions", "loss", 0, -lost["lost_dropped_minor"]),
        ("lost: denied by online charging", "loss", lost["lost_denied_records"],
         -lost["lost_denied_minor"]),
        ("lost: blocking", "loss", lost["lost_blocking_records"], -lost["lost_blocking_minor"]),
        ("carried by the network", "subtotal", lost["carried_records"],
         lost["carried_usage_minor"]),
        ("leaked: collector loss", "leak", lost["leaked_collector_records"],
         -leaks["collector"]),
        ("leaked: rejected by mediation", "leak", lost["leaked_rejected_records"],
         -leaks["rejected"]),
        ("leaked: unguided suspense", "leak", lost["leaked_suspense_records"],
         -leaks["suspense"]),
        ("leaked: late write-off", "leak", lost["leaked_late_records"], -leaks["late"]),
        ("leaked: fail-open charging", "leak", lost["leaked_fail_open_records"],
         -leaks["fail_open"]),
        ("leaked: usage after termination", "leak", lost["leaked_terminated_records"],
         -leaks["terminated"]),
        ("rating order (allowances in arrival order)", "adjustment", 0,
         -lost["rating_order_minor"]),
        ("tariff error not corrected", "adjustment", 0, -tariff_error),
        ("rated usage", "subtotal", rated_records, rated_minor),
        ("charged to prepaid balances", "online", 0, -online),
        ("invoiced usage", "subtotal", 0, inv["usage"]),
        ("recurring fees (no churn)", "charge", 0, inv["recurring"] + churn),
        ("lost: churn (recurring fees)", "loss", 0, -churn),
        ("one-time fees", "charge", 0, inv["one_time"]),
        ("discounts", "credit", 0, -inv["discount"]),
        ("SLA credits", "credit", 0, -inv["sla_credit"]),
        ("billed, net of tax", "subtotal", 0, inv["net"]),
        ("tax", "charge", 0, inv["tax"]),
        ("invoiced total", "subtotal", 0, inv["total"]),
    ]
    running: int | None = None
    out = []
    for i, (stage, kind, n, amount) in enumerate(rows, start=1):
        if kind == "subtotal":  # each subtotal is what the lines above it add up to
            if running is not None and running != amount:
                raise ReconciliationError(
                    f"revenue assurance: '{stage}' is {amount}, the funnel above gives "
                    f"{running}")
            running = amount
        else:
            running = (running or 0) + amount
        out.append((i, stage, kind, n, amount, running))
    cols = list(zip(*out, strict=True))
    pq.write_table(pa.Table.from_arrays([pa.array(c) for c in cols], schema=RA_SCHEMA),
                   tables / "revenue_assurance.parquet")


def sla_truth(tables: Path, bss: Any) -> dict[str, Any]:
    """SLA credits as the BSS paid them (from the outages the OSS measured) against what the
    true outages would have earned, per SLA line and bill cycle, summed."""
    truth: dict[str, list[tuple[float, float]]] = {}
    for r in pq.read_table(tables / "cell_outages.parquet",
                           columns=["cell", "start", "end"]).to_pylist():
        truth.setdefault(r["cell"], []).append((r["start"], r["end"]))
    sla, billing = bss.billing.sla, bss.billing
    horizon = bss.sim.horizon
    out = dict(sla_outage_measured_s=0.0, sla_outage_true_s=0.0, sla_credits_true_minor=0,
               sla_lines_true_breach=0, sla_lines_measured_breach=0)
    for g, k in ((g, k) for g in range(len(billing.days)) for k in range(billing.n_cycles)):
        lo, hi = max(billing.B[g, k], 0.0), min(billing.B[g, k + 1], horizon)
        if hi <= lo:
            continue
        base = billing.recurring_base(k)
        for cell, subs in sla.subs_on.items():
            planned = sla.planned.get(cell, [])
            for s in subs:
                if billing.group[s] != g or bss.lines.active_from[s] >= hi:  # not its cycle
                    continue
                spec = sla.slas[int(bss.subs.offer[s])]
                # announced maintenance is excluded from the truth as the contract says
                true_s = counted_outage(spec, truth.get(cell, []), planned, lo, hi)
                meas_s = counted_outage(spec, sla.outages.get(cell, []), planned, lo, hi)
                out["sla_outage_true_s"] += true_s
                out["sla_outage_measured_s"] += meas_s
                _, pct = credit_pct(spec, true_s, hi - lo)
                out["sla_credits_true_minor"] += int(percent_of(np.array([base[s]]), pct)[0])
                out["sla_lines_true_breach"] += pct > 0
                out["sla_lines_measured_breach"] += credit_pct(spec, meas_s, hi - lo)[1] > 0
    out["sla_outage_measured_s"] = round(out["sla_outage_measured_s"], 3)
    out["sla_outage_true_s"] = round(out["sla_outage_true_s"], 3)
    return out
