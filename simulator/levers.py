"""Levers: for each budget that breaks, the smallest change that makes it hold, found by
simulation, with what it costs in latency and lost work.

Every candidate setting is a changed scenario run through the same forecast (the same
seed and replications, so every candidate sees the same sampled requests: common random
numbers) and checked by the same budget check as `sandsim guard`. Levers:

- ``lifetime_cap``: a maximum lifetime for the budget's workloads on the platform; the
  largest cap on a grid of round durations at which the budget holds (bisection: a
  lower cap never raises spend when billing is per second of run time and a stopped
  task is not retried, which is what the engine models).
- ``concurrency_cap``: the platform's sandbox quota; the largest quota that holds
  (bisection below the peak concurrency the forecast saw). Over the quota the platform
  does what it does (queue, with its timeout, or reject): a queue only defers work, so
  a cap saves money only by work turned away or given up.
- ``snapshot``: launching from memory snapshots instead of cold boots, where the
  profile can; ``warm_pool``: the smallest fixed warm pool per template that holds
  (galloping over 1, 2, 4, ..., then bisection). Both raise the share of launches
  served fast (snapshot, warm or resume), which every lever reports.
- ``move``: the budget's workloads on each other platform of the scenario that can
  run them, checked against the same budget there.
- ``commitment``: each commitment discount of the platform's price table (savings
  plans, committed use; never spot), sized from the simulated hourly usage: an hourly
  commitment buys ``C / (1 - d)`` of on-demand usage per hour at discount ``d`` and is
  paid every hour, used or not; the smallest commitment that holds, on a grid up to
  twice the expected-cost optimum (covering the ``d``-quantile of the hourly usage).
  It is a billing what-if on one simulation (the engine is not re-run).

The search runs on the months the budget breaks in (the other months already hold, and
the search levers other than ``move`` and ``commitment`` never raise spend); the
setting found is then re-simulated over every forecast month, and those figures are
the ones reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .catalog import Catalog
from .errors import InputError
from .executors import Executor, ProcessExecutor
from .forecast import ForecastResult, forecast, run_forecast
from .forecast_spec import Budget
from .guardrails import BudgetCheck, check_budget, money
from .resolve import resolve_platforms
from .scenario import PoolSpec, Scenario
from .units import HOUR_S

LEVERS: tuple[str, ...] = (
    "lifetime_cap",
    "concurrency_cap",
    "snapshot",
    "warm_pool",
    "move",
    "commitment",
    "committed_hosts",
)
LIFETIME_GRID_S: tuple[float, ...] = tuple(
    float(x)
    for x in (
        *(1, 2, 5, 10, 15, 20, 30, 45),
        *(60 * m for m in (1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 45)),
        *(3600 * h for h in (1, 1.5, 2, 3, 4, 6, 8, 12, 24)),
    )
)
"""Round durations a lifetime cap is chosen from."""
COMMITMENT_STEPS = 80
"""Commitment levels tried, evenly from zero to twice the expected-cost optimum."""


@dataclass(frozen=True)
class Service:
    """What the budget's sandboxes went through: the cost of a lever.

    Percentiles are per month over the month's launched sandboxes (the highest of the
    budget's workloads), averaged over replications, in the month where they are
    highest; shares are over every forecast month."""

    time_to_ready_p99_s: float
    queue_wait_p95_s: float
    queue_wait_p99_s: float
    lost_share: float
    """Requests rejected at the quota or abandoned in its queue."""
    timed_out_share: float
    """Launched sandboxes stopped by a lifetime cap."""
    cut_share: float
    """Run time asked for that a lifetime cap cut off (neither done nor billed)."""
    fast_share: float
    """Launches served from a snapshot, a warm pool or a resume rather than a cold boot."""

    def as_dict(self) -> dict[str, float]:
        """JSON-ready."""
        return {k: _finite(v) for k, v in self.__dict__.items()}


def service_of(result: ForecastResult, platform_id: str, workloads: Sequence[str]) -> Service:
    """The service of some workloads on a platform over the forecast."""
    frame = result.experience
    rows = frame[(frame["platform"] == platform_id) & frame["workload"].isin(list(workloads))]

    def worst(column: str) -> float:
        by_run = rows.groupby(["replication", "month"])[column].max()
        per_month = by_run.groupby("month").mean()
        return float(per_month.max()) if len(per_month) else math.nan

    requested, launched = float(rows["requested"].sum()), float(rows["launched"].sum())
    asked = float(rows["asked_s"].sum())
    return Service(
        time_to_ready_p99_s=worst("time_to_ready_p99_s"),
        queue_wait_p95_s=worst("queue_wait_p95_s"),
        queue_wait_p99_s=worst("queue_wait_p99_s"),
        lost_share=1.0 - launched / requested if requested else 0.0,
        timed_out_share=float(rows["timed_out"].sum()) / launched if launched else 0.0,
        cut_share=float(rows["cut_s"].sum()) / asked if asked else 0.0,
        fast_share=float(rows["fast_launches"].sum()) / launched if launched else 0.0,
    )


@dataclass(frozen=True)
class LeverResult:
    """One lever for one broken budget: the setting found and what it costs."""

    lever: str
    setting: str
    """What to change, in words (e.g. "max_lifetime 10m on coding-agent")."""
    value: float | str | None
    """The setting as a value (seconds, sandboxes, a platform id, USD per hour); None
    when the lever does not apply."""
    platform: str
    """The platform the budget is checked on after the change."""
    holds: bool
    check: BudgetCheck | None
    """The budget re-checked over every forecast month with the change (None: not applicable)."""
    service: Service | None
    evaluations: int
    """Settings simulated (or repriced) in the search."""
    note: str = ""
    assumed: bool = False
    """The lever rests on a figure marked assumed (or an "up to" rate)."""

    @property
    def applicable(self) -> bool:
        """Whether the lever could be tried at all."""
        return self.check is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        worst = self.check.worst if self.check is not None else None
        return {
            "lever": self.lever,
            "setting": self.setting,
            "value": self.value,
            "platform": self.platform,
            "applicable": self.applicable,
            "holds": self.holds,
            "worst_month": worst.month if worst else None,
            "spend_at_quantile": worst.spend_at_quantile if worst else None,
            "p_exceed": worst.p_exceed if worst else None,
            "first_breach_month": self.check.first_breach if self.check else None,
            "service": self.service.as_dict() if self.service else None,
            "evaluations": self.evaluations,
            "note": self.note,
            "assumed": self.assumed,
        }


@dataclass(frozen=True)
class BudgetLevers:
    """A broken budget on one platform, and every lever tried for it."""

    before: BudgetCheck
    service_before: Service
    search_months: tuple[str, ...]
    """The months the search simulated (those the budget breaks in)."""
    levers: tuple[LeverResult, ...]
    """Sorted: levers that hold first, then by least disruption (see ``disruption``)."""

    @property
    def saved(self) -> bool:
        """At least one lever makes the budget hold."""
        return any(lever.holds for lever in self.levers)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for summary.json and `sandsim levers --json`."""
        worst = self.before.worst
        return {
            "budget": self.before.budget.name,
            "platform": self.before.platform,
            "amount": self.before.budget.amount,
            "currency": self.before.currency,
            "quantile": self.before.budget.quantile,
            "saved": self.saved,
            "search_months": list(self.search_months),
            "before": {
                "worst_month": worst.month,
                "spend_at_quantile": worst.spend_at_quantile,
                "p_exceed": worst.p_exceed,
                "first_breach_month": self.before.first_breach,
                "service": self.service_before.as_dict(),
            },
            "levers": [lever.as_dict() for lever in self.levers],
        }


