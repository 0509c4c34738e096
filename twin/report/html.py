"""``report.html``: the summary table and the figures of one run, in one self-contained page."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import pandas as pd

from twin.analysis.story import render, story
from twin.report.figures import incident_timeline, revenue_breakdown, traffic_and_blocking
from twin.store.run import flatten

FIGURES = (
    ("timeline.png", "Incident timeline: true faults, OSS incidents and crew work"),
    ("traffic.png", "Traffic and blocking"),
    ("revenue.png", "Revenue breakdown"),
)


STORIES = 12  # faults told in the report, most service lost first


def _narrative(run_dir: Path) -> str:
    import yaml

    steps = story(run_dir)
    if steps.empty:
        return "No faults in this run."
    out = pd.read_parquet(run_dir / "tables" / "cell_outages.parquet")
    lost = (out["end"] - out["start"]).groupby(out["root_fault_id"]).sum()
    order = [int(f) for f in lost.sort_values(ascending=False, kind="stable").index]
    order += [f for f in steps["fault_id"].unique() if f not in order]
    chosen = sorted(order[:STORIES])
    start = yaml.safe_load((run_dir / "scenario.yaml").read_text())["start"]
    text = render(steps[steps["fault_id"].isin(chosen)], start)
    if len(order) > STORIES:
        text += (f"… and {len(order) - STORIES} more faults: `twin story {run_dir.name}` "
                 "tells every one.")
    return text


def build_report(run_dir: Path) -> Path:
    """(Re)build ``figures/*.png`` and ``report.html`` from the run's tables and summary."""
    run_dir = Path(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    figs = run_dir / "figures"
    figs.mkdir(exist_ok=True)
    horizon = summary["sim_days"] * 86_400
    incident_timeline(run_dir, figs / "timeline.png", horizon)
    traffic_and_blocking(run_dir, figs / "traffic.png")
    revenue_breakdown(summary, figs / "revenue.png")
    rows = "\n".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>"
        for k, v in flatten(summary).items())
    imgs = "\n".join(
        f'<figure><img alt="{html.escape(cap)}" src="data:image/png;base64,'
        f'{base64.b64encode((figs / name).read_bytes()).decode()}"/>'
        f"<figcaption>{html.escape(cap)}</figcaption></figure>"
        for name, cap in FIGURES)
    scenario = (run_dir / "scenario.yaml").read_text()
    narrative = html.escape(_narrative(run_dir))
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>OSS/BSS Twin — {html.escape(str(summary["scenario"]))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
td {{ border-bottom: 1px solid #ddd; padding: 2px 12px; }}
td:last-child {{ text-align: right; font-variant-numeric: tabular-nums; }}
img {{ max-width: 100%; }} figure {{ margin: 1.5em 0; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.8em; }}
</style></head><body>
<h1>{html.escape(str(summary["scenario"]))} — seed {summary["seed"]}</h1>
{imgs}
<h2>What happened</h2>
<pre>{narrative}</pre>
<h2>Summary</h2>
<table>{rows}</table>
<h2>Scenario (resolved)</h2>
<pre>{html.escape(scenario)}</pre>
</body></html>
"""
    out = run_dir / "report.html"
    out.write_text(page, encoding="utf-8")
    return out
