"""Every message and shared record that crosses a layer boundary.

Network, OSS and BSS never import each other; they exchange these frozen dataclasses over
the kernel's message bus (see the handler table in :mod:`twin.wiring`). The OSS learns the
topology only from :class:`InventorySnapshot` and the network's state only from
:class:`AlarmNotification`; the BSS learns usage only from :class:`UsageBatch` and outages
only from :class:`ServiceOutageReport`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

# --- shared records -----------------------------------------------------------------------


@dataclass(frozen=True)
class ElementInfo:
    id: str
    type: str  # core_router | agg_router | site_router | cell
    site: str
    vendor: str
    region: str = "region1"
    power_domain: str = ""  # "" means the site
    technology: str = ""  # cells: 2G | 4G | 5G


@dataclass(frozen=True)
class LinkInfo:
    id: str
    a: str
    b: str
    cable: str = ""  # "" means a cable of its own
    medium: str = "fibre"  # fibre | microwave


@dataclass(frozen=True, eq=False)
class SubscriberBase:
    """Who the subscribers are and where they live; built once from the scenario.

    Index ``i`` is subscriber ``i``. ``cell`` is an index into ``cells``; ``offer`` an index
    into ``offers``; ``account`` groups subscriptions billed together (enterprise accounts
    hold many lines).
    """

    cells: tuple[str, ...]
    offers: tuple[str, ...]
    cell: npt.NDArray[np.int32]
    offer: npt.NDArray[np.int16]
    account: npt.NDArray[np.int32]

    @property
    def count(self) -> int:
        return int(self.cell.size)

    def msisdn(self, sub: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return 491_700_000_000 + np.asarray(sub, dtype=np.int64)


# --- network → OSS (southbound) ---------------------------------------------------------


@dataclass(frozen=True)
class InventorySnapshot:
    """What discovery through the element managers tells the OSS about the topology."""

    elements: tuple[ElementInfo, ...]
    links: tuple[LinkInfo, ...]


@dataclass(frozen=True)
class AlarmNotification:
    """One raw alarm (or clear) as an element manager forwards it, X.733 fields."""

    ems: str
    notification_id: int
    event_time: float
    alarmed_object: str
    resource: str  # the port (link id) the alarm is about, "" for the whole element
    alarm_type: str
    probable_cause: str
    specific_problem: str
    perceived_severity: str  # critical | major | minor | warning | indeterminate | cleared

    @property
    def reduction_key(self) -> str:
        return f"{self.alarmed_object}:{self.resource}:{self.probable_cause}"

    @property
    def is_clear(self) -> bool:
        return self.perceived_severity == "cleared"


@dataclass(frozen=True)
class EmsEvent:
    """One message exactly as a vendor's element manager emits it, before normalisation.

    ``dialect`` names the format of ``payload``: ``snmp`` (trap varbinds as text lines of
    numeric OIDs), ``syslog`` (one RFC 5424-style text line) or ``ves`` (a JSON event record).
    The OSS's collection adapters parse it; a payload they cannot parse is a reject.
    """

    ems: str
    dialect: str
    payload: str


@dataclass(frozen=True, eq=False)
class PmReport:
    """Performance counters of one granularity period (15 min by default) for a set of
    objects, as the element managers upload them at the end of the period.

    ``object_kind`` is ``cell`` or ``link``; ``objects`` names the objects; each array in
    ``counters`` has one value per object. Cell counters: ``calls_attempted``,
    ``calls_blocked``, ``calls_dropped``, ``calls_failed`` (attempts lost to lost service),
    ``traffic_erlang``, ``sessions_attempted``, ``sms_attempted``, ``data_mb``,
    ``available_s`` (seconds in service), ``drop_rate``, ``data_utilisation`` (data demand
    over the cell's capacity) and ``throughput_factor`` (share of their demanded rate users
    get: 1 unless over capacity). Link counters: ``load_mbps``,
    ``utilisation`` (0–1), ``available_s``.
    """

    period_start: float
    period_s: float
    object_kind: str
    objects: tuple[str, ...]
    counters: dict[str, np.ndarray] = field(default_factory=dict)


# --- OSS → network -------------------------------------------------------------------------


@dataclass(frozen=True)
class RepairCommand:
    """A field repair on ``target`` (an element or link id), done by a crew on site."""

    ticket_id: int
    target: str
    action: str = "replace"


# --- network → BSS (usage) -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class UsageBatch:
    """A batch of usage records (CDRs) as the network's recording entities wrote them.

    Columns (equal-length arrays): record_id, node_id, sub, kind (0 voice, 1 data), start,
    duration_s, volume_bytes, cause (0 normal release, 1 abnormal release).
    """

    columns: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return int(self.columns["record_id"].size) if self.columns else 0


# --- OSS → BSS (integration bus) -------------------------------------------------------------


@dataclass(frozen=True)
class ServiceOutageReport:
    """A cell's service outage as the OSS measured it (raise to clear of its alarms)."""

    incident_id: int
    cell: str
    start: float
    end: float