@dataclass
class LeversResult:
    """The base forecast, and the levers of every budget check that breaks."""

    base: ForecastResult
    budgets: list[BudgetLevers] = field(default_factory=list)

    @property
    def all_saved(self) -> bool:
        """Every broken budget has at least one lever that holds."""
        return all(b.saved for b in self.budgets)

    def table(self) -> pd.DataFrame:
        """``levers.csv``: one row per broken budget check and lever."""
        rows = []
        for entry in self.budgets:
            before = entry.before.worst
            for lever in entry.levers:
                data = lever.as_dict()
                service = data.pop("service") or {}
                rows.append(
                    {
                        "budget": entry.before.budget.name,
                        "budget_platform": entry.before.platform,
                        "amount": entry.before.budget.amount,
                        "currency": entry.before.currency,
                        "quantile": entry.before.budget.quantile,
                        "spend_at_quantile_before": before.spend_at_quantile,
                        "p_exceed_before": before.p_exceed,
                        **data,
                        **{f"{k}_before": v for k, v in entry.service_before.as_dict().items()},
                        **service,
                    }
                )
        return pd.DataFrame(rows)

    def summary_section(self) -> list[dict[str, Any]]:
        """The ``levers`` section of summary.json."""
        return [entry.as_dict() for entry in self.budgets]

    def summary(self) -> dict[str, Any]:
        """summary.json: the forecast's, with a ``levers`` section."""
        summary = self.base.summary()
        summary["levers"] = self.summary_section()
        return summary

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write summary.json and levers.csv into ``out_dir``; returns their paths."""
        from .summary import write_summary_and_table

        return write_summary_and_table(out_dir, self.summary(), "levers", self.table())


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else math.nan


def scope_workloads(scenario: Scenario, budget: Budget, platform_id: str) -> list[str]:
    """The budget's workloads that a platform runs."""
    choice = next(p for p in scenario.platforms if p.id == platform_id)
    scope = budget.scope
    return [
        w.name
        for w in scenario.workloads
        if choice.runs(w.name) and scope.team in (None, w.team) and scope.workload in (None, w.name)
    ]


