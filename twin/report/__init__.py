"""Reports: figures (matplotlib) and a self-contained HTML page per run."""

from twin.report.html import build_report

__all__ = ["build_report"]
