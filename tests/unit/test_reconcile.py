"""The revenue-assurance reconciliation on books made by hand: every figure it returns and
every row of the funnel it writes come from their own source, each identity fails alone
when its source is put one unit off, and a funnel whose subtotals do not add up is refused.

The books: four rated rows (one charged to a prepaid balance, one a re-rating adjustment),
two invoices with a usage and a recurring line, the cdrs log, and the truth's figures, all
different so that a figure taken from the wrong source shows. The per-row ledger checks
have tests of their own (tests/unit/test_ledger.py); here they are replaced by one
identity that holds."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import twin.analysis.reconcile as rec
from twin.analysis.ledger import Identity
from twin.analysis.reconcile import ReconciliationError, reconcile

LEAKS = {"collector": 11, "rejected": 12, "suspense": 13, "late": 14, "fail_open": 15,
         "terminated": 16}
INVOICES = {  # two invoices: recurring 1000, one-time 100, discount 40, usage 650, SLA 30
    "recurring_minor": [600, 400], "one_time_minor": [100, 0], "discount_minor": [40, 0],
    "usage_minor": [450, 200], "sla_credit_minor": [0, 30], "net_minor": [1110, 570],
    "tax_minor": [222, 114], "total_minor": [1332, 684]}
COUNTS = {"records_billed": 2, "records_billed_late": 1, "records_charged_online": 1,
          "billed_late_minor": 200}


def truth() -> dict[str, int]:
    """The truth's figures: potential 1263, lost 200, carried 1063, leaked 81, rating order
    7, tariff error 25 (rerated catalog 975 against 950 rated)."""
    out = {"potential_usage_minor": 1263, "offered_records": 40,
           "lost_outage_minor": 100, "lost_outage_records": 5, "lost_dropped_minor": 20,
           "lost_denied_minor": 30, "lost_denied_records": 6, "lost_blocking_minor": 50,
           "lost_blocking_records": 7, "carried_usage_minor": 1063, "carried_records": 22,
           "collected_records": 21, "accepted_records": 19, "subscribed_records": 3,
           "rating_order_minor": 7, "rerated_catalog_minor": 975, "rerated_rows_differing": 1,
           "rerate_adjustments_minor": -50}
    for i, (k, v) in enumerate(LEAKS.items()):
        out[f"leaked_{k}_minor"] = v
        out[f"leaked_{k}_records"] = 30 + i
    return out


def bss(**kw: Any) -> SimpleNamespace:
    base = dict(rated_minor=950, misrated_records=1,
                ocs=SimpleNamespace(counts={"debited_minor": 300}),
                billing=SimpleNamespace(totals={"recurring_potential_minor": 1200}),
                spec=SimpleNamespace(catalog=SimpleNamespace(vat_pct=20.0)),
                prices=SimpleNamespace(offers=["basic"], one_time=np.array([100])),
                mediation=SimpleNamespace(received=2))
    return SimpleNamespace(**{**base, **kw})


@pytest.fixture
def ledger_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, float, dict[str, int]]]:
    """The ledger's checks replaced by one that holds; what it was called with."""
    seen: list[tuple[Path, float, dict[str, int]]] = []

    def ledger(tables: Path, vat_pct: float,
               one_time_fee: dict[str, int]) -> tuple[list[Identity], dict[str, int]]:
        seen.append((tables, vat_pct, one_time_fee))
        return [Identity("ledger_row", True, "")], dict(COUNTS)

    monkeypatch.setattr(rec, "ledger", ledger)
    return seen


@pytest.fixture
def books(tmp_path: Path, ledger_calls: list[Any]) -> Path:
    pq.write_table(pa.table({
        "charge_minor": pa.array([500, 300, 200, -50], pa.int64()),
        "state": ["rated", "rated", "rated", "rerated"],
        "channel": ["invoice", "balance", "invoice", "invoice"]}), tmp_path / "rated.parquet")
    pq.write_table(pa.table({
        "amount_minor": pa.array([450, 200, 600, 400], pa.int64()),
        "line_type": ["usage_voice", "usage_data", "recurring", "recurring"]}),
        tmp_path / "invoice_lines.parquet")
    pq.write_table(pa.table({  # two first receipts; an assembled session, a later decision
        "parts": pa.array([0, 0, 2, 0], pa.int64()),
        "received": [1.0, 2.0, 3.0, 4.0], "processed": [1.0, 2.0, 3.0, 9.0]}),
        tmp_path / "cdrs.parquet")
    pq.write_table(pa.table({k: pa.array(v, pa.int64()) for k, v in INVOICES.items()}),
                   tmp_path / "invoices.parquet")
    return tmp_path


