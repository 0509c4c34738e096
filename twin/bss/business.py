"""The business support system: the BSS's handlers, wired to mediation, rating and billing.

It receives CDR batches from the network and measured outages from the OSS; it never reads
ground truth. Rated records go to the ``rated`` table; billing accumulates them per cycle.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from twin.bss.billing import Billing
from twin.bss.catalog import PriceTable, rate
from twin.bss.mediation import Mediation
from twin.kernel import Sim, labels
from twin.messages import ServiceOutageReport, SubscriberBase, UsageBatch
from twin.scenario.schema import BssSpec

RATED_SCHEMA = pa.schema([
    ("record_id", pa.int64()), ("node_id", pa.int64()), ("sub", pa.int64()),
    ("account", pa.int64()), ("offer", pa.string()), ("kind", pa.int8()),
    ("start", pa.float64()), ("duration_s", pa.int64()), ("volume_bytes", pa.int64()),
    ("units", pa.int64()), ("charge_minor", pa.int64()), ("rated_at", pa.float64()),
])
CUSTOMER_SCHEMA = pa.schema([
    ("sub", pa.int64()), ("msisdn", pa.int64()), ("account", pa.int64()),
    ("offer", pa.string()), ("segment", pa.string()), ("account_type", pa.string()),
    ("cell", pa.string()),
])


class BusinessSupport:
    def __init__(self, sim: Sim, spec: BssSpec, subs: SubscriberBase) -> None:
        self.sim = sim
        self.spec = spec
        self.subs = subs
        self.prices = PriceTable.build(spec.catalog, subs.offers)
        self.offer_names = np.array(subs.offers, dtype=object)
        account_type = np.array([s.account_type for s in self.prices.specs], dtype=object)
        self.mediation = Mediation(sim, subs.count)
        self.billing = Billing(sim, spec, subs, self.prices, account_type)
        self.rated = sim.records.buffer("rated", RATED_SCHEMA)
        self.rated_records = 0
        self.rated_minor = 0
        segment = np.array([s.segment for s in self.prices.specs], dtype=object)
        idx = np.arange(subs.count, dtype=np.int64)
        sim.records.buffer("subscriptions", CUSTOMER_SCHEMA).extend({
            "sub": idx, "msisdn": subs.msisdn(idx), "account": subs.account.astype(np.int64),
            "offer": self.offer_names[subs.offer], "segment": segment[subs.offer],
            "account_type": account_type[subs.offer],
            "cell": np.array(subs.cells, dtype=object)[subs.cell],
        })

    def on_usage(self, batch: UsageBatch) -> None:
        c = self.mediation.process(batch)
        if c["record_id"].size == 0:
            return
        offer = self.subs.offer[c["sub"]].astype(np.int64)
        units, charge = rate(self.prices, offer, c["kind"], c["duration_s"], c["volume_bytes"])
        cols = {k: v for k, v in c.items() if k != "cause"}
        self.rated.extend({**cols, "account": self.subs.account[c["sub"]].astype(np.int64),
                           "offer": labels(offer, self.subs.offers), "units": units,
                           "charge_minor": charge,
                           "rated_at": np.full(units.size, self.sim.now)})
        self.rated_records += int(units.size)
        self.rated_minor += int(charge.sum())
        self.billing.add_usage(c["sub"], c["kind"], c["start"], charge)

    def on_outage(self, report: ServiceOutageReport) -> None:
        self.billing.on_outage(report)

    def finish(self) -> None:
        self.billing.final_bill_run()
