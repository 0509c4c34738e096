"""The metrics a study can report: the numeric keys of a run's ``summary.json``.

They are listed here, not discovered from a finished run, so that a typo in ``--metric`` is
caught before the first simulation starts (a test holds this list to what a run writes).
Keys whose value can be null (e.g. ``oss.mttd_silent_s`` in a run with no silent fault) are
metrics too: a null is a missing value (NaN) in the study's tables.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from twin.scenario import ScenarioError

_SECTIONS: dict[str, tuple[str, ...]] = {
    "network": (
        "elements", "links", "cells", "subscribers",
    ),
    "traffic": (
        "calls_offered", "calls_blocked", "calls_lost_outage", "calls_dropped", "blocking_ratio",
        "sessions_offered", "sms_offered", "sms_lost_outage", "data_mb",
    ),
    "faults": (
        "injected", "service_affecting",
    ),
    "oss": (
        "ems_events", "alarm_rejects", "alarms_resync_raised", "alarms_resync_cleared", "mtta_s",
        "incidents_acknowledged", "alarms_acknowledged", "alarms_flapping", "alarms_suppressed",
        "auto_tickets", "operator_utilisation", "ticket_sla_met", "ticket_sla_breached",
        "ticket_sla_compliance", "ticket_restore_s", "ticket_escalations", "remote_restarts",
        "restored_remotely", "truck_rolls", "maintenance_windows", "alarms_maintenance",
        "maintenance_overruns", "standby_switchovers", "restored_by_switchover", "spares_used",
        "spares_stockouts", "ticket_part_wait_s", "faults_silent", "silent_detected",
        "mttd_silent_s", "faults_alarmed", "rca_precision", "rca_recall", "symptom_precision",
        "symptom_recall", "false_tickets", "mttr_repair_s", "alarms_raw", "alarms_after_dedup",
        "incidents", "incidents_merged", "compression_ratio", "tickets", "tickets_closed",
        "tickets_cancelled", "crew_utilisation", "faults_detected", "faults_undetected",
        "mttd_s", "mttr_s", "rca_accuracy", "kpi_availability", "kpi_cssr", "kpi_drop_rate",
        "kpi_blocking", "kpi_throughput_mbps", "impact_queries", "impact_answers",
        "customer_tickets", "customer_tickets_linked",
    ),
    "bss": (
        "minor_per_major", "cdrs_received", "cdrs_rejected", "cdrs_duplicate", "cdrs_rated",
        "invoices", "billed_minor", "recurring_minor", "usage_minor", "sla_credits_minor",
        "late_usage_minor", "late_sla_credits_minor", "one_time_minor", "discounts_minor",
        "net_billed_minor", "tax_minor", "cdrs_too_late", "cdrs_lost_collector",
        "cdrs_late_collected", "cdr_files_late", "cdrs_suspended", "cdrs_recycled",
        "cdrs_unguidable", "cdrs_in_suspense", "misrated_records", "rerated_records",
        "rerated_minor", "ocs_requests", "ocs_granted", "ocs_partial", "ocs_denied_credit",
        "ocs_unavailable", "ocs_topups", "ocs_topup_minor", "ocs_debited_minor", "ocs_post_charged",
        "ocs_adjusted_minor", "ocs_released", "ocs_open_sessions", "ocs_balance_minor",
        "ocs_opening_balance_minor", "ocs_negative_balances", "care_contacts",
        "care_contacts_outage", "care_contacts_drops", "care_contacts_denied",
        "care_contacts_account", "churned",
        "trouble_reports", "cdrs_terminated", "cdrs_partial", "sessions_assembled",
        "sessions_assembled_incomplete", "cdrs_late_partial", "recurring_potential_minor",
        "sla_outage_measured_s", "sla_outage_true_s", "sla_credits_true_minor",
        "sla_lines_true_breach", "sla_lines_measured_breach", "allowance_voice_min",
        "allowance_data_mb", "allowance_sms", "potential_usage_minor", "lost_outage_minor",
        "lost_blocking_minor", "orders_new", "orders_change", "orders_cancel",
        "orders_completed", "orders_failed", "orders_open", "order_fallouts",
        "order_lead_time_s", "lines_active_end",
    ),
    "reconciliation": (
        "potential_usage_minor", "rated_minor", "invoiced_usage_minor", "lost_minor",
        "unbilled_minor", "records_offered", "records_carried", "records_collected",
        "records_accepted", "records_rated", "records_billed", "records_billed_late",
        "records_charged_online", "billed_late_minor", "potential_revenue_minor",
        "lost_outage_minor", "lost_denied_minor", "lost_blocking_minor", "carried_usage_minor",
        "leaked_collector_minor", "leaked_rejected_minor", "leaked_suspense_minor",
        "leaked_late_minor", "leaked_fail_open_minor", "leaked_terminated_minor", "leaked_minor",
        "charged_online_minor", "rating_order_minor", "tariff_error_minor",
        "rerate_adjustments_minor", "lost_churn_minor", "credited_minor", "discounts_minor",
        "billed_net_minor", "identities_checked",
    ),
}
SUMMARY_KEYS: tuple[str, ...] = ("sim_days", "sim_end_s", *(f"{section}.{leaf}"
                                              for section, leaves in _SECTIONS.items()
                                              for leaf in leaves))
"""Every numeric summary key, in ``summary.json`` order."""

NON_NUMERIC_KEYS = ("scenario", "seed", "bss.currency", "bss.mediation_mode",
                    "bss.ocs_enabled", "reconciliation.identity_holds")
"""Summary keys that are not metrics: names, the seed, words and flags."""

DEFAULT_METRICS = (
    "traffic.blocking_ratio", "traffic.calls_lost_outage", "oss.mttd_s", "oss.mttr_s",
    "oss.rca_accuracy", "oss.crew_utilisation", "bss.lost_outage_minor",
    "bss.sla_credits_minor", "bss.billed_minor",
)


def choose_metrics(metrics: Sequence[str] | None) -> list[str]:
    """The metrics asked for: ``None`` the default set, ``["all"]`` every key, else the keys
    themselves — each checked, with the nearest known key suggested for a typo."""
    if not metrics:
        return list(DEFAULT_METRICS)
    if list(metrics) == ["all"]:
        return list(SUMMARY_KEYS)
    problems = []
    for m in metrics:
        if m in SUMMARY_KEYS:
            continue
        if m in NON_NUMERIC_KEYS:
            problems.append(f"{m}: not a numeric summary key")
            continue
        near = difflib.get_close_matches(m, SUMMARY_KEYS, n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(near)}?)" if near else \
            " (the numeric keys of summary.json; see the README's summary table)"
        problems.append(f"{m}: not a summary key{hint}")
    if problems:
        raise ScenarioError("--metric", problems)
    return list(dict.fromkeys(metrics))


def numeric_summary(summary: Mapping[str, Any]) -> dict[str, float]:
    """Every metric of one run's summary as a float (NaN where the run wrote null)."""
    flat: dict[str, Any] = {}

    def walk(d: Mapping[str, Any], prefix: str) -> None:
        for k, v in d.items():
            if isinstance(v, Mapping):
                walk(v, f"{prefix}{k}.")
            else:
                flat[f"{prefix}{k}"] = v

    walk(summary, "")
    out = {}
    for key in SUMMARY_KEYS:
        v = flat.get(key)
        out[key] = float(v) if isinstance(v, int | float) and not isinstance(v, bool) \
            else math.nan
    return out
