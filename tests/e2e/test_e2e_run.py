"""End to end: `twin run` on a shortened quickstart, then everything it promises to write."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import twin
from twin.cli import main
from twin.report.html import flatten
from twin.scenario import load
from twin.store import Run

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "scenarios" / "quickstart.yaml"

# issue 2, "summary.json — a contract QA scripts rely on"
SUMMARY_KEYS = [
    "scenario", "seed", "sim_days",
    "network.elements", "network.links", "network.cells", "network.subscribers",
    "traffic.calls_offered", "traffic.calls_blocked", "traffic.calls_lost_outage",
    "traffic.data_mb",
    "faults.injected", "faults.service_affecting",
    "oss.alarms_raw", "oss.alarms_after_dedup", "oss.tickets", "oss.mttd_s", "oss.mttr_s",
    "bss.currency", "bss.cdrs_received", "bss.cdrs_rated", "bss.invoices", "bss.billed_minor",
    "bss.lost_outage_minor", "bss.sla_credits_minor",
]
TABLES = ["alarms", "tickets", "faults", "usage", "cdrs", "rated", "invoices"]
OVERRIDES = ["--set", "duration=1d", "--set", "subscribers.count=300",
             "--set", "faults.scripted[0].at=10h", "--set", "faults.random.mtbf_h={}"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("e2e") / "quick"
    code = main(["run", str(QUICKSTART), "--out", str(out), "--seed", "5", "-q", *OVERRIDES])
    assert code == 0
    return out


def summary_of(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "summary.json").read_text())
    return data


def test_run_directory_layout(run_dir: Path) -> None:
    for name in ("scenario.yaml", "manifest.json", "summary.json", "report.html"):
        assert (run_dir / name).is_file(), name
        assert (run_dir / name).stat().st_size > 0, name
    for table in TABLES:
        assert (run_dir / "tables" / f"{table}.parquet").is_file(), table
    pngs = sorted(p.name for p in (run_dir / "figures").glob("*.png"))
    assert len(pngs) >= 3
    for png in pngs:
        assert (run_dir / "figures" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the atomic write left nothing beside the run directory
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["quick"]


def test_summary_has_every_contract_key(run_dir: Path) -> None:
    flat = flatten(summary_of(run_dir))
    missing = [k for k in SUMMARY_KEYS if k not in flat]
    assert missing == []


def test_summary_reflects_the_overrides_and_the_fault(run_dir: Path) -> None:
    s = summary_of(run_dir)
    assert (s["scenario"], s["seed"], s["sim_days"]) == ("quickstart", 5, 1.0)
    assert s["network"]["subscribers"] == 300
    assert s["network"]["cells"] == 36  # 12 sites × 3 cells
    assert s["faults"]["injected"] == 1  # only the scripted fibre cut
    assert s["faults"]["service_affecting"] == 1
    assert s["oss"]["tickets"] >= 1
    assert s["oss"]["alarms_after_dedup"] <= s["oss"]["alarms_raw"]
    assert s["oss"]["mttd_s"] > 0 and s["oss"]["mttr_s"] > s["oss"]["mttd_s"]
    assert s["traffic"]["calls_offered"] > 0
    assert s["traffic"]["calls_lost_outage"] > 0  # three sites were cut off for hours
    assert s["bss"]["currency"] == "EUR"
    assert 0 < s["bss"]["cdrs_rated"] <= s["bss"]["cdrs_received"]
    assert s["bss"]["invoices"] > 0
    assert s["bss"]["lost_outage_minor"] > 0


def test_tables_agree_with_the_summary(run_dir: Path) -> None:
    s = summary_of(run_dir)
    run = Run(run_dir)
    assert set(TABLES) <= set(run.tables)
    invoices = run.table("invoices")
    assert len(invoices) == s["bss"]["invoices"]
    assert int(invoices["total_minor"].sum()) == s["bss"]["billed_minor"]
    assert int(invoices["sla_credit_minor"].sum()) == s["bss"]["sla_credits_minor"]
    assert len(run.table("rated")) == s["bss"]["cdrs_rated"]
    assert len(run.table("cdrs")) == s["bss"]["cdrs_received"]
    assert len(run.table("tickets")) == s["oss"]["tickets"]
    assert len(run.table("alarms")) == s["oss"]["alarms_after_dedup"]
    faults = run.table("faults")
    assert faults[["target", "mode", "source", "start"]].values.tolist() == [
        ["site1-site2", "fibre_cut", "scripted", 36_000.0]]
    # rated revenue equals the usage lines on invoices plus the prepaid balances' debits, to
    # the minor unit (prepaid usage is never invoiced)
    def rated_on(channel: str) -> int:
        return int(run.sql("SELECT coalesce(sum(charge_minor), 0) AS m FROM rated "
                           f"WHERE channel = '{channel}'")["m"].iloc[0])

    rated, online = rated_on("invoice"), rated_on("balance")
    assert int(online) == s["bss"]["ocs_debited_minor"] == \
        s["reconciliation"]["charged_online_minor"]
    lines = run.sql("SELECT sum(amount_minor) AS m FROM invoice_lines "
                    "WHERE line_type IN ('usage_voice', 'usage_data', 'usage_sms')")["m"].iloc[0]
    assert int(rated) == int(lines)


def test_resolved_scenario_is_saved(run_dir: Path) -> None:
    saved = load(run_dir / "scenario.yaml")
    assert saved.seed == 5  # --seed is part of the resolved scenario
    assert saved.duration == 86_400
    assert saved.subscribers.count == 300
    assert saved.faults.scripted[0].at == 36_000
    assert "enterprise" in saved.bss.catalog.offers  # the catalog is inlined
    original = load(QUICKSTART, [a for a in OVERRIDES if a != "--set"])
    assert saved == original.model_copy(update={"seed": 5})


def test_manifest(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["twin_version"] == twin.__version__
    assert manifest["seed"] == 5
    assert manifest["scenario"] == "quickstart"
    text = (run_dir / "scenario.yaml").read_bytes()
    assert manifest["scenario_sha256"] == hashlib.sha256(text).hexdigest()
    assert manifest["wall_time_s"] > 0


def test_report_html_embeds_figures_and_summary(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 3
    assert "quickstart" in page
    assert "bss.billed_minor" in page


def test_report_command_rebuilds_the_report(run_dir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "report.html").unlink()
    shutil.rmtree(copy / "figures")
    summary = summary_of(copy)
    summary["scenario"] = "rebuilt-from-summary"
    (copy / "summary.json").write_text(json.dumps(summary))
    assert main(["report", str(copy)]) == 0
    assert str(copy / "report.html") in capsys.readouterr().out.replace("\n", "")
    page = (copy / "report.html").read_text()
    assert "rebuilt-from-summary" in page  # built from the run's files, not copied
    assert len(list((copy / "figures").glob("*.png"))) >= 3


def test_report_command_on_a_directory_that_is_not_a_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert "not a run directory" in err
    assert not (tmp_path / "report.html").exists()


def test_run_prints_the_summary_table(tmp_path: Path, explicit_scenario: dict[str, Any],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    explicit_scenario["duration"] = "6h"
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(explicit_scenario))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "oss.tickets" in printed and "bss.billed_minor" in printed
    assert str(out.resolve()) in printed.replace("\n", "")
    assert summary_of(out)["scenario"] == "tiny"
