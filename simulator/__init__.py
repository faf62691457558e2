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

From data: ``ss.fit_durations("durations.csv").snippet()`` fits duration distributions
and writes the best as a scenario field; ``ss.fit_arrivals("requests.csv")`` measures
rate, hour-of-day profile and burstiness and suggests an arrival process.
Studies: ``ss.sweep(scenario, {"workloads.agents.arrivals.per_day": [10000, 20000]})``
runs a grid of field values (``.table``: one row per point and platform);
``ss.compare(scenario).table`` puts every platform side by side with the assumed rates
behind its bill; ``ss.sensitivity(scenario).table`` is the tornado of volume, duration
median and tail and each price (``ss.plots.comparison``, ``ss.plots.tornado``).
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import plots
from .billing import BillingInputs, bill, billed_seconds, price_quantities, usage_quantities
from .breakeven import BreakevenResult, breakeven, scale_volume
from .catalog import Catalog, load_catalog
from .compare import ComparisonResult, SensitivityResult, compare, sensitivity
from .distributions import DistributionSpec
from .errors import InputError
from .executors import DaskExecutor, Executor, ProcessExecutor, SerialExecutor, make_executor
from .fitting import ArrivalFit, DurationFit, fit_arrivals, fit_durations
from .fleet_billing import bill_fleet
from .fleet_metrics import FleetMetrics, hosts_over_time
from .forecast import ForecastResult, forecast
from .forecast_spec import Budget, BudgetScope, ForecastEvent, ForecastSpec
from .guardrails import BudgetCheck, check_budgets
from .levers import LeversResult, apply_lever, levers
from .metrics import RunMetrics, run_metrics
from .offline_pack import PackReport, pack_shapes, read_shapes
from .packing import lower_bound, pack
from .points import simulate_points
from .report import Report, build_report
from .resolve import ResolvedPlatform, resolve_platforms
from .runner import SimulationResult, billing_inputs, simulate
from .scenario import Scenario, load_scenario, scenario_from_dict
from .shapes import RoundedShape, round_shape
from .sizing import Objective, SizingResult, size
from .summary import build_summary, summary_json
from .sweep import SweepResult, sweep
from .usage import Usage
from .workload import SampledWorkload, sample_workloads

__all__ = [
    "ArrivalFit",
    "BillingInputs",
    "BreakevenResult",
    "Budget",
    "BudgetCheck",
    "BudgetScope",
    "Catalog",
    "ComparisonResult",
    "DaskExecutor",
    "DistributionSpec",
    "DurationFit",
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
    "Report",
    "ResolvedPlatform",
    "RoundedShape",
    "RunMetrics",
    "SampledWorkload",
    "Scenario",
    "SensitivityResult",
    "SerialExecutor",
    "SimulationResult",
    "SizingResult",
    "SweepResult",
    "Usage",
    "__version__",
    "apply_lever",
    "bill",
    "bill_fleet",
    "billed_seconds",
    "billing_inputs",
    "breakeven",
    "build_report",
    "build_summary",
    "check_budgets",
    "compare",
    "fit_arrivals",
    "fit_durations",
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
    "sensitivity",
    "simulate",
    "simulate_points",
    "size",
    "summary_json",
    "sweep",
    "usage_quantities",
]
