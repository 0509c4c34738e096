"""Collection: how CDRs get from the recording entities to mediation, batch or streaming.

The network's recording entities write a batch of records at the end of each traffic
interval (a :class:`UsageBatch`). The collector is the BSS's first adapter:

* **batch** — like a collector fetching CDR files over SFTP: every ``batch_interval`` it picks
  up all files written since the last pickup. The recording entities keep unfetched files for
  ``ne_buffer``; files older than that are overwritten before anyone reads them.
* **streaming** — records are pushed to the collector as they are written (a Kafka topic, a
  Diameter Rf feed). While the collector is down the stream holds records for
  ``stream_buffer`` only; older ones are dropped.

During a collector outage (``collector_outages``) nothing is collected. When it comes back,
the backlog that survived arrives at once — late — and what did not is lost. The collector
cannot read lost records, but it counts them (gaps in file and record sequence numbers, as
3GPP TS 32.297 asks). So a long outage costs a file-based collector lateness and a streaming
one loss: the design question the ``collector_outage`` scenario asks.

In batch mode a file — one recording entity's records of one pickup — is cut in transfer with
probability ``file_cut_share`` (as an element manager's message is, ``malformed_rate``): the
collector reads the records before the cut, at a uniform point of the file, and counts the
rest lost. (A prepaid session charged online ends with its Diameter request, which no file
carries: its record is never cut.) These draws come from a stream of their own
(``bss.collector.transfer``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from twin.kernel import Sim
from twin.messages import ONLINE, UsageBatch
from twin.scenario.schema import MediationSpec


class Collector:
    def __init__(self, sim: Sim, spec: MediationSpec,
                 deliver: Callable[[UsageBatch], None]) -> None:
        self.sim, self.spec, self.deliver = sim, spec, deliver
        self.pending: list[tuple[float, UsageBatch]] = []
        self.down: list[tuple[float, float]] = sorted(
            (o.at, o.at + o.duration) for o in spec.collector_outages)
        self.rng = sim.rng.stream("bss.collector.transfer")
        self.files_cut = 0
        self.lost_records = 0
        self.late_records = 0  # delivered after an outage held them back
        self.delayed_s = 0.0  # total extra delay of those records
        if spec.mode == "batch":
            sim.env.process(self._pickups())
        for _, end in self.down:
            if end < sim.horizon:
                sim.env.process(self._recover_at(end))

    def is_down(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.down)

    def on_batch(self, batch: UsageBatch) -> None:
        """A batch the recording entities wrote now."""
        if batch.rows == 0:
            return
        if self.spec.mode == "streaming" and not self.is_down(self.sim.now):
            self.deliver(batch)
        else:
            self.pending.append((self.sim.now, batch))

    def _pickups(self) -> Generator[simpy.Event, None, None]:
        step = self.spec.batch_interval
        k = 1
        while k * step <= self.sim.horizon:
            yield self.sim.env.timeout(k * step - self.sim.now)
            if not self.is_down(self.sim.now):
                self.collect()
            k += 1

    def _recover_at(self, t: float) -> Generator[simpy.Event, None, None]:
        yield self.sim.env.timeout(t - self.sim.now)
        if self.spec.mode == "streaming" and not self.is_down(self.sim.now):
            self.collect()

    def collect(self) -> None:
        """Deliver what is waiting; what waited longer than the buffer holds is lost."""
        now = self.sim.now
        keep = self.spec.stream_buffer if self.spec.mode == "streaming" else self.spec.ne_buffer
        waiting, self.pending = self.pending, []
        for written, batch in waiting:
            if now - written > keep:
                self.lost_records += batch.rows
                continue
            if self.spec.mode == "streaming" or any(written < b and a < now
                                                    for a, b in self.down):
                self.late_records += batch.rows
                self.delayed_s += (now - written) * batch.rows
            self.deliver(self._transfer(batch) if self.spec.mode == "batch" else batch)

    def _transfer(self, batch: UsageBatch) -> UsageBatch:
        """The batch's files as they arrive: each recording entity's file is cut in transfer
        with probability ``file_cut_share``, at a uniform point; what follows the cut is lost."""
        share = self.spec.file_cut_share
        cols = batch.columns
        node = cols.get("node_id")
        if share <= 0 or node is None:
            return batch
        node = np.asarray(node)
        if any(np.asarray(v).shape != node.shape for v in cols.values()):
            return batch  # written wrong: intake rejects it whole
        nodes = np.unique(node)
        u = self.rng.random(nodes.size)
        if not (u < share).any():
            return batch
        keep = np.ones(node.size, dtype=bool)
        for n, at in zip(nodes[u < share], u[u < share] / share, strict=True):
            rows = np.flatnonzero(node == n)
            keep[rows[int(rows.size * at):]] = False
        if "online" in cols:  # a session charged online ends on Diameter, not in a file
            keep |= np.asarray(cols["online"]) == ONLINE
        self.files_cut += int((u < share).sum())
        self.lost_records += int((~keep).sum())
        return UsageBatch({k: np.asarray(v)[keep] for k, v in cols.items()})

    def finish(self) -> None:
        """At the horizon: a collector that is up fetches the last files; one still down
        leaves them unread (lost to this run)."""
        if not self.is_down(self.sim.now):
            self.collect()
        else:
            self.lost_records += sum(b.rows for _, b in self.pending)
            self.pending = []

    @property
    def summary(self) -> dict[str, Any]:
        return {"mode": self.spec.mode, "lost_records": self.lost_records,
                "files_cut": self.files_cut,
                "late_records": self.late_records,
                "mean_delay_s": round(self.delayed_s / self.late_records, 1)
                if self.late_records else 0.0,
                "outages": len(self.down), "pending": int(np.sum([b.rows for _, b in
                                                                  self.pending]))}
