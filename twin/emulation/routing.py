"""In-band management routes: shortest paths over the transport links that are up.

The transport's own routing protocol is not the subject here, so it converges at once: after
every change the emulation recomputes, for every node, the next hop toward each management
address and toward the data centre, and replaces only the routes that changed. A
destination with no path keeps its old route — its packets die at the link that is down,
as on a real network before any protocol has noticed.
"""

from __future__ import annotations

from collections import deque

from twin.emulation.plan import DC_PREFIX, LinkPlan, Plan

Route = tuple[str, str]  # (next-hop address, interface)


def table(plan: Plan, down_links: set[str], down_nodes: set[str]
          ) -> dict[str, dict[str, Route]]:
    """node → destination prefix → (next hop, interface), for the nodes and links up."""
    adj: dict[str, list[tuple[str, LinkPlan]]] = {n: [] for n in plan.nodes}
    for link in plan.links:
        if link.id in down_links or link.a in down_nodes or link.b in down_nodes:
            continue
        adj[link.a].append((link.b, link))
        adj[link.b].append((link.a, link))
    prefixes: dict[str, list[str]] = {n: [] for n in plan.nodes}
    for element, node in plan.node_of.items():
        prefixes[node].append(f"{plan.address[element]}/32")
    if plan.dc_router:
        prefixes[plan.dc_router].append(f"{DC_PREFIX}.0/24")
    out: dict[str, dict[str, Route]] = {n: {} for n in plan.nodes}
    for target in plan.nodes:
        if target in down_nodes:
            continue
        parent: dict[str, LinkPlan] = {}
        seen = {target}
        queue = deque([target])
        while queue:
            here = queue.popleft()
            for there, link in adj[here]:
                if there not in seen:
                    seen.add(there)
                    parent[there] = link
                    queue.append(there)
        for node, link in parent.items():
            a_addr, b_addr = link.addresses
            via = b_addr if link.a == node else a_addr
            for prefix in prefixes[target]:
                out[node][prefix] = (via, link.intf(node))
    return out


def changes(old: dict[str, dict[str, Route]], new: dict[str, dict[str, Route]]
            ) -> dict[str, list[str]]:
    """``ip -batch`` lines per node that turn ``old`` into ``new`` (keeping old routes to
    destinations that have no path now)."""
    out: dict[str, list[str]] = {}
    for node, routes in new.items():
        have = old.get(node, {})
        lines = [f"route replace {prefix} via {via} dev {dev}"
                 for prefix, (via, dev) in routes.items() if have.get(prefix) != (via, dev)]
        if lines:
            out[node] = lines
    return out


def merge(old: dict[str, dict[str, Route]], new: dict[str, dict[str, Route]]
          ) -> dict[str, dict[str, Route]]:
    """The routes installed after :func:`changes` was applied."""
    return {node: {**old.get(node, {}), **new.get(node, {})} for node in set(old) | set(new)}
