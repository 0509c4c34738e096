"""The report of a NOC week: timeline, fault maps, swimlanes, stories, summary by layer.

``noc_week`` has every kind of fault: a power cut, a 5-minute software crash, a flapping
router, a silent sleeping cell, a cell dropping calls, planned maintenance, a storm and
alarm noise — what the timeline must tell apart and keep visible.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import twin
from twin.network import build_topology
from twin.report import build_report
from twin.report.html import MAJOR, STORIES
from twin.report.swimlane import LANES, clusters, draw_swimlane
from twin.report.timeline import FAULT_KINDS, MAX_LANES, draw_timeline, timeline
from twin.report.topology_map import failed_elements, layout

from .support import RunScenario

REPO = Path(__file__).resolve().parents[2]
NOC_WEEK = REPO / "scenarios" / "noc_week.yaml"


@pytest.fixture(scope="module")
def noc(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(NOC_WEEK, report=True)


def horizon(run: twin.Run) -> float:
    return float(run.summary["sim_days"]) * 86_400


def test_timeline_tells_the_kinds_of_fault_apart(noc: twin.Run) -> None:
    tl = timeline(noc.path, horizon(noc))
    kinds = {b.kind for b in tl.bars}
    assert {"failure", "storm", "silent", "power", "maintenance"} <= kinds
    assert {"incident", "incident_unknown", "crew", "remote"} <= kinds
    faults = noc.table("faults").set_index("target")
    by_lane = {b.lane: b.kind for b in tl.bars if b.kind in FAULT_KINDS}
    assert by_lane["site6"] == "power" and by_lane["agg3"] == "maintenance"
    assert by_lane["site2-c3"] == "silent" and bool(faults.loc["site2-c3", "silent"])
    storm_targets = set(noc.table("faults").query("source == 'storm'")["target"])
    assert storm_targets and all(by_lane[t] == "storm" for t in storm_targets)
    assert [(round(a), region) for a, _, region in tl.storms] == [(216_000, "region2")]


def test_short_faults_are_drawn_wide_enough_to_see_with_their_true_length(
        noc: twin.Run, tmp_path: Path) -> None:
    tl = timeline(noc.path, horizon(noc))
    crash = [b for b in tl.bars if b.lane == "site9" and b.kind == "failure"]
    assert len(crash) == 1 and crash[0].end - crash[0].start < 600  # a 5-minute crash
    assert crash[0].end - crash[0].start < tl.min_width
    assert "software crash, 5 min" in crash[0].note
    fig = draw_timeline(tl, tmp_path / "t.png")
    ax = fig.axes[0]
    widths = {round(p.get_width() * 3600, 3) for p in ax.patches if p.get_height() == 0.24}
    assert min(widths) >= round(tl.min_width, 3) - 0.01  # no bar narrower than the minimum
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("software crash, 5 min") for t in texts)


def test_no_empty_lanes(noc: twin.Run, tmp_path: Path) -> None:
    tl = timeline(noc.path, horizon(noc))
    assert tl.lanes and len(tl.lanes) == len(set(tl.lanes)) == tl.lanes_in_run
    for lane in tl.lanes:
        assert any(b.lane == lane for b in tl.bars), f"lane {lane} is empty"
    assert {b.lane for b in tl.bars} == set(tl.lanes)
    fig = draw_timeline(tl, tmp_path / "t.png")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == tl.lanes


def test_the_lane_cap_holds_and_keeps_the_longest_down(noc: twin.Run, tmp_path: Path) -> None:
    full = timeline(noc.path, horizon(noc))
    assert len(full.lanes) <= MAX_LANES
    tl = timeline(noc.path, horizon(noc), max_lanes=3)
    assert len(tl.lanes) == 3 and tl.lanes_in_run == len(full.lanes) > 3
    down: dict[str, float] = {}
    for b in full.bars:
        if b.kind in FAULT_KINDS:
            down[b.lane] = down.get(b.lane, 0.0) + b.end - b.start
    longest = sorted(down, key=lambda k: (-down[k], k))[:3]
    assert set(tl.lanes) == set(longest)
    assert {b.lane for b in tl.bars} == set(tl.lanes)  # nothing drawn outside the lanes
    fig = draw_timeline(tl, tmp_path / "t.png")
    assert f"the 3 of {tl.lanes_in_run} targets down longest" in fig.axes[0].get_title()
    assert len(fig.axes[0].get_yticklabels()) == 3


def test_failed_targets_on_the_map(noc: twin.Run) -> None:
    topo = build_topology(twin.load_scenario(noc.path / "scenario.yaml").network)
    elems, links = failed_elements(topo, "site6", "power_domain")
    assert "site6" in elems and "site6-c1" in elems and not links
    assert failed_elements(topo, "site1-site2", "link") == (set(), {"site1-site2"})
    assert failed_elements(topo, "site9", "element") == ({"site9"}, set())
    lay = layout(topo)
    assert set(lay.cell) == set(topo.cells)
    assert {e.site for e in topo.elements.values()} == set(lay.site)


def test_a_network_without_positions_is_laid_out_the_same_every_time(
        explicit_scenario: dict) -> None:
    topo = build_topology(twin.load_scenario(explicit_scenario).network)
    a, b = layout(topo), layout(topo)
    assert a == b and set(a.site) == {"core1", "cell1", "cell2"}


def test_swimlane_puts_every_step_on_its_layer(noc: twin.Run, tmp_path: Path) -> None:
    steps = noc.story(1)  # the power cut: network, OSS and BSS steps
    groups = clusters(steps, float(steps["t"].iloc[0]))
    assert {lane for lane, _, _ in groups} == set(LANES)
    assert all(t >= 0 for _, t, _ in groups)
    fig = draw_swimlane(steps, "power cut", tmp_path / "s.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["network\n(truth)", "OSS", "BSS"]
    text = " ".join(t.get_text() for t in ax.texts)
    for step in ("fault", "alarms", "incident", "ticket", "service lost",
                 "outage report", "SLA credit on the bill"):
        assert step in text, step


def test_the_report_page(noc: twin.Run) -> None:
    page = (noc.path / "report.html").read_text(encoding="utf-8")
    figs = noc.path / "figures"
    maps = sorted(figs.glob("fault-*-map.png"))
    lanes = sorted(figs.glob("fault-*-lanes.png"))
    faults = noc.table("faults")
    assert len(maps) == len(lanes) == min(MAJOR, len(faults))
    for png in [*maps, *lanes, figs / "timeline.png", figs / "revenue.png"]:
        assert png.stat().st_size > 5000
    assert page.count("data:image/png;base64,") == 3 + len(maps) + len(lanes)
    assert page.count('<article class="fault"') == min(STORIES, len(faults))
    assert 'class="kpi"' in page and "Root cause right" in page
    # summary grouped by layer, in units; the flat table folded below it
    for title in ("Network", "OSS", "BSS", "Revenue assurance"):
        assert f"<h3>{title}</h3>" in page
    grouped_part = page[page.index('id="summary"'):page.index("<details>", page.index(
        'id="summary"'))]
    assert re.search(r"<dt>billed_minor</dt><dd>[\d,]+\.\d\d EUR</dd>", grouped_part)
    assert re.search(r"<dt>mttr_s</dt><dd>\d+:\d\d</dd>", grouped_part)
    assert re.search(r"<dt>rca_accuracy</dt><dd>[\d.]+ %</dd>", grouped_part)
    assert "<details>" in page and "<code>bss.billed_minor</code>" in page
    # the revenue table adds up and says so
    assert "= invoiced" in page and "do not add up" not in page


def test_html_comes_from_templates_not_python_strings() -> None:
    source = "".join(p.read_text() for p in (REPO / "twin" / "report").glob("*.py"))
    assert not re.search(r"<(table|tr|td|div|body|html|figure|img)\b", source)
    assert (REPO / "twin" / "report" / "templates" / "report.html.j2").is_file()


def test_report_rebuilds_identically(noc: twin.Run, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(noc.path, copy)
    build_report(copy)
    assert (copy / "report.html").read_bytes() == (noc.path / "report.html").read_bytes()
