"""Transport load: a cut on a ring pushes the detour onto the survivors and congests them."""

from __future__ import annotations

from pathlib import Path

import twin

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_a_reroute_congests_the_detour_and_raises_threshold_alarms(tmp_path: Path) -> None:
    run = twin.simulate(SCENARIOS / "ring_resilience.yaml", out=tmp_path / "r", report=False,
                        overrides=["duration=3d", "faults.random.mtbf_h={}",
                                   "network.link_capacity_mbps={fibre: 45, microwave: 45}",
                                   # the load the 45 Mb/s links were sized for
                                   "traffic.account_type_factors={prepaid: 1}"])
    links = run.table("link_traffic")
    cut_at, detour = 34 * 3600, "site4-agg1"  # the ring closes back on agg1 at site4
    on_detour = links[links["link"] == detour].set_index("period_start")["utilisation"]
    during = on_detour.loc[cut_at:cut_at + 2 * 3600 - 1]
    day_before = on_detour.loc[cut_at - 86_400:cut_at - 86_400 + 2 * 3600 - 1]
    # site4-agg1 carried site3 and site4; cut off from site1, site2 now comes round too
    assert during.sum() > 1.3 * day_before.sum()
    assert day_before.max() < 0.8 < during.max()
    cut = links[(links["link"] == "site1-site2") & (links["period_start"] >= cut_at)
                & (links["period_start"] < cut_at + 900)]
    assert (cut["load_mbps"] == 0).all() and (cut["available_s"] == 0).all()
    alarms = run.table("alarms")
    threshold = alarms[alarms["probable_cause"] == "thresholdCrossed"]
    assert detour in set(threshold["resource"])
    # capacity takes no part in voice service: nothing is lost on a ring
    assert run.summary["traffic"]["calls_lost_outage"] == 0


def test_default_capacities_leave_links_lightly_loaded(tmp_path: Path) -> None:
    run = twin.simulate(SCENARIOS / "quickstart.yaml", out=tmp_path / "q", report=False,
                        overrides=["duration=1d", "faults.scripted=[]"])
    links = run.table("link_traffic")
    assert 0 < links["utilisation"].max() < 0.2
    assert len(links) == run.summary["network"]["links"] * 96


def test_a_medium_left_out_keeps_its_default_capacity(tmp_path: Path) -> None:
    run = twin.simulate(SCENARIOS / "quickstart.yaml", out=tmp_path / "m", report=False,
                        overrides=["duration=6h", "faults.scripted=[]",
                                   "network.link_capacity_mbps={microwave: 500}"])
    assert run.table("link_traffic")["utilisation"].max() < 0.2  # fibre kept 10 Gb/s


def test_a_crowd_over_cell_capacity_lowers_user_throughput(tmp_path: Path) -> None:
    run = twin.simulate(SCENARIOS / "quickstart.yaml", out=tmp_path / "crowd", report=False,
                        overrides=["duration=1d", "faults.scripted=[]",
                                   "network.cell_data_capacity_mbps={4G: 20}",
                                   "traffic.events=[{at: 17h, duration: 3h, site: site3, "
                                   "factor: 8}]"])
    pm = run.table("traffic")
    crowd = pm[pm["cell"].str.startswith("site3-") & pm["period_start"].between(
        17 * 3600 + 900, 20 * 3600 - 900)]
    calm = pm[~pm["cell"].str.startswith("site3-") & pm["period_start"].between(
        17 * 3600 + 900, 20 * 3600 - 900)]
    assert crowd["data_utilisation"].max() > 1 > calm["data_utilisation"].max()
    assert crowd["throughput_factor"].min() < 0.9
    assert (calm["throughput_factor"] == 1.0).all()
    over = pm["data_utilisation"] > 1
    assert (pm.loc[over, "throughput_factor"] * pm.loc[over, "data_utilisation"]).round(
        9).eq(1.0).all()


def test_a_congested_detour_slows_the_cells_behind_it(tmp_path: Path) -> None:
    run = twin.simulate(SCENARIOS / "ring_resilience.yaml", out=tmp_path / "s", report=False,
                        overrides=["duration=3d", "faults.random.mtbf_h={}",
                                   "network.link_capacity_mbps={fibre: 45, microwave: 45}",
                                   # the load the 45 Mb/s links were sized for
                                   "traffic.account_type_factors={prepaid: 1}"])
    util = run.table("link_traffic").pivot(index="period_start", columns="link",
                                           values="utilisation")
    factor = run.table("traffic").pivot(index="period_start", columns="cell",
                                        values="throughput_factor")
    cut_at = 34 * 3600
    behind = ["site2-c1", "site3-c1", "site4-c1"]  # all come round through site4-agg1
    over = (util["site4-agg1"] > 1) & (util.index >= cut_at)
    assert over.any()
    for cell in behind:  # no more than the detour's capacity over its load
        assert (factor.loc[over, cell] <= 1 / util.loc[over, "site4-agg1"] + 1e-12).all()
    # a period where no link is full leaves every user the whole rate (no cell is full here)
    calm = util.max(axis=1) <= 1
    assert calm.any() and (factor.loc[calm] == 1).all().all()
    assert (factor < 1).any().any()
