"""Fit duration distributions to observed durations and rank them.

Every candidate is a maximum-likelihood fit (scipy for the optimisation) of a family the
scenario file can express, converted to the scenario's own distribution model, so the
snippet printed for the best is a valid ``duration:`` field. Candidates are ranked by
AIC = 2k - 2 ln L (k free parameters, stated per family in ``FAMILIES``); BIC and a
Kolmogorov-Smirnov test against each fitted CDF are reported beside it.

The KS p-value assumes the distribution was fixed before seeing the data. Here the
parameters are estimated from the same data, which makes the fit look better than it is
(the p-value is too large). ``bootstrap=B`` replaces the best candidate's p-value with a
parametric bootstrap one: B samples of the same size are drawn from the fitted
distribution, the family is refitted to each, and p is the share of bootstrap KS
statistics at least as large as the observed one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml
from scipy import optimize, special, stats

from ..distributions import (
    BoundedPareto,
    Exponential,
    FloatArray,
    Gamma,
    LogNormal,
    Mixture,
    Weibull,
)
from ..errors import InputError
from ._data import MIN_POINTS, pick_column, read_table, too_few

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..distributions import _Distribution as Distribution

UNITS_S: dict[str, float] = {"ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}
"""Seconds per unit of the input column."""

FAMILIES: dict[str, int] = {
    "lognormal": 2,  # mu, sigma of ln(x)
    "weibull": 2,  # shape, scale
    "gamma": 2,  # shape, scale
    "exponential": 1,  # mean
    "bounded_pareto": 3,  # alpha, lower, upper
    "lognormal_mixture": 5,  # two (mu, sigma) pairs and one free weight
}
"""The candidate families and their number of free parameters k (for AIC and BIC)."""

QUANTILES = (0.5, 0.95, 0.99)

PARSIMONY_DELTA_AIC = 10.0
"""A nested simpler model this close in AIC to a mixture is noted as the safer choice."""

Fitted = tuple["Distribution", dict[str, float], float]
"""A fitted distribution, its parameters by name, and its log-likelihood."""


@dataclass(frozen=True)
class Candidate:
    """One family fitted by maximum likelihood, with its scores."""

    family: str
    k: int
    """Free parameters."""
    dist: Distribution
    """The fitted distribution as the scenario's own model (seconds)."""
    params: dict[str, float]
    log_likelihood: float
    aic: float
    bic: float
    ks_stat: float
    ks_p: float
    """Kolmogorov-Smirnov p-value, optimistic (parameters come from the same data)."""
    ks_p_bootstrap: float | None = None
    """Parametric bootstrap p-value (only for the best candidate, when asked)."""

    def describe_params(self) -> str:
        """Parameters as ``name=value`` pairs, seconds for scale-like ones."""
        return ", ".join(f"{name}={value:.4g}" for name, value in self.params.items())


