"""The run store: atomic run directories and reading runs back."""

from twin.store.run import Run
from twin.store.rundir import OutputError, OutputWriteError, RunDirectory

__all__ = ["OutputError", "OutputWriteError", "Run", "RunDirectory"]
