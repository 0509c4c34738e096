"""Package names imported on first use: the drawing process stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from twin.kernel.lazy import lazy_names


def test_names_come_from_their_module_once_asked_for() -> None:
    ns: dict[str, object] = {"__name__": "pkg"}
    get = lazy_names(ns, {"sqrt": "math", "root": ("math", "sqrt")})
    assert get("root")(9.0) == 3.0 and get("sqrt")(4.0) == 2.0
    assert "sqrt" in ns and "root" in ns  # kept: asked for once
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'cbrt'"):
        get("cbrt")


def test_packages_resolve_their_public_names() -> None:
    import twin
    import twin.kernel
    import twin.network

    assert twin.network.build_topology.__module__ == "twin.network.topology"
    assert twin.kernel.Sim.__module__ == "twin.kernel.sim"
    assert twin.simulate.__module__ == "twin.api"
    with pytest.raises(AttributeError):
        _ = twin.kernel.nothing_here  # type: ignore[attr-defined]


def test_the_drawing_process_imports_neither_arrow_nor_the_graph_libraries() -> None:
    """What the process drawing traffic ahead imports (twin.network.offered) leaves out
    the topology's graph libraries, Arrow and SimPy: it starts in about half a second."""
    code = ("import sys, twin.network.offered; "
            "print(sorted(m for m in ('networkx', 'scipy.sparse', 'pyarrow', 'simpy', "
            "'twin.network.twin') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
