"""The business support system: the BSS's handlers, wired to mediation, rating and billing.

It receives CDR batches from the network and measured outages from the OSS; it never reads
ground truth. Rated records go to the ``rated`` table; billing accumulates them per cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import simpy

from twin.bss.billing import Billing, cycle_groups, cycle_table
from twin.bss.care import ACCOUNT, DENIED, REASONS, Care
from twin.bss.catalog import PriceTable, quantity
from twin.bss.charging import OnlineCharging
from twin.bss.collection import Collector
from twin.bss.impact import ImpactDesk
from twin.bss.lines import Lines
from twin.bss.mediation import Cols, Mediation
from twin.bss.orders import ProductOrders
from twin.bss.rating import Rater, Rating, TariffClock
from twin.bss.rerating import Rerating
from twin.kernel import Sim, labels, required
from twin.messages import (
    OCS_UNAVAILABLE,
    CreditRelease,
    CreditRequest,
    CustomerTroubleReport,
    ImpactQuery,
    PlannedMaintenanceNotice,
    ServiceOrderUpdate,
    ServiceOutageReport,
    SubscriberBase,
    UsageBatch,
)
from twin.scenario.schema import BssSpec

RATED_SCHEMA = required([
    ("record_id", pa.int64()), ("node_id", pa.int64()), ("sub", pa.int64()),
    ("account", pa.int64()), ("offer", pa.string()), ("kind", pa.int8()),
    ("start", pa.float64()), ("duration_s", pa.int64()), ("volume_bytes", pa.int64()),
    ("period", pa.string()), ("billable", pa.int64()), ("allowance_used", pa.int64()),
    ("chargeable", pa.int64()), ("units", pa.int64()), ("charge_minor", pa.int64()),
    ("state", pa.string()), ("channel", pa.string()), ("rated_at", pa.float64()),
    ("charging_id", pa.int64()), ("parts", pa.int32()), ("bill_cycle", pa.int64()),
])
CUSTOMER_SCHEMA = pa.schema([
    ("sub", pa.int64()), ("msisdn", pa.int64()), ("account", pa.int64()),
    ("offer", pa.string()), ("segment", pa.string()), ("account_type", pa.string()),
    ("cell", pa.string()), ("new_line", pa.bool_()), ("bill_cycle_day", pa.int64()),
    ("region", pa.string()),
])
# the columns of a guided record the BSS reads as it rates it (care reads the cause; the
# ``rated`` table keeps the rest)
RATED_FROM = ("record_id", "node_id", "sub", "kind", "start", "duration_s", "volume_bytes",
              "cause", "charging_id", "parts")
RATED_STATES = ("rated", "rerated")
CHANNELS = ("invoice", "balance")  # postpaid usage goes on invoices, online prepaid on balances


class BusinessSupport:
    def __init__(self, sim: Sim, spec: BssSpec, subs: SubscriberBase,
                 publish: Callable[[Any], None] | None = None) -> None:
        self.sim = sim
        self.publish = publish or sim.bus.publish
        self.spec = spec
        self.subs = subs
        self._accounts = subs.account.astype(np.int64)  # the rated table's account column
        self.prices = PriceTable.build(spec.catalog, subs.offers)
        self.offer_names = np.array(subs.offers, dtype=object)
        account_type = np.array([s.account_type for s in self.prices.specs], dtype=object)
        # lines activated just before the run (new_lines_share, among the existing ones) and
        # lines ordered during it (prospects) pay the one-time fee and may reach guiding late
        n_old = subs.n_existing
        rng = sim.rng.stream("bss.orders")
        new_lines = np.zeros(subs.count, dtype=bool)
        new_lines[:n_old] = rng.random(n_old) < spec.new_lines_share
        delay = rng.exponential(max(spec.mediation.guiding_delay_mean, 1e-9), n_old)
        guidable_from = np.full(subs.count, np.inf)  # prospects: once their order completes
        guidable_from[:n_old] = np.where(
            new_lines[:n_old] & (spec.mediation.guiding_delay_mean > 0), delay, -np.inf)
        self.guiding_rng = sim.rng.stream("bss.orders.guiding")
        self.lines = Lines(subs, sim.calendar)
        self.clock = TariffClock(sim.calendar, spec.catalog.tariff_periods)
        self.ocs = OnlineCharging(sim, spec.ocs, subs, self.prices, self.clock)
        uncharged = self.ocs.prepaid & (not spec.ocs.post_charge_fail_open)
        days, group = cycle_groups(spec, subs, sim.rng.stream("bss.accounts"))
        cycles = cycle_table(sim.calendar, days, sim.horizon)
        self.care = Care(sim, spec.care, subs, cycles, active_from=self.lines.active_from,
                         group=group, prepaid=account_type[subs.offer] == "prepaid",
                         on_contacts=self._forward_contacts)
        self.trouble_reports = 0
        self.mediation = Mediation(sim, subs.count, spec.mediation, guidable_from, uncharged,
                                   leaves=self.care.leaves)
        self.collector = Collector(sim, spec.mediation, self._mediate)
        sim.env.process(self._recycling())
        self.billing = Billing(sim, spec, subs, self.prices, account_type, new_lines,
                               leaves=self.care.leaves, lines=self.lines, groups=(days, group))
        self.orders = ProductOrders(sim, spec.orders, subs, self.lines, self.publish,
                                    self._activated, self.care.leaves)
        self.care.on_churn = self.orders.cancel
        self.rater = self.fresh_rater()
        self.rated = sim.records.buffer("rated", RATED_SCHEMA)
        self.rerating = Rerating(sim, self.prices, spec.tariff_errors, self._rerated)
        self.impact = ImpactDesk(sim, subs, self.prices, self.care.leaves)
        self.rated_records = 0
        self.rated_minor = 0
        self.allowance_used = np.zeros(3, dtype=np.int64)  # seconds, bytes, messages
        segment = np.array([s.segment for s in self.prices.specs], dtype=object)
        idx = np.arange(subs.count, dtype=np.int64)
        sim.records.buffer("subscriptions", CUSTOMER_SCHEMA).extend({
            "sub": idx, "msisdn": subs.msisdn(idx), "account": subs.account.astype(np.int64),
            "offer": self.offer_names[subs.offer], "segment": segment[subs.offer],
            "account_type": account_type[subs.offer],
            "cell": np.array(subs.cells, dtype=object)[subs.cell],
            "new_line": new_lines | (idx >= n_old),  # prospects: lines ordered in the run
            "bill_cycle_day": np.array(days, dtype=np.int64)[group],
            "region": self.billing.account_region[subs.account],
        })

    def on_credit_request(self, req: CreditRequest) -> None:
        """Prepaid sessions asking for quota: the OCS answers at once."""
        answer = self.ocs.on_request(req)
        if not answer.fail_open:  # the network will deny these: customers who could not call
            down = answer.columns["result"] == OCS_UNAVAILABLE
            if down.any():
                self.care.on_denied(np.asarray(req.columns["sub"], dtype=np.int64)[down])
        self.publish(answer)

    def on_credit_release(self, msg: CreditRelease) -> None:
        """Granted sessions that never started: their reservations go back to the balance."""
        self.ocs.counts["released"] += int(self.ocs.release(
            np.asarray(msg.columns["session_id"], dtype=np.int64)).sum())

    def on_usage(self, batch: UsageBatch) -> None:
        """A batch of records the network's recording entities wrote: to the collector."""
        self.collector.on_batch(batch)

    def _mediate(self, batch: UsageBatch) -> None:
        self._rate(self.mediation.process(batch, self.billing.write_off_before(), RATED_FROM))

    def _recycling(self) -> Generator[simpy.Event, None, None]:
        step = self.spec.mediation.recycle_every
        while self.sim.now + step <= self.sim.horizon:
            yield self.sim.env.timeout(step)
            self._rate(self.mediation.recycle(self.billing.write_off_before()))

    def _rate(self, c: Cols) -> None:
        if not c or c["record_id"].size == 0:
            return
        sub = c["sub"].astype(np.int64)
        kind = c["kind"].astype(np.int64)
        offer = self.lines.offer_at(sub, c["start"])
        r = self.rater.rate(sub, offer, kind, c["start"],
                            quantity(kind, c["duration_s"], c["volume_bytes"]),
                            prices=self.rerating.prices_now())
        self.rerating.keep(c, offer, kind, r)
        self.care.on_records(sub, c["cause"], c["start"])
        self.impact.on_rated(sub, c["start"], r.charge)
        self._write_rated(c, sub, offer, r, r.charge, "rated")
        self.rated_records += sub.size
        self.allowance_used += np.bincount(kind, weights=r.covered, minlength=3).astype(np.int64)

    def _rerated(self, c: Cols, r: Rating, delta: npt.NDArray[np.int64]) -> None:
        """A correction's differences: rows in state ``rerated``, on the bill."""
        sub = c["sub"].astype(np.int64)
        self._write_rated(c, sub, self.lines.offer_at(sub, c["start"]), r, delta, "rerated")

    def _write_rated(self, c: Cols, sub: npt.NDArray[np.int64], offer: npt.NDArray[np.int64],
                     r: Rating, charge: npt.NDArray[np.int64], state: str) -> None:
        n = sub.size
        online = self.ocs.prepaid[sub]
        # the bill cycle each goes on; -1: a balance
        posted = self.billing.add_usage_in(r.cycle, sub, c["kind"], charge, elsewhere=online)
        # columns only the table needs are made on the writer's thread (from the arrays
        # given now: the mapping ``c`` is the caller's)
        now, code = self.sim.now, RATED_STATES.index(state)
        account, offers, periods = self._accounts, self.subs.offers, self.prices.periods
        given = {k: c[k] for k in ("record_id", "node_id", "kind", "start", "duration_s",
                                   "volume_bytes")}
        cid, parts = c.get("charging_id", c["record_id"]), c.get("parts")

        def rows() -> dict[str, Any]:  # (arrays of the right type are kept, not copied)
            return {
                **given, "sub": sub, "account": account[sub],
                "offer": labels(offer, offers), "period": labels(r.period, periods),
                "billable": r.billable, "allowance_used": r.covered,
                "chargeable": r.chargeable, "units": r.units, "charge_minor": charge,
                "state": labels(np.full(n, code, dtype=np.int32), RATED_STATES),
                "channel": labels(online, CHANNELS),
                "rated_at": np.full(n, now), "charging_id": np.asarray(cid, dtype=np.int64),
                "parts": (np.zeros(n, dtype=np.int32) if parts is None
                          else np.asarray(parts, dtype=np.int32)),
                "bill_cycle": posted}

        self.rated.extend_later(n, rows)
        self.rated_minor += int(charge.sum())
        if online.any():
            if state == "rated":
                self.ocs.charge(cid[online].astype(np.int64), sub[online], charge[online])
            else:
                self.ocs.adjust(sub[online], charge[online])

    @property
    def misrated_records(self) -> int:
        """Records rated with a wrong price (a scripted tariff error)."""
        return self.rerating.misrated_records

    def fresh_rater(self) -> Rater:
        """A rater with the BSS's catalog and cycles and empty counters (for re-rating the
        ground truth in analysis)."""
        return Rater(self.prices, self.billing.B, self.sim.horizon, self.subs.count, self.clock,
                     line_start=self.lines.bill_from, group=self.billing.group)

    def on_service_order_update(self, update: ServiceOrderUpdate) -> None:
        """The OSS's word on a service order: the product order follows it."""
        self.orders.on_update(update)

    def _activated(self, sub: int) -> None:
        """A new line's order completed: billing starts, the one-time fee is due, and the line
        reaches mediation's guiding table (after the guiding delay, if any)."""
        self.billing.fee_due(sub)
        mean = self.spec.mediation.guiding_delay_mean
        delay = float(self.guiding_rng.exponential(mean)) if mean > 0 else 0.0
        self.mediation.guidable_from[sub] = self.sim.now + delay

    def on_outage(self, report: ServiceOutageReport) -> None:
        self.billing.on_outage(report)
        self.care.on_outage(report)

    def on_maintenance(self, notice: PlannedMaintenanceNotice) -> None:
        """The OSS announced planned work: SLAs and care treat its outage as told."""
        self.billing.sla.on_maintenance(notice)
        self.care.on_maintenance(notice)

    def _forward_contacts(self, ids: npt.NDArray[np.int64], sub: npt.NDArray[np.int64],
                          reason: int, incident: int, experienced: float,
                          opened: npt.NDArray[np.float64]) -> None:
        """Care contacts about the network go to the OSS as trouble reports when opened
        (denials by the online charging system and questions about bills and accounts are
        the BSS's own affair)."""
        if reason in (DENIED, ACCOUNT) or ids.size == 0:
            return
        order = np.argsort(opened, kind="stable")
        cells = self.subs.cells
        reports = [CustomerTroubleReport(
            int(ids[i]), int(sub[i]), int(self.subs.account[sub[i]]),
            cells[int(self.subs.cell[sub[i]])], REASONS[reason], incident, experienced,
            float(opened[i])) for i in order]
        self.sim.env.process(self._send_reports(reports))

    def _send_reports(self, reports: list[CustomerTroubleReport]) -> Generator[
            simpy.Event, None, None]:
        for r in reports:
            if r.opened > self.sim.horizon:
                return
            if r.opened > self.sim.now:
                yield self.sim.env.timeout(r.opened - self.sim.now)
            self.trouble_reports += 1
            self.publish(r)

    def on_impact_query(self, query: ImpactQuery) -> None:
        """The OSS asks what an incident's cells are worth: answered from the BSS's books."""
        self.publish(self.impact.answer(query))

    def finish(self) -> None:
        self.collector.finish()
        # sessions still waiting for parts are assembled from what arrived, then suspense
        self._rate(self.mediation.assemble(self.billing.write_off_before(), flush=True))
        self._rate(self.mediation.recycle(self.billing.write_off_before()))
        self.billing.final_bill_run()
        self.orders.write()
