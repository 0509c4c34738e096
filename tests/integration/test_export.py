"""``twin export``: a run's resources as TM Forum JSON files that validate against the specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import twin
from twin.cli import main
from twin.export import RESOURCES, export

from .support import QUICKSTART, SMALL, RunScenario
from .tmf import check

DEFINITION = {"alarm": "Alarm", "troubleTicket": "TroubleTicket",
              "serviceProblem": "ServiceProblem", "usage": "Usage",
              "customerBill": "CustomerBill",
              "appliedCustomerBillingRate": "AppliedCustomerBillingRate",
              "productOrder": "ProductOrder", "serviceOrder": "ServiceOrder"}
LIMIT = 400


@pytest.fixture(scope="module")
def run(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=SMALL)


@pytest.fixture(scope="module")
def exported(run: twin.Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tmf") / "tmf"
    assert main(["export", str(run.path), "--out", str(out), "--limit", str(LIMIT)]) == 0
    return out


def test_every_file_validates_against_its_tmf_schema(exported: Path) -> None:
    files = sorted(p.name for p in exported.iterdir())
    assert files == sorted(f"{api}-{r}.json" for api, rs in RESOURCES.items() for r in rs)
    for path in exported.iterdir():
        api, resource = path.stem.split("-", 1)
        items = json.loads(path.read_text(encoding="utf-8"))
        check(api, DEFINITION[resource], items)


def test_counts_follow_the_tables(run: twin.Run, exported: Path) -> None:
    def n(name: str) -> int:
        return len(json.loads((exported / name).read_text(encoding="utf-8")))

    assert n("TMF642-alarm.json") == min(LIMIT, len(run.table("alarms"))) > 0
    assert n("TMF656-serviceProblem.json") == min(LIMIT, len(run.table("incidents"))) > 0
    complaints = min(LIMIT, len(run.table("customer_tickets")))
    assert n("TMF621-troubleTicket.json") == min(LIMIT, len(run.table("tickets"))) + complaints
    assert n("TMF635-usage.json") == LIMIT  # the first records received
    assert n("TMF678-customerBill.json") == min(LIMIT, len(run.table("invoices")))


def test_usage_in_slices_is_the_same_as_at_once(run: twin.Run, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    whole = export(run.path, tmp_path / "a", ["TMF635"], limit=1000)
    monkeypatch.setattr("twin.export.USAGE_SLICE", 97)
    sliced = export(run.path, tmp_path / "b", ["tmf635"], limit=1000)
    assert whole == sliced == {"TMF635-usage.json": 1000}
    assert (tmp_path / "a" / "TMF635-usage.json").read_text() == \
        (tmp_path / "b" / "TMF635-usage.json").read_text()


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
    assert [p.name for p in out.iterdir()] == ["keep.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmf"]
