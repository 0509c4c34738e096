"""Killed half-way, a study resumes: only the unfinished runs execute, and the results are
those of a study that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

import twin.study.engine as engine_module
from twin.study.study import sweep

from .study_support import BIN, METRICS, SCENARIO, TINY

VARY = {"oss.crews.count": [1, 2]}
SEEDS = 4  # 8 runs


def _argv(out: Path) -> list[str]:
    return [str(BIN / "twin"), "sweep", SCENARIO, "--vary", "oss.crews.count=1,2",
            "-n", str(SEEDS), "--seed", "3", *(a for s in TINY for a in ("--set", s)),
            *(a for m in METRICS for a in ("--metric", m)), "--workers", "1",
            "--out", str(out), "-q"]


def test_a_killed_sweep_resumes_where_it_stopped(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "study"
    proc = subprocess.Popen(_argv(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((out / "cache").glob("*.json"))) >= 3:
                break
            time.sleep(0.05)
    finally:  # the sweep, its local cluster and its workers: all in its process group
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the sweep finished before it could be killed"
    finished = {p.stem for p in (out / "cache").glob("*.json")}
    assert 3 <= len(finished) < 2 * SEEDS
    marker = json.loads((out / "sweep.json").read_text())
    assert marker["status"] == "running"  # the interrupted study says so
    assert not (out / "summaries.parquet").exists()

    ran: list[str] = []
    real = engine_module.execute_run

    def recording(scenario_yaml: str, seed: int, keep_dir: str | None,
                  version: str) -> dict[str, object]:
        ran.append(seed_key[(scenario_yaml, seed)])
        return real(scenario_yaml, seed, keep_dir, version)

    monkeypatch.setattr(engine_module, "execute_run", recording)
    from twin.scenario import dump, load
    from twin.study.cache import code_version, run_key

    seed_key = {}
    for crews in (1, 2):
        text = dump(load(SCENARIO, [*TINY, f"oss.crews.count={crews}"]).model_copy(
            update={"seed": 0}))
        for s in range(3, 3 + SEEDS):
            seed_key[(text, s)] = run_key(text, s, code_version())
    assert finished <= set(seed_key.values())

    resumed = sweep(SCENARIO, VARY, replications=SEEDS, seed=3, overrides=TINY,
                    metrics=METRICS, out=out, workers=0)
    assert sorted(ran) == sorted(set(seed_key.values()) - finished)  # only the rest ran
    assert resumed.executed == 2 * SEEDS - len(finished)
    assert resumed.cached == len(finished)
    marker = json.loads((out / "sweep.json").read_text())
    assert marker["status"] == "complete" and marker["executed"] == resumed.executed

    whole = sweep(SCENARIO, VARY, replications=SEEDS, seed=3, overrides=TINY,
                  metrics=METRICS, out=tmp_path / "whole", workers=0)
    assert whole.executed == 2 * SEEDS
    pd.testing.assert_frame_equal(pd.read_parquet(out / "summaries.parquet"),
                                  pd.read_parquet(tmp_path / "whole" / "summaries.parquet"))
    pd.testing.assert_frame_equal(pd.read_csv(out / "statistics.csv"),
                                  pd.read_csv(tmp_path / "whole" / "statistics.csv"))

    ran.clear()  # run again: everything is cached, nothing executes
    again = sweep(SCENARIO, VARY, replications=SEEDS, seed=3, overrides=TINY,
                  metrics=METRICS, out=out, workers=0)
    assert ran == [] and again.executed == 0 and again.cached == 2 * SEEDS
    pd.testing.assert_frame_equal(again.summaries, whole.summaries)
