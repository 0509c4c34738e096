"""TM Forum JSON exports of what the BSS knows: usage (TMF635) and customer bills (TMF678).

They read the BSS's own tables of a run — ``cdrs``, ``rated``, ``invoices`` and
``invoice_lines`` — never the truth, and turn rows into the resources the TM Forum Open API
(v4) describes, with times as ISO 8601 instants on the scenario's calendar and money in major
units of the catalog currency. For example::

    run = twin.Run("runs/quickstart")
    start = datetime.fromisoformat(run.scenario["start"])
    bills = tmf678_bills(run.table("invoices"), start, 100, 19.0)
    usage = tmf635_usage(run.table("cdrs").head(1000), run.table("rated"),
                         run.table("invoices"), start, 100, "EUR")

A usage record's TMF635 status is the furthest state it reached: ``rejected`` (with the
reason), ``recycled`` (waiting in suspense), ``guided``, ``rated``, ``rerated`` or
``billed`` (rated, and a bill run of its account came after).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from twin.messages import CAUSE_NAMES

KIND_NAMES = ("voice", "data", "sms")
RATE_TYPES = {
    "recurring": ("appliedBillingCharge", "recurringCharge"),
    "one_time": ("appliedBillingCharge", "oneTimeCharge"),
    "usage_voice": ("appliedBillingCharge", "usageCharge"),
    "usage_data": ("appliedBillingCharge", "usageCharge"),
    "usage_sms": ("appliedBillingCharge", "usageCharge"),
    "discount": ("appliedBillingCredit", "rebate"),
    "sla_credit": ("appliedBillingCredit", "slaCredit"),
}


def instant(start: datetime, t: Any) -> str:
    """ISO 8601 (UTC, ``Z``) of simulated second ``t``."""
    return (start + timedelta(seconds=float(t))).isoformat().replace("+00:00", "Z")


def _iso(ts: Any) -> str:
    return str(pd.Timestamp(ts).isoformat()).replace("+00:00", "Z")


def _money(minor: Any, minor_per_major: int, currency: str) -> dict[str, Any]:
    return {"unit": currency, "value": round(abs(int(minor)) / minor_per_major, 6)}


def tmf678_bills(invoices: pd.DataFrame, start: datetime, minor_per_major: int,
                 vat_pct: float) -> list[dict[str, Any]]:
    """Every invoice as a TMF678 ``CustomerBill``, tax in ``taxItem``."""
    out = []
    for r in invoices.itertuples():
        cur = r.currency
        out.append({
            "id": str(r.invoice_id),
            "href": f"/tmf-api/customerBillManagement/v4/customerBill/{r.invoice_id}",
            "billNo": f"INV-{int(r.invoice_id):08d}",
            "billDate": instant(start, r.bill_run),
            "lastUpdate": instant(start, r.bill_run),
            "category": "normal",
            "runType": "onCycle",
            "state": "new",
            "billingPeriod": {"startDateTime": _iso(r.cycle_start),
                              "endDateTime": _iso(r.cycle_end)},
            "billingAccount": {"id": str(r.account), "@referredType": "BillingAccount",
                               "name": f"{r.account_type} account {r.account}"},
            "taxExcludedAmount": _money(r.net_minor, minor_per_major, cur),
            "taxIncludedAmount": _money(r.total_minor, minor_per_major, cur),
            "amountDue": _money(r.total_minor, minor_per_major, cur),
            "remainingAmount": _money(r.total_minor, minor_per_major, cur),
            "taxItem": [{"taxCategory": "VAT", "taxRate": vat_pct,
                         "taxAmount": _money(r.tax_minor, minor_per_major, cur)}],
            **({"billCycle": {"id": f"day-{r.bill_cycle_day}",
                              "name": f"cycle day {r.bill_cycle_day}",
                              "@referredType": "BillCycle"}}
               if hasattr(r, "bill_cycle_day") else {}),
            "@type": "CustomerBill",
        })
    return out


def tmf678_rates(lines: pd.DataFrame, invoices: pd.DataFrame, start: datetime,
                 minor_per_major: int) -> list[dict[str, Any]]:
    """Every invoice line but tax as a TMF678 ``AppliedCustomerBillingRate`` (credits and
    discounts as ``appliedBillingCredit`` with a positive amount)."""
    inv = invoices.set_index("invoice_id")
    out = []
    for i, r in enumerate(lines[lines["line_type"] != "tax"].itertuples(), start=1):
        bill = inv.loc[r.invoice_id]
        kind, name = RATE_TYPES[r.line_type]
        amount = _money(r.amount_minor, minor_per_major, bill["currency"])
        out.append({
            "id": f"{r.invoice_id}-{i}",
            "appliedBillingRateType": kind,
            "name": name,
            "description": f"{r.line_type} of line {r.sub} ({r.offer})",
            "date": instant(start, bill["bill_run"]),
            "isBilled": True,
            "bill": {"id": str(r.invoice_id), "@referredType": "CustomerBill"},
            "billingAccount": {"id": str(r.account), "@referredType": "BillingAccount"},
            "product": {"id": f"sub-{r.sub}", "name": str(r.offer), "@referredType": "Product"},
            "periodCoverage": _coverage(r, bill, start),
            "taxExcludedAmount": amount,
            "@type": "AppliedCustomerBillingRate",
        })
    return out


def _coverage(line: Any, bill: pd.Series, start: datetime) -> dict[str, str]:
    """The period a line charges: a prorated recurring line its own part of the cycle (the
    ``period_from``/``period_to`` columns), any other line the bill's cycle."""
    lo, hi = getattr(line, "period_from", None), getattr(line, "period_to", None)
    if line.line_type == "recurring" and lo is not None and not pd.isna(lo):
        return {"startDateTime": instant(start, lo), "endDateTime": instant(start, hi)}
    return {"startDateTime": _iso(bill["cycle_start"]), "endDateTime": _iso(bill["cycle_end"])}


