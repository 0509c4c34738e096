"""Repair prioritisation: which waiting ticket a free crew takes next.

A policy is anything with a ``name`` and a ``rank(ticket, now)`` giving a sortable key —
lowest first — so a new policy is a small class, not a change to the dispatcher (the
:class:`RepairPolicy` protocol). Like triage in an emergency room, the choice of key is the
whole design question: arrival order, how bad it looks, how many are hurt, whose deadline
is nearest.
"""

from __future__ import annotations

from typing import Protocol

from twin.oss.tickets import PRIORITY_LEVEL, Ticket


class RepairPolicy(Protocol):
    name: str

    def rank(self, ticket: Ticket, now: float) -> tuple[float, ...]:
        """Sort key of a waiting ticket; the smallest is served first."""
        ...


class Fifo:
    """First ticket first."""

    name = "fifo"

    def rank(self, ticket: Ticket, now: float) -> tuple[float, ...]:
        return (ticket.created, ticket.id)


class MostImpact:
    """Most cells affected first (the incident's shadow in the OSS inventory), then oldest."""

    name = "impact"

    def rank(self, ticket: Ticket, now: float) -> tuple[float, ...]:
        return (-len(ticket.incident.cells), ticket.id)


class HighestPriority:
    """TMF621 priority (Critical, High, Medium, Low), then oldest."""

    name = "severity"

    def rank(self, ticket: Ticket, now: float) -> tuple[float, ...]:
        return (PRIORITY_LEVEL[ticket.priority], ticket.created, ticket.id)


class EarliestDeadline:
    """Earliest SLA restore deadline first (earliest-deadline-first scheduling)."""

    name = "sla"

    def rank(self, ticket: Ticket, now: float) -> tuple[float, ...]:
        return (ticket.deadline, ticket.id)


class MostCustomers:
    """Most customers affected first, as the BSS counted them for the incident's cells (the
    :class:`~twin.messages.ImpactAnswer`), then most lines, then oldest. A ticket whose answer
    has not arrived yet counts no customers."""

    name = "customers"

    def rank(self, ticket: Ticket, now: float) -> tuple[float, ...]:
        a = ticket.incident.impact
        return (-(a.customers if a else 0), -(a.lines if a else 0), ticket.created, ticket.id)


class RevenueAtRisk:
    """Most revenue at risk per hour first, as the BSS priced the incident's cells from its
    recent usage, then the largest SLA exposure, then oldest. With equal repair times,
    serving the costliest hour first minimises the revenue lost while tickets wait (Smith's
    rule). A ticket whose answer has not arrived yet counts nothing at risk."""

    name = "revenue"

    def rank(self, ticket: Ticket, now: float) -> tuple[float, ...]:
        a = ticket.incident.impact
        return (-(a.revenue_at_risk_minor_per_h if a else 0),
                -(a.sla_exposure_minor if a else 0), ticket.created, ticket.id)


POLICIES: dict[str, RepairPolicy] = {
    p.name: p for p in (Fifo(), MostImpact(), HighestPriority(), EarliestDeadline(),
                        MostCustomers(), RevenueAtRisk())}


def policy_for(name: str) -> RepairPolicy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown repair policy {name!r} "
                         f"(known: {', '.join(sorted(POLICIES))})") from None
