"""The emulated management network on Mininet: build it, change it, tear it down.

Every node, host and the LAN switch (a Linux bridge) live in network namespaces of their own
(nothing in the machine's own namespace), so a namespace vanishes with the node's shell and
nothing can be left behind once the shells are gone — :meth:`Fabric.stop` kills them and
waits, and if the twin itself is killed, the shells see their terminal close and exit.

Links are shaped with htb (the scenario's capacity on transport links, ``dcn_mbps`` on DCN
access links, ``collector_mbps`` into and out of the collector) with a pfifo of
``queue_packets``; Mininet's TCLink only logs a tc failure, so the fabric sets tc up itself
and checks every interface with ``tc qdisc show`` (a missing shaper fails the run).

The twin's own sockets are opened inside a node's namespace (:meth:`Fabric.socket`, via
``setns``) and stay there: the twin's process is every agent, element manager and the
collector at once, with no server processes to start or stop.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from twin.emulation import routing
from twin.emulation.plan import DC_GATEWAY, MANAGEMENT_NET, Plan
from twin.emulation.system import load_mininet
from twin.scenario.schema import EmulationSpec

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
SYSCTLS = {"net.ipv4.ip_forward": "1", "net.ipv4.conf.all.rp_filter": "0",
           "net.ipv4.conf.default.rp_filter": "0", "net.ipv4.conf.all.send_redirects": "0",
           "net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}


class EmulationError(RuntimeError):
    """The emulated network could not be built or changed."""


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class Fabric:
    def __init__(self, plan: Plan, spec: EmulationSpec) -> None:
        self.plan = plan
        self.spec = spec
        self.net: Any = None
        self.nodes: dict[str, Any] = {}  # Mininet nodes by name
        self.routes: dict[str, dict[str, routing.Route]] = {}
        self.intf_up: dict[tuple[str, str], bool] = {}  # (node, interface) → up
        self.shaped: dict[str, list[str]] = {}  # node → shaped interfaces
        self._home = -1
        self.setup_s = 0.0

    # --- namespaces and sockets --------------------------------------------------------

    def pid(self, name: str) -> int:
        return int(self.nodes[name].pid)

    def _namespace(self, name: str) -> int:
        """An open descriptor of node ``name``'s network namespace; a shell that has exited
        (its namespace gone with it) is reported with how it ended."""
        pid = self.pid(name)
        try:
            return os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        except FileNotFoundError:
            shell = getattr(self.nodes[name], "shell", None)
            code = None
            if shell is not None:  # a process drops its namespaces just before it ends
                with suppress(subprocess.TimeoutExpired):
                    code = shell.wait(timeout=1.0)
            how = _ended(code)
            raise EmulationError(f"node {name}: its shell (pid {pid}) has ended ({how}), "
                                 "and its network namespace with it") from None

    @contextmanager
    def inside(self, name: str) -> Iterator[None]:
        """Run the body in the network namespace of node ``name`` (this thread only)."""
        fd = self._namespace(name)
        try:
            _setns(fd)
            try:
                yield
            finally:
                _setns(self._home)
        finally:
            os.close(fd)

    def socket(self, name: str, kind: int = socket.SOCK_DGRAM,
               family: int = socket.AF_INET, proto: int = 0) -> socket.socket:
        """A socket in node ``name``'s namespace."""
        with self.inside(name):
            return socket.socket(family, kind, proto)

    def batch(self, name: str, ip: Sequence[str] = (), tc: Sequence[str] = ()) -> None:
        """``ip -batch`` then ``tc -batch`` lines in node ``name``'s own shell (no process
        start-up but the two commands'); fail on the first error."""
        parts = []
        for tool, lines in (("ip", ip), ("tc", tc)):
            if lines:
                body = "\n".join(lines)
                parts.append((f"{tool} -batch - 2>&1 <<'__{tool}__' || echo __failed__",
                              f"{body}\n__{tool}__"))
        if not parts:
            return
        command = "; ".join(p[0] for p in parts) + "\n" + "\n".join(p[1] for p in parts)
        out = self.nodes[name].cmd(command)
        if "__failed__" in out:
            raise EmulationError(f"{name}: {out.replace('__failed__', '').strip()[:400]}")

    def sysctl(self, name: str, settings: dict[str, str]) -> None:
        """Write sysctls of node ``name``'s namespace (``/proc/sys/net`` is per namespace)."""
        with self.inside(name):
            for key, value in settings.items():
                with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
                    f.write(value)

    # --- building ----------------------------------------------------------------------

    def start(self) -> None:
        t0 = time.perf_counter()
        self._home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        load_mininet()
        from mininet.log import setLogLevel
        from mininet.net import Mininet
        from mininet.nodelib import LinuxBridge

        setLogLevel("critical")
        Mininet.inited = True  # no ulimit and sysctl changes on the machine itself
        plan = self.plan
        net = self.net = Mininet(topo=None, controller=None, build=False, autoSetMacs=False,
                                 autoStaticArp=False, waitConnected=False)
        for name in [*plan.nodes, *(h.name for h in plan.hosts)]:
            self.nodes[name] = net.addHost(name, ip=None)
        sw = self.nodes[plan.switch] = net.addSwitch(plan.switch, cls=LinuxBridge,
                                                      inNamespace=True, dpid="1")
        for link in plan.links:
            net.addLink(self.nodes[link.a], self.nodes[link.b], intfName1=link.intf(link.a),
                        intfName2=link.intf(link.b))
        ports = 0

        def attach(name: str, intf: str) -> str:
            nonlocal ports
            ports += 1
            port = f"{plan.switch}-p{ports}"
            net.addLink(self.nodes[name], sw, intfName1=intf, intfName2=port)
            return port

        dcn_ports: dict[str, str] = {}
        if plan.management == "out_of_band":
            for name in plan.nodes:
                dcn_ports[name] = attach(name, f"{name}-m")
        else:
            attach(plan.dc_router, f"{plan.dc_router}-d")
        host_ports = {h.name: attach(h.name, f"{h.name}-0") for h in plan.hosts}
        net.build()
        net.start()
        self._configure(dcn_ports, host_ports)
        self.setup_s = time.perf_counter() - t0

    def _shape(self, node: str, intf: str, mbps: float, lines: list[str]) -> None:
        kbit = max(8, round(mbps * 1000))
        # ~10 ms of the rate, at least one full frame: a burst beyond it queues, then drops
        burst = min(max(1600, kbit * 1000 // 8 // 100), 1 << 20)
        lines += [f"qdisc replace dev {intf} root handle 5: htb default 1",
                  f"class replace dev {intf} parent 5: classid 5:1 htb rate {kbit}kbit "
                  f"ceil {kbit}kbit burst {burst} cburst {burst}",
                  f"qdisc replace dev {intf} parent 5:1 handle 10: pfifo "
                  f"limit {self.spec.queue_packets}"]
        self.shaped.setdefault(node, []).append(intf)

    def _configure(self, dcn_ports: dict[str, str], host_ports: dict[str, str]) -> None:
        plan, spec = self.plan, self.spec
        oob = plan.management == "out_of_band"
        tc: list[str]
        for name, node in plan.nodes.items():
            ip, tc = ["link set lo up"], []
            sysctl = dict(SYSCTLS)
            for link in plan.links_of(name):
                intf = link.intf(name)
                addr = link.addresses[0 if link.a == name else 1]
                ip += [f"addr add {addr}/30 dev {intf}", f"link set {intf} up"]
                sysctl[f"net.ipv4.conf.{intf}.rp_filter"] = "0"
                self._shape(name, intf, link.mbps, tc)
                self.intf_up[(name, intf)] = True
            for element in node.elements:
                addr = plan.address[element]
                ip.append(f"addr add {addr}/16 dev {name}-m" if oob
                          else f"addr add {addr}/32 dev lo")
            if oob:
                ip.append(f"link set {name}-m up")
                self._shape(name, f"{name}-m", spec.dcn_mbps, tc)
                self.intf_up[(name, f"{name}-m")] = True
            elif name == plan.dc_router:
                ip += [f"addr add {DC_GATEWAY}/24 dev {name}-d", f"link set {name}-d up"]
                self.intf_up[(name, f"{name}-d")] = True
            self.sysctl(name, sysctl)
            self.batch(name, ip, tc)
        for host in plan.hosts:
            intf = f"{host.name}-0"
            ip = ["link set lo up", f"addr add {host.address}/{16 if oob else 24} dev {intf}",
                  f"link set {intf} up"]
            if not oob:
                ip.append(f"route add {MANAGEMENT_NET} via {DC_GATEWAY}")
            tc = []
            if host.role == "collector":
                self._shape(host.name, intf, spec.collector_mbps, tc)
            self.sysctl(host.name, SYSCTLS)
            self.batch(host.name, ip, tc)
        tc = []
        for port in dcn_ports.values():
            self._shape(plan.switch, port, spec.dcn_mbps, tc)
        self._shape(plan.switch, host_ports[plan.collector.name], spec.collector_mbps, tc)
        self.sysctl(plan.switch, {"net.ipv6.conf.all.disable_ipv6": "1"})
        self.batch(plan.switch, tc=tc)
        self._check_shaping()
        if not oob:
            self.routes = routing.table(plan, set(), set())
            self._install(routing.changes({}, self.routes))

    def _check_shaping(self) -> None:
        for name, intfs in self.shaped.items():
            out = self.nodes[name].cmd("tc qdisc show")
            htb = set(re.findall(r"qdisc htb 5: dev (\S+) root", out))
            fifo = set(re.findall(r"qdisc pfifo 10: dev (\S+) parent 5:1", out))
            missing = [i for i in intfs if i not in htb or i not in fifo]
            if missing:
                raise EmulationError(f"{name}: htb shaping missing on {', '.join(missing)} "
                                     f"(tc qdisc show: {out.strip()[:300]})")

    def _install(self, lines_by_node: dict[str, list[str]]) -> None:
        for name, lines in lines_by_node.items():
            self.batch(name, ip=lines)

    # --- following the twin's network state --------------------------------------------

    def apply(self, down: set[str]) -> bool:
        """Make interfaces follow the twin's down elements and links; True if any changed.
        A link is up while it and both its ends are; a node's transport interfaces are
        down while its primary element is; its DCN interface while all its elements are."""
        plan = self.plan
        node_down = {n for n, node in plan.nodes.items() if node.primary in down}
        want: dict[tuple[str, str], bool] = {}
        wire_down: set[str] = set()
        for link in plan.links:
            a_el, b_el = link.ends
            up = not ({link.id, a_el, b_el} & down) and not ({link.a, link.b} & node_down)
            if not up:
                wire_down.add(link.id)
            want[(link.a, link.intf(link.a))] = up
            want[(link.b, link.intf(link.b))] = up
        for name, node in plan.nodes.items():
            if plan.management == "out_of_band":
                want[(name, f"{name}-m")] = not all(e in down for e in node.elements)
            elif name == plan.dc_router:
                want[(name, f"{name}-d")] = name not in node_down
        changed: dict[str, list[str]] = {}
        for (name, intf), up in want.items():
            if self.intf_up.get((name, intf)) != up:
                self.intf_up[(name, intf)] = up
                changed.setdefault(name, []).append(
                    f"ip link set {intf} {'up' if up else 'down'}")
        for name, lines in changed.items():
            self.batch(name, ip=[line.removeprefix("ip ") for line in lines])
        if changed and plan.management == "in_band":
            new = routing.table(plan, wire_down, node_down)
            self._install(routing.changes(self.routes, new))
            self.routes = routing.merge(self.routes, new)
        return bool(changed)

    # --- tearing down ------------------------------------------------------------------

    def _tagged(self) -> list[int]:
        """Shells of this emulation found by name (``mininet:<tag>…``), e.g. one started
        by a node whose creation was interrupted."""
        mark = f"mininet:{self.plan.tag}".encode()
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        if mark in f.read():
                            found.append(int(entry))
                except OSError:
                    continue
        return found

    def stop(self) -> None:
        """Kill every node's shell (its namespace, interfaces and bridge go with it) and
        wait until they are gone."""
        shells = {int(n.shell.pid): n for n in self.nodes.values()
                  if getattr(n, "shell", None) is not None}
        if self._home < 0 and not shells:
            return  # never started, or stopped already
        pids = set(shells) | set(self._tagged())
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10.0
        for pid, node in shells.items():
            try:
                node.shell.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise EmulationError(f"node shell {pid} did not exit") from None
            try:  # the shell's terminal, as Mininet's Node.cleanup closes it
                node.stdin.close()
                os.close(node.slave)
            except OSError:
                pass
        while any(os.path.exists(f"/proc/{p}") and not _zombie(p) for p in pids - set(shells)):
            if time.monotonic() > deadline:
                raise EmulationError("a shell of the emulation did not exit")
            time.sleep(0.01)
        self.nodes.clear()
        if self._home >= 0:
            os.close(self._home)
            self._home = -1


def _ended(code: int | None) -> str:
    """How a node's shell ended, from its return code."""
    if code is None:
        return "it runs, but its namespace is gone"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True
