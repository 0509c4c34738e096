"""The southbound route on the emulated wire, in lock-step with the simulation.

In-process, an element manager's message goes straight from the network twin to the OSS on
the message bus. With ``--emulate`` the bus hands it to this route instead, which puts it on
the emulated management network as real packets and hands the OSS what its collector took
off the wire:

1. an element's notification travels from the element's node to its element manager's host
   (UDP, port 10162: the vendors' own NE protocols are proprietary, this one carries the
   dialect's text) — over the DCN out-of-band, over the transport in-band;
2. the element manager encodes it in its dialect and sends it to the OSS collector: an
   SNMPv2c trap (UDP 162), an RFC 5426 syslog datagram (UDP 514) or a VES 7 event
   (``POST /eventListener/v7`` on a kept-alive HTTP connection, port 8080) — its own alarms
   (heartbeat failures, a dead element's alarms) start here;
3. the collector decodes it (:mod:`twin.emulation.collector`) into the EMS event the OSS's
   collection adapters read.

Alarm synchronisation is an HTTP ``GET /alarms/active`` from the collector's host to each
element manager, answered from that element manager's alarm list. Supervision is real polls:
each element manager sends an SNMP GET of sysUpTime.0 to each of its elements' management
addresses (three tries), whose agents answer while their element is up; the elements that do
not answer are handed to the element managers (:meth:`ElementManagers.supervise`).

*Lock-step.* Simulated time stops while the wire works. Everything due at one simulated
instant — messages, alarm-list requests, changes of the network, polls — is one batch,
carried at the end of that instant (a simpy event of lower priority than any other), in this
order: the fabric follows the network's changes, the elements are polled (at a change, and
every ``heartbeat_s``), then the batch's messages are sent back to back and the wire is
pumped until each has arrived or ``timeout_ms`` of wall time has passed with nothing moving.
What arrived is handed to the OSS in the order it was sent, at that same instant: the wire
adds no simulated latency (its measured latency is in ``wire_messages``), and what it loses is
lost — the only way its timing can change a run is a packet slower than ``timeout_ms``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import selectors
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import simpy

from twin.emulation import collector
from twin.emulation.fabric import Fabric
from twin.emulation.plan import Plan
from twin.emulation.sockets import ETH_P_ALL, Capture, Stream, not_http, receive, send_from, udp
from twin.emulation.stats import WireLog
from twin.kernel import Sim
from twin.messages import ActiveAlarmList, AlarmListRequest, EmsEvent
from twin.network import NetworkTwin
from twin.network.dialects import epoch_us
from twin.oss import OperationsCenter
from twin.scenario.schema import EmulationSpec
from twin.wire import DecodeError, EncodeError, alarm_list, http, snmp, syslog, ves
from twin.wire.pcap import PcapWriter

NE_PORT = 10162
TRAP_PORT = 162
AGENT_PORT = 161
HTTP_PORT = 8080
PROTOCOL = {"snmp": "snmp-trap", "syslog": "syslog", "ves": "ves"}
LOW: Any = 2  # simpy priority below NORMAL (1): after everything else at the same instant


@dataclass(eq=False)
class Item:
    """One message of a batch on its way: an EMS event, or an alarm-list request."""

    kind: str  # event | list
    ems: str
    event: EmsEvent | None = None
    stage: str = "new"  # ne (to the element manager), north (to the collector), done, lost
    data: bytes = b""  # what is on the wire now (to recognise it on arrival)
    sent_ns: int = 0
    proto: str = ""
    result: EmsEvent | ActiveAlarmList | None = None

    @property
    def open(self) -> bool:
        return self.stage in ("ne", "north")


class Southbound:
    def __init__(self, sim: Sim, network: NetworkTwin, oss: OperationsCenter, plan: Plan,
                 fabric: Fabric, spec: EmulationSpec, pcap: Path | None) -> None:
        self.sim, self.network, self.oss = sim, network, oss
        self.plan, self.fabric, self.spec = plan, fabric, spec
        self.start_us = epoch_us(sim.calendar.start)
        self.log = WireLog(sim)
        self.sel = selectors.DefaultSelector()
        self.idle_s = spec.timeout_ms / 1000.0
        self.queue: list[Item] = []
        self.extras: list[EmsEvent] = []
        self._scheduled = self._dirty = False
        self._poll_due = True  # a first round at the start checks the fabric
        self._rid = itertools.count(1 << 24)  # SNMP request ids (four bytes)
        self.collector_addr = plan.collector.address
        self.ems_addr = {ems: h.address for ems, h in plan.ems_hosts.items()}
        self.ems_by_addr = {a: ems for ems, a in self.ems_addr.items()}
        self.element_by_addr = {a: e for e, a in plan.address.items()}
        self.at_ems: dict[str, deque[Item]] = {ems: deque() for ems in self.ems_addr}
        self.at_collector: dict[tuple[str, str], deque[Item]] = {}
        self.lists: dict[str, deque[Item]] = {ems: deque() for ems in self.ems_addr}
        self.polls: dict[int, tuple[str, int]] = {}  # request id → (element, sent ns)
        self.unanswered: dict[str, str] = {}  # element → its element manager
        self.sockets: list[socket.socket] = []
        self.streams: list[Stream] = []
        self.capture: Capture | None = None
        self.frames = 0  # written to the capture (when closed)
        self.closed = False
        self._open(pcap)

    # --- sockets ------------------------------------------------------------------------

    def _udp(self, node: str, port: int, handler: Callable[..., None], *args: Any,
             pktinfo: bool = False) -> socket.socket:
        sock = udp(self.fabric.socket(node), ("0.0.0.0", port), pktinfo)
        self.sockets.append(sock)
        self.sel.register(sock, selectors.EVENT_READ, functools.partial(handler, *args, sock))
        return sock

    def _listen(self, node: str, address: str) -> socket.socket:
        sock = self.fabric.socket(node, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, HTTP_PORT))
        sock.listen(16)
        self.sockets.append(sock)
        return sock

    def _connect(self, node: str, listener: socket.socket, address: str,
                 client_handler: Callable[[Stream], None],
                 server_handler: Callable[[Stream], None]) -> Stream:
        """A kept-alive HTTP connection from ``node`` to ``listener`` at ``address``."""
        sock = self.fabric.socket(node, socket.SOCK_STREAM)
        sock.settimeout(5.0)
        sock.connect((address, HTTP_PORT))
        listener.settimeout(5.0)
        accepted, _ = listener.accept()
        listener.setblocking(False)
        client, server = Stream(sock, address, "response"), Stream(accepted, node, "request")
        self.streams += [client, server]
        self.sel.register(client.sock, selectors.EVENT_READ,
                          functools.partial(client_handler, client))
        self.sel.register(server.sock, selectors.EVENT_READ,
                          functools.partial(server_handler, server))
        return client

    def _open(self, pcap: Path | None) -> None:
        plan = self.plan
        c = plan.collector.name
        self._udp(c, TRAP_PORT, self._on_datagram, "snmp")
        self._udp(c, syslog.PORT, self._on_datagram, "syslog")
        self.ves_listener = self._listen(c, self.collector_addr)
        self.agents = {node: self._udp(node, AGENT_PORT, self._on_poll, pktinfo=True)
                       for node in plan.nodes}
        self.north: dict[str, socket.socket] = {}
        self.poller: dict[str, socket.socket] = {}
        self.ves_client: dict[str, Stream] = {}
        self.resync_client: dict[str, Stream] = {}
        for ems, host in plan.ems_hosts.items():
            self._udp(host.name, NE_PORT, self._on_notification, ems)
            self.north[ems] = self._udp(host.name, 0, self._discard_datagram)
            self.poller[ems] = self._udp(host.name, 0, self._on_poll_reply)
            listener = self._listen(host.name, host.address)
            self.resync_client[ems] = self._connect(
                c, listener, host.address, functools.partial(self._on_list_reply, ems),
                functools.partial(self._on_list_request, ems))
            self.ves_client[ems] = self._connect(
                host.name, self.ves_listener, self.collector_addr, self._discard,
                functools.partial(self._on_ves_request, ems))
        self.sel.register(self.ves_listener, selectors.EVENT_READ, self._on_ves_connection)
        if pcap is not None:
            pcap.parent.mkdir(parents=True, exist_ok=True)
            raw = self.fabric.socket(c, socket.SOCK_RAW, socket.AF_PACKET,
                                     socket.htons(ETH_P_ALL))
            with self.fabric.inside(c):
                raw.bind((f"{c}-0", ETH_P_ALL))
            self.capture = Capture(raw, PcapWriter(pcap))
            self.sel.register(raw, selectors.EVENT_READ, self.capture.drain)

    def close(self) -> None:
        """Close every socket, then the capture (with the last frames). Safe to repeat."""
        if self.closed:
            return
        self.closed = True
        for s in self.streams:
            s.close()
        for sock in self.sockets:
            sock.close()
        if self.capture is not None:
            self.capture.close()
            self.frames = self.capture.writer.frames
        self.sel.close()

    # --- the bus side -------------------------------------------------------------------

    def on_ems_event(self, event: EmsEvent) -> None:
        self.queue.append(Item("event", event.ems, event))
        self._schedule()

    def on_alarm_list_request(self, request: AlarmListRequest) -> None:
        for ems in sorted(self.ems_addr):  # the order the element managers answer in-process
            self.queue.append(Item("list", ems))
        self._schedule()

    def on_change(self) -> None:
        self._dirty = True
        self._schedule()

    def heartbeats(self) -> Any:
        """Periodic supervision polls (a simpy process)."""
        while self.spec.heartbeat_s > 0:
            yield self.sim.env.timeout(self.spec.heartbeat_s)
            self._poll_due = True
            self._schedule()

    def _schedule(self) -> None:
        if self._scheduled:
            return
        self._scheduled = True
        event = simpy.Event(self.sim.env)
        event._ok, event._value = True, None
        event.callbacks.append(self._flush)
        self.sim.env.schedule(event, priority=LOW)

    def finish(self) -> None:
        """End of the run: carry what is still waiting."""
        self._flush()

    # --- one batch ----------------------------------------------------------------------

    def _flush(self, _event: object = None) -> None:
        self._scheduled = False
        if self._dirty:
            self._dirty = False
            if self.fabric.apply(self.network.state.down_targets()):
                self._poll_due = True
        if self._poll_due:
            self._poll_due = False
            self._supervise()
        items, self.queue = self.queue, []
        if items:
            self._carry(items)
        extras, self.extras = self.extras, []
        for event in extras:
            self.oss.on_ems_event(event)

    def _carry(self, items: list[Item]) -> None:
        for item in items:
            self._start(item)
        self._north([i for i in items if i.stage == "new"])  # the element managers' own
        self._pump(lambda: not any(i.open for i in items))
        for item in items:
            if item.open:
                self._lose(item)
        for item in items:
            if item.stage != "done":
                continue
            if isinstance(item.result, EmsEvent):
                self.oss.on_ems_event(item.result)
            elif item.result is not None:
                self.sim.bus.publish(item.result)

    def _pump(self, done: Callable[[], bool], idle_s: float | None = None) -> None:
        """Serve the sockets until ``done()`` or nothing has moved for ``idle_s``."""
        idle = self.idle_s if idle_s is None else idle_s
        last = time.monotonic()
        while not done():
            left = last + idle - time.monotonic()
            if left <= 0:
                break
            events = self.sel.select(left)
            for key, _ in events:
                key.data()
            if events:
                last = time.monotonic()
        if self.capture is not None:
            self.capture.drain()

    def _start(self, item: Item) -> None:
        item.sent_ns = time.time_ns()
        if item.kind == "list":
            item.stage, item.proto = "north", "alarm-list"
            self.resync_client[item.ems].send(http.request(
                "GET", alarm_list.PATH, self.ems_addr[item.ems]))
            self.log.add("collector-ems", "alarm-list-request", "collector", item.ems, 0, True)
            self.lists[item.ems].append(item)
            return
        event = item.event
        assert event is not None
        origin = event.origin
        if not origin:
            return  # the element manager's own: sent on with the others (_north)
        item.stage, item.proto, item.data = "ne", "notification", event.payload.encode()
        if self.network.state.is_down(origin):  # a dead element sends nothing
            self._lose(item)
            return
        agent = self.agents[self.plan.node_of[origin]]
        try:
            send_from(agent, item.data, (self.ems_addr[event.ems], NE_PORT),
                      self.plan.address[origin])
        except OSError:  # no route (in-band, cut off): lost where it starts
            self._lose(item)
            return
        self.at_ems[event.ems].append(item)

    def _north(self, items: list[Item]) -> None:
        """Element managers send events on in their dialects: each encodes what it has in
        hand, then sends it all — a burst, as a forwarder emptying its queue."""
        for item in items:
            self._encode(item)
        for item in items:
            event = item.event
            assert event is not None
            item.sent_ns = time.time_ns()
            if item.proto == "ves":
                self._ves_stream(event.ems).send(ves.post(event.payload, self.collector_addr))
            else:
                port = TRAP_PORT if item.proto == "snmp-trap" else syslog.PORT
                self._sendto(self.north[event.ems], item.data, (self.collector_addr, port))
            self.at_collector.setdefault((event.ems, item.proto), deque()).append(item)

    def _encode(self, item: Item) -> None:
        event = item.event
        assert event is not None
        item.stage, item.proto = "north", PROTOCOL.get(event.dialect, event.dialect)
        if event.dialect == "snmp":
            rid = next(self._rid)
            try:
                item.data = snmp.encode_trap(event.payload, self.spec.community, rid)
            except EncodeError:  # cut in transit (the dialect's noise)
                item.data = snmp.encode_truncated(event.payload, self.spec.community, rid)
        elif event.dialect == "syslog":
            try:
                item.data = syslog.to_datagram(event.payload)
            except EncodeError:
                item.data = event.payload.encode() or b"\0"
        elif event.dialect == "ves":
            item.data = event.payload.encode()
        else:
            raise ValueError(f"{event.ems}: no wire format for dialect {event.dialect!r}")

    @staticmethod
    def _sendto(sock: socket.socket, data: bytes, dst: tuple[str, int]) -> bool:
        """Send a datagram; False when the host's stack refuses it (no route, a full
        buffer): the datagram is lost, as one dropped on the way."""
        try:
            sock.sendto(data, dst)
        except OSError:
            return False
        return True

    def _ves_stream(self, ems: str) -> Stream:
        stream = self.ves_client[ems]
        if stream.closed:  # the collector hung up (bad request): connect anew
            host = self.plan.ems_hosts[ems].name
            sock = self.fabric.socket(host, socket.SOCK_STREAM)
            sock.settimeout(5.0)
            sock.connect((self.collector_addr, HTTP_PORT))
            stream = self.ves_client[ems] = Stream(sock, self.collector_addr, "response")
            self.streams.append(stream)
            self.sel.register(sock, selectors.EVENT_READ,
                              functools.partial(self._discard, stream))
        return stream

    def _lose(self, item: Item) -> None:
        leg = "ne-ems" if item.stage == "ne" else "ems-collector"
        src = (item.event.origin if item.event is not None and item.stage == "ne"
               else item.ems)
        dst = item.ems if item.stage == "ne" else "collector"
        self.log.add(leg, item.proto, src, dst, len(item.data), False)
        if item.stage == "ne" and item.event is not None:
            self.network.ems.not_heard(item.ems, item.event.notification_id)
        for waiting in (self.at_ems.get(item.ems), self.at_collector.get((item.ems,
                                                                          item.proto))):
            if waiting is not None and item in waiting:
                waiting.remove(item)
        item.stage = "lost"  # a lost alarm-list request keeps its place: a late answer
        # on its connection is its own, not the next request's

    # --- socket handlers ----------------------------------------------------------------

    @staticmethod
    def _match(waiting: deque[Item] | None, data: bytes) -> Item | None:
        if waiting:
            for item in waiting:
                if item.data == data:
                    waiting.remove(item)
                    return item
        return None

    def _arrived(self, item: Item, leg: str, src: str, dst: str, stamp: int) -> None:
        self.log.add(leg, item.proto, src, dst, len(item.data), True,
                     (stamp - item.sent_ns) / 1e6)

    def _on_notification(self, ems: str, sock: socket.socket) -> None:
        arrived = []
        while (got := receive(sock)) is not None:
            data, _, _, _, stamp = got
            item = self._match(self.at_ems[ems], data)
            if item is None or item.event is None:
                continue  # not a notification this element manager waits for
            self._arrived(item, "ne-ems", item.event.origin, ems, stamp)
            arrived.append(item)
        self._north(arrived)

    def _on_datagram(self, dialect: str, sock: socket.socket) -> None:
        proto = PROTOCOL[dialect]
        while (got := receive(sock)) is not None:
            data, src, _, _, stamp = got
            ems = self.ems_by_addr.get(src)
            if ems is None:
                self.log.decode_errors += 1
                self.extras.append(collector.from_stranger(src, dialect, data))
                continue
            event = (collector.from_trap(ems, data, self.spec.community) if dialect == "snmp"
                     else collector.from_syslog(ems, data))
            if event.decode_error:
                self.log.decode_errors += 1
            item = self._match(self.at_collector.get((ems, proto)), data)
            if item is None:  # given up on (late), or never sent by the twin
                self.log.late += 1
                self.extras.append(event)
                continue
            self._arrived(item, "ems-collector", ems, "collector", stamp)
            item.result, item.stage = event, "done"

    def _on_ves_connection(self) -> None:
        try:
            sock, (addr, _) = self.ves_listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        stream = Stream(sock, addr, "request")
        self.streams.append(stream)
        self.sel.register(sock, selectors.EVENT_READ, functools.partial(
            self._on_ves_request, self.ems_by_addr.get(addr, f"unknown {addr}"), stream))

    def _on_ves_request(self, ems: str, stream: Stream) -> None:
        try:
            requests = stream.read()
        except DecodeError as e:
            self.log.decode_errors += 1
            self.extras.append(collector.broken_stream(ems, str(e), not_http(stream, e)))
            stream.send(http.response(400))
            self._drop(stream)
            return
        for request in requests:
            assert isinstance(request, http.Request)
            stamp = time.time_ns()
            if ems not in self.ems_addr:
                event, status = collector.from_stranger(ems, "ves", request.body), 400
            else:
                event, status = collector.from_ves(ems, request)
            if event.decode_error:
                self.log.decode_errors += 1
            stream.send(http.response(status))
            item = self._match(self.at_collector.get((ems, "ves")), request.body)
            if item is None:
                self.log.late += 1
                self.extras.append(event)
                continue
            self._arrived(item, "ems-collector", ems, "collector", stamp)
            item.result, item.stage = event, "done"
        if stream.closed:
            self._drop(stream)

    def _on_list_request(self, ems: str, stream: Stream) -> None:
        """An element manager answers the collector's alarm-list request."""
        try:
            requests = stream.read()
        except DecodeError:
            stream.send(http.response(400))
            self._drop(stream)
            return
        for request in requests:
            assert isinstance(request, http.Request)
            if request.method != "GET" or request.target != alarm_list.PATH:
                stream.send(http.response(404))
                continue
            now = self.sim.now
            alarms = next((lst.alarms for lst in self.network.ems.alarm_lists()
                           if lst.ems == ems), ())
            body = alarm_list.encode(ems, now, alarms, self.start_us)
            stream.send(http.response(200, body, "application/json"))

    def _on_list_reply(self, ems: str, stream: Stream) -> None:
        try:
            replies = stream.read()
        except DecodeError:
            self._drop(stream)
            return
        stamp = time.time_ns()
        for reply in replies:
            assert isinstance(reply, http.Response)
            if not self.lists[ems]:
                continue
            item = self.lists[ems].popleft()
            if item.stage == "lost":  # the answer to a request given up on
                self.log.late += 1
                continue
            item.data = reply.body
            self._arrived(item, "ems-collector", ems, "collector", stamp)
            if reply.status == 200:
                try:
                    name, taken, alarms = alarm_list.decode(reply.body, self.start_us)
                except DecodeError:
                    self.log.decode_errors += 1
                    item.stage = "lost"
                    continue
                item.result = ActiveAlarmList(name, taken, alarms)
            item.stage = "done" if item.result is not None else "lost"

    def _discard(self, stream: Stream) -> None:
        try:
            stream.read()
        except DecodeError:
            stream.close()
        if stream.closed:
            self._drop(stream)

    def _discard_datagram(self, sock: socket.socket) -> None:
        while receive(sock) is not None:
            pass

    def _drop(self, stream: Stream) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(stream.sock)
        stream.close()

    # --- supervision ------------------------------------------------------------------

    def _on_poll(self, sock: socket.socket) -> None:
        """An element's agent answers its element manager's GET while the element is up."""
        while (got := receive(sock)) is not None:
            data, src, port, dst, _ = got
            try:
                msg = snmp.decode(data)
            except DecodeError:
                continue
            element = self.element_by_addr.get(dst)
            if (msg.pdu != "get" or element is None or self.network.state.is_down(element)
                    or msg.community != self.spec.community.encode()):
                continue
            reply = snmp.encode_uptime_response(self.spec.community, msg.request_id,
                                                int(self.sim.now * 100))
            with contextlib.suppress(OSError):  # no route back: the poll goes unanswered
                send_from(sock, reply, (src, port), dst)

    def _on_poll_reply(self, sock: socket.socket) -> None:
        while (got := receive(sock)) is not None:
            data, _, _, _, stamp = got
            try:
                msg = snmp.decode(data)
            except DecodeError:
                continue
            sent = self.polls.pop(msg.request_id, None)
            if sent is None or msg.pdu != "response":
                continue
            element, sent_ns = sent
            ems = self.unanswered.pop(element, None)
            if ems is not None:
                self.log.add("ems-ne", "snmp-get", ems, element, len(data), True,
                             (stamp - sent_ns) / 1e6)

    def _supervise(self) -> None:
        """A poll round: who answers, with up to three tries."""
        self.unanswered = {e: self.plan.ems_of[e] for e in self.plan.address}
        self.polls.clear()
        for wait in (self.idle_s / 4, self.idle_s / 2, self.idle_s):
            if not self.unanswered:
                break
            for element, ems in list(self.unanswered.items()):
                rid = next(self._rid)
                data = snmp.encode_get(self.spec.community, rid)
                self.polls[rid] = (element, time.time_ns())
                self._sendto(self.poller[ems], data, (self.plan.address[element], AGENT_PORT))
                self.log.polls += 1
            self._pump(lambda: not self.unanswered, wait)
            for element, ems in self.unanswered.items():
                self.log.polls_unanswered += 1
                self.log.add("ems-ne", "snmp-get", ems, element, 0, False, math.nan)
        self.polls.clear()
        self.network.ems.supervise(set(self.unanswered))
