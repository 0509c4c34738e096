"""The run store: atomic run directories, and reading runs back (tables, SQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from twin.store import Run, RunDirectory


class Interrupted(RuntimeError):
    pass


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def test_commit_moves_a_complete_run_into_place(tmp_path: Path) -> None:
    final = tmp_path / "runs" / "r1"
    with RunDirectory(final) as rd:
        assert rd.tmp.exists() and rd.tables.is_dir() and (rd.tmp / "figures").is_dir()
        rd.write_json("summary.json", {"a": 1})
        rd.write_text("scenario.yaml", "name: x\n")
        assert not final.exists()  # nothing under the final name while writing
        assert rd.commit() == final.resolve()
    assert json.loads((final / "summary.json").read_text()) == {"a": 1}
    assert (final / "tables").is_dir()
    assert siblings(final) == ["r1"]  # no temporary directory left beside it


def test_exception_leaves_no_directory_under_the_final_name(tmp_path: Path) -> None:
    final = tmp_path / "r1"
    with pytest.raises(Interrupted), RunDirectory(final) as rd:
        rd.write_json("summary.json", {"half": True})
        (rd.tables / "alarms.parquet").write_bytes(b"partial")
        raise Interrupted
    assert not final.exists()
    assert siblings(final) == []  # the partial directory was removed too


def test_exception_leaves_an_earlier_run_untouched(tmp_path: Path) -> None:
    final = tmp_path / "r1"
    (final / "tables").mkdir(parents=True)
    (final / "manifest.json").write_text('{"twin_version": "0.1.0"}\n')
    (final / "summary.json").write_text('{"old": true}\n')
    (final / "tables" / "t.parquet").write_bytes(b"old table")
    before = snapshot(final)
    with pytest.raises(Interrupted), RunDirectory(final) as rd:
        rd.write_json("summary.json", {"new": True})
        raise Interrupted
    assert snapshot(final) == before
    assert siblings(final) == ["r1"]


def test_commit_replaces_an_earlier_run_wholesale(tmp_path: Path) -> None:
    final = tmp_path / "r1"
    final.mkdir()
    (final / "manifest.json").write_text('{"twin_version": "0.1.0"}\n')
    (final / "stale.txt").write_text("from the old run")
    with RunDirectory(final) as rd:
        rd.write_text("fresh.txt", "new")
        rd.commit()
    assert sorted(p.name for p in final.iterdir()) == ["figures", "fresh.txt", "tables"]
    assert siblings(final) == ["r1"]  # the old run was removed after the swap


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    root = tmp_path / "run"
    (root / "tables").mkdir(parents=True)
    (root / "summary.json").write_text(json.dumps({"scenario": "s", "oss": {"tickets": 2}}))
    (root / "manifest.json").write_text(json.dumps({"seed": 4}))
    (root / "scenario.yaml").write_text("name: s\nseed: 4\n")
    pd.DataFrame({"ticket_id": [1, 2, 3], "root": ["a", "b", "a"],
                  "repair_s": [10.0, 20.0, 30.0]}).to_parquet(root / "tables" / "tickets.parquet")
    pd.DataFrame({"alarm_id": [1, 2], "ticket_id": [1, 3]}).to_parquet(
        root / "tables" / "alarms.parquet")
    return root


def test_run_reads_summary_manifest_and_scenario(run_dir: Path) -> None:
    run = Run(run_dir)
    assert run.summary["oss"]["tickets"] == 2
    assert run.manifest["seed"] == 4
    assert run.scenario == {"name": "s", "seed": 4}
    assert run.tables == ["alarms", "tickets"]
    assert "run" in repr(run)


def test_run_table_is_a_dataframe(run_dir: Path) -> None:
    df = Run(run_dir).table("tickets")
    assert isinstance(df, pd.DataFrame)
    assert df["ticket_id"].tolist() == [1, 2, 3]
    assert df["repair_s"].sum() == 60.0


def test_run_table_unknown_name_lists_the_tables(run_dir: Path) -> None:
    with pytest.raises(KeyError, match="alarms, tickets"):
        Run(run_dir).table("invoices")


def test_run_sql_over_the_tables(run_dir: Path) -> None:
    run = Run(run_dir)
    df = run.sql("SELECT root, sum(repair_s) AS s FROM tickets GROUP BY root ORDER BY root")
    assert df.to_dict("list") == {"root": ["a", "b"], "s": [40.0, 20.0]}
    joined = run.sql("SELECT a.alarm_id, t.root FROM alarms a JOIN tickets t USING (ticket_id) "
                     "ORDER BY a.alarm_id")
    assert joined["root"].tolist() == ["a", "a"]


def test_run_requires_a_summary(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        Run(tmp_path)


def test_run_path_with_a_quote(tmp_path: Path, run_dir: Path) -> None:
    odd = tmp_path / "o'brien run"
    run_dir.rename(odd)
    assert Run(odd).sql("SELECT count(*) AS n FROM tickets")["n"].tolist() == [3]
