"""The run summary: the numbers QA scripts assert on, scored against ground truth.

Definitions (also in the README):

* MTTD — incident creation (the OSS has a diagnosed, ticketed problem) minus the true start
  of the fault it names, over detected service-affecting faults.
* MTTR (restore) — last affected cell back in service minus true fault start, over
  service-affecting faults that were restored within the run.
* RCA accuracy — share of incidents whose root cause names a target that truly had a fault
  active when the incident was created.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.analysis.oss_scoring import as_faults, score_rca
from twin.analysis.oss_scoring import operations as oss_operations
from twin.analysis.reconcile import read_books, reconcile, sla_truth
from twin.analysis.revenue import Fates, lost_revenue
from twin.wiring import Assembly


def _mean(x: pd.Series | np.ndarray) -> float | None:
    x = pd.Series(x).dropna()
    return None if x.empty else round(float(x.mean()), 3)


def score_oss(tables: Path, service_affecting: set[int], horizon: float) -> dict[str, Any]:
    faults = pd.read_parquet(tables / "faults.parquet")
    ends = pd.read_parquet(tables / "fault_ends.parquet")
    outages = pd.read_parquet(tables / "cell_outages.parquet")
    incidents = pd.read_parquet(tables / "incidents.parquet")
    incidents = incidents[incidents["merged_into"] == 0]
    f = faults.merge(ends[["fault_id", "end"]], on="fault_id", how="left")
    f["end"] = f["end"].fillna(horizon)
    f = as_faults(f[f["fault_id"].isin(service_affecting)])
    m = f.merge(incidents[["root", "created"]], left_on="target", right_on="root", how="left")
    m = m[(m["created"] >= m["start"]) & (m["created"] <= m["end"] + 3600)]
    first = m.groupby("fault_id")["created"].min()
    mttd = first - f.set_index("fault_id").loc[first.index, "start"]
    last_back = outages.groupby("root_fault_id")["end"].max()
    restored = last_back[last_back < horizon]  # every affected cell back in service
    restored = restored[restored.index.isin(f["fault_id"])]
    mttr = restored - f.set_index("fault_id").loc[restored.index, "start"]
    every = faults.merge(ends[["fault_id", "end"]], on="fault_id", how="left")
    every["end"] = every["end"].fillna(horizon)
    pairs = incidents.merge(every, left_on="root", right_on="target")
    pairs = pairs[(pairs["start"] <= pairs["created"]) & (pairs["end"] >= pairs["first_alarm"] - 1)]
    correct = pairs["incident_id"].nunique()
    return {
        "faults_detected": int(first.size),
        "faults_undetected": int(len(f) - first.size),
        "mttd_s": _mean(mttd),
        "mttr_s": _mean(mttr),
        "rca_accuracy": None if incidents.empty else round(correct / len(incidents), 4),
    }


def keep_fates(asm: Assembly) -> Fates:
    """What the summary needs of the ``cdrs`` table (each record's fate at mediation),
    folded from its row groups as the writer writes them, on the writer's thread: the
    summary need not read the table back."""
    fates = Fates()
    asm.sim.records.buffers["cdrs"].written.append(fates.add)
    return fates


def order_summary(bss: Any) -> dict[str, Any]:
    """Product orders by action and outcome, service-order fallouts and the order-to-
    activation lead time (order date to the network's activation, completed new lines)."""
    orders = bss.orders.orders.values()
    lead = [o.activated - o.ordered for o in orders
            if o.action == "add" and o.state == "completed"]
    c = bss.orders.counts
    return {
        "orders_new": c["add"], "orders_change": c["modify"], "orders_cancel": c["delete"],
        "orders_completed": c["completed"], "orders_failed": c["failed"],
        "orders_open": sum(o.state not in ("completed", "failed") for o in orders),
        "order_fallouts": c["fallouts"],
        "order_lead_time_s": _mean(np.array(lead)) if lead else None,
        "lines_active_end": int(((bss.lines.active_from < bss.sim.horizon)
                                 & (bss.care.leaves > bss.sim.horizon)).sum()),
    }


def summarize(asm: Assembly, tables: Path, fates: Fates | None = None) -> dict[str, Any]:
    """The run's summary; ``fates``: its ``cdrs`` table folded as it was written (see
    :func:`keep_fates`), else read from the file."""
    sc, net, oss, bss = asm.scenario, asm.network, asm.oss, asm.bss
    traffic = net.traffic.counts
    tickets = oss.workforce.tickets
    raw = oss.alarms.raises
    dedup = len(oss.alarms.all)
    incidents = sum(i.merged_into == 0 for i in oss.correlator.incidents)
    # the BSS's books (DuckDB, without the GIL) are read on the other core while the truth
    # is rated here
    with ThreadPoolExecutor(1, thread_name_prefix="books") as pool:
        books = pool.submit(read_books, tables, bss)

        def rated_sums() -> tuple[int, int]:  # first ratings', re-ratings' charges
            b = books.result()
            return b.rated_first_minor, b.rated_minor - b.rated_first_minor

        lost = lost_revenue(tables / "usage.parquet", asm.subscribers, bss.fresh_rater,
                            bss.lines.offer_at,
                            (bss.rerating.repriced_minor, bss.rerating.repriced_rows), fates,
                            rated_sums)
        recon = reconcile(tables, bss, lost, books=books.result())
    billing = bss.billing.totals
    # the simulated end: the scenario's duration, or the instant a served run was stopped
    end = asm.sim.horizon
    duty = oss.workforce.duty_s(end)  # crew-seconds on shift or on call
    return {
        "scenario": sc.name,
        "seed": sc.seed,
        "sim_days": round(end / 86_400, 4),
        "sim_end_s": end,
        "network": {
            "elements": len(asm.topology.elements),
            "links": len(asm.topology.links),
            "cells": len(asm.topology.cells),
            "subscribers": asm.subscribers.n_existing,  # prospects: bss.orders_new
        },
        "traffic": {
            "calls_offered": traffic["calls_offered"],
            "calls_blocked": traffic["calls_blocked"],
            "calls_lost_outage": traffic["calls_lost_outage"],
            "calls_dropped": traffic["calls_dropped"],
            "blocking_ratio": round(traffic["calls_blocked"] / max(1, traffic["calls_offered"]), 6),
            "sessions_offered": traffic["sessions_offered"],
            "sms_offered": traffic["sms_offered"],
            "sms_lost_outage": traffic["sms_lost_outage"],
            "data_mb": round(traffic["data_bytes"] / 1e6, 3),
        },
        "faults": {
            "injected": len(net.schedule) if end >= sc.duration  # stopped: those begun
            else sum(f.at < end for f in net.schedule),
            "service_affecting": len(net.service_affecting),
        },
        "oss": {
            "ems_events": sum(oss.collector.received.values()),
            "alarm_rejects": oss.collector.rejects,
            "alarms_resync_raised": oss.resync["raised"],
            "alarms_resync_cleared": oss.resync["cleared"],
            **oss_operations(oss, end),
            **score_rca(tables, asm.topology, end),
            "alarms_raw": raw,
            "alarms_after_dedup": dedup,
            "incidents": incidents,
            "incidents_merged": len(oss.correlator.incidents) - incidents,
            "compression_ratio": round(raw / incidents, 3) if incidents else None,
            "tickets": len(tickets),
            "tickets_closed": sum(t.status == "closed" for t in tickets),
            "tickets_cancelled": sum(t.status == "cancelled" for t in tickets),
            "crew_utilisation": round(oss.workforce.busy_s / duty, 4) if duty else None,
            **score_oss(tables, net.service_affecting, end),
            **oss.kpis.summary(),
            "impact_queries": oss.impact.queries,
            "impact_answers": oss.impact.answers,
            "customer_tickets": len(oss.customer.tickets),
            "customer_tickets_linked": sum(t.incident is not None
                                           for t in oss.customer.tickets),
        },
        "bss": {
            "currency": sc.bss.catalog.currency,
            "minor_per_major": sc.bss.catalog.minor_per_major,
            "cdrs_received": bss.mediation.received,
            "cdrs_rejected": bss.mediation.rejected,
            "cdrs_duplicate": bss.mediation.duplicates,
            "cdrs_rated": bss.rated_records,
            "invoices": billing["invoices"],
            "billed_minor": billing["billed_minor"],
            "recurring_minor": billing["recurring_minor"],
            "usage_minor": billing["usage_minor"],
            "sla_credits_minor": billing["sla_credits_minor"],
            "late_usage_minor": bss.billing.late_minor,
            "late_sla_credits_minor": bss.billing.late_credit_minor,
            "one_time_minor": billing["one_time_minor"],
            "discounts_minor": billing["discounts_minor"],
            "net_billed_minor": billing["net_billed_minor"],
            "tax_minor": billing["tax_minor"],
            "cdrs_too_late": bss.mediation.too_late,
            "mediation_mode": bss.collector.spec.mode,
            "cdrs_lost_collector": bss.collector.lost_records,
            "cdrs_late_collected": bss.collector.late_records,
            "cdr_files_late": bss.collector.files_late,
            "cdrs_suspended": bss.mediation.suspended,
            "cdrs_recycled": bss.mediation.recycled,
            "cdrs_unguidable": bss.mediation.unguidable,
            "cdrs_in_suspense": bss.mediation.in_suspense,
            "misrated_records": bss.rerating.misrated_records,
            "rerated_records": bss.rerating.rerated_records,
            "rerated_minor": bss.rerating.rerated_minor,
            "ocs_enabled": bss.spec.ocs.enabled,
            **{f"ocs_{k}": v for k, v in bss.ocs.summary.items()},
            "care_contacts": bss.care.counts["contacts"],
            "care_contacts_outage": bss.care.counts["network outage"],
            "care_contacts_drops": bss.care.counts["dropped calls"],
            "care_contacts_denied": bss.care.counts["service denied"],
            "care_contacts_account": bss.care.counts["bill or account"],
            "churned": bss.care.counts["churned"],
            "trouble_reports": bss.trouble_reports,
            "cdrs_terminated": bss.mediation.terminated,
            "cdrs_partial": bss.mediation.partials,
            "sessions_assembled": bss.mediation.assembled,
            "sessions_assembled_incomplete": bss.mediation.incomplete,
            "cdrs_late_partial": bss.mediation.late_parts,
            "recurring_potential_minor": billing["recurring_potential_minor"],
            **sla_truth(tables, bss),
            "allowance_voice_min": round(int(bss.allowance_used[0]) / 60, 1),
            "allowance_data_mb": round(int(bss.allowance_used[1]) / 1e6, 3),
            "allowance_sms": int(bss.allowance_used[2]),
            "potential_usage_minor": lost["potential_usage_minor"],
            "lost_outage_minor": lost["lost_outage_minor"] + lost["lost_dropped_minor"],
            "lost_blocking_minor": lost["lost_blocking_minor"],
            **order_summary(bss),
        },
        "reconciliation": recon,
    }
