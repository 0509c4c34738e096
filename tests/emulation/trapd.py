"""net-snmp's snmptrapd as a third-party trap receiver for the tests: started on a free
loopback port with authorisation off, its log read back as lists of varbinds."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from twin.wire import snmp

_VB = re.compile(r"^\.?([\d.]+) = ([A-Za-z0-9]+): (.*)$")
Varbinds = list[tuple[str, str, str]]


def _normalise(kind: str, value: str) -> tuple[str, str]:
    if kind == "Timeticks":  # snmptrapd: "(12345) 0:02:03.45"
        value = re.match(r"\((\d+)\)", value).group(1)  # type: ignore[union-attr]
    elif kind == "OID":
        value = value.lstrip(".")
    return kind, value


def logged_traps(out: str) -> list[Varbinds]:
    """The traps in snmptrapd's log (``-Lo -On``), each as (OID, type, value) varbinds."""
    traps = []
    for line in out.splitlines():
        if not line.startswith(".1.3.6"):
            continue
        fields = []
        for part in line.split("\t"):
            empty = re.match(r'^\.?([\d.]+) = ""$', part)  # net-snmp: an empty string
            if empty:
                fields.append((empty.group(1), "STRING", '""'))
                continue
            m = _VB.match(part)
            assert m is not None, part
            fields.append((m.group(1), *_normalise(m.group(2), m.group(3))))
        traps.append(fields)
    return traps


def ours(datagram: bytes) -> Varbinds:
    """The varbinds of a trap as the twin's own decoder reads them."""
    out = []
    for line in snmp.decode_trap(datagram).text.split("\n"):
        m = _VB.match(line)
        assert m is not None
        out.append((m.group(1), m.group(2), m.group(3)))
    return out


class Snmptrapd:
    def __init__(self, port: int, log: Path) -> None:
        self.port = port
        self.log = log

    def traps(self) -> list[Varbinds]:
        return logged_traps(self.log.read_text())

    def wait_for(self, count: int, timeout_s: float) -> None:
        """Until the log holds ``count`` traps (an assertion error after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while len(self.traps()) < count:
            assert time.monotonic() < deadline, "snmptrapd logged too few traps"
            time.sleep(0.05)


@contextmanager
def snmptrapd(workdir: Path) -> Iterator[Snmptrapd]:
    """A running snmptrapd, ready to receive; stopped on leaving."""
    conf = workdir / "snmptrapd.conf"
    conf.write_text(f"disableAuthorization yes\n[snmp] persistentDir {workdir}\n")
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    log = workdir / "snmptrapd.log"
    with open(log, "w") as f:
        trapd = subprocess.Popen(
            ["snmptrapd", "-f", "-Lo", "-On", "-n", "-C", "-c", str(conf), "-M", "/dev/null",
             "-m", "", f"udp:127.0.0.1:{port}"], stdout=f, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while "NET-SNMP version" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield Snmptrapd(port, log)
    finally:
        trapd.terminate()
        trapd.wait(timeout=10)
