"""TM Forum Open API JSON from a run directory: ``twin export``.

Each resource a run produced is written as one JSON array per API (or, with ``ndjson``,
one resource per line), shaped by the TM Forum Open API v4 schema it names (the tests
validate them against the schemas, formats included):

========  ===============================  ==========================================
API       file                             rows of
========  ===============================  ==========================================
TMF642    ``TMF642-alarm.json``            ``alarms``
TMF621    ``TMF621-troubleTicket.json``    ``tickets`` (+ ``ticket_status``, notes), then
                                           ``customer_tickets`` (complaints)
TMF656    ``TMF656-serviceProblem.json``   ``incidents`` (+ ``incident_impact``)
TMF635    ``TMF635-usage.json``            ``cdrs`` (every record mediation received)
TMF678    ``TMF678-customerBill.json``,    ``invoices``, ``invoice_lines``
          ``TMF678-appliedCustomerBillingRate.json``
TMF622    ``TMF622-productOrder.json``     ``product_orders``
TMF641    ``TMF641-serviceOrder.json``     ``service_orders``
========  ===============================  ==========================================

Every resource has an absolute ``href`` under ``base_url`` (default
:data:`twin.messages.TMF_BASE_URL`), and every reference to an exported resource carries
the ``href`` of that resource. A resource kind with nothing to export writes no file (its
count is 0). Usage is converted in slices of records, column-wise, and streamed to the file,
so a long run's millions of records never sit in memory at once. The export directory is
written beside its final place and renamed into it when complete.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa

from twin.messages import TMF_BASE_URL
from twin.store import Run, RunDirectory

APIS = ("TMF642", "TMF621", "TMF656", "TMF635", "TMF678", "TMF622", "TMF641")
USAGE_SLICE = 40_000
USAGE_THREADS = 2


class ExportError(ValueError):
    """An export that cannot be made (unknown API, not a run directory, …)."""


def _start(run: Run) -> datetime:
    return datetime.fromisoformat(str(run.scenario["start"]).replace("Z", "+00:00"))


# dicts, or per slice JSON texts that carry their separators (",\n" before each, or "\n"
# after each for NDJSON): written end to end
Items = Iterable[dict[str, Any]] | Iterable[pa.Array]


def _raw(texts: pa.Array) -> memoryview:
    """The bytes of a string array's values, end to end (no copy)."""
    if texts.type == pa.large_string():
        off = np.frombuffer(texts.buffers()[1], dtype=np.int64, count=len(texts) + 1,
                            offset=texts.offset * 8)
    else:
        off = np.frombuffer(texts.buffers()[1], dtype=np.int32, count=len(texts) + 1,
                            offset=texts.offset * 4)
    return memoryview(texts.buffers()[2])[int(off[0]):int(off[-1])]


def _write(f: BinaryIO, items: Items, ndjson: bool) -> int:
    """Write ``items`` as the elements of a JSON array (or as NDJSON lines); the count."""
    n = 0
    f.write(b"" if ndjson else b"[")
    for item in items:
        if isinstance(item, pa.Array):  # a slice of resources as JSON texts
            if len(item) == 0:
                continue
            chunk = _raw(item)
            f.write(chunk if n or ndjson else chunk[1:])  # the first element: no comma
            n += len(item)
        else:
            text = json.dumps(item, ensure_ascii=False, default=str)
            f.write(((text + "\n") if ndjson else ((",\n" if n else "\n") + text)).encode())
            n += 1
    if not ndjson:
        f.write(b"\n]\n" if n else b"]\n")
    return n


def _oss(run: Run, api: str, limit: int | None, base: str) -> Iterator[dict[str, Any]]:
    from twin.oss import exports

    start = _start(run)
    if api == "TMF642":
        yield from exports.tmf642_alarms(run.table("alarms").head(limit), start, base)
    elif api == "TMF621":  # network trouble tickets, then customer complaints
        yield from exports.tmf621_tickets(run.table("tickets").head(limit),
                                          run.table("ticket_status"),
                                          run.table("ticket_notes"), start, base)
        if "customer_tickets" in run.tables:
            yield from exports.tmf621_customer_tickets(
                run.table("customer_tickets").head(limit), start, base)
    elif api == "TMF656":
        impact = run.table("incident_impact") if "incident_impact" in run.tables else None
        yield from exports.tmf656_problems(run.table("incidents").head(limit),
                                           run.table("alarms"), run.table("tickets"), start,
                                           impact, base)


