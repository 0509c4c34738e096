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
from pathlib import Path

import pytest
from emulation.trapd import ours, snmptrapd

from twin.emulation import REQUIRE
from twin.live.service import LiveTwin
from twin.messages import EmsEvent
from twin.wire import EncodeError, snmp, syslog

from .live_support import small_scenario


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1 but {tool} is not installed")
        pytest.skip(f"{tool} is not installed (run .ci/install-emulation)")


def test_snmptrapd_and_a_syslog_receiver_get_the_forwarded_messages(tmp_path: Path) -> None:
    _need("snmptrapd")
    _, sc = small_scenario(tmp_path)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.2)
    payloads: dict[str, list[str]] = {"snmp": [], "syslog": []}
    with snmptrapd(tmp_path) as trapd, contextlib.closing(rx):
        twin = LiveTwin(sc, tmp_path / "run", speed=5e4, trap_to=("127.0.0.1", trapd.port),
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
                expected.append(ours(snmp.encode_trap(p, "public", 1)))
        assert expected
        assert twin.forwarder is not None
        assert twin.forwarder.counts["traps_sent"] == len(payloads["snmp"])
        trapd.wait_for(len(expected), 75)
        logged = trapd.traps()
    assert logged == expected  # every trap, in order
    assert payloads["syslog"], "the scenario's element managers sent no syslog"
    assert [syslog.from_datagram(d) for d in got] == payloads["syslog"]
