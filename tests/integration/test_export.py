"""``twin export``: a run's resources as TM Forum JSON files a real consumer can load —
valid against the specs with formats checked, absolute ``href``s, one id per resource,
the same party and account ids in every API, every reference resolving inside the export."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import twin
from twin.cli import main
from twin.export import RESOURCES, export
from twin.messages import TMF_BASE_URL

from .support import QUICKSTART, SCENARIOS, SMALL, RunScenario
from .tmf import check

DEFINITION = {"alarm": "Alarm", "troubleTicket": "TroubleTicket",
              "serviceProblem": "ServiceProblem", "usage": "Usage",
              "customerBill": "CustomerBill",
              "appliedCustomerBillingRate": "AppliedCustomerBillingRate",
              "productOrder": "ProductOrder", "serviceOrder": "ServiceOrder"}
TYPE_OF = {v: k for k, v in DEFINITION.items()}  # @referredType → resource file
LIMIT = 400
# every kind of record and resource: orders across a bill run, a cut, sessions in partial
# records, duplicates, lines waiting in suspense for guiding
RICH = (*SMALL, "start=2026-01-30T00:00:00Z", "traffic.records.partial_time_limit=600",
        "bss.mediation.guiding_delay_mean=3h")


@pytest.fixture(scope="module")
def run(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(SCENARIOS / "order_to_cash.yaml", overrides=RICH)


@pytest.fixture(scope="module")
def exported(run: twin.Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tmf") / "tmf"
    assert main(["export", str(run.path), "--out", str(out), "--limit", str(LIMIT)]) == 0
    return out


@pytest.fixture(scope="module")
def full(run: twin.Run, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    """The whole export, every resource, by resource name."""
    out = tmp_path_factory.mktemp("full") / "tmf"
    written = export(run.path, out, base_url="https://bss.example.com/tmf-api/")
    assert all(n > 0 for n in written.values()), written
    return {p.stem.split("-", 1)[1]: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(out.iterdir())}


def test_every_file_validates_against_its_tmf_schema_formats_included(exported: Path) -> None:
    files = sorted(p.name for p in exported.iterdir())
    assert files == sorted(f"{api}-{r}.json" for api, rs in RESOURCES.items() for r in rs)
    for path in exported.iterdir():
        api, resource = path.stem.split("-", 1)
        items = json.loads(path.read_text(encoding="utf-8"))
        check(api, DEFINITION[resource], items)


def test_usage_of_every_kind_validates(run: twin.Run, full: dict[str, list[Any]]) -> None:
    """Duplicates, parts of sessions, records that waited in suspense, with the closing
    part carrying its session's rating."""
    usage = full["usage"]
    chars = [{c["name"]: c["value"] for c in u["usageCharacteristic"]} for u in usage]
    picked = {
        "duplicate": [u for u, c in zip(usage, chars, strict=True)
                      if c.get("rejectReason") == "duplicate"],
        "part": [u for u, c in zip(usage, chars, strict=True)
                 if c["recordSequenceNumber"] > 0],
        "assembled": [u for u, c in zip(usage, chars, strict=True)
                      if "assembledFromParts" in c],
    }
    suspended = set(run.sql("SELECT node_id || '-' || record_id AS id FROM cdrs "
                            "WHERE state = 'recycled'")["id"])
    picked["suspended"] = [u for u in usage if u["id"] in suspended]
    for kind, items in picked.items():
        assert items, f"the run has no {kind} records"
        check("TMF635", "Usage", items[:50])
    assert all("ratedProductUsage" in u for u in picked["assembled"])
    assert not any("ratedProductUsage" in u for u in picked["part"]
                   if u not in picked["assembled"])
    assert {u["status"] for u in picked["suspended"]} <= {"billed", "rated", "recycled",
                                                          "rejected"}