def apply_lever(
    scenario: Scenario, budget: Budget, platform_id: str, lever: str, value: float | str
) -> Scenario:
    """The scenario with one lever set, and the budget (same name) checked on the platform
    it applies to: re-run the forecast and its budget check on the result to see the
    lever hold. ``commitment`` is a billing what-if with no scenario field (see
    ``commitment_spend``)."""
    names = scope_workloads(scenario, budget, platform_id)
    platforms = list(scenario.platforms)
    workloads = list(scenario.workloads)
    at = next(i for i, p in enumerate(platforms) if p.id == platform_id)
    target = platform_id
    if lever == "lifetime_cap":
        cap = float(value)
        workloads = [
            w.model_copy(update={"max_lifetime": min(cap, w.max_lifetime or math.inf)})
            if w.name in names
            else w
            for w in workloads
        ]
    elif lever == "concurrency_cap":
        platforms[at] = platforms[at].model_copy(update={"quota": int(value)})
    elif lever == "snapshot":
        platforms[at] = platforms[at].model_copy(update={"launch_mode": "snapshot"})
    elif lever == "warm_pool":
        templates = sorted({w.template_id for w in workloads if w.name in names})
        pools = [p for p in platforms[at].pools if p.template not in templates]
        pools += [PoolSpec(template=t, size=int(value)) for t in templates]
        platforms[at] = platforms[at].model_copy(update={"pools": tuple(pools)})
    elif lever == "committed_hosts":
        fleet = platforms[at].fleet
        if fleet is None:
            raise InputError(
                f"platform {platform_id!r} has no fleet to commit hosts of",
                source="--lever",
                fix="use committed_hosts on a self-hosted fleet, commitment elsewhere",
            )
        update = {"committed_hosts": int(value)}
        platforms[at] = platforms[at].model_copy(update={"fleet": fleet.model_copy(update=update)})
    elif lever == "move":
        target = str(value)
        to = next(i for i, p in enumerate(platforms) if p.id == target)
        runs = platforms[to].workloads
        if runs is not None:
            extended = (*runs, *(n for n in names if n not in runs))
            platforms[to] = platforms[to].model_copy(update={"workloads": extended})
    else:
        raise InputError(
            f"lever {lever!r} cannot be applied to a scenario",
            source="--lever",
            fix=f"use one of {', '.join(x for x in LEVERS if x != 'commitment')}",
        )
    scope = budget.scope.model_copy(update={"platform": target})
    moved = budget.model_copy(update={"scope": scope})
    budgets = [moved if b.name == budget.name else b for b in scenario.budgets]
    return scenario.with_overrides(
        {"workloads": workloads, "platforms": platforms, "budgets": budgets}, flag=f"lever {lever}"
    )


