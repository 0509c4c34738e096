"""The network twin: topology, traffic, faults, telemetry — and the ground truth.

The public names are imported on first use: a submodule imported alone (the process that
draws traffic ahead imports :mod:`twin.network.offered` only) does not pay for the graph
libraries the topology needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin.network.topology import Topology, build_topology
    from twin.network.twin import NetworkTwin

_LAZY = {"NetworkTwin": "twin.network.twin", "Topology": "twin.network.topology",
         "build_topology": "twin.network.topology"}


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'twin.network' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = ["NetworkTwin", "Topology", "build_topology"]
