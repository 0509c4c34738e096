"""The scenario schema: what a scenario file may say, with defaults and checks.

Every model forbids unknown fields, so a typo is an error that names the field rather than a
silently ignored setting. Durations accept ``"7d"``, ``"1d10h"``, ``"90m"``, ``"30s"`` or a
number of seconds.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_UNIT = {"w": 604_800.0, "d": 86_400.0, "h": 3_600.0, "m": 60.0, "s": 1.0}
_DUR = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*([wdhms])\s*)+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")


def parse_duration(value: object) -> float:
    """Seconds from ``"1d10h"``-style text or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '7d', '1d10h', '90m' or seconds")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("a duration must be a finite number of seconds")
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str) and _DUR.match(value):
        return sum(float(n) * _UNIT[u] for n, u in _PART.findall(value))
    raise ValueError("expected a duration like '7d', '1d10h', '90m' or seconds")


Duration = Annotated[float, BeforeValidator(parse_duration)]
Share = Annotated[float, Field(ge=0, le=1)]
ElementType = Literal[
    "core_router", "agg_router", "site_router", "cell",
    # core network functions: voice core/IMS, packet gateway, subscriber database, DNS,
    # online charging system, charging data collector
    "msc", "pgw", "hss", "dns", "ocs", "cdf",
]
Technology = Literal["2G", "4G", "5G"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- network -----------------------------------------------------------------------------


class CellSpec(Strict):
    voice_channels: int = Field(30, ge=1, description="traffic channels per cell (loss system)")


class TechnologySpec(Strict):
    share_of_sites: Share = Field(1.0, description="share of sites with this layer")
    sectors: int = Field(3, ge=1, description="cells per site on this layer")
    voice_channels: int = Field(ge=1)


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
    voice_channels: int | None = Field(None, ge=1, description="cells only")
    technology: Technology | None = Field(None, description="cells only")
    standby: bool = Field(False, description="has a standby unit (1:1 equipment protection) "
                                             "that a switch_standby command brings into service")
    location: tuple[float, float] | None = Field(
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
    mean_s: float = Field(30.0, ge=0)


class TelemetrySpec(Strict):
    detection_delay: DelaySpec = DelaySpec()
    duplicate_rate: Share = Field(0.05, description="chance an EMS sends an alarm twice")
    cdr_duplicate_rate: Share = Field(0.001, description="chance a CDR is written twice")
    transient_per_ne_day: float = Field(
        0.0, ge=0, description="noise: transient alarms per element per day that clear by "
                               "themselves, with no fault behind them")
    transient_duration: Duration = Field(120.0, gt=0, description="their mean duration")
    congestion_raise: float = Field(0.8, gt=0, description="link utilisation raising a "
                                                           "threshold alarm")
    congestion_clear: float = Field(0.7, gt=0, description="… and clearing it (hysteresis)")
    malformed_rate: Share = Field(0.01, description="chance an EMS message is cut in transit "
                                                    "(the OSS rejects it; its alarm is lost)")
    dialects: dict[str, Literal["snmp", "syslog", "ves"]] = Field(
        default_factory=dict, description="EMS dialect per vendor; default by vendor order: "
                                          "snmp, syslog, ves, snmp …")


def _default_battery() -> dict[ElementType, float]:
    return {"core_router": 8.0, "agg_router": 4.0, "site_router": 2.0, "cell": 2.0,
            "msc": 8.0, "pgw": 8.0, "hss": 8.0, "dns": 8.0, "ocs": 8.0, "cdf": 8.0}


class PowerSpec(Strict):
    battery_h: dict[ElementType, Annotated[float, Field(ge=0)]] = Field(
        default_factory=_default_battery,
        description="battery backup per element type when mains power fails (types "
                    "left out keep their default)")


Medium = Literal["fibre", "microwave"]


def _default_cell_data() -> dict[Technology, float]:
    return {"2G": 0.2, "4G": 150.0, "5G": 1000.0}


def _default_capacity() -> dict[Medium, float]:
    return {"fibre": 10_000.0, "microwave": 1_000.0}


class NetworkSpec(Strict):
    preset: Literal["small", "metro", "national"] | None = Field(
        None, description="generate an operator network (sizes below default per preset: "
                          "small 12 sites, metro 190 sites ≈ 1,000 cells, national 1,900 "
                          "sites ≈ 10,000 cells) instead of listing elements")
    sites: int | None = Field(None, ge=1, description="access (radio) sites")
    sites_per_chain: int | None = Field(
        None, ge=1, description="access sites on one chain/ring behind an aggregation router")
    cells_per_site: int | None = Field(
        None, ge=1, description="one layer of this many cells per site (small's shape); "
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
    vendors: list[str] = Field(default_factory=lambda: ["alpha", "beta", "gamma"], min_length=1)
    cell: CellSpec = CellSpec()
    core_failover: Literal["automatic", "manual"] = Field(
        "automatic", description="core network function pairs: the standby takes over at "
                                 "once, or only on a switch_standby command for the failed "
                                 "active instance")
    standby_types: list[ElementType] = Field(
        default_factory=list, description="element types with a standby unit (1:1 equipment "
                                          "protection, switched over on command), generated "
                                          "or listed")
    elements: list[ElementSpec] = Field(default_factory=list)
    links: list[LinkSpec] = Field(default_factory=list)
    telemetry: TelemetrySpec = TelemetrySpec()
    power: PowerSpec = PowerSpec()
    link_capacity_mbps: dict[Medium, Annotated[float, Field(gt=0)]] = Field(
        default_factory=_default_capacity,
        description="link capacity by medium (a medium left out keeps its default)")
    cell_data_capacity_mbps: dict[Technology, Annotated[float, Field(gt=0)]] = Field(
        default_factory=_default_cell_data,
        description="cell data capacity by technology (a technology left out keeps its "
                    "default); demand above it lowers user throughput")

    @model_validator(mode="after")
    def _check_topology(self) -> NetworkSpec:
        if self.preset is None and not self.elements:
            raise ValueError("give either a preset or a list of elements")
        if self.preset is not None and self.elements:
            raise ValueError("give either a preset or a list of elements, not both")
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


# --- subscribers and traffic ---------------------------------------------------------------


class SubscriberSpec(Strict):
    count: int = Field(ge=1)
    mix: dict[str, Share] = Field(
        default_factory=lambda: {"consumer_postpaid": 0.6, "consumer_prepaid": 0.3,
                                 "enterprise": 0.1},
        description="share of subscribers per catalog offer")
    lines_per_enterprise_account: int = Field(10, ge=1)
    site_weights: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict,
        description="relative weight of a site (or a single cell) when homing subscribers "
                    "and enterprise offices; unlisted sites weigh 1 (empty: uniform)")

    @model_validator(mode="after")
    def _check_mix(self) -> SubscriberSpec:
        total = sum(self.mix.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"mix: shares must add up to 1 (they add up to {total:g})")
        return self


class HoldingSpec(Strict):
    dist: Literal["exponential", "lognormal", "loglogistic", "deterministic"] = "lognormal"
    mean_s: float = Field(110.0, gt=0)
    sigma: float = Field(1.0, gt=0, description="lognormal shape (std of the log)")
    shape: float = Field(3.0, gt=1, description="log-logistic shape β (> 1 for a finite mean)")


class VolumeSpec(Strict):
    dist: Literal["exponential", "lognormal"] = "lognormal"
    mean: float = Field(20.0, gt=0, description="mean MB per session")
    sigma: float = Field(1.5, gt=0)


class VoiceSpec(Strict):
    calls_per_sub_day: float = Field(3.0, ge=0)
    holding: HoldingSpec = HoldingSpec()


class DataSpec(Strict):
    sessions_per_sub_day: float = Field(8.0, ge=0)
    mb_per_session: VolumeSpec = VolumeSpec()
    duration: HoldingSpec = HoldingSpec(dist="exponential", mean_s=300.0)


# Relative traffic per hour of the day. Weekday: a late-morning peak and an evening busy hour
# carrying about 12% of the day (the 12–20% rule of thumb; shape after the Milan data,
# Barlacchi et al. 2015). Weekend: later start, flatter, a little less in total.
DEFAULT_PROFILE = [
    0.5, 0.3, 0.2, 0.2, 0.2, 0.4, 1.0, 2.5, 4.5, 6.0, 7.5, 8.5,
    8.0, 7.0, 6.5, 6.5, 7.5, 9.5, 14.0, 10.0, 7.0, 4.5, 2.5, 1.2,
]
WEEKEND_PROFILE = [
    1.0, 0.6, 0.4, 0.3, 0.3, 0.3, 0.5, 1.0, 2.5, 4.5, 6.5, 8.0,
    8.5, 8.5, 8.0, 7.5, 7.5, 8.0, 9.0, 8.5, 7.0, 5.0, 3.0, 1.8,
]


class DemandEvent(Strict):
    """A crowd at a place: a stadium match, a concert, a fair."""

    at: Duration
    duration: Duration = Field(gt=0)
    site: str = Field(description="every cell of this site")
    factor: float = Field(gt=0, description="demand multiplied by this while it lasts")


class SmsSpec(Strict):
    per_sub_day: float = Field(2.0, ge=0, description="text messages sent per subscriber a day")


class UsageRecordSpec(Strict):
    """How the recording entities write usage records (3GPP TS 32.298 shaped)."""

    partial_time_limit: Duration | None = Field(
        3600.0, gt=0, description="a data session longer than this is written as partial "
                                  "records, one per interval (null: one record per session)")
    partial_volume_limit_mb: float | None = Field(
        None, gt=0, description="… or a partial record each time a session has moved this "
                                "many MB (whichever limit comes first)")
    answer_delay_mean_s: float = Field(
        6.0, ge=0, description="mean setup and ring time from seizure to answer (exponential)"
                               "; a call is charged from answer to release")
    on_net_share: Share = Field(0.5, description="share of calls to another subscriber")
    international_share: Share = Field(0.05, description="share of calls abroad; the rest go "
                                                         "to other national networks")
    uplink_share_mean: Share = Field(0.12, description="mean uplink share of a data volume")


class TrafficSpec(Strict):
    interval: Duration = Field(900.0, gt=0, description="traffic generation step (PM period)")
    profile: Literal["diurnal", "flat"] = "diurnal"
    hourly_shares: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: list(DEFAULT_PROFILE), min_length=24, max_length=24,
        description="weekday shape: relative traffic per hour (normalised to the day)")
    weekend_shares: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: list(WEEKEND_PROFILE), min_length=24, max_length=24)
    weekend_factor: float = Field(0.85, gt=0, description="a weekend day's volume vs a weekday")
    holidays: list[date] = Field(default_factory=list, description="days run as weekend days")
    events: list[DemandEvent] = Field(default_factory=list)
    voice: VoiceSpec = VoiceSpec()
    data: DataSpec = DataSpec()
    sms: SmsSpec = SmsSpec()
    records: UsageRecordSpec = UsageRecordSpec()
    segment_factors: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        description="demand multiplier per offer name or catalog segment (voice, data and "
                    "SMS rates of its subscribers); an offer's own entry wins over its "
                    "segment's")


