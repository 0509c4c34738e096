"""Customer care and churn: who calls in after a bad experience, and who leaves.

The BSS learns of bad experiences the way a real operator does — from the outages the OSS
measured (:class:`ServiceOutageReport`), from dropped calls in the usage records (cause for
termination: abnormal release) and from the sessions its own online charging could not
serve — never from ground truth. Customers react:

* a line on a cell that was out of service contacts care with probability
  ``1 − exp(−rate × hours out)``; its care ticket names the OSS incident. Hours inside a
  maintenance window announced to customers (:class:`PlannedMaintenanceNotice`) do not count
  — neither for contacts nor for churn: customers were told;
* a customer with ``drop_threshold`` dropped calls in a day calls with ``drop_contact_prob``;
* a prepaid customer denied service while the OCS was down (fail-closed) calls with
  ``denied_contact_prob``.

Most contacts of a real operator are not about the network at all but about bills, tariffs
and accounts: every line also calls ``account_contacts_monthly`` times a month (Poisson, drawn
day by day). Those contacts are the BSS's own affair — no trouble report reaches the OSS.

Churn is a daily hazard per line, decided at the start of each day: ``churn_base_monthly`` (one
rate, or one per account type: prepaid customers leave several times as often as postpaid ones)
plus ``churn_per_outage_hour`` per hour of outage the line went through so far plus
``churn_per_contact`` per care contact, as a monthly probability. A customer who gives notice
leaves at the end of the current bill cycle: the recurring fee stops there, and usage records
after it are rejected (the line is gone). The notice becomes a cancel order
(:mod:`twin.bss.orders`): provisioning deactivates the line in the network from that date —
records the network writes until it does are leakage.
Only active lines (``active_from``: lines ordered during the run once activated) contact
care or churn.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import simpy

from twin.bss.sla import merged_seconds, overlap
from twin.kernel import Sim, labels
from twin.messages import (
    ABNORMAL_RELEASE,
    PlannedMaintenanceNotice,
    ServiceOutageReport,
    SubscriberBase,
)
from twin.scenario.schema import CareSpec

I64 = npt.NDArray[np.int64]
DAY = 86_400.0
REASONS = ("network outage", "dropped calls", "service denied", "bill or account")
OUTAGE, DROPS, DENIED, ACCOUNT = range(4)
CARE_SCHEMA = pa.schema([
    ("ticket_id", pa.int64()), ("sub", pa.int64()), ("account", pa.int64()),
    ("reason", pa.string()), ("incident_id", pa.int64()), ("experienced", pa.float64()),
    ("opened", pa.float64()), ("closed", pa.float64()),
])
CHURN_SCHEMA = pa.schema([
    ("sub", pa.int64()), ("account", pa.int64()), ("offer", pa.string()),
    ("notice", pa.float64()), ("leaves", pa.float64()), ("outage_h", pa.float64()),
    ("contacts", pa.int64()), ("monthly_prob", pa.float64()),
])


class Care:
    def __init__(self, sim: Sim, spec: CareSpec, subs: SubscriberBase,
                 boundaries: Sequence[float] | npt.NDArray[np.float64],
                 active_from: npt.NDArray[np.float64] | None = None,
                 group: npt.NDArray[np.int64] | None = None,
                 prepaid: npt.NDArray[np.bool_] | None = None,
                 on_contacts: Callable[[I64, I64, int, int, float, npt.NDArray[np.float64]],
                                       None] | None = None) -> None:
        self.sim, self.spec, self.subs = sim, spec, subs
        self.B = np.atleast_2d(np.asarray(boundaries, dtype=np.float64))  # per cycle group
        self.group = group if group is not None else np.zeros(subs.count, dtype=np.int64)
        self.active_from = (active_from if active_from is not None
                            else np.full(subs.count, -np.inf))
        # notice → cancel orders (the lines, and when each leaves)
        self.on_churn: Callable[[I64, npt.NDArray[np.float64]], None] | None = None
        self.on_contacts = on_contacts  # (ids, subs, reason, incident, experienced, opened)
        self.rng = sim.rng.stream("bss.care")
        # background contacts and churn on streams of their own: switching either on or off
        # leaves every other customer's draws where they were
        self.account_rng = sim.rng.stream("bss.care.account")
        self.churn_rng = sim.rng.stream("bss.care.churn")
        base = spec.churn_base_monthly
        if isinstance(base, dict):
            on_prepaid = prepaid if prepaid is not None else np.zeros(subs.count, dtype=bool)
            self.churn_base = np.where(on_prepaid, base.get("prepaid", 0.0),
                                       base.get("postpaid", 0.0))
        else:
            self.churn_base = np.full(subs.count, float(base))
        self.on_cell: dict[str, I64] = {}
        order = np.argsort(subs.cell, kind="stable")
        cuts = np.flatnonzero(np.diff(subs.cell[order])) + 1
        for group in np.split(order, cuts):
            if group.size:
                self.on_cell[subs.cells[subs.cell[group[0]]]] = group.astype(np.int64)
        self.outage_h = np.zeros(subs.count)
        self.planned: dict[str, list[tuple[float, float]]] = {}  # announced maintenance
        self.contacts = np.zeros(subs.count, dtype=np.int64)
        self.leaves = np.full(subs.count, np.inf)  # end of contract for those who gave notice
        self.drops_day = -1
        self.drops = np.zeros(subs.count, dtype=np.int64)
        self.counts = dict.fromkeys(("contacts", *REASONS), 0) | {"churned": 0}
        self._ids = itertools.count(1)
        self.tickets = sim.records.buffer("care_tickets", CARE_SCHEMA)
        self.churn = sim.records.buffer("churn", CHURN_SCHEMA)
        if self.churn_base.any() or spec.churn_per_outage_hour or spec.churn_per_contact:
            sim.env.process(self._daily_churn())
        if spec.account_contacts_monthly > 0:
            sim.env.process(self._account_contacts())

    # --- contacts -----------------------------------------------------------------------------

    def _contact(self, sub: I64, reason: int, incident: int, experienced: float,
                 opened: npt.NDArray[np.float64] | None = None) -> None:
        if sub.size == 0:
            return
        n = sub.size
        rng = self.account_rng if reason == ACCOUNT else self.rng
        if opened is None:
            opened = experienced + rng.exponential(max(self.spec.contact_delay_mean, 1e-9), n)
        closed = opened + rng.exponential(self.spec.handling_min * 60.0, n)
        ids = np.fromiter(itertools.islice(self._ids, n), dtype=np.int64, count=n)
        self.tickets.extend({
            "ticket_id": ids, "sub": sub, "account": self.subs.account[sub].astype(np.int64),
            "reason": labels(np.full(n, reason), REASONS),
            "incident_id": np.full(n, incident, dtype=np.int64),
            "experienced": np.full(n, experienced), "opened": opened, "closed": closed})
        np.add.at(self.contacts, sub, 1)
        self.counts["contacts"] += n
        if self.on_contacts is not None:
            self.on_contacts(ids, sub, reason, incident, experienced, opened)
        self.counts[REASONS[reason]] += n

    def on_maintenance(self, notice: PlannedMaintenanceNotice) -> None:
        for cell in notice.cells:
            self.planned.setdefault(cell, []).append((notice.start, notice.end))

    def on_outage(self, report: ServiceOutageReport) -> None:
        """Lines on the cell went through the outage the OSS measured (less what they were
        told of in advance)."""
        subs = self.on_cell.get(report.cell)
        if subs is None:
            return
        subs = subs[(self.leaves[subs] > report.start) & (self.active_from[subs] < report.end)]
        told = merged_seconds(overlap([(report.start, report.end)],
                                      self.planned.get(report.cell, [])),
                              report.start, report.end)
        hours = max(report.end - report.start - told, 0.0) / 3600.0
        self.outage_h[subs] += hours
        p = 1.0 - np.exp(-self.spec.outage_contact_rate_per_h * hours)
        calls = subs[self.rng.random(subs.size) < p]
        self._contact(calls, OUTAGE, report.incident_id, report.end)

    def on_records(self, sub: I64, cause: npt.NDArray[np.integer],
                   start: npt.NDArray[np.float64]) -> None:
        """Rated records: count dropped calls per line and day."""
        dropped = cause == ABNORMAL_RELEASE
        if not dropped.any():
            return
        day = int(self.sim.now // DAY)
        if day != self.drops_day:
            self.drops[:] = 0
            self.drops_day = day
        s = sub[dropped]
        before = self.drops[s].copy()
        np.add.at(self.drops, s, 1)
        crossed = np.unique(s[(before < self.spec.drop_threshold)
                              & (self.drops[s] >= self.spec.drop_threshold)])
        calls = crossed[self.rng.random(crossed.size) < self.spec.drop_contact_prob]
        self._contact(calls, DROPS, 0, self.sim.now)

    def on_denied(self, sub: I64) -> None:
        """Prepaid lines whose sessions were denied because the OCS was down."""
        subs = np.unique(sub)
        calls = subs[self.rng.random(subs.size) < self.spec.denied_contact_prob]
        self._contact(calls, DENIED, 0, self.sim.now)

    def _account_contacts(self) -> Generator[simpy.Event, None, None]:
        """At the start of each day (or of the run's last, shorter one), the contacts about
        bills and accounts that day will bring, at times spread over it."""
        while self.sim.now < self.sim.horizon:
            day_start = self.sim.now
            length = min(DAY, self.sim.horizon - day_start)
            active = np.flatnonzero((self.leaves > day_start)
                                    & (self.active_from <= day_start))
            rate = self.spec.account_contacts_monthly * length / (30.44 * DAY)
            k = self.account_rng.poisson(rate, active.size)
            sub = np.repeat(active, k).astype(np.int64)
            if sub.size:
                opened = np.sort(day_start + self.account_rng.random(sub.size) * length)
                self._contact(sub, ACCOUNT, 0, day_start, opened)
            yield self.sim.env.timeout(length)

    # --- churn --------------------------------------------------------------------------------

    def _daily_churn(self) -> Generator[simpy.Event, None, None]:
        """At the start of each day (or of the run's last, shorter one): who gives notice in
        it, from what the line went through so far."""
        while self.sim.now < self.sim.horizon:
            length = min(DAY, self.sim.horizon - self.sim.now)
            self.decide_churn(length / DAY)
            yield self.sim.env.timeout(length)

    def decide_churn(self, days: float = 1.0) -> None:
        s = self.spec
        monthly = np.clip(self.churn_base + s.churn_per_outage_hour * self.outage_h
                          + s.churn_per_contact * self.contacts, 0.0, 1.0)
        daily = 1.0 - (1.0 - monthly) ** (days / 30.44)
        staying = np.isinf(self.leaves) & (self.active_from <= self.sim.now)
        go = np.flatnonzero(staying & (self.churn_rng.random(self.subs.count) < daily))
        if go.size == 0:
            return
        leaves = np.empty(go.size)  # the end of the line's current bill cycle
        g = self.group[go]
        for grp in np.unique(g):
            b = self.B[grp]
            k = int(np.searchsorted(b, self.sim.now, side="right"))
            leaves[g == grp] = b[min(k, b.size - 1)]
        self.leaves[go] = leaves
        self.counts["churned"] += int(go.size)
        self.churn.extend({
            "sub": go.astype(np.int64), "account": self.subs.account[go].astype(np.int64),
            "offer": labels(self.subs.offer[go], self.subs.offers),
            "notice": np.full(go.size, self.sim.now), "leaves": leaves,
            "outage_h": self.outage_h[go], "contacts": self.contacts[go],
            "monthly_prob": monthly[go]})
        if self.on_churn is not None:
            self.on_churn(go.astype(np.int64), leaves)
