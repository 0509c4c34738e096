"""Field crews: who they are, when they work, what they can fix, how far they drive.

A crew belongs to a team (``oss.crews.teams``; by default ``crews.count`` crews, or
``crews.regions``, with every skill, around the clock). It serves its region (``*``: every
region), has skills (``radio`` for cells, ``transmission`` for routers and links, ``core``
for core network functions, ``power`` for a problem the OSS only knows from power alarms),
works its shifts (none: around the clock) and, on call from home, needs ``call_out_min``
before it sets out. With ``crews.travel: distance`` every job starts at the crew's depot
(where it picks up its parts): travel = road distance / speed + overhead, the road distance
being the straight one times ``road_factor`` (about 1.3 on real road networks).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from twin.kernel.calendar import Calendar
from twin.oss.correlation import Incident
from twin.oss.inventory import Inventory
from twin.scenario.schema import SHIFT_DAYS, CrewSpec, ShiftSpec, Skill

ANY_REGION = "*"
CORE_FUNCTION_TYPES = frozenset({"msc", "pgw", "hss", "dns", "ocs", "cdf"})
DAY = 86_400.0


@dataclass
class Crew:
    id: int
    region: str
    skills: frozenset[str] = frozenset({"radio", "transmission", "power", "core"})
    shifts: tuple[ShiftSpec, ...] = ()
    call_out_s: float = 0.0
    base: tuple[float, float] | None = None
    busy: bool = False
    busy_s: float = 0.0

    def on_duty(self, t: float, cal: Calendar) -> bool:
        return not self.shifts or any(_in_shift(s, t, cal) for s in self.shifts)

    def duty_s(self, horizon: float, cal: Calendar) -> float:
        """Seconds on duty in [0, horizon)."""
        if not self.shifts:
            return horizon
        return sum(min(e, horizon) - max(s, 0.0) for s, e in _duty_intervals(
            self.shifts, horizon, cal) if min(e, horizon) > max(s, 0.0))

    def shift_starts(self, horizon: float, cal: Calendar) -> list[float]:
        return sorted({s for s, _ in _duty_intervals(self.shifts, horizon, cal)
                       if 0.0 <= s < horizon})


def _in_shift(s: ShiftSpec, t: float, cal: Calendar) -> bool:
    lo, hi = s.hours
    h = float(cal.hour_of_day(t))
    wd = SHIFT_DAYS[cal.weekday(t)]
    if lo < hi:
        return wd in s.days and lo <= h < hi
    yesterday = SHIFT_DAYS[(cal.weekday(t) - 1) % 7]
    return (wd in s.days and h >= lo) or (yesterday in s.days and h < hi)


def _duty_intervals(shifts: tuple[ShiftSpec, ...], horizon: float,
                    cal: Calendar) -> list[tuple[float, float]]:
    """Every shift instance touching [0, horizon), merged where they overlap."""
    midnight = -float(cal.hour_of_day(0.0)) * 3600.0  # the first day's 00:00
    out: list[tuple[float, float]] = []
    day0 = midnight - DAY
    for k in range(int((horizon - day0) // DAY) + 2):
        d = day0 + k * DAY
        wd = SHIFT_DAYS[cal.weekday(d + 1.0)]
        for shift in shifts:
            if wd not in shift.days:
                continue
            lo, hi = shift.hours
            start, end = d + lo * 3600.0, d + hi * 3600.0 + (DAY if hi <= lo else 0.0)
            out.append((start, end))
    merged: list[tuple[float, float]] = []
    for s, e in sorted(out):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def build_crews(spec: CrewSpec) -> list[Crew]:
    crews: list[Crew] = []
    if spec.teams:
        for team in spec.teams:
            for _ in range(team.count):
                crews.append(Crew(len(crews) + 1, team.region, frozenset(team.skills),
                                  tuple(team.shifts), team.call_out_min * 60.0, team.base))
        return crews
    regions = spec.regions or {ANY_REGION: spec.count}
    return [Crew(i + 1, r) for i, r in enumerate(r for r, n in regions.items()
                                                  for _ in range(n))]


def skill_of(inc: Incident, inv: Inventory | None) -> Skill:
    """The skill an incident's repair needs, from its root's type in the inventory."""
    if inc.alarms and all(a.note.alarm_type == "environmentalAlarm" for a in inc.alarms):
        return "power"
    if inv is None:
        return "transmission"
    el = inv.elements.get(inc.root)
    if el is None:
        return "transmission"  # a link (or a root the inventory lacks)
    if el.type == "cell":
        return "radio"
    return "core" if el.type in CORE_FUNCTION_TYPES else "transmission"


def location_of(target: str, inv: Inventory | None) -> tuple[float, float] | None:
    """An element's site position; a link's midpoint; None when unknown."""
    if inv is None:
        return None
    el = inv.elements.get(target)
    if el is not None:
        return el.location
    link = inv.links.get(target)
    if link is None:
        return None
    ends = [inv.elements[x].location for x in (link.a, link.b) if x in inv.elements]
    pts = [p for p in ends if p is not None]
    if not pts:
        return None
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


def region_centre(region: str, inv: Inventory | None) -> tuple[float, float] | None:
    """The centre of a region's known site positions (every region's, for ``*``)."""
    if inv is None:
        return None
    pts = {(e.site, e.location) for e in inv.elements.values()
           if e.location is not None and (region == ANY_REGION or e.region == region)}
    if not pts:
        return None
    return (sum(p[0] for _, p in pts) / len(pts), sum(p[1] for _, p in pts) / len(pts))


def drive_s(spec: CrewSpec, a: tuple[float, float], b: tuple[float, float]) -> float:
    km = math.hypot(a[0] - b[0], a[1] - b[1]) * spec.road_factor
    return km / spec.speed_kmh * 3600.0 + spec.travel_overhead_min * 60.0