@dataclass(frozen=True)
class DurationFit:
    """Candidates fitted to one set of durations, best (lowest AIC) first."""

    data: FloatArray
    """The usable durations in seconds, sorted."""
    candidates: tuple[Candidate, ...]
    source: str | None = None
    column: str | None = None
    warnings: tuple[str, ...] = ()
    dropped: dict[str, int] = field(default_factory=dict)
    """Values left out, by reason."""

    @property
    def best(self) -> Candidate:
        """The candidate with the lowest AIC."""
        return self.candidates[0]

    def candidate(self, family: str) -> Candidate:
        """The candidate of one family."""
        for candidate in self.candidates:
            if candidate.family == family:
                return candidate
        raise KeyError(f"no {family} candidate; fitted: {[c.family for c in self.candidates]}")

    @property
    def notes(self) -> tuple[str, ...]:
        """Cautions about the ranking."""
        notes = []
        if self.best.family == "lognormal_mixture":
            try:
                simple = self.candidate("lognormal")
            except KeyError:
                return ()
            delta = simple.aic - self.best.aic
            if delta < PARSIMONY_DELTA_AIC:
                notes.append(
                    f"the lognormal it contains is only {delta:.1f} AIC behind the mixture; AIC "
                    "picks a spurious mixture on lognormal data about one time in eight, so "
                    "prefer the lognormal unless the two components are clearly apart"
                )
        if self.best.family == "bounded_pareto":
            notes.append(
                f"the bounded Pareto's upper bound is the largest value seen "
                f"({float(self.data.max()):.4g} s): nothing longer can be sampled, so the "
                f"tail is cut at what {self.data.size:,} observations happened to show; "
                "prefer a lognormal or Weibull unless durations truly have that bound"
            )
        return tuple(notes)

    @property
    def observed(self) -> dict[str, float]:
        """Count, mean and quantiles of the data (seconds)."""
        values = {"n": float(self.data.size), "mean": float(self.data.mean())}
        for q in QUANTILES:
            values[f"p{round(q * 100)}"] = float(np.quantile(self.data, q))
        return values

    def table(self) -> pd.DataFrame:
        """One row per candidate, best first: scores, parameters, mean and quantiles (s)."""
        best_aic = self.best.aic
        rows = []
        for c in self.candidates:
            row: dict[str, Any] = {
                "family": c.family,
                "k": c.k,
                "log_likelihood": c.log_likelihood,
                "aic": c.aic,
                "delta_aic": c.aic - best_aic,
                "bic": c.bic,
                "ks_stat": c.ks_stat,
                "ks_p": c.ks_p,
                "ks_p_bootstrap": c.ks_p_bootstrap,
                "params": c.describe_params(),
                "mean": c.dist.mean,
            }
            for q in QUANTILES:
                row[f"p{round(q * 100)}"] = c.dist.quantile(q)
            rows.append(row)
        return pd.DataFrame(rows)

    def snippet(self, family: str | None = None) -> str:
        """A scenario ``duration:`` field (YAML) for the best candidate, or ``family``."""
        chosen = self.best if family is None else self.candidate(family)
        where = f" to {self.source}" if self.source else ""
        head = (
            f"# {chosen.family} fitted{where} (n={self.data.size:,}; "
            f"AIC {chosen.aic:,.1f}, KS {chosen.ks_stat:.3f})\n"
        )
        return head + yaml.safe_dump(
            {"duration": spec_dict(chosen.dist)}, sort_keys=False, default_flow_style=None
        )

    def summary(self) -> dict[str, Any]:
        """Everything as plain data (for ``--json``)."""
        return {
            "source": self.source,
            "column": self.column,
            "observed": self.observed,
            "dropped": self.dropped,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "criterion": "AIC (lowest first); BIC and Kolmogorov-Smirnov reported",
            "candidates": [
                {**row, "dist": spec_dict(c.dist)}
                for row, c in zip(self.table().to_dict("records"), self.candidates, strict=True)
            ],
            "best": self.best.family,
            "snippet": self.snippet(),
        }

    def plot(self, top: int = 3) -> Figure:
        """ECDF and log-binned histogram of the data with the ``top`` candidates' fits."""
        from .plots import duration_figure

        return duration_figure(self, top)


def spec_dict(dist: Distribution) -> dict[str, Any]:
    """The distribution as a scenario field, numbers to 6 significant digits."""
    dumped = dist.model_dump(by_alias=True, exclude_none=True, mode="json")
    return _rounded(dumped)


