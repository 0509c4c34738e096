"""Southbound forwarding checked by real receivers: net-snmp's snmptrapd logs every trap the
live twin forwards, with the OIDs and varbinds of the element manager's message; a UDP
syslog receiver gets each RFC 5424 message whole. snmptrapd comes from Debian's package
(``.ci/install-emulation`` installs it in CI, where ``TWIN_REQUIRE_EMULATION=1`` turns a
missing one into a failure instead of a skip)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from emulation.test_third_party import _ours, _snmptrapd_traps

from twin.emulation import REQUIRE
from twin.live.service import LiveTwin
from twin.messages import EmsEvent
from twin.wire import EncodeError, snmp, syslog

from .live_support import free_port, small_scenario


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1 but {tool} is not installed")
        pytest.skip(f"{tool} is not installed (run .ci/install-emulation)")


def test_snmptrapd_and_a_syslog_receiver_get_the_forwarded_messages(tmp_path: Path) -> None:
    _need("snmptrapd")
    _, sc = small_scenario(tmp_path)
    conf = tmp_path / "snmptrapd.conf"
    conf.write_text(f"disableAuthorization yes\n[snmp] persistentDir {tmp_path}\n")
    port = free_port()
    log = tmp_path / "snmptrapd.log"
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.2)
    with open(log, "w") as f:
        trapd = subprocess.Popen(
            ["snmptrapd", "-f", "-Lo", "-On", "-n", "-C", "-c", str(conf), "-M", "/dev/null",
             "-m", "", f"udp:127.0.0.1:{port}"], stdout=f, stderr=subprocess.STDOUT)
    payloads: dict[str, list[str]] = {"snmp": [], "syslog": []}
    try:
        deadline = time.monotonic() + 15
        while "NET-SNMP version" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        twin = LiveTwin(sc, tmp_path / "run", speed=5e4, trap_to=("127.0.0.1", port),
                        syslog_to=rx.getsockname(), paused=True)
        twin.start()
        assert twin.asm is not None
        twin.asm.sim.bus.tap(lambda _t, m: payloads[m.dialect].append(m.payload)
                             if isinstance(m, EmsEvent) and m.dialect in payloads else None)
        twin.pacer.resume()
        got: list[bytes] = []
        while not twin.done.is_set():
            with contextlib.suppress(TimeoutError):
                got.append(rx.recv(65535))
        twin.close()
        assert twin.error is None, twin.error
        while True:
            try:
                got.append(rx.recv(65535))
            except TimeoutError:
                break
        expected = []
        for p in payloads["snmp"]:
            # one garbled by the dialect's noise is sent cut short, which a receiver drops
            with contextlib.suppress(EncodeError):
                expected.append(_ours(snmp.encode_trap(p, "public", 1)))
        assert expected
        assert twin.forwarder is not None
        assert twin.forwarder.counts["traps_sent"] == len(payloads["snmp"])
        while len(_snmptrapd_traps(log.read_text())) < len(expected):
            assert time.monotonic() < deadline + 60, "snmptrapd logged too few traps"
            time.sleep(0.05)
    finally:
        trapd.terminate()
        trapd.wait(timeout=10)
        rx.close()
    assert _snmptrapd_traps(log.read_text()) == expected  # every trap, in order
    assert payloads["syslog"], "the scenario's element managers sent no syslog"
    assert [syslog.from_datagram(d) for d in got] == payloads["syslog"]
