"""OSS/BSS Twin: a simulation and digital-twin testbed for telecom operations.

>>> import twin
>>> run = twin.simulate("scenarios/quickstart.yaml", seed=1)   # doctest: +SKIP
>>> run.summary["oss"]["mttr_s"], run.table("invoices").head()  # doctest: +SKIP
"""

__version__ = "0.1.0"

from twin.api import simulate
from twin.compare import Comparison, compare
from twin.scenario import Scenario, ScenarioError, load
from twin.store import OutputError, OutputWriteError, Run

load_scenario = load

__all__ = ["Comparison", "OutputError", "OutputWriteError", "Run", "Scenario", "ScenarioError",
           "__version__", "compare", "load_scenario", "simulate"]
