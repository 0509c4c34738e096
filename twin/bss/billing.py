"""Bill runs: recurring, one-time, discount, usage, SLA credit and tax lines into invoices.

Bill cycles run from the account's bill-cycle day to the same day next month. A bill run
for a cycle happens ``cutoff`` after the cycle ends, so the usage of the cycle's last
interval is in. At the end of the run every cycle not yet billed is billed for the part the
run covers (recurring fees are prorated to that part).

Usage rated after its cycle was billed is *late*: if it arrives within ``late_window`` of
that cycle's bill run it goes on the next open bill; older late usage is written off —
mediation rejects it before rating (``write_off_before``), a real leakage mechanism: billing
platforms that recompute late usage only for a limited past silently drop the rest.

A bill run makes one invoice per account, with lines per subscription: the recurring fee
(prorated), the offer's one-time fee on the first bill of a line activated during the run,
a volume discount on the recurring fee for accounts with enough lines of the offer, usage
per kind, the SLA credit (see :mod:`twin.bss.sla`), and one tax line per invoice (VAT on
the net amount). All amounts are integer minor units; prorating and percentages round half
up.
"""

from __future__ import annotations

import itertools
from collections.abc import Generator, Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import simpy

from twin.bss.catalog import PriceTable
from twin.bss.lines import Lines, Segments
from twin.bss.money import percent_of, prorate, round_div
from twin.bss.rating import bill_cycles
from twin.bss.sla import SlaCredits, credit_pct, merged_seconds
from twin.kernel import Calendar, Sim, labels
from twin.kernel.compiled import int64s, kernel
from twin.messages import ServiceOutageReport, SubscriberBase
from twin.scenario.schema import BssSpec

__all__ = ["LINE_TYPES", "Billing", "credit_pct", "cycle_boundaries", "merged_seconds",
           "percent_of", "prorate", "round_div"]

I64 = npt.NDArray[np.int64]

INVOICE_SCHEMA = pa.schema([
    ("invoice_id", pa.int64()), ("account", pa.int64()), ("account_type", pa.string()),
    ("cycle_start", pa.timestamp("s", tz="UTC")), ("cycle_end", pa.timestamp("s", tz="UTC")),
    ("billed_from", pa.float64()), ("billed_to", pa.float64()), ("bill_run", pa.float64()),
    ("recurring_minor", pa.int64()), ("one_time_minor", pa.int64()),
    ("discount_minor", pa.int64()), ("usage_minor", pa.int64()),
    ("sla_credit_minor", pa.int64()), ("net_minor", pa.int64()), ("tax_minor", pa.int64()),
    ("total_minor", pa.int64()), ("currency", pa.string()),
    ("bill_cycle_day", pa.int64()), ("region", pa.string()), ("bill_cycle", pa.int64()),
])
LINE_SCHEMA = pa.schema([
    ("invoice_id", pa.int64()), ("account", pa.int64()), ("sub", pa.int64()),
    ("offer", pa.string()), ("line_type", pa.string()), ("amount_minor", pa.int64()),
    ("period_from", pa.float64()), ("period_to", pa.float64()),
])
LINE_TYPES = ("recurring", "one_time", "discount", "usage_voice", "usage_data", "usage_sms",
              "sla_credit", "tax")
USAGE_LINES = ("usage_voice", "usage_data", "usage_sms")
TAX = LINE_TYPES.index("tax")


def cycle_boundaries(cal: Calendar, day: int, horizon: float) -> list[float]:
    """Bill-cycle boundaries from the last one at or before the start to the first at or
    after the horizon."""
    s = cal.start
    y, m = s.year, s.month
    if datetime(y, m, day, tzinfo=s.tzinfo) > s:
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    out: list[float] = []
    while True:
        b = cal.seconds(datetime(y, m, day, tzinfo=s.tzinfo))
        out.append(b)
        if b >= horizon:
            return out
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def cycle_table(cal: Calendar, days: Sequence[int], horizon: float) -> npt.NDArray[np.float64]:
    """Cycle boundaries per bill cycle day (one row per group), padded at the end with
    zero-length cycles to the longest row."""
    rows = [cycle_boundaries(cal, d, horizon) for d in days]
    width = max(len(r) for r in rows)
    return np.array([r + [r[-1]] * (width - len(r)) for r in rows], dtype=np.float64)