def test_every_figure_comes_from_its_own_source(books: Path,
                                                ledger_calls: list[Any]) -> None:
    out = reconcile(books, bss(), truth())
    assert out == {
        "potential_usage_minor": 1263, "rated_minor": 950, "invoiced_usage_minor": 650,
        "lost_minor": 200, "unbilled_minor": 1063 - 950,
        "records_offered": 40, "records_carried": 22, "records_collected": 21,
        "records_accepted": 19, "records_rated": 3,
        "records_billed": 2, "records_billed_late": 1, "records_charged_online": 1,
        "billed_late_minor": 200,
        "potential_revenue_minor": 1263 + 1000 + 200 + 100,
        "lost_outage_minor": 120, "lost_denied_minor": 30, "lost_blocking_minor": 50,
        "carried_usage_minor": 1063,
        **{f"leaked_{k}_minor": v for k, v in LEAKS.items()}, "leaked_minor": 81,
        "charged_online_minor": 300, "rating_order_minor": 7, "tariff_error_minor": 25,
        "rerate_adjustments_minor": -50, "lost_churn_minor": 200, "credited_minor": 30,
        "discounts_minor": 40, "billed_net_minor": 1680,
        "identities_checked": 7, "identity_holds": True,
    }
    assert ledger_calls == [(books, 20.0, {"basic": 100})]


def test_books_read_beforehand_are_the_ones_used(books: Path,
                                                 ledger_calls: list[Any]) -> None:
    """A run reads the books on another thread and hands them over: reconcile takes them
    as given (the tables are not read again), so books that disagree with the truth fail."""
    read = rec.read_books(books, bss())
    assert reconcile(books, bss(), truth(), books=read) == reconcile(books, bss(), truth())
    assert len(ledger_calls) == 2  # read_books, then the call that read them itself
    other = rec.Books(**{**read.__dict__, "rated_records": read.rated_records + 1})
    out = reconcile(books, bss(), truth(), books=other, strict=False)
    assert out["identities_failed"] == ["truth_rated_is_bss_rated"]
    assert out["records_rated"] == read.rated_records + 1


def test_the_funnel_table(books: Path) -> None:
    reconcile(books, bss(), truth())
    rows = pq.read_table(books / "revenue_assurance.parquet")
    assert rows.schema == rec.RA_SCHEMA
    assert [tuple(r.values()) for r in rows.to_pylist()] == [
        (1, "potential usage", "subtotal", 40, 1263, 1263),
        (2, "lost: cell out of service", "loss", 5, -100, 1163),
        (3, "lost: dropped calls and sessions", "loss", 0, -20, 1143),
        (4, "lost: denied by online charging", "loss", 6, -30, 1113),
        (5, "lost: blocking", "loss", 7, -50, 1063),
        (6, "carried by the network", "subtotal", 22, 1063, 1063),
        (7, "leaked: collector loss", "leak", 30, -11, 1052),
        (8, "leaked: rejected by mediation", "leak", 31, -12, 1040),
        (9, "leaked: unguided suspense", "leak", 32, -13, 1027),
        (10, "leaked: late write-off", "leak", 33, -14, 1013),
        (11, "leaked: fail-open charging", "leak", 34, -15, 998),
        (12, "leaked: usage after termination", "leak", 35, -16, 982),
        (13, "rating order (allowances in arrival order)", "adjustment", 0, -7, 975),
        (14, "tariff error not corrected", "adjustment", 0, -25, 950),
        (15, "rated usage", "subtotal", 3, 950, 950),
        (16, "charged to prepaid balances", "online", 0, -300, 650),
        (17, "invoiced usage", "subtotal", 0, 650, 650),
        (18, "recurring fees (no churn)", "charge", 0, 1200, 1850),
        (19, "lost: churn (recurring fees)", "loss", 0, -200, 1650),
        (20, "one-time fees", "charge", 0, 100, 1750),
        (21, "discounts", "credit", 0, -40, 1710),
        (22, "SLA credits", "credit", 0, -30, 1680),
        (23, "billed, net of tax", "subtotal", 0, 1680, 1680),
        (24, "tax", "charge", 0, 336, 2016),
        (25, "invoiced total", "subtotal", 0, 2016, 2016),
    ]


def one_off(**kw: int) -> dict[str, int]:
    return {**truth(), **kw}


RECEIPTS = ("the cdrs table logs 2 first receipts (rows that are not an assembled session or a "
            "later decision)")
