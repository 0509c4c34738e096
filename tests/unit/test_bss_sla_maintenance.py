"""Announced maintenance in the SLA outage count: excluded up to the allowance, overruns count."""

from __future__ import annotations

import pytest

from twin.bss.sla import counted_outage, overlap
from twin.scenario.schema import SlaSpec

TABLE = [{"over": 600, "credit_pct": 5}]


def sla(**kw: object) -> SlaSpec:
    return SlaSpec.model_validate({"availability_target": 99.9, "credit_table": TABLE, **kw})


def test_overlap_of_interval_lists() -> None:
    assert overlap([(0, 10), (20, 30)], [(5, 25)]) == [(5, 10), (20, 25)]
    assert overlap([(0, 10)], [(10, 20)]) == []


@pytest.mark.parametrize(("outages", "planned", "kw", "want"), [
    ([(100, 200)], [(100, 200)], {}, 0.0),  # wholly inside the window
    ([(100, 260)], [(100, 200)], {}, 60.0),  # an overrun of 60 s counts
    ([(50, 200)], [(100, 200)], {}, 50.0),  # started before the window
    ([(100, 200)], [(100, 200)], {"excluded_planned_maintenance": False}, 100.0),
    ([(0, 10_000)], [(0, 10_000)], {"maintenance_allowance": "1h"}, 10_000 - 3600.0),
    ([(100, 200)], [], {}, 100.0),
    ([(100, 100.5)], [(100, 200)], {}, 0.0),  # a half-second blip inside the window too
])
def test_counted_outage(outages: list[tuple[float, float]], planned: list[tuple[float, float]],
                        kw: dict[str, object], want: float) -> None:
    assert counted_outage(sla(**kw), outages, planned, 0.0, 1e6) == pytest.approx(want)


def test_allowance_defaults_to_eight_hours() -> None:
    assert sla().maintenance_allowance == 8 * 3600.0
    assert sla().excluded_planned_maintenance is True
