"""Wire benchmark: traps decoded per second at the collector, and the emulated quickstart.

    python -m tests.benchmarks.wire                  # decoding, the wire, both quickstarts
    python -m tests.benchmarks.wire --quick          # decoding only (no root needed)
    python -m tests.benchmarks.wire --json wire.json

Cases:

* **collector decode** — what the collector does with a trap datagram
  (:func:`twin.emulation.collector.from_trap`: strict BER decoding, community check, the
  dialect's text) over 2,000 distinct traps of the network's alarms, on one core; the goal is
  2,000 traps/s. Beside it, for comparison, scapy's and pysnmp's decoding of the same bytes.
* **collector on the wire** (root, Mininet) — an element manager's host sends the traps
  over the emulated DCN in bursts of 50 into the collector's socket, which decodes each:
  traps received and decoded per second of wall time (both ends run in this one process).
* **quickstart** — wall time of ``scenarios/quickstart.yaml`` in-process and emulated
  (out-of-band, no report), and the emulation's set-up time.

*per s/core* divides by process CPU time, comparable on a shared machine; *per s* is by wall.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"


def traps(n: int) -> list[bytes]:
    from twin.messages import AlarmNotification
    from twin.network import dialects
    from twin.wire import snmp

    causes = sorted(dialects.PROBABLE_CAUSE_CODES)
    types = sorted(dialects.EVENT_TYPE_CODES)
    sevs = sorted(dialects.SEVERITY_CODES)
    out = []
    for i in range(n):
        note = AlarmNotification("ems-alpha", i + 1, 60.0 * i, f"site{i % 190}-c{i % 3 + 1}",
                                 f"site{i % 190}-site{i % 190 + 1}", types[i % len(types)],
                                 causes[i % len(causes)], f"problem {i} on the element",
                                 sevs[i % len(sevs)])
        text = dialects.encode_snmp(note, 1_767_571_200_000_000 + 60_000_000 * i, 100 * i)
        out.append(snmp.encode_trap(text, "public", i + 1))
    return out


def _rate(n: int, work: Callable[[], None], repeat: int) -> dict[str, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        work()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return {"items": n, "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
            "per_s": round(n / wall, 1), "per_s_per_core": round(n / max(cpu, 1e-9), 1)}


def decoding(n: int, repeat: int) -> list[dict[str, Any]]:
    from pyasn1.codec.ber import decoder
    from pysnmp.proto import api
    from scapy.layers.snmp import SNMP

    from twin.emulation import collector

    data = traps(n)
    pm = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]

    def ours() -> None:
        for d in data:
            event = collector.from_trap("ems-alpha", d, "public")
            assert not event.decode_error

    def with_scapy() -> None:
        for d in data[: n // 10]:
            pkt = SNMP(d)
            [(v.oid.val, v.value.val) for v in pkt.PDU.varbindlist]

    def with_pysnmp() -> None:
        for d in data[: n // 4]:
            msg, _ = decoder.decode(d, asn1Spec=pm.Message())
            [(str(o), v.prettyPrint()) for o, v in
             pm.apiTrapPDU.get_varbinds(pm.apiMessage.get_pdu(msg))]

    return [{"case": "collector decode", **_rate(n, ours, repeat)},
            {"case": "scapy decode", **_rate(n // 10, with_scapy, repeat)},
            {"case": "pysnmp decode", **_rate(n // 4, with_pysnmp, repeat)}]


def on_the_wire(n: int) -> dict[str, Any]:
    """Traps from an element manager's host into the collector's socket, decoded there."""
    import twin
    from twin.emulation.session import Emulation
    from twin.emulation.southbound import TRAP_PORT
    from twin.wiring import assemble

    data = traps(n)
    sc = twin.load_scenario(QUICKSTART, ("duration=1h", "subscribers.count=100",
                                         "faults.random.mtbf_h={}", "faults.scripted=[]"))
    with tempfile.TemporaryDirectory() as tmp:
        tables = Path(tmp) / "tables"
        tables.mkdir()
        with Emulation(sc, None) as emu:
            assemble(sc, tables, southbound=emu)
            route = emu.route
            assert route is not None
            sock, to = route.north["ems-alpha"], (route.collector_addr, TRAP_PORT)
            w0, c0 = time.perf_counter(), time.process_time()
            for i in range(0, n, 50):
                for d in data[i:i + 50]:
                    sock.sendto(d, to)
                route._pump(lambda: False, 0.002)
            route._pump(lambda: False, 0.05)
            wall, cpu = time.perf_counter() - w0 - 0.05, time.process_time() - c0
            got = len(route.extras)
            assert all(not e.decode_error for e in route.extras)
            route.extras.clear()
    return {"case": "collector on the wire", "items": got, "wall_s": round(wall, 4),
            "cpu_s": round(cpu, 4), "per_s": round(got / wall, 1),
            "per_s_per_core": round(got / max(cpu, 1e-9), 1), "lost": n - got}


def quickstart() -> list[dict[str, Any]]:
    import twin

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, emulate in (("quickstart in-process", False), ("quickstart emulated", True)):
            w0, c0 = time.perf_counter(), time.process_time()
            run = twin.simulate(QUICKSTART, out=Path(tmp) / case.split()[-1], report=False,
                                emulate=emulate)
            row: dict[str, Any] = {"case": case, "wall_s": round(time.perf_counter() - w0, 2),
                                   "cpu_s": round(time.process_time() - c0, 2)}
            if emulate:
                row["setup_s"] = run.summary["wire"]["setup_s"]
                row["packets"] = run.summary["wire"]["sent"]
            out.append(row)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.wire")
    p.add_argument("--traps", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="decoding only")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    rows = decoding(args.traps, args.repeat)
    if not args.quick:
        from twin.emulation import unavailable

        problem = unavailable()
        if problem is None:
            rows.append(on_the_wire(args.traps * 5))
            rows += quickstart()
        else:
            print(f"(no wire cases: {problem})")
    print(f"{'case':<24}{'items':>8}{'wall s':>10}{'cpu s':>10}{'per s':>12}"
          f"{'per s/core':>12}")
    for r in rows:
        items = r.get("items", "")
        per_s = r.get("per_s", "")
        per_core = r.get("per_s_per_core", "")
        extra = f"   set-up {r['setup_s']} s, {r['packets']} packets" if "setup_s" in r else ""
        print(f"{r['case']:<24}{items!s:>8}{r['wall_s']:>10}{r['cpu_s']:>10}{per_s!s:>12}"
              f"{per_core!s:>12}{extra}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "python": platform.python_version(), "machine": platform.machine(),
            "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
