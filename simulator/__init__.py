"""sandsim: capacity and cost of the sandboxes AI agents run code in.

Time is float seconds from the scenario start; memory is GiB; money is USD.

Typical use::

    import simulator as ss
    scenario = ss.load_scenario("coding-agent-fleet")
    result = ss.simulate(scenario, replications=5)
    result.summary()["platforms"]["aws-fargate"]["cost_usd"]["per_month"]
"""

from __future__ import annotations

__version__ = "0.1.0"

from .billing import BillingInputs, bill, billed_seconds, price_quantities, usage_quantities
from .catalog import Catalog, load_catalog
from .distributions import DistributionSpec
from .errors import InputError
from .metrics import RunMetrics, run_metrics
from .resolve import ResolvedPlatform, resolve_platforms
from .runner import SimulationResult, billing_inputs, simulate
from .scenario import Scenario, load_scenario, scenario_from_dict
from .shapes import RoundedShape, round_shape
from .sizing import Objective, SizingResult, size
from .summary import build_summary, summary_json
from .usage import Usage
from .workload import SampledWorkload, sample_workloads

__all__ = [
    "BillingInputs",
    "Catalog",
    "DistributionSpec",
    "InputError",
    "Objective",
    "ResolvedPlatform",
    "RoundedShape",
    "RunMetrics",
    "SampledWorkload",
    "Scenario",
    "SimulationResult",
    "SizingResult",
    "Usage",
    "__version__",
    "bill",
    "billed_seconds",
    "billing_inputs",
    "build_summary",
    "load_catalog",
    "load_scenario",
    "price_quantities",
    "resolve_platforms",
    "round_shape",
    "run_metrics",
    "sample_workloads",
    "scenario_from_dict",
    "simulate",
    "size",
    "summary_json",
    "usage_quantities",
]
