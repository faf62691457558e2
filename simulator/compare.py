"""Comparison of every platform of a scenario, and the sensitivity of spend to the
workload and the prices (a tornado).

Comparison: one row per platform with its monthly spend band, time to ready, launched
and rejected shares, the workloads it runs (platforms running different ones bill
different work), and the price table (or host table) behind its bill with the assumed
rates it uses. Every figure is the run summary's own.

Sensitivity: each factor is moved down and up by the same swing with everything else
held, and the change in mean monthly spend is reported.

- ``volume``: every workload's request volume times (1 ± swing) (``scale_volume``);
- ``duration median``: every sandbox duration times (1 ± swing), the shape of the
  distribution kept (so the median, the mean and every percentile scale alike); for
  session workloads, the tool calls' durations;
- ``duration tail``: the spread of lognormal durations, ``sigma`` times (1 ± swing) with
  the median kept (so p95/median becomes (p95/median)^(1 ± swing)); defined for lognormal
  durations only: other kinds have no tail parameter apart from their scale, and the
  factor is then left out with a note saying why;
- ``price: ...``: each rate the platform's bill uses (vCPU, memory, each GPU type,
  requests, snapshot fees, the plan fee; a fleet's host prices) times (1 ± swing).

Volume and durations are re-simulated with the same seed (common random numbers: the
variants differ by the factor, not by sampling noise of their own); prices are repriced
from the base run's usage without re-simulation. Billing is linear in each rate, so a
price factor's change is ± swing times what the lines of that rate cost before the plan
credit (gross less the free tier and the discount).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .breakeven import scale_volume
from .catalog import Catalog
from .errors import InputError
from .executors import Executor, ProcessExecutor
from .metrics import launched_share
from .points import FIGURE_COLUMNS, platform_figures, restrict, simulate_points, write_table
from .pricing import PriceTable
from .resolve import ResolvedPlatform
from .runner import SimulationResult, bill_platform
from .scenario import Scenario
from .summary import _platform_assumptions, assumed_rates_used
from .units import MONTH_S

COMPARISON_COLUMNS = [
    *FIGURE_COLUMNS,
    "workloads",
    "priced_by",
    "as_of",
    "assumed_rates",
    "assumptions",
]
"""Columns of comparison.csv."""

SENSITIVITY_COLUMNS = [
    "platform",
    "factor",
    "kind",
    "definition",
    "low",
    "high",
    "base_per_month",
    "low_per_month",
    "high_per_month",
    "change_low",
    "change_high",
    "impact",
    "launched_share_low",
    "launched_share_high",
    "currency",
]
"""Columns of sensitivity.csv."""


def _as_of(resolved: ResolvedPlatform) -> str:
    """As-of date of the table its bill is priced by (``resolved.priced_by``)."""
    if resolved.fleet is not None:
        return resolved.fleet.table.as_of
    return resolved.price_table.as_of


def comparison_table(
    result: SimulationResult, summary: dict[str, Any] | None = None
) -> pd.DataFrame:
    """One row per platform: the summary's figures (``points.FIGURE_COLUMNS``), the
    workloads it runs (``all``, or their names: spend compares only between platforms
    running the same ones), what its bill is priced by and as of when, the assumed rates
    its bill uses, and every assumption its results rest on."""
    figures = platform_figures(summary if summary is not None else result.summary())
    meta = [
        {
            "platform": resolved.id,
            "workloads": result.scenario.served_label(resolved.id),
            "priced_by": resolved.priced_by,
            "as_of": _as_of(resolved),
            "assumed_rates": "; ".join(assumed_rates_used(resolved)),
            "assumptions": " | ".join(_platform_assumptions(resolved)),
        }
        for resolved in result.platforms
    ]
    return figures.merge(pd.DataFrame(meta), on="platform", how="left")[COMPARISON_COLUMNS]


@dataclass(frozen=True)
class ComparisonResult:
    """The run and its comparison table."""

    result: SimulationResult
    table: pd.DataFrame

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write comparison.csv and the run's summary.json and line_items.csv."""
        paths = self.result.write(out_dir)
        return {**paths, "comparison": write_table(self.table, out_dir, "comparison.csv")}


def compare(
    scenario: Scenario,
    *,
    replications: int | None = None,
    platforms: Sequence[str] | None = None,
    pricing_dirs: Sequence[str | Path] = (),
    catalog: Catalog | None = None,
    executor: Executor | None = None,
) -> ComparisonResult:
    """Run the scenario on every platform (replications on ``executor``) and tabulate."""
    scenario = restrict(scenario, replications, platforms)
    (result,) = simulate_points(
        [scenario], catalog=catalog, pricing_dirs=pricing_dirs, executor=executor
    )
    return ComparisonResult(result, comparison_table(result))


