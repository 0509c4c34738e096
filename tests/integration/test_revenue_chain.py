"""The revenue chain's shortcuts give exactly what rating everything in full gives.

Analysis rates only the first step of the usage chain in full and, for every later step, only
the counters (cycle, line, kind) where one of its records differs from the step before; and
it takes the catalog's view of the BSS's own rating order from the BSS's pricing of the
records it rated with a wrong tariff instead of re-rating the ``rated`` table. Both are held
here against the full computations (and the chain rated in shares of the lines, on threads,
against rating it in one), on runs with outages, drops, blocking, collector loss,
online-charging denials, fail-open leakage and a tariff error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.analysis.revenue import STEPS, bss_order, rerate_bss_order, usage_chain
from twin.scenario import load
from twin.wiring import Assembly, assemble

from .support import SCENARIOS

CASES = {
    "collector_outage": ("subscribers.count=1500", "bss.mediation.mode=streaming"),
    "prepaid_ocs_outage": ("subscribers.count=1500",),
    "tariff_correction": ("subscribers.count=1500", "bss.tariff_errors[0].corrected_at=null"),
}


def _run(name: str, tmp_path: Path) -> Assembly:
    sc = load(SCENARIOS / f"{name}.yaml", CASES[name])
    tables = tmp_path / "tables"
    tables.mkdir()
    asm = assemble(sc, tables)
    asm.sim.run()
    return asm


@pytest.mark.parametrize("name", sorted(CASES))
def test_shared_rating_equals_rating_every_step_in_full(name: str, tmp_path: Path) -> None:
    asm = _run(name, tmp_path)
    tables, bss = tmp_path / "tables", asm.bss
    shared = usage_chain(tables, asm.subscribers, bss.fresh_rater, bss.lines.offer_at)
    full = usage_chain(tables, asm.subscribers, bss.fresh_rater, bss.lines.offer_at,
                       in_full=True)
    assert shared == full
    # the lines rated in shares on threads of their own: the same sums, however many
    for n in (1, 3):
        assert usage_chain(tables, asm.subscribers, bss.fresh_rater, bss.lines.offer_at,
                           n_shares=n) == shared
    # the run loses and leaks something, or the shortcut would have nothing to skip
    money = [shared[f"{k}_minor"] for k in STEPS]
    assert money[0] > money[-1] > 0

    rerated = rerate_bss_order(tables / "rated.parquet", asm.subscribers, bss.fresh_rater(),
                               bss.lines.offer_at)
    booked = bss_order(tables / "rated.parquet", bss.rerating.repriced_minor,
                       bss.rerating.repriced_rows)
    assert booked == rerated
    if name == "tariff_correction":  # free calls the catalog charges
        assert rerated["rows_differing"] > 0
        assert rerated["catalog_minor"] > rerated["bss_minor"]
