"""Monthly forecasts: spend per calendar month as a distribution across replications.

What is simulated: for every replication and every forecast month, the month's calendar
days (or a stratified sample of them, ``forecast.sample_days``) run back to back
through the engine, with each workload's arrivals a non-homogeneous Poisson process
whose rate is the scenario's (its hour-of-day profile included) times the month's
compound growth, the day's weekday or weekend factor and any event factors. Every
platform replays the same sampled requests (common random numbers), as in ``simulate``.

What is priced: the month's usage as one billing month, by the same pure billing
functions as a run: the free tier and plan credit come off the month's aggregate once,
the plan fee is charged once, discounts apply as chosen. A self-hosted fleet's bill is
its host time over the simulated days.

What is extrapolated: only with ``sample_days``, each kind of day's usage is scaled up
from its simulated days to its calendar days (the mean is unbiased; the spread of the
extrapolated part is overstated by up to the square root of that scale, a conservative
band for budgets). Nothing else is scaled.

Replication ``r`` draws all its randomness from the seed tree at ``(seed, r, "forecast",
month, ...)``, never from the worker that runs it: any executor and any number of
workers give identical results.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from .arrivals import DiurnalArrivals, PoissonArrivals
from .billing import AMOUNT_COLUMNS, price_quantities, usage_quantities
from .catalog import Catalog
from .distributions import FloatArray
from .engine import run_platform
from .errors import InputError
from .executors import Executor, ProcessExecutor
from .fleet_billing import IDLE_TEAM
from .forecast_spec import ForecastSpec, add_months, days_in_month
from .intervals import count_over_time, peak_overlap
from .resolve import ResolvedPlatform, resolve_platforms, scenario_catalog
from .rng import stream
from .runner import MAX_ACTIVATIONS, bill_platform, billing_inputs
from .scenario import Scenario, Workload
from .units import DAY_S, HOUR_S, MONTH_S
from .usage import ABANDONED, MODE_CODES, REJECTED, TIMED_OUT
from .workload import SampledWorkload, merge_sampled, next_session, sample_tracks

MIN_BAND_REPLICATIONS = 20
"""Below this many replications, P5 and P95 rest on the one or two most extreme runs."""

COST_COLUMNS = ["replication", "month", "platform", "workload", "team", "cost_usd"]
SERVICE_COLUMNS = [
    "replication",
    "month",
    "platform",
    "requested",
    "launched",
    "timed_out",
    "peak_concurrency",
]
EXPERIENCE_COLUMNS = [
    "replication",
    "month",
    "platform",
    "workload",
    "requested",
    "launched",
    "timed_out",
    "fast_launches",
    "cut_s",
    "asked_s",
    "time_to_ready_p99_s",
    "queue_wait_p95_s",
    "queue_wait_p99_s",
]
"""What the sandboxes of one workload went through in a month: launches served fast
(snapshot, warm or resume), run time cut by a lifetime cap and the run time asked for,
and time-to-ready and queue-wait percentiles over the month's launched sandboxes."""
HOURLY_COLUMNS = [
    "replication",
    "month",
    "platform",
    "workload",
    "window",
    "weight",
    "hour",
    "running",
]
"""Only with ``hourly``: the time-weighted mean count of a workload's running sandboxes
(launch start to end) in each hour of each simulated window."""
COMPONENT_COLUMNS = ["replication", "month", "platform", "workload", "component", "cost_usd"]
QUANTITY_KEYS = ["period", "workload", "team", "component", "item", "unit"]


@dataclass(frozen=True)
class Window:
    """Days simulated back to back as one run, each standing for ``weight`` calendar days."""

    factors: FloatArray
    """Volume multiplier per simulated day (rows) and workload (columns)."""
    weight: float

    @property
    def days(self) -> int:
        """Simulated days."""
        return int(self.factors.shape[0])


@dataclass(frozen=True)
class MonthPlan:
    """One forecast month: its calendar, what is simulated, and the expected volume."""

    index: int
    """0 for the first month."""
    label: str
    """YYYY-MM."""
    days: int
    """Calendar days."""
    windows: tuple[Window, ...]
    expected_requests: tuple[float, ...]
    """Mean requests (sessions, for session workloads) per workload over the calendar month."""