def test_one_usage_per_received_record_with_its_own_id(run: twin.Run,
                                                        full: dict[str, list[Any]]) -> None:
    usage = full["usage"]
    assert len(usage) == run.summary["bss"]["cdrs_received"]
    for name, items in full.items():
        ids = Counter(str(i["id"]) for i in items)
        assert max(ids.values()) == 1, f"{name}: ids used twice {ids.most_common(3)}"
    # the money of the usage is the rated money, once per session
    per = run.summary["bss"]["minor_per_major"]
    rated = sum(r["taxExcludedRatingAmount"]["value"] for u in usage
                for r in u.get("ratedProductUsage", []))
    assert rated == pytest.approx(run.summary["reconciliation"]["rated_minor"] / per, abs=0.01)
    # each rated record (a session once) carries its rating; billed ones say so
    rated_usage = [u for u in usage if "ratedProductUsage" in u]
    assert len(rated_usage) == run.summary["bss"]["cdrs_rated"]
    for u in rated_usage:
        assert u["ratedProductUsage"][0]["isBilled"] == (u["status"] == "billed")
        assert u["status"] in ("billed", "rated", "rerated")


def test_hrefs_are_absolute_under_the_base_url(full: dict[str, list[Any]]) -> None:
    base = "https://bss.example.com/tmf-api/"
    for name, items in full.items():
        for item in items:
            for ref in refs(item):
                if "href" in ref:
                    assert ref["href"].startswith(base), ref
            assert item["href"].startswith(base) and \
                item["href"].endswith(f"/{name}/{item['id']}")


def refs(node: Any) -> Iterator[dict[str, Any]]:
    """Every object inside ``node`` that refers to a resource: it has an ``href`` or an
    ``@referredType`` (or is an external reference)."""
    if isinstance(node, dict):
        if "href" in node or "@referredType" in node or "externalReferenceType" in node:
            yield node
        for v in node.values():
            yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def test_every_reference_resolves_inside_the_export(run: twin.Run,
                                                    full: dict[str, list[Any]]) -> None:
    """A reference to an exported kind of resource names one that is in the export, by id
    and href; a reference to a party, account, line or service names one the run has, by
    the ids every API uses; a line's customer is its account's."""
    by_href = {i["href"]: (name, str(i["id"])) for name, items in full.items() for i in items}
    subs = run.table("subscriptions").set_index("sub")
    accounts = set(subs["account"])
    resolved = Counter()
    for name, items in full.items():
        for item in items:
            for ref in refs({k: v for k, v in item.items() if k != "href"}):
                kind = ref.get("@referredType") or ref.get("externalReferenceType")
                if "href" in ref:
                    assert ref["href"] in by_href, f"{name} {item['id']}: {ref}"
                    target, tid = by_href[ref["href"]]
                    assert tid == str(ref["id"]), ref
                    if kind in TYPE_OF:
                        assert TYPE_OF[kind] == target, ref
                    resolved[target] += 1
                    continue
                assert kind not in TYPE_OF and kind != "productOrder", \
                    f"{name} {item['id']}: a reference to an exported {kind} without href"
                rid = str(ref["id"])
                if kind == "BillingAccount":
                    assert re.fullmatch(r"acc-\d+", rid) and int(rid[4:]) in accounts, ref
                elif kind == "Customer":
                    assert re.fullmatch(r"cust-\d+", rid) and int(rid[5:]) in accounts, ref
                elif kind == "Product":
                    assert re.fullmatch(r"sub-\d+", rid) and int(rid[4:]) in subs.index, ref
            parties = [p["id"] for p in item.get("relatedParty", [])
                       if p.get("role") == "customer"]
            products = [r["productRef"]["id"] for r in item.get("ratedProductUsage", [])]
            for cust, product in zip(parties * len(products), products, strict=False):
                assert int(cust[5:]) == subs.loc[int(product[4:]), "account"]
    # the cross-API references were really there to check
    for target in ("alarm", "troubleTicket", "serviceProblem", "customerBill",
                   "productOrder"):
        assert resolved[target] > 0, f"no reference to a {target} was checked"


