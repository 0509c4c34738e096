"""The calibration table: a run without a fault of some type shows "—" for that type's MTTR,
and the per-type MTTR reads the truth tables."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from twin.analysis import calibration


class FakeRun:
    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        self.tables = tables

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def _run() -> Any:
    faults = pd.DataFrame({"fault_id": [1, 2, 3, 4], "start": [0.0, 100.0, 200.0, 300.0],
                           "mode": ["element_failure", "element_failure", "software_crash",
                                    "element_failure"]})
    ends = pd.DataFrame({"fault_id": [1, 2, 3, 4], "end": [3600.0, 7300.0, 500.0, 400.0],
                         "cleared_by": ["repair", "repair", "restart", "self"]})
    return FakeRun({"faults": faults, "fault_ends": ends})


def test_mttr_by_type_is_the_mean_repair_of_that_mode() -> None:
    run = _run()
    assert calibration.KPIS["mttr_hardware_h"](run) == (3600.0 + 7200.0) / 2 / 3600.0
    assert calibration.KPIS["mttr_software_crash_h"](run) == 300.0 / 3600.0
    assert math.isnan(calibration.KPIS["mttr_fibre_cut_h"](run))  # no cut in this run


def test_a_value_the_run_lacks_shows_as_a_dash() -> None:
    data = {"runs": {"a": {}, "b": {}},
            "kpis": [{"kpi": "mttr_fibre_cut_h", "label": "fibre", "unit": "h",
                      "range": [1.0, 12.0], "source": "s", "parameters": ["p"],
                      "values": {"a": None, "b": 3.163}}]}
    row = calibration.markdown_table(data).splitlines()[2]
    assert row == "| fibre | 1 h – 12 h | s | — | 3.16 h | `p` |"
    assert not calibration.measured(None) and not calibration.measured(float("nan"))
    assert calibration.measured(0.0)
