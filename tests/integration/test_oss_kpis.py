"""KPIs from the PM counters the OSS received, held against the truth: the cells behind the
quickstart's fibre cut lose availability as long as they really were out of service."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import twin

from .support import QUICKSTART, SMALL, RunScenario, downstream_cells

PERIOD = 900.0


@pytest.fixture(scope="module")
def run(run_scenario: RunScenario) -> twin.Run:
    return run_scenario(QUICKSTART, overrides=SMALL)


def overlap(outages: pd.DataFrame, lo: float, hi: float) -> float:
    return float((np.minimum(outages["end"], hi) - np.maximum(outages["start"], lo))
                 .clip(lower=0).sum())


def test_availability_of_cut_off_cells_matches_the_truth(run: twin.Run) -> None:
    cut = downstream_cells(QUICKSTART, SMALL, "site1-site2")
    k = run.table("kpis_run").set_index(["level", "object"])
    truth = run.table("cell_outages")
    horizon = run.summary["sim_days"] * 86_400
    assert cut
    for cell in cut:
        row = k.loc[("cell", cell)]
        down = overlap(truth[truth["cell"] == cell], row["start"], row["end"])
        assert down > 3600  # the cut really cost this cell service
        measured = (1 - row["availability"]) * row["observed_s"]
        assert abs(measured - down) <= PERIOD, cell
    assert k.loc[("cell", "site9-c1"), "end"] <= horizon
    # per period too: each period's availability of a cut cell is the truth's, within it
    per = run.table("kpis")
    cell = sorted(cut)[0]
    mine = per[(per["level"] == "cell") & (per["object"] == cell)]
    t = truth[truth["cell"] == cell]
    down = np.array([overlap(t, s, s + p) for s, p in zip(mine["period_start"],
                                                          mine["period_s"], strict=True)])
    np.testing.assert_allclose((1 - mine["availability"]) * mine["period_s"], down, atol=1.0)


def test_aggregates_roll_up_from_cells(run: twin.Run) -> None:
    k = run.table("kpis_run")
    cells = k[k["level"] == "cell"]
    net = k[k["level"] == "network"].iloc[0]
    assert net["cells"] == len(cells) == run.summary["network"]["cells"]
    for col in ("calls_attempted", "calls_failed", "calls_dropped", "sms_attempted"):
        assert net[col] == cells[col].sum()
    assert net["cssr"] == pytest.approx(
        1 - (net["calls_blocked"] + net["calls_failed"]) / net["calls_attempted"])
    oss = run.summary["oss"]
    assert oss["kpi_cssr"] == pytest.approx(net["cssr"], abs=1e-6)
    assert oss["kpi_availability"] == pytest.approx(net["availability"], abs=1e-6)
    assert oss["kpi_availability"] < 1.0
    # the OSS's counters are the network's: attempts match what was offered
    assert net["calls_attempted"] == run.summary["traffic"]["calls_offered"]
    sites = k[k["level"] == "site"].set_index("object")
    assert sites["calls_attempted"].sum() == net["calls_attempted"]
    site_of = cells["object"].str.split("-").str[0]  # site3-c1 is on site3
    for col in ("calls_attempted", "available_s", "data_mb"):
        by_site = cells.groupby(site_of)[col].sum()
        np.testing.assert_allclose(sites.loc[by_site.index, col], by_site)
    regions = k[k["level"] == "region"]
    assert (regions["available_s"].sum() == pytest.approx(net["available_s"]))
