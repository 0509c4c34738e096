"""OSS/BSS Twin: a simulation and digital-twin testbed for telecom operations.

>>> import twin
>>> run = twin.simulate("scenarios/quickstart.yaml", seed=1)   # doctest: +SKIP
>>> run.summary["oss"]["mttr_s"], run.table("invoices").head()  # doctest: +SKIP

The public names are imported on first use, so ``import twin.scenario`` (the CLI checking
its arguments) does not pay for pandas, DuckDB and the simulation model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

# Light modules (their heavy imports happen inside the functions). Imported here because a
# submodule import would otherwise bind ``twin.compare`` to the module, not the function.
from twin.compare import Comparison, compare
from twin.kernel.lazy import lazy_names
from twin.study import Study, sweep

if TYPE_CHECKING:
    from twin.api import simulate
    from twin.scenario import Scenario, ScenarioError, load
    from twin.store import OutputError, OutputWriteError, Run

    load_scenario = load

_LAZY = {
    "simulate": ("twin.api", "simulate"),
    "Scenario": ("twin.scenario", "Scenario"),
    "ScenarioError": ("twin.scenario", "ScenarioError"),
    "load_scenario": ("twin.scenario", "load"),
    "Run": ("twin.store", "Run"),
    "OutputError": ("twin.store", "OutputError"),
    "OutputWriteError": ("twin.store", "OutputWriteError"),
}

__getattr__ = lazy_names(globals(), _LAZY)

__all__ = ["Comparison", "OutputError", "OutputWriteError", "Run", "Scenario", "ScenarioError",
           "Study", "__version__", "compare", "load_scenario", "simulate", "sweep"]
