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
    standby: bool = False  # a standby unit (1:1 equipment protection, manual switchover)
    location: tuple[float, float] | None = None  # site position, km east/north of a datum


@dataclass(frozen=True)
class LinkInfo:
    id: str
    a: str
    b: str
    cable: str = ""  # "" means a cable of its own
    medium: str = "fibre"  # fibre | microwave
    standby: bool = False  # a protection path (1+1, switched over on command)
    length_km: float | None = None  # cable route length; None: unknown (no positions)
    capacity_mbps: float | None = None  # None: the capacity of its medium


MSISDN_BASE = 491_700_000_000  # a line's number: 49 17x xxxxxxxx plus its index


@dataclass(frozen=True, eq=False)
class SubscriberBase:
    """Who the subscribers are and where they live; built once from the scenario.

    Index ``i`` is subscriber ``i``. ``cell`` is an index into ``cells``; ``offer`` an index
    into ``offers``; ``account`` groups subscriptions billed together (enterprise accounts
    hold many lines); ``prepaid`` marks lines on a prepaid offer (the network asks the online
    charging system before serving them; None: nobody); ``demand`` multiplies each line's
    call, session and message rates (its segment's traffic factor).

    Lines ``existing`` and up are *prospects*: customers who will order a new line during
    the run (product orders). They exist in the network only once provisioning activated
    them. ``cell_region`` gives each cell's region (so the BSS can place accounts without
    reading the topology).
    """

    cells: tuple[str, ...]
    offers: tuple[str, ...]
    cell: npt.NDArray[np.int32]
    offer: npt.NDArray[np.int16]
    account: npt.NDArray[np.int32]
    existing: int = -1  # -1: every line exists from the start
    cell_region: tuple[str, ...] = ()
    prepaid: npt.NDArray[np.bool_] | None = None
    demand: npt.NDArray[np.float64] | None = None  # traffic weight per line (None: all 1)

    @property
    def is_prepaid(self) -> npt.NDArray[np.bool_]:
        if self.prepaid is None:
            return np.zeros(self.count, dtype=bool)
        return self.prepaid

    @property
    def count(self) -> int:
        return int(self.cell.size)

    @property
    def n_existing(self) -> int:
        return self.count if self.existing < 0 else self.existing

    def region_of(self, sub: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
        """The region of each line's home cell ("" when the base carries no regions)."""
        if not self.cell_region:
            return np.full(np.asarray(sub).size, "", dtype=object)
        return np.array(self.cell_region, dtype=object)[self.cell[sub]]

    def msisdn(self, sub: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return MSISDN_BASE + np.asarray(sub, dtype=np.int64)


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

    For a wire (``twin.emulation``) the sender also says where the message starts and which
    notification it is: ``origin`` is the network element whose agent reports it to its
    element manager ("" for the element manager's own: a heartbeat failure, the alarms of a
    dead element) and ``notification_id`` the element manager's id. A receiver that took
    the message off a wire knows neither; it sets ``decode_error`` when the bytes were not a
    message of the dialect at all (then ``payload`` shows them).
    """

    ems: str
    dialect: str
    payload: str
    origin: str = ""
    notification_id: int = 0
    decode_error: str = ""


@dataclass(frozen=True, eq=False)
class PmReport:
    """Performance counters of one granularity period (15 min by default) for a set of
    objects, as the element managers upload them at the end of the period.

    ``object_kind`` is ``cell`` or ``link``; ``objects`` names the objects; each array in
    ``counters`` has one value per object. Cell counters: ``calls_attempted`` (not counting
    calls online charging refused), ``calls_blocked``, ``calls_dropped``, ``calls_failed``
    (attempts lost to lost service), ``traffic_erlang``, ``sessions_attempted``,
    ``sms_attempted``, ``data_mb``, ``available_s`` (seconds in service), ``drop_rate``,
    ``data_utilisation`` (data demand over the cell's capacity) and ``throughput_factor``
    (share of their demanded rate users get: 1 unless the cell, or a link on its path to the
    core, is over capacity). Link counters: ``load_mbps``, ``utilisation`` (0–1),
    ``available_s``.
    """

    period_start: float
    period_s: float
    object_kind: str
    objects: tuple[str, ...]
    counters: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class ActiveAlarmList:
    """An element manager's list of its currently active alarms, as the OSS's periodic
    alarm synchronisation reads it (3GPP Alarm IRP ``get_alarm_list``; an SNMP alarm table
    walk). Each entry is the raise notification the element manager sent for the alarm
    (same ``notification_id``), whether or not it reached the OSS."""

    ems: str
    taken_at: float
    alarms: tuple[AlarmNotification, ...]


# --- OSS → network -------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmListRequest:
    """The OSS asks every element manager for its active alarm list (answered with one
    :class:`ActiveAlarmList` per element manager)."""

    requested_at: float


@dataclass(frozen=True)
class MaintenanceWindow:
    """A planned-maintenance window, announced by change management ahead of the work
    (network → OSS): ``targets`` (element ids) are worked on from ``start`` to ``end``; the
    announcement is made at ``announced``. Work still going on after ``end`` is an overrun."""

    window_id: int
    targets: tuple[str, ...]
    start: float
    end: float
    announced: float


@dataclass(frozen=True)
class RepairCommand:
    """A repair on ``target`` (an element or link id): ``replace`` (a crew on site),
    ``restart`` (remote) or ``switch_standby`` (remote switchover to the standby unit or
    protection path)."""

    ticket_id: int
    target: str
    action: str = "replace"


# --- TM Forum Open API exports of both layers --------------------------------------------

# Where the exported resources live: ``href`` = base + the API's path (e.g.
# ``/alarmManagement/v4/alarm/``) + id. ``twin export --base-url`` replaces it.
TMF_BASE_URL = "http://localhost:8080/tmf-api"


def tmf_href(base_url: str, path: str, rid: object) -> str:
    """The absolute ``href`` of resource ``rid`` at ``path`` (``/troubleTicket/v4/troubleTicket``)
    under ``base_url``."""
    return f"{base_url.rstrip('/')}{path}/{rid}"


# --- network → BSS (usage) -----------------------------------------------------------------

VOICE, DATA, SMS = 0, 1, 2  # the ``kind`` of a usage record, a credit request, a rated record

# causeForTerm / causeForRecClosing of 3GPP TS 32.298, with its numbering
NORMAL_RELEASE, PARTIAL_RECORD, UNSUCCESSFUL_CALL_ATTEMPT, ABNORMAL_RELEASE = 0, 1, 3, 4
CAMEL_INIT_CALL_RELEASE = 5  # released by the online charging service: granted quota used up
VOLUME_LIMIT, TIME_LIMIT = 16, 17  # partial record closed by a volume or time limit
CAUSE_NAMES = {NORMAL_RELEASE: "normalRelease", PARTIAL_RECORD: "partialRecord",
               UNSUCCESSFUL_CALL_ATTEMPT: "unsuccessfulCallAttempt",
               ABNORMAL_RELEASE: "abnormalRelease",
               CAMEL_INIT_CALL_RELEASE: "cAMELInitCallRelease", VOLUME_LIMIT: "volumeLimit",
               TIME_LIMIT: "timeLimit"}
PARTIAL_CAUSES = (PARTIAL_RECORD, VOLUME_LIMIT, TIME_LIMIT)  # a record that is not the last


@dataclass(frozen=True, eq=False)
class UsageBatch:
    """A batch of usage records (CDRs) as the network's recording entities wrote them.

    Columns (equal-length numpy arrays), one row per record:

    * ``record_id`` — unique per record written (a duplicate copy repeats it);
    * ``charging_id`` — the call or session the record belongs to (chargingID of a PGW-CDR,
      the call reference of an MSC record); the network's usage id;
    * ``node_id`` (recording entity: 1 MSC, 2 PGW, 3 SMSC), ``seq`` (recordSequenceNumber:
      0 for a record that covers its whole session, 1..n for the partial records of a long
      one), ``sub``, ``kind`` (0 voice, 1 data, 2 SMS);
    * ``start`` — when the record opens (seizure for a call, recordOpeningTime for a data
      record, submission for an SMS); ``duration_s`` — chargeable seconds (a call: answer to
      release, rounded up; data: the record's share of the session);
    * ``volume_bytes`` (= ``uplink_bytes`` + ``downlink_bytes``), ``cause`` (causeForTerm,
      the 32.298 codes above);
    * voice only (0 elsewhere): ``calling`` and ``called`` party numbers, ``answer`` and
      ``release`` instants (``answer`` = ``release`` for an unanswered call);
    * ``online`` when online charging is in use (``OFFLINE``/``ONLINE``/``FAIL_OPEN``).
    """

    columns: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Records in the batch: the length of ``record_id`` (of its longest column if a
        malformed batch has none; mediation rejects such a batch whole)."""
        if not self.columns:
            return 0
        if "record_id" in self.columns:
            return _length(self.columns["record_id"])
        return max(_length(v) for v in self.columns.values())


def _length(column: object) -> int:
    try:
        return len(column)  # type: ignore[arg-type]
    except TypeError:  # a scalar, or a 0-d array
        return 1


# --- OSS → BSS (integration bus) -------------------------------------------------------------


@dataclass(frozen=True)
class ServiceOutageReport:
    """A cell's service outage as the OSS measured it (raise to clear of its alarms)."""

    incident_id: int
    cell: str
    start: float
    end: float


@dataclass(frozen=True)
class PlannedMaintenanceNotice:
    """A maintenance window announced to the BSS ahead of the work (OSS → BSS): the cells
    the OSS expects out of service from ``start`` to ``end`` (its inventory's view)."""

    window_id: int
    cells: tuple[str, ...]
    start: float
    end: float
    announced: float


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


# --- service provisioning: BSS → OSS → network and back (TMF641-shaped) ----------------------

SERVICE_ACTIONS = ("add", "modify", "delete")  # TMF641 ServiceOrderItem action


@dataclass(frozen=True)
class ServiceOrder:
    """A service order the BSS decomposed from a product order (TMF641), sent to the OSS over
    the integration bus. ``cell`` is where the service is delivered (the line's home cell);
    ``offer`` names the product offering the service realises."""

    service_order_id: int
    product_order_id: int
    action: str  # add | modify | delete
    sub: int
    cell: str
    offer: str
    ordered: float


@dataclass(frozen=True)
class ServiceOrderUpdate:
    """OSS → BSS: a service order reached a state (TMF641 ServiceOrderStateChangeEvent):
    ``held`` (fallout, to be retried), ``completed`` (``at`` = when the network activated)
    or ``failed`` (retries exhausted)."""

    service_order_id: int
    product_order_id: int
    state: str
    at: float
    attempts: int
    reason: str = ""


@dataclass(frozen=True)
class ActivationCommand:
    """OSS → network: configure a line (add, modify, delete) on the element serving it."""

    service_order_id: int
    sub: int
    action: str
    cell: str


@dataclass(frozen=True)
class ActivationResult:
    """Network → OSS: the outcome of an :class:`ActivationCommand`; ``ok`` False when the
    serving cell is out of service (the configuration could not be pushed)."""

    service_order_id: int
    sub: int
    action: str
    ok: bool
    reason: str = ""


@dataclass(frozen=True, eq=False)
class CreditRelease:
    """Sessions granted quota that never started — blocked, or their cell lost service before
    set-up (a CCR-Terminate with no used units): the OCS releases their reservations.
    Columns: ``session_id``, ``sub``."""

    columns: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return int(self.columns["session_id"].size) if self.columns else 0


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


@dataclass(frozen=True)
class OperatorAlarmAction:
    """A NOC operator's action on an OSS alarm from outside the twin (a fault manager
    through TMF642, :mod:`twin.live`): ``acknowledge`` (the alarm's incident is triaged and
    its ticket released, as the built-in NOC does) or ``clear`` (the operator clears the
    alarm by hand). ``user`` is the ackUserId / clearUserId the tool gave."""

    alarm_id: int
    action: str  # acknowledge | clear
    user: str
    requested: float


@dataclass(frozen=True)
class OperatorTroubleTicket:
    """A trouble ticket an outside ticketing system opened (TMF621 create): it joins the
    OSS's flow as a ticket linked to the incident it names, or to an open incident over the
    resource it names (``incident_id`` 0: none named)."""

    reference: str  # the external tool's id for it (TMF621 externalId)
    name: str
    resource: str
    incident_id: int
    user: str
    opened: float
