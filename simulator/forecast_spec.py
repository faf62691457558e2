"""The scenario's ``forecast`` and ``budgets`` sections: months to project, how the
volume grows and varies by day, one-off events, and the monthly budgets to hold.

These are plain frozen models; references to workloads, teams and platforms are checked
by ``Scenario.cross_check``, and the projection itself is in ``forecast.py``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .model_base import FrozenModel

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
MAX_FORECAST_MONTHS = 60
"""The longest forecast (five years)."""
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_start(text: str) -> dt.date:
    """The first day of a month written "YYYY-MM"."""
    match = _MONTH.match(text)
    if not match:
        raise ValueError(f"write the month as YYYY-MM, e.g. 2027-01, not {text!r}")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r}: the month must be 01 to 12")
    return dt.date(year, month, 1)


def add_months(first: dt.date, count: int) -> dt.date:
    """The first day of the month ``count`` months after ``first``'s month."""
    index = first.year * 12 + first.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def days_in_month(first: dt.date) -> int:
    """Calendar days of ``first``'s month."""
    return calendar.monthrange(first.year, first.month)[1]


class ForecastEvent(FrozenModel):
    """A one-off change of volume on given days: a launch, an eval campaign, a holiday."""

    name: str = Field(pattern=NAME_PATTERN)
    """What the event is, used in outputs."""
    start: dt.date
    """Its first day, YYYY-MM-DD (days run midnight to midnight of the scenario's time 0)."""
    days: int = Field(default=1, ge=1, le=366)
    """How many consecutive days it lasts."""
    factor: float = Field(gt=0)
    """Multiplies the day's volume of the workloads it concerns, on top of growth and the
    weekday or weekend factor: 3 triples it (a launch), 0.2 cuts it to a fifth (a freeze).
    Overlapping events multiply."""
    workloads: tuple[str, ...] | None = None
    """The workloads whose volume changes (default: all)."""

    @property
    def end(self) -> dt.date:
        """The day after the event's last day."""
        return self.start + dt.timedelta(days=self.days)


class ForecastSpec(FrozenModel):
    """A monthly projection of spend: calendar months, compound growth of the volume,
    weekday and weekend profiles and one-off events, simulated per month and replication.

    The workload's arrival rates are the volume of month one on a day with factor 1.
    Month ``m`` (counting from 0) multiplies every workload's rate by
    ``(1 + growth)^m``, then each day by its weekday or weekend factor and any event
    factors. Only rate-based arrivals (poisson, diurnal) can be projected."""

    start: str = Field(pattern=r"^\d{4}-\d{2}$")
    """The first forecast month, YYYY-MM (its 1st is scenario time 0, at midnight)."""
    months: int = Field(default=12, ge=1, le=MAX_FORECAST_MONTHS)
    """How many calendar months to project."""
    growth_per_month: float = Field(default=0.0, gt=-1, le=10)
    """Compound growth of every workload's volume per month, e.g. 0.08 for 8% a month."""
    workload_growth: dict[str, float] = Field(default_factory=dict)
    """Growth per month of named workloads, replacing ``growth_per_month`` for them."""
    weekday: float = Field(default=1.0, ge=0)
    """Multiplies the volume on Mondays to Fridays."""
    weekend: float = Field(default=1.0, ge=0)
    """Multiplies the volume on Saturdays and Sundays (agents run less when people do not)."""
    events: tuple[ForecastEvent, ...] = ()
    """One-off events that change the volume on given days."""
    sample_days: int | None = Field(default=None, ge=1, le=31)
    """Simulate only this many days per month instead of every day, stratified by kind of
    day (weekday, weekend, each event): each kind gets a share of the sampled days in
    proportion to its days (at least one), and its spend is scaled up to its calendar
    days. Faster, the mean stays unbiased, but the band is wider than the month's true
    spread (see docs/forecasts.md). Null simulates every calendar day."""
    replications: int | None = Field(default=None, ge=2)
    """Replications of each month (default: the scenario's ``replications``); spend bands
    are quantiles across them."""
    precision: float = Field(default=0.05, gt=0, lt=1)
    """Wanted half-width of the 95% confidence interval of the mean monthly spend, relative
    to the mean; a warning says how many replications would reach it when they do not."""

    @field_validator("start", mode="before")
    @classmethod
    def _month_of_date(cls, value: Any) -> Any:
        # YAML reads 2027-01-01 as a date: accept the first of a month
        if isinstance(value, dt.date):
            if value.day != 1:
                raise ValueError(f"the forecast starts on the 1st of a month, not {value}")
            return value.strftime("%Y-%m")
        return value

    @field_validator("start")
    @classmethod
    def _valid_month(cls, value: str) -> str:
        month_start(value)
        return value

    @field_validator("workload_growth")
    @classmethod
    def _growth_above_minus_one(cls, value: dict[str, float]) -> dict[str, float]:
        for name, rate in value.items():
            if not -1 < rate <= 10:
                raise ValueError(f"growth of {name!r} must be above -1 and at most 10, not {rate}")
        return value

    @property
    def first_day(self) -> dt.date:
        """The first day of the first month."""
        return month_start(self.start)

    @property
    def end_day(self) -> dt.date:
        """The day after the last forecast day."""
        return add_months(self.first_day, self.months)

    def growth_of(self, workload: str) -> float:
        """Monthly growth of one workload."""
        return self.workload_growth.get(workload, self.growth_per_month)


class BudgetScope(FrozenModel):
    """Whose spend a budget covers: a platform, a team, a workload, or a combination
    (all given must match). Without a platform the budget is checked on every platform
    the scenario compares, each as the alternative you might choose."""

    platform: str | None = None
    """A platform id of the scenario."""
    team: str | None = None
    """A team of the scenario's workloads."""
    workload: str | None = None
    """A workload name."""


class Budget(FrozenModel):
    """A monthly budget that must hold at a quantile of the forecast spend
    (``monthly_usd: 5000`` is shorthand for ``amount: 5000`` in USD)."""

    name: str = Field(pattern=NAME_PATTERN)
    """Name of the budget, used in outputs and by `sandsim guard`."""
    scope: BudgetScope = Field(default_factory=BudgetScope)
    """Whose spend it covers (default: everything on each platform)."""
    amount: float = Field(gt=0)
    """The budget per calendar month, in ``currency``."""
    currency: Literal["USD"] = "USD"
    """Currency of ``amount`` (the scenario's currency)."""
    quantile: float = Field(default=0.95, gt=0, lt=1)
    """The budget holds in a month when this quantile of the month's spend is within the
    amount: 0.95 means it is broken in at most one month in twenty."""
    alerts: tuple[float, ...] = (0.5, 0.8, 1.0)
    """Alert thresholds as shares of the amount; each is reported with the probability
    that the month's spend crosses it and the first month its quantile does."""

    @field_validator("alerts")
    @classmethod
    def _sorted_positive(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not share > 0 for share in value):
            raise ValueError("alert thresholds are positive shares of the amount, e.g. 0.8")
        return tuple(sorted(set(value)))

    @model_validator(mode="before")
    @classmethod
    def _monthly_usd(cls, data: Any) -> Any:
        # ``monthly_usd: 5000`` is shorthand for ``amount: 5000`` (currency USD)
        if isinstance(data, dict) and "monthly_usd" in data:
            if "amount" in data:
                raise ValueError("give monthly_usd or amount, not both")
            rest = {k: v for k, v in data.items() if k != "monthly_usd"}
            return {"currency": "USD", **rest, "amount": data["monthly_usd"]}
        return data
