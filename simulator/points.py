"""Several variants of a scenario, each simulated with its replications, on any executor.

Sweeps, comparisons and sensitivity studies all run (variant, replication) tasks.
Replication ``r`` of a variant draws its randomness from the variant's seed tree at
``(seed, r, ...)``, exactly as ``simulate`` does, so a variant's result equals
``simulate(variant)`` whichever executor ran it and on how many workers. Variants that
keep the seed share common random numbers: the same requests wherever the volume and
durations agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .catalog import Catalog
from .executors import Executor, ProcessExecutor
from .resolve import resolve_platforms, scenario_catalog
from .runner import PlatformRun, SimulationResult, check_horizon_covers, simulate_replication
from .scenario import Scenario

FIGURE_COLUMNS = [
    "platform",
    "currency",
    "spend_per_month_mean",
    "spend_per_month_p5",
    "spend_per_month_p95",
    "ttr_p50_s",
    "ttr_p99_s",
    "requested",
    "launched",
    "rejected",
    "launched_share",
    "rejected_share",
    "timed_out",
    "hosts_mean",
    "replications",
]
"""Per-platform figures of one simulated variant (see ``platform_figures``)."""


def restrict(
    scenario: Scenario, replications: int | None, platforms: Sequence[str] | None
) -> Scenario:
    """The scenario with ``--replications`` and ``--platform`` applied (where given)."""
    if replications is not None:
        scenario = scenario.with_overrides({"replications": replications}, flag="--replications")
    if platforms:
        scenario = scenario.only_platforms(list(platforms))
    return scenario


@dataclass(frozen=True)
class PointsJob:
    """What every (variant, replication) task needs (sent once to each worker)."""

    scenarios: tuple[Scenario, ...]
    catalog: Catalog
    keep_usage: tuple[bool, ...]


def run_point_replication(job: PointsJob, task: tuple[int, int]) -> dict[str, PlatformRun]:
    """One replication of one variant on every platform of that variant."""
    point, replication = task
    scenario = job.scenarios[point]
    resolved = resolve_platforms(scenario, job.catalog)
    return simulate_replication(scenario, resolved, replication, keep_usage=job.keep_usage[point])


def simulate_points(
    scenarios: Sequence[Scenario],
    *,
    catalog: Catalog | None = None,
    pricing_dirs: Sequence[str | Path] = (),
    executor: Executor | None = None,
    keep_usage: bool | Sequence[bool] = False,
) -> list[SimulationResult]:
    """``[simulate(s) for s in scenarios]``, with every (variant, replication) a task of
    ``executor`` (default: local processes). Every variant is checked and resolved before
    any is simulated, so a bad one fails fast."""
    for scenario in scenarios:
        check_horizon_covers(scenario)
    if catalog is None:
        catalog = scenario_catalog(scenarios[0], tuple(str(p) for p in pricing_dirs))
    resolved = [tuple(resolve_platforms(s, catalog)) for s in scenarios]
    keep = (keep_usage,) * len(scenarios) if isinstance(keep_usage, bool) else tuple(keep_usage)
    job = PointsJob(tuple(scenarios), catalog, keep)
    tasks = [(i, r) for i, s in enumerate(scenarios) for r in range(s.replications)]
    outcomes = (executor or ProcessExecutor()).map(run_point_replication, job, tasks)
    results = [
        SimulationResult(s, catalog, platforms, {p.id: [] for p in platforms})
        for s, platforms in zip(scenarios, resolved, strict=True)
    ]
    for (point, _replication), runs in zip(tasks, outcomes, strict=True):
        for platform_id, run in runs.items():
            results[point].runs[platform_id].append(run)
    return results


def write_table(table: pd.DataFrame, out_dir: str | Path, name: str) -> Path:
    """Write ``table`` as ``out_dir/name`` (CSV, full precision); returns its path."""
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    path = target / name
    table.to_csv(path, index=False, float_format="%.10g")
    return path


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def platform_figures(summary: dict[str, Any]) -> pd.DataFrame:
    """One row per platform of a run's summary.json: monthly spend (mean, P5, P95 across
    replications), time to ready (P50, P99 over all sandboxes), requests per replication
    launched and rejected (at the quota, or given up waiting), and a fleet's mean hosts.
    Every figure is the summary's own."""
    rows = []
    for platform_id, entry in summary["platforms"].items():
        month = entry["cost_usd"]["per_month"]
        counts = entry["sandboxes"]
        ready = entry["time_to_ready_s"]
        rejected = counts["rejected"] + counts["abandoned"]
        rows.append(
            {
                "platform": platform_id,
                "currency": summary["currency"],
                "spend_per_month_mean": month["mean"],
                "spend_per_month_p5": month["p5"],
                "spend_per_month_p95": month["p95"],
                "ttr_p50_s": ready["p50"],
                "ttr_p99_s": ready["p99"],
                "requested": counts["requested"],
                "launched": counts["launched"],
                "rejected": rejected,
                "launched_share": _share(counts["launched"], counts["requested"]),
                "rejected_share": _share(rejected, counts["requested"]),
                "timed_out": counts["timed_out"],
                "hosts_mean": entry["hosts"]["mean"] if entry["hosts"] else None,
                "replications": summary["replications"],
            }
        )
    return pd.DataFrame(rows, columns=FIGURE_COLUMNS)
