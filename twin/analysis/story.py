"""The story of each fault: the chain from failure to bill, told from a run's tables.

A trainer's question is "what happened, step by step?". For every fault in the ground truth
this module follows the chain through the tables the layers wrote — the fault (``faults``),
the cells that lost service (``cell_outages``), the raw alarms it caused (``alarm_causes`` ⋈
``alarms_raw``), the OSS incident those alarms were correlated into (``alarms`` →
``incidents``: right or wrong root cause), the trouble ticket, dispatch, the crew on site,
the repair or restart (``fault_ends``), service back, the usage that could not happen
(``usage``), the outage the OSS reported to the BSS (``service_outages``: measured vs true),
customers calling care (``care_tickets``) and the SLA credits on the next bill
(``sla_credits`` ⋈ ``invoices``).

Everything is read with DuckDB straight from the Parquet files, so long runs stay cheap: the
small tables are loaded once, and the usage gaps of every fault come from one pass over
``usage`` (a month of a metro network holds tens of millions of rows) rather than one per fault.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import yaml

COLUMNS = ["fault_id", "t", "layer", "step", "detail"]


@dataclass
class _Run:
    path: Path
    con: duckdb.DuckDBPyConnection
    tables: set[str]

    def df(self, sql: str, *params: Any) -> pd.DataFrame:
        return self.con.execute(sql, list(params)).df()

    def has(self, *names: str) -> bool:
        return all(n in self.tables for n in names)


# read many times, one fault at a time, and small beside ``usage``: held in memory once
SMALL = frozenset({"faults", "fault_ends", "cell_outages", "alarm_causes", "alarms_raw",
                   "alarms", "incidents", "tickets", "service_outages", "care_tickets",
                   "sla_credits", "invoices"})


def _open(run_dir: Path) -> _Run:
    con = duckdb.connect()
    names = set()
    for p in sorted((run_dir / "tables").glob("*.parquet")):
        path = p.as_posix().replace("'", "''")
        what = "TEMP TABLE" if p.stem in SMALL else "VIEW"
        con.execute(f"CREATE {what} \"{p.stem}\" AS SELECT * FROM read_parquet('{path}')")
        names.add(p.stem)
    return _Run(run_dir, con, names)


def duration(s: float) -> str:
    """Seconds as ``1 h 05 min``, ``4 min 10 s`` or ``12 s``."""
    s = max(0.0, float(s))
    if s >= 3600:
        return f"{int(s // 3600)} h {int(s % 3600 // 60):02d} min"
    if s >= 60:
        return f"{int(s // 60)} min {int(s % 60):02d} s"
    return f"{s:.0f} s"


def _list(items: list[str], most: int = 4) -> str:
    head = ", ".join(items[:most])
    return head + (f" and {len(items) - most} more" if len(items) > most else "")


def _money(minor: float, per_major: int, currency: str) -> str:
    return f"{minor / per_major:,.2f} {currency}"


def story(run_dir: str | Path, fault: int | None = None) -> pd.DataFrame:
    """One row per step of every fault's chain (or of ``fault`` only), in time order per
    fault: ``fault_id``, ``t`` (seconds since the start), ``layer`` (network | oss | bss),
    ``step`` and ``detail`` (a sentence)."""
    run = _open(Path(run_dir))
    try:
        return _story(run, fault)
    finally:
        run.con.close()


def _story(run: _Run, only: int | None) -> pd.DataFrame:
    scenario = yaml.safe_load((run.path / "scenario.yaml").read_text())
    start = pd.Timestamp(scenario["start"])
    catalog = (scenario.get("bss") or {}).get("catalog") or {}
    per_major = int(catalog.get("minor_per_major", 100))
    currency = str(catalog.get("currency", ""))
    horizon = float(json.loads((run.path / "summary.json").read_text())["sim_days"]) * 86_400
    faults = run.df("SELECT * FROM faults ORDER BY fault_id")
    if only is not None:
        faults = faults[faults["fault_id"] == only]
        if faults.empty:
            raise KeyError(f"no fault {only} in {run.path}")
    ends = run.df("SELECT * FROM fault_ends").set_index("fault_id")
    gaps = _usage_gaps(run, only)
    outages = run.df("SELECT * FROM cell_outages")
    rows: list[dict[str, Any]] = []

    def add(fid: int, t: float, layer: str, step: str, detail: str) -> None:
        rows.append({"fault_id": fid, "t": float(t), "layer": layer, "step": step,
                     "detail": detail})

    for f in faults.itertuples():
        fid = int(f.fault_id)
        what = f"{str(f.mode).replace('_', ' ')} on {f.target_kind} {f.target} ({f.source})"
        if f.mode == "planned_maintenance" and pd.notna(f.planned_duration):
            what += f", planned for {duration(f.planned_duration)}"
        if bool(getattr(f, "silent", False)):
            what += ", silent: no alarm will say so"
        add(fid, f.start, "network", "fault", what)
        mine = outages[outages["root_fault_id"] == fid]
        if not mine.empty:
            cells = sorted(mine["cell"].unique())
            add(fid, mine["start"].min(), "network", "service lost",
                f"{len(cells)} cell(s) out of service: {_list(cells)}")
        _alarms_and_oss(run, fid, f.target, add)
        if fid in ends.index:
            e = ends.loc[fid]
            how = {"repair": "repaired on site", "restart": "fixed by a remote restart",
                   "self": "ended by itself"}.get(str(e["cleared_by"]), str(e["cleared_by"]))
            add(fid, e["end"], "network", "fault cleared", f"fault {how}")
        else:
            add(fid, horizon, "network", "still failed", "the fault was still active at the "
                "end of the run")
        if not mine.empty:
            back = mine["end"].max()
            add(fid, back, "network", "service restored",
                f"every affected cell back in service after "
                f"{duration(back - mine['start'].min())} "
                f"({(mine['end'] - mine['start']).sum() / 3600:,.1f} cell-hours lost)")
            _usage_gap(gaps, fid, back, add)
        _bss(run, fid, mine, outages, start, per_major, currency, add)
    out = pd.DataFrame(rows, columns=COLUMNS)
    return out.sort_values(["fault_id", "t"], kind="stable").reset_index(drop=True)


def _alarms_and_oss(run: _Run, fid: int, target: str, add: Any) -> None:
    if not run.has("alarm_causes", "alarms_raw"):
        return
    raw = run.df("""
        SELECT r.received, r.ems, r.alarmed_object, r.probable_cause, r.alarm_id
        FROM alarm_causes c JOIN alarms_raw r USING (ems, notification_id)
        WHERE c.fault_id = ? AND r.perceived_severity <> 'cleared'
        ORDER BY r.received""", fid)
    if raw.empty:
        return
    first = raw.iloc[0]
    add(fid, first["received"], "network", "alarms",
        f"{len(raw)} alarm(s) from {_list(sorted(raw['ems'].unique()))}; first "
        f"{first['probable_cause']} on {first['alarmed_object']} ({first['ems']})")
    if not run.has("alarms", "incidents"):
        return
    ids = [int(a) for a in raw["alarm_id"].dropna().unique()]
    if not ids:
        return
    incidents = run.df(f"""
        SELECT * FROM incidents WHERE incident_id IN (
            SELECT DISTINCT incident_id FROM alarms
            WHERE alarm_id IN ({",".join(map(str, ids))}) AND incident_id > 0)
        ORDER BY created""")
    for inc in incidents.itertuples():
        if getattr(inc, "merged_into", 0):
            add(fid, inc.created, "oss", "incident",
                f"incident {inc.incident_id} opened, later merged into {inc.merged_into}")
            continue
        verdict = "correct" if inc.root == target else f"WRONG — the fault is on {target}"
        add(fid, inc.created, "oss", "incident",
            f"incident {inc.incident_id}: {inc.alarms} alarm(s) correlated, root cause "
            f"{inc.root} ({verdict}), {inc.cells_affected} cell(s) in its shadow")
        if pd.notna(getattr(inc, "acknowledged", None)):
            add(fid, inc.acknowledged, "oss", "acknowledged",
                f"incident {inc.incident_id} acknowledged by {inc.ack_user}")
        if run.has("tickets") and int(inc.ticket_id or 0) > 0:
            _ticket(run, fid, int(inc.ticket_id), add)


def _ticket(run: _Run, fid: int, ticket_id: int, add: Any) -> None:
    t = run.df("SELECT * FROM tickets WHERE ticket_id = ?", ticket_id)
    if t.empty:
        return
    k = t.iloc[0]
    add(fid, k["created"], "oss", "ticket",
        f"trouble ticket {ticket_id} opened, priority {k.get('priority_name', k['priority'])}"
        + (f", restore target {duration(k['sla_target_s'])}" if "sla_target_s" in k else ""))
    if pd.notna(k["in_progress"]):
        if int(k.get("restarts", 0) or 0) and not int(k.get("truck_rolls", 0) or 0):
            add(fid, k["in_progress"], "oss", "remote action",
                "remote restart commanded from the NOC")
        elif int(k["crew"]) > 0:
            add(fid, k["in_progress"], "oss", "dispatch",
                f"crew {k['crew']} dispatched"
                + (f" after waiting {duration(k['in_progress'] - k['created'])}"
                   if k["in_progress"] - k["created"] > 60 else ""))
            if k["travel_s"] > 0:
                add(fid, k["in_progress"] + k["travel_s"], "oss", "on site",
                    f"crew {k['crew']} on site after {duration(k['travel_s'])} travel")
    if pd.notna(k["closed"]):
        met = k.get("sla_met")
        add(fid, k["closed"], "oss", "ticket closed",
            f"ticket {ticket_id} closed ({k['resolution']})"
            + ("" if met is None or pd.isna(met) else
               ", restore target met" if bool(met) else ", restore target MISSED"))


_GAP = """
    FROM usage u JOIN cell_outages o ON u.cell = o.cell
    WHERE {only}
      ((u.outcome = 'lost_outage' AND u.start >= o.start AND u.start < o."end")
       OR (u.outcome = 'dropped' AND u.start + u.actual_s >= o.start - 1
           AND u.start + u.actual_s <= o."end"))"""


def _usage_gaps(run: _Run, only: int | None) -> tuple[pd.DataFrame, pd.Series]:
    """Every fault's usage gap in one pass: the records lost or dropped on the cells it took
    out of service while they were out, by fault, kind and outcome; and the distinct
    subscribers who could not make one, by fault."""
    if not run.has("usage"):
        return pd.DataFrame(columns=["fid", "kind", "outcome", "n"]), pd.Series(dtype=int)
    where = "" if only is None else f"o.root_fault_id = {int(only)} AND"
    gap = run.df(f"""
        SELECT o.root_fault_id AS fid, u.kind, u.outcome, count(*) AS n
        {_GAP.format(only=where)} GROUP BY ALL ORDER BY ALL""")
    subs = run.df(f"""
        SELECT o.root_fault_id AS fid, count(DISTINCT u.sub) AS n
        {_GAP.format(only=where)} AND u.outcome = 'lost_outage'
        GROUP BY ALL ORDER BY ALL""").set_index("fid")["n"]
    return gap, subs


def _usage_gap(gaps: tuple[pd.DataFrame, pd.Series], fid: int, back: float,
               add: Any) -> None:
    every, subs_by_fault = gaps
    gap = every[every["fid"] == fid]
    if gap.empty:
        return
    lost = gap[gap["outcome"] == "lost_outage"].set_index("kind")["n"]
    dropped = int(gap[gap["outcome"] == "dropped"]["n"].sum())
    parts = [f"{int(lost[k]):,} {name}" for k, name in
             (("voice", "calls"), ("data", "data sessions"), ("sms", "SMS"))
             if k in lost.index]
    subs = int(subs_by_fault.get(fid, 0))
    text = (f"usage gap: {_list(parts, 3) or 'nothing'} could not be made by {subs:,} "
            f"subscriber(s)")
    if dropped:
        text += f"; {dropped:,} call(s)/session(s) in progress were dropped"
    add(fid, back, "network", "usage gap", text)


def _bss(run: _Run, fid: int, mine: pd.DataFrame, outages: pd.DataFrame, start: pd.Timestamp,
         per_major: int, currency: str, add: Any) -> None:
    if mine.empty:
        return
    if run.has("service_outages"):
        cells = list(mine["cell"].unique())
        so = run.df(f"""
            SELECT * FROM service_outages WHERE cell IN ({",".join("?" * len(cells))})
              AND "end" >= ? AND start <= ?""", *cells, float(mine["start"].min()),
                    float(mine["end"].max()))
        if not so.empty:
            measured = float((so["end"] - so["start"]).sum())
            true = float((mine["end"] - mine["start"]).sum())
            add(fid, so["end"].max(), "bss", "outage reported",
                f"the OSS reported {len(so)} cell outage(s) to the BSS: "
                f"{measured / 3600:,.2f} cell-hours measured vs {true / 3600:,.2f} true")
    if run.has("care_tickets") and run.has("incidents"):
        care = run.df("""
            SELECT count(*) AS n, min(opened) AS first FROM care_tickets c
            WHERE c.incident_id IN (SELECT incident_id FROM service_outages WHERE cell IN (
                SELECT cell FROM cell_outages WHERE root_fault_id = ?))
              AND c.reason = 'network outage'
              AND c.experienced >= ? AND c.experienced <= ? + 3600""",
                       fid, float(mine["start"].min()), float(mine["end"].max()))
        if int(care["n"].iloc[0]):
            add(fid, care["first"].iloc[0], "bss", "care",
                f"{int(care['n'].iloc[0]):,} customer(s) contacted care about the outage")
    if not run.has("sla_credits", "invoices"):
        return
    cells = list(mine["cell"].unique())
    credits = run.df(f"""
        SELECT s.cell, s.account, s.credit_minor, i.bill_run, i.cycle_end
        FROM sla_credits s JOIN invoices i
          ON i.account = s.account AND i.cycle_start = s.cycle_start
        WHERE s.credit_minor > 0 AND s.cell IN ({",".join("?" * len(cells))})""", *cells)
    if credits.empty:
        return
    at = start + pd.to_timedelta(float(mine["start"].min()), unit="s")
    credits = credits[pd.to_datetime(credits["cycle_end"], utc=True) > at]
    if credits.empty:
        return
    bill = credits["bill_run"].min()
    credits = credits[credits["bill_run"] == bill]
    others = outages[outages["cell"].isin(cells) & (outages["root_fault_id"] != fid)]
    shared = sorted({int(x) for x in others["root_fault_id"]})
    text = (f"SLA credits of {_money(credits['credit_minor'].sum(), per_major, currency)} "
            f"on {credits['account'].nunique()} enterprise account(s) in the bill run of "
            f"{start + pd.to_timedelta(float(bill), unit='s'):%Y-%m-%d %H:%M}")
    if shared:
        text += f" (the cells' outages from fault(s) {_list([str(s) for s in shared])} count too)"
    add(fid, float(bill), "bss", "sla credit", text)


def render(steps: pd.DataFrame, start: datetime | str) -> str:
    """The steps as text, one block per fault with times relative to the fault's start."""
    origin = pd.Timestamp(start)
    lines: list[str] = []
    for fid, block in steps.groupby("fault_id", sort=True):
        t0 = float(block["t"].iloc[0])
        when = origin + timedelta(seconds=t0)
        lines.append(f"Fault {fid} — {block['detail'].iloc[0]}, {when:%a %Y-%m-%d %H:%M:%S}")
        for r in block.iloc[1:].itertuples():
            rel = r.t - t0
            stamp = (f"+{int(rel // 86400)}d " if rel >= 86400 else "+") + \
                f"{int(rel % 86400 // 3600)}:{int(rel % 3600 // 60):02d}:{int(rel % 60):02d}"
            lines.append(f"  {stamp:>12}  {r.layer:<7}  {r.step:<16} {r.detail}")
        lines.append("")
    return "\n".join(lines)