# --- faults --------------------------------------------------------------------------------


FaultMode = Literal[
    "element_failure",  # hard failure of the hardware: needs a truck roll (replace)
    "software_crash",  # the element is down; a remote restart fixes it
    "degradation",  # up, but with capacity loss and/or an elevated call-drop rate
    "flapping",  # repeatedly down and up until replaced
    "power_outage",  # mains lost at a power domain: on battery, then down
    "planned_maintenance",  # announced window: down for its duration
    "link_failure",  # one link down (a port or a microwave hop)
    "fibre_cut",  # every link in the cable down until spliced
]
ELEMENT_MODES = ("element_failure", "software_crash", "degradation", "flapping",
                 "planned_maintenance")


class RepairSpec(Strict):
    """How random faults end: by the OSS (tickets and crews), or after a time the scenario
    fixes — a controlled experiment with no crew limit and no detection delay."""

    by: Literal["oss", "fixed"] = "oss"
    mttr_h: float = Field(4.0, gt=0, description="with by: fixed")
    dist: Literal["deterministic", "exponential"] = "deterministic"


class StormSpec(Strict):
    at: Duration
    duration: Duration = Field(gt=0)
    region: str
    factor: float = Field(gt=1, description="failure rates multiplied by this in the region")


class RandomFaultSpec(Strict):
    mtbf_h: dict[ElementType, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="mean time between failures per element type")
    link_mtbf_h: float | None = Field(None, gt=0)
    distribution: Literal["exponential", "weibull"] = "exponential"
    weibull_shape: float = Field(1.5, gt=0, description="k; < 1 infant mortality, > 1 wear-out")
    crash_share: Share = Field(0.3, description="share of element failures that are "
                                                "software crashes (the rest are hardware)")
    repair: RepairSpec = RepairSpec()


