"""The story of each fault, failure to bill, read back from the run's tables."""

from __future__ import annotations

import pandas as pd

from twin.analysis.story import render
from twin.cli import main

from .support import RunScenario

QUICKSTART = "scenarios/quickstart.yaml"


def test_the_fibre_cut_is_told_from_fault_to_sla_credit(run_scenario: RunScenario) -> None:
    run = run_scenario(QUICKSTART)
    steps = run.story()
    faults = run.table("faults")
    assert sorted(steps["fault_id"].unique()) == sorted(faults["fault_id"])
    cut = int(faults.loc[faults["mode"] == "fibre_cut", "fault_id"].iloc[0])
    chain = steps[steps["fault_id"] == cut]
    assert chain["step"].iloc[0] == "fault"
    assert chain["t"].is_monotonic_increasing
    for step in ("service lost", "alarms", "incident", "ticket", "dispatch", "on site",
                 "fault cleared", "service restored", "usage gap", "outage reported",
                 "sla credit"):
        assert step in set(chain["step"]), step
    inc = run.table("incidents").set_index("root").loc[faults.set_index("fault_id").loc[cut,
                                                                                       "target"]]
    assert chain.loc[chain["step"] == "incident", "t"].iloc[0] == inc["created"]
    assert "(correct)" in chain.loc[chain["step"] == "incident", "detail"].iloc[0]
    # the usage gap counts what the truth table says was lost on those cells meanwhile
    out = run.table("cell_outages")
    out = out[out["root_fault_id"] == cut]
    usage = run.table("usage").merge(out, on="cell")
    lost = usage[(usage["outcome"] == "lost_outage") & (usage["start_x"] >= usage["start_y"])
                 & (usage["start_x"] < usage["end"])]
    calls = int((lost["kind"] == "voice").sum())
    gap = chain.loc[chain["step"] == "usage gap", "detail"].iloc[0]
    assert f"{calls:,} calls" in gap and f"by {lost['sub'].nunique():,} subscriber" in gap


def test_wrong_root_causes_are_called_wrong(run_scenario: RunScenario) -> None:
    run = run_scenario("scenarios/oss_stale_inventory.yaml",
                       overrides=["oss.inventory.stale_links=0.3"])
    steps = run.story()
    faults = run.table("faults").set_index("fault_id")
    rows = steps[(steps["step"] == "incident") & ~steps["detail"].str.contains("merged")]
    verdicts = rows["detail"].str.contains("(correct)", regex=False)
    roots = rows["detail"].str.extract(r"root cause (\S+) ")[0]
    truth = rows["fault_id"].map(faults["target"])
    pd.testing.assert_series_equal(verdicts, roots == truth, check_names=False)
    assert (~verdicts).any()  # a stale inventory does mislead the correlation


def test_cli_story_and_report(run_scenario: RunScenario, capsys) -> None:  # type: ignore[no-untyped-def]
    run = run_scenario(QUICKSTART, report=True)
    assert main(["story", str(run.path), "--fault", "1"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Fault 1 — ") and "Fault 2" not in text
    assert main(["story", str(run.path), "--fault", "999"]) == 2
    assert "no fault 999" in capsys.readouterr().err
    html = (run.path / "report.html").read_text()
    assert "What happened" in html and "Fault 1 — " in html
    assert render(run.story(1), run.scenario["start"]).count("\n  ") >= 8
