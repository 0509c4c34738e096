"""End to end: `twin topologies` lists the real backbones; a bad key is refused (exit 2) with
the nearest names, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.cli import main

REPO = Path(__file__).resolve().parents[2]
ABILENE = REPO / "scenarios" / "backbone_abilene.yaml"


def words(text: str) -> str:
    return " ".join(text.split())


def test_topologies_lists_every_network_and_why_some_are_refused(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topologies"]) == 0
    out = words(capsys.readouterr().out)
    assert "229 listed, 217 usable" in out
    for key in ("sndlib/abilene", "sndlib/geant", "topozoo/Geant2012", "topozoo/TataNld"):
        assert key in out
    assert ("refused sndlib/ta2: it is drawn on a grid, not at longitude and latitude, so "
            "its link lengths mean nothing") in out
    assert out.count("refused ") == 12


def test_topologies_filters_by_name_and_group(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topologies", "GEANT"]) == 0
    out = words(capsys.readouterr().out)
    assert "5 listed, 5 usable" in out and "sndlib/geant │ 22 │ 36 │ 37,948 │ 462 │ – │" in out
    assert main(["topologies", "--group", "sndlib"]) == 0
    out = words(capsys.readouterr().out)
    assert "26 listed, 14 usable" in out and "topozoo/" not in out


def test_a_bad_backbone_key_is_refused_with_the_nearest_names(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = main(["run", str(ABILENE), "--out", str(out), "-q",
                 "--set", "network.backbone=topozoo/Geant"])
    assert code == 2
    err = words(capsys.readouterr().err)
    assert ("network.backbone: topohub has no network 'topozoo/Geant' (nearest: "
            "topozoo/Geant2001, topozoo/Geant2009, topozoo/Geant2010)") in err
    assert "Traceback" not in err
    assert not out.exists() and not list(tmp_path.iterdir())
    assert main(["validate", str(ABILENE), "--set", "network.pops.core=[Atlanta]"]) == 2
    err = words(capsys.readouterr().err)
    assert "network.pops.core[0]: no PoP 'Atlanta' in sndlib/abilene (nearest:" in err