def _hourly_mass(workload: Workload) -> FloatArray:
    """Mean arrivals in each hour of a day at volume factor 1."""
    arrivals = workload.arrivals
    if isinstance(arrivals, DiurnalArrivals):
        return arrivals.per_day * arrivals.hourly_share
    assert isinstance(arrivals, PoissonArrivals)
    return np.full(24, arrivals.rate_per_s * HOUR_S)


def day_factors(spec: ForecastSpec, scenario: Scenario, first: dt.date, month: int) -> FloatArray:
    """Volume multiplier per calendar day of a month (rows) and workload (columns)."""
    names = [w.name for w in scenario.workloads]
    growth = np.array([(1.0 + spec.growth_of(name)) ** month for name in names])
    rows = []
    for offset in range(days_in_month(first)):
        day = first + dt.timedelta(days=offset)
        factor = growth * (spec.weekend if day.weekday() >= 5 else spec.weekday)
        for event in spec.events:
            if event.start <= day < event.end:
                hit = np.array([event.workloads is None or n in event.workloads for n in names])
                factor = np.where(hit, factor * event.factor, factor)
        rows.append(factor)
    return np.array(rows, dtype=np.float64)


def plan_months(scenario: Scenario) -> tuple[MonthPlan, ...]:
    """The months of the scenario's forecast and the days simulated for each."""
    spec = scenario.forecast
    assert spec is not None
    daily = np.array([_hourly_mass(w).sum() for w in scenario.workloads])
    plans = []
    for month in range(spec.months):
        first = add_months(spec.first_day, month)
        factors = day_factors(spec, scenario, first, month)
        days = factors.shape[0]
        if spec.sample_days is None or spec.sample_days >= days:
            windows: tuple[Window, ...] = (Window(factors, 1.0),)
        else:
            kinds: dict[tuple[float, ...], int] = {}
            for row in factors:
                kinds[tuple(row)] = kinds.get(tuple(row), 0) + 1
            windows = tuple(
                Window(np.tile(np.array(kind), (k, 1)), count / k)
                for kind, count in kinds.items()
                for k in [min(count, max(1, round(spec.sample_days * count / days)))]
            )
        plans.append(
            MonthPlan(
                month,
                first.strftime("%Y-%m"),
                days,
                windows,
                tuple(float(x) for x in daily * factors.sum(axis=0)),
            )
        )
    return tuple(plans)


def nhpp_times(rng: np.random.Generator, mass: FloatArray, cell_s: float) -> FloatArray:
    """Sorted arrival times of a Poisson process whose mean count in cell ``i`` (of length
    ``cell_s``, back to back from 0) is ``mass[i]``, rate constant within a cell.

    Built by time change: a unit-rate process's points ``E_k`` map to ``Lambda^-1(E_k)``.
    The k-th arrival always uses the k-th exponential draw, so a larger mass anywhere
    only adds arrivals (a monotone coupling: more growth never removes a request)."""
    cumulative = np.concatenate(([0.0], np.cumsum(mass)))
    total = float(cumulative[-1])
    if total <= 0:
        return np.empty(0)
    chunk = int(total + 6.0 * math.sqrt(total) + 16)
    draws = rng.standard_exponential(chunk)
    points = np.cumsum(draws)
    while points[-1] < total:
        draws = np.concatenate((draws, rng.standard_exponential(chunk)))
        points = np.cumsum(draws)
    points = points[points < total]
    cell = np.searchsorted(cumulative, points, side="right") - 1
    within = (points - cumulative[cell]) / mass[cell]
    return (cell + within) * cell_s