# --- durations -------------------------------------------------------------------------

_SCALE_FIELDS = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
    "lognormal": ("median", "p90", "p95", "p99"),
    "weibull": ("scale",),
    "gamma": ("scale",),
    "bounded_pareto": ("lower", "upper"),
    "empirical": ("values",),
}


def _scale_dist(dist: dict[str, Any], factor: float, where: str) -> dict[str, Any]:
    """A duration distribution (as a dict) with every value times ``factor``."""
    kind = dist.get("kind")
    if kind == "mixture":
        components = [
            {**c, "dist": _scale_dist(c["dist"], factor, where)} for c in dist["components"]
        ]
        return {**dist, "components": components}
    if kind == "empirical" and dist.get("path"):
        raise InputError(
            "observed durations read from a file cannot be scaled",
            source="sensitivity",
            field=where,
            fix="give the observations as values, or fit a lognormal to them",
        )
    out = dict(dist)
    for name in _SCALE_FIELDS.get(str(kind), ()):
        value = out.get(name)
        if isinstance(value, tuple | list):
            out[name] = [v * factor for v in value]
        elif value is not None:
            out[name] = value * factor
    if kind == "lognormal" and out.get("mu") is not None:
        out["mu"] = out["mu"] + math.log(factor)
    return out


def _widen_tail(dist: dict[str, Any], factor: float, where: str) -> dict[str, Any]:
    """A lognormal (as a dict) with sigma times ``factor`` and its median kept."""
    if dist.get("kind") != "lognormal":
        raise InputError(
            f"the duration tail is defined for lognormal durations (sigma × factor, median "
            f"kept); {dist.get('kind')} durations have no tail parameter apart from their scale",
            source="sensitivity",
            field=where,
            fix="describe the durations as lognormal (median and p95) to study their tail",
        )
    out = dict(dist)
    if out.get("sigma") is not None:
        out["sigma"] = out["sigma"] * factor
        return out
    median = out["median"]
    for name in ("p90", "p95", "p99"):
        if out.get(name) is not None:
            out[name] = median * (out[name] / median) ** factor
    return out


def _map_durations(
    scenario: Scenario,
    change: Callable[[dict[str, Any], float, str], dict[str, Any]],
    factor: float,
) -> Scenario:
    data = scenario.model_dump(mode="python", by_alias=True, exclude_none=True)
    workloads = []
    for index, workload in enumerate(data["workloads"]):
        where = f"workloads[{index}]"
        if "duration" in workload:
            workload = {
                **workload,
                "duration": change(workload["duration"], factor, f"{where}.duration"),
            }
        elif "session" in workload:
            session = workload["session"]
            called = change(session["call_duration"], factor, f"{where}.session.call_duration")
            workload = {**workload, "session": {**session, "call_duration": called}}
        else:
            raise InputError(
                "durations replayed from a trace cannot be changed",
                source="sensitivity",
                field=f"{where}.arrivals",
                fix="give the workload a duration distribution to study durations",
            )
        workloads.append(workload)
    return scenario.with_overrides({"workloads": workloads}, flag="sensitivity")


def scale_durations(scenario: Scenario, factor: float) -> Scenario:
    """Every sandbox duration (a session's tool calls) times ``factor``."""
    return _map_durations(scenario, _scale_dist, factor)


def widen_duration_tail(scenario: Scenario, factor: float) -> Scenario:
    """Every (lognormal) duration's sigma times ``factor``, its median kept."""
    return _map_durations(scenario, _widen_tail, factor)


# --- prices ----------------------------------------------------------------------------


def _times(model: Any, factor: float, *names: str) -> Any:
    """A copy of a price model with the named amounts times ``factor`` (None stays None)."""
    if model is None:
        return None
    return model.model_copy(update={n: getattr(model, n) * factor for n in names})


def _pools_times(table: PriceTable, resource: str, factor: float) -> Any:
    pools = table.pools
    if pools is None:
        return None
    update = {
        name: _times(getattr(pools, name), factor, "usd") for name in (resource, f"warm_{resource}")
    }
    return pools.model_copy(update=update)


Repricer = Callable[[ResolvedPlatform, float], ResolvedPlatform]