class ScriptedFault(Strict):
    at: Duration
    target: str = Field(description="element, link, cable, or power domain (power_outage)")
    mode: FaultMode
    duration: Duration | None = Field(None, description="clears by itself after this long")
    silent: bool = Field(False, description="raises no alarm; shows only in PM counters")
    capacity_factor: Share = Field(1.0, description="degradation: share of channels left")
    drop_rate: Share = Field(0.0, description="degradation: chance an answered call drops")
    flap_down: Duration = Field(120.0, gt=0, description="flapping: down time per flap")
    flap_up: Duration = Field(600.0, gt=0, description="flapping: up time between flaps")
    window: Duration | None = Field(
        None, gt=0, description="planned_maintenance: the announced window (default: the "
                                "duration); work lasting longer overruns it")
    notice: Duration | None = Field(
        None, description="planned_maintenance: announced this long ahead (default "
                          "faults.maintenance_notice)")

    @model_validator(mode="after")
    def _check_mode(self) -> ScriptedFault:
        if self.mode in ("power_outage", "planned_maintenance") and self.duration is None:
            raise ValueError(f"duration: a {self.mode} needs a duration")
        for name in ("window", "notice"):
            if getattr(self, name) is not None and self.mode != "planned_maintenance":
                raise ValueError(f"{name}: only a planned_maintenance has one")
        if self.silent and self.mode != "degradation":
            raise ValueError("silent: only a degradation can be silent")
        return self


