"""Emulation: the management network on Mininet, used by ``twin run --emulate``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from twin.scenario.schema.base import Duration, Strict


class EmulationSpec(Strict):
    management: Literal["out_of_band", "in_band"] = Field(
        "out_of_band", description="out_of_band: every element reaches its element manager "
                                   "over a separate data communication network (DCN); "
                                   "in_band: over the transport itself, through the data "
                                   "centre at the first core router, so a cut also cuts the "
                                   "management of what lies behind it")
    reduction: Literal["auto", "full", "site", "region"] = Field(
        "auto", description="how elements map to emulated nodes: full (one node each), site "
                            "(cells and core functions on their site's node), region (an "
                            "access region on its aggregation router's node); auto: the "
                            "finest within max_nodes")
    max_nodes: int = Field(120, ge=2, le=5_000,
                           description="auto reduction: most emulated nodes")
    dcn_mbps: float = Field(2.0, gt=0, le=100_000,
                            description="out_of_band: each node's access link to the DCN (htb)")
    collector_mbps: float = Field(100.0, gt=0, le=100_000,
                                  description="the OSS collector's access link (htb)")
    queue_packets: int = Field(100, ge=1, le=100_000, description="queue of each shaped "
                                                                  "interface; a burst beyond "
                                                                  "it is dropped")
    heartbeat_s: Duration = Field(
        3600.0, ge=0, description="element managers poll their elements this often, besides "
                                  "at every change of the network (lock-step: the periodic "
                                  "polls find what those did; shorter costs wall time); 0: "
                                  "only at changes")
    timeout_ms: float = Field(300.0, gt=0, le=60_000,
                              description="wall time the wire waits for a packet before "
                                          "counting it lost")
    community: str = Field("public", min_length=1, max_length=32,
                           description="SNMP community of traps and polls")
    capture: bool = Field(True, description="write wire/southbound.pcap")
