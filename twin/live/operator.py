"""An outside tool acting as the NOC: its acknowledgements, clears and tickets enter the
OSS as :class:`~twin.messages.OperatorAlarmAction` / :class:`~twin.messages.OperatorTroubleTicket`
messages on the bus — the way the OSS would hear of them from its own operators — and each
is logged in the ``operator_actions`` table (created with the first action) for scoring.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pyarrow as pa

from twin.kernel.records import RecordBuffer
from twin.messages import OperatorAlarmAction, OperatorTroubleTicket
from twin.wiring import Assembly

ACTIONS_SCHEMA = pa.schema([
    ("t", pa.float64()), ("action", pa.string()), ("user", pa.string()),
    ("alarm_id", pa.int64()), ("incident_id", pa.int64()), ("resource", pa.string()),
    ("reference", pa.string()), ("ticket_id", pa.string()), ("wall_time", pa.string()),
])


class RunEnded(RuntimeError):
    """The run is over: the twin takes no more actions."""


class Operator:
    def __init__(self, asm: Assembly, lock: threading.RLock) -> None:
        self.asm = asm
        self.lock = lock  # the pacer's: actions land between two steps
        self._log: RecordBuffer | None = None
        self.ended = False
        self.count = 0

    def _record(self, **row: object) -> None:
        if self._log is None:
            self._log = self.asm.sim.records.buffer("operator_actions", ACTIONS_SCHEMA)
        self.count += 1
        self._log.append(t=self.asm.sim.now,
                         wall_time=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                         **row)

    def _check(self) -> None:
        if self.ended:
            raise RunEnded("the run has ended: the twin takes no more actions")

    def on_alarms(self, action: str, alarm_ids: list[int], user: str) -> list[int]:
        """Acknowledge or clear alarms; the ids of those the OSS holds (others are ignored).
        Call under the pacer's lock."""
        self._check()
        known = len(self.asm.oss.alarms.all)
        done = [a for a in alarm_ids if 0 < a <= known]
        for aid in done:
            alarm = self.asm.oss.alarms.all[aid - 1]
            self.asm.sim.bus.publish(OperatorAlarmAction(aid, action, user, self.asm.sim.now))
            self._record(action=action, user=user, alarm_id=aid,
                         incident_id=alarm.incident_id, resource=alarm.obj, reference="",
                         ticket_id="")
        return done

    def open_ticket(self, reference: str, name: str, resource: str, incident_id: int,
                    user: str) -> str:
        """Open a ticket; its TMF621 id (``C…``: the OSS files it with complaints)."""
        self._check()
        self.asm.sim.bus.publish(OperatorTroubleTicket(reference, name, resource, incident_id,
                                                       user, self.asm.sim.now))
        tid = f"C{len(self.asm.oss.customer.tickets)}"
        self._record(action="ticket", user=user, alarm_id=0, incident_id=incident_id,
                     resource=resource, reference=reference, ticket_id=tid)
        return tid