def usage_status(cdrs: pd.DataFrame, rated: pd.DataFrame,
                 invoices: pd.DataFrame) -> pd.Series:
    """The TMF635 status each received record (row of ``cdrs``) reached."""
    key = ["node_id", "charging_id"]  # guided rows are whole sessions: one per charging id
    status = cdrs["state"].astype(object).copy()
    last = rated.sort_values("rated_at").groupby(key).agg(
        state=("state", "last"), rated_at=("rated_at", "max"), account=("account", "first"))
    last_run = invoices.groupby("account")["bill_run"].max()
    billed = last["rated_at"] <= last["account"].map(last_run).fillna(-np.inf)
    last["status"] = np.where(billed, "billed", last["state"])
    guided = cdrs["state"] == "guided"
    idx = pd.MultiIndex.from_frame(cdrs.loc[guided, key])
    status.loc[guided] = last["status"].reindex(idx).fillna("guided").to_numpy()
    return status


def tmf635_usage(cdrs: pd.DataFrame, rated: pd.DataFrame, invoices: pd.DataFrame,
                 start: datetime, minor_per_major: int, currency: str) -> list[dict[str, Any]]:
    """Received records as TMF635 ``Usage``, with their rating when they were rated."""
    status = usage_status(cdrs, rated, invoices)
    charge = rated.groupby(["node_id", "charging_id"]).agg(
        charge=("charge_minor", "sum"), allowance=("allowance_used", "sum"),
        offer=("offer", "first"), period=("period", "first"),
        rated_at=("rated_at", "max")).to_dict("index")  # a dict: one lookup per record
    out = []
    for r, st in zip(cdrs.itertuples(), status, strict=True):
        kind = KIND_NAMES[int(r.kind)] if 0 <= int(r.kind) < 3 else "unknown"
        chars = [
            {"name": "msisdn", "valueType": "string", "value": str(491_700_000_000 + int(r.sub))},
            {"name": "recordingEntity", "valueType": "integer", "value": int(r.node_id)},
            {"name": "durationSeconds", "valueType": "integer", "value": int(r.duration_s)},
            {"name": "volumeBytes", "valueType": "integer", "value": int(r.volume_bytes)},
            {"name": "causeForTermination", "valueType": "string",
             "value": CAUSE_NAMES.get(int(r.cause), str(int(r.cause)))},
            {"name": "chargingId", "valueType": "integer", "value": int(r.charging_id)},
            {"name": "recordSequenceNumber", "valueType": "integer", "value": int(r.seq)},
        ]
        if r.parts:
            chars.append({"name": "assembledFromParts", "valueType": "integer",
                          "value": int(r.parts)})
        if r.reason:
            chars.append({"name": "rejectReason", "valueType": "string", "value": r.reason})
        uid = (f"{int(r.node_id)}-{int(r.record_id)}" if not r.parts
               else f"{int(r.node_id)}-session-{int(r.charging_id)}")
        usage: dict[str, Any] = {
            "id": uid,
            "href": f"/tmf-api/usageManagement/v4/usage/{uid}",
            "usageDate": instant(start, r.start),
            "usageType": kind,
            "description": f"{kind} record {r.record_id} from recording entity {r.node_id}",
            "status": st,
            "usageSpecification": {"id": kind, "name": f"{kind} usage",
                                   "@referredType": "UsageSpecification"},
            "relatedParty": [{"id": str(int(r.sub)), "role": "customer",
                              "@referredType": "Subscription"}],
            "usageCharacteristic": chars,
            "@type": "Usage",
        }
        key = (int(r.node_id), int(r.charging_id))
        if st in ("rated", "rerated", "billed") and key in charge:
            c = charge[key]
            usage["ratedProductUsage"] = [{
                "isBilled": st == "billed",
                "ratingDate": instant(start, c["rated_at"]),
                "offerTariffType": str(c["period"]),
                "usageRatingTag": "included usage" if c["allowance"] and not c["charge"]
                else ("non included usage" if c["allowance"] else "usage"),
                "ratingAmountType": "total",
                "taxExcludedRatingAmount": _money(c["charge"], minor_per_major, currency),
                "productRef": {"id": f"sub-{int(r.sub)}", "name": str(c["offer"])},
            }]
        out.append(usage)
    return out


