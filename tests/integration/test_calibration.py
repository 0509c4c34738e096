"""Calibration: the quickstart and a short metro run land every default KPI inside its
published range (docs/calibration.yaml), and docs/domain.md's table is that file.

``TWIN_CALIBRATION_WRITE=1`` rewrites the recorded values and the doc table from the runs
instead of checking them (after a change that moves the twin's defaults on purpose)."""

from __future__ import annotations

import copy
import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import twin
from twin.analysis import calibration

from .support import REPO

DATA = REPO / "docs" / "calibration.yaml"
DOMAIN = REPO / "docs" / "domain.md"
BEGIN, END = "<!-- calibration table: begin -->\n", "<!-- calibration table: end -->\n"
WRITE = os.environ.get("TWIN_CALIBRATION_WRITE") == "1"

pytestmark = pytest.mark.xdist_group("calibration")


def _scenario(spec: Any) -> Any:
    if isinstance(spec, str):
        return REPO / spec
    sc = copy.deepcopy(spec)
    catalog = sc.get("bss", {}).get("catalog")
    if isinstance(catalog, str):
        sc["bss"]["catalog"] = str(REPO / catalog)
    return sc


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, float]]:
    data = calibration.load(DATA)
    out = {}
    for name, run in data["runs"].items():
        r = twin.simulate(_scenario(run["scenario"]), out=tmp_path_factory.mktemp(name) / "run",
                          report=False, overrides=tuple(run.get("overrides", ())))
        out[name] = calibration.measure(r)
    return out


def _rewrite(measured: dict[str, dict[str, float]]) -> None:
    text = DATA.read_text(encoding="utf-8")
    header = text[:text.index("runs:")]
    data = yaml.safe_load(text)
    for row in data["kpis"]:
        row["values"] = {r: float(f"{m[row['kpi']]:.4g}") if calibration.measured(m[row["kpi"]])
                         else None for r, m in measured.items()}
        if row["kpi"] in calibration.RATES:
            row["events"] = {r: int(m[f"{row['kpi']}_events"]) for r, m in measured.items()}
    data["leak_values"] = {r: {c: float(f"{m[f'leak_{c}']:.4g}") for c in data["leak_causes"]}
                           for r, m in measured.items()}
    DATA.write_text(header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True,
                                            width=96), encoding="utf-8")


def test_every_kpi_is_inside_its_published_range(measured: dict[str, dict[str, float]]) -> None:
    if WRITE:
        _rewrite(measured)
    data = calibration.load(DATA)
    outside = []
    for row in data["kpis"]:
        for run, m in measured.items():
            value = m[row["kpi"]]
            recorded = row.get("values", {}).get(run)
            if not calibration.measured(value) and recorded is None:
                continue  # the run has nothing of the kind (e.g. no fault of the type): "—"
            if not calibration.in_range(value, row["range"], m.get(f"{row['kpi']}_events"),
                                        m.get(f"{row['kpi']}_exposure")):
                outside.append(f"{row['kpi']} in {run}: {value:.4g} not in {row['range']}")
            assert recorded is not None and math.isclose(value, recorded, rel_tol=1e-3,
                                                         abs_tol=1e-9), (
                f"{row['kpi']} in {run}: measured {value:.4g}, the file records {recorded}")
    assert not outside, "KPIs outside their published range:\n" + "\n".join(outside)


def test_leakage_has_causes_the_funnel_names(measured: dict[str, dict[str, float]]) -> None:
    for run, m in measured.items():
        causes = sum(m[f"leak_{c}"] for c in calibration.LEAK_CAUSES)
        assert causes == pytest.approx(m["usage_revenue_leakage"], abs=1e-12), run
        assert m["leak_rejected"] > 0, run  # records written wrong or unguidable
        assert m["leak_collector"] > 0, run  # CDR files cut in transfer
    # a run holding a bill run has December usage that reached billing too late to bill
    assert measured["quickstart_month"]["leak_late"] > 0
    recorded = calibration.load(DATA)["leak_values"]
    for run, m in measured.items():
        for cause, value in recorded[run].items():
            assert math.isclose(m[f"leak_{cause}"], value, rel_tol=1e-3, abs_tol=1e-9), (
                f"leak {cause} in {run}: measured {m[f'leak_{cause}']:.4g}, the file records "
                f"{value}")


def test_noise_alarms_clear_without_a_ticket(measured: dict[str, dict[str, float]]) -> None:
    for run, m in measured.items():
        assert m["noise_raises"] > 10, run  # transient alarms are on by default …
        assert m["noise_in_incidents"] == 0, run  # … and the OSS opens no incident for them


def test_the_domain_doc_shows_the_calibration_file() -> None:
    table = calibration.markdown_table(calibration.load(DATA))
    text = DOMAIN.read_text(encoding="utf-8")
    if WRITE:
        start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
        DOMAIN.write_text(text[:start] + table + text[stop:], encoding="utf-8")
        text = DOMAIN.read_text(encoding="utf-8")
    assert BEGIN + table + END in text, (
        "docs/domain.md's calibration table differs from docs/calibration.yaml; "
        "rewrite it with TWIN_CALIBRATION_WRITE=1")


def test_a_kpi_the_code_does_not_know_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("runs: {}\nkpis:\n  - {kpi: nonsense}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="nonsense"):
        calibration.load(bad)


def test_a_rate_of_few_events_is_held_to_its_range_by_its_poisson_interval() -> None:
    # 4 notices in 800 line-months: 0.5 % a month, yet 1.1 % is well inside its 95 % interval
    assert calibration.in_range(0.005, [0.007, 0.02], events=4, exposure=800)
    # 40 in 800: 5 %, its interval (3.6–6.8 %) is far above 2 %
    assert not calibration.in_range(0.05, [0.007, 0.02], events=40, exposure=800)
    # the same 0.5 % from 400 notices is measured finely enough to be outside
    assert not calibration.in_range(0.005, [0.007, 0.02], events=400, exposure=80_000)
    # no notice at all over a short run is consistent with a low range, not with a high one
    assert calibration.in_range(0.0, [0.007, 0.02], events=0, exposure=100)
    assert not calibration.in_range(0.0, [0.5, 0.9], events=0, exposure=100)
    low, high = calibration.rate_interval(4, 800)
    assert low == pytest.approx(1.0899 / 800, rel=1e-3) and high == pytest.approx(
        10.2416 / 800, rel=1e-3)
