"""Design studies at scale: sweeps over a scenario's fields on dask.distributed.

``twin.sweep`` (``twin sweep``) and ``twin.compare`` (``twin compare``) run many variants of a
scenario over common seeds, cache every finished run by key, and report paired differences
and sensitivities with their intervals. See docs/studies.md.
"""

from twin.study.engine import local_cluster
from twin.study.study import Study, sweep

__all__ = ["Study", "local_cluster", "sweep"]
