"""TM Forum Open API JSON from a run directory: ``twin export``.

Each resource a run produced is written as one JSON array per API, shaped by the TM Forum
Open API v4 schema it names (the tests validate them against the schemas):

========  ===============================  ==========================================
API       file                             rows of
========  ===============================  ==========================================
TMF642    ``TMF642-alarm.json``            ``alarms``
TMF621    ``TMF621-troubleTicket.json``    ``tickets`` (+ ``ticket_status``, notes), then
                                           ``customer_tickets`` (complaints)
TMF656    ``TMF656-serviceProblem.json``   ``incidents`` (+ ``incident_impact``)
TMF635    ``TMF635-usage.json``            ``cdrs`` (every received record)
TMF678    ``TMF678-customerBill.json``,    ``invoices``, ``invoice_lines``
          ``TMF678-appliedCustomerBillingRate.json``
TMF622    ``TMF622-productOrder.json``     ``product_orders``
TMF641    ``TMF641-serviceOrder.json``     ``service_orders``
========  ===============================  ==========================================

Usage is converted in slices of records, so a long run's millions of records never sit in
memory as JSON at once. The export directory is written beside its final place and renamed
into it when complete.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from twin.store import Run, RunDirectory

APIS = ("TMF642", "TMF621", "TMF656", "TMF635", "TMF678", "TMF622", "TMF641")
USAGE_SLICE = 100_000


class ExportError(ValueError):
    """An export that cannot be made (unknown API, not a run directory, …)."""


def _start(run: Run) -> datetime:
    return datetime.fromisoformat(str(run.scenario["start"]).replace("Z", "+00:00"))


def _write_array(path: Path, items: Iterable[dict[str, Any]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as f:
        f.write("[")
        for item in items:
            f.write(",\n" if n else "\n")
            f.write(json.dumps(item, ensure_ascii=False, default=str))
            n += 1
        f.write("\n]\n" if n else "]\n")
    return n


def _oss(run: Run, api: str, limit: int | None) -> Iterator[dict[str, Any]]:
    from twin.oss import exports

    start = _start(run)
    if api == "TMF642":
        yield from exports.tmf642_alarms(run.table("alarms").head(limit), start)
    elif api == "TMF621":  # network trouble tickets, then customer complaints
        yield from exports.tmf621_tickets(run.table("tickets").head(limit),
                                          run.table("ticket_status"),
                                          run.table("ticket_notes"), start)
        if "customer_tickets" in run.tables:
            yield from exports.tmf621_customer_tickets(
                run.table("customer_tickets").head(limit), start)
    elif api == "TMF656":
        impact = run.table("incident_impact") if "incident_impact" in run.tables else None
        yield from exports.tmf656_problems(run.table("incidents").head(limit),
                                           run.table("alarms"), run.table("tickets"), start,
                                           impact)


def _usage(run: Run, limit: int | None) -> Iterator[dict[str, Any]]:
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from twin.bss.exports import tmf635_usage

    bss = run.summary["bss"]
    invoices = run.table("invoices")
    rated = ds.dataset(run.path / "tables" / "rated.parquet")
    session = ds.field("charging_id")
    left = limit
    for batch in pq.ParquetFile(run.path / "tables" / "cdrs.parquet").iter_batches(
            batch_size=USAGE_SLICE):
        cdrs = batch.to_pandas()
        if left is not None:
            cdrs = cdrs.head(left)
            left -= len(cdrs)
        if cdrs.empty:
            return
        ids = cdrs["charging_id"]  # a rated session carries its charging id
        # a range first (row-group statistics skip most of the file), then the ids
        mine = rated.to_table(filter=(session >= int(ids.min())) & (session <= int(ids.max()))
                              & session.isin(ids.unique())).to_pandas()
        yield from tmf635_usage(cdrs, mine, invoices, _start(run), int(bss["minor_per_major"]),
                                str(bss["currency"]))
        if left is not None and left <= 0:
            return


def _bss(run: Run, api: str, limit: int | None) -> dict[str, Iterable[dict[str, Any]]]:
    from twin.bss import exports

    start = _start(run)
    per = int(run.summary["bss"]["minor_per_major"])
    if api == "TMF635":
        return {"usage": _usage(run, limit)}
    if api == "TMF678":
        invoices = run.table("invoices")
        vat = float(run.scenario["bss"]["catalog"].get("vat_pct", 0))
        lines = run.table("invoice_lines").head(limit)
        return {"customerBill": exports.tmf678_bills(invoices.head(limit), start, per, vat),
                "appliedCustomerBillingRate": exports.tmf678_rates(lines, invoices, start,
                                                                   per)}
    if api == "TMF622":
        return {"productOrder": exports.tmf622_orders(run.table("product_orders").head(limit),
                                                      start)}
    from twin.oss.provisioning import tmf641_orders

    return {"serviceOrder": tmf641_orders(run.table("service_orders").head(limit), start)}


RESOURCES: dict[str, tuple[str, ...]] = {
    "TMF642": ("alarm",), "TMF621": ("troubleTicket",), "TMF656": ("serviceProblem",),
    "TMF635": ("usage",), "TMF678": ("customerBill", "appliedCustomerBillingRate"),
    "TMF622": ("productOrder",), "TMF641": ("serviceOrder",),
}
NEEDS = {"TMF642": "alarms", "TMF621": "tickets", "TMF656": "incidents", "TMF635": "cdrs",
         "TMF678": "invoices", "TMF622": "product_orders", "TMF641": "service_orders"}


def export(run_dir: str | Path, out: str | Path | None = None,
           apis: Iterable[str] | None = None, limit: int | None = None,
           progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Write the run's resources as TMF JSON into ``out`` (default ``RUN_DIR/tmf``);
    ``apis`` picks APIs (default all the run has tables for); ``limit`` caps the rows of
    each source table (for samples). Returns ``{file name: resources written}``."""
    try:
        run = Run(run_dir)
    except FileNotFoundError as exc:
        raise ExportError(str(exc)) from None
    wanted = [a.upper() for a in apis] if apis else [a for a in APIS
                                                      if NEEDS[a] in run.tables]
    unknown = [a for a in wanted if a not in APIS]
    if unknown:
        raise ExportError(f"unknown API {', '.join(unknown)}; known: {', '.join(APIS)}")
    missing = [a for a in wanted if NEEDS[a] not in run.tables]
    if missing:
        raise ExportError(", ".join(f"{a}: the run has no {NEEDS[a]} table" for a in missing))
    if limit is not None and limit < 1:
        raise ExportError(f"limit must be at least 1 (got {limit})")
    final = Path(out) if out is not None else run.path / "tmf"
    written: dict[str, int] = {}
    with RunDirectory(final, kind="export") as rd:  # replaces only an earlier export
        tmp = rd.tmp
        for api in wanted:
            if api in ("TMF642", "TMF621", "TMF656"):
                parts: dict[str, Iterable[dict[str, Any]]] = {
                    RESOURCES[api][0]: _oss(run, api, limit)}
            else:
                parts = _bss(run, api, limit)
            for resource, items in parts.items():
                name = f"{api}-{resource}.json"
                written[name] = _write_array(tmp / name, items)
                if progress:
                    progress(name, written[name])
        rd.commit()
    return written
