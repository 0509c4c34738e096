"""Transport load: a cut on a ring pushes the detour onto the survivors and congests them."""

from __future__ import annotations

from pathlib import Path

import twin

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_default_capacities_leave_links_lightly_loaded(tmp_path: Path) -> None:
    run = twin.simulate(SCENARIOS / "quickstart.yaml", out=tmp_path / "q", report=False,
                        overrides=["duration=1d", "faults.scripted=[]"])
    links = run.table("link_traffic")
    assert 0 < links["utilisation"].max() < 0.2
    assert len(links) == run.summary["network"]["links"] * 96
