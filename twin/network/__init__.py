"""The network twin: topology, traffic, faults, telemetry — and the ground truth.

The public names are imported on first use: a submodule imported alone (the process that
draws traffic ahead imports :mod:`twin.network.offered` only) does not pay for the graph
libraries the topology needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twin.kernel.lazy import lazy_names

if TYPE_CHECKING:
    from twin.network.topology import Topology, build_topology
    from twin.network.twin import NetworkTwin

_LAZY = {"NetworkTwin": "twin.network.twin", "Topology": "twin.network.topology",
         "build_topology": "twin.network.topology"}

__getattr__ = lazy_names(globals(), _LAZY)

__all__ = ["NetworkTwin", "Topology", "build_topology"]