class FaultSpec(Strict):
    random: RandomFaultSpec = RandomFaultSpec()
    scripted: list[ScriptedFault] = Field(default_factory=list)
    storms: list[StormSpec] = Field(default_factory=list)
    maintenance_notice: Duration = Field(
        3 * 86_400.0, description="how long ahead change management announces a planned "
                                  "maintenance window to the OSS")


# --- OSS -----------------------------------------------------------------------------------


class AlarmHandlingSpec(Strict):
    """Flap detection: a reduction key raised ``flap_count`` times within ``flap_window`` is
    flapping; its alarm then stays open through clears and re-raises (suppressed, counted)
    and clears only after ``flap_quiet`` without a raise."""

    flap_count: int = Field(3, ge=2, description="raises within the window that mean flapping")
    flap_window: Duration = Field(3600.0, gt=0)
    flap_quiet: Duration = Field(1800.0, gt=0, description="quiet time before a flapping "
                                                            "alarm clears")
    resync_interval: Duration = Field(
        900.0, ge=0, description="alarm synchronisation: every so often the OSS reads each "
                                 "element manager's active alarm list and raises the alarms "
                                 "it missed and clears those gone; 0 turns it off")


class NocSpec(Strict):
    """The NOC operators who triage (acknowledge) incidents before a crew is sent."""

    operators: int = Field(2, ge=0, description="0: incidents are acknowledged at once")
    triage_mean_s: float = Field(120.0, ge=0, description="time to look at an incident")
    triage_dist: Literal["exponential", "deterministic"] = "exponential"
    auto_ticket_after: Duration = Field(
        900.0, ge=0, description="dispatch anyway when still unacknowledged after this long "
                                 "(OpenNMS default 15 min)")
    auto_ticket_after_critical: Duration = Field(300.0, ge=0, description="same, critical")


TicketPriority = Literal["Critical", "High", "Medium", "Low"]


def _default_sla_targets() -> dict[TicketPriority, float]:
    return {"Critical": 4.0, "High": 8.0, "Medium": 24.0, "Low": 72.0}


class TicketSpec(Strict):
    """Trouble-ticket service levels: a restore target per TMF621 priority (Critical: a
    service-affecting critical incident, High: other service-affecting or critical ones,
    Medium: major, Low: the rest), and escalation when a ticket runs late."""

    sla_target_h: dict[TicketPriority, Annotated[float, Field(gt=0)]] = Field(
        default_factory=_default_sla_targets, description="time to restore per priority, hours")
    escalate_at: list[Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: [0.5, 1.0],
        description="shares of the target at which an unresolved ticket escalates a level")


class AutomationSpec(Strict):
    """Closed-loop remote remediation tried before a truck roll."""

    restart: Literal["never", "software", "always"] = Field(
        "software", description="remote restart first: never; when the element reports a "
                                "software (processing) error; or for every dead element")
    verify: Duration = Field(600.0, ge=0, description="wait this long for the alarms to clear "
                                                      "after a restart before a truck roll")
    guard: Duration = Field(600.0, ge=0, description="at most one restart per element in this "
                                                     "time (ONAP-style guard)")
    switch_standby: bool = Field(
        True, description="first switch a dead element or cut link that has a standby unit "
                          "or protection path in the inventory over to it (at most once per "
                          "target in `guard`); a crew then repairs the failed unit")


class MaintenanceSpec(Strict):
    """What the OSS does with announced planned-maintenance windows."""

    enabled: bool = Field(True, description="suppress alarms of announced work and tell the "
                                            "BSS; false: the OSS ignores the announcements")
    grace: Duration = Field(300.0, description="after a window's end, alarms still raised "
                                               "this long later are an overrun: ticketed")


class InventoryAccuracySpec(Strict):
    """How wrong the OSS's inventory is: records of links it never got (missing) or that
    still show an old connection (stale: one end recorded at another element of the same
    type). Drawn once from the OSS's own stream; the network is unaffected."""

    missing_links: Share = Field(0.0, description="share of links absent from the inventory")
    stale_links: Share = Field(0.0, description="share of links with a wrong end")


class KpiThreshold(Strict):
    """Threshold crossing with hysteresis on a KPI summed over the last ``window`` periods:
    raise after ``periods`` bad evaluations in a row, clear after ``clear_periods`` good
    ones; a window with fewer than ``min_attempts`` calls, or in which the cell was not fully
    available, counts neither way."""

    raise_at: float = Field(ge=0)
    clear_at: float = Field(ge=0)
    window: int = Field(4, ge=1, description="periods the KPI is summed over")
    periods: int = Field(2, ge=1)
    clear_periods: int = Field(2, ge=1)
    min_attempts: int = Field(10, ge=1, description="calls in the window (answered calls "
                                                    "for the drop rate)")