def test_the_same_account_and_customer_ids_in_every_api(full: dict[str, list[Any]]) -> None:
    seen: dict[str, set[str]] = {}
    for name, items in full.items():
        for item in items:
            for ref in refs(item):
                kind = ref.get("@referredType")
                if kind in ("BillingAccount", "Customer"):
                    seen.setdefault(kind, set()).add(name)
                    assert re.fullmatch(r"(acc|cust)-\d+", str(ref["id"])), (name, ref)
    assert seen["BillingAccount"] >= {"customerBill", "appliedCustomerBillingRate",
                                      "productOrder"}
    assert seen["Customer"] >= {"usage", "troubleTicket", "customerBill", "productOrder"}
    problems = full["serviceProblem"]
    assert all(p["originatorParty"]["id"] == "twin-oss" for p in problems)


def test_ndjson_is_the_same_resources_one_per_line(run: twin.Run, tmp_path: Path) -> None:
    a = export(run.path, tmp_path / "a", ["TMF635", "TMF678"], limit=700)
    b = export(run.path, tmp_path / "b", ["TMF635", "TMF678"], limit=700, ndjson=True)
    assert {k.replace(".json", ""): v for k, v in a.items()} == \
        {k.replace(".ndjson", ""): v for k, v in b.items()}
    for name in a:
        whole = json.loads((tmp_path / "a" / name).read_text(encoding="utf-8"))
        lines = (tmp_path / "b" / name.replace(".json", ".ndjson")).read_text(
            encoding="utf-8").splitlines()
        assert [json.loads(x) for x in lines] == whole


def test_usage_in_slices_is_the_same_as_at_once(run: twin.Run, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    whole = export(run.path, tmp_path / "a", ["TMF635"], limit=3000)
    monkeypatch.setattr("twin.export.USAGE_SLICE", 97)
    sliced = export(run.path, tmp_path / "b", ["tmf635"], limit=3000)
    assert whole == sliced == {"TMF635-usage.json": 3000}
    assert (tmp_path / "a" / "TMF635-usage.json").read_text() == \
        (tmp_path / "b" / "TMF635-usage.json").read_text()


def test_apis_without_data_write_no_file_and_say_so(run_scenario: RunScenario, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    # no orders: nobody orders a line and, without churn, nobody cancels one
    quick = run_scenario(QUICKSTART, overrides=(*SMALL, "bss.care.churn_base_monthly=0"))
    assert main(["export", str(quick.path), "--out", str(tmp_path / "t"), "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "TMF622-productOrder.json: none" in out and "TMF641-serviceOrder.json: none" in out
    names = {p.name for p in (tmp_path / "t").iterdir()}
    assert "TMF622-productOrder.json" not in names and "TMF641-serviceOrder.json" not in names
    assert all(json.loads((tmp_path / "t" / n).read_text()) for n in names)


def test_bad_requests_fail_cleanly_and_keep_earlier_exports(run: twin.Run, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str],
                                                            ) -> None:
    out = tmp_path / "tmf"
    out.mkdir()
    (out / "keep.json").write_text("[]")
    assert main(["export", str(run.path), "--out", str(out), "--api", "TMF999"]) == 2
    assert "unknown API TMF999" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--out", str(out)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    for bad in ("/relative", "ftp://x/y", "http://", "http://h/p?q=1"):
        assert main(["export", str(run.path), "--out", str(out), "--base-url", bad]) == 2
        assert "base URL must be an absolute" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmf"]
    assert TMF_BASE_URL.startswith("http")


def test_the_schema_check_catches_a_relative_href(exported: Path) -> None:
    """Formats are really checked: the relative hrefs the exports once had fail."""
    usage = json.loads((exported / "TMF635-usage.json").read_text(encoding="utf-8"))[0]
    check("TMF635", "Usage", [usage])
    with pytest.raises(AssertionError, match="is not a 'uri'"):
        check("TMF635", "Usage", [{**usage, "href": f"/tmf-api/usageManagement/v4/usage/"
                                                     f"{usage['id']}"}])
