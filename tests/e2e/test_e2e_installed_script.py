"""End to end through the installed `twin` console script, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml
from e2e_support import REPO, SCENARIOS, twin_script


def twin(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "400", "NO_COLOR": "1"}
    return subprocess.run([twin_script(), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_run_writes_a_run_directory(tmp_path: Path, explicit_scenario: dict[str, Any]) -> None:
    explicit_scenario["duration"] = "6h"
    explicit_scenario["faults"] = {
        "scripted": [{"at": "1h", "target": "cell2-core1", "mode": "fibre_cut"}]}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(explicit_scenario))
    out = tmp_path / "runs" / "tiny"
    proc = twin("run", str(path), "--out", str(out), "--seed", "3", "--set",
                "subscribers.count=40")
    assert proc.returncode == 0, proc.stderr
    assert "run directory" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["scenario"], summary["seed"]) == ("tiny", 3)
    assert summary["network"]["subscribers"] == 40
    assert summary["faults"]["injected"] == 1
    assert summary["oss"]["tickets"] == 1
    for table in ("alarms", "tickets", "faults", "usage", "cdrs", "rated", "invoices"):
        assert (out / "tables" / f"{table}.parquet").exists()
    assert (out / "report.html").exists()
    assert list((out / "figures").glob("*.png"))


def test_validate_bad_exit_2_without_traceback(tmp_path: Path,
                                               explicit_scenario: dict[str, Any]) -> None:
    explicit_scenario["network"]["links"][0]["b"] = "ghost"
    explicit_scenario["subscribers"]["count"] = "lots"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(explicit_scenario))
    proc = twin("validate", str(path))
    assert proc.returncode == 2
    assert "network.links[0].b: unknown element 'ghost'" in proc.stderr
    assert "subscribers.count: " in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_list_shows_every_scenario() -> None:
    proc = twin("list")
    assert proc.returncode == 0, proc.stderr
    scenarios = sorted(SCENARIOS.glob("*.yaml"))
    assert scenarios, "no scenarios to list"
    for path in scenarios:
        assert f"scenarios/{path.name}" in proc.stdout
        description = str(yaml.safe_load(path.read_text()).get("description", "")).strip()
        first_words = " ".join(description.split()[:5])
        assert first_words in " ".join(proc.stdout.split()), path.name
