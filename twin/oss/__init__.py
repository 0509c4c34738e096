"""The OSS: alarm collection, correlation, trouble tickets and field repair."""

from twin.oss.center import OperationsCenter

__all__ = ["OperationsCenter"]
