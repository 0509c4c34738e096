"""The ledger identities: a small consistent set of books passes; each way of breaking one
identity fails exactly that identity (``twin/analysis/ledger.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from twin.analysis.ledger import ledger

VAT = 19.0
FEES = {"m": 2500, "p": 0}
Books = dict[str, pd.DataFrame]


def books() -> Books:
    """Two bill cycles of account 0 (postpaid, a new line 0 and line 2) and a prepaid line
    1 on account 1: an own-cycle charge, a charge carried to the next bill, a negative
    re-rating difference (a credit) carried too, and a prepaid charge on the balance."""
    subs = pd.DataFrame({"sub": [0, 1, 2], "account": [0, 1, 0], "offer": ["m", "p", "m"],
                         "account_type": ["postpaid", "prepaid", "postpaid"],
                         "new_line": [True, False, False]})
    rated = pd.DataFrame([
        # sub, account, kind, start, rated_at, charge, channel, bill_cycle, state
        (0, 0, 0, 10.0, 20.0, 100, "invoice", 0, "rated"),
        (0, 0, 1, 50.0, 150.0, 40, "invoice", 1, "rated"),   # rated after its bill ran
        (2, 0, 0, 120.0, 130.0, 7, "invoice", 1, "rated"),
        (1, 1, 0, 30.0, 40.0, 9, "balance", -1, "rated"),
        (0, 0, 0, 10.0, 150.0, -20, "invoice", 1, "rerated"),
    ], columns=["sub", "account", "kind", "start", "rated_at", "charge_minor", "channel",
                "bill_cycle", "state"])
    lines = pd.DataFrame([
        (1, 0, 0, "recurring", 1000), (1, 0, 0, "one_time", 2500), (1, 0, 0, "usage_voice", 100),
        (2, 0, 0, "recurring", 1000), (2, 0, 0, "usage_data", 40),
        (2, 0, 0, "usage_voice", -20), (2, 0, 2, "usage_voice", 7), (2, 0, 2, "recurring", 500),
        (2, 0, 2, "sla_credit", -50), (2, 0, 2, "discount", -10),
    ], columns=["invoice_id", "account", "sub", "line_type", "amount_minor"])
    invoices = pd.DataFrame({"invoice_id": [1, 2], "account": [0, 0], "bill_cycle": [0, 1],
                             "billed_from": [0.0, 100.0], "billed_to": [100.0, 200.0],
                             "bill_run": [110.0, 210.0]})
    return settle({"subscriptions": subs, "rated": rated, "invoice_lines": lines,
                   "invoices": invoices,
                   "product_orders": pd.DataFrame({"sub": [0], "action": ["add"],
                                                   "state": ["completed"]})})


def settle(b: Books) -> Books:
    """Recompute each invoice's amounts and tax line from its other lines."""
    lines = b["invoice_lines"]
    lines = lines[lines["line_type"] != "tax"]
    inv = b["invoices"][["invoice_id", "account", "bill_cycle", "billed_from", "billed_to",
                         "bill_run"]].copy()
    by = lines.groupby(["invoice_id", "line_type"])["amount_minor"].sum().unstack(fill_value=0)
    for col, types, sign in (("recurring", ["recurring"], 1), ("one_time", ["one_time"], 1),
                             ("discount", ["discount"], -1), ("sla_credit", ["sla_credit"], -1),
                             ("usage", ["usage_voice", "usage_data", "usage_sms"], 1)):
        have = [t for t in types if t in by.columns]
        inv[f"{col}_minor"] = inv["invoice_id"].map(by[have].sum(axis=1) if have else {}) \
            .fillna(0).astype(int) * sign
    inv["net_minor"] = inv["invoice_id"].map(lines.groupby("invoice_id")["amount_minor"].sum()
                                             ).fillna(0).astype(int)
    inv["tax_minor"] = [(abs(n) * 1900 + 5000) // 10000 * (1 if n >= 0 else -1)
                        for n in inv["net_minor"]]
    inv["total_minor"] = inv["net_minor"] + inv["tax_minor"]
    tax = pd.DataFrame({"invoice_id": inv["invoice_id"], "account": inv["account"], "sub": -1,
                        "line_type": "tax", "amount_minor": inv["tax_minor"]})
    return {**b, "invoices": inv, "invoice_lines": pd.concat([lines, tax], ignore_index=True)}


def failing(tmp_path: Path, b: Books) -> set[str]:
    for name, df in b.items():
        df.to_parquet(tmp_path / f"{name}.parquet")
    checks, _ = ledger(tmp_path, VAT, FEES)
    return {c.name for c in checks if not c.holds}


def test_consistent_books_hold_and_count_each_disposition(tmp_path: Path) -> None:
    b = books()
    for name, df in b.items():
        df.to_parquet(tmp_path / f"{name}.parquet")
    checks, counts = ledger(tmp_path, VAT, FEES)
    assert [c.name for c in checks if not c.holds] == []
    assert len(checks) == 6
    assert counts == {"records_billed": 3, "records_billed_late": 1,
                      "records_charged_online": 1, "billed_late_minor": 20, "rerated_rows": 1}


