"""Budgets and breach checks on a forecast: does each budget hold at its quantile, with
what probability is it exceeded each month, and when does it first break?

A budget holds in a month when the chosen quantile of that month's spend (across
replications, the same estimator as the forecast's P95) is within its amount. The
probability of exceeding it is the share of replications whose spend is above the
amount. A budget without a platform in its scope is checked on every platform of the
forecast, each as an alternative you might choose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from .forecast_spec import Budget

if TYPE_CHECKING:
    from .forecast import ForecastResult


@dataclass(frozen=True)
class BudgetMonth:
    """One budget on one platform in one month."""

    month: str
    spend_at_quantile: float
    """The budget's quantile of the month's spend."""
    quantile_ci95: tuple[float, float]
    """A distribution-free 95% interval of that quantile (order statistics)."""
    mean: float
    p_exceed: float
    """Share of replications whose spend is above the amount."""
    alerts: dict[str, float]
    """Per alert threshold (a share of the amount, as text): share of replications above it."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "month": self.month,
            "spend_at_quantile": self.spend_at_quantile,
            "quantile_ci95": list(self.quantile_ci95),
            "mean": self.mean,
            "p_exceed": self.p_exceed,
            "p_alert": self.alerts,
        }


@dataclass(frozen=True)
class BudgetCheck:
    """A budget on one platform over every forecast month."""

    budget: Budget
    platform: str
    currency: str
    months: tuple[BudgetMonth, ...]

    @property
    def holds(self) -> bool:
        """True when the quantile of spend is within the amount in every month."""
        return all(m.spend_at_quantile <= self.budget.amount for m in self.months)

    @property
    def first_breach(self) -> str | None:
        """The first month whose quantile of spend exceeds the amount."""
        return next(
            (m.month for m in self.months if m.spend_at_quantile > self.budget.amount), None
        )

    def first_alert(self, share: float) -> str | None:
        """The first month whose quantile of spend reaches ``share`` of the amount."""
        line = share * self.budget.amount
        return next((m.month for m in self.months if m.spend_at_quantile >= line), None)

    @property
    def worst(self) -> BudgetMonth:
        """The month with the highest quantile of spend."""
        return max(self.months, key=lambda m: m.spend_at_quantile)

    @property
    def close_call(self) -> bool:
        """The verdict could flip with more replications: the amount lies inside the
        95% interval of the worst month's quantile."""
        low, high = self.worst.quantile_ci95
        return low <= self.budget.amount <= high

    def describe(self) -> str:
        """One line: what broke (or holds), by how much and when."""
        b = self.budget
        worst = self.worst
        q = f"P{b.quantile * 100:g}"
        scope = _scope_text(b, self.platform)
        if self.holds:
            text = (
                f"holds  {b.name} ({scope}): {q} spend peaks at "
                f"{money(worst.spend_at_quantile, self.currency)} in {worst.month}, "
                f"{worst.spend_at_quantile / b.amount:.0%} of {money(b.amount, self.currency)}"
            )
        else:
            over = worst.spend_at_quantile - b.amount
            text = (
                f"BREAKS {b.name} ({scope}): first in {self.first_breach}; worst {worst.month}, "
                f"{q} spend {money(worst.spend_at_quantile, self.currency)} is "
                f"{money(over, self.currency)} ({over / b.amount:.1%}) over "
                f"{money(b.amount, self.currency)}; P(exceed) {worst.p_exceed:.0%} that month"
            )
        if self.close_call:
            text += " (close: within the simulation's uncertainty; add replications)"
        return text

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for summary.json and `sandsim guard --json`."""
        b = self.budget
        worst = self.worst
        return {
            "name": b.name,
            "platform": self.platform,
            "scope": b.scope.model_dump(),
            "amount": b.amount,
            "currency": self.currency,
            "quantile": b.quantile,
            "holds": self.holds,
            "first_breach_month": self.first_breach,
            "first_alert_month": {_share(s): self.first_alert(s) for s in b.alerts},
            "worst_month": worst.month,
            "worst_spend_at_quantile": worst.spend_at_quantile,
            "over_by": max(0.0, worst.spend_at_quantile - b.amount),
            "over_share": max(0.0, worst.spend_at_quantile / b.amount - 1.0),
            "close_call": self.close_call,
            "months": [m.as_dict() for m in self.months],
        }


def money(value: float, currency: str) -> str:
    """An amount for display, rounded to cents (or whole units from 10,000), with its currency."""
    digits = 0 if abs(value) >= 10_000 else 2
    return f"{value:,.{digits}f} {currency}"


def _share(share: float) -> str:
    return f"{share:g}"


def _scope_text(budget: Budget, platform: str) -> str:
    parts = [f"{key} {value}" for key, value in budget.scope.model_dump().items() if value]
    if budget.scope.platform is None:
        parts.insert(0, f"on {platform}")
    return ", ".join(parts)


def quantile_interval(values: np.ndarray, q: float, level: float = 0.95) -> tuple[float, float]:
    """A distribution-free interval of the q-quantile from order statistics: ranks whose
    binomial coverage is at least ``level`` (clipped to the sample's range)."""
    ordered = np.sort(values)
    n = ordered.size
    low_rank = int(stats.binom.ppf((1 - level) / 2, n, q))
    high_rank = int(stats.binom.ppf(1 - (1 - level) / 2, n, q))
    low = ordered[max(0, min(n - 1, low_rank - 1))]
    high = ordered[max(0, min(n - 1, high_rank))]
    return float(low), float(high)


def check_budgets(result: ForecastResult) -> list[BudgetCheck]:
    """Check every budget of the forecast's scenario on every platform it covers."""
    checks = []
    for budget in result.scenario.budgets:
        for platform in result.platforms:
            if budget.scope.platform not in (None, platform.id):
                continue
            check = check_budget(result, budget, platform.id)
            if check is not None:
                checks.append(check)
    return checks


def check_budget(result: ForecastResult, budget: Budget, platform_id: str) -> BudgetCheck | None:
    """One budget on one platform of the forecast (None when the budget names no platform
    and this platform runs none of its workloads)."""
    scope = budget.scope
    platform = next(p for p in result.platforms if p.id == platform_id)
    runs = {result.scenario.workloads[i].name for i in platform.workload_indices}
    covered = [
        w
        for w in result.scenario.workloads
        if w.name in runs and scope.team in (None, w.team)
        if scope.workload in (None, w.name)
    ]
    if not covered and scope.platform is None:
        return None  # this platform runs none of the budget's workloads
    spend = result.spend(platform.id, team=scope.team, workload=scope.workload)
    return check_spend(budget, platform.id, result.currency, result.months, spend)


def check_spend(
    budget: Budget, platform_id: str, currency: str, months: Sequence[Any], spend: np.ndarray
) -> BudgetCheck:
    """A budget checked on spend per replication (rows) and month (columns, one per
    entry of ``months``, which have a ``label``)."""
    checked = []
    for position, month in enumerate(months):
        values = spend[:, position]
        checked.append(
            BudgetMonth(
                month=month.label,
                spend_at_quantile=float(np.quantile(values, budget.quantile)),
                quantile_ci95=quantile_interval(values, budget.quantile),
                mean=float(values.mean()),
                p_exceed=float(np.mean(values > budget.amount)),
                alerts={
                    _share(s): float(np.mean(values > s * budget.amount)) for s in budget.alerts
                },
            )
        )
    return BudgetCheck(budget, platform_id, currency, tuple(checked))
