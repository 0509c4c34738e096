"""``report.html``: one self-contained page per run, rendered from a Jinja2 template.

What a trainer teaches from, top to bottom: a panel of headline KPIs; the revenue waterfall
(the invoice built from its parts, with lost and leaked revenue beside it); the incident
timeline; for each major fault a map of what failed and the cells it took out, its
alarm-to-invoice swimlane and its story step by step; the other faults' stories; traffic; the
summary grouped by layer in its units, with the raw flat table folded below; the resolved
scenario. Figures are PNG files in ``figures/``, embedded in the page as data URIs, so the
page opens anywhere with nothing else beside it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
import yaml
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from twin.analysis.story import story
from twin.report.figures import traffic_and_blocking
from twin.report.swimlane import draw_swimlane
from twin.report.timeline import draw_timeline, storm_windows, timeline
from twin.report.units import Money, after, grouped, hmm, kpi_panel
from twin.report.waterfall import draw_waterfall, revenue_waterfall
from twin.store.run import flatten

__all__ = ["MAJOR", "STORIES", "build_report", "flatten"]

STORIES = 12  # faults told in the report
MAJOR = 6  # of which drawn as a map and a swimlane


@dataclass
class Figure:
    file: str
    caption: str
    data: str = ""  # base64 PNG


@dataclass
class FaultStory:
    fault_id: int
    headline: str
    when: str
    cells_out: int
    cell_hours: float
    steps: list[dict[str, str]]
    figures: list[Figure] = field(default_factory=list)


def _png(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def chosen_faults(run_dir: Path, steps: pd.DataFrame) -> list[int]:
    """The faults the report tells, most important first: most cell-hours lost, then the
    scripted ones (what the scenario is about), then in order."""
    if steps.empty:
        return []
    faults = pd.read_parquet(run_dir / "tables" / "faults.parquet")
    out = pd.read_parquet(run_dir / "tables" / "cell_outages.parquet")
    lost = (out["end"] - out["start"]).groupby(out["root_fault_id"]).sum()
    faults["lost"] = faults["fault_id"].map(lost).fillna(0.0)
    faults["scripted"] = faults["source"] == "scripted"
    faults = faults[faults["fault_id"].isin(steps["fault_id"].unique())]
    order = faults.sort_values(["lost", "scripted", "fault_id"], ascending=[False, False, True],
                               kind="stable")
    return [int(f) for f in order["fault_id"]]


def _stories(run_dir: Path, steps: pd.DataFrame, order: list[int],
             start: pd.Timestamp) -> list[FaultStory]:
    outages = pd.read_parquet(run_dir / "tables" / "cell_outages.parquet")
    told = []
    for fid in order[:STORIES]:
        block = steps[steps["fault_id"] == fid]
        t0 = float(block["t"].iloc[0])
        mine = outages[outages["root_fault_id"] == fid]
        told.append(FaultStory(
            fid, str(block["detail"].iloc[0]),
            f"{start + pd.to_timedelta(t0, unit='s'):%a %Y-%m-%d %H:%M:%S}",
            int(mine["cell"].nunique()), float((mine["end"] - mine["start"]).sum()) / 3600,
            [{"at": after(float(r.t) - t0), "layer": str(r.layer), "step": str(r.step),
              "detail": str(r.detail)} for r in block.iloc[1:].itertuples()]))
    return told


def _draw_major(run_dir: Path, scenario: dict[str, Any], steps: pd.DataFrame,
                told: list[FaultStory], figs: Path) -> None:
    from twin.network import build_topology
    from twin.report.topology_map import draw_fault_map, layout
    from twin.scenario import load

    major = told[:MAJOR]
    if not major:
        return
    topo = build_topology(load(scenario, base_dir=run_dir).network)
    lay = layout(topo)
    faults = pd.read_parquet(run_dir / "tables" / "faults.parquet").set_index("fault_id")
    outages = pd.read_parquet(run_dir / "tables" / "cell_outages.parquet")
    for s in major:
        f = faults.loc[s.fault_id]
        cells = sorted(outages.loc[outages["root_fault_id"] == s.fault_id, "cell"].unique())
        name = f"fault-{s.fault_id}-map.png"
        what = f"Fault {s.fault_id}: {str(f['mode']).replace('_', ' ')} on {f['target']}"
        draw_fault_map(topo, lay, f"{what} — {len(cells)} cell(s) out of service",
                       str(f["target"]), str(f["target_kind"]), cells, figs / name)
        s.figures.append(Figure(name, f"Where: {f['target']} failed; the cells it took out "
                                      "of service are red."))
        name = f"fault-{s.fault_id}-lanes.png"
        draw_swimlane(steps[steps["fault_id"] == s.fault_id],
                      f"{what}: from alarm to invoice", figs / name)
        s.figures.append(Figure(name, "When: the network, OSS and BSS steps on one time axis."))


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("twin.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["hmm"] = hmm
    return env


def build_report(run_dir: Path) -> Path:
    """(Re)build ``figures/*.png`` and ``report.html`` from the run's tables and summary."""
    # element ids, regions and the currency are user text: a "$" in one must not start
    # matplotlib's math notation (``\\frac`` without braces fails the whole report)
    with matplotlib.rc_context({"text.parse_math": False}):
        return _build(Path(run_dir))


def _build(run_dir: Path) -> Path:
    summary = json.loads((run_dir / "summary.json").read_text())
    scenario_text = (run_dir / "scenario.yaml").read_text()
    scenario = yaml.safe_load(scenario_text)
    money = Money.of(summary)
    figs = run_dir / "figures"
    figs.mkdir(exist_ok=True)
    horizon = float(summary["sim_days"]) * 86_400
    tl = timeline(run_dir, horizon, storms=storm_windows(scenario))
    draw_timeline(tl, figs / "timeline.png")
    traffic_and_blocking(run_dir, figs / "traffic.png")
    waterfall = revenue_waterfall(summary)
    draw_waterfall(waterfall, money, figs / "revenue.png")
    steps = story(run_dir)
    order = chosen_faults(run_dir, steps)
    start = pd.Timestamp(scenario["start"])
    told = _stories(run_dir, steps, order, start)
    _draw_major(run_dir, scenario, steps, told, figs)
    overview = {
        "revenue": Figure("revenue.png", "Revenue: the invoice total built from its parts; "
                                         "lost and leaked revenue beside it, not in the sum."),
        "timeline": Figure("timeline.png", "Incident timeline: true faults by kind, OSS "
                                           "incidents and ticket work, one lane per target."),
        "traffic": Figure("traffic.png", "Voice traffic and lost calls per 15-minute period."),
    }
    for fig in [*overview.values(), *(f for s in told for f in s.figures)]:
        fig.data = _png(figs / fig.file)
    page = _environment().get_template("report.html.j2").render(
        summary=summary, scenario=scenario, scenario_text=scenario_text,
        kpis=kpi_panel(summary), groups=grouped(summary), flat=flatten(summary),
        waterfall=waterfall, money=money, overview=overview,
        timeline=tl, stories=told, major=min(MAJOR, len(told)),
        more_faults=max(0, len(order) - STORIES), run_name=run_dir.name, start=start)
    out = run_dir / "report.html"
    out.write_text(page, encoding="utf-8")
    return out
