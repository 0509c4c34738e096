"""The timeline's lane cap on a network larger than the page: the default cap of 40 lanes
keeps the targets down longest, in order of their first bar, and the title says so."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from twin.report.timeline import draw_timeline, timeline

HORIZON = 7 * 86_400.0


def test_the_default_cap_keeps_the_forty_targets_down_longest(tmp_path: Path) -> None:
    # 55 targets fail in turn, target i for i hours (the longest fail last)
    (tmp_path / "tables").mkdir()
    n = 55
    pd.DataFrame({"fault_id": range(1, n + 1), "target": [f"cell{i}" for i in range(1, n + 1)],
                  "start": [600.0 * i for i in range(1, n + 1)], "mode": "element_failure",
                  "source": "random", "silent": False}).to_parquet(
        tmp_path / "tables" / "faults.parquet")
    pd.DataFrame({"fault_id": range(1, n + 1),
                  "end": [600.0 * i + 3600.0 * i for i in range(1, n + 1)]}).to_parquet(
        tmp_path / "tables" / "fault_ends.parquet")
    (tmp_path / "scenario.yaml").write_text("faults: {}\n")
    tl = timeline(tmp_path, HORIZON)
    assert tl.lanes_in_run == n
    assert tl.lanes == [f"cell{i}" for i in range(16, n + 1)]  # 40 lanes, longest down
    assert {b.lane for b in tl.bars} == set(tl.lanes)
    fig = draw_timeline(tl, tmp_path / "t.png")
    assert fig.axes[0].get_title().endswith("— the 40 of 55 targets down longest")
    assert len(fig.axes[0].get_yticklabels()) == 40
    few = timeline(tmp_path, HORIZON, max_lanes=n)  # no cap needed: no word of one
    assert len(few.lanes) == n
    assert draw_timeline(few, tmp_path / "u.png").axes[0].get_title() == (
        "Faults, incidents and repairs")
