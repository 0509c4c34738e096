"""Subscribers and traffic: demand, holding times, volumes, usage records."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from twin.scenario.schema.base import DAY_S, Duration, Share, Strict
from twin.scenario.schema.bss import AccountType

SUBSCRIBERS_MAX = 10_000_000  # ten times the national preset's base
# prepaid lines use the network less than postpaid ones (second SIMs, occasional users): set so
# that the default catalog's prepaid ARPU lands near the published one (docs/calibration.yaml)
DEFAULT_ACCOUNT_TYPE_FACTORS: dict[AccountType, float] = {"prepaid": 0.15}


class SubscriberSpec(Strict):
    count: int = Field(ge=1, le=SUBSCRIBERS_MAX)
    mix: dict[str, Share] = Field(
        default_factory=lambda: {"consumer_postpaid": 0.6, "consumer_prepaid": 0.3,
                                 "enterprise": 0.1},
        description="share of subscribers per catalog offer")
    lines_per_enterprise_account: int = Field(10, ge=1, le=100_000)
    site_weights: dict[str, Annotated[float, Field(ge=0, le=1e6)]] = Field(
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
    mean_s: float = Field(110.0, gt=0, le=7 * DAY_S)
    sigma: float = Field(1.0, gt=0, le=10, description="lognormal shape (std of the log)")
    shape: float = Field(3.0, gt=1, le=100,
                         description="log-logistic shape β (> 1 for a finite mean)")


class VolumeSpec(Strict):
    dist: Literal["exponential", "lognormal"] = "lognormal"
    mean: float = Field(20.0, gt=0, le=1e6, description="mean MB per session")
    sigma: float = Field(1.5, gt=0, le=10)


class VoiceSpec(Strict):
    calls_per_sub_day: float = Field(3.0, ge=0, le=1_000)
    holding: HoldingSpec = HoldingSpec()


class DataSpec(Strict):
    sessions_per_sub_day: float = Field(8.0, ge=0, le=10_000)
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
    factor: float = Field(gt=0, le=1_000, description="demand multiplied by this while it lasts")


class SmsSpec(Strict):
    per_sub_day: float = Field(2.0, ge=0, le=10_000,
                               description="text messages sent per subscriber a day")


class UsageRecordSpec(Strict):
    """How the recording entities write usage records (3GPP TS 32.298 shaped)."""

    partial_time_limit: Duration | None = Field(
        3600.0, gt=0, description="a data session longer than this is written as partial "
                                  "records, one per interval (null: one record per session)")
    partial_volume_limit_mb: float | None = Field(
        None, gt=0, le=1e6, description="… or a partial record each time a session has moved this "
                                "many MB (whichever limit comes first)")
    answer_delay_mean_s: float = Field(
        6.0, ge=0, le=600,
        description="mean setup and ring time from seizure to answer (exponential); a call is "
                    "charged from answer to release")
    on_net_share: Share = Field(0.5, description="share of calls to another subscriber")
    international_share: Share = Field(0.05, description="share of calls abroad; the rest go "
                                                         "to other national networks")
    uplink_share_mean: Share = Field(0.12, description="mean uplink share of a data volume")
    malformed_share: Share = Field(
        0.006, description="share of records a recording entity writes corrupt (a negative "
                         "duration or volume: a clock step between seizure and release, a "
                         "counter wrap); mediation rejects them (0: off)")
    unknown_subscriber_share: Share = Field(
        0.006, description="share of records written with a served IMSI the subscriber base "
                         "does not know (a corrupted or test identity); mediation rejects "
                         "them (0: off)")


COVERAGE_CLASSES = ("good", "fair", "poor")


class RadioSpec(Strict):
    """Background radio conditions: calls drop for radio reasons (handover failures, fading,
    interference), more in cells with poor coverage and more when a cell is loaded.

    A call in progress drops at a constant hazard: ``drop_rate`` / mean holding time × the
    cell's coverage factor × (1 + ``load_sensitivity`` × the cell's offered load over its
    channels in the interval, at most 1). ``drop_rate`` is thus roughly the share of calls of
    mean length that drop in an idle cell of factor 1. 0 switches radio drops off (scenarios
    that check loss theory, e.g. Erlang B, need a clean radio)."""

    drop_rate: float = Field(0.01, ge=0, le=1,
                             description="radio drop probability of a mean-length call in an "
                                         "idle cell of coverage factor 1 (0: off)")
    load_sensitivity: float = Field(1.0, ge=0, le=100,
                                    description="extra drop hazard per unit of cell load")
    coverage_mix: dict[str, Share] = Field(
        default_factory=lambda: {"good": 0.6, "fair": 0.3, "poor": 0.1},
        description="share of cells per coverage class (good, fair, poor), drawn per cell")
    coverage_factor: dict[str, Annotated[float, Field(ge=0, le=1_000)]] = Field(
        default_factory=lambda: {"good": 0.5, "fair": 1.0, "poor": 2.0},
        description="drop hazard multiplier per coverage class")

    @model_validator(mode="after")
    def _check_classes(self) -> RadioSpec:
        for name, d in (("coverage_mix", self.coverage_mix),
                        ("coverage_factor", self.coverage_factor)):
            unknown = sorted(set(d) - set(COVERAGE_CLASSES))
            if unknown:
                raise ValueError(f"{name}: unknown coverage class {unknown[0]!r} "
                                 f"(known: {', '.join(COVERAGE_CLASSES)})")
        total = sum(self.coverage_mix.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"coverage_mix: shares must add up to 1 (they add up to {total:g})")
        missing = sorted(set(self.coverage_mix) - set(self.coverage_factor))
        if missing:
            raise ValueError(f"coverage_factor: no factor for class {missing[0]!r}")
        return self


class TrafficSpec(Strict):
    interval: Duration = Field(900.0, ge=60, le=7 * DAY_S,
                               description="traffic generation step (PM period)")
    profile: Literal["diurnal", "flat"] = "diurnal"
    hourly_shares: list[Annotated[float, Field(ge=0, le=1e6)]] = Field(
        default_factory=lambda: list(DEFAULT_PROFILE), min_length=24, max_length=24,
        description="weekday shape: relative traffic per hour (normalised to the day)")
    weekend_shares: list[Annotated[float, Field(ge=0, le=1e6)]] = Field(
        default_factory=lambda: list(WEEKEND_PROFILE), min_length=24, max_length=24)
    weekend_factor: float = Field(0.85, gt=0, le=100,
                                  description="a weekend day's volume vs a weekday")
    holidays: list[date] = Field(default_factory=list, description="days run as weekend days")
    events: list[DemandEvent] = Field(default_factory=list)
    voice: VoiceSpec = VoiceSpec()
    data: DataSpec = DataSpec()
    sms: SmsSpec = SmsSpec()
    records: UsageRecordSpec = UsageRecordSpec()
    radio: RadioSpec = RadioSpec()
    segment_factors: dict[str, Annotated[float, Field(gt=0, le=1_000)]] = Field(
        default_factory=dict,
        description="demand multiplier per offer name or catalog segment (voice, data and "
                    "SMS rates of its subscribers); an offer's own entry wins over its "
                    "segment's")
    account_type_factors: dict[AccountType, Annotated[float, Field(gt=0, le=1_000)]] = Field(
        default_factory=lambda: DEFAULT_ACCOUNT_TYPE_FACTORS.copy(),
        description="demand multiplier per account type, times the segment factor: a prepaid "
                    "base holds many lines that are seldom used (a type not listed: 1)")