# --- BSS: online charging (network ↔ BSS, Diameter Gy/Ro shaped) ------------------------------

GRANTED, DENIED_CREDIT, OCS_UNAVAILABLE = 0, 1, 2  # CreditAnswer results
OFFLINE, ONLINE, FAIL_OPEN = 0, 1, 2  # UsageBatch ``online`` column: how a session was charged


@dataclass(frozen=True, eq=False)
class CreditRequest:
    """Prepaid sessions asking the online charging system for quota before they start (a
    batch of Diameter CCR-Initial). Columns: ``session_id`` (the charging id — the record id —
    its usage record will carry), ``sub``, ``kind`` (0 voice, 1 data, 2 SMS), ``start``, and
    ``requested`` (seconds, bytes or messages; 0 asks for the OCS's default quota)."""

    columns: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return int(self.columns["session_id"].size) if self.columns else 0


@dataclass(frozen=True, eq=False)
class CreditAnswer:
    """The OCS's answer to a :class:`CreditRequest`, row for row (CCA-Initial). Columns:
    ``session_id``, ``result`` (``GRANTED``; ``DENIED_CREDIT``: not enough balance —
    creditLimitReached; ``OCS_UNAVAILABLE``: the OCS is down), ``granted`` (seconds, bytes or
    messages: the network ends the session when they are used up). ``fail_open`` is the
    Credit-Control-Failure-Handling the network applies when the OCS is unavailable: True —
    CONTINUE (serve the session, uncharged: its record carries ``online`` = ``FAIL_OPEN``),
    False — TERMINATE (deny it)."""

    columns: dict[str, np.ndarray] = field(default_factory=dict)
    fail_open: bool = True


# --- OSS ↔ BSS: service impact (integration bus) -------------------------------------------


@dataclass(frozen=True)
class ImpactQuery:
    """The OSS asks the BSS what an incident puts at stake (TMF656 service impact): the cells
    in its shadow in the OSS inventory and the services they carry. ``query_id`` grows with
    every question about the same incident (it is asked again when its shadow grows)."""

    incident_id: int
    query_id: int
    cells: tuple[str, ...]
    services: tuple[str, ...]
    asked: float


@dataclass(frozen=True)
class ImpactAnswer:
    """The BSS's answer to an :class:`ImpactQuery`, from its own subscriber base, tariffs and
    the usage it rated recently — never from ground truth. ``customers`` are accounts with a
    line homed on an affected cell; ``revenue_at_risk_minor_per_h`` is the usage revenue
    those lines brought in per hour over the BSS's trailing window; ``sla_exposure_minor`` the
    credits their SLAs would pay once the outage passes the first step of the credit table."""

    incident_id: int
    query_id: int
    lines: int
    customers: int
    enterprise_accounts: int
    sla_lines: int
    revenue_at_risk_minor_per_h: int
    sla_exposure_minor: int
    answered: float


@dataclass(frozen=True)
class CustomerTroubleReport:
    """A customer's complaint about the network, forwarded by BSS customer care to the OSS
    (TMF621 ``complaint``) when the contact is opened. ``cell`` is the line's home cell in
    the BSS's records; ``incident_id`` the OSS incident care tied it to (0: none)."""

    care_ticket_id: int
    sub: int
    account: int
    cell: str
    reason: str  # network outage | dropped calls
    incident_id: int
    experienced: float
    opened: float