@dataclass
class _Search:
    """Simulates candidate settings of the levers of one broken budget check."""

    scenario: Scenario
    catalog: Catalog
    budget: Budget
    platform: str
    months: tuple[str, ...]
    executor: Executor
    runs: int = 0

    def variant(self, lever: str, value: float | str) -> Scenario:
        changed = apply_lever(self.scenario, self.budget, self.platform, lever, value)
        target = str(value) if lever == "move" else self.platform
        kept = [b for b in changed.budgets if b.name == self.budget.name]
        return changed.with_overrides({"budgets": kept}, flag=f"lever {lever}").only_platforms(
            [target]
        )

    def run(
        self, scenario: Scenario, *, every_month: bool = False, hourly: bool = False
    ) -> tuple[ForecastResult, BudgetCheck]:
        self.runs += 1
        result = run_forecast(
            scenario,
            self.catalog,
            executor=self.executor,
            only_months=None if every_month else self.months,
            hourly=hourly,
        )
        [budget] = scenario.budgets
        check = check_budget(result, budget, scenario.platforms[0].id)
        assert check is not None
        return result, check

    def holds(self, lever: str, value: float | str, cache: dict[Any, BudgetCheck]) -> bool:
        if value not in cache:
            cache[value] = self.run(self.variant(lever, value))[1]
        return cache[value].holds

    def final(self, lever: str, value: float | str, setting: str, note: str = "") -> LeverResult:
        """The setting re-simulated over every month: the figures reported."""
        scenario = self.variant(lever, value)
        result, check = self.run(scenario, every_month=True)
        target = scenario.platforms[0].id
        return LeverResult(
            lever,
            setting,
            value,
            target,
            check.holds,
            check,
            service_of(result, target, scope_workloads(scenario, self.budget, target)),
            self.runs,
            note,
        )


def _largest_holding(
    candidates: Sequence[float], holds: Callable[[float], bool]
) -> tuple[float | None, float]:
    """The largest candidate (ascending) that holds, assuming that holding is monotone
    (every smaller candidate holds too), and the smallest candidate (the best tried)."""
    if not candidates or not holds(candidates[0]):
        return None, candidates[0] if candidates else math.nan
    low, high = 0, len(candidates)  # candidates[low] holds; candidates[high] (or beyond) fails
    while high - low > 1:
        middle = (low + high) // 2
        if holds(candidates[middle]):
            low = middle
        else:
            high = middle
    return candidates[low], candidates[0]


def _smallest_holding(
    search: _Search, lever: str, now: int, limit: int
) -> tuple[int | None, dict[Any, BudgetCheck]]:
    """The smallest setting above ``now`` (up to ``limit``) that holds, for a lever whose
    spend first falls and then rises with its setting (a pool, committed hosts): gallop
    over now + 1, 2, 4, ... until one holds, stopping when spend has risen twice in a
    row, then bisect between the last that failed and the first that holds. Returns it
    (None: none tried holds) and every check simulated."""
    cache: dict[Any, BudgetCheck] = {}
    step, failing, rises, previous = 1, now, 0, math.inf
    setting = now + step
    while setting <= limit and not search.holds(lever, setting, cache):
        spend = cache[setting].worst.spend_at_quantile
        rises = rises + 1 if spend > previous else 0
        if rises >= 2:
            return None, cache  # more of it costs more than it saves
        failing, previous, step = setting, spend, step * 2
        setting = now + step
    if setting > limit:
        return None, cache
    while setting - failing > 1:
        middle = (failing + setting) // 2
        if search.holds(lever, middle, cache):
            setting = middle
        else:
            failing = middle
    return setting, cache


def _not_applicable(lever: str, platform: str, note: str) -> LeverResult:
    return LeverResult(lever, "-", None, platform, False, None, None, 0, note)


def _lifetime(search: _Search, base: ForecastResult) -> LeverResult:
    resolved = next(p for p in base.platforms if p.id == search.platform)
    names = scope_workloads(search.scenario, search.budget, search.platform)
    limits = [
        min(
            resolved.max_lifetime_s or math.inf,
            next(w for w in search.scenario.workloads if w.name == n).max_lifetime or math.inf,
        )
        for n in names
    ]
    current = max(limits) if limits else math.inf
    grid = [g for g in LIFETIME_GRID_S if g < current]
    cache: dict[Any, BudgetCheck] = {}
    found, smallest = _largest_holding(grid, lambda g: search.holds("lifetime_cap", g, cache))
    where = f" on {', '.join(names)}"
    if found is None:
        if not grid:
            return _not_applicable("lifetime_cap", search.platform, "no shorter cap to try")
        result = search.final(
            "lifetime_cap",
            smallest,
            f"max_lifetime {_duration(smallest)}{where}",
            "no cap on the grid holds; the shortest is shown",
        )
        return result
    return search.final("lifetime_cap", found, f"max_lifetime {_duration(found)}{where}")


