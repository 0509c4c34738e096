"""The BSS: catalog and prices, mediation, online charging, care, SLA, orders."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from twin.scenario.schema.base import (
    MAX_DURATION_S,
    MAX_MINUTES,
    MONEY_MAX,
    PRICE_MAX,
    Duration,
    Hour,
    Share,
    Strict,
)

# base units (s, bytes or messages; KB for data tiers) fit int64 arithmetic with any price
QUANTITY_MAX = 10**12
ALLOWANCE_MAX = 10**6  # minutes, MB or messages a cycle

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
AccountType = Literal["prepaid", "postpaid"]
# monthly churn by account type: between the published figures (docs/calibration.yaml)
DEFAULT_CHURN: dict[AccountType, float] = {"prepaid": 0.04, "postpaid": 0.012}
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TariffPeriod(Strict):
    """A named tariff period (TMF620: a price's validity within the week). The first period
    that matches a record's start wins; a start no period matches is in ``peak``."""

    name: str = Field(min_length=1)
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    hours: tuple[Hour, Hour] = Field(
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
    over: int = Field(gt=0, le=QUANTITY_MAX,
                      description="chargeable quantity in the bill cycle (seconds, KB or "
                                  "messages) above which this price applies")
    price: int = Field(ge=0, le=PRICE_MAX, description="minor units per `per` above it")


class Allowances(Strict):
    """Usage included in the recurring fee per bill cycle, prorated to the billed part."""

    voice_min: int = Field(0, ge=0, le=ALLOWANCE_MAX, description="minutes")
    data_mb: int = Field(0, ge=0, le=ALLOWANCE_MAX, description="MB of 10^6 bytes")
    sms: int = Field(0, ge=0, le=ALLOWANCE_MAX, description="messages")


class DiscountSpec(Strict):
    """A volume discount on the recurring fee for accounts with many lines of the offer."""

    min_lines: int = Field(1, ge=1, le=1_000_000)
    pct: float = Field(gt=0, le=100)


class CollectorOutage(Strict):
    at: Duration = Field(description="when mediation's collector goes down")
    duration: Duration = Field(gt=0)


class MediationSpec(Strict):
    """How usage records travel from the recording entities into mediation."""

    mode: Literal["batch", "streaming"] = Field(
        "batch", description="batch: the collector fetches CDR files every batch_interval; "
                             "streaming: records are pushed to it as they are written")
    batch_interval: Duration = Field(900.0, ge=1, description="file pickup period (batch)")
    ne_buffer: Duration = Field(
        2 * 86_400.0, description="how long recording entities keep CDR files the collector "
                                  "has not fetched (batch); older files are overwritten")
    stream_buffer: Duration = Field(
        600.0, description="how long the stream holds records while the collector is down "
                           "(streaming); older records are lost")
    collector_outages: list[CollectorOutage] = Field(default_factory=list)
    file_cut_share: Share = Field(
        0.005, description="batch: chance a CDR file (one recording entity's records of one "
                           "pickup) is cut in transfer; the collector reads the records before "
                           "the cut and counts the rest lost (a gap in the sequence numbers)")
    file_late_share: Share = Field(
        0.002, description="batch: chance a CDR file (one recording entity's records of one "
                           "pickup) fails to transfer and stays on the recording entity until "
                           "the file-sequence gap is found and it is re-sent, file_late_mean "
                           "later on average; its records reach mediation late")
    file_late_mean: Duration = Field(
        3 * 86_400.0, gt=0, description="mean delay (exponential) before a file held back in "
                                        "transfer is re-sent (file_late_share)")
    dedup_retention: Duration = Field(
        3 * 86_400.0, description="duplicates are recognised among records that started "
                                  "this long before now")
    recycle_every: Duration = Field(3600.0, ge=1, description="suspense recycling period")
    suspense_max_age: Duration = Field(
        3 * 86_400.0, description="a record still unguidable this long after it arrived is "
                                  "rejected")
    guiding_delay_mean: Duration = Field(
        0.0, description="mean delay (exponential) before a new line reaches mediation's "
                         "guiding table; its records wait in suspense until then")
    assembly_timeout: Duration = Field(
        86_400.0, ge=1, description="partial records of a session still incomplete this long "
                                    "after its latest part arrived are assembled from the "
                                    "parts received")


class TariffError(Strict):
    """A usage price set up wrong in the rating engine — and, perhaps, its correction."""

    offer: str
    kind: Literal["voice", "data", "sms"]
    price: int = Field(ge=0, le=PRICE_MAX,
                       description="the wrong price, per `per`, in every tariff period")
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
    initial_balance_mean: int = Field(
        1000, ge=0, le=MONEY_MAX, description="mean opening balance, minor units (exponential)")
    topup_amount: int = Field(1500, gt=0, le=MONEY_MAX, description="minor units per top-up")
    topup_below: int = Field(
        100, ge=0, le=MONEY_MAX, description="a customer tops up when the balance falls below "
                                             "this ...")
    topup_delay_mean: Duration = Field(86_400.0, description="... after this mean delay "
                                                             "(exponential)")
    quota_voice_s: int = Field(300, gt=0, le=86_400,
                               description="default quota per voice session")
    quota_data_mb: int = Field(10, gt=0, le=1_000_000,
                               description="default quota per data session")
    outages: list[OcsOutage] = Field(default_factory=list)
    failure_handling: Literal["fail_open", "fail_closed"] = Field(
        "fail_open", description="when the OCS is down: serve sessions uncharged, or deny "
                                 "them")
    post_charge_fail_open: bool = Field(
        False, description="charge fail-open sessions from their usage records afterwards")


class CareSpec(Strict):
    """Customers who contact care, and who leave."""

    outage_contact_rate_per_h: float = Field(
        0.05, ge=0, le=100, description="a line on a cell out of service contacts care with "
                                "probability 1 − exp(−rate × hours out)")
    drop_threshold: int = Field(
        3, ge=1, le=10_000, description="dropped calls in a day that make a customer call ...")
    drop_contact_prob: Share = Field(0.3, description="... with this probability")
    denied_contact_prob: Share = Field(
        0.3, description="a prepaid customer denied service while the OCS was down calls")
    contact_delay_mean: Duration = Field(1800.0, description="after the experience")
    handling_min: float = Field(8.0, gt=0, le=MAX_MINUTES,
                                description="mean handling time of a contact")
    account_contacts_monthly: float = Field(
        0.12, ge=0, le=100, description="contacts a line makes a month about its bill, tariff or "
                                        "account, whatever the network does (Poisson)")
    churn_base_monthly: Share | dict[AccountType, Share] = Field(
        default_factory=lambda: DEFAULT_CHURN.copy(),
        description="share of lines giving notice a month, for every line or per account type")
    churn_per_outage_hour: float = Field(
        0.0, ge=0, le=1, description="added monthly churn probability per hour of outage the line "
                               "experienced (OSS-measured)")
    churn_per_contact: float = Field(0.0, ge=0, le=1, description="added per care contact")


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
    increment: int = Field(gt=0, le=1_000_000,
                           description="charging increment: seconds (voice), KB of 1,000 "
                                       "bytes (data), messages (SMS)")
    price: int = Field(ge=0, le=PRICE_MAX, description="minor units per `per` (default: per "
                                                       "started increment) in the peak period")
    per: int | None = Field(None, gt=0, le=QUANTITY_MAX,
                            description="quantity the price is quoted for; default the "
                                        "increment")
    first_increment: int | None = Field(
        None, gt=0, le=1_000_000,
        description="minimum charged quantity of a record (60 in 60/1 billing); a multiple of "
                    "the increment")
    rounding: Literal["up", "half_up", "down"] = Field(
        "up", description="rounding of each record's charge to the minor unit")
    connect_fee: int = Field(
        0, ge=0, le=PRICE_MAX, description="minor units per record not wholly covered by an "
                                           "allowance")
    period_prices: dict[str, Annotated[int, Field(ge=0, le=PRICE_MAX)]] = Field(
        default_factory=dict, description="price in other tariff periods (by period name)")
    tiers: list[PriceTier] = Field(
        default_factory=list, max_length=100,
        description="prices above cumulative chargeable quantities")

    @model_validator(mode="after")
    def _check_price(self) -> UsagePrice:
        if self.first_increment is not None and self.first_increment % self.increment:
            raise ValueError("first_increment: must be a multiple of the increment")
        overs = [t.over for t in self.tiers]
        if overs != sorted(set(overs)):
            raise ValueError("tiers: `over` must increase from tier to tier")
        if self.tiers and self.period_prices:
            raise ValueError("give tiers or period_prices, not both")
        return self


class OfferSpec(Strict):
    name: str
    segment: Literal["consumer", "enterprise"]
    account_type: AccountType
    recurring_fee: int = Field(ge=0, le=MONEY_MAX, description="minor units per month")
    voice: UsagePrice
    data: UsagePrice
    sms: UsagePrice | None = None
    allowances: Allowances = Allowances()
    one_time_fee: int = Field(
        0, ge=0, le=MONEY_MAX, description="minor units, on the first bill of a line activated "
                                           "during the run")
    discount: DiscountSpec | None = None
    sla: SlaSpec | None = None
    prorate_allowances: bool = Field(
        True, description="a line activated mid-cycle gets the allowances prorated by days, "
                          "like the recurring fee; false: the full allowances")


class CatalogSpec(Strict):
    currency: str = Field("EUR", min_length=3, max_length=3)
    minor_per_major: int = Field(100, ge=1, le=1_000_000)
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
        0.0, ge=0, le=100_000,
        description="new subscriptions ordered per day (Poisson arrivals), offers drawn from "
                    "subscribers.mix")
    changes_monthly: Share = Field(
        0.0, description="monthly probability that a line with a target in change_to orders "
                         "the offer change")
    change_to: dict[str, str] = Field(
        default_factory=dict, description="offer → the offer its lines change to (same "
                                          "account type)")


class BssSpec(Strict):
    catalog: CatalogSpec
    bill_cycle_day: int = Field(1, ge=1, le=28)
    integration_latency_s: float = Field(0.0, ge=0, le=MAX_DURATION_S,
                                         description="OSS → BSS message delay")
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
    bill_cycle_days: dict[int, Annotated[float, Field(gt=0, le=1)]] = Field(
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