def _edit(frame: str, fn: Callable[[pd.DataFrame], pd.DataFrame],
          resettle: bool = True) -> Callable[[], Books]:
    def make() -> Books:
        b = books()
        b = {**b, frame: fn(b[frame].copy())}
        return settle(b) if resettle else b
    return make


def _set(df: pd.DataFrame, row: int, **values: Any) -> pd.DataFrame:
    for k, v in values.items():
        df.loc[row, k] = v
    return df


BROKEN = {
    # the hole of issue 9: a one-time fee written with invoice id 0, on no invoice
    "line on no invoice": (_edit("invoice_lines", lambda d: _set(d, 1, invoice_id=0)),
                           {"lines_on_one_invoice"}),
    "line on another account's invoice": (_edit("invoice_lines", lambda d: _set(d, 4, account=1),
                                                resettle=False), {"lines_on_one_invoice"}),
    "invoice id twice": (_edit("invoices", lambda d: pd.concat([d, d.iloc[[0]]]),
                               resettle=False),
                         {"invoice_ids_unique", "usage_lines_are_rated_records"}),
    "two invoices in one cycle": (_edit("invoices", lambda d: _set(d, 1, bill_cycle=0)),
                                  {"invoice_ids_unique", "usage_lines_are_rated_records",
                                   "rated_records_disposed"}),
    "total is not net + tax": (_edit("invoices", lambda d: _set(d, 0, total_minor=1),
                                     resettle=False), {"invoice_is_its_lines"}),
    "tax is not the VAT": (lambda: _tax_off_by_one(), {"invoice_is_its_lines"}),
    "an amount is not its lines": (_edit("invoices", lambda d: _set(d, 1, recurring_minor=1),
                                         resettle=False), {"invoice_is_its_lines"}),
    "one-time fee never billed": (_edit("invoice_lines", lambda d: d.drop(index=1)),
                                  {"one_time_fees_billed_once"}),
    "one-time fee billed twice": (_edit("invoice_lines", lambda d: pd.concat(
        [d, pd.DataFrame([(2, 0, 0, "one_time", 2500)], columns=d.columns)])),
        {"one_time_fees_billed_once"}),
    "one-time fee of a failed order": (_edit("product_orders",
                                             lambda d: _set(d, 0, state="failed")),
                                       {"one_time_fees_billed_once"}),
    "a usage line differs from its records": (_edit("invoice_lines",
                                                    lambda d: _set(d, 2, amount_minor=101)),
                                              {"usage_lines_are_rated_records"}),
    "a rated record on no bill": (_edit("rated", lambda d: _set(d, 2, bill_cycle=7)),
                                  {"usage_lines_are_rated_records", "rated_records_disposed"}),
    "posted to a bill that had run": (_edit("rated", lambda d: _set(d, 0, rated_at=120.0)),
                                      {"rated_records_disposed"}),
    "billed before it happened": (_edit("rated", lambda d: _set(d, 2, start=250.0)),
                                  {"rated_records_disposed"}),
    "carried though its bill had not run": (_edit("rated", lambda d: _set(d, 1, rated_at=60.0)),
                                            {"rated_records_disposed"}),
    "a postpaid line charged to a balance": (_edit("rated", lambda d: _set(d, 3, sub=2)),
                                             {"rated_records_disposed"}),
    "a balance charge posted to a bill": (_edit("rated", lambda d: _set(d, 3, bill_cycle=0)),
                                          {"rated_records_disposed"}),
}


def _tax_off_by_one() -> Books:
    b = books()
    inv, lines = b["invoices"].copy(), b["invoice_lines"].copy()
    inv.loc[0, "tax_minor"] += 1
    inv.loc[0, "total_minor"] += 1
    lines.loc[(lines["invoice_id"] == 1) & (lines["line_type"] == "tax"), "amount_minor"] += 1
    return {**b, "invoices": inv, "invoice_lines": lines}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_each_broken_identity_fails(tmp_path: Path, case: str) -> None:
    make, expected = BROKEN[case]
    assert failing(tmp_path, make()) == expected


def test_records_charging_nothing_are_on_no_line(tmp_path: Path) -> None:
    """Usage inside a bundle (charged 0) makes no usage line, and the books hold with it;
    the same record charging something and billed on no line breaks them."""
    b = books()
    free = pd.DataFrame([(0, 0, 2, 60.0, 70.0, 0, "invoice", 0, "rated")],
                        columns=b["rated"].columns)
    assert failing(tmp_path, {**b, "rated": pd.concat([b["rated"], free],
                                                      ignore_index=True)}) == set()
    charged = pd.concat([b["rated"], free.assign(charge_minor=3)], ignore_index=True)
    assert failing(tmp_path, {**b, "rated": charged}) == {"usage_lines_are_rated_records"}
