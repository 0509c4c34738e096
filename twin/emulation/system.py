"""What the emulation needs from the machine, and Mininet's Python module.

The emulation runs as root on Linux with Mininet's ``mnexec``, Linux bridges (bridge-utils)
and iproute2 — the packages ``.ci/install-emulation`` installs. :func:`unavailable` says in
one line what is missing (or None), before anything is written.

Mininet's Python module comes with Debian's ``mininet`` package, for Debian's Python. The
twin's environment may be another Python 3 (a virtual environment, pyenv): when ``mininet``
is not importable, :func:`load_mininet` loads Debian's copy of that one package (pure
Python), without putting the rest of Debian's packages on the path — the module and the
``mnexec`` it drives then come from the same package version.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

SEARCH = ("/usr/lib/python3/dist-packages", "/usr/local/lib/python3/dist-packages",
          "/usr/share/mininet")
INSTALL = ".ci/install-emulation"


class EmulationUnavailable(Exception):
    """The machine cannot run the emulation; the text says what is missing."""


def load_mininet() -> ModuleType:
    try:
        return importlib.import_module("mininet")
    except ImportError:
        pass
    for base in SEARCH:
        if (Path(base) / "mininet" / "__init__.py").exists():
            spec = importlib.machinery.PathFinder.find_spec("mininet", [base])
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            sys.modules["mininet"] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                del sys.modules["mininet"]
                raise EmulationUnavailable(f"Mininet's module in {base} does not load: "
                                           f"{exc}") from None
            return module
    raise EmulationUnavailable(f"Mininet's Python module is not installed (run {INSTALL})")


def unavailable() -> str | None:
    """One line on what the machine lacks for the emulation, or None."""
    if not sys.platform.startswith("linux"):
        return f"the emulation needs Linux (this is {sys.platform}); see the Vagrantfile"
    if os.geteuid() != 0:
        return "the emulation needs root (network namespaces): run it with sudo"
    for tool, package in (("mnexec", "mininet"), ("brctl", "bridge-utils"),
                          ("ip", "iproute2"), ("tc", "iproute2")):
        if shutil.which(tool) is None:
            return f"{tool} is missing (Debian package {package}): run {INSTALL}"
    try:
        load_mininet()
    except EmulationUnavailable as exc:
        return str(exc)
    return None
