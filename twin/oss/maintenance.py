"""Planned maintenance: announced windows that silence alarms, and the notice to the BSS.

Change management announces each window ahead of the work (:class:`MaintenanceWindow`).
The OSS works out from its own inventory what the work will touch — the targets, the links
ending on them, and everything cut off from the core behind them (their shadow) — and tells
the BSS which cells will be out (:class:`PlannedMaintenanceNotice`), so enterprise SLAs can
exclude the announced outage and care expects no complaints about it.

While a window is open, a new alarm on a touched object is kept in the alarm list, flagged
with the window (``maintenance``), but not correlated: no incident, no ticket — the NOC's
"maintenance mode". Clears still close such alarms, and measured outages are still reported
(the BSS decides what the contract excludes). At the window's end plus ``grace`` (for clears
in flight), alarms of the window still raised are released to correlation: the work overran,
and from then on it is a real outage, ticketed like any other — the ticket is held, since the
change owner, not a field crew, finishes the work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from twin.kernel import Sim
from twin.messages import MaintenanceWindow, PlannedMaintenanceNotice
from twin.oss.alarms import Alarm
from twin.oss.inventory import Inventory
from twin.scenario.schema import MaintenanceSpec

WINDOWS_SCHEMA = pa.schema([
    ("window_id", pa.int64()), ("targets", pa.string()), ("announced", pa.float64()),
    ("start", pa.float64()), ("end", pa.float64()), ("objects", pa.int64()),
    ("cells", pa.int64()), ("alarms_suppressed", pa.int64()),
    ("alarms_overrun", pa.int64()),
])


@dataclass
class Window:
    id: int
    targets: tuple[str, ...]
    start: float
    end: float
    announced: float
    objects: frozenset[str]
    cells: tuple[str, ...]
    suppressed: list[Alarm] = field(default_factory=list)
    overrun: list[Alarm] = field(default_factory=list)
    released: bool = False


class MaintenanceCalendar:
    """The windows the OSS was told about, and what they suppress."""

    def __init__(self, sim: Sim, spec: MaintenanceSpec, release: Callable[[Alarm], None],
                 publish: Callable[[Any], None]) -> None:
        self.sim, self.spec, self.release, self.publish = sim, spec, release, publish
        self.windows: list[Window] = []

    def announce(self, msg: MaintenanceWindow, inv: Inventory | None) -> None:
        objects: set[str] = set(msg.targets)
        if inv is not None:
            for target in msg.targets:
                objects |= inv.shadow(target)
                objects |= {lid for lid, link in inv.links.items() if target in (link.a, link.b)}
        cells = tuple(sorted(o for o in objects if inv is not None and inv.is_cell(o)))
        w = Window(msg.window_id, msg.targets, msg.start, msg.end, msg.announced,
                   frozenset(objects), cells)
        self.windows.append(w)
        self.publish(PlannedMaintenanceNotice(w.id, cells, w.start, w.end, self.sim.now))
        self.sim.env.process(self._close(w))

    def covering(self, alarm: Alarm) -> Window | None:
        """The open window whose work explains a new alarm (by its event time), if any."""
        t = alarm.note.event_time
        for w in self.windows:
            if w.start <= t < w.end and (alarm.obj in w.objects
                                         or alarm.note.resource in w.objects):
                return w
        return None

    def suppress(self, alarm: Alarm) -> bool:
        """Keep ``alarm`` out of correlation if an open window covers it."""
        w = self.covering(alarm)
        if w is None:
            return False
        alarm.maintenance = w.id
        w.suppressed.append(alarm)
        return True

    def _close(self, w: Window) -> Any:
        yield self.sim.env.timeout(max(0.0, w.end + self.spec.grace - self.sim.now))
        w.released = True
        for alarm in w.suppressed:
            if alarm.cleared is None and alarm.up:  # the work overran its window
                w.overrun.append(alarm)
                self.release(alarm)

    def overrunning(self, obj: str) -> bool:
        """``obj`` is a target of a window whose work overran and is still going on."""
        return any(w.released and obj in w.targets and any(
            a.obj == obj and a.cleared is None for a in w.overrun) for w in self.windows)

    @property
    def alarms_suppressed(self) -> int:
        return sum(len(w.suppressed) for w in self.windows)

    @property
    def overruns(self) -> int:
        return sum(bool(w.overrun) for w in self.windows)

    def write(self) -> None:
        buf = self.sim.records.buffer("maintenance_windows", WINDOWS_SCHEMA)
        for w in self.windows:
            buf.append(window_id=w.id, targets=",".join(w.targets), announced=w.announced,
                       start=w.start, end=w.end, objects=len(w.objects), cells=len(w.cells),
                       alarms_suppressed=len(w.suppressed), alarms_overrun=len(w.overrun))
