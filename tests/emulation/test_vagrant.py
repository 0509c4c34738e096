"""The Vagrantfile: ``vagrant validate`` accepts it (and rejects a broken copy), and its
provisioning script — the same install script CI runs, ``make demo``, the emulated
quickstart — runs to the end here. No hypervisor is needed for either."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, require

pytestmark = pytest.mark.xdist_group("emulation")  # one worker: see conftest.py

FILES = ("Vagrantfile", ".ci/vagrant-provision", ".ci/install-emulation")


def _copy(files: tuple[str, ...], to: Path) -> None:
    for name in files:
        (to / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, to / name)


def _validate(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VAGRANT_CWD": str(where), "VAGRANT_CHECKPOINT_DISABLE": "1"}
    return subprocess.run(["vagrant", "validate", "--ignore-provider"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_vagrant_validates_the_vagrantfile(tmp_path: Path) -> None:
    require("vagrant")
    good, bad = tmp_path / "good", tmp_path / "bad"
    for where in (good, bad):
        _copy(FILES, where)
    text = (bad / "Vagrantfile").read_text().replace("config.vm.box =", "config.vm.boxx =")
    (bad / "Vagrantfile").write_text(text)
    ok = _validate(good)
    assert ok.returncode == 0 and "validated successfully" in ok.stdout, ok.stdout + ok.stderr
    broken = _validate(bad)
    assert broken.returncode != 0
    assert "provision" in (REPO / "Vagrantfile").read_text()


def test_the_provisioning_script_runs_here(tmp_path: Path) -> None:
    """On a copy of the repository, with this test run's Python environment (so nothing is
    installed: the install script finds its packages present)."""
    require("vagrant")
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout.split()
    files = tuple(f for f in listed if (REPO / f).is_file())
    repo = tmp_path / "repo"
    _copy(files, repo)
    venv = Path(sys.prefix)
    stamp = venv / ".installed"
    assert stamp.exists(), "run the tests from the Makefile's environment"
    t = stamp.stat().st_mtime - 60  # make must not reinstall into this environment
    os.utime(repo / "pyproject.toml", (t, t))
    env = {**os.environ, "TWIN_REPO": str(repo), "TWIN_VENV": str(venv)}
    done = subprocess.run([str(repo / ".ci/vagrant-provision")], env=env, capture_output=True,
                          text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "vagrant-provision: done" in done.stdout
    demo = json.loads((repo / "runs/quickstart/summary.json").read_text())
    emulated = json.loads((repo / "runs/quickstart-emulated/summary.json").read_text())
    assert "wire" not in demo and emulated["wire"]["southbound_sent"] > 0
    assert emulated["oss"] == demo["oss"]
