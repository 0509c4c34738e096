"""TMF635 usage and TMF678 bills served while the twin runs.

A 30-hour run of the small fibre-cut scenario whose bill cycle ends one day in (bill run at
25 h), with the BSS's tables flushed every 2,000 rows and read in row groups of 500, so the
pages cross spilled parts, row groups and the rows still in the buffers. Paused at 24 h: the
usage served is what mediation has received so far, no bill yet. Paused at 26 h: the bills
of the cycle. At the end: every page of usage, bills and billing rates served is what ``twin
export`` writes of the run, item for item.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from twin.bss.tmf635 import KIND_NAMES, STATUS
from twin.export import export
from twin.live.api import create_app
from twin.live.bss import PAGES_KEPT
from twin.live.service import LiveTwin
from twin.scenario import load

from .live_support import pause_at, scenario_text
from .tmf import check

U = "/tmf-api/usageManagement/v4/usage"
B = "/tmf-api/customerBillManagement/v4/customerBill"
R = "/tmf-api/customerBillManagement/v4/appliedCustomerBillingRate"
BILL_RUN = 25 * 3600.0


class Seen:
    def __init__(self) -> None:
        self.at24: dict[str, Any] = {}
        self.at26: dict[str, Any] = {}
        self.twin: LiveTwin
        self.client: TestClient
        self.export: Path


def _all(c: TestClient, path: str, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        r = c.get(path, params={**params, "offset": len(out), "limit": 1000})
        assert r.status_code == 200, r.text
        out += r.json()
        if len(out) >= int(r.headers["X-Total-Count"]):
            return out


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seen]:
    tmp = tmp_path_factory.mktemp("live_bss")
    data = yaml.safe_load(scenario_text("30h"))
    data["bss"]["bill_cycle_day"] = 6  # the cycle ends 2026-01-06 00:00, billed an hour on
    path = tmp / "billed.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    twin = LiveTwin(load(path), tmp / "run", speed=1e6, paused=True, chunk_rows=1000,
                    group_rows=500)
    out = Seen()
    out.twin, out.client = twin, TestClient(create_app(twin))
    twin.start()
    try:
        c = out.client
        pause_at(twin, 24 * 3600.0)
        assert twin.asm is not None
        r = c.get(U, params={"limit": 1000})
        out.at24 = {"received": twin.asm.bss.mediation.received, "total": r.headers[
            "X-Total-Count"], "page": r.json(), "bills": c.get(B).headers["X-Total-Count"],
            "by_type": {k: int(c.get(U, params={"usageType": k, "limit": 1}).headers[
                "X-Total-Count"]) for k in KIND_NAMES},
            "by_status": {s: c.get(U, params={"status": s, "limit": 5}) for s in STATUS}}
        pause_at(twin, 26 * 3600.0)
        out.at26 = {"invoices": twin.asm.bss.billing.totals["invoices"],
                    "bills": _all(c, B), "rates": _all(c, R)}
        twin.pacer.resume()
        assert twin.wait(300) and twin.error is None, twin.error
        assert twin.run is not None
        out.export = tmp / "export"
        export(twin.run.path, out.export, apis=("TMF635", "TMF678"), base_url=twin.base_url)
        yield out
    finally:
        twin.close()


def _exported(seen: Seen, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads((seen.export / name).read_text(encoding="utf-8"))
    return items


def test_usage_is_served_while_the_twin_runs(seen: Seen) -> None:
    at = seen.at24
    assert int(at["total"]) == at["received"] > 1000  # every record mediation has so far
    page = at["page"]
    assert len(page) == 1000
    check("TMF635", "Usage", page)
    final = _exported(seen, "TMF635-usage.json")
    # records keep their place; their status may have moved on since
    assert [u["id"] for u in page] == [u["id"] for u in final[:1000]]
    assert sum(at["by_type"].values()) == at["received"]
    statuses = {s: int(r.headers["X-Total-Count"]) for s, r in at["by_status"].items()}
    assert sum(statuses.values()) == at["received"]
    assert statuses["rated"] > 0 and statuses["billed"] > 0  # prepaid, postpaid
    for s, r in at["by_status"].items():
        assert all(u["status"] == s for u in r.json())


def test_bills_appear_at_the_cycle_end(seen: Seen) -> None:
    assert seen.at24["bills"] == "0"
    bills = seen.at26["bills"]
    assert len(bills) == seen.at26["invoices"] > 0
    check("TMF678", "CustomerBill", bills)
    final = {b["id"]: b for b in _exported(seen, "TMF678-customerBill.json")}
    assert all(final[b["id"]] == b for b in bills)  # as issued, unchanged to the end
    rates = seen.at26["rates"]
    check("TMF678", "AppliedCustomerBillingRate", rates)
    exported = {r["id"]: r for r in _exported(seen, "TMF678-appliedCustomerBillingRate.json")}
    assert rates and all(exported[r["id"]] == r for r in rates)
    assert {r["bill"]["id"] for r in rates} == {b["id"] for b in bills}


def test_every_page_is_the_export(seen: Seen) -> None:
    c = seen.client
    usage = _all(c, U)
    final = _exported(seen, "TMF635-usage.json")
    assert usage == final
    assert any(u["status"] == "billed" for u in usage)
    # the usage table was read from several spilled parts, row groups and the buffer's tail
    assert seen.twin.bss is not None
    groups = seen.twin.bss.cdrs.groups()
    assert len(groups) > 10 and len({id(g._part) for g in groups}) > 3
    assert all(g._part is not None and g._part.table is None for g in groups)  # on disk
    assert 0 < len(seen.twin.bss._pages) <= PAGES_KEPT  # pages kept for pollers, bounded
    assert _all(c, B) == _exported(seen, "TMF678-customerBill.json")
    assert _all(c, R) == _exported(seen, "TMF678-appliedCustomerBillingRate.json")
    picks = [final[0], final[len(final) // 2], final[-1]]
    picks += [u for u in final if "-dup-" in u["id"]][:2]
    for u in picks:
        assert c.get(f"{U}/{u['id']}").json() == u
    bill = _exported(seen, "TMF678-customerBill.json")[-1]
    assert c.get(f"{B}/{bill['id']}").json() == bill
    rate = _exported(seen, "TMF678-appliedCustomerBillingRate.json")[-1]
    assert c.get(f"{R}/{rate['id']}").json() == rate


def test_filters_and_fields(seen: Seen) -> None:
    c = seen.client
    bill = _exported(seen, "TMF678-customerBill.json")[3]
    acc = bill["billingAccount"]["id"]
    mine = c.get(B, params={"billingAccount.id": acc}).json()
    assert bill in mine and all(b["billingAccount"]["id"] == acc for b in mine)
    assert c.get(B, params={"state": "settled"}).headers["X-Total-Count"] == "0"
    rates = c.get(R, params={"bill.id": bill["id"]}).json()
    assert rates and all(r["bill"]["id"] == bill["id"] for r in rates)
    r = c.get(U, params={"usageType": "sms", "fields": "status", "offset": 2, "limit": 3})
    assert len(r.json()) == 3
    assert all(set(u) == {"id", "href", "@type", "status"} for u in r.json())
    for path in (f"{U}/1-999999999", f"{U}/nope", f"{B}/999999", f"{R}/1-999", f"{R}/x"):
        r = c.get(path)
        assert r.status_code == 404 and "id" in r.json()["message"], path
