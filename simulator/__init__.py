"""sandsim: capacity and cost of the sandboxes AI agents run code in.

Time is float seconds from the scenario start; memory is GiB; money is USD.

Typical use::

    import simulator as ss
    scenario = ss.load_scenario("coding-agent-fleet")
    result = ss.simulate(scenario, replications=5)
    result.summary()["platforms"]["aws-fargate"]["cost_usd"]["per_month"]

Self-hosted fleets: ``ss.pack_shapes("shapes.csv", "m5.metal")`` packs shapes offline;
``ss.breakeven(scenario, "firecracker-m5-metal", ["e2b"])`` finds the daily volume
above which a fleet is cheaper than each managed platform.

Figures: ``ss.plots.spend_by_platform(result)``, ``time_to_ready_cdf``,
``concurrency_over_day``, ``fleet_hosts``, ``duration_distribution``,
``spend_by_component`` return matplotlib figures (the report draws the same ones).

Forecasts and budgets: ``ss.forecast(scenario)`` projects spend per calendar month with
P5/P50/P95 bands (on local processes, or ``executor=ss.make_executor("tcp://...")`` for
a Dask cluster); ``result.check_budgets()`` says which budgets hold at their quantile;
``ss.levers(scenario)`` finds, by simulation, the settings that make broken budgets hold.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import plots
from .billing import BillingInputs, bill, billed_seconds, price_quantities, usage_quantities
from .breakeven import BreakevenResult, breakeven, scale_volume
from .catalog import Catalog, load_catalog
from .distributions import DistributionSpec
from .errors import InputError
from .executors import DaskExecutor, Executor, ProcessExecutor, SerialExecutor, make_executor
from .fleet_billing import bill_fleet
from .fleet_metrics import FleetMetrics, hosts_over_time
from .forecast import ForecastResult, forecast
from .forecast_spec import Budget, BudgetScope, ForecastEvent, ForecastSpec
from .guardrails import BudgetCheck, check_budgets
from .levers import LeversResult, apply_lever, levers
from .metrics import RunMetrics, run_metrics
from .offline_pack import PackReport, pack_shapes, read_shapes
from .packing import lower_bound, pack
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
    "BreakevenResult",
    "Budget",
    "BudgetCheck",
    "BudgetScope",
    "Catalog",
    "DaskExecutor",
    "DistributionSpec",
    "Executor",
    "FleetMetrics",
    "ForecastEvent",
    "ForecastResult",
    "ForecastSpec",
    "InputError",
    "LeversResult",
    "Objective",
    "PackReport",
    "ProcessExecutor",
    "ResolvedPlatform",
    "RoundedShape",
    "RunMetrics",
    "SampledWorkload",
    "Scenario",
    "SerialExecutor",
    "SimulationResult",
    "SizingResult",
    "Usage",
    "__version__",
    "apply_lever",
    "bill",
    "bill_fleet",
    "billed_seconds",
    "billing_inputs",
    "breakeven",
    "build_summary",
    "check_budgets",
    "forecast",
    "hosts_over_time",
    "levers",
    "load_catalog",
    "load_scenario",
    "lower_bound",
    "make_executor",
    "pack",
    "pack_shapes",
    "plots",
    "price_quantities",
    "read_shapes",
    "resolve_platforms",
    "round_shape",
    "run_metrics",
    "sample_workloads",
    "scale_volume",
    "scenario_from_dict",
    "simulate",
    "size",
    "summary_json",
    "usage_quantities",
]
