"""``twin score RUN_DIR``: an outside tool's actions in a served run against the ground truth.

The tool acted through the TM Forum APIs; each action is a row of ``operator_actions``. It
is scored like the built-in OSS (:mod:`twin.analysis.oss_scoring`), with the same rule for
when a fault explains something — its target (a link of a cut cable, an element of a failed
power domain) is what was named, and the fault was active then:

* acknowledgements — incidents the tool acknowledged first, and its MTTA (acknowledgement
  minus the incident's creation) beside the built-in NOC's on the others; how many of them
  a real fault explains;
* clears — alarms the tool cleared by hand, and how many while the fault behind them was
  still active (premature: the network was still broken);
* tickets — tickets it opened, those naming a root cause (a resource) a fault active then
  explains, the time from the fault's start to each such ticket, and the share of the
  faults the OSS should find that the tool named (planned work within its window left out).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from twin.analysis.oss_scoring import _acceptable_roots, as_faults
from twin.network import build_topology
from twin.scenario import load
from twin.store import Run


class ScoreError(ValueError):
    """A directory that cannot be scored; the text says why."""


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 3) if xs else None


def _active(roots: pd.DataFrame, name: str, t: float) -> pd.DataFrame:
    return roots[(roots["root"] == name) & (roots["start"] <= t + 1e-9) & (roots["end"] >= t)]


def score(run_dir: Path) -> dict[str, Any]:
    try:
        run = Run(run_dir)
    except (FileNotFoundError, ValueError, OSError) as e:
        raise ScoreError(f"{run_dir}: not a run directory ({e})") from None
    sc = load(run.path / "scenario.yaml")
    # a run stopped over the API ends at the stop: faults scheduled later never began
    horizon = float(run.summary.get("sim_end_s", sc.duration))
    faults = run.table("faults")
    ends = run.table("fault_ends")
    f = faults.merge(ends[["fault_id", "end"]], on="fault_id", how="left")
    f["end"] = f["end"].fillna(horizon)
    f = as_faults(f)
    roots = _acceptable_roots(f, build_topology(sc.network)).merge(
        f[["fault_id", "start", "end"]], on="fault_id")
    incidents = run.table("incidents")
    incidents = incidents[incidents["merged_into"] == 0]
    actions = (run.table("operator_actions") if "operator_actions" in run.tables
               else pd.DataFrame(columns=["t", "action", "user", "alarm_id", "incident_id",
                                          "resource", "reference", "ticket_id"]))
    users = set(actions["user"])
    pairs = incidents.merge(roots, on="root")
    pairs = pairs[(pairs["start"] <= pairs["created"])
                  & (pairs["end"] >= pairs["first_alarm"] - 1)]
    explained = set(pairs["incident_id"])

    acked = incidents[incidents["acknowledged"].notna()]
    by_tool = acked[acked["ack_user"].isin(users)]
    by_noc = acked[~acked["ack_user"].isin(users)]

    alarms = run.table("alarms").set_index("alarm_id")
    clears = actions[actions["action"] == "clear"]
    premature = 0
    for c in clears.itertuples():
        a = alarms.loc[int(c.alarm_id)] if int(c.alarm_id) in alarms.index else None
        if a is None:
            continue
        names = {a["alarmed_object"], a["resource"]} - {"", None}
        if any(len(_active(roots, n, float(c.t))) for n in names):
            premature += 1

    tickets = actions[actions["action"] == "ticket"]
    right, delays, found = 0, [], set[int]()
    named_problem, problem_real = 0, 0
    for tk in tickets.itertuples():
        if int(tk.incident_id):
            named_problem += 1
            problem_real += int(tk.incident_id) in explained
        if not tk.resource:
            continue
        hits = _active(roots, str(tk.resource), float(tk.t))
        if len(hits):
            right += 1
            delays.append(float(tk.t) - float(hits["start"].min()))
            found.update(int(x) for x in hits["fault_id"])
    should = f[f["start"] < horizon]

    def share(num: float, den: float) -> float | None:
        return round(num / den, 4) if den else None

    return {
        "run": str(run.path),
        "scenario": run.summary.get("scenario"),
        "tool_users": sorted(users),
        "actions": len(actions),
        "incidents": len(incidents),
        "incidents_acknowledged_by_tool": len(by_tool),
        "tool_mtta_s": _mean((by_tool["acknowledged"] - by_tool["created"]).tolist()),
        "tool_acks_on_real_faults": int(by_tool["incident_id"].isin(explained).sum()),
        "noc_mtta_s": _mean((by_noc["acknowledged"] - by_noc["created"]).tolist()),
        "mtta_s": _mean((acked["acknowledged"] - acked["created"]).tolist()),
        "alarms_cleared_by_tool": len(clears),
        "premature_clears": premature,
        "tickets_opened_by_tool": len(tickets),
        "tickets_naming_true_root": right,
        "ticket_root_precision": share(right, int((tickets["resource"] != "").sum())),
        "tool_time_to_ticket_s": _mean(delays),
        "faults": len(should),
        "faults_named_by_tool": len(found),
        "tool_rca_recall": share(len(found), len(should)),
        "tickets_naming_problem": named_problem,
        "tickets_on_real_problems": problem_real,
    }


def show(result: dict[str, Any]) -> str:
    width = max(len(k) for k in result)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in result.items())