def _quota(search: _Search, base: ForecastResult) -> LeverResult:
    if next(p for p in base.platforms if p.id == search.platform).fleet is not None:
        return _not_applicable(
            "concurrency_cap",
            search.platform,
            "a fleet's capacity is its hosts; cap it with autoscaling.max_hosts",
        )
    rows = base.service[base.service["platform"] == search.platform]
    peak = int(rows["peak_concurrency"].max()) if len(rows) else 0
    if peak <= 1:
        return _not_applicable("concurrency_cap", search.platform, "at most one sandbox at once")
    resolved = next(p for p in base.platforms if p.id == search.platform)
    cache: dict[Any, BudgetCheck] = {}
    found, smallest = _largest_holding(
        [float(n) for n in range(1, peak)],
        lambda n: search.holds("concurrency_cap", int(n), cache),
    )
    behaviour = resolved.over_quota + (
        f" (timeout {_duration(resolved.queue_timeout_s)})"
        if resolved.over_quota == "queue" and resolved.queue_timeout_s is not None
        else ""
    )
    note = f"over the quota the platform does what it does: {behaviour}; the quota applies to every workload on {search.platform}"
    if found is None:
        return search.final(
            "concurrency_cap",
            int(smallest),
            f"quota {int(smallest)}",
            f"no quota holds, not even 1; {note}",
        )
    return search.final("concurrency_cap", int(found), f"quota {int(found)} sandboxes", note)


def _snapshot(search: _Search, base: ForecastResult) -> LeverResult:
    resolved = next(p for p in base.platforms if p.id == search.platform)
    if resolved.launch_mode != "cold":
        return _not_applicable(
            "snapshot", search.platform, f"launches are already {resolved.launch_mode}"
        )
    try:
        resolve_platforms(search.variant("snapshot", "snapshot"), search.catalog)
    except InputError as error:
        return _not_applicable("snapshot", search.platform, error.problem)
    return search.final("snapshot", "snapshot", "launch_mode snapshot")


def _pool(search: _Search, base: ForecastResult) -> LeverResult:
    resolved = next(p for p in base.platforms if p.id == search.platform)
    pools = resolved.price_table.pools if resolved.fleet is None else None
    if pools is not None and (pools.warm_vcpu is not None or pools.warm_memory is not None):
        return _not_applicable(
            "warm_pool",
            search.platform,
            "its pool is provisioned concurrency (a fixed number of instances, billed "
            "always); the pool model keeps idle sandboxes and refills, so it would serve "
            "more warm invocations at once than were provisioned",
        )
    rows = base.service[base.service["platform"] == search.platform]
    peak = max(1, int(rows["peak_concurrency"].max()) if len(rows) else 1)
    try:
        resolve_platforms(search.variant("warm_pool", 1), search.catalog)
    except InputError as error:
        return _not_applicable("warm_pool", search.platform, error.problem)
    size, cache = _smallest_holding(search, "warm_pool", 0, peak)
    if size is not None:
        return search.final("warm_pool", size, f"warm pool of {size} per template")
    best = min(cache, key=lambda n: cache[n].worst.spend_at_quantile)
    return search.final(
        "warm_pool",
        best,
        f"warm pool of {best} per template",
        f"no pool up to {peak} (the peak concurrency) holds; the cheapest tried is shown",
    )


def _moves(search: _Search, base: ForecastResult) -> list[LeverResult]:
    names = scope_workloads(search.scenario, search.budget, search.platform)
    found = []
    for choice in search.scenario.platforms:
        if choice.id == search.platform:
            continue
        try:
            scenario = search.variant("move", choice.id)
            resolve_platforms(scenario, search.catalog)
        except InputError as error:
            found.append(_not_applicable("move", choice.id, f"cannot run {names}: {error.problem}"))
            continue
        moved = scenario.budgets[0]
        runs_already = set(names) <= set(scope_workloads(base.scenario, moved, choice.id))
        if runs_already:  # the base forecast ran it: the same figures (common random numbers)
            check = check_budget(base, moved, choice.id)
            assert check is not None
            result = LeverResult(
                "move",
                f"move {', '.join(names)} to {choice.id}",
                choice.id,
                choice.id,
                check.holds,
                check,
                service_of(base, choice.id, names),
                0,
            )
        else:
            search.runs = 0
            result = search.final("move", choice.id, f"move {', '.join(names)} to {choice.id}")
        found.append(result)
    return found


