"""Alarm collection: one adapter per element-manager dialect, one alarm model behind them.

Each vendor's element manager speaks its own dialect (an SNMP trap, a syslog line, a VES
JSON event). Like a post room that opens letters in three languages and files one form per
letter, the collector hands every :class:`~twin.messages.EmsEvent` to the adapter for its
dialect, which parses the payload text and normalises it to the OSS's alarm model — the
X.733 / TMF642 fields of :class:`~twin.messages.AlarmNotification` (alarmType,
perceivedSeverity, probableCause, specificProblem, alarmedObject, event time).

A message an adapter cannot read — truncated, garbled, an unknown enumeration value, an
unknown dialect, JSON nested too deeply, a number out of range (an id that does not fit the
64-bit columns of the tables, an event time decades away), text that is not valid Unicode —
is a *reject*: counted, kept with its reason in the ``alarm_rejects`` table, and never
allowed to crash the run. Adapters are small classes behind the :class:`DialectAdapter`
protocol, so another dialect is one more class.

The enumerations below are the OSS's own copy of the vendors' MIB and mappings (an OSS loads
MIB files; it does not share code with the network), so an enumeration value the OSS's copy
lacks is rejected as unknown — as when a vendor upgrade outruns the OSS's MIB.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pyarrow as pa

from twin.kernel import Sim
from twin.messages import AlarmNotification, EmsEvent

ALARM_TYPES = frozenset({  # X.733 / 3GPP TS 32.111-2 event types (TMF642 AlarmType)
    "communicationsAlarm", "qualityOfServiceAlarm", "processingErrorAlarm", "equipmentAlarm",
    "environmentalAlarm", "integrityViolation", "operationalViolation", "physicalViolation",
    "securityServiceOrMechanismViolation", "timeDomainViolation",
})
SEVERITIES = frozenset({"critical", "major", "minor", "warning", "indeterminate", "cleared"})

REJECTS_SCHEMA = pa.schema([
    ("received", pa.float64()), ("ems", pa.string()), ("dialect", pa.string()),
    ("reason", pa.string()), ("payload", pa.string()),
])
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ID_MAX = 2**63 - 1  # notification ids are int64 columns
MAX_OFFSET_US = 100 * 366 * 86_400 * 10**6  # an event more than a century from the start
MAX_PAYLOAD = 65_536  # characters; an SNMP trap fits a UDP datagram, a VES fault event too


class Reject(Exception):
    """A message the collector cannot turn into an alarm; the text is the reason."""


def epoch_us(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(microseconds=1)


class DialectAdapter(Protocol):
    """Parses one dialect's payload into the OSS alarm model, or raises :class:`Reject`."""

    dialect: str

    def parse(self, ems: str, payload: str) -> AlarmNotification: ...


