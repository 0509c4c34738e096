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

import numpy as np
import pytest

from twin.analysis import keep_fates
from twin.analysis.reconcile import read_books
from twin.analysis.revenue import (
    LOST,
    RATED,
    REJECTED,
    STEPS,
    Fates,
    _max_id,
    bss_order,
    record_fates,
    rerate_bss_order,
    usage_chain,
)
from twin.scenario import load
from twin.wiring import Assembly, assemble

from .support import SCENARIOS

CASES = {
    "collector_outage": ("subscribers.count=1500", "bss.mediation.mode=streaming"),
    "prepaid_ocs_outage": ("subscribers.count=1500",),
    "tariff_correction": ("subscribers.count=1500", "bss.tariff_errors[0].corrected_at=null"),
}


def _run(name: str, tmp_path: Path) -> tuple[Assembly, Fates]:
    sc = load(SCENARIOS / f"{name}.yaml", CASES[name])
    tables = tmp_path / "tables"
    tables.mkdir()
    asm = assemble(sc, tables)
    fates = keep_fates(asm)  # folded from the cdrs table as it is written
    asm.sim.run()
    return asm, fates


@pytest.mark.parametrize("name", sorted(CASES))
def test_shared_rating_equals_rating_every_step_in_full(name: str, tmp_path: Path) -> None:
    asm, fates = _run(name, tmp_path)
    tables, bss = tmp_path / "tables", asm.bss
    shared = usage_chain(tables, asm.subscribers, bss.fresh_rater, bss.lines.offer_at,
                         fates=fates)
    full = usage_chain(tables, asm.subscribers, bss.fresh_rater, bss.lines.offer_at,
                       in_full=True)  # the fates read back from the file
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
    # the books' sums of the table (as a run's summary takes them) say the same
    books = read_books(tables, bss)
    assert bss_order(tables / "rated.parquet", bss.rerating.repriced_minor,
                     bss.rerating.repriced_rows,
                     sums=(books.rated_first_minor,
                           books.rated_minor - books.rated_first_minor)) == rerated
    if name == "tariff_correction":  # free calls the catalog charges
        assert rerated["rows_differing"] > 0
        assert rerated["catalog_minor"] > rerated["bss_minor"]


def test_fates_folded_as_the_cdrs_are_written_equal_those_read_back(tmp_path: Path) -> None:
    """The summary folds each record's fate from the cdrs table's row groups as they are
    written; the same fold over the file read back gives every fate and partial session
    alike, on a run with parts of long sessions, duplicates, a collector outage and rejects."""
    sc = load(SCENARIOS / "collector_outage.yaml", (
        "subscribers.count=1500", "bss.mediation.mode=streaming",
        "traffic.data.duration.mean_s=5400", "traffic.records.partial_time_limit=15m",
        "bss.mediation.assembly_timeout=6h", "network.telemetry.cdr_duplicate_rate=0.01"))
    tables = tmp_path / "tables"
    tables.mkdir()
    asm = assemble(sc, tables)
    fates, again = keep_fates(asm), keep_fates(asm)  # a result spends its fold
    asm.sim.run()
    top = _max_id(tables / "usage.parquet")
    fate, parts = fates.result(top)
    want, want_parts = record_fates(tables / "cdrs.parquet", top)
    assert np.array_equal(fate, want)
    for name in ("ids", "collected_qty", "collected_start", "accepted_qty", "accepted_start"):
        assert np.array_equal(getattr(parts, name), getattr(want_parts, name)), name
    # the run has what a fold could get wrong: parts, and records lost, rejected and rated
    assert parts.ids.size > 100
    assert {LOST, RATED, REJECTED} <= set(np.unique(fate).tolist())
    # ids past the usage table's are no one's: left out, as when read back
    short, _ = again.result(top // 2)
    assert np.array_equal(short, record_fates(tables / "cdrs.parquet", top // 2)[0])
