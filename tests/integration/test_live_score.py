"""``twin score`` of a served run stopped early: only the faults that began before the stop
count — those scheduled after it never happened in this run."""

from __future__ import annotations

from pathlib import Path

import yaml

from twin.live.score import score
from twin.live.service import LiveTwin
from twin.scenario import load

from .live_support import CUT, pause_at, scenario_text

STOP = 3 * 3600.0


def test_score_of_a_stopped_run_counts_faults_begun_before_the_stop(tmp_path: Path) -> None:
    data = yaml.safe_load(scenario_text())
    data["faults"]["scripted"].append({"at": "6h", "target": CUT, "mode": "fibre_cut"})
    path = tmp_path / "two_cuts.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    twin = LiveTwin(load(path), tmp_path / "run", speed=1e6, paused=True)
    twin.start()
    try:
        pause_at(twin, STOP)
        twin.pacer.stop()
        assert twin.wait(120) and twin.error is None, twin.error
    finally:
        twin.close()
    run = twin.run
    assert run is not None and run.summary["sim_end_s"] == STOP
    faults = run.table("faults")
    begun = int((faults["start"] < STOP).sum())
    assert begun < int((faults["start"] < 12 * 3600).sum())  # the second cut was to come
    result = score(run.path)
    assert result["faults"] == begun
    assert run.summary["faults"]["injected"] == begun