def _usage(run: Run, limit: int | None, base: str, ndjson: bool) -> Iterator[pa.Array]:
    """TMF635 texts of the records mediation received, slice by slice (first receipts:
    rows of ``cdrs`` that are not an assembled session or a later decision)."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from twin.bss.tmf635 import CDR_COLUMNS, RATED_COLUMNS, Fates, UsageText, account_of

    tables = run.path / "tables"
    bss = run.summary["bss"]
    cdrs = ds.dataset(tables / "cdrs.parquet")
    later = cdrs.to_table(
        columns=["node_id", "record_id", "charging_id", "parts", "state", "reason"],
        filter=(ds.field("parts") > 0) | (ds.field("processed") > ds.field("received")))
    subs = pq.read_table(tables / "subscriptions.parquet", columns=["sub", "account"])
    text = UsageText(_start(run), int(bss["minor_per_major"]), str(bss["currency"]), base,
                     account_of(subs.to_pydict()), Fates.of(later))
    rated = RatedWindow(tables / "rated.parquet", RATED_COLUMNS)

    before, after = ("", "\n") if ndjson else (",\n", "")

    def convert(t: pa.Table, rows: np.ndarray) -> pa.Array:
        return text.texts(t, rows, rated.of(t["charging_id"]), before, after)

    def receipts() -> Iterator[tuple[pa.Table, np.ndarray]]:
        left, row0 = limit, 0
        for batch in pq.ParquetFile(tables / "cdrs.parquet").iter_batches(
                batch_size=USAGE_SLICE, columns=CDR_COLUMNS):
            t = pa.Table.from_batches([batch])
            first = pc.and_(pc.equal(t["parts"], 0), pc.equal(t["processed"], t["received"]))
            rows = np.flatnonzero(first.to_numpy(zero_copy_only=False)) + row0
            row0 += batch.num_rows
            t = t.filter(first)
            if left is not None:
                t, rows = t.slice(0, left), rows[:left]
                left -= t.num_rows
            if t.num_rows:
                yield t, rows
            if left is not None and left <= 0:
                return

    # slices converted two at a time (Arrow's kernels release the GIL), written in order;
    # at most a few slices in memory
    with ThreadPoolExecutor(max_workers=USAGE_THREADS) as pool:
        pending: deque[Future[pa.Array]] = deque()
        for t, rows in receipts():
            pending.append(pool.submit(convert, t, rows))
            if len(pending) > USAGE_THREADS:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class RatedWindow:
    """The ``rated`` rows of some charging ids, read by row group: only the row groups whose
    charging-id range overlaps theirs, and the last few kept decoded — consecutive slices of
    ``cdrs`` meet mostly the same row groups, since both tables grow in the order records
    were processed."""

    def __init__(self, path: Path, columns: list[str], keep: int = 3) -> None:
        import pyarrow.parquet as pq

        self.file = pq.ParquetFile(path)
        self.columns, self.keep = columns, keep
        md = self.file.metadata
        col = md.schema.names.index("charging_id")
        self.ranges = []
        for g in range(md.num_row_groups):
            st = md.row_group(g).column(col).statistics
            has = st is not None and st.has_min_max
            self.ranges.append((st.min, st.max) if has else (-np.inf, np.inf))
        self.cache: dict[int, pa.Table] = {}
        self.lock = threading.Lock()  # slices are converted in threads

    def _group(self, g: int) -> pa.Table:
        with self.lock:
            if g not in self.cache:
                if len(self.cache) >= self.keep:
                    del self.cache[next(iter(self.cache))]
                self.cache[g] = self.file.read_row_group(g, columns=self.columns)
            return self.cache[g]

    def of(self, ids: pa.Array | pa.ChunkedArray) -> pa.Table:
        import pyarrow.compute as pc

        ids = pc.unique(ids)
        lo, hi = (x.as_py() for x in pc.min_max(ids).values())
        groups = [self._group(g) for g, (a, b) in enumerate(self.ranges)
                  if a <= hi and b >= lo]
        if not groups:
            return self.file.schema_arrow.empty_table().select(self.columns)
        t = pa.concat_tables(groups)
        return t.filter(pc.is_in(t["charging_id"], value_set=ids))


def _bss(run: Run, api: str, limit: int | None, base: str,
         ndjson: bool) -> dict[str, Items]:
    from twin.bss import exports

    start = _start(run)
    per = int(run.summary["bss"]["minor_per_major"])
    if api == "TMF635":
        return {"usage": _usage(run, limit, base, ndjson)}
    if api == "TMF678":
        invoices = run.table("invoices")
        vat = float(run.scenario["bss"]["catalog"].get("vat_pct", 0))
        lines = run.table("invoice_lines").head(limit)
        return {"customerBill": exports.tmf678_bills(invoices.head(limit), start, per, vat,
                                                     base),
                "appliedCustomerBillingRate": exports.tmf678_rates(lines, invoices, start,
                                                                   per, base)}
    if api == "TMF622":
        return {"productOrder": exports.tmf622_orders(run.table("product_orders").head(limit),
                                                      start, base)}
    from twin.oss.provisioning import tmf641_orders

    return {"serviceOrder": tmf641_orders(run.table("service_orders").head(limit), start,
                                          base)}


RESOURCES: dict[str, tuple[str, ...]] = {
    "TMF642": ("alarm",), "TMF621": ("troubleTicket",), "TMF656": ("serviceProblem",),
    "TMF635": ("usage",), "TMF678": ("customerBill", "appliedCustomerBillingRate"),
    "TMF622": ("productOrder",), "TMF641": ("serviceOrder",),
}
NEEDS = {"TMF642": "alarms", "TMF621": "tickets", "TMF656": "incidents", "TMF635": "cdrs",
         "TMF678": "invoices", "TMF622": "product_orders", "TMF641": "service_orders"}


def check_base_url(base_url: str) -> str:
    """``base_url`` if it is an absolute http(s) URL (the ``href``s must be absolute)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query \
            or parts.fragment or any(c.isspace() or c in '"\\<>' for c in base_url):
        raise ExportError(f"base URL must be an absolute http(s) URL without query or "
                          f"fragment, like {TMF_BASE_URL} (got {base_url!r})")
    return base_url.rstrip("/")