def sample_window(
    scenario: Scenario, window: Window, replication: int, labels: tuple[str, ...]
) -> SampledWorkload:
    """The requests of one replication over a window's days (time 0 is its first midnight)."""
    seed = scenario.seed
    parts: list[tuple[FloatArray, FloatArray]] = []
    tracks = []
    sessions = 0
    horizon = window.days * DAY_S
    for index, workload in enumerate(scenario.workloads):
        mass = np.outer(window.factors[:, index], _hourly_mass(workload)).ravel()
        rng = stream(seed, replication, *labels, "arrivals", workload.name)
        times = nhpp_times(rng, mass, HOUR_S)
        if workload.session is not None:
            part = sample_tracks(
                workload, index, horizon, seed, replication, sessions, starts=times, labels=labels
            )
            sessions = next_session(part, sessions)
            tracks.append(part)
            parts.append((np.empty(0), np.empty(0)))
            continue
        assert workload.duration is not None
        durations = workload.duration.sample(
            stream(seed, replication, *labels, "durations", workload.name), times.size
        )
        parts.append((times, durations))
    return merge_sampled(scenario, horizon, parts, tracks)


@dataclass(frozen=True)
class ForecastJob:
    """Everything a replication task needs (sent once to each worker)."""

    scenario: Scenario
    catalog: Catalog
    months: tuple[MonthPlan, ...]
    hourly: bool = False
    """Also record hourly running sandboxes and spend per component (for commitments)."""


@dataclass(frozen=True)
class ReplicationOutcome:
    """One replication's spend per month, platform, workload and team, and its service."""

    costs: pd.DataFrame
    service: pd.DataFrame
    experience: pd.DataFrame
    hourly: pd.DataFrame | None = None
    components: pd.DataFrame | None = None


def weighted_quantile(values: FloatArray, weights: FloatArray, q: float) -> float:
    """The q-quantile of values each standing for ``weight`` values (NaN when empty):
    the smallest value with at least ``q`` of the total weight at or below it."""
    if values.size == 0:
        return math.nan
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, q * cumulative[-1] * (1 - 1e-12), side="left"))
    return float(values[order][min(index, values.size - 1)])


@dataclass
class _Experience:
    """One platform-month-workload's service figures, accumulated over windows."""

    counts: FloatArray = field(default_factory=lambda: np.zeros(6))
    ready: list[FloatArray] = field(default_factory=list)
    waits: list[FloatArray] = field(default_factory=list)
    weights: list[FloatArray] = field(default_factory=list)

    def add(self, usage: Any, rows: Any, weight: float) -> None:
        launched = rows & usage.launched
        cut = usage.cut_s[rows] if usage.cut_s is not None else np.zeros(int(rows.sum()))
        ran = usage.end_s[launched] - usage.ready_s[launched]
        self.counts += weight * np.array(
            [
                rows.sum(),
                launched.sum(),
                (rows & (usage.outcome == TIMED_OUT)).sum(),
                (launched & (usage.launch_mode != MODE_CODES["cold"])).sum(),
                float(np.nansum(cut)),
                float(np.nansum(ran)) + float(np.nansum(cut)),
            ],
            dtype=np.float64,
        )
        self.ready.append(usage.ready_s[launched] - usage.request_s[launched])
        self.waits.append(usage.admit_s[launched] - usage.quota_arrival_s[launched])
        self.weights.append(np.full(int(launched.sum()), weight))

    def row(self) -> list[float]:
        ready, waits = np.concatenate(self.ready), np.concatenate(self.waits)
        weights = np.concatenate(self.weights)
        return [
            *(float(x) for x in self.counts),
            weighted_quantile(ready, weights, 0.99),
            weighted_quantile(waits, weights, 0.95),
            weighted_quantile(waits, weights, 0.99),
        ]


def _price_month(
    platform: ResolvedPlatform, scenario: Scenario, pieces: list[pd.DataFrame]
) -> pd.DataFrame:
    """Line items of one platform-month from its windows' weighted quantities (or, for a
    fleet, its windows' weighted line items)."""
    if platform.fleet is not None:
        return pd.concat(pieces, ignore_index=True)
    quantities = pd.concat(pieces, ignore_index=True)
    summed = quantities.groupby(QUANTITY_KEYS, sort=False)["quantity"].sum().reset_index()
    return price_quantities(summed, billing_inputs(scenario, platform), MONTH_S)


