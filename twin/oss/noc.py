"""The NOC operators: they triage (acknowledge) incidents before a crew is sent.

An incident enters the operators' queue when correlation opens it, most severe first, then
oldest. An operator looks at it for a triage time and acknowledges it — with all of its
alarms (TMF642 ackState, ackUserId), and alarms that join it later are acknowledged with it.
The acknowledgement releases the incident's ticket to the field. As in OpenNMS, an incident
still unacknowledged after ``auto_ticket_after`` (``auto_ticket_after_critical`` for a
critical one) is released anyway — an operator buried under a flood does not hold up the
crews forever. MTTA is acknowledgement minus incident creation.

With ``operators: 0`` there is no triage: incidents are acknowledged and released at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import simpy

from twin.kernel import Sim
from twin.oss.alarms import SEVERITY_RANK
from twin.oss.correlation import Incident
from twin.scenario.schema import NocSpec


class Noc:
    def __init__(self, sim: Sim, spec: NocSpec, release: Callable[[Incident, str], None]) -> None:
        self.sim = sim
        self.spec = spec
        self.release = release  # (incident, how): send its ticket to the field
        self.rng = sim.rng.stream("oss.noc")
        self.desk = (simpy.PriorityResource(sim.env, capacity=spec.operators)
                     if spec.operators else None)
        self.free = list(range(spec.operators, 0, -1))
        self._order = itertools.count()
        self.busy_s = 0.0
        self.auto_tickets = 0

    def triage(self, inc: Incident) -> None:
        if self.desk is None:
            self._acknowledge(inc, "noc-auto")
            inc.released = True
            self.release(inc, "acknowledged")
            return
        self.sim.env.process(self._work(inc))
        self.sim.env.process(self._auto_ticket(inc))

    def _auto_ticket(self, inc: Incident) -> Any:
        critical = inc.severity == "critical"
        yield self.sim.env.timeout(self.spec.auto_ticket_after_critical if critical
                                   else self.spec.auto_ticket_after)
        if (inc.acknowledged is None and not inc.released and inc.merged_into == 0
                and inc.cleared is None):
            self.auto_tickets += 1
            inc.released = True
            self.release(inc, "auto-ticketed: unacknowledged")

    def _work(self, inc: Incident) -> Any:
        assert self.desk is not None
        prio = SEVERITY_RANK.get(inc.severity, 9) * 1_000_000_000 + next(self._order)
        with self.desk.request(priority=prio) as req:
            yield req
            operator = self.free.pop()
            began = self.sim.now
            try:
                if inc.merged_into or inc.cleared is not None or inc.acknowledged is not None:
                    return  # gone, or acknowledged from outside, before anyone looked at it
                d = self.spec.triage_mean_s
                yield self.sim.env.timeout(
                    d if self.spec.triage_dist == "deterministic"
                    else float(self.rng.exponential(d)) if d > 0 else 0.0)
                self._acknowledge(inc, f"noc-operator-{operator}")
                if not inc.released and inc.merged_into == 0:
                    inc.released = True
                    self.release(inc, "acknowledged")
            finally:
                self.busy_s += self.sim.now - began
                self.free.append(operator)

    def acknowledge(self, inc: Incident, user: str) -> bool:
        """An operator outside the twin acknowledged ``inc`` (through TMF642): as the NOC's
        own acknowledgement, it releases the ticket. False if it was acknowledged already."""
        if inc.acknowledged is not None or inc.merged_into:
            return False
        self._acknowledge(inc, user)
        if not inc.released and inc.cleared is None:
            inc.released = True
            self.release(inc, "acknowledged")
        return True

    def _acknowledge(self, inc: Incident, user: str) -> None:
        if inc.acknowledged is not None:  # an outside operator was quicker
            return
        now = self.sim.now
        inc.acknowledged, inc.ack_user = now, user
        for a in inc.alarms:
            a.acknowledge(now, user)