def commitment_spend(
    result: ForecastResult,
    platform_id: str,
    budget: Budget,
    fraction: float,
    applies_to: Sequence[str],
    usd_per_hour: float,
) -> np.ndarray:
    """The budget's spend per replication (rows) and month (columns) with an hourly
    commitment of ``usd_per_hour`` at discount ``fraction`` on the components
    ``applies_to``, from a forecast run with ``hourly`` detail and no discount.

    The eligible spend of a month (net of free tier and plan credit) is spread over its
    hours in proportion to the eligible rate of the sandboxes running in each hour; an
    hour's usage up to ``usd_per_hour / (1 - fraction)`` at on-demand prices is covered
    by the commitment, the rest is billed on demand, and the commitment is paid every
    hour of the calendar month, used or not."""
    hours = _hourly_eligible(result, platform_id, budget, applies_to)
    spend = result.spend(platform_id, team=budget.scope.team, workload=budget.scope.workload)
    eligible = _eligible_net(result, platform_id, budget, applies_to)
    over = hours.assign(
        over=beyond_commitment(hours["usd"].to_numpy(), usd_per_hour, fraction) * hours["weight"]
    )
    on_demand = result.by_run(over.groupby(["replication", "month"])["over"].sum())
    calendar_hours = np.array([m.days * 24.0 for m in result.months])
    return spend - eligible + on_demand + usd_per_hour * calendar_hours


def beyond_commitment(hourly_usd: np.ndarray, usd_per_hour: float, fraction: float) -> np.ndarray:
    """On-demand spend left over in each hour by an hourly commitment of ``usd_per_hour``
    at discount ``fraction``: it covers ``usd_per_hour / (1 - fraction)`` of the hour's
    usage at on-demand prices."""
    return np.maximum(
        0.0, np.asarray(hourly_usd, dtype=np.float64) - usd_per_hour / (1.0 - fraction)
    )


def _eligible_net(
    result: ForecastResult, platform_id: str, budget: Budget, applies_to: Sequence[str]
) -> np.ndarray:
    """Eligible spend (components ``applies_to``) per replication and month of the budget's scope."""
    frame = result.components
    assert frame is not None, "run the forecast with hourly=True"
    names = scope_workloads(result.scenario, budget, platform_id)
    rows = frame[
        (frame["platform"] == platform_id)
        & frame["workload"].isin(names)
        & frame["component"].isin(list(applies_to))
    ]
    return result.by_run(rows.groupby(["replication", "month"])["cost_usd"].sum())


def _hourly_eligible(
    result: ForecastResult, platform_id: str, budget: Budget, applies_to: Sequence[str]
) -> pd.DataFrame:
    """Per replication, month, window and hour: the eligible on-demand spend of the
    budget's workloads (USD in that hour) and the window's weight."""
    frame = result.hourly
    assert frame is not None, "run the forecast with hourly=True"
    resolved = next(p for p in result.platforms if p.id == platform_id)
    table = resolved.price_table
    names = scope_workloads(result.scenario, budget, platform_id)
    rate = {}
    for index, workload in enumerate(result.scenario.workloads):
        shape = resolved.shapes[index]
        if workload.name not in names or shape is None:
            continue
        per_second = 0.0
        if "vcpu" in applies_to and table.vcpu is not None:
            per_second += shape.vcpu * table.vcpu.usd_per_second
        if "memory" in applies_to and table.memory is not None:
            per_second += shape.memory_gib * table.memory.usd_per_second
        if "gpu" in applies_to and shape.gpu_type is not None:
            per_second += shape.gpu_count * table.gpu[shape.gpu_type].usd_per_second
        rate[workload.name] = per_second * HOUR_S
    rows = frame[(frame["platform"] == platform_id) & frame["workload"].isin(list(rate))]
    rows = rows.assign(usd=rows["running"] * rows["workload"].map(rate))
    hours = (
        rows.groupby(["replication", "month", "window", "hour"])
        .agg(usd=("usd", "sum"), weight=("weight", "first"))
        .reset_index()
    )
    # scale each replication-month's hours so that they add up to its eligible net spend
    eligible = _eligible_net(result, platform_id, budget, applies_to)
    gross = result.by_run(
        (hours["usd"] * hours["weight"]).groupby([hours["replication"], hours["month"]]).sum(),
    )
    scale = np.divide(eligible, gross, out=np.zeros_like(eligible), where=gross > 0)
    column = {m.index: i for i, m in enumerate(result.months)}
    months = hours["month"].map(column).to_numpy(dtype=np.int64)
    hours["usd"] = hours["usd"] * scale[hours["replication"].to_numpy(dtype=np.int64), months]
    return hours