def run_replication(job: ForecastJob, replication: int) -> ReplicationOutcome:
    """Simulate and price every month of one replication on every platform."""
    scenario = job.scenario
    resolved = resolve_platforms(scenario, job.catalog)
    models = {p.id: p.engine_model(scenario) for p in resolved}
    costs: list[dict[str, Any]] = []
    service: list[dict[str, Any]] = []
    experience: list[list[Any]] = []
    hourly: list[pd.DataFrame] = []
    components: list[pd.DataFrame] = []
    for month in job.months:
        pieces: dict[str, list[pd.DataFrame]] = {p.id: [] for p in resolved}
        counts = {p.id: np.zeros(3) for p in resolved}
        peaks = dict.fromkeys(counts, 0)
        seen = {(p.id, i): _Experience() for p in resolved for i in p.workload_indices}
        for number, window in enumerate(month.windows):
            labels = ("forecast", month.label, f"window-{number}")
            sampled = sample_window(scenario, window, replication, labels)
            for platform in resolved:
                rng = stream(
                    scenario.seed,
                    replication,
                    *labels,
                    "launch",
                    platform.profile.id,
                    platform.launch_mode,
                )
                usage = run_platform(
                    models[platform.id], sampled.subset(list(platform.workload_indices)), rng
                )
                counts[platform.id] += window.weight * np.array(
                    [
                        usage.size,
                        usage.size - usage.count(REJECTED) - usage.count(ABANDONED),
                        usage.count(TIMED_OUT),
                    ]
                )
                admitted = usage.launched
                peaks[platform.id] = max(
                    peaks[platform.id],
                    peak_overlap(usage.admit_s[admitted], usage.end_s[admitted]),
                )
                for index in platform.workload_indices:
                    rows = usage.workload_index == index
                    seen[(platform.id, index)].add(usage, rows, window.weight)
                    if job.hourly:
                        running = count_over_time(
                            usage.launch_start_s[rows & admitted],
                            usage.end_s[rows & admitted],
                            window.days * DAY_S,
                            HOUR_S,
                        )
                        hourly.append(
                            pd.DataFrame(
                                {
                                    "replication": replication,
                                    "month": month.index,
                                    "platform": platform.id,
                                    "workload": scenario.workloads[index].name,
                                    "window": number,
                                    "weight": window.weight,
                                    "hour": np.arange(running.size),
                                    "running": running,
                                }
                            )
                        )
                if platform.fleet is not None:
                    lines = bill_platform(usage, scenario, platform)
                    lines[AMOUNT_COLUMNS] = lines[AMOUNT_COLUMNS] * window.weight
                    pieces[platform.id].append(lines)
                else:
                    quantities = usage_quantities(usage, billing_inputs(scenario, platform))
                    quantities["period"] = 0
                    quantities["quantity"] = quantities["quantity"] * window.weight
                    pieces[platform.id].append(quantities)
        for platform in resolved:
            items = _price_month(platform, scenario, pieces[platform.id])
            spend = items.groupby(["workload", "team"], sort=False)["cost_usd"].sum()
            if job.hourly:
                by_component = (
                    items.groupby(["workload", "component"], sort=False)["cost_usd"]
                    .sum()
                    .reset_index()
                )
                by_component.insert(0, "platform", platform.id)
                by_component.insert(0, "month", month.index)
                by_component.insert(0, "replication", replication)
                components.append(by_component[COMPONENT_COLUMNS])
            experience.extend(
                [
                    replication,
                    month.index,
                    platform.id,
                    scenario.workloads[index].name,
                    *seen[(platform.id, index)].row(),
                ]
                for index in platform.workload_indices
            )
            for index in platform.workload_indices:
                workload = scenario.workloads[index]
                key = (workload.name, workload.team)
                costs.append(_cost_row(replication, month, platform, key, spend.get(key, 0.0)))
            for key_value, value in spend.items():
                key = cast(tuple[str, str], key_value)
                if key[0] not in {scenario.workloads[i].name for i in platform.workload_indices}:
                    costs.append(_cost_row(replication, month, platform, key, value))  # fleet idle
            requested, launched, timed_out = counts[platform.id]
            service.append(
                {
                    "replication": replication,
                    "month": month.index,
                    "platform": platform.id,
                    "requested": requested,
                    "launched": launched,
                    "timed_out": timed_out,
                    "peak_concurrency": peaks[platform.id],
                }
            )
    return ReplicationOutcome(
        pd.DataFrame(costs, columns=COST_COLUMNS),
        pd.DataFrame(service, columns=SERVICE_COLUMNS),
        pd.DataFrame(experience, columns=EXPERIENCE_COLUMNS),
        pd.concat(hourly, ignore_index=True) if job.hourly and hourly else None,
        pd.concat(components, ignore_index=True) if job.hourly and components else None,
    )


