"""SLO sizing: the smallest warm pool, host count or quota that meets a latency objective.

Each candidate size is simulated (the same seed, so every candidate sees the same
workload) and the objective is read from the result; a galloping search followed by
bisection finds the smallest size that meets it, assuming that more never hurts (the
tests check that a bigger pool never lowers the warm-hit ratio and that more quota never
raises waits).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .errors import InputError
from .runner import SimulationResult, simulate
from .scenario import PlatformChoice, PoolSpec, Scenario
from .units import parse_duration_s

Lever = Literal["pool", "hosts", "quota"]
LEVERS: tuple[Lever, ...] = ("pool", "hosts", "quota")
_SLO = re.compile(
    r"^\s*(mean|max|p\d{1,2}(?:\.\d+)?)\s+(time_to_ready|queue_wait)\s*(<=|<)\s*(\S+)\s*$"
)


@dataclass(frozen=True)
class Objective:
    """A latency objective such as "p99 time_to_ready <= 1s"."""

    statistic: str
    metric: Literal["time_to_ready", "queue_wait"]
    limit_s: float
    strict: bool
    text: str

    @classmethod
    def parse(cls, text: str) -> Objective:
        """Read an objective; the error names the flag and shows the form."""
        match = _SLO.match(text)
        if not match:
            raise InputError(
                f"cannot read the objective {text!r}",
                source="--slo",
                fix='write "<mean|max|pNN> <time_to_ready|queue_wait> <= <duration>", e.g. "p99 time_to_ready <= 1s"',
            )
        statistic, metric, operator, value = match.groups()
        try:
            limit = parse_duration_s(value)
        except ValueError as error:
            raise InputError(
                str(error), source="--slo", fix="give the limit with a unit, e.g. 1s or 250ms"
            ) from None
        if statistic.startswith("p") and not 0 < float(statistic[1:]) < 100:
            raise InputError(
                f"percentile {statistic} is out of range", source="--slo", fix="use p1 to p99.9"
            )
        return cls(statistic, metric, limit, operator == "<", text.strip())  # type: ignore[arg-type]

    def measure(self, values: np.ndarray) -> float:
        """The statistic of the objective over the sandboxes' values."""
        if values.size == 0:
            return float("inf")
        if self.statistic == "mean":
            return float(values.mean())
        if self.statistic == "max":
            return float(values.max())
        # "p75 <= 1s" means at least 75% of sandboxes were within 1 s: the inverted CDF
        return float(np.quantile(values, float(self.statistic[1:]) / 100, method="inverted_cdf"))

    def met(self, value: float) -> bool:
        """Whether a measured value meets the objective."""
        return value < self.limit_s if self.strict else value <= self.limit_s


@dataclass(frozen=True)
class Evaluation:
    """One simulated candidate size."""

    size: int
    measured_s: float
    met: bool
    rejected_share: float
    cost_per_month_usd: float


@dataclass(frozen=True)
class SizingResult:
    """The smallest size that meets the objective (None if none up to the maximum did)."""

    platform_id: str
    lever: Lever
    objective: Objective
    size: int | None
    evaluations: list[Evaluation] = field(default_factory=list)

    @property
    def chosen(self) -> Evaluation | None:
        """The evaluation of the chosen size."""
        return next((e for e in self.evaluations if e.size == self.size), None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "platform": self.platform_id,
            "lever": self.lever,
            "objective": self.objective.text,
            "size": self.size,
            "evaluations": [e.__dict__ for e in sorted(self.evaluations, key=lambda e: e.size)],
        }


def _with_size(
    scenario: Scenario, platform_id: str, lever: Lever, size: int, template: str
) -> Scenario:
    platforms: list[PlatformChoice] = []
    for choice in scenario.platforms:
        if choice.id != platform_id:
            continue
        if lever == "hosts":
            choice = choice.model_copy(update={"hosts": size})
        elif lever == "quota":
            choice = choice.model_copy(update={"quota": size})
        else:
            pools = [p for p in choice.pools if p.template != template]
            existing = next((p for p in choice.pools if p.template == template), None)
            pool = (
                existing.model_copy(update={"size": size})
                if existing
                else PoolSpec(template=template, size=size)
            )
            choice = choice.model_copy(update={"pools": (*pools, pool)})
        platforms.append(choice)
    return scenario.with_overrides({"platforms": platforms}, flag="--platform")


