"""Running a scenario: replications x platforms, on one seeded random-number tree.

For each replication the workload is sampled once and replayed on every platform
(common random numbers); each platform draws its launch latencies from its own stream.
Usage goes to billing; the result keeps metrics, line items and (optionally) usage, so
repricing never re-runs the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .arrivals import BurstArrivals
from .billing import AMOUNT_COLUMNS, LINE_ITEM_COLUMNS, BillingInputs, bill
from .catalog import Catalog
from .engine import run_platform
from .errors import InputError
from .fleet_billing import FleetBillingInputs, bill_fleet
from .metrics import RunMetrics, run_metrics
from .pricing import PriceTable
from .resolve import ResolvedPlatform, resolve_platforms, scenario_catalog
from .rng import stream
from .scenario import Scenario
from .units import MONTH_S
from .usage import Usage
from .workload import sample_workloads

ProgressCallback = Callable[[int, int], None]
"""Called with (replications done, replications in all)."""


@dataclass(frozen=True)
class PlatformRun:
    """One replication of one platform."""

    replication: int
    metrics: RunMetrics
    line_items: pd.DataFrame
    usage: Usage | None
    engine_path: str
    """"event" or "vector" (see ``Usage.engine_path``)."""


@dataclass
class SimulationResult:
    """Everything a run produced, per platform and replication."""

    scenario: Scenario
    catalog: Catalog
    platforms: tuple[ResolvedPlatform, ...]
    runs: dict[str, list[PlatformRun]] = field(default_factory=dict)

    @property
    def platform_ids(self) -> list[str]:
        """Platform ids in scenario order."""
        return [p.id for p in self.platforms]

    def platform(self, platform_id: str) -> ResolvedPlatform:
        """A resolved platform by id."""
        for resolved in self.platforms:
            if resolved.id == platform_id:
                return resolved
        raise KeyError(platform_id)

    def line_items(self) -> pd.DataFrame:
        """Every line item of every replication (column ``replication``)."""
        frames = [
            run.line_items.assign(replication=run.replication)
            for runs in self.runs.values()
            for run in runs
        ]
        if not frames:
            return pd.DataFrame(columns=["replication", *LINE_ITEM_COLUMNS])
        frame = pd.concat(frames, ignore_index=True)
        return frame[["replication", *LINE_ITEM_COLUMNS]]

    def costs(self) -> pd.DataFrame:
        """Spend per platform and replication: over the horizon and per 30-day month."""
        rows = []
        for platform_id, runs in self.runs.items():
            for run in runs:
                horizon = float(run.line_items["cost_usd"].sum())
                rows.append(
                    {
                        "platform": platform_id,
                        "replication": run.replication,
                        "horizon_usd": horizon,
                        "per_month_usd": horizon * MONTH_S / self.scenario.horizon,
                    }
                )
        return pd.DataFrame(
            rows, columns=["platform", "replication", "horizon_usd", "per_month_usd"]
        )

    def mean_line_items(self) -> pd.DataFrame:
        """Line items averaged over replications (a line missing from a replication counts
        as zero), summed over billing periods, with the per-month equivalent."""
        items = self.line_items()
        keys = ["platform", "workload", "team", "component", "item", "unit"]
        values = AMOUNT_COLUMNS
        replications = self.scenario.replications
        summed = items.groupby(keys, sort=False)[values].sum() / replications
        # a rate that differs between replications (a fleet's, from each one's mean price
        # per host-second) is given as the mean the amounts were priced at
        grouped = items.groupby(keys, sort=False)["rate_usd"]
        rates = grouped.first()
        varies = (grouped.max() > grouped.min()) & (summed["quantity"] > 0)
        rates[varies] = summed["gross_usd"][varies] / summed["quantity"][varies]
        frame = summed.join(rates).reset_index()
        frame["cost_usd_per_month"] = frame["cost_usd"] * MONTH_S / self.scenario.horizon
        frame["currency"] = self.scenario.currency
        return frame[[*keys, "quantity", "rate_usd", *values[1:], "cost_usd_per_month", "currency"]]

    def reprice(self, platform_id: str, table: PriceTable) -> pd.DataFrame:
        """Line items of a platform under another price table, from the kept usage (no
        re-simulation). Needs ``keep_usage=True``."""
        resolved = self.platform(platform_id)
        if resolved.fleet is not None:
            raise ValueError(
                f"{platform_id} is a self-hosted fleet billed by host time; change its host "
                "prices with a pricing folder holding a hosts/ table instead"
            )
        frames = []
        for run in self.runs[platform_id]:
            if run.usage is None:
                raise ValueError("usage was not kept; simulate with keep_usage=True to reprice")
            inputs = billing_inputs(self.scenario, resolved, table)
            frames.append(bill(run.usage, inputs).assign(replication=run.replication))
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> dict[str, Any]:
        """The summary.json contract (see docs/outputs.md)."""
        from .summary import build_summary

        return build_summary(self)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write summary.json and line_items.csv into ``out_dir``; returns their paths."""
        from .summary import write_outputs

        return write_outputs(self, Path(out_dir))


def bill_platform(usage: Usage, scenario: Scenario, resolved: ResolvedPlatform) -> pd.DataFrame:
    """Line items of one platform run: per-sandbox rates, or host time for a fleet."""
    if resolved.fleet is not None:
        return bill_fleet(
            usage,
            FleetBillingInputs(
                platform_id=resolved.id,
                fleet=resolved.fleet,
                workload_names=tuple(w.name for w in scenario.workloads),
                teams=tuple(w.team for w in scenario.workloads),
                discount_fraction=resolved.discount.fraction,
            ),
        )
    return bill(usage, billing_inputs(scenario, resolved))