def _cost_row(
    replication: int, month: MonthPlan, platform: ResolvedPlatform, key: Any, value: float
) -> dict[str, Any]:
    return {
        "replication": replication,
        "month": month.index,
        "platform": platform.id,
        "workload": str(key[0]),
        "team": str(key[1]),
        "cost_usd": float(value),
    }


def check_forecast_fits(scenario: Scenario, months: Sequence[MonthPlan]) -> None:
    """Refuse a month whose simulated days would not fit in memory."""
    for month in months:
        for window in month.windows:
            expected = 0.0
            for index, workload in enumerate(scenario.workloads):
                count = float(window.factors[:, index].sum() * _hourly_mass(workload).sum())
                if workload.session is not None:
                    count *= (workload.session.tool_calls.mean + 0.5) * (
                        workload.session.parallel_sandboxes
                    )
                expected += count
            if expected > MAX_ACTIVATIONS:
                raise InputError(
                    f"{month.label}: about {expected:,.0f} sandbox launches in one simulated "
                    f"run of {window.days} days, more than the {MAX_ACTIVATIONS:,} that fit "
                    "in memory",
                    source=str(scenario.source or "scenario"),
                    field="forecast.sample_days",
                    fix="simulate fewer days per month, e.g. sample_days: 7",
                )