class PmDetectionSpec(Strict):
    """Silent failures found from PM counters, on cells no alarm already accounts for."""

    enabled: bool = Field(True, description="watch the cell KPIs for silent failures")
    call_setup_success: KpiThreshold = Field(
        default_factory=lambda: KpiThreshold(raise_at=0.8, clear_at=0.95),
        description="share of call attempts not failed (congestion aside); raised below")
    drop_rate: KpiThreshold = Field(
        default_factory=lambda: KpiThreshold(raise_at=0.1, clear_at=0.03),
        description="dropped / answered calls; raised above")


Skill = Literal["radio", "transmission", "power", "core"]
SKILLS: tuple[Skill, ...] = ("radio", "transmission", "power", "core")
ShiftDay = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SHIFT_DAYS: tuple[ShiftDay, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ShiftSpec(Strict):
    """Working hours: on these days from ``hours[0]`` to ``hours[1]`` (wrapping past
    midnight into the next day if from > to)."""

    days: list[ShiftDay] = Field(default_factory=lambda: list(SHIFT_DAYS), min_length=1)
    hours: tuple[float, float] = (0.0, 24.0)

    @model_validator(mode="after")
    def _check_hours(self) -> ShiftSpec:
        lo, hi = self.hours
        if not (0 <= lo <= 24 and 0 <= hi <= 24) or lo == hi:
            raise ValueError("hours: two different hours between 0 and 24")
        return self


class TeamSpec(Strict):
    """Crews alike: where they work, what they can repair, when they are on duty."""

    region: str = Field("*", description="the region they serve; '*': every region")
    count: int = Field(1, ge=1)
    skills: list[Skill] = Field(default_factory=lambda: list(SKILLS), min_length=1)
    shifts: list[ShiftSpec] = Field(
        default_factory=list, description="on duty in any of these; empty: around the clock")
    call_out_min: float = Field(0.0, ge=0, description="delay before they set out (on call "
                                                       "from home)")
    base: tuple[float, float] | None = Field(
        None, description="depot position, km; default crews.bases of the region, else the "
                          "centre of the region's sites")


class SparesSpec(Strict):
    """Spare parts: a crew replacing an element takes a unit of its type from the region's
    depot; every unit used is reordered (one-for-one) and arrives after ``lead_time``. With
    none on hand the ticket is ``pending`` until a unit arrives."""

    enabled: bool = False
    stock: dict[ElementType, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="units on hand per depot at the start, per type")
    default_stock: int = Field(2, ge=0, description="for types not in `stock`")
    lead_time: Duration = Field(2 * 86_400.0, description="reorder lead time")
    central: bool = Field(False, description="one depot for every region")


class CrewSpec(Strict):
    count: int = Field(2, ge=1)
    travel_mean_min: float = Field(45.0, ge=0)
    repair_mean_min: float = Field(90.0, ge=0)
    repair_dist: Literal["exponential", "deterministic"] = "exponential"
    travel_dist: Literal["exponential", "deterministic"] = "exponential"
    regions: dict[str, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="crews per region, each serving its own region; "
                                          "empty: `count` crews serve every region")
    region_travel_mean_min: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="mean travel per region, overriding travel_mean_min")
    teams: list[TeamSpec] = Field(
        default_factory=list, description="crews with regions, skills, shifts and call-out "
                                          "delays; replaces count and regions")
    travel: Literal["draw", "distance"] = Field(
        "draw", description="draw: travel drawn with travel_mean_min; distance: from the "
                            "crew's depot to the site (where both positions are known)")
    speed_kmh: float = Field(50.0, gt=0, description="distance travel: average road speed")
    road_factor: float = Field(1.3, ge=1, description="road distance / straight distance")
    travel_overhead_min: float = Field(10.0, ge=0, description="distance travel: loading, "
                                                               "parking, site access")
    bases: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="depot position per region, km")


class ProvisioningSpec(Strict):
    """Service orders from the BSS: how the OSS activates lines on the network."""

    processing_mean: Duration = Field(
        1800.0, description="mean time (exponential) the OSS takes to design and assign a "
                            "service order before it pushes the activation to the network")
    retry_interval: Duration = Field(
        3600.0, gt=0, description="a service order that fell out (serving cell out of "
                                  "service) is retried after this")
    max_attempts: int = Field(5, ge=1, description="attempts before the order fails")


class CustomerTicketSpec(Strict):
    """Customer-originated tickets (complaints forwarded by BSS care)."""

    investigate_mean_min: float = Field(
        30.0, ge=0, description="a NOC engineer investigates a complaint no open incident "
                                "explains for this long on average (exponential)")


