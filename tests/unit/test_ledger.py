"""The ledger identities: a small consistent set of books passes; each way of breaking one
identity fails exactly that identity (``twin/analysis/ledger.py``)."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.analysis.ledger import CARRIED, _Bills, _dispositions, ledger

CI = settings.get_profile("ci")

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


# The identity as one SQL join of every rated row with its invoice (the rows posted to a
# later cycle than their own picked by the join, then carried or not as the ledger does):
# what the compiled pass must count alike (on books with one invoice per account and cycle,
# and no nulls).
POSTED = """FROM rated r LEFT JOIN invoices p
            ON p.account = r.account AND p.bill_cycle = r.bill_cycle"""
VALID = ("r.channel = 'invoice' AND p.invoice_id IS NOT NULL AND p.bill_run >= r.rated_at "
         "AND r.start < p.billed_to")
REFERENCE = f"""
    SELECT count(*) FILTER (WHERE CASE WHEN r.channel = 'balance' THEN r.bill_cycle <> -1
                                       ELSE NOT coalesce({VALID}, false) END),
           count(*) FILTER (WHERE {VALID} AND r.start >= p.billed_from AND r.state = 'rated'),
           count(*) FILTER (WHERE r.channel = 'balance' AND r.bill_cycle = -1
                            AND r.state = 'rated'),
           count(*) FILTER (WHERE r.state = 'rerated')
    {POSTED}"""
REFERENCE_LATE = CARRIED.format(late=f"""(
    SELECT r.account, r.start, r.rated_at, r.charge_minor, r.state {POSTED}
    WHERE {VALID} AND r.start < p.billed_from)""")
PREPAID = [0, 2]  # the subscriptions' prepaid lines


def _books(invoices: pd.DataFrame, rated: pd.DataFrame, d: Path) -> None:
    invoices.astype({"invoice_id": "int64", "account": "int64", "bill_cycle": "int64",
                     "billed_from": "float64", "billed_to": "float64", "bill_run": "float64"}
                    ).to_parquet(d / "invoices.parquet")
    rated.astype({"sub": "int64", "account": "int64", "bill_cycle": "int64",
                  "start": "float64", "rated_at": "float64", "charge_minor": "int64"}
                 ).to_parquet(d / "rated.parquet")
    pd.DataFrame({"sub": [0, 1, 2, 3], "account_type": ["prepaid", "postpaid", "prepaid",
                                                        "enterprise"]}
                 ).to_parquet(d / "subscriptions.parquet")


def _against_reference(invoices: pd.DataFrame, rated: pd.DataFrame) -> dict[str, int]:
    """The compiled pass's dispositions equal the joins', count for count."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _books(invoices, rated, d)
        con = duckdb.connect()
        for name in ("invoices", "rated"):
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM '{d / name}.parquet'")
        bad, own, balance, rerated = con.execute(REFERENCE).fetchall()[0]
        late, carried, carried_rated, carried_minor = con.execute(REFERENCE_LATE).fetchall()[0]
        identity, counts = _dispositions(con, d)
        con.close()
    assert counts == {"records_billed": own + carried_rated,
                      "records_billed_late": carried_rated, "records_charged_online": balance,
                      "billed_late_minor": carried_minor, "rerated_rows": rerated}
    not_prepaid = int(((rated["channel"] == "balance") & ~rated["sub"].isin(PREPAID)).sum())
    broken = bad + late - carried
    assert identity.holds is (broken + not_prepaid == 0)
    if not identity.holds:
        assert f"({broken})" in identity.detail and f"({not_prepaid})" in identity.detail
    return {**counts, "broken": broken, "not_prepaid": not_prepaid}


def _invoices(accounts: int, cycles: int, scale: int, run_after: list[float],
              dropped: set[tuple[int, int]]) -> pd.DataFrame:
    """One invoice per account and cycle (but ``dropped``) of 100 s each, run
    ``run_after[i]`` seconds after the i-th one's end; account ids ``scale`` apart."""
    keys = [(a, c) for a in range(accounts) for c in range(cycles) if (a, c) not in dropped]
    return pd.DataFrame(
        [(i + 1, a * scale, c, 100.0 * c, 100.0 * (c + 1),
          100.0 * (c + 1) + run_after[i % len(run_after)]) for i, (a, c) in enumerate(keys)],
        columns=["invoice_id", "account", "bill_cycle", "billed_from", "billed_to", "bill_run"])


STARTS = [-100.0, -50.0, -1.0, 0.0, 50.0, 99.0, 100.0, 150.0]  # from the posted cycle's start
RATED_AT = [-50.0, 0.0, 5.0, 10.0, 20.0, 30.0]  # from the posted cycle's end


def _rows(rows: list[tuple[int, int, float, float, str, str, int]],
          scale: int) -> pd.DataFrame:
    return pd.DataFrame(
        [(s, a * scale, c, 100.0 * c + start, 100.0 * (c + 1) + at, ch, state, 1)
         for a, c, start, at, ch, state, s in rows],
        columns=["sub", "account", "bill_cycle", "start", "rated_at", "channel", "state",
                 "charge_minor"])


