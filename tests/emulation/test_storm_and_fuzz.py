"""Alarm storms and malformed traffic on the real wire.

*Storm.* An aggregation router flaps every 30 s for an hour; with a fixed detection delay
each flap sends its ~19 alarms (or clears) in one burst from the element manager, thousands
of traps in all, into a collector whose access link carries 0.5 Mbit/s with a queue of 4
packets (htb). Drops are
counted, the collector never crashes, and what it received is exactly the alarms the OSS
read plus the rejects (5 % of the messages are cut in transit).

*Fuzz on the wire.* 10,000 malformed datagrams and requests — truncated BER, garbage UDP,
broken syslog, invalid VES JSON, broken HTTP, strangers — sent over the emulated network
into the collector's sockets all land in ``alarm_rejects`` with a reason.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import numpy as np
import pytest

import twin
from twin.emulation.fabric import EmulationError
from twin.emulation.session import Emulation
from twin.emulation.southbound import HTTP_PORT, TRAP_PORT
from twin.network import dialects
from twin.wire import ves
from twin.wiring import assemble

from .conftest import QUICKSTART, require

pytestmark = pytest.mark.xdist_group("emulation")  # one worker: see conftest.py

STORM = (
    "duration=2h", "subscribers.count=300", "network.sites=4", "network.vendors=[alpha]",
    "faults.random.mtbf_h={}",
    "faults.scripted=[{at: 30m, target: agg1, mode: flapping, flap_down: 30, flap_up: 30, "
    "duration: 1h}]",
    "network.telemetry.detection_delay={dist: deterministic, mean_s: 30}",
    "network.telemetry.duplicate_rate=0", "network.telemetry.malformed_rate=0.05",
    "oss.alarms.resync_interval=0",
    "emulation.collector_mbps=0.5", "emulation.queue_packets=4", "emulation.timeout_ms=60",
    "emulation.heartbeat_s=0",
)


@pytest.fixture(scope="module")
def storm(tmp_path_factory: pytest.TempPathFactory) -> twin.Run:
    require()
    return twin.simulate(QUICKSTART, out=tmp_path_factory.mktemp("storm") / "run",
                         report=False, emulate=True, overrides=STORM)


def test_a_storm_over_a_thin_link_drops_traps_and_counts_them(storm: twin.Run) -> None:
    w, o = storm.summary["wire"], storm.summary["oss"]
    assert w["snmp_traps_sent"] == w["southbound_sent"] >= 2000
    dropped = w["southbound_sent"] - w["southbound_received"]
    assert dropped > 0
    msgs = storm.table("wire_messages")
    traps = msgs[msgs["protocol"] == "snmp-trap"]
    assert (~traps["received"]).sum() == dropped
    assert len(traps) == w["snmp_traps_sent"]
    # what the collector received is what the OSS read: alarms plus rejects
    received = w["southbound_received"] + w["late"]
    raw = storm.table("alarms_raw")
    alarms = int((raw["via"] == "notification").sum())
    assert received == o["ems_events"] == alarms + o["alarm_rejects"]
    assert o["alarm_rejects"] == len(storm.table("alarm_rejects")) > 0
    print(f"\nstorm: {w['southbound_sent']} traps sent, {dropped} dropped on the "
          f"0.5 Mbit/s link, {alarms} alarms + {o['alarm_rejects']} rejects received")


RNG = np.random.default_rng(20_260_112)


def _garbage() -> bytes:
    return RNG.integers(0, 256, int(RNG.integers(1, 300)), dtype=np.uint8).tobytes()


def _malformed() -> list[bytes]:
    """Truncated traps and garbage."""
    from twin.messages import AlarmNotification
    from twin.wire import snmp

    traps = [snmp.encode_trap(dialects.encode_snmp(AlarmNotification(
        "ems-alpha", i + 1, float(i), f"site{i}", "", "equipmentAlarm", "softwareError",
        f"problem {i}", "major"), 0, 1), "public", 1) for i in range(50)]
    cut = [t[:int(RNG.integers(1, len(t) - 1))] for t in traps]
    return [cut[i % 50] for i in range(3000)] + [_garbage() for _ in range(2000)]


def test_ten_thousand_malformed_messages_on_the_wire_are_rejects(tmp_path: Path) -> None:
    sc = twin.load_scenario(QUICKSTART, ("duration=1h", "subscribers.count=100",
                                         "faults.random.mtbf_h={}", "faults.scripted=[]"))
    tables = tmp_path / "tables"
    tables.mkdir()
    with Emulation(sc, tmp_path / "wire") as emu:
        asm = assemble(sc, tables, southbound=emu)
        route = emu.route
        assert route is not None
        collector = route.collector_addr
        alpha = route.north["ems-alpha"]
        sent = 0

        def pump() -> None:
            route._pump(lambda: False, 0.05)

        for i, data in enumerate(_malformed()):  # truncated BER and garbage on UDP 162/514
            alpha.sendto(data, (collector, TRAP_PORT if i % 2 else 514))
            sent += 1
            if i % 40 == 39:
                pump()
        for i in range(2000):  # broken syslog: a PRI and then garbage
            alpha.sendto(b"<" + _garbage()[: int(RNG.integers(1, 40))], (collector, 514))
            sent += 1
            if i % 40 == 39:
                pump()
        stream = route.ves_client["ems-gamma"]
        for i in range(2500):  # invalid VES JSON in well-formed requests
            stream.send(ves.post('{"event": {"commonEventHeader": ' + str(i), collector))
            sent += 1
            if i % 40 == 39:
                pump()
        stranger = route.agents[route.plan.node_of["site1"]]
        for i in range(400):  # a sender that is no element manager
            stranger.sendto(_garbage(), (collector, TRAP_PORT))
            sent += 1
            if i % 40 == 39:
                pump()
        pump()
        for _ in range(100):  # broken HTTP: each on a connection of its own
            sock = emu.fabric.socket(route.plan.ems_hosts["ems-beta"].name,  # type: ignore
                                     socket.SOCK_STREAM)
            sock.settimeout(5)
            sock.connect((collector, HTTP_PORT))
            sock.sendall(b"NONSENSE / HTTP/9\r\n\r\n")
            sent += 1
            route._pump(lambda: False, 0.02)
            sock.close()
        route._pump(lambda: False, 0.3)
        route._flush()
        asm.sim.run()
    rejects = asm.oss.collector.rejects
    assert sent >= 10_000
    assert rejects == sent
    assert route.log.decode_errors >= 5000


def test_a_node_whose_shell_has_ended_is_named_with_how_it_ended(tmp_path: Path) -> None:
    """A node's shell holds its namespace: once it has gone, reaching into the node says
    which node and how its shell ended (a clear error, not a missing /proc path)."""
    sc = twin.load_scenario(QUICKSTART, ("duration=1h", "subscribers.count=100",
                                         "faults.random.mtbf_h={}", "faults.scripted=[]"))
    tables = tmp_path / "tables"
    tables.mkdir()
    with Emulation(sc, tmp_path / "wire") as emu:
        assemble(sc, tables, southbound=emu)
        assert emu.fabric is not None and emu.plan is not None
        name = emu.plan.ems_hosts["ems-beta"].name
        pid = emu.fabric.pid(name)
        emu.fabric.socket(name).close()  # reachable while its shell runs
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}/ns/net") and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(EmulationError, match=rf"node {name}: its shell \(pid {pid}\) has "
                                                 r"ended \(killed by SIGKILL\)"):
            emu.fabric.socket(name)