def billing_inputs(
    scenario: Scenario, resolved: ResolvedPlatform, table: PriceTable | None = None
) -> BillingInputs:
    """What billing needs for one platform, from the resolved scenario."""
    return BillingInputs(
        platform_id=resolved.id,
        table=table or resolved.price_table,
        workload_names=tuple(w.name for w in scenario.workloads),
        shapes=resolved.shapes,
        teams=tuple(w.team for w in scenario.workloads),
        plan=resolved.plan,
        plan_fee_usd_per_month=resolved.plan_fee_usd_per_month,
        plan_credit_usd_per_month=resolved.plan_credit_usd_per_month,
        discount_fraction=resolved.discount.fraction,
        discount_applies_to=resolved.discount.applies_to,
        self_hosted=resolved.profile.self_hosted,
    )


def with_run_settings(scenario: Scenario, seed: int | None, replications: int | None) -> Scenario:
    """The scenario with its seed and replications overridden where given."""
    changes: dict[str, Any] = {}
    if seed is not None:
        changes["seed"] = seed
    if replications is not None:
        changes["replications"] = replications
    if changes:
        scenario = scenario.with_overrides(changes, flag="--seed/--replications")
    return scenario


def simulate(
    scenario: Scenario,
    *,
    seed: int | None = None,
    replications: int | None = None,
    platforms: Sequence[str] | None = None,
    pricing_dirs: Sequence[str | Path] = (),
    catalog: Catalog | None = None,
    keep_usage: bool = True,
    progress: ProgressCallback | None = None,
) -> SimulationResult:
    """Run a scenario on every platform it lists (or those named) and bill the usage.

    ``seed`` and ``replications`` override the scenario's; ``pricing_dirs`` add price
    tables (negotiated rates) that replace bundled tables with the same id.
    """
    scenario = with_run_settings(scenario, seed, replications)
    if platforms:
        scenario = scenario.only_platforms(list(platforms))
    check_horizon_covers(scenario)
    if catalog is None:
        catalog = scenario_catalog(scenario, tuple(str(p) for p in pricing_dirs))
    resolved = tuple(resolve_platforms(scenario, catalog))
    result = SimulationResult(scenario, catalog, resolved, {p.id: [] for p in resolved})
    for replication in range(scenario.replications):
        runs = simulate_replication(scenario, resolved, replication, keep_usage=keep_usage)
        for platform_id, run in runs.items():
            result.runs[platform_id].append(run)
        if progress is not None:
            progress(replication + 1, scenario.replications)
    return result


def simulate_replication(
    scenario: Scenario,
    resolved: Sequence[ResolvedPlatform],
    replication: int,
    *,
    keep_usage: bool = True,
) -> dict[str, PlatformRun]:
    """Replication ``replication`` of the scenario on every resolved platform, billed.

    All its randomness comes from the seed tree at ``(seed, replication, ...)``, so it is
    the same whether run alone (on any worker) or as part of ``simulate``."""
    models = {p.id: p.engine_model(scenario) for p in resolved}
    bursts = {
        index: workload.arrivals.at
        for index, workload in enumerate(scenario.workloads)
        if isinstance(workload.arrivals, BurstArrivals)
    }
    sampled = sample_workloads(scenario, replication)
    runs = {}
    for platform in resolved:
        # launch latencies are keyed by profile and mode, so two entries of one profile
        # (say, two quotas) see the same latencies: the comparison isolates the change
        rng = stream(
            scenario.seed, replication, "launch", platform.profile.id, platform.launch_mode
        )
        usage = run_platform(
            models[platform.id], sampled.subset(list(platform.workload_indices)), rng
        )
        runs[platform.id] = PlatformRun(
            replication,
            run_metrics(usage, bursts),
            bill_platform(usage, scenario, platform),
            usage if keep_usage else None,
            usage.engine_path,
        )
    return runs


MAX_ACTIVATIONS = 10_000_000
"""Sandbox launches one replication may simulate (about 5 GiB of memory in the event engine)."""


def expected_activations(scenario: Scenario, workloads: frozenset[str] | None = None) -> float:
    """Mean sandbox launches per replication if every session call were its own launch (of
    ``workloads`` alone, if given)."""
    total = 0.0
    for workload in scenario.workloads:
        if workloads is not None and workload.name not in workloads:
            continue
        count = workload.arrivals.expected_count(scenario.horizon)
        if workload.session is not None:
            calls = workload.session.tool_calls.mean + 0.5  # rounded up to whole calls
            count *= calls * workload.session.parallel_sandboxes
        total += count
    return total


def check_horizon_covers(scenario: Scenario) -> None:
    """Refuse a horizon in which nothing is requested, or so much that a replication would
    not fit in memory."""
    source = str(scenario.source or "scenario")
    expected = sum(w.arrivals.expected_count(scenario.horizon) for w in scenario.workloads)
    if expected <= 0:
        raise InputError(
            "no sandbox is requested within the horizon",
            source=source,
            field="horizon",
            fix="lengthen the horizon or move the bursts/trace into it",
        )
    activations = expected_activations(scenario)
    if activations > MAX_ACTIVATIONS:
        raise InputError(
            f"about {activations:,.0f} sandbox launches per replication, more than the "
            f"{MAX_ACTIVATIONS:,} one replication can simulate in memory",
            source=source,
            field="horizon",
            fix="simulate a shorter horizon (a representative day or week) and read the per-month figures",
        )