def _commitments(search: _Search, base: ForecastResult) -> list[LeverResult]:
    resolved = next(p for p in base.platforms if p.id == search.platform)
    if resolved.fleet is not None:
        return [_committed_hosts(search, base)]
    offered = {name: d for name, d in resolved.price_table.discounts.items() if "spot" not in name}
    if not offered:
        return [
            _not_applicable(
                "commitment",
                search.platform,
                f"price table {resolved.price_table.id} offers no savings plan or committed-use discount",
            )
        ]
    at = next(i for i, p in enumerate(search.scenario.platforms) if p.id == search.platform)
    platforms = list(search.scenario.platforms)
    platforms[at] = platforms[at].model_copy(update={"discount": None})
    undiscounted = search.scenario.with_overrides(
        {"platforms": platforms, "budgets": [search.budget]}, flag="lever commitment"
    ).only_platforms([search.platform])
    result, _ = search.run(undiscounted, every_month=True, hourly=True)
    names = scope_workloads(search.scenario, search.budget, search.platform)
    found = []
    for name, discount in offered.items():
        hours = _hourly_eligible(result, search.platform, search.budget, discount.applies_to)
        optimum = _weighted_quantile(hours["usd"], hours["weight"], discount.fraction) * (
            1 - discount.fraction
        )
        levels = np.linspace(0.0, 2.0 * optimum, COMMITMENT_STEPS + 1)
        best: tuple[float, BudgetCheck] | None = None
        for level in levels:
            spend = commitment_spend(
                result,
                search.platform,
                search.budget,
                discount.fraction,
                discount.applies_to,
                float(level),
            )
            check = _check_from_spend(result, search.budget, search.platform, spend)
            if check.holds:
                best = (float(level), check)
                break
            if best is None or check.worst.spend_at_quantile < best[1].worst.spend_at_quantile:
                best = (float(level), check)
        assert best is not None
        level, check = best
        source = f"{discount.fraction:.0%} on {', '.join(discount.applies_to)} ({discount.source})"
        assumed = discount.assumed or "up to" in (discount.note or "").lower()
        note = (
            f"{name}: {source}; sized from the simulated hourly usage of {', '.join(names)} "
            f"(expected-cost optimum {money(optimum, result.currency)}/h)"
            + ("" if check.holds else "; no commitment level holds, the cheapest is shown")
            + ("; the rate is assumed or an 'up to' figure" if assumed else "")
        )
        found.append(
            LeverResult(
                "commitment",
                f"{name} at {money(level, result.currency)}/h",
                level,
                search.platform,
                check.holds,
                check,
                service_of(result, search.platform, names),
                len(levels),
                note,
                assumed,
            )
        )
    return found


def _committed_hosts(search: _Search, base: ForecastResult) -> LeverResult:
    """More of a fleet's hosts bought on its commitment (reserved or savings plan): the
    smallest count that holds, by simulation (committed hosts run from the start, so the
    engine runs again): 1, 2, 4, ... more than now (stopping when spend has risen twice
    in a row), then bisection."""
    choice = next(p for p in search.scenario.platforms if p.id == search.platform)
    spec = choice.fleet
    assert spec is not None
    if spec.inventory is not None:
        return _not_applicable(
            "committed_hosts",
            search.platform,
            "a fixed inventory: buy it on a commitment with fleet.purchase instead",
        )
    table = search.catalog.host_tables.get(spec.host_prices)
    host = table.hosts.get(spec.host_type or "") if table is not None else None
    price = host.prices.get(spec.commitment) if host is not None else None
    if price is None:
        return _not_applicable(
            "committed_hosts",
            search.platform,
            f"host price table {spec.host_prices} has no {spec.commitment} price for {spec.host_type}",
        )
    current, most = spec.committed_hosts, spec.autoscaling.max_hosts
    count, cache = _smallest_holding(search, "committed_hosts", current, most)
    note = (
        f"{spec.commitment} at {price.usd:g} USD/{price.per} per {spec.host_type}"
        f" ({price.source}); now {current} committed"
        + ("; the price is assumed" if price.assumed else "")
    )
    if count is not None:
        result = search.final("committed_hosts", count, f"{count} committed hosts", note)
    elif not cache:
        return _not_applicable("committed_hosts", search.platform, f"already at max_hosts {most}")
    else:
        best = min(cache, key=lambda n: cache[n].worst.spend_at_quantile)
        result = search.final(
            "committed_hosts",
            best,
            f"{best} committed hosts",
            f"{note}; no count up to max_hosts {most} holds, the cheapest tried is shown",
        )
    return replace(result, assumed=price.assumed)


def _weighted_quantile(values: pd.Series, weights: pd.Series, q: float) -> float:
    from .forecast import weighted_quantile

    return weighted_quantile(
        values.to_numpy(dtype=np.float64), weights.to_numpy(dtype=np.float64), q
    )


