"""Someone else's decoders agree with the wire: net-snmp's snmptrapd logs the same trap OIDs
and varbinds as the twin's collector reads; Wireshark's tshark decodes every SNMP and syslog
packet of an emulated run's capture with no malformed packet, as many as the twin sent."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

import twin
from twin.emulation.plan import COLLECTOR_ADDRESS
from twin.messages import AlarmNotification
from twin.network import dialects
from twin.wire import snmp, syslog

from .conftest import require
from .trapd import ours, snmptrapd

pytestmark = pytest.mark.xdist_group("emulation")  # one worker: see conftest.py


def _pcap_payloads(path: Path, port: int) -> list[bytes]:
    from scapy.all import UDP, rdpcap

    return [bytes(p[UDP].payload) for p in rdpcap(str(path))
            if UDP in p and p[UDP].dport == port and p["IP"].dst == COLLECTOR_ADDRESS]


def _tshark(pcap: Path, *args: str) -> str:
    done = subprocess.run(["tshark", "-r", str(pcap), *args], capture_output=True, text=True,
                          check=True)
    return done.stdout


def _synthetic_traps() -> list[bytes]:
    """Every probable cause, event type and severity the dialect encodes, and the text
    varbinds of an off-standard cause and type."""
    causes = [*sorted(dialects.PROBABLE_CAUSE_CODES), "aCauseTheMibLacks"]
    types = [*sorted(dialects.EVENT_TYPE_CODES), "someNewType"]
    sevs = sorted(dialects.SEVERITY_CODES)
    out = []
    for i in range(max(len(causes), len(types), len(sevs))):
        note = AlarmNotification("ems-alpha", i + 1, 10.0 * i, f"site{i}", f"port {i}",
                                 types[i % len(types)], causes[i % len(causes)],
                                 f'problem "{i}" on it', sevs[i % len(sevs)])
        text = dialects.encode_snmp(note, 1_767_571_200_000_000 + i, 100 * i)
        out.append(snmp.encode_trap(text, "public", 1000 + i))
    return out


def test_snmptrapd_logs_the_same_oids_and_varbinds(
        quickstart_pair: tuple[twin.Run, twin.Run], tmp_path: Path) -> None:
    require("snmptrapd")
    _, emu = quickstart_pair
    traps = _pcap_payloads(emu.path / "wire" / "southbound.pcap", 162)
    assert len(traps) == emu.summary["wire"]["snmp_traps_sent"] > 0
    traps += _synthetic_traps()
    with snmptrapd(tmp_path) as trapd:
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for data in traps:
            sender.sendto(data, ("127.0.0.1", trapd.port))
            time.sleep(0.002)
        sender.close()
        trapd.wait_for(len(traps), 30)
        logged = trapd.traps()
    assert logged == [ours(t) for t in traps]
    trap_oids = {vb[2] for t in logged for vb in t if vb[0] == snmp.SNMP_TRAP_OID}
    assert trap_oids == {dialects.TRAP_RAISED, dialects.TRAP_CLEARED}


def test_tshark_decodes_every_packet_without_a_malformed_one(
        quickstart_pair: tuple[twin.Run, twin.Run]) -> None:
    require("tshark")
    _, emu = quickstart_pair
    pcap = emu.path / "wire" / "southbound.pcap"
    wire = emu.summary["wire"]
    assert not _tshark(pcap, "-Y", "_ws.malformed").strip()
    expert = _tshark(pcap, "-q", "-z", "expert,warn")
    assert "Warns" not in expert and "Errors" not in expert, expert
    to_collector = f"ip.dst=={COLLECTOR_ADDRESS}"
    snmp_rows = _tshark(pcap, "-Y", f"{to_collector} && snmp", "-T", "fields",
                        "-e", "snmp.name", "-e", "snmp.community").splitlines()
    syslog_rows = _tshark(pcap, "-Y", f"{to_collector} && syslog", "-T", "fields",
                          "-e", "syslog.hostname", "-e", "syslog.level").splitlines()
    ves_rows = _tshark(pcap, "-Y", 'http.request.uri == "/eventListener/v7" && json',
                       "-T", "fields", "-e", "frame.number").splitlines()
    assert len(snmp_rows) + len(syslog_rows) == wire["snmp_traps_sent"] + wire["syslog_sent"]
    assert (len(snmp_rows), len(syslog_rows), len(ves_rows)) == (
        wire["snmp_traps_sent"], wire["syslog_sent"], wire["ves_sent"])
    # tshark names the same varbinds, packet by packet, as the twin's decoder
    traps = _pcap_payloads(pcap, 162)
    for row, data in zip(snmp_rows, traps, strict=True):
        names, community = row.split("\t")
        assert names.split(",") == [vb[0] for vb in ours(data)]
        assert community == "public"
    for row, data in zip(syslog_rows, _pcap_payloads(pcap, 514), strict=True):
        host, level = row.split("\t")
        frame = syslog.from_datagram(data)
        pri = int(re.match(r"\d+ <(\d+)>", frame).group(1))  # type: ignore[union-attr]
        assert int(level) == pri % 8 and host == frame.split(" ")[3]


@pytest.mark.parametrize("where", ["capture"])
def test_the_capture_opens_in_scapy(quickstart_pair: tuple[twin.Run, twin.Run],
                                    where: str) -> None:
    from scapy.all import rdpcap

    _, emu = quickstart_pair
    packets = rdpcap(str(emu.path / "wire" / "southbound.pcap"))
    assert len(packets) == emu.summary["wire"]["pcap_frames"] > 0