BREAKS: list[tuple[str, dict[str, Any], dict[str, int], str]] = [
    ("rated_is_invoiced_plus_online", {"rated_minor": 951}, truth(),
     "rated usage 950 != invoiced usage 650 + charged online 300 (BSS counters: rated 951, "
     "debited 300)"),
    ("rated_is_invoiced_plus_online",
     {"ocs": SimpleNamespace(counts={"debited_minor": 301})}, truth(),
     "rated usage 950 != invoiced usage 650 + charged online 300 (BSS counters: rated 950, "
     "debited 301)"),
    ("rerating_reproduces_charges", {}, one_off(rerated_rows_differing=2),
     "re-rating the rated table gives other charges on 2 rows (1 were rated with a "
     "misconfigured tariff)"),
    ("received_records_logged_once", {"mediation": SimpleNamespace(received=3)}, truth(),
     f"mediation received 3 records, {RECEIPTS}"),
    ("truth_rated_is_bss_rated", {}, one_off(subscribed_records=4),
     "the truth says 4 records were rated, the BSS rated 3"),
    ("carried_is_rated_plus_leaked", {}, one_off(carried_usage_minor=1064),
     "carried usage does not split into rated + leaked"),
    ("funnel_gives_billed_net", {}, one_off(potential_usage_minor=1264),
     "the funnel gives 1681 billed net of tax, the invoices 1680 (+ tax 336 = 2016, "
     "total 2016)"),
    ("funnel_gives_billed_net", {}, one_off(lost_dropped_minor=21),
     "the funnel gives 1679 billed net of tax, the invoices 1680 (+ tax 336 = 2016, "
     "total 2016)"),
]  # (churn cannot break it: it is in the potential revenue and lost again)


@pytest.mark.parametrize(("name", "books_kw", "figures", "found"), BREAKS,
                         ids=[f"{b[0]}-{i}" for i, b in enumerate(BREAKS)])
def test_each_identity_fails_alone(books: Path, name: str, books_kw: dict[str, Any],
                                   figures: dict[str, int], found: str) -> None:
    audit = reconcile(books, bss(**books_kw), figures, strict=False)
    assert (audit["identity_holds"], audit["identities_failed"]) == (False, [name])
    assert not (books / "revenue_assurance.parquet").exists()  # books that fail: no funnel
    with pytest.raises(ReconciliationError) as e:
        reconcile(books, bss(**books_kw), figures)
    assert str(e.value) == f"{name}: {found}"


def test_a_failed_identity_is_reported_with_what_was_found(books: Path) -> None:
    with pytest.raises(ReconciliationError) as e:
        reconcile(books, bss(rated_minor=951, mediation=SimpleNamespace(received=5)), truth())
    assert str(e.value) == (
        "rated_is_invoiced_plus_online: rated usage 950 != invoiced usage 650 + charged "
        "online 300 (BSS counters: rated 951, debited 300); "
        f"received_records_logged_once: mediation received 5 records, {RECEIPTS}")


def test_invoices_whose_total_is_not_net_plus_tax_fail(books: Path) -> None:
    inv = dict(INVOICES, total_minor=[1332, 685])
    pq.write_table(pa.table({k: pa.array(v, pa.int64()) for k, v in inv.items()}),
                   books / "invoices.parquet")
    audit = reconcile(books, bss(), truth(), strict=False)
    assert audit["identities_failed"] == ["funnel_gives_billed_net"]


def test_a_failing_ledger_row_fails_the_run(books: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rec, "ledger", lambda *a: (
        [Identity("invoice_is_its_lines", False, "1 invoice")], dict(COUNTS)))
    with pytest.raises(ReconciliationError, match=r"^invoice_is_its_lines: 1 invoice$"):
        reconcile(books, bss(), truth())


def test_tariff_error_within_the_misrated_records_holds(books: Path) -> None:
    """Re-rating may differ on as many rows as were rated with the misconfigured tariff."""
    out = reconcile(books, bss(misrated_records=2), one_off(rerated_rows_differing=2))
    assert out["identity_holds"] is True