def _rounded(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: _rounded(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [_rounded(value) for value in node]
    if isinstance(node, float):
        return float(f"{node:.6g}")
    return node


MAX_DURATION_S = 1e9
"""Longer than this (about 32 years) is not a sandbox's duration: a unit or column mistake."""


def read_durations(
    path: str | Path, column: str | None = None, unit: str = "s"
) -> tuple[FloatArray, str, dict[str, int]]:
    """Durations in seconds from a CSV column, the column used, and the values dropped by
    reason (not a number, not finite, not positive)."""
    if unit not in UNITS_S:
        raise InputError(
            f"unknown unit {unit!r}", source="--unit", fix=f"use one of {', '.join(UNITS_S)}"
        )
    frame = read_table(path)
    name = pick_column(
        frame, column, path, ("duration_s", "duration"), "durations", numeric_only=True
    )
    raw = frame[name]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(np.float64)
    text = ~raw.isna().to_numpy() & np.isnan(values)
    dropped = {
        "not a number": int(text.sum()),
        "missing": int(raw.isna().sum()),
        "not finite": int(np.isinf(values).sum()),
        "zero or negative": int((values <= 0).sum()),
    }
    return values * UNITS_S[unit], name, {k: v for k, v in dropped.items() if v}


def fit_durations(
    data: str | Path | Sequence[float] | FloatArray,
    *,
    column: str | None = None,
    unit: str = "s",
    families: Sequence[str] | None = None,
    bootstrap: int = 0,
    seed: int = 0,
) -> DurationFit:
    """Fit every family in ``families`` (default: all of ``FAMILIES``) to durations and
    rank them by AIC.

    ``data`` is a CSV file (its ``column``, in ``unit``: s, ms, min or h) or the values
    themselves in seconds. Zero, negative, missing and non-finite values are left out and
    counted in ``warnings``. ``seed`` fixes the restarts of the mixture's EM and the
    bootstrap; ``bootstrap`` > 0 adds a parametric bootstrap KS p-value for the best.
    """
    source: str | None = None
    if isinstance(data, str | Path):
        source = str(data)
        values, name, dropped = read_durations(data, column, unit)
    else:
        if unit not in UNITS_S:
            raise InputError(f"unknown unit {unit!r}", fix=f"use one of {', '.join(UNITS_S)}")
        name = column or "durations"
        values = np.asarray(data, dtype=np.float64) * UNITS_S[unit]
        dropped = {
            k: v
            for k, v in {
                "not finite": int((~np.isfinite(values)).sum()),
                "zero or negative": int((values <= 0).sum()),
            }.items()
            if v
        }
    usable = np.sort(values[np.isfinite(values) & (values > 0)])
    if usable.size and usable[-1] > MAX_DURATION_S:
        raise InputError(
            f"a duration of {usable[-1]:.3g} s ({usable[-1] / 3.156e7:.3g} years) is not a "
            "sandbox's",
            source=source,
            field=name,
            fix="check --unit and the column (durations in seconds, at most 1e9)",
        )
    warnings = []
    if dropped:
        reasons = ", ".join(f"{count:,} {reason}" for reason, count in dropped.items())
        warnings.append(f"left out {sum(dropped.values()):,} of {values.size:,} values ({reasons})")
    if usable.size < MIN_POINTS:
        fix = "give more observations (positive numbers of --unit)"
        if dropped:
            fix = f"{warnings[0]}; check that --column names the durations, or {fix}"
        raise too_few(usable.size, source, name, "durations", fix)
    if usable[0] == usable[-1]:
        raise InputError(
            f"all {usable.size:,} durations are {usable[0]:g} s: there is nothing to fit",
            source=source,
            field=name,
            fix=f"use duration: {{kind: fixed, value: {usable[0]:g}}}",
        )
    chosen = list(FAMILIES) if families is None else list(families)
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown:
        raise InputError(
            f"unknown families {unknown}", field="families", fix=f"use some of {list(FAMILIES)}"
        )
    rng = np.random.default_rng(seed)
    candidates = sorted(
        (_score(family, usable, *_FITTERS[family](usable, rng)) for family in chosen),
        key=lambda c: c.aic,
    )
    if bootstrap > 0:
        best = candidates[0]
        p = _bootstrap_ks(best, usable.size, bootstrap, rng)
        candidates[0] = replace(best, ks_p_bootstrap=p)
    return DurationFit(usable, tuple(candidates), source, name, tuple(warnings), dropped)


def _score(
    family: str, x: FloatArray, dist: Distribution, params: dict[str, float], loglik: float
) -> Candidate:
    k, n = FAMILIES[family], x.size
    ks = stats.kstest(x, dist.cdf)
    return Candidate(
        family=family,
        k=k,
        dist=dist,
        params=params,
        log_likelihood=loglik,
        aic=2 * k - 2 * loglik,
        bic=k * math.log(n) - 2 * loglik,
        ks_stat=float(ks.statistic),
        ks_p=float(ks.pvalue),
    )


def _bootstrap_ks(best: Candidate, n: int, rounds: int, rng: np.random.Generator) -> float:
    """Share of KS statistics, refitting the family to samples of the fit, at least as
    large as the observed one (with the usual +1 so that p is never 0)."""
    fitter = _FITTERS[best.family]
    larger = 0
    for _ in range(rounds):
        sample = np.sort(best.dist.sample(rng, n))
        refit = fitter(sample, rng)[0]
        larger += float(stats.kstest(sample, refit.cdf).statistic) >= best.ks_stat
    return (larger + 1) / (rounds + 1)


# --- maximum-likelihood fits; each returns (distribution, parameters, log-likelihood) ---


def _fit_lognormal(x: FloatArray, rng: np.random.Generator) -> Fitted:
    """Closed form: mean and (n-denominator) standard deviation of ln(x)."""
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std())
    loglik = float(stats.norm.logpdf(logs, mu, sigma).sum() - logs.sum())
    return LogNormal(mu=mu, sigma=sigma), {"mu": mu, "sigma": sigma}, loglik


def _fit_exponential(x: FloatArray, rng: np.random.Generator) -> Fitted:
    mean = float(x.mean())
    loglik = -x.size * (math.log(mean) + 1)
    return Exponential(mean_s=mean), {"mean": mean}, loglik


def _fit_weibull(x: FloatArray, rng: np.random.Generator) -> Fitted:
    """The shape solves the profile-likelihood equation (scipy's root finder), the scale
    follows from it; sums of x**k are taken in log space so large shapes cannot overflow."""
    logs = np.log(x)
    centred = logs - logs.max()

    def score(k: float) -> float:  # d/dk of the profile log-likelihood / n; increasing in k
        weights = np.exp(k * centred)
        return float((weights * logs).sum() / weights.sum() - 1 / k - logs.mean())

    low, high = 1e-3, 1.0
    while score(high) < 0 and high < 1e4:
        high *= 2
    shape = float(optimize.brentq(score, low, high, xtol=1e-12, rtol=1e-12))
    log_mean_power = float(special.logsumexp(shape * logs)) - math.log(x.size)
    scale = math.exp(log_mean_power / shape)
    loglik = float(stats.weibull_min.logpdf(x, shape, scale=scale).sum())
    return Weibull(shape=shape, scale=scale), {"shape": shape, "scale": scale}, loglik


def _fit_gamma(x: FloatArray, rng: np.random.Generator) -> Fitted:
    """Shape solves ln k - digamma(k) = ln(mean) - mean(ln x); scale = mean / k."""
    mean = float(x.mean())
    s = math.log(mean) - float(np.log(x).mean())  # > 0 unless all values are equal
    shape = float(
        optimize.brentq(lambda k: math.log(k) - special.digamma(k) - s, 1e-8, 1e8, xtol=1e-14)
    )
    scale = mean / shape
    loglik = float(stats.gamma.logpdf(x, shape, scale=scale).sum())
    return Gamma(shape=shape, scale=scale), {"shape": shape, "scale": scale}, loglik


def _fit_bounded_pareto(x: FloatArray, rng: np.random.Generator) -> Fitted:
    """Bounds at the sample minimum and maximum, which are their maximum-likelihood
    estimates (the density rises with the lower bound up to the smallest value and falls
    with the upper bound down to the largest); then alpha maximises the profile
    likelihood. Both bounds are biased inwards: the true range is at least as wide."""
    lower, upper = float(x[0]), float(x[-1])
    n, sum_log = x.size, float(np.log(x).sum())
    ratio = math.log(lower / upper)  # < 0

    def negative_loglik(log_alpha: float) -> float:
        a = math.exp(log_alpha)
        return -(
            n * math.log(a)
            + n * a * math.log(lower)
            - (a + 1) * sum_log
            - n * math.log(-math.expm1(a * ratio))
        )

    found = optimize.minimize_scalar(
        negative_loglik,
        bounds=(math.log(1e-4), math.log(50.0)),
        method="bounded",
        options={"xatol": 1e-10},
    )
    alpha = math.exp(float(found.x))
    dist = BoundedPareto(alpha=alpha, lower_s=lower, upper_s=upper)
    params = {"alpha": alpha, "lower": lower, "upper": upper}
    return dist, params, -float(found.fun)


HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
EM_RESTARTS = 4
"""Random restarts of the mixture's EM besides the one from quartiles."""


def _fit_lognormal_mixture(x: FloatArray, rng: np.random.Generator) -> Fitted:
    """Two lognormal components by EM on ln(x) (a two-Gaussian mixture), from the lower
    and upper quartiles and ``EM_RESTARTS`` seeded random starts; the best likelihood
    wins. Components are ordered by median."""
    logs = np.log(x)
    spread = float(logs.std())
    starts = [(float(np.quantile(logs, 0.25)), float(np.quantile(logs, 0.75)))]
    for _ in range(EM_RESTARTS):
        a, b = rng.choice(logs, 2, replace=False)
        starts.append((float(a), float(b)))
    best: tuple[float, FloatArray, FloatArray, FloatArray] | None = None
    for start in starts:
        found = _em_two_normals(logs, np.array(start), spread)
        if best is None or found[0] > best[0]:
            best = found
    assert best is not None
    loglik_logs, weights, mus, sigmas = best
    order = np.argsort(mus)
    weights, mus, sigmas = weights[order], mus[order], sigmas[order]
    dist = Mixture.model_validate(
        {
            "components": [
                {
                    "weight": float(w),
                    "dist": {"kind": "lognormal", "mu": float(m), "sigma": float(s)},
                }
                for w, m, s in zip(weights, mus, sigmas, strict=True)
            ]
        }
    )
    params = {
        "w1": float(weights[0]),
        "median1": float(np.exp(mus[0])),
        "sigma1": float(sigmas[0]),
        "median2": float(np.exp(mus[1])),
        "sigma2": float(sigmas[1]),
    }
    return dist, params, loglik_logs - float(logs.sum())


def _em_two_normals(
    y: FloatArray, mus: FloatArray, spread: float, iterations: int = 2000, tol: float = 1e-7
) -> tuple[float, FloatArray, FloatArray, FloatArray]:
    """EM for a two-component normal mixture; returns (log-likelihood, weights, means,
    standard deviations). It stops when an iteration adds less than ``tol`` per point to
    the log-likelihood (EM only ever raises it). Standard deviations are floored at 1e-3
    of the data's spread so a component cannot collapse onto one point."""
    floor = 1e-3 * spread
    w, m, s = [0.5, 0.5], [float(mus[0]), float(mus[1])], [spread / 2, spread / 2]
    previous = loglik = -math.inf
    for _ in range(iterations):
        log_a = math.log(w[0] / s[0]) - HALF_LOG_2PI - 0.5 * ((y - m[0]) / s[0]) ** 2
        log_b = math.log(w[1] / s[1]) - HALF_LOG_2PI - 0.5 * ((y - m[1]) / s[1]) ** 2
        total = np.logaddexp(log_a, log_b)
        loglik = float(total.sum())  # of the current parameters, which are returned
        if loglik - previous <= tol * y.size:
            break
        previous = loglik
        resp_a = np.exp(log_a - total)
        mass_a = float(resp_a.sum())
        mass_b = y.size - mass_a
        if min(mass_a, mass_b) < 1e-9 * y.size:  # a component lost all its points
            return -math.inf, np.array(w), np.array(m), np.array(s)
        sum_a = float(resp_a @ y)
        m = [sum_a / mass_a, (float(y.sum()) - sum_a) / mass_b]
        var_a = float(resp_a @ (y - m[0]) ** 2) / mass_a
        var_b = float((1 - resp_a) @ (y - m[1]) ** 2) / mass_b
        w = [mass_a / y.size, mass_b / y.size]
        s = [max(math.sqrt(var_a), floor), max(math.sqrt(var_b), floor)]
    return loglik, np.array(w), np.array(m), np.array(s)


_FITTERS: dict[str, Callable[[FloatArray, np.random.Generator], Fitted]] = {
    "lognormal": _fit_lognormal,
    "weibull": _fit_weibull,
    "gamma": _fit_gamma,
    "exponential": _fit_exponential,
    "bounded_pareto": _fit_bounded_pareto,
    "lognormal_mixture": _fit_lognormal_mixture,
}
