"""The emulation tests: root, Linux and the packages of .ci/install-emulation.

Without them every test here skips with one reason — or fails, when
``TWIN_REQUIRE_EMULATION=1`` (CI sets it after installing the packages), so a missing
package cannot turn the suite green by skipping. They share one pytest-xdist worker
(``xdist_group``): two emulations at once would only slow each other down, and the cleanup
tests compare the machine's namespaces, links and processes before and after.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import twin
from twin.emulation import REQUIRE, unavailable

HERE = Path(__file__).parent
REPO = HERE.parents[1]
QUICKSTART = REPO / "scenarios" / "quickstart.yaml"


def require(tool: str | None = None) -> None:
    """Skip (or fail, under TWIN_REQUIRE_EMULATION=1) without the emulation or ``tool``."""
    problem = unavailable()
    if problem is None and tool is not None and shutil.which(tool) is None:
        problem = f"{tool} is not installed (run .ci/install-emulation)"
    if problem is not None:
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1 but the emulation cannot run: {problem}")
        pytest.skip(f"emulation unavailable: {problem}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if HERE in path.parents or path.name == "07_fibre_cut_on_the_wire.ipynb":
            item.add_marker(pytest.mark.xdist_group("emulation"))


@pytest.fixture(autouse=True)
def _needs_emulation(request: pytest.FixtureRequest) -> None:
    if HERE in Path(str(request.node.fspath)).parents:
        require()


@pytest.fixture(scope="session")
def quickstart_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[twin.Run,
                                                                                 twin.Run]]:
    """The quickstart in-process and emulated (out-of-band), same seed."""
    require()
    base = tmp_path_factory.mktemp("quickstart")
    # no message cut in transit: the wire reads a cut trap with other words (and snmptrapd
    # and tshark call it malformed), so the pair would differ by the dialect's noise
    clean = ("network.telemetry.malformed_rate=0",)
    inproc = twin.simulate(QUICKSTART, out=base / "inproc", report=False, overrides=clean)
    emulated = twin.simulate(QUICKSTART, out=base / "emulated", report=False, emulate=True,
                             overrides=clean)
    yield inproc, emulated