def _unicode(text: str) -> bool:
    """Whether ``text`` can be stored (UTF-8): no lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _alarm(ems: str, nid: int, event_us: int, start_us: int, obj: str, resource: str,
           alarm_type: str, cause: str, problem: str, severity: str) -> AlarmNotification:
    """The checks every dialect shares, then the normalised alarm."""
    if nid <= 0:
        raise Reject(f"notification id {nid} is not positive")
    if nid > ID_MAX:
        raise Reject(f"notification id {nid} is out of range (above 2^63 - 1)")
    if abs(event_us - start_us) > MAX_OFFSET_US:
        raise Reject(f"event time {event_us} µs since the epoch is out of range")
    for name, text in (("alarmed object", obj), ("resource", resource),
                       ("probable cause", cause), ("specific problem", problem)):
        if not _unicode(text):
            raise Reject(f"{name} is not valid Unicode (a lone surrogate)")
    if not obj:
        raise Reject("no alarmed object")
    if alarm_type not in ALARM_TYPES:
        raise Reject(f"unknown alarmType {alarm_type!r}")
    if not cause:
        raise Reject("no probable cause")
    if severity not in SEVERITIES:
        raise Reject(f"unknown perceivedSeverity {severity!r}")
    return AlarmNotification(ems, nid, (event_us - start_us) / 1e6, obj, resource, alarm_type,
                             cause, problem, severity)


# --- SNMP ----------------------------------------------------------------------------------

_PEN = 32473
_VB = f"1.3.6.1.4.1.{_PEN}.1.1"
_TRAPS = {f"1.3.6.1.4.1.{_PEN}.1.2.0.1": False, f"1.3.6.1.4.1.{_PEN}.1.2.0.2": True}
_SNMP_SEVERITY = {1: "cleared", 2: "indeterminate", 3: "critical", 4: "major", 5: "minor",
                  6: "warning"}
_SNMP_EVENT_TYPE = {
    1: "other", 2: "communicationsAlarm", 3: "qualityOfServiceAlarm",
    4: "processingErrorAlarm", 5: "equipmentAlarm", 6: "environmentalAlarm",
    7: "integrityViolation", 8: "operationalViolation", 9: "physicalViolation",
    10: "securityServiceOrMechanismViolation", 11: "timeDomainViolation",
}
_SNMP_CAUSE = {  # the OSS's copy of TWIN-FM-MIB TwinProbableCause
    8: "lossOfSignal", 3: "degradedSignal", 26: "routingFailure", 58: "powerProblem",
    59: "processorProblem", 70: "equipmentMalfunction", 163: "softwareError",
    164: "timeoutExpired", 202: "congestion", 210: "thresholdCrossed",
    211: "performanceDegraded", 212: "temperatureUnacceptable",
    1001: "heartbeatFailure", 1002: "backhaulFailure", 1003: "routingAdjacencyLost",
}
_VARBIND = re.compile(r"^(\d+(?:\.\d+)+) = ([A-Za-z0-9]+): (.*)$")
_QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"$')
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_DIGITS = re.compile(r"^[0-9]{1,20}\Z")
_INT_TYPES = ("INTEGER", "Gauge32", "Counter64", "Timeticks")


def _snmp_unescape(m: re.Match[str]) -> str:
    return "\n" if m.group(1) == "n" else m.group(1)


class SnmpAdapter:
    """SNMPv2c traps as ``OID = TYPE: value`` lines (snmptrapd's text rendering)."""

    dialect = "snmp"

    def __init__(self, start_us: int) -> None:
        self.start_us = start_us

    @staticmethod
    def _varbinds(payload: str) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for n, line in enumerate(payload.split("\n"), 1):
            m = _VARBIND.match(line)
            if m is None:
                raise Reject(f"line {n} is not a varbind")
            oid, kind, value = m.groups()
            if oid in out:
                raise Reject(f"varbind {oid} given twice")
            if kind == "STRING":
                q = _QUOTED.match(value)
                if q is None:
                    raise Reject(f"varbind {oid}: unterminated string")
                value = _UNESCAPE.sub(_snmp_unescape, q.group(1))
            elif kind in _INT_TYPES:
                if not _DIGITS.match(value):
                    raise Reject(f"varbind {oid}: {kind} value {value!r} is not a number")
            elif kind != "OID":
                raise Reject(f"varbind {oid}: unknown type {kind}")
            out[oid] = (kind, value)
        return out

    def parse(self, ems: str, payload: str) -> AlarmNotification:
        vb = self._varbinds(payload)

        def get(suffix: str, kind: str) -> str:
            oid = f"{_VB}.{suffix}"
            if oid not in vb:
                raise Reject(f"missing varbind {oid}")
            if vb[oid][0] != kind:
                raise Reject(f"varbind {oid} should be {kind}, not {vb[oid][0]}")
            return vb[oid][1]

        trap = vb.get("1.3.6.1.6.3.1.1.4.1.0")
        if trap is None:
            raise Reject("no snmpTrapOID")
        if trap[1] not in _TRAPS:
            raise Reject(f"unknown trap {trap[1]}")
        severity = _SNMP_SEVERITY.get(int(get("9", "INTEGER")))
        if severity is None:
            raise Reject(f"unknown severity code {get('9', 'INTEGER')}")
        if (severity == "cleared") != _TRAPS[trap[1]]:
            raise Reject(f"trap {trap[1]} disagrees with severity {severity}")
        event_type = _SNMP_EVENT_TYPE.get(int(get("4", "INTEGER")))
        if event_type is None:
            raise Reject(f"unknown event type code {get('4', 'INTEGER')}")
        if event_type == "other":
            event_type = get("10", "STRING")
        if f"{_VB}.5" in vb:
            cause = _SNMP_CAUSE.get(int(get("5", "INTEGER")))
            if cause is None:
                raise Reject(f"unknown probable cause code {get('5', 'INTEGER')}")
        else:
            cause = get("6", "STRING")
        return _alarm(ems, int(get("1", "Gauge32")), int(get("8", "Counter64")), self.start_us,
                      get("2", "STRING"), get("3", "STRING"), event_type, cause,
                      get("7", "STRING"), severity)


# --- syslog --------------------------------------------------------------------------------

_FRAME = re.compile(r"^(\d+) (.*)$", re.DOTALL)
_HEADER = re.compile(r"^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (.*)$", re.DOTALL)
_SD_PARAM = re.compile(r' ([^ ="\]]+)="((?:[^"\\]|\\.)*)"')


def _sd_element(text: str, sd_id: str) -> tuple[dict[str, str], str]:
    """Params of the structured-data element ``sd_id`` and the message after the SD."""
    params: dict[str, str] = {}
    found = False
    pos = 0
    if text.startswith("-"):
        raise Reject(f"no [{sd_id}] structured data")
    while pos < len(text) and text[pos] == "[":
        end_id = pos + 1
        while end_id < len(text) and text[end_id] not in " ]":
            end_id += 1
        this_id = text[pos + 1:end_id]
        pos = end_id
        these: dict[str, str] = {}
        while True:
            m = _SD_PARAM.match(text, pos)
            if m is None:
                break
            these[m.group(1)] = _UNESCAPE.sub(r"\1", m.group(2))
            pos = m.end()
        if pos >= len(text) or text[pos] != "]":
            raise Reject("unterminated structured data")
        pos += 1
        if this_id == sd_id:
            params, found = these, True
    if not found:
        raise Reject(f"no [{sd_id}] structured data")
    msg = text[pos:]
    if msg and not msg.startswith(" "):
        raise Reject("no space after the structured data")
    return params, msg[1:]


class SyslogAdapter:
    """RFC 5424 lines with an ``x733@32473`` SD element, RFC 6587 octet-counted."""

    dialect = "syslog"
    sd_id = f"x733@{_PEN}"

    def __init__(self, start_us: int) -> None:
        self.start_us = start_us

    def parse(self, ems: str, payload: str) -> AlarmNotification:
        frame = _FRAME.match(payload)
        if frame is None:
            raise Reject("no octet count")
        line = frame.group(2)
        if int(frame.group(1)) != len(line.encode()):
            raise Reject(f"frame says {frame.group(1)} octets, got {len(line.encode())}")
        head = _HEADER.match(line)
        if head is None:
            raise Reject("not an RFC 5424 header")
        pri, stamp, host, _app, _proc, msgid, rest = head.groups()
        if int(pri) > 191:
            raise Reject(f"PRI {pri} out of range")
        try:
            when = datetime.fromisoformat(stamp)
        except ValueError:
            raise Reject(f"bad timestamp {stamp!r}") from None
        if when.tzinfo is None:
            raise Reject(f"timestamp {stamp!r} has no time zone")
        params, msg = _sd_element(rest, self.sd_id)
        missing = [k for k in ("nid", "type", "cause", "sev") if k not in params]
        if missing:
            raise Reject(f"missing SD params {', '.join(missing)}")
        if msgid not in ("ALARM", "CLEAR"):
            raise Reject(f"unknown MSGID {msgid}")
        if (params["sev"] == "cleared") != (msgid == "CLEAR"):
            raise Reject(f"MSGID {msgid} disagrees with severity {params['sev']}")
        if not _DIGITS.match(params["nid"]):
            raise Reject(f"nid {params['nid']!r} is not a number")
        obj = params.get("obj", host if host != "-" else "")
        return _alarm(ems, int(params["nid"]), epoch_us(when), self.start_us, obj,
                      params.get("res", ""), params["type"], params["cause"], msg,
                      params["sev"])


# --- VES -----------------------------------------------------------------------------------

_VES_SEVERITY = {"CRITICAL": "critical", "MAJOR": "major", "MINOR": "minor",
                 "WARNING": "warning", "NORMAL": "cleared"}


def _field(obj: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = obj.get(key)
    if value is None:
        raise Reject(f"missing {where}.{key}")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise Reject(f"{where}.{key} should be {kind.__name__}")
    return value


class VesAdapter:
    """ONAP VES 7 ``fault`` domain events (JSON)."""

    dialect = "ves"

    def __init__(self, start_us: int) -> None:
        self.start_us = start_us

    def parse(self, ems: str, payload: str) -> AlarmNotification:
        try:
            doc = json.loads(payload)
        except ValueError as e:
            raise Reject(f"invalid JSON: {e.args[0] if e.args else e}") from None
        except RecursionError:
            raise Reject("invalid JSON: nested too deeply") from None
        if not isinstance(doc, dict):
            raise Reject("not a JSON object")
        event = _field(doc, "event", dict, "")
        header = _field(event, "commonEventHeader", dict, "event")
        domain = _field(header, "domain", str, "commonEventHeader")
        if domain != "fault":
            raise Reject(f"VES domain {domain!r} is not fault")
        fault = _field(event, "faultFields", dict, "event")
        extra = fault.get("alarmAdditionalInformation") or {}
        if not isinstance(extra, dict):
            raise Reject("faultFields.alarmAdditionalInformation should be an object")
        ves_sev = _field(fault, "eventSeverity", str, "faultFields")
        severity = extra.get("x733PerceivedSeverity") or _VES_SEVERITY.get(ves_sev)
        if not isinstance(severity, str):
            raise Reject(f"unknown eventSeverity {ves_sev!r}")
        alarm_type = extra.get("alarmType") or header.get("eventType")
        if not isinstance(alarm_type, str):
            raise Reject("no alarmType")
        resource = fault.get("alarmInterfaceA", "")
        if not isinstance(resource, str):
            raise Reject("faultFields.alarmInterfaceA should be str")
        return _alarm(ems, _field(header, "sequence", int, "commonEventHeader"),
                      _field(header, "lastEpochMicrosec", int, "commonEventHeader"),
                      self.start_us, _field(header, "sourceName", str, "commonEventHeader"),
                      resource, alarm_type,
                      _field(fault, "alarmCondition", str, "faultFields"),
                      _field(fault, "specificProblem", str, "faultFields"), severity)


# --- the collector -------------------------------------------------------------------------


class Collector:
    """Routes each EMS event to its dialect's adapter; keeps what it cannot read."""

    def __init__(self, sim: Sim, adapters: tuple[DialectAdapter, ...] | None = None) -> None:
        self.sim = sim
        start_us = epoch_us(sim.calendar.start)
        chosen = adapters or (SnmpAdapter(start_us), SyslogAdapter(start_us),
                              VesAdapter(start_us))
        self.adapters: dict[str, DialectAdapter] = {a.dialect: a for a in chosen}
        self.received: Counter[str] = Counter()  # per dialect
        self.rejected: Counter[str] = Counter()  # per dialect
        self._rejects = sim.records.buffer("alarm_rejects", REJECTS_SCHEMA)

    def normalise(self, event: EmsEvent) -> AlarmNotification | None:
        """The alarm an event carries, or None (and a row in ``alarm_rejects``)."""
        self.received[event.dialect] += 1
        adapter = self.adapters.get(event.dialect)
        try:
            if adapter is None:
                raise Reject(f"unknown dialect {event.dialect!r}")
            if event.decode_error:  # bytes its transport could not read as a message
                raise Reject(f"undecodable {event.dialect} message: {event.decode_error}")
            if not isinstance(event.payload, str):
                raise Reject("payload is not text")
            if len(event.payload) > MAX_PAYLOAD:
                raise Reject(f"payload longer than {MAX_PAYLOAD:,} characters")
            if not _unicode(event.ems):
                raise Reject("element manager name is not valid Unicode")
            note = adapter.parse(event.ems, event.payload)
        except Reject as e:
            self._reject(event, str(e))
            return None
        except (ValueError, ArithmeticError, RecursionError) as e:
            # a number too odd or too big for int(), float() or a date: still a reject
            self._reject(event, f"unreadable value: {type(e).__name__}: {e}")
            return None
        return note

    def _reject(self, event: EmsEvent, reason: str) -> None:
        self.rejected[event.dialect] += 1
        self._rejects.append(received=self.sim.now, ems=_storable(event.ems),
                             dialect=_storable(event.dialect), reason=_storable(reason),
                             payload=_storable(str(event.payload)[:MAX_PAYLOAD]))

    @property
    def rejects(self) -> int:
        return sum(self.rejected.values())


def _storable(text: str) -> str:
    """Text as UTF-8 can hold it: a lone surrogate kept as its escape (``\\udc80``)."""
    return text if _unicode(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")
