"""Network: topology presets, elements, links, telemetry, power."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from twin.scenario.schema.base import (
    MAX_DURATION_S,
    MAX_HOURS,
    Duration,
    ElementType,
    Km,
    Share,
    Strict,
    Technology,
)

SITES_MAX = 20_000  # ten times the national preset; memory grows with the cells
ELEMENTS_MAX = 200_000  # elements (or links) listed one by one
CHANNELS_MAX = 10_000  # traffic channels of one cell


class CellSpec(Strict):
    voice_channels: int = Field(30, ge=1, le=CHANNELS_MAX,
                                description="traffic channels per cell (loss system)")


class TechnologySpec(Strict):
    share_of_sites: Share = Field(1.0, description="share of sites with this layer")
    sectors: int = Field(3, ge=1, le=12, description="cells per site on this layer")
    voice_channels: int = Field(ge=1, le=CHANNELS_MAX)


def _default_technologies() -> dict[Technology, TechnologySpec]:
    return {"2G": TechnologySpec(share_of_sites=0.6, sectors=1, voice_channels=30),
            "4G": TechnologySpec(share_of_sites=1.0, sectors=3, voice_channels=120),
            "5G": TechnologySpec(share_of_sites=0.6, sectors=3, voice_channels=200)}


class ElementSpec(Strict):
    id: str = Field(min_length=1)
    type: ElementType
    site: str | None = Field(None, description="site name; defaults to the element id")
    vendor: str = "alpha"
    region: str = "region1"
    power_domain: str | None = Field(None, description="sites sharing a power feed; "
                                                       "defaults to the site")
    voice_channels: int | None = Field(None, ge=1, le=CHANNELS_MAX, description="cells only")
    technology: Technology | None = Field(None, description="cells only")
    standby: bool = Field(False, description="has a standby unit (1:1 equipment protection) "
                                             "that a switch_standby command brings into service")
    location: tuple[Km, Km] | None = Field(
        None, description="site position, km east and north of any datum (crews travel "
                          "there); default: that of another element of the same site")


class LinkSpec(Strict):
    a: str
    b: str
    id: str | None = Field(None, description="defaults to 'a-b'")
    cable: str | None = Field(None, description="fibre cable carrying the link; a fibre cut "
                                                "takes every link in the cable")
    medium: Literal["fibre", "microwave"] = "fibre"
    standby: bool = Field(False, description="has a protection path (1+1, on a diverse "
                                             "route) that a switch_standby command selects")


class DelaySpec(Strict):
    dist: Literal["exponential", "deterministic"] = "exponential"
    mean_s: float = Field(30.0, ge=0, le=MAX_DURATION_S)


class TelemetrySpec(Strict):
    detection_delay: DelaySpec = DelaySpec()
    duplicate_rate: Share = Field(0.05, description="chance an EMS sends an alarm twice")
    cdr_duplicate_rate: Share = Field(0.001, description="chance a CDR is written twice")
    transient_per_ne_day: float = Field(
        0.05, ge=0, le=1_000, description="noise: transient alarms per element per day that "
                                          "clear by themselves, with no fault behind them; "
                                          "0 switches them off")
    transient_duration: Duration = Field(120.0, gt=0, description="their mean duration")
    congestion_raise: float = Field(0.8, gt=0, le=10, description="link utilisation raising a "
                                                           "threshold alarm")
    congestion_clear: float = Field(0.7, gt=0, le=10, description="… and clearing it (hysteresis)")
    malformed_rate: Share = Field(0.01, description="chance an EMS message is cut in transit "
                                                    "(the OSS rejects it; its alarm is lost)")
    dialects: dict[str, Literal["snmp", "syslog", "ves"]] = Field(
        default_factory=dict, description="EMS dialect per vendor; default by vendor order: "
                                          "snmp, syslog, ves, snmp …")


def _default_battery() -> dict[ElementType, float]:
    return {"core_router": 8.0, "agg_router": 4.0, "site_router": 2.0, "cell": 2.0,
            "msc": 8.0, "pgw": 8.0, "hss": 8.0, "dns": 8.0, "ocs": 8.0, "cdf": 8.0}


class PowerSpec(Strict):
    battery_h: dict[ElementType, Annotated[float, Field(ge=0, le=MAX_HOURS)]] = Field(
        default_factory=_default_battery,
        description="battery backup per element type when mains power fails (types "
                    "left out keep their default)")


Medium = Literal["fibre", "microwave"]


def _default_cell_data() -> dict[Technology, float]:
    return {"2G": 0.2, "4G": 150.0, "5G": 1000.0}


def _default_capacity() -> dict[Medium, float]:
    return {"fibre": 10_000.0, "microwave": 1_000.0}


class PopSpec(Strict):
    """How a real backbone's PoPs are dressed as an operator's network."""

    core: list[str] = Field(
        default_factory=list, description="core PoPs by name (source name or element id); "
                                          "default: the core_sites PoPs of highest degree")
    access: Literal["demand", "degree", "uniform"] | dict[
        str, Annotated[int, Field(ge=0, le=SITES_MAX)]] | None = Field(
        None, description="access sites per PoP: network.sites shared in proportion to the "
                          "PoP's demand (SNDlib), its degree, or evenly; or a map PoP → sites "
                          "(PoPs left out get none). Default: demand where the backbone has a "
                          "demand matrix, else degree")
    site_spacing_km: float = Field(5.0, gt=0, le=1_000,
                                   description="mean distance between neighbouring access sites")
    trunk_capacity_mbps: float = Field(100_000.0, gt=0, le=10_000_000,
                                       description="capacity of each backbone link")
    demand_load: float | None = Field(
        None, ge=0, le=10, description="SNDlib demand between PoPs, scaled so that with every "
                                       "link up the busiest backbone link carries this share of "
                                       "its capacity at the day's mean hour; 0: none. Default "
                                       "0.2 where the backbone has a demand matrix")


class NetworkSpec(Strict):
    backbone: str | None = Field(
        None, description="a real backbone from topohub: topozoo/<Name> or sndlib/<name> "
                          "(`twin topologies` lists them); its PoPs and links with their real "
                          "positions and lengths, dressed by `pops`")
    pops: PopSpec = PopSpec()
    preset: Literal["small", "metro", "national"] | None = Field(
        None, description="generate an operator network (sizes below default per preset: "
                          "small 12 sites, metro 190 sites ≈ 1,000 cells, national 1,900 "
                          "sites ≈ 10,000 cells) instead of listing elements")
    sites: int | None = Field(None, ge=1, le=SITES_MAX, description="access (radio) sites")
    sites_per_chain: int | None = Field(
        None, ge=1, le=1_000,
        description="access sites on one chain/ring behind an aggregation router")
    cells_per_site: int | None = Field(
        None, ge=1, le=24, description="one layer of this many cells per site (small's shape); "
                                "unset on metro/national: the technologies below")
    technologies: dict[Technology, TechnologySpec] = Field(
        default_factory=_default_technologies,
        description="radio layers of metro/national networks")
    core_sites: int | None = Field(None, ge=1, le=8, description="IP/MPLS core sites (ring); "
                                   "small 1, metro/national 2")
    core_functions: bool | None = Field(
        None, description="generate core network functions (msc, pgw, hss, dns, ocs, cdf) at "
                          "every core site; default off for small, on otherwise")
    dual_homing: bool | None = Field(
        None, description="rings close on a second aggregation router (off for small)")
    microwave_share: Share | None = Field(
        None, description="share of access links that are microwave (small 0, else 0.3)")
    transport: Literal["tree", "ring"] = Field(
        "tree",
        description="tree: each chain hangs off its aggregation router; ring: it closes back")
    vendors: list[str] = Field(default_factory=lambda: ["alpha", "beta", "gamma"], min_length=1,
                               max_length=100)
    cell: CellSpec = CellSpec()
    core_failover: Literal["automatic", "manual"] = Field(
        "automatic", description="core network function pairs: the standby takes over at "
                                 "once, or only on a switch_standby command for the failed "
                                 "active instance")
    standby_types: list[ElementType] = Field(
        default_factory=list, description="element types with a standby unit (1:1 equipment "
                                          "protection, switched over on command), generated "
                                          "or listed")
    elements: list[ElementSpec] = Field(default_factory=list, max_length=ELEMENTS_MAX)
    links: list[LinkSpec] = Field(default_factory=list, max_length=ELEMENTS_MAX)
    telemetry: TelemetrySpec = TelemetrySpec()
    power: PowerSpec = PowerSpec()
    link_capacity_mbps: dict[Medium, Annotated[float, Field(gt=0, le=10_000_000)]] = Field(
        default_factory=_default_capacity,
        description="link capacity by medium (a medium left out keeps its default)")
    cell_data_capacity_mbps: dict[Technology, Annotated[float, Field(gt=0, le=1_000_000)]] = Field(
        default_factory=_default_cell_data,
        description="cell data capacity by technology (a technology left out keeps its "
                    "default); demand above it lowers user throughput")

    @model_validator(mode="after")
    def _check_topology(self) -> NetworkSpec:
        given = [k for k, v in (("preset", self.preset), ("backbone", self.backbone),
                                ("elements", self.elements)) if v]
        if not given:
            raise ValueError("give a preset, a backbone or a list of elements")
        if len(given) > 1:
            raise ValueError("give one of preset, backbone or a list of elements, not both "
                             f"{' and '.join(given[:2])}")
        if self.backbone is None and self.pops != PopSpec():
            raise ValueError("pops: only a backbone has PoPs to dress")
        if self.elements:
            seen: set[str] = set()
            for i, e in enumerate(self.elements):
                if e.id in seen:
                    raise ValueError(f"elements[{i}].id: duplicate element id {e.id!r}")
                seen.add(e.id)
                if e.voice_channels is not None and e.type != "cell":
                    raise ValueError(f"elements[{i}].voice_channels: only cells have channels")
                if e.technology is not None and e.type != "cell":
                    raise ValueError(f"elements[{i}].technology: only cells have one")
            if not any(e.type == "core_router" for e in self.elements):
                raise ValueError("elements: at least one core_router is needed")
            if not any(e.type == "cell" for e in self.elements):
                raise ValueError("elements: at least one cell is needed")
            for i, link in enumerate(self.links):
                for end in ("a", "b"):
                    ref = getattr(link, end)
                    if ref not in seen:
                        raise ValueError(f"links[{i}].{end}: unknown element {ref!r}")
        return self