class OssSpec(Strict):
    correlation_window_s: float = Field(60.0, ge=0)
    alarms: AlarmHandlingSpec = AlarmHandlingSpec()
    noc: NocSpec = NocSpec()
    inventory: InventoryAccuracySpec = InventoryAccuracySpec()
    pm: PmDetectionSpec = PmDetectionSpec()
    crews: CrewSpec = CrewSpec()
    tickets: TicketSpec = TicketSpec()
    automation: AutomationSpec = AutomationSpec()
    maintenance: MaintenanceSpec = MaintenanceSpec()
    spares: SparesSpec = SparesSpec()
    customer_tickets: CustomerTicketSpec = CustomerTicketSpec()
    repair_policy: Literal["fifo", "impact", "severity", "sla", "customers", "revenue"] = Field(
        "fifo", description="fifo: first ticket first; impact: most cells affected first; "
                            "severity: highest priority first; sla: earliest restore "
                            "deadline first; customers: most customers affected first (the "
                            "BSS's count); revenue: most revenue at risk per hour first (the "
                            "BSS's estimate)")
    provisioning: ProvisioningSpec = ProvisioningSpec()


# --- BSS -----------------------------------------------------------------------------------


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TariffPeriod(Strict):
    """A named tariff period (TMF620: a price's validity within the week). The first period
    that matches a record's start wins; a start no period matches is in ``peak``."""

    name: str = Field(min_length=1)
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    hours: tuple[float, float] = Field(
        (0.0, 24.0), description="from, to (hours of the day); wraps past midnight if from > to")

    @model_validator(mode="after")
    def _check_hours(self) -> TariffPeriod:
        lo, hi = self.hours
        if not (0 <= lo <= 24 and 0 <= hi <= 24) or lo == hi:
            raise ValueError("hours: two different hours between 0 and 24")
        if self.name == "peak":
            raise ValueError("name: 'peak' is the default period and cannot be redefined")
        return self


class PriceTier(Strict):
    over: int = Field(gt=0, description="chargeable quantity in the bill cycle (seconds, KB or "
                                        "messages) above which this price applies")
    price: int = Field(ge=0, description="minor units per `per` above it")


class Allowances(Strict):
    """Usage included in the recurring fee per bill cycle, prorated to the billed part."""

    voice_min: int = Field(0, ge=0, description="minutes")
    data_mb: int = Field(0, ge=0, description="MB of 10^6 bytes")
    sms: int = Field(0, ge=0, description="messages")


class DiscountSpec(Strict):
    """A volume discount on the recurring fee for accounts with many lines of the offer."""

    min_lines: int = Field(1, ge=1)
    pct: float = Field(gt=0, le=100)


class CollectorOutage(Strict):
    at: Duration = Field(description="when mediation's collector goes down")
    duration: Duration = Field(gt=0)


class MediationSpec(Strict):
    """How usage records travel from the recording entities into mediation."""

    mode: Literal["batch", "streaming"] = Field(
        "batch", description="batch: the collector fetches CDR files every batch_interval; "
                             "streaming: records are pushed to it as they are written")
    batch_interval: Duration = Field(900.0, gt=0, description="file pickup period (batch)")
    ne_buffer: Duration = Field(
        2 * 86_400.0, description="how long recording entities keep CDR files the collector "
                                  "has not fetched (batch); older files are overwritten")
    stream_buffer: Duration = Field(
        600.0, description="how long the stream holds records while the collector is down "
                           "(streaming); older records are lost")
    collector_outages: list[CollectorOutage] = Field(default_factory=list)
    dedup_retention: Duration = Field(
        3 * 86_400.0, description="duplicates are recognised among records that started "
                                  "this long before now")
    recycle_every: Duration = Field(3600.0, gt=0, description="suspense recycling period")
    suspense_max_age: Duration = Field(
        3 * 86_400.0, description="a record still unguidable this long after it arrived is "
                                  "rejected")
    guiding_delay_mean: Duration = Field(
        0.0, description="mean delay (exponential) before a new line reaches mediation's "
                         "guiding table; its records wait in suspense until then")
    assembly_timeout: Duration = Field(
        86_400.0, gt=0, description="partial records of a session still incomplete this long "
                                    "after its latest part arrived are assembled from the "
                                    "parts received")


class TariffError(Strict):
    """A usage price set up wrong in the rating engine — and, perhaps, its correction."""

    offer: str
    kind: Literal["voice", "data", "sms"]
    price: int = Field(ge=0, description="the wrong price, per `per`, in every tariff period")
    at: Duration = Field(description="records rated from then on get the wrong price")
    corrected_at: Duration | None = Field(
        None, description="when the correction is issued: the records rated since `at` are "
                          "rerated and the differences billed; null: never corrected")

    @model_validator(mode="after")
    def _check_order(self) -> TariffError:
        if self.corrected_at is not None and self.corrected_at < self.at:
            raise ValueError("corrected_at: the correction cannot come before the error")
        return self


class OcsOutage(Strict):
    at: Duration
    duration: Duration = Field(gt=0)


