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

A file may also fail to transfer altogether (``file_late_share``): it stays on the recording
entity until revenue assurance's file-sequence check finds the gap (3GPP TS 32.297 numbers the
files) and it is re-sent, an exponential delay of mean ``file_late_mean`` later. The held file
is delivered, whole, at the first pickup at or after that time, as one more batch; its records
keep their times, so mediation sees them late (and writes off usage of a cycle billed more
than ``bss.late_window`` ago). A held file is kept until re-sent: the ``ne_buffer`` rule does
not apply to it. Files still held at the end of the run are lost to this run (counted in
``lost_records``, like the backlog of an outage that lasts to the end). Hold and delay draws
come from a stream of their own (``bss.collector.late``), made before the cut's draws, which
are made as before for every file, so the cut of the files not held stays where it was.
Records of prepaid sessions charged online are in no file and are never held.
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
        self.late_rng = sim.rng.stream("bss.collector.late")
        # files held back in transfer: (re-sent at, delayed since, not yet counted late, file)
        self.held: list[tuple[float, float, bool, UsageBatch]] = []
        self.files_late = 0
        self.files_cut = 0
        self.lost_records = 0
        self.late_records = 0  # delivered after an outage or a failed transfer held them back
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
            late = self.spec.mode == "streaming" or any(written < b and a < now
                                                        for a, b in self.down)
            if late:
                self.late_records += batch.rows
                self.delayed_s += (now - written) * batch.rows
            self.deliver(self._transfer(batch, now if late else written, not late)
                         if self.spec.mode == "batch" else batch)
        due = [h for h in self.held if h[0] <= now]
        if due:
            self.held = [h for h in self.held if h[0] > now]
            for _, since, new, file in due:  # re-sent after the sequence gap was found
                self.late_records += file.rows if new else 0
                self.delayed_s += (now - since) * file.rows
                self.deliver(file)

    def _transfer(self, batch: UsageBatch, since: float, new: bool) -> UsageBatch:
        """The batch's files as they arrive: each recording entity's file is held back with
        probability ``file_late_share`` (re-sent later, see :meth:`_hold`); every other one is
        cut in transfer with probability ``file_cut_share``, at a uniform point; what follows
        the cut is lost. A held file's delay counts from ``since``; ``new``: its records are
        not counted late yet (an outage's backlog is, already)."""
        share, late = self.spec.file_cut_share, self.spec.file_late_share
        cols = batch.columns
        node = cols.get("node_id")
        if (share <= 0 and late <= 0) or node is None:
            return batch
        node = np.asarray(node)
        if any(np.asarray(v).shape != node.shape for v in cols.values()):
            return batch  # written wrong: intake rejects it whole
        # the recording entities in the batch: a handful of small numbers, counted, not sorted
        small = (node.size > 0 and node.dtype.kind in "iu" and node.min() >= 0
                 and node.max() < 4096)
        nodes = np.flatnonzero(np.bincount(node)) if small else np.unique(node)
        held = self.late_rng.random(nodes.size) < late if late > 0 else np.zeros(nodes.size,
                                                                                  dtype=bool)
        u = self.rng.random(nodes.size) if share > 0 else np.ones(nodes.size)
        cut = (u < share) & ~held
        if not cut.any() and not held.any():
            return batch
        keep = np.ones(node.size, dtype=bool)
        for n, at in zip(nodes[cut], u[cut] / share, strict=True):
            rows = np.flatnonzero(node == n)
            keep[rows[int(rows.size * at):]] = False
        online = (np.asarray(cols["online"]) == ONLINE if "online" in cols
                  else np.zeros(node.size, dtype=bool))
        keep |= online  # a session charged online ends on Diameter, not in a file
        self.files_cut += int(cut.sum())
        self.lost_records += int((~keep).sum())
        if held.any():
            keep &= self._hold(cols, node, nodes[held], online, since, new)
        return UsageBatch({k: np.asarray(v)[keep] for k, v in cols.items()})

    def _hold(self, cols: dict[str, np.ndarray], node: np.ndarray, nodes: np.ndarray,
              online: np.ndarray, since: float, new: bool) -> np.ndarray:
        """Hold the files of ``nodes`` back until they are re-sent; the rows that go on now."""
        go = np.ones(node.size, dtype=bool)
        delays = self.late_rng.exponential(self.spec.file_late_mean, nodes.size)
        for n, delay in zip(nodes, delays, strict=True):
            rows = (node == n) & ~online
            if rows.any():
                self.held.append((self.sim.now + float(delay), since, new,
                                  UsageBatch({k: np.asarray(v)[rows] for k, v in cols.items()})))
                self.files_late += 1
                go &= ~rows
        return go

    def finish(self) -> None:
        """At the horizon: a collector that is up fetches the last files; one still down
        leaves them unread (lost to this run). Files held back in transfer and not yet
        re-sent are lost to this run, too."""
        if not self.is_down(self.sim.now):
            self.collect()
        else:
            self.lost_records += sum(b.rows for _, b in self.pending)
            self.pending = []
        self.lost_records += sum(b.rows for *_, b in self.held)
        self.held = []

    @property
    def summary(self) -> dict[str, Any]:
        return {"mode": self.spec.mode, "lost_records": self.lost_records,
                "files_cut": self.files_cut, "files_late": self.files_late,
                "late_records": self.late_records,
                "mean_delay_s": round(self.delayed_s / self.late_records, 1)
                if self.late_records else 0.0,
                "outages": len(self.down), "pending": int(np.sum([b.rows for _, b in
                                                                  self.pending]))}