@dataclass
class ForecastResult:
    """Spend per month, platform, workload and team, for every replication."""

    scenario: Scenario
    catalog: Catalog
    platforms: tuple[ResolvedPlatform, ...]
    months: tuple[MonthPlan, ...]
    costs: pd.DataFrame
    """Columns ``COST_COLUMNS``: one row per replication, month, platform, workload and team
    (a fleet's idle hosts are workload "(idle hosts)", team "(fleet)")."""
    service: pd.DataFrame
    """Columns ``SERVICE_COLUMNS``: requests, launched and timed-out sandboxes per month,
    and the peak number of sandboxes admitted at once."""
    experience: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=EXPERIENCE_COLUMNS)
    )
    """Columns ``EXPERIENCE_COLUMNS``: per workload, launches, timeouts, run time cut,
    time-to-ready and queue-wait percentiles per month."""
    hourly: pd.DataFrame | None = None
    """Columns ``HOURLY_COLUMNS`` (only when asked for): running sandboxes per hour."""
    components: pd.DataFrame | None = None
    """Columns ``COMPONENT_COLUMNS`` (only when asked for): spend per component."""
    executor: str = "serial"
    """How the replications ran (not part of any output: results do not depend on it)."""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def spec(self) -> ForecastSpec:
        """The scenario's forecast section."""
        assert self.scenario.forecast is not None
        return self.scenario.forecast

    @property
    def replications(self) -> int:
        """Replications per month."""
        return int(self.costs["replication"].nunique()) if not self.costs.empty else 0

    @property
    def currency(self) -> str:
        """Currency of every amount."""
        return self.scenario.currency

    def spend(
        self,
        platform: str,
        *,
        team: str | None = None,
        workload: str | None = None,
    ) -> FloatArray:
        """Spend per replication (rows) and month (columns, in the order of ``months``) of
        a platform, optionally of one team and/or workload (a missing line counts as zero)."""
        rows = self.costs[self.costs["platform"] == platform]
        if team is not None:
            rows = rows[rows["team"] == team]
        if workload is not None:
            rows = rows[rows["workload"] == workload]
        return self.by_run(rows.groupby(["replication", "month"])["cost_usd"].sum())

    def by_run(self, values: pd.Series) -> FloatArray:
        """A series indexed by (replication, month index) as a matrix: replications (rows)
        by the forecast's months (columns, in the order of ``months``), zero where missing."""
        table = (
            values.unstack("month")
            .reindex(
                index=range(self.replications),
                columns=[m.index for m in self.months],
                fill_value=0.0,
            )
            .fillna(0.0)
        )
        return table.to_numpy(dtype=np.float64)

    def bands(self) -> pd.DataFrame:
        """``forecast.csv``: per month, platform and scope (the platform's total, each team,
        each workload), the mean with its 95% confidence interval, P5, P50 and P95."""
        if "bands" in self._cache:
            return self._cache["bands"]
        from .summary import cost_band

        rows = []
        for platform in self.platforms:
            workloads = [self.scenario.workloads[i] for i in platform.workload_indices]
            scopes: list[tuple[str, str, dict[str, str]]] = [("platform", platform.id, {})]
            scopes += [("team", t, {"team": t}) for t in sorted({w.team for w in workloads})]
            scopes += [("workload", w.name, {"workload": w.name}) for w in workloads]
            for kind, name, filters in scopes:
                spend = self.spend(platform.id, **filters)
                expected = self._expected(workloads, filters)
                for position, month in enumerate(self.months):
                    band = cost_band(spend[:, position])
                    low, high = band["mean_ci95"] or (None, None)
                    rows.append(
                        {
                            "month": month.label,
                            "platform": platform.id,
                            "scope": kind,
                            "name": name,
                            "mean": band["mean"],
                            "mean_ci95_low": low,
                            "mean_ci95_high": high,
                            "p5": band["p5"],
                            "p50": band["p50"],
                            "p95": band["p95"],
                            "currency": self.currency,
                            "expected_requests": expected[position],
                            "days": month.days,
                            "replications": self.replications,
                        }
                    )
        frame = pd.DataFrame(rows)
        self._cache["bands"] = frame
        return frame

    def _expected(self, workloads: list[Workload], filters: dict[str, str]) -> list[float]:
        names = [w.name for w in self.scenario.workloads]
        chosen = [
            names.index(w.name)
            for w in workloads
            if filters.get("team", w.team) == w.team and filters.get("workload", w.name) == w.name
        ]
        return [sum(m.expected_requests[i] for i in chosen) for m in self.months]

    def precision(self) -> list[dict[str, Any]]:
        """Per platform: the widest relative half-width of the 95% CI of the mean monthly
        spend, in which month, and the replications that would meet ``forecast.precision``."""
        target = self.spec.precision
        checks = []
        totals = self.bands()
        totals = totals[totals["scope"] == "platform"]
        for platform in self.platforms:
            rows = totals[totals["platform"] == platform.id]
            relative = (rows["mean_ci95_high"] - rows["mean"]) / rows["mean"].where(
                rows["mean"] > 0
            )
            relative = relative.fillna(0.0)
            worst = int(np.argmax(relative.to_numpy())) if len(relative) else 0
            value = float(relative.iloc[worst]) if len(relative) else 0.0
            needed = math.ceil(self.replications * (value / target) ** 2) if value > 0 else 0
            checks.append(
                {
                    "platform": platform.id,
                    "target": target,
                    "worst_month": self.months[worst].label,
                    "relative_half_width": value,
                    "ok": value <= target,
                    "replications_needed": max(needed, self.replications)
                    if value > target
                    else None,
                }
            )
        return checks

    def _idle_outside_budgets(self) -> list[str]:
        """Team and workload budgets on a fleet leave its idle hosts out: say how much."""
        notes = []
        for platform in self.platforms:
            if platform.fleet is None:
                continue
            scoped = [
                b.name
                for b in self.scenario.budgets
                if b.scope.platform in (None, platform.id)
                and (b.scope.team is not None or b.scope.workload is not None)
            ]
            if not scoped:
                continue
            rows = self.costs[self.costs["platform"] == platform.id]
            total = float(rows["cost_usd"].sum())
            idle = float(rows.loc[rows["team"] == IDLE_TEAM, "cost_usd"].sum())
            if idle > 0 and total > 0:
                notes.append(
                    f"{platform.id}: its idle hosts ({idle / total:.0%} of its bill) belong to "
                    f"no team or workload, so budgets {', '.join(scoped)} leave them out; a "
                    "budget on the platform alone includes them"
                )
        return notes

    def warnings(self) -> list[str]:
        """What a reader of the forecast must know: precision, few replications, rejected
        work, extrapolated days."""
        r = self.replications
        notes = [
            f"{check['platform']}: the 95% confidence interval of the mean monthly spend "
            f"is ±{check['relative_half_width']:.1%} in {check['worst_month']} with {r} "
            f"replications, wider than the ±{check['target']:.1%} asked for "
            f"(forecast.precision); about {check['replications_needed']} replications "
            "would do (--replications)"
            for check in self.precision()
            if not check["ok"]
        ]
        notes += self._idle_outside_budgets()
        if r < MIN_BAND_REPLICATIONS:
            notes.append(
                f"only {r} replications: P5 and P95 rest on the one or two most extreme runs; "
                f"use at least {MIN_BAND_REPLICATIONS} for bands and budgets"
            )
        for platform_id, rows in self.service.groupby("platform", sort=False):
            requested = float(rows["requested"].sum())
            lost = requested - float(rows["launched"].sum())
            if requested and lost / requested > 0.001:
                notes.append(
                    f"{platform_id}: {lost / requested:.3g} of requests were rejected or gave "
                    "up waiting at the quota; that work is neither done nor billed here"
                )
            stopped = float(rows["timed_out"].sum())
            if requested and stopped / requested > 0.001:
                notes.append(
                    f"{platform_id}: a maximum lifetime stopped {stopped / requested:.3g} of "
                    "requests; the work cut off is not billed here"
                )
        if self.spec.sample_days is not None:
            notes.append(
                f"{self.spec.sample_days} sampled days per month (stratified by kind of day) are "
                "scaled up to the calendar month: the mean is unbiased, the band is wider than "
                "the month's true spread"
            )
        return notes

    def summary_section(self) -> dict[str, Any]:
        """The ``forecast`` section of summary.json."""
        bands = self.bands()

        def entries(kind: str) -> list[dict[str, Any]]:
            rows = bands[bands["scope"] == kind]
            out = []
            for row in rows.itertuples(index=False):
                entry: dict[str, Any] = {"month": row.month, "platform": row.platform}
                if kind != "platform":
                    entry[kind] = row.name
                entry.update(
                    {
                        "currency": row.currency,
                        "mean": _number(row.mean),
                        "mean_ci95": None
                        if _number(row.mean_ci95_low) is None
                        else [_number(row.mean_ci95_low), _number(row.mean_ci95_high)],
                        "p5": _number(row.p5),
                        "p50": _number(row.p50),
                        "p95": _number(row.p95),
                        "expected_requests": _number(row.expected_requests),
                    }
                )
                out.append(entry)
            return out

        spec = self.spec
        return {
            "start": spec.start,
            "calendar": [{"month": m.label, "days": m.days} for m in self.months],
            "replications": self.replications,
            "simulated_days": "all" if spec.sample_days is None else spec.sample_days,
            "growth_per_month": spec.growth_per_month,
            "months": entries("platform"),
            "by_team": entries("team"),
            "by_workload": entries("workload"),
            "precision": self.precision(),
        }

    def check_budgets(self) -> list[Any]:
        """Every budget of the scenario on every platform it covers (see guardrails)."""
        from .guardrails import check_budgets

        return check_budgets(self)

    def summary(self) -> dict[str, Any]:
        """summary.json of a forecast (see docs/outputs.md)."""
        from .summary import build_forecast_summary

        return build_forecast_summary(self)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write summary.json and forecast.csv into ``out_dir``; returns their paths."""
        from .summary import write_summary_and_table

        return write_summary_and_table(out_dir, self.summary(), "forecast", self.bands())


def _number(value: Any) -> float | None:
    if value is None or pd.isna(value) or not math.isfinite(float(value)):
        return None
    return float(value)


def forecast(
    scenario: Scenario,
    *,
    months: int | None = None,
    replications: int | None = None,
    seed: int | None = None,
    precision: float | None = None,
    platforms: Sequence[str] | None = None,
    pricing_dirs: Sequence[str | Path] = (),
    catalog: Catalog | None = None,
    executor: Executor | None = None,
) -> ForecastResult:
    """Project spend per calendar month with bands across replications.

    ``executor`` runs the replications (default: local processes, one per CPU; see
    ``executors``): results are identical whichever runs them. Flags replace the scenario's forecast
    fields (``months``, ``replications``, ``precision``) and its seed.
    """
    if scenario.forecast is None:
        raise InputError(
            "the scenario has no forecast section",
            source=str(scenario.source or "scenario"),
            field="forecast",
            fix="add one with at least the first month, e.g. forecast: {start: 2027-01, months: 12}",
        )
    update: dict[str, Any] = {}
    if months is not None:
        update["months"] = months
        # a shorter forecast leaves out the events after it (a longer one keeps them all)
        end = add_months(scenario.forecast.first_day, months)
        update["events"] = [e for e in scenario.forecast.events if e.start < end]
    if replications is not None:
        update["replications"] = replications
    if precision is not None:
        update["precision"] = precision
    changes: dict[str, Any] = {}
    if update:
        changes["forecast"] = {**scenario.forecast.model_dump(exclude_none=True), **update}
    if seed is not None:
        changes["seed"] = seed
    if changes:
        scenario = scenario.with_overrides(changes, flag="--months/--replications/--precision")
    if platforms:
        kept = [
            b
            for b in scenario.budgets
            if b.scope.platform is None or b.scope.platform in set(platforms)
        ]
        scenario = scenario.with_overrides({"budgets": kept}, flag="--platform").only_platforms(
            list(platforms)
        )
    spec = scenario.forecast
    assert spec is not None
    count = spec.replications or scenario.replications
    if count < 2:
        raise InputError(
            "a forecast band needs at least two replications",
            source=str(scenario.source or "scenario"),
            field="replications",
            fix=f"set forecast.replications (or --replications) to {MIN_BAND_REPLICATIONS} or more",
        )
    if catalog is None:
        catalog = scenario_catalog(scenario, tuple(str(p) for p in pricing_dirs))
    return run_forecast(scenario, catalog, executor=executor)


def run_forecast(
    scenario: Scenario,
    catalog: Catalog,
    *,
    executor: Executor | None = None,
    only_months: Sequence[str] | None = None,
    hourly: bool = False,
) -> ForecastResult:
    """The replications of a validated forecast scenario, optionally of only some of
    its months (by label: each month draws from its own seeds, so a month's figures are
    the same whichever other months run), with hourly detail if asked."""
    spec = scenario.forecast
    assert spec is not None
    count = spec.replications or scenario.replications
    resolved = tuple(resolve_platforms(scenario, catalog))
    plans = plan_months(scenario)
    if only_months is not None:
        plans = tuple(m for m in plans if m.label in set(only_months))
    check_forecast_fits(scenario, plans)
    job = ForecastJob(scenario, catalog, plans, hourly)
    runner = executor or ProcessExecutor()
    outcomes = runner.map(run_replication, job, list(range(count)))

    def joined(frames: list[pd.DataFrame | None]) -> pd.DataFrame | None:
        present = [f for f in frames if f is not None]
        return pd.concat(present, ignore_index=True) if present else None

    return ForecastResult(
        scenario,
        catalog,
        resolved,
        plans,
        pd.concat([o.costs for o in outcomes], ignore_index=True),
        pd.concat([o.service for o in outcomes], ignore_index=True),
        pd.concat([o.experience for o in outcomes], ignore_index=True),
        joined([o.hourly for o in outcomes]),
        joined([o.components for o in outcomes]),
        runner.name,
    )


__all__ = [
    "ForecastJob",
    "ForecastResult",
    "MonthPlan",
    "Window",
    "forecast",
    "nhpp_times",
    "plan_months",
    "run_forecast",
    "run_replication",
    "weighted_quantile",
]