def export(run_dir: str | Path, out: str | Path | None = None,
           apis: Iterable[str] | None = None, limit: int | None = None,
           progress: Callable[[str, int], None] | None = None, *,
           base_url: str = TMF_BASE_URL, ndjson: bool = False) -> dict[str, int]:
    """Write the run's resources as TMF JSON into ``out`` (default ``RUN_DIR/tmf``);
    ``apis`` picks APIs (default all the run has tables for); ``limit`` caps the rows of
    each source table (for samples); ``base_url`` is where the resources' ``href``s point;
    ``ndjson`` writes one resource per line (``.ndjson``) instead of a JSON array. Returns
    ``{file name: resources written}``; a name with 0 has no file (nothing to export)."""
    try:
        run = Run(run_dir)
    except FileNotFoundError as exc:
        raise ExportError(str(exc)) from None
    base = check_base_url(base_url)
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
    suffix = ".ndjson" if ndjson else ".json"
    with RunDirectory(final, kind="export") as rd:  # replaces only an earlier export
        tmp = rd.tmp
        for api in wanted:
            if api in ("TMF642", "TMF621", "TMF656"):
                parts: dict[str, Items] = {RESOURCES[api][0]: _oss(run, api, limit, base)}
            else:
                parts = _bss(run, api, limit, base, ndjson)
            for resource, items in parts.items():
                name = f"{api}-{resource}{suffix}"
                with (tmp / name).open("wb") as f:
                    written[name] = _write(f, items, ndjson)
                if not written[name]:  # nothing to export: no empty file
                    (tmp / name).unlink()
                if progress:
                    progress(name, written[name])
        rd.commit()
    return written
