"""The network twin: topology, traffic, faults, telemetry — and the ground truth."""

from twin.network.topology import Topology, build_topology
from twin.network.twin import NetworkTwin

__all__ = ["NetworkTwin", "Topology", "build_topology"]