def size(
    scenario: Scenario,
    platform_id: str,
    objective: str | Objective,
    lever: Lever = "pool",
    *,
    workload: str | None = None,
    maximum: int = 4096,
    replications: int | None = None,
    progress: Callable[[Evaluation], None] | None = None,
) -> SizingResult:
    """The smallest warm pool (or host count, or quota) of one platform that meets a
    latency objective for one workload (default: all the platform's workloads), with the
    cost of meeting it."""
    goal = objective if isinstance(objective, Objective) else Objective.parse(objective)
    if lever not in LEVERS:
        raise InputError(
            f"unknown lever {lever!r}", source="--lever", fix=f"use one of {', '.join(LEVERS)}"
        )
    ids = [p.id for p in scenario.platforms]
    if platform_id not in ids:
        raise InputError(
            f"unknown platform {platform_id!r} in this scenario",
            source="--platform",
            fix=f"use one of: {', '.join(ids)}",
        )
    names = [w.name for w in scenario.workloads]
    if workload is not None and workload not in names:
        raise InputError(
            f"unknown workload {workload!r}",
            source="--workload",
            fix=f"use one of: {', '.join(names)}",
        )
    served = scenario.served_by(platform_id)
    target = (
        next((w for w in served if w.name == workload), served[0])
        if served
        else scenario.workloads[0]
    )
    template = target.template_id
    single = scenario.only_platforms([platform_id])
    cache: dict[int, Evaluation] = {}

    def evaluate(n: int) -> Evaluation:
        if n not in cache:
            result = simulate(
                _with_size(single, platform_id, lever, n, template), replications=replications
            )
            cache[n] = _evaluate(result, platform_id, goal, n, workload)
            if progress is not None:
                progress(cache[n])
        return cache[n]

    low = 0 if lever == "pool" else 1
    if evaluate(low).met:
        return SizingResult(platform_id, lever, goal, low, list(cache.values()))
    failing, candidate = low, max(1, low * 2)
    while candidate <= maximum and not evaluate(candidate).met:
        failing, candidate = candidate, candidate * 2
    if candidate > maximum:
        if not evaluate(maximum).met:
            return SizingResult(platform_id, lever, goal, None, list(cache.values()))
        candidate = maximum
    while candidate - failing > 1:  # bisection: failing misses, candidate meets
        middle = (failing + candidate) // 2
        if evaluate(middle).met:
            candidate = middle
        else:
            failing = middle
    return SizingResult(platform_id, lever, goal, candidate, list(cache.values()))


def _evaluate(
    result: SimulationResult, platform_id: str, goal: Objective, n: int, workload: str | None
) -> Evaluation:
    values, requested, rejected = [], 0, 0
    names = list(result.scenario.workloads)
    for run in result.runs[platform_id]:
        usage = run.usage
        assert usage is not None
        rows = np.ones(usage.size, dtype=bool)
        if workload is not None:
            rows = usage.workload_index == [w.name for w in names].index(workload)
        launched = rows & usage.launched
        requested += int(rows.sum())
        rejected += int((rows & ~usage.launched).sum())
        if goal.metric == "time_to_ready":
            values.append(usage.ready_s[launched] - usage.request_s[launched])
        else:
            values.append(usage.admit_s[launched] - usage.quota_arrival_s[launched])
    measured = goal.measure(np.concatenate(values))
    rejected_share = rejected / requested if requested else 0.0
    cost = float(result.costs()["per_month_usd"].mean())
    # a size that meets the latency objective only by rejecting requests does not meet it
    return Evaluation(n, measured, goal.met(measured) and rejected == 0, rejected_share, cost)
