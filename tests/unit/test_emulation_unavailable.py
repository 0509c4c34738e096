"""Without root or Mininet, ``twin run --emulate`` exits 2 with one line saying what is
missing, and writes nothing; the API raises EmulationUnavailable before writing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import twin
from twin.cli import main
from twin.emulation import EmulationUnavailable, system

QUICKSTART = Path(__file__).resolve().parents[2] / "scenarios" / "quickstart.yaml"


@pytest.mark.parametrize("missing", ["root", "mnexec", "module"])
def test_twin_run_emulate_says_what_is_missing_and_writes_nothing(
        missing: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    if missing == "root":
        monkeypatch.setattr(system.os, "geteuid", lambda: 1000)
    else:
        monkeypatch.setattr(system.os, "geteuid", lambda: 0)
        if missing == "mnexec":
            which = shutil.which
            monkeypatch.setattr(system.shutil, "which",
                                lambda tool: None if tool == "mnexec" else which(tool) or tool)
        else:
            monkeypatch.setattr(system.shutil, "which", lambda tool: f"/usr/bin/{tool}")
            monkeypatch.setattr(system, "SEARCH", ())
            monkeypatch.setattr(system.importlib, "import_module",
                                lambda name: (_ for _ in ()).throw(ImportError(name)))
    out = tmp_path / "run"
    code = main(["run", str(QUICKSTART), "--emulate", "-q", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --emulate: ")
    assert {"root": "root", "mnexec": "mnexec", "module": "Python module"}[missing] in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(EmulationUnavailable):
        twin.simulate(QUICKSTART, out=out, emulate=True)
    assert not out.exists() and list(tmp_path.iterdir()) == []