def _resource_repricer(resource: str) -> Repricer:
    def reprice(resolved: ResolvedPlatform, factor: float) -> ResolvedPlatform:
        table = resolved.price_table
        update = {
            resource: _times(getattr(table, resource), factor, "usd"),
            "pools": _pools_times(table, resource, factor),
        }
        return dataclasses.replace(resolved, price_table=table.model_copy(update=update))

    return reprice


def _gpu_repricer(gpu: str) -> Repricer:
    def reprice(resolved: ResolvedPlatform, factor: float) -> ResolvedPlatform:
        table = resolved.price_table
        rates = {**table.gpu, gpu: _times(table.gpu[gpu], factor, "usd")}
        return dataclasses.replace(resolved, price_table=table.model_copy(update={"gpu": rates}))

    return reprice


def _requests_repricer(resolved: ResolvedPlatform, factor: float) -> ResolvedPlatform:
    table = resolved.price_table
    fee = _times(table.requests, factor, "usd_per_million")
    return dataclasses.replace(resolved, price_table=table.model_copy(update={"requests": fee}))


def _snapshot_repricer(resolved: ResolvedPlatform, factor: float) -> ResolvedPlatform:
    table = resolved.price_table
    fees = _times(table.snapshot, factor, "restore_usd_per_gib", "cache_usd_per_gib_hour")
    return dataclasses.replace(resolved, price_table=table.model_copy(update={"snapshot": fees}))


def _plan_repricer(resolved: ResolvedPlatform, factor: float) -> ResolvedPlatform:
    return dataclasses.replace(
        resolved, plan_fee_usd_per_month=resolved.plan_fee_usd_per_month * factor
    )


def _host_repricer(resolved: ResolvedPlatform, factor: float) -> ResolvedPlatform:
    fleet = resolved.fleet
    assert fleet is not None
    kinds = tuple(
        dataclasses.replace(k, usd_per_hour={p: v * factor for p, v in k.usd_per_hour.items()})
        for k in fleet.kinds
    )
    return dataclasses.replace(resolved, fleet=dataclasses.replace(fleet, kinds=kinds))


def price_factors(result: SimulationResult, platform_id: str) -> list[tuple[str, str, Repricer]]:
    """The rates a platform's bill uses in this run: (factor name, definition, repricer)."""
    resolved = result.platform(platform_id)
    if resolved.fleet is not None:
        return [("price: host", f"host prices of {resolved.fleet.table.id}", _host_repricer)]
    items = result.line_items()
    items = items[(items["platform"] == platform_id) & (items["gross_usd"] > 0)]
    used = set(items["component"])
    table = resolved.price_table
    factors: list[tuple[str, str, Repricer]] = [
        (f"price: {resource}", f"{resource} rates of {table.id}", _resource_repricer(resource))
        for resource in ("vcpu", "memory")
        if resource in used and getattr(table, resource) is not None
    ]
    gpu_items = set(items.loc[items["component"] == "gpu", "item"])
    factors += [
        (f"price: gpu {gpu}", f"{gpu} rate of {table.id}", _gpu_repricer(gpu))
        for gpu in sorted(table.gpu)
        if any(item == f"gpu:{gpu}" or item.startswith(f"gpu:{gpu}:") for item in gpu_items)
    ]
    if "requests" in used and table.requests is not None:
        factors.append(("price: requests", f"request fee of {table.id}", _requests_repricer))
    if "snapshot" in used and table.snapshot is not None:
        factors.append(("price: snapshot", f"snapshot fees of {table.id}", _snapshot_repricer))
    if resolved.plan_fee_usd_per_month > 0:
        factors.append(("price: plan fee", f"{resolved.plan} plan fee", _plan_repricer))
    return factors


def _launched_share(result: SimulationResult, platform_id: str) -> float:
    """Launched over requested sandboxes, over all replications (rejected and abandoned
    requests are neither done nor billed)."""
    return launched_share([run.metrics for run in result.runs[platform_id]])


def _monthly(result: SimulationResult, platform_id: str) -> float:
    costs = result.costs()
    return float(costs.loc[costs["platform"] == platform_id, "per_month_usd"].mean())


def repriced_monthly(result: SimulationResult, resolved: ResolvedPlatform) -> float:
    """Mean monthly spend of the run's kept usage billed as ``resolved`` says."""
    runs = result.runs[resolved.id]
    if any(run.usage is None for run in runs):
        raise ValueError("usage was not kept; simulate with keep_usage=True to reprice")
    horizon = [
        float(bill_platform(run.usage, result.scenario, resolved)["cost_usd"].sum())  # type: ignore[arg-type]
        for run in runs
    ]
    return float(np.mean(horizon)) * MONTH_S / result.scenario.horizon


