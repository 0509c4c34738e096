"""Reconciliation: every unit of usage revenue accounted for, or the run fails.

Two identities must hold exactly, in integer minor units:

* rated = billed usage: the sum of the ``rated`` table equals the usage lines on invoices;
* potential = rated + lost to outages + lost to blocking + unbilled: what all offered
  traffic would have earned splits into what was rated and what was lost, with nothing
  left over. (``unbilled`` is what the network carried but the BSS never rated: records
  lost or written off on the way.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from twin.bss.billing import USAGE_LINES


class ReconciliationError(RuntimeError):
    pass


def reconcile(tables: Path, bss: Any, lost: dict[str, int]) -> dict[str, int]:
    con = duckdb.connect()
    rated = con.execute(
        f"SELECT coalesce(sum(charge_minor), 0) FROM '{tables / 'rated.parquet'}'").fetchone()
    lines = con.execute(
        f"SELECT coalesce(sum(amount_minor), 0) FROM '{tables / 'invoice_lines.parquet'}' "
        f"WHERE line_type IN {USAGE_LINES}").fetchone()
    con.close()
    rated_minor = int(rated[0]) if rated else 0
    billed_usage = int(lines[0]) if lines else 0
    if rated_minor != billed_usage or rated_minor != bss.rated_minor:
        raise ReconciliationError(
            f"rated usage {rated_minor} != invoiced usage {billed_usage} "
            f"(BSS counter {bss.rated_minor})")
    unbilled = lost["carried_usage_minor"] - rated_minor
    lost_total = lost["lost_outage_minor"] + lost["lost_dropped_minor"] + lost[
        "lost_blocking_minor"]
    if lost["potential_usage_minor"] != rated_minor + lost_total + unbilled:
        raise ReconciliationError("potential usage revenue does not split into rated + lost")
    return {
        "potential_usage_minor": lost["potential_usage_minor"],
        "rated_minor": rated_minor,
        "invoiced_usage_minor": billed_usage,
        "lost_minor": lost_total,
        "unbilled_minor": unbilled,
    }
