"""TM Forum JSON exports of what the BSS knows: customer bills (TMF678) and product orders
(TMF622); usage (TMF635) is in :mod:`twin.bss.tmf635`.

They read the BSS's own tables of a run — ``invoices``, ``invoice_lines``,
``product_orders`` — never the truth, and turn rows into the resources the TM Forum Open API
(v4) describes, with times as ISO 8601 instants on the scenario's calendar, money in major
units of the catalog currency and absolute ``href``s under a base URL. For example::

    run = twin.Run("runs/quickstart")
    start = datetime.fromisoformat(run.scenario["start"])
    bills = tmf678_bills(run.table("invoices"), start, 100, 19.0)

Identifiers are the same in every API: the billing account ``acc-{account}``, its customer
``cust-{account}``, a line (product) ``sub-{line}``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from twin.messages import MSISDN_BASE, TMF_BASE_URL, tmf_href

BILL = "/customerBillManagement/v4/customerBill"
RATE = "/customerBillManagement/v4/appliedCustomerBillingRate"
ORDER = "/productOrderingManagement/v4/productOrder"
BILL_STATE = "new"  # every bill as issued: the twin does not follow its payment
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


def account_ref(account: Any) -> dict[str, Any]:
    return {"id": f"acc-{int(account)}", "@referredType": "BillingAccount"}


def customer_ref(account: Any) -> dict[str, Any]:
    return {"id": f"cust-{int(account)}", "role": "customer", "@referredType": "Customer"}


def tmf678_bills(invoices: pd.DataFrame, start: datetime, minor_per_major: int,
                 vat_pct: float, base_url: str = TMF_BASE_URL) -> list[dict[str, Any]]:
    """Every invoice as a TMF678 ``CustomerBill``, tax in ``taxItem``."""
    out = []
    for r in invoices.itertuples():
        cur = r.currency
        bill: dict[str, Any] = {
            "id": str(r.invoice_id),
            "href": tmf_href(base_url, BILL, r.invoice_id),
            "billNo": f"INV-{int(r.invoice_id):08d}",
            "billDate": instant(start, r.bill_run),
            "lastUpdate": instant(start, r.bill_run),
            "category": "normal",
            "runType": "onCycle",
            "state": BILL_STATE,
            "billingPeriod": {"startDateTime": _iso(r.cycle_start),
                              "endDateTime": _iso(r.cycle_end)},
            "billingAccount": {**account_ref(r.account),
                               "name": f"{r.account_type} account {r.account}"},
            "relatedParty": [customer_ref(r.account)],
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
        }
        out.append(bill)
    return out


def tmf678_rates(lines: pd.DataFrame, invoices: pd.DataFrame, start: datetime,
                 minor_per_major: int, base_url: str = TMF_BASE_URL) -> list[dict[str, Any]]:
    """Every invoice line but tax as a TMF678 ``AppliedCustomerBillingRate`` (credits and
    discounts as ``appliedBillingCredit`` with a positive amount). Its id is
    ``{invoice id}-{n}``, the line's number on its invoice (tax lines not counted)."""
    inv = invoices.set_index("invoice_id")
    rates = lines[lines["line_type"] != "tax"]
    number = rates.groupby("invoice_id").cumcount() + 1
    out = []
    for n, r in zip(number.tolist(), rates.itertuples(), strict=True):
        bill = inv.loc[r.invoice_id]
        kind, name = RATE_TYPES[r.line_type]
        amount = _money(r.amount_minor, minor_per_major, bill["currency"])
        rid = f"{r.invoice_id}-{n}"
        out.append({
            "id": rid,
            "href": tmf_href(base_url, RATE, rid),
            "appliedBillingRateType": kind,
            "name": name,
            "description": f"{r.line_type} of line {r.sub} ({r.offer})",
            "date": instant(start, bill["bill_run"]),
            "isBilled": True,
            "bill": {"id": str(r.invoice_id), "href": tmf_href(base_url, BILL, r.invoice_id),
                     "@referredType": "CustomerBill"},
            "billingAccount": account_ref(r.account),
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


def tmf622_orders(orders: pd.DataFrame, start: datetime,
                  base_url: str = TMF_BASE_URL) -> list[dict[str, Any]]:
    """Every row of the ``product_orders`` table as a TMF622 ``ProductOrder`` with one item:
    the line (product, with its MSISDN) and the offering ordered — for a change, the new one;
    fallout shows as a note."""
    out = []
    for r in orders.itertuples():
        done = r.state in ("completed", "failed") and not pd.isna(r.completed)
        item: dict[str, Any] = {
            "id": "1", "quantity": 1, "action": r.action, "state": r.state,
            "productOffering": {"id": str(r.offer), "name": str(r.offer)},
            "billingAccount": account_ref(r.account),
            "product": {
                "id": f"sub-{r.sub}", "@type": "Product", "@referredType": "Product",
                "productCharacteristic": [
                    {"name": "MSISDN", "valueType": "string",
                     "value": str(MSISDN_BASE + int(r.sub))},
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
            "href": tmf_href(base_url, ORDER, r.product_order_id),
            "orderDate": instant(start, r.ordered),
            "requestedStartDate": instant(start, r.requested_start),
            "state": r.state, "category": "mobile line",
            "description": f"{r.action} line {r.sub}"
                           + (f" ({r.from_offer} → {r.offer})" if r.action == "modify" else ""),
            "productOrderItem": [item], "relatedParty": [customer_ref(r.account)],
            "@type": "ProductOrder",
        }
        if done:
            order["completionDate"] = instant(start, r.completed)
        if r.fallouts:
            order["note"] = [{"text": f"{r.fallouts} fallout(s): {r.fallout_reason}",
                              "author": "OSS provisioning"}]
        out.append(order)
    return out
