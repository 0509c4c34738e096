"""Every --vary, --sample, --metric, --until-ci, --scheduler and --out problem stops a study
with exit 2 before anything runs or is written, naming what is wrong."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import twin.study.engine as engine_module
from twin.cli import main

from .study_support import BIN, SCENARIO

BASE = ["sweep", SCENARIO, "-q"]


@pytest.fixture(autouse=True)
def no_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a run or a cluster was started")

    monkeypatch.setattr(engine_module.Engine, "__enter__", refuse)
    monkeypatch.setattr(engine_module, "execute_run", refuse)


@pytest.mark.parametrize(("args", "said"), [
    (["--vary", "oss.crews.count=1,2", "--metric", "oss.mtr_s"],
     ["oss.mtr_s: not a summary key (did you mean oss.mttr_s"]),
    (["--vary", "oss.crews.count=1,2", "--metric", "bss.currency"],
     ["bss.currency: not a numeric summary key"]),
    (["--vary", "oss.crew.count=1,2"], ["oss.crew: unknown field (--vary oss.crew.count=1)"]),
    (["--vary", "oss.crews.count=1,-2"], ["oss.crews.count:", "(--vary oss.crews.count=-2)"]),
    (["--vary", "oss.repair_policy=fifo,fast"], ["oss.repair_policy:", "fast"]),
    (["--vary", "oss.crews.count"], ["expected PATH=VALUE1,VALUE2"]),
    (["--vary", "oss.crews.count=1,1"], ["the same value is given twice"]),
    (["--sample", "oss.crews.travel_mean=10..90"],
     ["oss.crews.travel_mean: unknown field (--sample oss.crews.travel_mean=10)"]),
    (["--sample", "oss.crews.count=0..3"], ["oss.crews.count:", "--sample oss.crews.count=0"]),
    (["--sample", "oss.crews.count=3..1"], ["the low end 3 is not below the high end 1"]),
    (["--sample", "oss.crews.count=1-3"], ["expected PATH=LOW..HIGH"]),
    (["--sample", "oss.crews.count=1..3", "--points", "1"], ["--points: at least 2"]),
    (["--vary", "oss.crews.count=1,2", "--sample", "oss.crews.count=1..3"],
     ["oss.crews.count: both varied and sampled"]),
    ([], ["give at least one PATH"]),
    (["--vary", "oss.crews.count=1,2", "--until-ci", "oss.mttd=5", "--metric", "oss.mttr_s"],
     ["oss.mttd: not among this study's metrics"]),
    (["--vary", "oss.crews.count=1,2", "--until-ci", "soon"], ["expected HALF_WIDTH"]),
    (["--vary", "oss.crews.count=1,2", "--until-ci", "5", "-n", "1"], ["at least 2 seeds"]),
    (["--vary", "oss.crews.count=1,2", "--scheduler", "localhost:8786"],
     ["expected a scheduler address like tcp://host:8786"]),
    (["--vary", "oss.crews.count=1,2", "--workers", "-1"], ["--workers: must be 0"]),
    (["--vary", "oss.crews.count=1,2", "--set", "oss.crews.count=many"],
     ["oss.crews.count: Input should be a valid integer"]),
])
def test_bad_arguments_exit_2_before_any_run(args: list[str], said: list[str], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "study"
    assert main([*BASE, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    for text in said:
        assert text in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_an_out_directory_a_study_did_not_write_is_left_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main([*BASE, "--vary", "oss.crews.count=1,2", "--out", str(out)]) == 2
    assert "is not a directory a twin study wrote (no sweep.json)" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "keep me"


def test_compare_checks_its_metrics_before_any_run(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    assert main(["compare", SCENARIO, "--vary", "oss.repair_policy=fifo,revenue",
                 "--metric", "bss.lost_outage", "--out", str(out), "-q"]) == 2
    assert "bss.lost_outage: not a summary key" in capsys.readouterr().err
    assert not out.exists()


def test_the_installed_command_exits_2_on_a_metric_typo(tmp_path: Path) -> None:
    """The real command line, in a fresh process (its speed is measured in
    tests/benchmarks/sweep.py)."""
    out = tmp_path / "study"
    proc = subprocess.run([str(BIN / "twin"), "sweep", SCENARIO, "--vary",
                           "oss.crews.count=1,2", "--metric", "oss.mttr", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "oss.mttr: not a summary key" in proc.stderr
    assert not out.exists()