def cycle_groups(spec: BssSpec, subs: SubscriberBase,
                 rng: np.random.Generator) -> tuple[list[int], npt.NDArray[np.int64]]:
    """The bill cycle days, and each line's group: its account's, drawn by the shares of
    ``bill_cycle_days`` (every account on ``bill_cycle_day`` when it is empty)."""
    if not spec.bill_cycle_days:
        return [spec.bill_cycle_day], np.zeros(subs.count, dtype=np.int64)
    days = sorted(spec.bill_cycle_days)
    share = np.array([spec.bill_cycle_days[d] for d in days])
    acc_group = rng.choice(len(days), size=int(subs.account.max()) + 1, p=share / share.sum())
    return days, acc_group[subs.account].astype(np.int64)


def _post_rows(cycle: I64, sub: I64, kind: I64, charge: I64, group: I64, billed: I64,
               n_real: I64, n_subs: int, usage: I64, posted: I64,
               elsewhere: npt.NDArray[np.bool_]) -> tuple[int, int, int]:
    """Add each charge to ``usage`` (cycle, line, kind, flat) of its cycle, or of the open
    bill when its own cycle was billed (late: counted, and how much, returned, then a
    number of no meaning); the cycle each went on into ``posted`` (-1 for the rows
    ``elsewhere`` marks: not posted; empty: none)."""
    late, late_minor = 0, 0
    # first every row's line and total read: independent loads the memory serves together,
    # so the loop below finds them in the cache (a miss or two a row otherwise)
    warm = 0
    for i in range(sub.size):
        if not (elsewhere.size and elsewhere[i]):
            warm += (usage[(cycle[i] * n_subs + sub[i]) * 3 + kind[i]] > 0) + group[sub[i]]
    for i in range(sub.size):
        if elsewhere.size and elsewhere[i]:
            posted[i] = -1
            continue
        s, k = sub[i], cycle[i]
        g = group[s]
        if k < billed[g]:
            late += 1
            late_minor += charge[i]
            k = max(k, min(billed[g], n_real[g] - 1))
        usage[(k * n_subs + s) * 3 + kind[i]] += charge[i]
        posted[i] = k
    return late, late_minor, warm


_post = kernel(_post_rows)


