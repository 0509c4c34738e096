"""The revenue waterfall adds up: recurring + usage + one-time − discounts + tax − credits
= invoiced, with lost and leaked beside it and never in the sum."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from twin.report.units import Money
from twin.report.waterfall import draw_waterfall, revenue_waterfall


def summary(**bss: int) -> dict[str, Any]:
    parts = {"recurring_minor": 1_645_000, "usage_minor": 1_953_702, "one_time_minor": 0,
             "discounts_minor": 51_000, "tax_minor": 672_335, "sla_credits_minor": 9_170}
    parts.update(bss)
    billed = (parts["recurring_minor"] + parts["usage_minor"] + parts["one_time_minor"]
              - parts["discounts_minor"] + parts["tax_minor"] - parts["sla_credits_minor"])
    return {"bss": {"currency": "EUR", "minor_per_major": 100, "billed_minor": billed, **parts},
            "reconciliation": {"lost_minor": 11_514, "lost_outage_minor": 11_000,
                               "lost_blocking_minor": 514, "lost_denied_minor": 0,
                               "leaked_minor": 300, "leaked_collector_minor": 300}}


def test_the_quickstart_figures_add_up_to_the_invoices() -> None:
    w = revenue_waterfall(summary())
    assert [b.label for b in w.bars] == ["recurring fees", "usage", "one-time fees",
                                         "discounts", "tax (VAT)", "SLA credits", "invoiced"]
    assert [b.minor for b in w.bars] == [1_645_000, 1_953_702, 0, -51_000, 672_335, -9_170,
                                         4_210_867]
    assert sum(b.minor for b in w.bars[:-1]) == w.bars[-1].minor == w.invoiced_minor
    assert w.unexplained_minor == 0
    assert {b.kind for b in w.beside} == {"lost", "leaked"}
    assert sum(b.minor for b in w.beside if b.kind == "lost") == 11_514
    assert sum(b.minor for b in w.beside if b.kind == "leaked") == 300


def test_a_gap_is_shown_not_hidden() -> None:
    s = summary()
    s["bss"]["billed_minor"] += 123
    w = revenue_waterfall(s)
    assert w.unexplained_minor == 123
    assert sum(b.minor for b in w.bars if b.kind != "total") == w.invoiced_minor


def test_an_unnamed_cause_of_loss_still_shows() -> None:
    s = summary()
    s["reconciliation"]["lost_minor"] += 50
    w = revenue_waterfall(s)
    assert [b.minor for b in w.beside if b.label == "lost: other"] == [50]


@given(st.lists(st.integers(0, 10**9), min_size=6, max_size=6))
def test_any_parts_add_up(parts: list[int]) -> None:
    keys = ("recurring_minor", "usage_minor", "one_time_minor", "discounts_minor",
            "tax_minor", "sla_credits_minor")
    w = revenue_waterfall(summary(**dict(zip(keys, parts, strict=True))))
    assert w.unexplained_minor == 0
    assert sum(b.minor for b in w.bars[:-1]) == w.invoiced_minor


def test_drawn_with_every_bar(tmp_path: Path) -> None:
    w = revenue_waterfall(summary())
    fig = draw_waterfall(w, Money("EUR", 100), tmp_path / "revenue.png")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "= invoiced" in labels and "lost: outages and drops" in labels
    assert "leaked: collector loss" in labels
    assert (tmp_path / "revenue.png").stat().st_size > 5000
