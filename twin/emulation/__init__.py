"""The twin on the wire: the southbound path on an emulated management network.

``twin run SCENARIO --emulate`` (or ``twin.simulate(..., emulate=True)``), as root on Linux
with the packages of ``.ci/install-emulation``: the element managers' alarms leave the
process as real SNMPv2c traps, syslog datagrams and VES events on a Mininet network that
mirrors the scenario's management network (out-of-band over a DCN, or in-band over the
transport the faults cut); the OSS's collector takes them off sockets on its own host. Alarm
synchronisation and supervision polls are real requests. The run directory gets
``wire/southbound.pcap``, the ``wire_messages`` table and a ``wire`` section in
``summary.json``. See docs/emulation.md.

Modules: :mod:`~twin.emulation.plan` (what to build), :mod:`~twin.emulation.routing`
(in-band routes), :mod:`~twin.emulation.fabric` (Mininet), :mod:`~twin.emulation.sockets`,
:mod:`~twin.emulation.collector` (bytes → EMS events), :mod:`~twin.emulation.southbound`
(the lock-step route), :mod:`~twin.emulation.stats`, :mod:`~twin.emulation.session` (one
run), :mod:`~twin.emulation.system` (what the machine needs). The codecs are in
:mod:`twin.wire`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twin.emulation.system import EmulationUnavailable, unavailable

if TYPE_CHECKING:
    from twin.emulation.session import Emulation

REQUIRE = "TWIN_REQUIRE_EMULATION"  # set to 1: a machine without the emulation fails tests

__all__ = ["REQUIRE", "Emulation", "EmulationUnavailable", "unavailable"]


def __getattr__(name: str) -> Any:
    if name == "Emulation":  # imported on use: it pulls in the whole twin
        from twin.emulation.session import Emulation

        return Emulation
    raise AttributeError(name)
