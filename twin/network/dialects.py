"""Element-manager dialects: how each vendor's EMS puts an alarm on the wire.

Real element managers do not speak one language. Like three colleagues reporting the same
broken machine — one fills in a numbered form, one writes a line in the logbook, one sends
an e-mail with attachments — each vendor's EMS encodes the same X.733 alarm differently:

* ``snmp``: an SNMPv2c trap rendered as ``OID = TYPE: value`` varbind lines (as snmptrapd
  prints them), numeric OIDs under the documentation enterprise number 32473 (RFC 5612),
  enumerated severities (ITU-ALARM-TC, RFC 3877) and event types (IANA-ITU-ALARM-TC);
  probable causes as an enumeration of a (fictional) ``TWIN-FM-MIB`` — a cause the MIB does
  not list is sent as text in a separate varbind;
* ``syslog``: one RFC 5424 line with an ``x733@32473`` structured-data element, framed with
  RFC 6587 octet counting as on a TCP syslog session;
* ``ves``: an ONAP VES 7 ``fault`` domain event as JSON.

Which vendor speaks which dialect: the vendors in order of first appearance in the topology
(for generated networks that is the order of ``network.vendors``) take ``snmp``, ``syslog``,
``ves``, ``snmp`` … in turn — alpha→snmp, beta→syslog, gamma→ves by default — unless
``network.telemetry.dialects`` names one for the vendor.

Noise: with probability ``network.telemetry.malformed_rate`` a message is truncated in
transit (a cut UDP datagram or TCP frame), which no collector can read; the alarm (or clear)
it carried is lost to the OSS. The noise draws from its own stream
(``network.telemetry.noise``), so it never shifts the detection delays.

The OSS has its own parsers (``twin.oss.collection``) and never imports this module.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from twin.kernel import Sim
from twin.messages import AlarmNotification, EmsEvent
from twin.network.topology import Topology
from twin.scenario.schema import TelemetrySpec

DIALECTS = ("snmp", "syslog", "ves")
PEN = 32473  # enterprise number reserved for documentation (RFC 5612)

# --- SNMP: the TWIN-FM-MIB -------------------------------------------------------------------

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
TRAP_RAISED = f"1.3.6.1.4.1.{PEN}.1.2.0.1"
TRAP_CLEARED = f"1.3.6.1.4.1.{PEN}.1.2.0.2"
_VB = f"1.3.6.1.4.1.{PEN}.1.1"
VB_NOTIFICATION_ID = f"{_VB}.1"
VB_OBJECT = f"{_VB}.2"
VB_RESOURCE = f"{_VB}.3"
VB_EVENT_TYPE = f"{_VB}.4"
VB_PROBABLE_CAUSE = f"{_VB}.5"
VB_PROBABLE_CAUSE_TEXT = f"{_VB}.6"
VB_SPECIFIC_PROBLEM = f"{_VB}.7"
VB_EVENT_TIME = f"{_VB}.8"  # microseconds since the Unix epoch
VB_SEVERITY = f"{_VB}.9"  # always the last varbind
VB_EVENT_TYPE_TEXT = f"{_VB}.10"  # an event type the enumeration lacks, as text

SEVERITY_CODES = {  # ItuPerceivedSeverity, RFC 3877
    "cleared": 1, "indeterminate": 2, "critical": 3, "major": 4, "minor": 5, "warning": 6,
}
EVENT_TYPE_CODES = {  # IANAItuEventType
    "other": 1, "communicationsAlarm": 2, "qualityOfServiceAlarm": 3,
    "processingErrorAlarm": 4, "equipmentAlarm": 5, "environmentalAlarm": 6,
    "integrityViolation": 7, "operationalViolation": 8, "physicalViolation": 9,
    "securityServiceOrMechanismViolation": 10, "timeDomainViolation": 11,
}
PROBABLE_CAUSE_CODES = {  # TWIN-FM-MIB TwinProbableCause (fictional numbering)
    "lossOfSignal": 8, "degradedSignal": 3, "routingFailure": 26, "powerProblem": 58,
    "processorProblem": 59, "equipmentMalfunction": 70, "softwareError": 163,
    "timeoutExpired": 164, "congestion": 202, "thresholdCrossed": 210,
    "performanceDegraded": 211, "temperatureUnacceptable": 212,
    "heartbeatFailure": 1001, "backhaulFailure": 1002, "routingAdjacencyLost": 1003,
}

# --- syslog ----------------------------------------------------------------------------------

SYSLOG_FACILITY = 23  # local7
SYSLOG_SEVERITY = {  # X.733 severity → syslog severity (RFC 5424 table 2)
    "critical": 2, "major": 3, "minor": 4, "warning": 4, "indeterminate": 5, "cleared": 6,
}
SD_ID = f"x733@{PEN}"
_HOSTNAME = re.compile(r"^[!-~]{1,255}$")

# --- VES -------------------------------------------------------------------------------------

VES_SEVERITY = {  # VES 7 eventSeverity; it has no "indeterminate" (sent as WARNING + a note)
    "critical": "CRITICAL", "major": "MAJOR", "minor": "MINOR", "warning": "WARNING",
    "indeterminate": "WARNING", "cleared": "NORMAL",
}
VES_PRIORITY = {"critical": "High", "major": "High", "minor": "Medium", "warning": "Low",
                "indeterminate": "Low", "cleared": "Normal"}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(when: datetime) -> int:
    """Microseconds since the Unix epoch, exactly."""
    return (when - _EPOCH) // timedelta(microseconds=1)


def _quote(text: str) -> str:
    """An SNMP display string on one line: backslash, quote and newline escaped."""
    return '"' + (text.replace("\\", "\\\\").replace('"', '\\"')
                  .replace("\n", "\\n")) + '"'


def _sd_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def encode_snmp(note: AlarmNotification, event_us: int, uptime_cs: int) -> str:
    cleared = note.is_clear
    lines = [
        f"{SYS_UPTIME} = Timeticks: {uptime_cs}",
        f"{SNMP_TRAP_OID} = OID: {TRAP_CLEARED if cleared else TRAP_RAISED}",
        f"{VB_NOTIFICATION_ID} = Gauge32: {note.notification_id}",
        f"{VB_OBJECT} = STRING: {_quote(note.alarmed_object)}",
        f"{VB_RESOURCE} = STRING: {_quote(note.resource)}",
        f"{VB_EVENT_TYPE} = INTEGER: {EVENT_TYPE_CODES.get(note.alarm_type, 1)}",
    ]
    code = PROBABLE_CAUSE_CODES.get(note.probable_cause)
    if code is not None:
        lines.append(f"{VB_PROBABLE_CAUSE} = INTEGER: {code}")
    else:
        lines.append(f"{VB_PROBABLE_CAUSE_TEXT} = STRING: {_quote(note.probable_cause)}")
    if note.alarm_type not in EVENT_TYPE_CODES:  # keep the text of an off-standard type
        lines.append(f"{VB_EVENT_TYPE_TEXT} = STRING: {_quote(note.alarm_type)}")
    lines += [
        f"{VB_SPECIFIC_PROBLEM} = STRING: {_quote(note.specific_problem)}",
        f"{VB_EVENT_TIME} = Counter64: {event_us}",
        f"{VB_SEVERITY} = INTEGER: {SEVERITY_CODES[note.perceived_severity]}",
    ]
    return "\n".join(lines)


def encode_syslog(note: AlarmNotification, event_us: int) -> str:
    sev = note.perceived_severity
    pri = SYSLOG_FACILITY * 8 + SYSLOG_SEVERITY[sev]
    ts = (_EPOCH + timedelta(microseconds=event_us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    obj = note.alarmed_object
    host = obj if obj != "-" and _HOSTNAME.match(obj) else "-"
    params = [("nid", str(note.notification_id))]
    if host == "-":
        params.append(("obj", note.alarmed_object))
    params += [("res", note.resource), ("type", note.alarm_type),
               ("cause", note.probable_cause), ("sev", sev)]
    sd = "[" + SD_ID + "".join(f' {k}="{_sd_escape(v)}"' for k, v in params) + "]"
    msgid = "CLEAR" if note.is_clear else "ALARM"
    line = f"<{pri}>1 {ts} {host} {note.ems} - {msgid} {sd} {note.specific_problem}"
    return f"{len(line.encode())} {line}"  # RFC 6587 octet counting


def encode_ves(note: AlarmNotification, event_us: int, vendor: str) -> str:
    sev = note.perceived_severity
    extra = {"alarmType": note.alarm_type}
    if sev == "indeterminate":
        extra["x733PerceivedSeverity"] = "indeterminate"
    event = {"event": {
        "commonEventHeader": {
            "domain": "fault",
            "eventId": f"{note.ems}-{note.notification_id}",
            "eventName": f"Fault_{vendor}_{note.probable_cause}",
            "eventType": note.alarm_type,
            "sequence": note.notification_id,
            "priority": VES_PRIORITY[sev],
            "reportingEntityName": note.ems,
            "sourceName": note.alarmed_object,
            "startEpochMicrosec": event_us,
            "lastEpochMicrosec": event_us,
            "version": "4.1",
            "vesEventListenerVersion": "7.2.1",
            "timeZoneOffset": "UTC+00:00",
        },
        "faultFields": {
            "faultFieldsVersion": "4.0",
            "alarmCondition": note.probable_cause,
            "eventSeverity": VES_SEVERITY[sev],
            "eventSourceType": "networkElement",
            "specificProblem": note.specific_problem,
            "vfStatus": "Active",
            "alarmInterfaceA": note.resource,
            "alarmAdditionalInformation": extra,
        },
    }}
    return json.dumps(event, separators=(",", ":"))


def truncate(payload: str, fraction: float) -> str:
    """The first ``fraction`` of a payload: what arrives of a message cut in transit."""
    return payload[:max(1, int(len(payload) * fraction))]


class EmsEncoders:
    """Encodes each element manager's notifications in its vendor's dialect."""

    def __init__(self, sim: Sim, spec: TelemetrySpec, topo: Topology) -> None:
        self.sim = sim
        self.spec = spec
        self.rng = sim.rng.stream("network.telemetry.noise")
        # transient noise alarms draw their transit garbling from their own stream
        self.noise_rng = sim.rng.stream("network.noise.transit")
        self.start_us = epoch_us(sim.calendar.start)
        vendors = list(dict.fromkeys(e.vendor for e in topo.elements.values()))
        self.vendor = {f"ems-{v}": v for v in vendors}
        self.dialect = {f"ems-{v}": spec.dialects.get(v, DIALECTS[i % len(DIALECTS)])
                        for i, v in enumerate(vendors)}
        self.malformed = 0

    def encode(self, note: AlarmNotification, sent_at: float, origin: str = "",
               noise: bool = False) -> EmsEvent:
        dialect = self.dialect.get(note.ems, DIALECTS[0])
        event_us = self.start_us + round(note.event_time * 1e6)
        if dialect == "snmp":
            payload = encode_snmp(note, event_us, uptime_cs=int(sent_at * 100))
        elif dialect == "syslog":
            payload = encode_syslog(note, event_us)
        else:
            payload = encode_ves(note, event_us, self.vendor.get(note.ems, note.ems))
        cut = float((self.noise_rng if noise else self.rng).random())
        if cut < self.spec.malformed_rate:
            self.malformed += 1
            payload = truncate(payload, 0.2 + 0.6 * cut / self.spec.malformed_rate)
        return EmsEvent(note.ems, dialect, payload, origin, note.notification_id)
