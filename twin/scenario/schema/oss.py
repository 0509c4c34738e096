"""The OSS: alarm handling, NOC, tickets, automation, maintenance, crews."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from twin.scenario.schema.base import (
    MAX_DURATION_S,
    MAX_HOURS,
    MAX_MINUTES,
    Duration,
    ElementType,
    Hour,
    Km,
    Share,
    Strict,
)

CREWS_MAX = 1_000


def _default_qualification() -> dict[str, float]:
    return {"transmissionError": 900.0, "temperatureUnacceptable": 900.0}


class AlarmHandlingSpec(Strict):
    """Flap detection: a reduction key raised ``flap_count`` times within ``flap_window`` is
    flapping; its alarm then stays open through clears and re-raises (suppressed, counted)
    and clears only after ``flap_quiet`` without a raise. Qualification: an alarm whose
    probable cause has a qualification time reaches correlation (an incident, a ticket) only
    if it is still raised that long after it arrived."""

    flap_count: int = Field(3, ge=2, le=1_000,
                            description="raises within the window that mean flapping")
    flap_window: Duration = Field(3600.0, gt=0)
    flap_quiet: Duration = Field(1800.0, gt=0, description="quiet time before a flapping "
                                                            "alarm clears")
    qualification: dict[str, Duration] = Field(
        default_factory=_default_qualification,
        description="probable cause → how long its alarm must stay raised before it is "
                    "correlated and ticketed (threshold alarms that mostly clear by "
                    "themselves); causes left out are correlated at once")
    resync_interval: Duration = Field(
        900.0, ge=0, description="alarm synchronisation: every so often the OSS reads each "
                                 "element manager's active alarm list and raises the alarms "
                                 "it missed and clears those gone; 0 turns it off, else at "
                                 "least 60 s")

    @model_validator(mode="after")
    def _check_resync(self) -> AlarmHandlingSpec:
        if 0 < self.resync_interval < 60:
            raise ValueError("resync_interval: 0 (off) or at least 60 seconds")
        return self


class NocSpec(Strict):
    """The NOC operators who triage (acknowledge) incidents before a crew is sent."""

    operators: int = Field(2, ge=0, le=10_000, description="0: incidents are acknowledged at once")
    triage_mean_s: float = Field(120.0, ge=0, le=MAX_DURATION_S,
                                 description="time to look at an incident")
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

    sla_target_h: dict[TicketPriority, Annotated[float, Field(gt=0, le=MAX_HOURS)]] = Field(
        default_factory=_default_sla_targets, description="time to restore per priority, hours")
    escalate_at: list[Annotated[float, Field(gt=0, le=100)]] = Field(
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

    raise_at: float = Field(ge=0, le=1)
    clear_at: float = Field(ge=0, le=1)
    window: int = Field(4, ge=1, le=96, description="periods the KPI is summed over")
    periods: int = Field(2, ge=1, le=96)
    clear_periods: int = Field(2, ge=1, le=96)
    min_attempts: int = Field(10, ge=1, le=1_000_000,
                              description="calls in the window (answered calls for the drop "
                                          "rate)")


class PmDetectionSpec(Strict):
    """Silent failures found from PM counters, on cells no alarm already accounts for."""

    enabled: bool = Field(True, description="watch the cell KPIs for silent failures")
    call_setup_success: KpiThreshold = Field(
        default_factory=lambda: KpiThreshold(raise_at=0.8, clear_at=0.95),
        description="share of call attempts not failed (congestion aside); raised below")
    drop_rate: KpiThreshold = Field(
        default_factory=lambda: KpiThreshold(raise_at=0.1, clear_at=0.03, min_attempts=40),
        description="dropped / answered calls; raised above (over at least 40 answered calls: "
                    "with background radio drops a smaller window crosses 10 % by chance)")


Skill = Literal["radio", "transmission", "power", "core"]
SKILLS: tuple[Skill, ...] = ("radio", "transmission", "power", "core")
ShiftDay = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
SHIFT_DAYS: tuple[ShiftDay, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ShiftSpec(Strict):
    """Working hours: on these days from ``hours[0]`` to ``hours[1]`` (wrapping past
    midnight into the next day if from > to)."""

    days: list[ShiftDay] = Field(default_factory=lambda: list(SHIFT_DAYS), min_length=1)
    hours: tuple[Hour, Hour] = (0.0, 24.0)

    @model_validator(mode="after")
    def _check_hours(self) -> ShiftSpec:
        lo, hi = self.hours
        if not (0 <= lo <= 24 and 0 <= hi <= 24) or lo == hi:
            raise ValueError("hours: two different hours between 0 and 24")
        return self


class TeamSpec(Strict):
    """Crews alike: where they work, what they can repair, when they are on duty."""

    region: str = Field("*", description="the region they serve; '*': every region")
    count: int = Field(1, ge=1, le=CREWS_MAX)
    skills: list[Skill] = Field(default_factory=lambda: list(SKILLS), min_length=1)
    shifts: list[ShiftSpec] = Field(
        default_factory=list, description="on duty in any of these; empty: around the clock")
    call_out_min: float = Field(0.0, ge=0, le=MAX_MINUTES,
                                description="delay before they set out (on call from home)")
    base: tuple[Km, Km] | None = Field(
        None, description="depot position, km; default crews.bases of the region, else the "
                          "centre of the region's sites")


class SparesSpec(Strict):
    """Spare parts: a crew replacing an element takes a unit of its type from the region's
    depot; every unit used is reordered (one-for-one) and arrives after ``lead_time``. With
    none on hand the ticket is ``pending`` until a unit arrives."""

    enabled: bool = False
    stock: dict[ElementType, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=dict, description="units on hand per depot at the start, per type")
    default_stock: int = Field(2, ge=0, le=1_000_000, description="for types not in `stock`")
    lead_time: Duration = Field(2 * 86_400.0, description="reorder lead time")
    central: bool = Field(False, description="one depot for every region")


class CrewSpec(Strict):
    count: int = Field(2, ge=1, le=CREWS_MAX)
    travel_mean_min: float = Field(45.0, ge=0, le=MAX_MINUTES)
    repair_mean_min: float = Field(90.0, ge=0, le=MAX_MINUTES)
    repair_dist: Literal["exponential", "deterministic"] = "exponential"
    travel_dist: Literal["exponential", "deterministic"] = "exponential"
    regions: dict[str, Annotated[int, Field(ge=0, le=CREWS_MAX)]] = Field(
        default_factory=dict, description="crews per region, each serving its own region; "
                                          "empty: `count` crews serve every region")
    region_travel_mean_min: dict[str, Annotated[float, Field(ge=0, le=MAX_MINUTES)]] = Field(
        default_factory=dict, description="mean travel per region, overriding travel_mean_min")
    teams: list[TeamSpec] = Field(
        default_factory=list, description="crews with regions, skills, shifts and call-out "
                                          "delays; replaces count and regions")
    travel: Literal["draw", "distance"] = Field(
        "draw", description="draw: travel drawn with travel_mean_min; distance: from the "
                            "crew's depot to the site (where both positions are known)")
    speed_kmh: float = Field(50.0, ge=1, le=1_000,
                             description="distance travel: average road speed")
    road_factor: float = Field(1.3, ge=1, le=10, description="road distance / straight distance")
    travel_overhead_min: float = Field(10.0, ge=0, le=MAX_MINUTES,
                                       description="distance travel: loading, parking, site "
                                                   "access")
    bases: dict[str, tuple[Km, Km]] = Field(
        default_factory=dict, description="depot position per region, km")


class ProvisioningSpec(Strict):
    """Service orders from the BSS: how the OSS activates lines on the network."""

    processing_mean: Duration = Field(
        1800.0, description="mean time (exponential) the OSS takes to design and assign a "
                            "service order before it pushes the activation to the network")
    retry_interval: Duration = Field(
        3600.0, ge=1, description="a service order that fell out (serving cell out of "
                                  "service) is retried after this")
    max_attempts: int = Field(5, ge=1, le=1_000, description="attempts before the order fails")


class CustomerTicketSpec(Strict):
    """Customer-originated tickets (complaints forwarded by BSS care)."""

    investigate_mean_min: float = Field(
        30.0, ge=0, le=MAX_MINUTES,
        description="a NOC engineer investigates a complaint no open incident explains for this "
                    "long on average (exponential)")


class OssSpec(Strict):
    correlation_window_s: float = Field(60.0, ge=0, le=MAX_DURATION_S)
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