def test_an_empty_run_reconciles_to_zero(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """No rows at all (sums are NULL in SQL): every figure is zero and the funnel holds."""
    monkeypatch.setattr(rec, "ledger", lambda *a: ([], dict.fromkeys(COUNTS, 0)))
    pq.write_table(pa.table({"charge_minor": pa.array([], pa.int64()),
                             "state": pa.array([], pa.string()),
                             "channel": pa.array([], pa.string())}), tmp_path / "rated.parquet")
    pq.write_table(pa.table({"amount_minor": pa.array([], pa.int64()),
                             "line_type": pa.array([], pa.string())}),
                   tmp_path / "invoice_lines.parquet")
    pq.write_table(pa.table({"parts": pa.array([], pa.int64()),
                             "received": pa.array([], pa.float64()),
                             "processed": pa.array([], pa.float64())}), tmp_path / "cdrs.parquet")
    pq.write_table(pa.table({k: pa.array([], pa.int64()) for k in INVOICES}),
                   tmp_path / "invoices.parquet")
    zero = dict.fromkeys(truth(), 0)
    out = reconcile(tmp_path, bss(rated_minor=0, misrated_records=0,
                                  ocs=SimpleNamespace(counts={"debited_minor": 0}),
                                  billing=SimpleNamespace(
                                      totals={"recurring_potential_minor": 0}),
                                  mediation=SimpleNamespace(received=0)), zero)
    assert out["identity_holds"] is True and out["identities_checked"] == 6
    assert out["billed_net_minor"] == out["rated_minor"] == 0
    amounts = pq.read_table(tmp_path / "revenue_assurance.parquet")["running_minor"]
    assert amounts.to_pylist() == [0] * 25


def test_a_subtotal_the_lines_above_do_not_give_is_refused(tmp_path: Path) -> None:
    lost = truth()
    inv = {k.removesuffix("_minor"): sum(v) for k, v in INVOICES.items()}
    with pytest.raises(ReconciliationError,
                       match=r"^revenue assurance: 'carried by the network' is 1064, the "
                             r"funnel above gives 1063$"):
        rec._write_table(tmp_path, {**lost, "carried_usage_minor": 1064}, inv, LEAKS, 25, 950,
                         3, 300, 200)
    assert not (tmp_path / "revenue_assurance.parquet").exists()


# --- SLA credits as paid against what the true outages would have earned -------------------


def test_sla_truth_prices_the_true_outages_per_line_and_cycle(tmp_path: Path) -> None:
    """Two cycle groups (the first's cycle began before the run and is followed by padding,
    the second's second cycle ends at the horizon), five lines with the same SLA (target
    90 %, 1 % credit over 50 s, 25 % over 300 s, capped at 20 %, 50 s of announced
    maintenance excluded), one line activated at the end of its first cycle, one on a cell
    with no outage. Worked by hand:

    =====  =========  ====  ========  ========  ======  ======
    group  cycle      line  true s    meas s    credit  breach
    =====  =========  ====  ========  ========  ======  ======
    0      0–500      1     399.5     350.0004  400     both
    1      0–1000     0     449.5     400.0004  200     both
    1      0–1000     2, 4  0         0         0       -
    1      1000–1800  0, 3  100       100       11, 41  both    (87.5 %: 1 %)
    1      1000–1800  2     299.7496  0         31      true
    =====  =========  ====  ========  ========  ======  ======
    """
    from twin.scenario.schema.bss import SlaSpec

    spec = SlaSpec.model_validate({
        "availability_target": 90, "cap_pct": 20, "maintenance_allowance": 50,
        "credit_table": [{"over": 50, "credit_pct": 1}, {"over": 300, "credit_pct": 25}]})
    pq.write_table(pa.table({"cell": ["c1", "c1", "c2"], "start": [0.5, 900.0, 1200.2504],
                             "end": [400.0, 1100.0, 1500.0]}), tmp_path / "cell_outages.parquet")
    base = {0: np.array([1000, 2000, 3000, 4000, 5000]),
            1: np.array([1100, 2100, 3100, 4100, 5100])}
    sla = SimpleNamespace(subs_on={"c1": [0, 1, 3], "c2": [2], "c3": [4]},
                          planned={"c1": [(900.0, 1000.0)]}, slas=[spec],
                          outages={"c1": [(100.0, 450.0004), (900.0, 1100.0)]})
    billing = SimpleNamespace(sla=sla, days=[15, 1], n_cycles=2,
                              B=np.array([[-500.0, 500.0, 500.0], [0.0, 1000.0, 2000.0]]),
                              group=np.array([1, 0, 1, 1, 1]), recurring_base=base.__getitem__)
    bss = SimpleNamespace(billing=billing, sim=SimpleNamespace(horizon=1800.0),
                          lines=SimpleNamespace(active_from=np.array([0.0, 0, 0, 1000, 0])),
                          subs=SimpleNamespace(offer=np.zeros(5, dtype=np.int64)))
    assert rec.sla_truth(tmp_path, bss) == {
        "sla_outage_measured_s": 950.001, "sla_outage_true_s": 1348.75,
        "sla_credits_true_minor": 683, "sla_lines_true_breach": 5,
        "sla_lines_measured_breach": 4}
