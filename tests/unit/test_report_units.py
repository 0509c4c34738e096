"""The report shows summary values in their units: EUR, h:mm, %; grouped by layer."""

from __future__ import annotations

import re

import pytest

from twin.report.units import (
    GROUPS,
    Money,
    after,
    grouped,
    hmm,
    kind_of,
    kpi_panel,
    percent,
    show,
)
from twin.store.run import flatten

EUR = Money("EUR", 100)


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0:00:00"), (45, "0:00:45"), (250.4, "0:04:10"), (3599.4, "0:59:59"),
    (3599.6, "1:00"), (3600, "1:00"), (6204.1, "1:43"), (97_500, "27:05"),
    (-90, "−0:01:30"), (None, "—"), (float("nan"), "—"),
])
def test_durations_read_as_h_mm(seconds: float | None, text: str) -> None:
    assert hmm(seconds) == text


def test_time_after_an_event() -> None:
    assert after(63) == "+0:01:03"
    assert after(3 * 3600 + 9 * 60 + 45) == "+3:09:45"
    assert after(5 * 86_400 + 14 * 3600) == "+5d 14:00:00"


@pytest.mark.parametrize(("fraction", "text"), [
    (0.994962, "99.50 %"), (1.0, "100.00 %"), (0.0, "0 %"), (0.0365, "3.65 %"),
    (2e-05, "0.0020 %"), (0.0003, "0.030 %"), (None, "—"),
])
def test_ratios_read_as_percent(fraction: float | None, text: str) -> None:
    assert percent(fraction) == text


def test_money_in_major_units() -> None:
    assert EUR(4_210_867) == "42,108.67 EUR"
    assert EUR(-9170) == "-91.70 EUR"
    assert Money("JPY", 1)(1500) == "1,500.00 JPY"
    assert Money.of({"bss": {"currency": "GBP", "minor_per_major": 100}}).currency == "GBP"


@pytest.mark.parametrize(("key", "value", "text"), [
    ("bss.billed_minor", 4_210_867, "42,108.67 EUR"),
    ("oss.mttr_s", 6204.103, "1:43"),
    ("oss.mttd_s", 63.789, "0:01:04"),
    ("oss.rca_accuracy", 1.0, "100.00 %"),
    ("oss.kpi_availability", 0.994962, "99.50 %"),
    ("traffic.blocking_ratio", 0.0365, "3.65 %"),
    ("oss.compression_ratio", 6.333, "6.3 : 1"),
    ("traffic.calls_offered", 100_366, "100,366"),
    ("traffic.data_mb", 5_313_378.741, "5,313,378.7 MB"),
    ("oss.kpi_throughput_mbps", 70.27, "70.3 Mbit/s"),
    ("bss.allowance_voice_min", 133_151.0, "133,151 min"),
    ("sim_days", 7.0, "7 days"),
    ("bss.ocs_enabled", False, "no"),
    ("reconciliation.identity_holds", True, "yes"),
    ("oss.ticket_part_wait_s", None, "—"),
    ("bss.mediation_mode", "batch", "batch"),
])
def test_each_value_in_its_unit(key: str, value: object, text: str) -> None:
    assert show(key, value, EUR) == text


def test_unit_rules_go_by_suffix_so_new_keys_are_covered() -> None:
    assert kind_of("bss.some_new_thing_minor") == "money"
    assert kind_of("oss.new_wait_s") == "duration"
    assert kind_of("oss.new_precision") == "ratio"
    assert kind_of("oss.tickets") == "plain"


SUMMARY = {
    "scenario": "t", "seed": 1, "sim_days": 2.0,
    "network": {"cells": 3},
    "traffic": {"calls_offered": 10, "blocking_ratio": 0.1},
    "faults": {"injected": 1},
    "oss": {"mttd_s": 61.0, "mttr_s": 7200.0, "rca_accuracy": 0.5,
            "compression_ratio": 3.0},
    "bss": {"currency": "EUR", "minor_per_major": 100, "billed_minor": 12345,
            "sla_credits_minor": 100},
    "reconciliation": {"lost_minor": 5, "leaked_minor": 0, "identity_holds": True},
    "extra": {"thing_s": 30.0},
}


def test_summary_grouped_by_layer_in_order_every_key_once() -> None:
    groups = grouped(SUMMARY)
    assert [g.name for g in groups] == ["", "network", "traffic", "faults", "oss", "bss",
                                        "reconciliation", "extra"]
    assert [g.title for g in groups][:2] == [GROUPS[""], GROUPS["network"]]
    keys = [r.key for g in groups for r in g.rows]
    assert keys == list(flatten(SUMMARY))  # every key, once, in the summary's order
    rows = {r.key: r for g in groups for r in g.rows}
    assert rows["oss.mttr_s"].label == "mttr_s" and rows["oss.mttr_s"].value == "2:00"
    assert rows["bss.billed_minor"].value == "123.45 EUR"
    assert rows["extra.thing_s"].value == "0:00:30"


def test_no_grouped_value_is_left_in_minor_units_or_seconds() -> None:
    for g in grouped(SUMMARY):
        for r in g.rows:
            if r.key.endswith("_minor"):
                assert r.value.endswith(" EUR"), r
            if r.key.endswith("_s"):
                assert re.fullmatch(r"−?\d+:\d\d(:\d\d)?", r.value), r


def test_kpi_panel_shows_what_the_run_has() -> None:
    kpis = kpi_panel(SUMMARY)
    by = {k.key: k for k in kpis}
    assert by["oss.mttd_s"].value == "0:01:01"
    assert by["bss.billed_minor"].value == "123.45 EUR"
    assert by["oss.rca_accuracy"].value == "50.00 %"
    assert "oss.kpi_availability" not in by  # not in this summary: no card
    assert all(k.label and k.note for k in kpis)