class Billing:
    """Bill runs per cycle group: each account bills on its group's cycle day; cycle ``k``
    of a line is the ``k``-th of its group (``B[group, k]`` to ``B[group, k + 1]``)."""

    def __init__(self, sim: Sim, spec: BssSpec, subs: SubscriberBase, prices: PriceTable,
                 account_type: npt.NDArray[np.object_], new_lines: npt.NDArray[np.bool_],
                 cutoff_s: float = 3600.0, *,
                 leaves: npt.NDArray[np.float64],
                 lines: Lines,
                 groups: tuple[list[int], npt.NDArray[np.int64]]) -> None:
        """``leaves`` when each line leaves (inf: never), ``lines`` the product inventory,
        ``groups`` the bill cycle days and each line's group (:func:`cycle_groups`): the
        business wires them, shared with care, orders and rating."""
        self.sim, self.spec, self.subs, self.prices = sim, spec, subs, prices
        self.inventory = lines
        self.account_type = account_type
        self.leaves = leaves
        self.days, self.group = groups
        self.B = cycle_table(sim.calendar, self.days, sim.horizon)
        self.n_cycles = self.B.shape[1] - 1
        # real (non-padded) cycles per group
        self.n_real = (np.diff(self.B, axis=1) > 0).sum(axis=1).astype(np.int64)
        self.usage = np.zeros((self.n_cycles, subs.count, 3), dtype=np.int64)
        self.bill_time: list[list[float]] = [[] for _ in self.days]
        self.late_records = 0
        self.late_minor = 0
        # one-time fee owed per line, billed on the first bill run after its activation
        self.one_time_due: I64 = np.where(np.asarray(new_lines, dtype=bool),
                                          prices.one_time[subs.offer], 0).astype(np.int64)
        self.sla = SlaCredits(sim, subs, [s.sla for s in prices.specs], self.B, self.group)
        self._invoice_ids = itertools.count(1)
        self.invoices = sim.records.buffer("invoices", INVOICE_SCHEMA)
        self.lines = sim.records.buffer("invoice_lines", LINE_SCHEMA)
        self._recurring: dict[int, I64] = {}
        self.totals = dict(invoices=0, billed_minor=0, recurring_minor=0, usage_minor=0,
                           sla_credits_minor=0, one_time_minor=0, discounts_minor=0,
                           net_billed_minor=0, tax_minor=0, recurring_potential_minor=0)
        acc = subs.account.astype(np.int64)
        first = np.full(int(acc.max()) + 1, -1)
        first[acc[::-1]] = np.arange(acc.size)[::-1]
        self.account_region = subs.region_of(np.maximum(first, 0))  # its first line's cell's
        for g in range(len(self.days)):
            for k in range(self.n_cycles):
                at = self.B[g, k + 1] + cutoff_s
                if self.B[g, k + 1] > self.B[g, k] and at < sim.horizon:
                    sim.env.process(self._bill_at(k, at, g))

    @property
    def billed(self) -> I64:
        """Cycles billed so far, per group."""
        return np.array([len(t) for t in self.bill_time], dtype=np.int64)

    @property
    def first_unbilled(self) -> int:
        return int(self.billed.min())

    @property
    def late_credit_minor(self) -> int:
        return self.sla.late_minor

    def recurring_base(self, k: int) -> I64:
        """Each line's recurring charge billed for its cycle ``k`` (the SLA credit base)."""
        return self._recurring.get(k, np.zeros(self.subs.count, dtype=np.int64))

    def write_off_before(self) -> float | npt.NDArray[np.float64]:
        """Usage starting before this instant is too late to bill: its cycle was billed more
        than ``late_window`` ago. One instant, or one per line with several cycle groups."""
        now, window = self.sim.now, self.spec.late_window
        per_group = np.full(len(self.days), -np.inf)
        for g, times in enumerate(self.bill_time):
            closed = [k for k, t in enumerate(times) if now - t > window]
            if closed:
                per_group[g] = self.B[g, closed[-1] + 1]
        if len(self.days) == 1:
            return float(per_group[0])
        out: npt.NDArray[np.float64] = per_group[self.group]
        return out

    def cycle_of(self, sub: I64, start: npt.NDArray[np.float64]) -> I64:
        return bill_cycles(self.B, self.group, start, sub)

    def add_usage(self, sub: I64, kind: npt.NDArray[np.integer], start: npt.NDArray[np.float64],
                  charge: I64) -> None:
        self.add_usage_in(self.cycle_of(sub, np.asarray(start)), sub, kind, charge)

    def fee_due(self, sub: int) -> None:
        """A line was activated: its offer's one-time fee goes on its first bill."""
        self.one_time_due[sub] = self.prices.one_time[self.inventory.current[sub]]

    def add_usage_in(self, cycle: I64, sub: I64, kind: npt.NDArray[np.integer],
                     charge: I64, elsewhere: npt.NDArray[np.bool_] | None = None) -> I64:
        """Rated charges of ``cycle``; those of a billed cycle go on the next open bill.
        Returns the cycle each charge was posted to (its bill; -1 for the rows ``elsewhere``
        marks, charged elsewhere and not posted)."""
        posted = np.empty(np.size(sub), dtype=np.int64)
        skip = (np.empty(0, dtype=bool) if elsewhere is None
                else np.ascontiguousarray(elsewhere, dtype=bool))
        late, late_minor, _ = _post(int64s(cycle), int64s(sub), int64s(kind), int64s(charge),
                                    int64s(self.group), self.billed, self.n_real,
                                    self.subs.count, self.usage.reshape(-1), posted, skip)
        self.late_records += int(late)
        self.late_minor += int(late_minor)
        return posted

    def on_outage(self, report: ServiceOutageReport) -> None:
        self.sla.on_outage(report, self.billed, self.recurring_base)

    def _bill_at(self, k: int, at: float, g: int) -> Generator[simpy.Event, None, None]:
        yield self.sim.env.timeout(at - self.sim.now)
        self.bill(k, g)

    def final_bill_run(self) -> None:
        for g in range(len(self.days)):
            for k in range(len(self.bill_time[g]), int(self.n_real[g])):
                self.bill(k, g)
        self.sla.write()

    def _recurring_of(self, lo: float, hi: float, cycle_s: float,
                      leaves: npt.NDArray[np.float64] | None) -> Segments:
        """The recurring charges of ``[lo, hi)``, per line and offer (:mod:`twin.bss.lines`)."""
        return self.inventory.recurring(self.prices.recurring, lo, hi, cycle_s, leaves)

    def _discount_pct(self, offer: I64, active: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
        """Volume discounts: accounts with at least ``min_lines`` active lines of an offer."""
        prices, n_off = self.prices, len(self.prices.offers)
        acc = self.subs.account.astype(np.int64)
        key = acc * n_off + offer
        lines_of_offer = np.bincount(key[active], minlength=(int(acc.max()) + 1) * n_off)
        enough = lines_of_offer[key] >= np.maximum(prices.discount_min_lines[offer], 1)
        out: npt.NDArray[np.float64] = prices.discount_pct[offer] * enough
        return out

    def bill(self, k: int, g: int) -> None:
        """The bill run of cycle ``k`` of group ``g``: its accounts' invoices."""
        subs, prices, cal = self.subs, self.prices, self.sim.calendar
        b0, b1 = float(self.B[g, k]), float(self.B[g, k + 1])
        lo, hi = max(b0, 0.0), min(b1, self.sim.horizon)
        cycle_s = b1 - b0
        mine = self.group == g
        inventory = self.inventory
        offer = inventory.current
        segments = self._recurring_of(lo, hi, cycle_s, self.leaves).only(mine)
        recurring = segments.per_line(subs.count)
        potential = self._recurring_of(lo, hi, cycle_s, None).only(mine).per_line(subs.count)
        self._recurring.setdefault(k, np.zeros(subs.count, dtype=np.int64))[mine] = recurring[mine]
        self.totals["recurring_potential_minor"] += int(potential.sum())
        # the lines active by the end of the billed part; a line activated after it (between
        # the cycle's end and its bill run) pays its one-time fee on its own first bill
        active = (inventory.active_from < hi) & mine
        one_time = np.where(active, self.one_time_due, 0).astype(np.int64)
        self.one_time_due[active] = 0
        discount = percent_of(recurring, self._discount_pct(offer,
                                                                 inventory.active_from < hi))
        credit = self.sla.credits(k, recurring, mine)
        u = np.where(mine[:, None], self.usage[k], 0)
        per_sub = np.stack([recurring, one_time, -discount, u[:, 0], u[:, 1], u[:, 2], -credit])
        n_acc = int(subs.account.max()) + 1
        # accounts of the group with a postpaid line activated by the end of the billed part,
        # and any with something to bill: every invoice line belongs to an invoice (prepaid
        # usage goes to balances; a prepaid account gets an invoice only for fees)
        owes = (per_sub != 0).any(axis=0) | (segments.per_line(subs.count) != 0)
        postpaid = self.account_type[offer] == "postpaid"
        accounts = np.unique(subs.account[(active & postpaid) | (owes & mine)])
        inv_ids = np.zeros(n_acc, dtype=np.int64)
        inv_ids[accounts] = [next(self._invoice_ids) for _ in accounts]
        acc = subs.account.astype(np.int64)

        def per_account(x: I64) -> I64:
            out = np.zeros(n_acc, dtype=np.int64)
            np.add.at(out, acc, x)
            picked: I64 = out[accounts]
            return picked

        net = per_account(per_sub.sum(axis=0))
        tax = percent_of(net, self.spec.catalog.vat_pct)
        seg = np.flatnonzero(segments.amount != 0)  # recurring: a line per offer and period
        s_sub = segments.sub[seg]
        self.lines.extend({"invoice_id": inv_ids[acc[s_sub]], "account": acc[s_sub],
                           "sub": s_sub, "offer": labels(segments.offer[seg], prices.offers),
                           "line_type": labels(np.zeros(seg.size), LINE_TYPES),
                           "amount_minor": segments.amount[seg],
                           "period_from": segments.start[seg], "period_to": segments.end[seg]})
        for row in range(1, per_sub.shape[0]):
            nz = np.flatnonzero(per_sub[row] != 0)
            self.lines.extend({"invoice_id": inv_ids[acc[nz]], "account": acc[nz],
                               "sub": nz.astype(np.int64),
                               "offer": labels(offer[nz], prices.offers),
                               "line_type": labels(np.full(nz.size, row), LINE_TYPES),
                               "amount_minor": per_sub[row][nz],
                               "period_from": np.full(nz.size, lo),
                               "period_to": np.full(nz.size, hi)})
        nz = np.flatnonzero(tax != 0)
        self.lines.extend({"invoice_id": inv_ids[accounts[nz]],
                           "account": accounts[nz].astype(np.int64),
                           "sub": np.full(nz.size, -1, dtype=np.int64),
                           "offer": labels(np.zeros(nz.size), ("",)),
                           "line_type": labels(np.full(nz.size, TAX), LINE_TYPES),
                           "amount_minor": tax[nz], "period_from": np.full(nz.size, lo),
                           "period_to": np.full(nz.size, hi)})
        rec_a, one_a, disc_a = per_account(recurring), per_account(one_time), per_account(discount)
        use_a, cred_a = per_account(u.sum(axis=1)), per_account(credit)
        first_sub = np.full(n_acc, -1)
        first_sub[acc[::-1]] = np.arange(acc.size)[::-1]
        self.invoices.extend({
            "invoice_id": inv_ids[accounts], "account": accounts.astype(np.int64),
            "account_type": self.account_type[offer[first_sub[accounts]]],
            "cycle_start": np.full(accounts.size, cal.at(b0)),
            "cycle_end": np.full(accounts.size, cal.at(b1)),
            "billed_from": np.full(accounts.size, lo), "billed_to": np.full(accounts.size, hi),
            "bill_run": np.full(accounts.size, self.sim.now),
            "recurring_minor": rec_a, "one_time_minor": one_a, "discount_minor": disc_a,
            "usage_minor": use_a, "sla_credit_minor": cred_a, "net_minor": net,
            "tax_minor": tax, "total_minor": net + tax,
            "currency": np.full(accounts.size, self.spec.catalog.currency),
            "bill_cycle_day": np.full(accounts.size, self.days[g], dtype=np.int64),
            "region": self.account_region[accounts],
            "bill_cycle": np.full(accounts.size, k, dtype=np.int64),
        })
        t = self.totals
        t["invoices"] += int(accounts.size)
        t["recurring_minor"] += int(rec_a.sum())
        t["one_time_minor"] += int(one_a.sum())
        t["discounts_minor"] += int(disc_a.sum())
        t["usage_minor"] += int(use_a.sum())
        t["sla_credits_minor"] += int(cred_a.sum())
        t["net_billed_minor"] += int(net.sum())
        t["tax_minor"] += int(tax.sum())
        t["billed_minor"] += int((net + tax).sum())
        self.bill_time[g].append(self.sim.now)
