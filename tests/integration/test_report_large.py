"""The report stays readable on large networks: the timeline keeps the longest-down lanes."""

from __future__ import annotations

from pathlib import Path

import pytest

import twin
from twin.report import build_report, figures

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_timeline_caps_its_lanes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = twin.simulate(SCENARIOS / "noc_week.yaml", out=tmp_path / "r", report=False,
                        overrides=["duration=3d", "subscribers.count=500"])
    seen: list[int] = []
    real = figures.Figure

    def spy(*args: object, **kw: object) -> object:
        fig = real(*args, **kw)  # type: ignore[arg-type]
        seen.append(len(fig.axes))
        return fig

    monkeypatch.setattr(figures, "MAX_LANES", 3)
    monkeypatch.setattr(figures, "Figure", spy)
    build_report(run.path)
    assert (run.path / "figures" / "timeline.png").stat().st_size > 1000
    assert seen  # the figures were drawn through the patched module
    faults = run.table("faults")
    assert faults["target"].nunique() > 3  # so the cap really applied