def tmf622_orders(orders: pd.DataFrame, start: datetime) -> list[dict[str, Any]]:
    """Every row of the ``product_orders`` table as a TMF622 ``ProductOrder`` with one item:
    the line (product, with its MSISDN) and the offering ordered — for a change, the new one;
    fallout shows as a note."""
    out = []
    for r in orders.itertuples():
        done = r.state in ("completed", "failed") and not pd.isna(r.completed)
        item: dict[str, Any] = {
            "id": "1", "quantity": 1, "action": r.action, "state": r.state,
            "productOffering": {"id": str(r.offer), "name": str(r.offer)},
            "billingAccount": {"id": f"acc-{r.account}", "@referredType": "BillingAccount"},
            "product": {
                "id": f"sub-{r.sub}", "@type": "Product",
                "productCharacteristic": [
                    {"name": "MSISDN", "valueType": "string",
                     "value": str(491_700_000_000 + int(r.sub))},
                    {"name": "servingCell", "valueType": "string", "value": str(r.cell)}],
                **({"startDate": instant(start, r.activated)}
                   if r.action == "add" and not pd.isna(r.activated) else {}),
                **({"terminationDate": instant(start, r.activated)}
                   if r.action == "delete" and not pd.isna(r.activated) else {}),
            },
            "@type": "ProductOrderItem",
        }
        order: dict[str, Any] = {
            "id": str(r.product_order_id),
            "href": f"/tmf-api/productOrderingManagement/v4/productOrder/{r.product_order_id}",
            "orderDate": instant(start, r.ordered),
            "requestedStartDate": instant(start, r.requested_start),
            "state": r.state, "category": "mobile line",
            "description": f"{r.action} line {r.sub}"
                           + (f" ({r.from_offer} → {r.offer})" if r.action == "modify" else ""),
            "productOrderItem": [item], "@type": "ProductOrder",
        }
        if done:
            order["completionDate"] = instant(start, r.completed)
        if r.fallouts:
            order["note"] = [{"text": f"{r.fallouts} fallout(s): {r.fallout_reason}",
                              "author": "OSS provisioning"}]
        out.append(order)
    return out
