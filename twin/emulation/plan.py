"""The management network to emulate, planned from the scenario (no Mininet needed).

A plan is like an architect's drawing before the builders come: which emulated node carries
which network elements' management agents, which transport links run between nodes (with
the scenario's bandwidth), which addresses everything has, where the element managers and
the OSS collector sit.

*Nodes.* With ``reduction: full`` every network element is a node of its own (the ``small``
preset has 52). Larger networks are reduced: ``site`` puts cells and core functions on their
site's router node, ``region`` a whole access region on its aggregation router's node;
``auto`` takes the finest that stays within ``max_nodes``. A node's *primary* element is the
one it is named after: when it is down, the node's transport interfaces go down. A transport
link between elements on the same node is not on the wire (its cut acts only in the twin).

*Management.* ``out_of_band``: every node has an interface on a separate DCN, one LAN with the
element managers and the OSS collector. ``in_band``: the element managers and the collector
sit on a data-centre LAN attached to the first core router; an element reaches them over the
transport, routed along shortest paths of the links that are up.

*Addresses.* Element *i* (topology order) has management address ``10.253.i/250.i%250+1``;
the data-centre hosts are in ``10.253.255.0/24`` (collector ``.1``, element managers
``.11``…, the core router's data-centre interface ``.254``); transport link *j* is the /30
``10.252.j/64.(j%64)*4``. All of it exists only inside the emulation's network namespaces.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from twin.network.topology import Topology
from twin.scenario.schema import EmulationSpec

CORE_FUNCTION_TYPES = ("msc", "pgw", "hss", "dns", "ocs", "cdf")
DC_PREFIX = "10.253.255"
COLLECTOR_ADDRESS = f"{DC_PREFIX}.1"
DC_GATEWAY = f"{DC_PREFIX}.254"
MANAGEMENT_NET = "10.253.0.0/16"


@dataclass(frozen=True)
class NodePlan:
    name: str  # the Mininet node name (short: interface names hold at most 15 characters)
    primary: str  # the element it is named after
    elements: tuple[str, ...]  # every element whose agent lives here, primary first


@dataclass(frozen=True)
class LinkPlan:
    id: str  # the twin's link id
    index: int
    a: str  # node names
    b: str
    mbps: float
    ends: tuple[str, str] = ("", "")  # the elements at its two ends

    @property
    def addresses(self) -> tuple[str, str]:
        base = 4 * (self.index % 64)
        net = f"10.252.{self.index // 64}"
        return f"{net}.{base + 1}", f"{net}.{base + 2}"

    def intf(self, node: str) -> str:
        return f"{node}-t{self.index}"


@dataclass(frozen=True)
class HostPlan:
    name: str
    role: str  # ems | collector
    address: str
    ems: str = ""  # for an element manager host: its name (ems-alpha …)


@dataclass
class Plan:
    tag: str
    management: str
    reduction: str
    nodes: dict[str, NodePlan]
    node_of: dict[str, str]  # element → node name
    links: list[LinkPlan]
    folded_links: list[str]  # transport links inside one node: not on the wire
    address: dict[str, str]  # element → management address
    hosts: list[HostPlan]
    switch: str  # the data-centre (in-band) or DCN (out-of-band) LAN
    dc_router: str = ""  # in-band: the node the data centre hangs off
    ems_of: dict[str, str] = field(default_factory=dict)  # element → its element manager

    @property
    def collector(self) -> HostPlan:
        return next(h for h in self.hosts if h.role == "collector")

    @property
    def ems_hosts(self) -> dict[str, HostPlan]:
        return {h.ems: h for h in self.hosts if h.role == "ems"}

    def links_of(self, node: str) -> list[LinkPlan]:
        return [lk for lk in self.links if node in (lk.a, lk.b)]


def element_address(i: int) -> str:
    if i >= 250 * 255:
        raise ValueError("more elements than the management plan has addresses for")
    return f"10.253.{i // 250}.{i % 250 + 1}"


def _group(topo: Topology, level: str) -> dict[str, str]:
    """Element → the element whose node carries it."""
    els = topo.elements
    by_site: dict[tuple[str, str], str] = {}
    for e in els.values():
        if e.type in ("site_router", "core_router"):
            by_site.setdefault((e.site, e.type), e.id)
    agg_of_region: dict[str, str] = {}
    for e in els.values():
        if e.type == "agg_router":
            agg_of_region.setdefault(e.region, e.id)
    out: dict[str, str] = {}
    for e in els.values():
        owner = e.id
        if level in ("site", "region"):
            if e.type == "cell":
                owner = by_site.get((e.site, "site_router"), e.id)
            elif e.type in CORE_FUNCTION_TYPES:
                owner = by_site.get((e.site, "core_router"), e.id)
        if level == "region" and e.type not in ("core_router", *CORE_FUNCTION_TYPES):
            owner = agg_of_region.get(e.region, owner)
        out[e.id] = owner
    return out


def _level(topo: Topology, spec: EmulationSpec) -> tuple[str, dict[str, str]]:
    if spec.reduction != "auto":
        return spec.reduction, _group(topo, spec.reduction)
    for level in ("full", "site", "region"):
        owners = _group(topo, level)
        if len(set(owners.values())) <= spec.max_nodes:
            return level, owners
    return "region", owners


def plan(topo: Topology, spec: EmulationSpec, link_mbps: dict[str, float],
         tag: str | None = None) -> Plan:
    """The management network for ``topo``; ``link_mbps`` is the capacity by medium."""
    tag = tag or "w" + secrets.token_hex(2)[:3]
    level, owner = _level(topo, spec)
    order = list(topo.elements)
    owners = list(dict.fromkeys(owner[e] for e in order))
    name_of = {o: f"{tag}n{i}" for i, o in enumerate(owners)}
    members: dict[str, list[str]] = {o: [] for o in owners}
    for e in order:
        members[owner[e]].append(e)
    nodes = {name_of[o]: NodePlan(name_of[o], o, (o, *[m for m in members[o] if m != o]))
             for o in owners}
    node_of = {e: name_of[owner[e]] for e in order}
    links: list[LinkPlan] = []
    folded: list[str] = []
    for lid, link in topo.links.items():
        a, b = node_of[link.a], node_of[link.b]
        if a == b:
            folded.append(lid)
            continue
        links.append(LinkPlan(lid, len(links), a, b, link_mbps.get(link.medium, 10_000.0),
                              (link.a, link.b)))
    vendors = list(dict.fromkeys(e.vendor for e in topo.elements.values()))
    hosts = [HostPlan(f"{tag}c", "collector", COLLECTOR_ADDRESS)]
    hosts += [HostPlan(f"{tag}e{k}", "ems", f"{DC_PREFIX}.{11 + k}", f"ems-{v}")
              for k, v in enumerate(sorted(vendors))]
    core = next((e for e in order if topo.elements[e].type == "core_router"), order[0])
    return Plan(tag=tag, management=spec.management, reduction=level, nodes=nodes,
                node_of=node_of, links=links, folded_links=folded,
                address={e: element_address(i) for i, e in enumerate(order)}, hosts=hosts,
                switch=f"{tag}s",
                dc_router=node_of[core] if spec.management == "in_band" else "",
                ems_of={e: f"ems-{el.vendor}" for e, el in topo.elements.items()})