@pytest.mark.parametrize("scale", [1, 10**12], ids=["table", "by rank"])
def test_dispositions_count_as_the_joins_on_every_edge(scale: int) -> None:
    """Every row a grid can post: to an account with or without bills, in each cycle or
    none, starting before, on and after its bill's edges, rated before, at and after the
    bill run, by each channel, in each state."""
    invoices = _invoices(2, 3, scale, [0.0, 5.0, 20.0], {(1, 2)})
    grid = list(itertools.product(range(3), range(-1, 4), STARTS, RATED_AT,
                                  ["invoice", "balance", "other"], ["rated", "rerated", "held"],
                                  [1]))
    grid += [(0, -1, 0.0, 0.0, "balance", "rated", s) for s in range(4)]  # balances of each
    # rows of cycles past any bill, early in the run (a bill of another account or cycle
    # would take them)
    past = _rows([(a, 3, 0.0, 0.0, "invoice", "rated", 1) for a in range(3)], scale)
    past[["start", "rated_at"]] = [10.0, 10.0]
    seen = _against_reference(invoices, pd.concat([_rows(grid, scale), past],
                                                  ignore_index=True))
    # the grid reaches every disposition
    assert all(seen[k] > 0 for k in ("records_billed", "records_billed_late",
                                     "records_charged_online", "rerated_rows", "broken",
                                     "not_prepaid"))
    assert _Bills(pa.Table.from_pandas(invoices)).dense is (scale == 1)


@st.composite
def random_books(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bills of a few accounts and cycles (one perhaps missing), run at various times;
    rated rows posted anywhere near their edges, by either channel, in any state."""
    scale = draw(st.sampled_from([1, 7, 10**12]))
    accounts, cycles = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    keys = [(a, c) for a in range(accounts) for c in range(cycles)]
    invoices = _invoices(accounts, cycles, scale,
                         draw(st.lists(st.sampled_from([0.0, 5.0, 20.0]), min_size=1)),
                         draw(st.sets(st.sampled_from(keys), max_size=1)))
    rows = draw(st.lists(st.tuples(
        st.integers(0, accounts), st.integers(-1, cycles), st.sampled_from(STARTS),
        st.sampled_from(RATED_AT), st.sampled_from(["invoice", "invoice", "balance", "other"]),
        st.sampled_from(["rated", "rated", "rerated", "held"]), st.integers(0, 3)),
        min_size=1, max_size=30))
    return invoices, _rows(rows, scale)


@settings(CI, max_examples=100)
@given(random_books())
def test_dispositions_count_as_the_joins(books_: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _against_reference(*books_)


def test_rows_missing_a_value_or_on_two_bills_are_not_disposed_of(tmp_path: Path) -> None:
    """A rated row without its account, start or rating time is on no bill; nor is one
    posted to an account and cycle with two different invoices. The same invoice written
    twice is one bill (``invoice_ids_unique`` reports the second row)."""
    invoices = _invoices(2, 1, 1, [10.0], set())
    rated = _rows([(0, 0, 50.0, 0.0, "invoice", "rated", 1)] * 4
                  + [(1, 0, 50.0, 0.0, "invoice", "rerated", 1)], 1)
    rated["account"] = rated["account"].astype("Int64")
    rated.loc[0, "account"] = pd.NA
    rated["start"] = rated["start"].astype("Float64")
    rated.loc[1, "start"] = pd.NA
    rated["rated_at"] = rated["rated_at"].astype("Float64")
    rated.loc[4, "rated_at"] = pd.NA
    for name, df in (("invoices", invoices), ("rated", rated),
                     ("subscriptions", pd.DataFrame({"sub": [1], "account_type": ["postpaid"]}))):
        df.to_parquet(tmp_path / f"{name}.parquet")
    con = duckdb.connect()
    con.execute(f"CREATE VIEW invoices AS SELECT * FROM '{tmp_path / 'invoices.parquet'}'")
    identity, counts = _dispositions(con, tmp_path)
    assert counts["records_billed"] == 2 and counts["rerated_rows"] == 1
    assert not identity.holds and "(3)" in identity.detail
    # account 0's bill twice, the second with another id: its rows are on no one bill
    for twice, billed in ((invoices.iloc[[0, 0]], 4), (invoices.iloc[[0, 0]].assign(
            invoice_id=[1, 9]), 0)):
        pd.concat([invoices, twice]).to_parquet(tmp_path / "invoices.parquet")
        rated.loc[[0, 1, 4], ["account", "start", "rated_at"]] = [0, 50.0, 0.0]
        rated.to_parquet(tmp_path / "rated.parquet")
        identity, counts = _dispositions(con, tmp_path)
        assert counts["records_billed"] == billed, twice
    con.close()


def test_a_row_without_its_channel_or_state_is_on_no_bill(tmp_path: Path) -> None:
    """A null channel is neither invoice nor balance; a null state is not rated."""
    invoices = _invoices(1, 1, 1, [10.0], set())
    rated = _rows([(0, 0, 50.0, 0.0, "invoice", "rated", 1)] * 3, 1)
    rated.loc[0, "channel"] = None
    rated.loc[1, "state"] = None
    _books(invoices, rated, tmp_path)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW invoices AS SELECT * FROM '{tmp_path / 'invoices.parquet'}'")
    identity, counts = _dispositions(con, tmp_path)
    con.close()
    assert counts["records_billed"] == 1 and "(1)" in identity.detail


def test_an_invoice_missing_a_value_is_no_second_bill(tmp_path: Path) -> None:
    """An invoice row without its bill run is on no bill (a join matches no null): the rows
    of its account and cycle stay on the one complete invoice there, not on two."""
    invoices = _invoices(1, 1, 1, [10.0], set())
    _books(invoices, _rows([(0, 0, 50.0, 0.0, "invoice", "rated", 1)] * 2, 1), tmp_path)
    broken = pd.concat([invoices, invoices.assign(invoice_id=9)], ignore_index=True)
    broken["bill_run"] = broken["bill_run"].astype("Float64")
    broken.loc[1, "bill_run"] = pd.NA
    broken.to_parquet(tmp_path / "invoices.parquet")
    con = duckdb.connect()
    con.execute(f"CREATE VIEW invoices AS SELECT * FROM '{tmp_path / 'invoices.parquet'}'")
    identity, counts = _dispositions(con, tmp_path)
    con.close()
    assert counts["records_billed"] == 2 and identity.holds