@dataclass(frozen=True)
class SensitivityResult:
    """The change in monthly spend per platform and factor (``SENSITIVITY_COLUMNS``)."""

    table: pd.DataFrame
    swing: float
    notes: tuple[str, ...] = field(default_factory=tuple)
    """Factors left out, and why."""

    def write(self, out_dir: str | Path) -> Path:
        """Write sensitivity.csv into ``out_dir``; returns its path."""
        return write_table(self.table, out_dir, "sensitivity.csv")


WORKLOAD_FACTORS: tuple[tuple[str, str, Callable[[Scenario, float], Scenario]], ...] = (
    ("volume", "every workload's request volume times the factor", scale_volume),
    ("duration median", "every duration times the factor (shape kept)", scale_durations),
    ("duration tail", "lognormal sigma times the factor, median kept", widen_duration_tail),
)


def sensitivity(
    scenario: Scenario,
    *,
    platforms: Sequence[str] | None = None,
    swing: float = 0.25,
    replications: int | None = None,
    pricing_dirs: Sequence[str | Path] = (),
    catalog: Catalog | None = None,
    executor: Executor | None = None,
) -> SensitivityResult:
    """Move each factor by ± ``swing`` and report the change in mean monthly spend per
    platform, largest impact first (see the module docstring for the factors)."""
    if not 0 < swing < 1:
        raise InputError(
            f"a swing of {swing!r} is outside (0, 1)",
            source="--swing",
            fix="give a fraction such as 0.25 (±25%)",
        )
    scenario = restrict(scenario, replications, platforms)
    low, high = 1.0 - swing, 1.0 + swing
    variants: list[Scenario] = [scenario]
    studied: list[tuple[str, str, int]] = []
    notes: list[str] = []
    for name, definition, change in WORKLOAD_FACTORS:
        try:
            pair = [change(scenario, low), change(scenario, high)]
        except InputError as error:
            notes.append(f"{name}: left out: {error.field}: {error.problem}")
            continue
        studied.append((name, definition, len(variants)))
        variants.extend(pair)
    keep = [True] + [False] * (len(variants) - 1)
    results = simulate_points(
        variants,
        catalog=catalog,
        pricing_dirs=pricing_dirs,
        executor=executor or ProcessExecutor(),
        keep_usage=keep,
    )
    base = results[0]
    rows = []
    for resolved in base.platforms:
        pid = resolved.id
        spend, served = _monthly(base, pid), _launched_share(base, pid)
        changes = [
            (
                name,
                "workload",
                definition,
                _monthly(results[i], pid),
                _monthly(results[i + 1], pid),
                _launched_share(results[i], pid),
                _launched_share(results[i + 1], pid),
            )
            for name, definition, i in studied
        ]
        changes += [
            (
                name,
                "price",
                definition,
                repriced_monthly(base, reprice(resolved, low)),
                repriced_monthly(base, reprice(resolved, high)),
                served,
                served,
            )
            for name, definition, reprice in price_factors(base, pid)
        ]
        notes += [
            f"{pid}: {name} x{level:g} launched {share:.1%} of requests (base {served:.1%}): "
            "the rest was rejected or gave up at the quota, and is neither done nor billed"
            for name, _kind, _d, _l, _h, *shares in changes
            for level, share in zip((low, high), shares, strict=True)
            if share < served - 0.001
        ]
        for name, kind, definition, at_low, at_high, served_low, served_high in changes:
            rows.append(
                {
                    "platform": pid,
                    "factor": name,
                    "kind": kind,
                    "definition": definition,
                    "low": low,
                    "high": high,
                    "base_per_month": spend,
                    "low_per_month": at_low,
                    "high_per_month": at_high,
                    "change_low": at_low - spend,
                    "change_high": at_high - spend,
                    "impact": max(abs(at_low - spend), abs(at_high - spend)),
                    "launched_share_low": served_low,
                    "launched_share_high": served_high,
                    "currency": scenario.currency,
                }
            )
    table = pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)
    order = {pid: i for i, pid in enumerate(base.platform_ids)}
    table = table.sort_values(
        ["platform", "impact"], key=lambda c: c.map(order) if c.name == "platform" else -c
    ).reset_index(drop=True)
    return SensitivityResult(table, swing, tuple(notes))
