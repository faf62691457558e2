"""Probability distributions of durations and latencies, as frozen specs.

Every spec samples in bulk (``sample(rng, n)``) and knows its analytic ``mean``,
``variance``, ``cdf`` and ``quantile``, so tests can hold samples to theory and
billing can be checked against closed forms. Values are seconds unless a field says
otherwise. ``DistributionSpec`` is the discriminated union used in scenario files.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    model_validator,
)
from scipy import special, stats

from .model_base import FrozenModel, resolve_data_path
from .units import DurationS, PositiveDurationS, parse_duration_s

FloatArray = npt.NDArray[np.float64]
Z95 = float(stats.norm.ppf(0.95))
"""The standard normal 95th percentile, used to turn (median, p95) into sigma."""


MAX_MEAN_S = 1e9
"""A mean above this (about 32 years) is a unit mistake, not a workload."""


class _Distribution(FrozenModel):
    """Shared behaviour: bulk sampling and moments from the subclass's formulas."""

    def check_plausible(self, what: str) -> None:
        """Refuse a distribution whose mean is a unit mistake rather than a workload."""
        try:
            mean = self.mean
        except (OverflowError, ValueError, ZeroDivisionError):
            mean = math.inf
        if not math.isfinite(mean) or mean > MAX_MEAN_S:
            raise ValueError(
                f"the mean {what} is infinite or over 30 years; check the units "
                "(durations are seconds, and lognormal mu and sigma are of ln(seconds))"
            )

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Draw ``n`` independent values."""
        raise NotImplementedError

    @property
    def mean(self) -> float:
        """The analytic mean."""
        raise NotImplementedError

    @property
    def variance(self) -> float:
        """The analytic variance."""
        raise NotImplementedError

    def cdf(self, x: FloatArray | float) -> FloatArray:
        """P(X <= x)."""
        raise NotImplementedError

    def quantile(self, q: float) -> float:
        """The smallest x with P(X <= x) >= q."""
        raise NotImplementedError

    @property
    def upper(self) -> float:
        """The largest value the distribution can take (``inf`` if unbounded)."""
        return math.inf

    @property
    def lower(self) -> float:
        """The smallest value the distribution can take."""
        return 0.0

    def atoms(self) -> FloatArray:
        """Values with positive probability of their own (empty for continuous kinds)."""
        return np.empty(0)

    def describe(self) -> str:
        """A one-line summary for tables and reports."""
        return f"{self.kind}(mean {self.mean:.4g}s)"  # type: ignore[attr-defined]


class Fixed(_Distribution):
    """Always the same value."""

    kind: Literal["fixed"] = "fixed"
    value: DurationS
    """The value, e.g. "2s"."""

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return np.full(n, self.value, dtype=np.float64)

    @property
    def mean(self) -> float:
        return self.value

    @property
    def variance(self) -> float:
        return 0.0

    @property
    def upper(self) -> float:
        return self.value

    @property
    def lower(self) -> float:
        return self.value

    def atoms(self) -> FloatArray:
        return np.array([self.value])

    def cdf(self, x: FloatArray | float) -> FloatArray:
        return np.where(np.asarray(x, dtype=np.float64) >= self.value, 1.0, 0.0)

    def quantile(self, q: float) -> float:
        _check_probability(q)
        return self.value


class Uniform(_Distribution):
    """Equally likely anywhere between ``low`` and ``high``."""

    kind: Literal["uniform"] = "uniform"
    low: DurationS
    """The smallest value."""
    high: DurationS
    """The largest value; must be at least ``low``."""

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}s) must be at least low ({self.low}s)")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.uniform(self.low, self.high, n)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> float:
        return (self.high - self.low) ** 2 / 12

    @property
    def upper(self) -> float:
        return self.high

    @property
    def lower(self) -> float:
        return self.low

    def cdf(self, x: FloatArray | float) -> FloatArray:
        width = self.high - self.low
        values = np.asarray(x, dtype=np.float64)
        if width == 0:
            return np.where(values >= self.low, 1.0, 0.0)
        return np.clip((values - self.low) / width, 0.0, 1.0)

    def quantile(self, q: float) -> float:
        _check_probability(q)
        return self.low + q * (self.high - self.low)


class Exponential(_Distribution):
    """Memoryless durations with the given mean."""

    kind: Literal["exponential"] = "exponential"
    mean_s: PositiveDurationS = Field(alias="mean")
    """The mean, e.g. "30s"."""

    model_config = ConfigDict(populate_by_name=True, **FrozenModel.model_config)

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.exponential(self.mean_s, n)

    @property
    def mean(self) -> float:
        return self.mean_s

    @property
    def variance(self) -> float:
        return self.mean_s**2

    def cdf(self, x: FloatArray | float) -> FloatArray:
        values = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
        return -np.expm1(-values / self.mean_s)

    def quantile(self, q: float) -> float:
        _check_probability(q)
        return math.inf if q == 1 else -self.mean_s * math.log1p(-q)


class LogNormal(_Distribution):
    """Durations whose logarithm is normal: give ``median`` and one upper percentile (``p90``,
    ``p95`` or ``p99``), or ``mu`` and ``sigma``.

    ``mu`` and ``sigma`` are the mean and standard deviation of the natural log of seconds.
    """

    kind: Literal["lognormal"] = "lognormal"
    median: DurationS | None = None
    """The median duration, e.g. "45s" (with one of ``p90``, ``p95``, ``p99``)."""
    p90: DurationS | None = None
    """The 90th percentile; must exceed ``median``."""
    p95: DurationS | None = None
    """The 95th percentile, e.g. "10m"; must exceed ``median``."""
    p99: DurationS | None = None
    """The 99th percentile; must exceed ``median``."""
    mu: float | None = None
    """Mean of ln(seconds) (with ``sigma``), instead of median and a percentile."""
    sigma: float | None = None
    """Standard deviation of ln(seconds); must be positive."""

    @model_validator(mode="after")
    def _one_parameterisation(self) -> LogNormal:
        uppers = self._uppers()
        by_quantiles = self.median is not None or bool(uppers)
        by_logs = self.mu is not None or self.sigma is not None
        if by_quantiles == by_logs:
            raise ValueError(
                "give either median and one of p90/p95/p99, or mu and sigma (not both, not neither)"
            )
        if by_quantiles:
            if self.median is None or len(uppers) != 1:
                raise ValueError("give median and exactly one of p90, p95, p99")
            if self.median <= 0:
                raise ValueError("median must be positive")
            ((name, value, _),) = uppers
            if value <= self.median:
                raise ValueError(f"{name} ({value}s) must be larger than median ({self.median}s)")
        else:
            if self.mu is None or self.sigma is None:
                raise ValueError("give both mu and sigma")
            if self.sigma <= 0:
                raise ValueError("sigma must be positive")
        return self

    def _uppers(self) -> list[tuple[str, float, float]]:
        """The upper percentiles given: (name, value, probability)."""
        given = [("p90", self.p90, 0.90), ("p95", self.p95, 0.95), ("p99", self.p99, 0.99)]
        return [(name, value, q) for name, value, q in given if value is not None]

    @property
    def log_mu(self) -> float:
        """Mean of ln(X)."""
        if self.mu is not None:
            return self.mu
        assert self.median is not None
        return math.log(self.median)

    @property
    def log_sigma(self) -> float:
        """Standard deviation of ln(X)."""
        if self.sigma is not None:
            return self.sigma
        assert self.median is not None
        ((_, value, q),) = self._uppers()
        return math.log(value / self.median) / float(special.ndtri(q))

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.lognormal(self.log_mu, self.log_sigma, n)

    @property
    def mean(self) -> float:
        return math.exp(self.log_mu + self.log_sigma**2 / 2)

    @property
    def variance(self) -> float:
        s2 = self.log_sigma**2
        return math.expm1(s2) * math.exp(2 * self.log_mu + s2)

    def cdf(self, x: FloatArray | float) -> FloatArray:
        values = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore"):
            z = (np.log(np.maximum(values, 0.0)) - self.log_mu) / self.log_sigma
        return np.asarray(special.ndtr(z), dtype=np.float64)

    def quantile(self, q: float) -> float:
        _check_probability(q)
        return float(math.exp(self.log_mu + self.log_sigma * special.ndtri(q)))


class Weibull(_Distribution):
    """Weibull durations: ``shape`` k (< 1 heavy-tailed, 1 exponential) and ``scale``."""

    kind: Literal["weibull"] = "weibull"
    shape: float = Field(gt=0)
    """The shape parameter k (dimensionless)."""
    scale: PositiveDurationS
    """The scale parameter lambda, e.g. "60s"."""

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return self.scale * rng.weibull(self.shape, n)

    @property
    def mean(self) -> float:
        return self.scale * math.gamma(1 + 1 / self.shape)

    @property
    def variance(self) -> float:
        g1 = math.gamma(1 + 1 / self.shape)
        g2 = math.gamma(1 + 2 / self.shape)
        return self.scale**2 * (g2 - g1**2)

    def cdf(self, x: FloatArray | float) -> FloatArray:
        values = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
        return -np.expm1(-((values / self.scale) ** self.shape))

    def quantile(self, q: float) -> float:
        _check_probability(q)
        return math.inf if q == 1 else self.scale * (-math.log1p(-q)) ** (1 / self.shape)


class Gamma(_Distribution):
    """Gamma durations: ``shape`` k and ``scale`` theta (mean k * theta)."""

    kind: Literal["gamma"] = "gamma"
    shape: float = Field(gt=0)
    """The shape parameter k (dimensionless)."""
    scale: PositiveDurationS
    """The scale parameter theta, e.g. "10s"."""

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.gamma(self.shape, self.scale, n)

    @property
    def mean(self) -> float:
        return self.shape * self.scale

    @property
    def variance(self) -> float:
        return self.shape * self.scale**2

    def cdf(self, x: FloatArray | float) -> FloatArray:
        values = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
        return np.asarray(special.gammainc(self.shape, values / self.scale), dtype=np.float64)

    def quantile(self, q: float) -> float:
        _check_probability(q)
        return float(self.scale * special.gammaincinv(self.shape, q))


class BoundedPareto(_Distribution):
    """Pareto durations with tail index ``alpha``, truncated to [``lower_s``, ``upper_s``]."""

    kind: Literal["bounded_pareto"] = "bounded_pareto"
    alpha: float = Field(gt=0)
    """The tail index (smaller is heavier)."""
    lower_s: DurationS = Field(alias="lower")
    """The smallest duration, e.g. "1s"; must be positive."""
    upper_s: DurationS = Field(alias="upper")
    """The largest duration, e.g. "1h"; must exceed ``lower``."""

    model_config = ConfigDict(populate_by_name=True, **FrozenModel.model_config)

    @model_validator(mode="after")
    def _ordered(self) -> BoundedPareto:
        if self.lower_s <= 0:
            raise ValueError("lower must be positive")
        if self.upper_s <= self.lower_s:
            raise ValueError(f"upper ({self.upper_s}s) must exceed lower ({self.lower_s}s)")
        return self

    @property
    def lower(self) -> float:
        return self.lower_s

    @property
    def upper(self) -> float:
        return self.upper_s

    @property
    def _tail_mass(self) -> float:
        return 1 - (self.lower_s / self.upper_s) ** self.alpha

    def _raw_moment(self, k: int) -> float:
        lo, hi, a = self.lower_s, self.upper_s, self.alpha
        norm = a * lo**a / self._tail_mass
        if math.isclose(k, a):
            return norm * math.log(hi / lo)
        return norm * (hi ** (k - a) - lo ** (k - a)) / (k - a)

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        u = rng.random(n)
        return self.lower_s / (1 - u * self._tail_mass) ** (1 / self.alpha)

    @property
    def mean(self) -> float:
        return self._raw_moment(1)

    @property
    def variance(self) -> float:
        return self._raw_moment(2) - self._raw_moment(1) ** 2

    def cdf(self, x: FloatArray | float) -> FloatArray:
        values = np.clip(np.asarray(x, dtype=np.float64), self.lower_s, self.upper_s)
        return np.clip((1 - (self.lower_s / values) ** self.alpha) / self._tail_mass, 0.0, 1.0)

    def quantile(self, q: float) -> float:
        _check_probability(q)
        return float(self.lower_s / (1 - q * self._tail_mass) ** (1 / self.alpha))


class Empirical(_Distribution):
    """Resample observed durations: inline ``values``, or a CSV file and its ``column``.

    Sampling draws from the observations with replacement, so mean, variance and
    quantiles are those of the observations themselves.
    """

    kind: Literal["empirical"] = "empirical"
    values: tuple[DurationS, ...] | None = None
    """Observed durations written inline, e.g. ["1.2s", "30s", 45]."""
    path: str | None = None
    """A CSV file of observed durations, relative to the scenario file."""
    column: str = "duration_s"
    """The CSV column holding durations in seconds."""
    _observations: FloatArray = PrivateAttr(default_factory=lambda: np.empty(0))

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo) -> Empirical:
        if self.path is not None and self.values is not None:
            raise ValueError(
                "give observed durations either inline (values) or in a file (path), not both"
            )
        observed = (
            self.values if self.path is None else _read_csv_column(self.path, self.column, info)
        )
        if not observed:
            raise ValueError("give at least one observed duration in values, or a CSV path")
        # the file's values stay out of the model (its dump keeps the path, not the data)
        self._observations = np.sort(np.asarray(observed, dtype=np.float64))
        return self

    @property
    def observations(self) -> FloatArray:
        """The observed durations, sorted."""
        return self._observations

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return self._observations[rng.integers(0, self._observations.size, n)]

    @property
    def mean(self) -> float:
        return float(self._observations.mean())

    @property
    def variance(self) -> float:
        return float(self._observations.var())

    @property
    def upper(self) -> float:
        return float(self._observations[-1])

    @property
    def lower(self) -> float:
        return float(self._observations[0])

    def atoms(self) -> FloatArray:
        return np.unique(self._observations)

    def cdf(self, x: FloatArray | float) -> FloatArray:
        values = np.asarray(x, dtype=np.float64)
        counts = np.searchsorted(self._observations, values, side="right")
        return counts / self._observations.size

    def quantile(self, q: float) -> float:
        _check_probability(q)
        return float(np.quantile(self._observations, q, method="inverted_cdf"))


class MixtureComponent(FrozenModel):
    """One part of a mixture."""

    weight: float = Field(gt=0)
    """Relative weight; weights are normalised to sum to one."""
    dist: DistributionSpec
    """The component distribution."""


class Mixture(_Distribution):
    """A weighted mixture, e.g. many quick tool calls and a few long builds."""

    kind: Literal["mixture"] = "mixture"
    components: tuple[MixtureComponent, ...] = Field(min_length=1)
    """The components and their weights."""

    @property
    def weights(self) -> FloatArray:
        """Normalised weights."""
        raw = np.array([component.weight for component in self.components], dtype=np.float64)
        return raw / raw.sum()

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        choice = rng.choice(len(self.components), size=n, p=self.weights)
        out = np.empty(n, dtype=np.float64)
        for index, component in enumerate(self.components):
            picked = choice == index
            out[picked] = component.dist.sample(rng, int(picked.sum()))
        return out

    @property
    def mean(self) -> float:
        return float(
            sum(w * c.dist.mean for w, c in zip(self.weights, self.components, strict=True))
        )

    @property
    def variance(self) -> float:
        second = sum(
            w * (c.dist.variance + c.dist.mean**2)
            for w, c in zip(self.weights, self.components, strict=True)
        )
        return float(second - self.mean**2)

    @property
    def upper(self) -> float:
        return max(component.dist.upper for component in self.components)

    @property
    def lower(self) -> float:
        return min(component.dist.lower for component in self.components)

    def atoms(self) -> FloatArray:
        return np.unique(np.concatenate([c.dist.atoms() for c in self.components]))

    def cdf(self, x: FloatArray | float) -> FloatArray:
        total = np.zeros_like(np.asarray(x, dtype=np.float64))
        for weight, component in zip(self.weights, self.components, strict=True):
            total = total + weight * component.dist.cdf(x)
        return np.clip(total, 0.0, 1.0)  # normalised weights may sum to 1 + 1 ulp

    def quantile(self, q: float) -> float:
        """The smallest x with P(X <= x) >= q, by bisection on that predicate, which (unlike
        root finding on cdf - q) is exact at atoms and in gaps between components."""
        _check_probability(q)
        if q == 0:
            return self.lower
        if q == 1:
            return self.upper

        def reaches(x: float) -> bool:
            return float(self.cdf(x)) >= q

        # every component's q-quantile is at most the largest, so the mixture reaches q there
        high = max(component.dist.quantile(q) for component in self.components)
        step = max(abs(high), 1.0)
        while not reaches(high):  # ... up to rounding
            high, step = high + step, step * 2
        low = self.lower
        if reaches(low):
            return low
        while True:  # invariant: cdf(low) < q <= cdf(high); stops when they are adjacent floats
            mid = (low + high) / 2
            if mid <= low or mid >= high:
                break
            if reaches(mid):
                high = mid
            else:
                low = mid
        candidates = self.atoms()
        candidates = candidates[(candidates > low) & (candidates <= high)]
        reached = [a for a in candidates.tolist() if reaches(a)]
        return float(min(reached)) if reached else float(high)


DistributionSpec = Annotated[
    Fixed
    | Uniform
    | Exponential
    | LogNormal
    | Weibull
    | Gamma
    | BoundedPareto
    | Empirical
    | Mixture,
    Field(discriminator="kind"),
]
"""Any distribution, chosen by its ``kind``."""

MixtureComponent.model_rebuild()


def _check_probability(q: float) -> None:
    if not 0 <= q <= 1:
        raise ValueError(f"a quantile must be between 0 and 1, got {q}")


def _read_csv_column(path: str, column: str, info: ValidationInfo) -> list[float]:
    """Durations from one column of a CSV file; each cell may carry a unit."""
    import csv

    resolved: Path = resolve_data_path(path, info)
    if not resolved.is_file():
        raise ValueError(
            f"cannot find the CSV file {resolved}; the path is relative to the scenario"
        )
    with resolved.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or column not in reader.fieldnames:
            raise ValueError(
                f"{resolved} has no column {column!r}; its columns are {reader.fieldnames}"
            )
        values = []
        for line, row in enumerate(reader, start=2):
            try:
                values.append(parse_duration_s(row[column]))
            except ValueError as error:
                raise ValueError(f"{resolved} line {line}: {error}") from None
    return values