class OcsSpec(Strict):
    """Online charging for prepaid lines: balances, quota reservation, top-ups."""

    enabled: bool = Field(False, description="prepaid usage is charged to balances, not "
                                             "invoiced")
    initial_balance_mean: int = Field(1000, ge=0, description="mean opening balance, minor "
                                                              "units (exponential)")
    topup_amount: int = Field(1500, gt=0, description="minor units per top-up")
    topup_below: int = Field(100, ge=0, description="a customer tops up when the balance "
                                                    "falls below this ...")
    topup_delay_mean: Duration = Field(86_400.0, description="... after this mean delay "
                                                             "(exponential)")
    quota_voice_s: int = Field(300, gt=0, description="default quota per voice session")
    quota_data_mb: int = Field(10, gt=0, description="default quota per data session")
    outages: list[OcsOutage] = Field(default_factory=list)
    failure_handling: Literal["fail_open", "fail_closed"] = Field(
        "fail_open", description="when the OCS is down: serve sessions uncharged, or deny "
                                 "them")
    post_charge_fail_open: bool = Field(
        False, description="charge fail-open sessions from their usage records afterwards")


class CareSpec(Strict):
    """Customers who contact care, and who leave."""

    outage_contact_rate_per_h: float = Field(
        0.05, ge=0, description="a line on a cell out of service contacts care with "
                                "probability 1 − exp(−rate × hours out)")
    drop_threshold: int = Field(3, ge=1, description="dropped calls in a day that make a "
                                                     "customer call ...")
    drop_contact_prob: Share = Field(0.3, description="... with this probability")
    denied_contact_prob: Share = Field(
        0.3, description="a prepaid customer denied service while the OCS was down calls")
    contact_delay_mean: Duration = Field(1800.0, description="after the experience")
    handling_min: float = Field(8.0, gt=0, description="mean handling time of a contact")
    churn_base_monthly: Share = Field(0.0, description="share of lines giving notice a month")
    churn_per_outage_hour: float = Field(
        0.0, ge=0, description="added monthly churn probability per hour of outage the line "
                               "experienced (OSS-measured)")
    churn_per_contact: float = Field(0.0, ge=0, description="added per care contact")


class CreditStep(Strict):
    over: Duration = Field(description="credit applies when the cycle's outage exceeds this")
    credit_pct: float = Field(ge=0, le=100)


class SlaSpec(Strict):
    availability_target: float = Field(gt=0, le=100, description="percent per bill cycle")
    credit_table: list[CreditStep] = Field(min_length=1)
    cap_pct: float = Field(100.0, ge=0, le=100)
    excluded_planned_maintenance: bool = Field(
        True, description="outage inside a maintenance window announced to the BSS does not "
                          "count against availability (up to the allowance)")
    maintenance_allowance: Duration = Field(
        8 * 3600.0, description="announced maintenance excluded per bill cycle; beyond it, "
                                "planned outage counts like any other")


class UsagePrice(Strict):
    increment: int = Field(gt=0, description="charging increment: seconds (voice), KB of "
                                             "1,000 bytes (data), messages (SMS)")
    price: int = Field(ge=0, description="minor units per `per` (default: per started "
                                         "increment) in the peak period")
    per: int | None = Field(None, gt=0, description="quantity the price is quoted for; "
                                                     "default the increment")
    first_increment: int | None = Field(
        None, gt=0, description="minimum charged quantity of a record (60 in 60/1 billing); "
                                "a multiple of the increment")
    rounding: Literal["up", "half_up", "down"] = Field(
        "up", description="rounding of each record's charge to the minor unit")
    connect_fee: int = Field(0, ge=0, description="minor units per record not wholly covered "
                                                  "by an allowance")
    period_prices: dict[str, int] = Field(
        default_factory=dict, description="price in other tariff periods (by period name)")
    tiers: list[PriceTier] = Field(
        default_factory=list, description="prices above cumulative chargeable quantities")

    @model_validator(mode="after")
    def _check_price(self) -> UsagePrice:
        if self.first_increment is not None and self.first_increment % self.increment:
            raise ValueError("first_increment: must be a multiple of the increment")
        overs = [t.over for t in self.tiers]
        if overs != sorted(set(overs)):
            raise ValueError("tiers: `over` must increase from tier to tier")
        if self.tiers and self.period_prices:
            raise ValueError("give tiers or period_prices, not both")
        if any(v < 0 for v in self.period_prices.values()):
            raise ValueError("period_prices: prices cannot be negative")
        return self


class OfferSpec(Strict):
    name: str
    segment: Literal["consumer", "enterprise"]
    account_type: Literal["postpaid", "prepaid"]
    recurring_fee: int = Field(ge=0, description="minor units per month")
    voice: UsagePrice
    data: UsagePrice
    sms: UsagePrice | None = None
    allowances: Allowances = Allowances()
    one_time_fee: int = Field(0, ge=0, description="minor units, on the first bill of a line "
                                                   "activated during the run")
    discount: DiscountSpec | None = None
    sla: SlaSpec | None = None
    prorate_allowances: bool = Field(
        True, description="a line activated mid-cycle gets the allowances prorated by days, "
                          "like the recurring fee; false: the full allowances")


