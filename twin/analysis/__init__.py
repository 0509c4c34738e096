"""Analysis: the run summary, revenue lost, reconciliation and scoring against truth."""

from twin.analysis.reconcile import ReconciliationError
from twin.analysis.summary import keep_fates, summarize

__all__ = ["ReconciliationError", "keep_fates", "summarize"]
