"""The BSS: mediation, rating, billing and SLA credits."""

from twin.bss.business import BusinessSupport

__all__ = ["BusinessSupport"]