class CatalogSpec(Strict):
    currency: str = Field("EUR", min_length=3, max_length=3)
    minor_per_major: int = Field(100, ge=1)
    vat_pct: float = Field(0.0, ge=0, le=100, description="tax rate on invoices (VAT)")
    tariff_periods: list[TariffPeriod] = Field(default_factory=list)
    offers: dict[str, OfferSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_periods(self) -> CatalogSpec:
        names = [p.name for p in self.tariff_periods]
        if len(names) != len(set(names)):
            raise ValueError("tariff_periods: duplicate period name")
        for oid, offer in self.offers.items():
            for kind in ("voice", "data", "sms"):
                usage = getattr(offer, kind)
                for period in usage.period_prices if usage is not None else ():
                    if period not in names:
                        raise ValueError(f"offers.{oid}.{kind}.period_prices.{period}: no such "
                                         f"tariff period (periods: {', '.join(names) or 'none'})")
        return self


class OrdersSpec(Strict):
    """Product orders (TMF622) the BSS takes during the run."""

    new_lines_per_day: float = Field(
        0.0, ge=0, description="new subscriptions ordered per day (Poisson arrivals), offers "
                               "drawn from subscribers.mix")
    changes_monthly: Share = Field(
        0.0, description="monthly probability that a line with a target in change_to orders "
                         "the offer change")
    change_to: dict[str, str] = Field(
        default_factory=dict, description="offer → the offer its lines change to (same "
                                          "account type)")


class BssSpec(Strict):
    catalog: CatalogSpec
    bill_cycle_day: int = Field(1, ge=1, le=28)
    integration_latency_s: float = Field(0.0, ge=0, description="OSS → BSS message delay")
    late_window: Duration = Field(
        7 * 86_400.0, description="usage arriving this long after its cycle's bill run still "
                                  "goes on the next bill; older late usage is written off")
    new_lines_share: Share = Field(
        0.0, description="share of lines activated at the start of the run: they pay the "
                         "offer's one-time fee on their first bill")
    mediation: MediationSpec = MediationSpec()
    tariff_errors: list[TariffError] = Field(default_factory=list)
    ocs: OcsSpec = OcsSpec()
    care: CareSpec = CareSpec()
    orders: OrdersSpec = OrdersSpec()
    bill_cycle_days: dict[int, float] = Field(
        default_factory=dict, description="bill cycle day → share of accounts on it (e.g. "
                                          "{1: 0.25, 8: 0.25, 15: 0.25, 22: 0.25}); empty: "
                                          "every account on bill_cycle_day")

    @model_validator(mode="after")
    def _check_tariff_errors(self) -> BssSpec:
        for day, share in self.bill_cycle_days.items():
            if not 1 <= day <= 28 or share <= 0:
                raise ValueError(f"bill_cycle_days.{day}: a day from 1 to 28 with a share > 0")
        offers = self.catalog.offers
        for a, b in self.orders.change_to.items():
            for name in (a, b):
                if name not in offers:
                    raise ValueError(f"orders.change_to.{a}: no such offer {name!r}")
            if offers[a].account_type != offers[b].account_type or a == b:
                raise ValueError(f"orders.change_to.{a}: {b!r} must be another offer of the "
                                 f"same account type ({offers[a].account_type})")
        for i, e in enumerate(self.tariff_errors):
            offer = self.catalog.offers.get(e.offer)
            if offer is None:
                raise ValueError(f"tariff_errors[{i}].offer: no such offer {e.offer!r}")
            if getattr(offer, e.kind) is None:
                raise ValueError(f"tariff_errors[{i}].kind: offer {e.offer!r} has no "
                                 f"{e.kind} price")
        return self


# --- the scenario --------------------------------------------------------------------------


class Scenario(Strict):
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    seed: int = 0
    start: datetime
    duration: Duration = Field(gt=0)
    network: NetworkSpec
    subscribers: SubscriberSpec
    traffic: TrafficSpec = TrafficSpec()
    faults: FaultSpec = FaultSpec()
    oss: OssSpec = OssSpec()
    bss: BssSpec

    @model_validator(mode="after")
    def _check_mix_offers(self) -> Scenario:
        for offer in self.subscribers.mix:
            if offer not in self.bss.catalog.offers:
                raise ValueError(
                    f"subscribers.mix.{offer}: no such offer in the catalog "
                    f"(offers: {', '.join(sorted(self.bss.catalog.offers))})")
        names = set(self.bss.catalog.offers) | {
            o.segment for o in self.bss.catalog.offers.values()}
        for key in self.traffic.segment_factors:
            if key not in names:
                raise ValueError(f"traffic.segment_factors.{key}: neither an offer nor a "
                                 f"segment of the catalog ({', '.join(sorted(names))})")
        return self