def _check_from_spend(
    result: ForecastResult, budget: Budget, platform_id: str, spend: np.ndarray
) -> BudgetCheck:
    """A budget check on a spend matrix that replaces the forecast's (repriced)."""
    from .guardrails import check_spend

    return check_spend(budget, platform_id, result.currency, result.months, spend)


def disruption(lever: LeverResult, before: Service) -> tuple[float, ...]:
    """Sort key: levers that hold first, then the share of work lost (rejected, given
    up, cut), then the seconds added to p99 time-to-ready and p99 queue wait, then spend."""
    if lever.service is None or lever.check is None:
        return (2.0, math.inf, math.inf, math.inf)
    s = lever.service
    lost = s.lost_share + s.cut_share
    added = max(0.0, np.nan_to_num(s.time_to_ready_p99_s - before.time_to_ready_p99_s)) + max(
        0.0, np.nan_to_num(s.queue_wait_p99_s - before.queue_wait_p99_s)
    )
    return (0.0 if lever.holds else 1.0, round(lost, 6), added, lever.check.worst.spend_at_quantile)


def levers(
    scenario: Scenario,
    *,
    budgets: Sequence[str] | None = None,
    only: Sequence[str] | None = None,
    executor: Executor | None = None,
    **options: Any,
) -> LeversResult:
    """For every budget check that breaks, search each lever (``only``: some of
    ``LEVERS``) for the least disruptive setting that makes it hold, by simulation.

    ``executor`` and ``options`` (``months``, ``replications``, ``seed``, ``precision``,
    ``platforms``, ``pricing_dirs``, ``catalog``) are those of ``forecast``."""
    known = [b.name for b in scenario.budgets]
    if not known:
        raise InputError(
            "the scenario has no budgets to find levers for",
            source=str(scenario.source or "scenario"),
            field="budgets",
            fix="add budgets, e.g. budgets: [{name: team-a, scope: {team: a}, monthly_usd: 5000}]",
        )
    for name in budgets or ():
        if name not in known:
            raise InputError(
                f"unknown budget {name!r}", source="--budget", fix=f"use one of: {', '.join(known)}"
            )
    for name in only or ():
        if name not in LEVERS:
            raise InputError(
                f"unknown lever {name!r}", source="--lever", fix=f"use one of: {', '.join(LEVERS)}"
            )
    runner = executor or ProcessExecutor()
    base = forecast(scenario, executor=runner, **options)
    chosen = set(only or LEVERS)
    if "committed_hosts" in chosen:
        chosen.add("commitment")
    found = LeversResult(base)
    checks = base.check_budgets()
    if not any(budgets is None or not budgets or c.budget.name in budgets for c in checks):
        raise InputError(
            "no budget applies to the platforms forecast, so nothing would be checked",
            source=str(scenario.source or "scenario"),
            field="budgets",
            fix="drop --platform, or scope a budget to a platform that is forecast",
        )
    for check in checks:
        if check.holds or (budgets and check.budget.name not in budgets):
            continue
        breaking = tuple(m.month for m in check.months if m.spend_at_quantile > check.budget.amount)
        search = _Search(
            base.scenario, base.catalog, check.budget, check.platform, breaking, runner
        )
        names = scope_workloads(base.scenario, check.budget, check.platform)
        before = service_of(base, check.platform, names)
        results: list[LeverResult] = []
        steps: list[tuple[str, Callable[[_Search, ForecastResult], Any]]] = [
            ("lifetime_cap", _lifetime),
            ("concurrency_cap", _quota),
            ("snapshot", _snapshot),
            ("warm_pool", _pool),
            ("move", _moves),
            ("commitment", _commitments),
        ]
        for name, step in steps:
            if name not in chosen:
                continue
            search.runs = 0
            outcome = step(search, base)
            results.extend(outcome if isinstance(outcome, list) else [outcome])
        results.sort(key=lambda lever: disruption(lever, before))
        found.budgets.append(BudgetLevers(check, before, breaking, tuple(results)))
    return found


def _duration(seconds: float | None) -> str:
    from .units import format_duration

    return "-" if seconds is None else format_duration(seconds)


__all__ = [
    "LEVERS",
    "BudgetLevers",
    "LeverResult",
    "LeversResult",
    "Service",
    "apply_lever",
    "beyond_commitment",
    "commitment_spend",
    "levers",
    "scope_workloads",
    "service_of",
]
