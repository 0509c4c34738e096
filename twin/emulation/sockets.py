"""Socket plumbing for the emulated hosts: UDP with kernel time stamps and source addresses,
TCP streams carrying HTTP, and the packet capture at the collector.

All sockets are non-blocking and polled by one selector in the twin's process (see
:mod:`twin.emulation.southbound`); each was opened inside its node's network namespace.
"""

from __future__ import annotations

import socket
import struct
import time

from twin.wire import DecodeError, http
from twin.wire.pcap import PcapWriter

IP_PKTINFO = 8
SO_TIMESTAMPNS = 35
ETH_P_ALL = 3
_ANCILLARY = socket.CMSG_SPACE(12) + socket.CMSG_SPACE(16)


def udp(sock: socket.socket, bind: tuple[str, int], pktinfo: bool = False) -> socket.socket:
    """Set a UDP socket up: bound, non-blocking, with receive time stamps (and the
    destination address of each datagram with ``pktinfo``)."""
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    if pktinfo:
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    sock.bind(bind)
    sock.setblocking(False)
    return sock


def receive(sock: socket.socket) -> tuple[bytes, str, int, str, int] | None:
    """(data, source address, source port, destination address, kernel time in ns), or
    None when nothing is waiting."""
    try:
        data, anc, _, src = sock.recvmsg(65_535, _ANCILLARY)
    except (BlockingIOError, InterruptedError):
        return None
    stamp, dst = time.time_ns(), ""
    for level, kind, value in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
            sec, ns = struct.unpack("qq", value[:16])
            stamp = sec * 1_000_000_000 + ns
        elif level == socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= 12:
            dst = socket.inet_ntoa(value[8:12])
    return data, src[0], src[1], dst, stamp


def send_from(sock: socket.socket, data: bytes, dst: tuple[str, int], src: str) -> None:
    """Send ``data`` with source address ``src`` (one of the host's addresses)."""
    info = struct.pack("=I4s4s", 0, socket.inet_aton(src), b"\0\0\0\0")
    sock.sendmsg([data], [(socket.IPPROTO_IP, IP_PKTINFO, info)], 0, dst)


class Stream:
    """One TCP connection carrying HTTP messages one way and their answers the other."""

    def __init__(self, sock: socket.socket, peer: str, reads: str) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.peer = peer
        self.parser = http.Parser(reads)
        self.out = bytearray()
        self.closed = False
        self.raw = bytearray()  # what arrived, for a reject if it is not HTTP

    def send(self, data: bytes) -> None:
        self.out += data
        self.flush()

    def flush(self) -> None:
        while self.out and not self.closed:
            try:
                n = self.sock.send(self.out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.close()
                return
            del self.out[:n]

    def read(self) -> list[http.Request | http.Response]:
        """Complete messages now readable; raises DecodeError (then close) on bad HTTP."""
        got: list[http.Request | http.Response] = []
        while not self.closed:
            try:
                data = self.sock.recv(65_536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.close()
                break
            if not data:
                self.close()
                break
            self.raw += data
            got += self.parser.feed(data)
            if not self.parser.buffer:
                self.raw.clear()
        return got

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()


class Capture:
    """Every frame the collector's interface saw (sent, received, broadcast — not frames
    for other hosts), with the kernel's time stamps, into a pcap file."""

    def __init__(self, sock: socket.socket, writer: PcapWriter) -> None:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 23)
        sock.setblocking(False)
        self.sock = sock
        self.writer = writer

    def drain(self) -> None:
        while True:
            try:
                frame, anc, _, addr = self.sock.recvmsg(65_535, _ANCILLARY)
            except (BlockingIOError, InterruptedError):
                return
            if addr[2] == socket.PACKET_OTHERHOST:
                continue
            stamp = time.time_ns()
            for level, kind, value in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                    sec, ns = struct.unpack("qq", value[:16])
                    stamp = sec * 1_000_000_000 + ns
            self.writer.write(stamp, frame)

    def close(self) -> None:
        self.drain()
        self.sock.close()
        self.writer.close()


def not_http(stream: Stream, error: DecodeError) -> bytes:
    """What a stream held when its bytes turned out not to be HTTP."""
    return bytes(stream.raw) or str(error).encode()
