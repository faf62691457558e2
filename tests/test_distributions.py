"""Distribution specs held to theory and to independent implementations.

Statistical tolerances are derived from the sample size, not guessed. For the sample
mean of ``n`` draws the bound is ``Z * sqrt(variance / n)`` with ``Z = 4.5``: a
4.5-sigma bound, whose false-failure chance (normal approximation) is below 1e-5 per
check. For the sample variance the bound is ``Z`` standard errors of the sample
variance, ``sqrt((mu4 - sigma^4) / n)``, where ``mu4`` is the fourth central moment
computed independently of the package: in closed form for the uniform, exponential
and lognormal, and by numerical integration (``scipy.integrate.quad``) over the
``scipy.stats`` density for the others. A rounding allowance of 1e-12 relative is
added so that zero-variance cases (``fixed``) compare floats sensibly.

Empirical distribution functions are held to the Dvoretzky-Kiefer-Wolfowitz bound
``sup |F_n - F| <= sqrt(ln(2 / alpha) / (2 n))`` with ``alpha = 1e-6``.

Every random draw uses a fixed seed, so a run is reproducible.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from scipy import integrate, stats

from simulator.distributions import DistributionSpec

SEED = 20240611
Z = 4.5
"""A 4.5-sigma bound: false-failure chance below 1e-5 per check."""
N = 1_000_000
"""Draws per moment check."""
ROUNDING = 1e-12
"""Relative allowance for floating-point rounding in the moment checks."""
DKW_ALPHA = 1e-6
QUANTILE_LEVELS = (0.05, 0.5, 0.95, 0.99)

ADAPTER: TypeAdapter[Any] = TypeAdapter(DistributionSpec)


def make(spec: dict[str, Any], **context: Any) -> Any:
    """A distribution from a spec dict, validated as a scenario file would be."""
    return ADAPTER.validate_python(spec, context=context or None)


def dkw_epsilon(n: int, alpha: float = DKW_ALPHA) -> float:
    """The DKW bound on sup |F_n - F| holding with probability at least 1 - alpha."""
    return math.sqrt(math.log(2 / alpha) / (2 * n))


# --------------------------------------------------------------------------------------
# Independent references
# --------------------------------------------------------------------------------------


def central_moment(ref: Any, about: float, k: int) -> float:
    """E[(X - about)^k] for a continuous scipy.stats frozen distribution, by quad.

    The support is split at many quantiles so quad sees each region of the density.
    """
    lo, hi = ref.support()
    probs = [1e-12, 1e-6, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999, 1 - 1e-6]
    inner = sorted({float(x) for x in ref.ppf(probs)})
    points = [float(lo), *inner, float(hi)]
    total = 0.0
    for a, b in itertools.pairwise(points):
        if b <= a:
            continue
        value, _ = integrate.quad(lambda x: (x - about) ** k * ref.pdf(x), a, b, limit=200)
        total += value
    return total


@dataclass(frozen=True)
class MixtureRef:
    """A weighted mixture of scipy.stats frozen distributions (independent of the package)."""

    weights: tuple[float, ...]
    parts: tuple[Any, ...]

    def mean(self) -> float:
        return sum(w * p.mean() for w, p in zip(self.weights, self.parts, strict=True))

    def var(self) -> float:
        second = sum(
            w * (p.var() + p.mean() ** 2) for w, p in zip(self.weights, self.parts, strict=True)
        )
        return second - self.mean() ** 2

    def cdf(self, x: Any) -> Any:
        return sum(w * p.cdf(x) for w, p in zip(self.weights, self.parts, strict=True))


def lognormal_mu4(mu: float, sigma: float) -> float:
    """Fourth central moment of a lognormal, in closed form from its raw moments."""

    def raw(k: int) -> float:
        return math.exp(k * mu + k * k * sigma * sigma / 2)

    m = raw(1)
    return raw(4) - 4 * m * raw(3) + 6 * m * m * raw(2) - 3 * m**4


EMPIRICAL_VALUES_S = np.array(
    [0.25, 1.2, 1.5, 2.0, 3.0, 3.0, 4.5, 7.0, 10.0, 12.0, 15.0, 30.0, 45.0, 60.0, 90.0, 300.0]
)
EMPIRICAL_SPEC = {
    "kind": "empirical",
    "values": [
        "250ms",
        "1.2s",
        1.5,
        "2s",
        3,
        "3s",
        "4.5s",
        7,
        "10s",
        12,
        "15s",
        "30s",
        "45s",
        "1m",
        "1.5m",
        "5m",
    ],
}

MIXTURE_SPEC = {
    "kind": "mixture",
    "components": [
        {"weight": 4, "dist": {"kind": "exponential", "mean": "5s"}},
        {"weight": 1, "dist": {"kind": "lognormal", "mu": math.log(120), "sigma": 0.5}},
    ],
}
MIXTURE_REF = MixtureRef((0.8, 0.2), (stats.expon(scale=5.0), stats.lognorm(s=0.5, scale=120.0)))


@dataclass(frozen=True)
class Case:
    """A spec, an independent scipy reference (if continuous) and its fourth central moment."""

    id: str
    spec: dict[str, Any]
    ref: Any
    mu4: Callable[[], float]


def _quad_mu4(ref: Any) -> Callable[[], float]:
    return lambda: central_moment(ref, ref.mean(), 4)


def _mixture_mu4() -> float:
    m = MIXTURE_REF.mean()
    return sum(
        w * central_moment(p, m, 4)
        for w, p in zip(MIXTURE_REF.weights, MIXTURE_REF.parts, strict=True)
    )


def _empirical_mu4() -> float:
    return float(np.mean((EMPIRICAL_VALUES_S - EMPIRICAL_VALUES_S.mean()) ** 4))


SIGMA_45S_3M = math.log(180 / 45) / stats.norm.ppf(0.95)

CASES = [
    Case("fixed", {"kind": "fixed", "value": "2.5s"}, None, lambda: 0.0),
    Case(
        "uniform",
        {"kind": "uniform", "low": "250ms", "high": "4s"},
        stats.uniform(loc=0.25, scale=3.75),
        lambda: 3.75**4 / 80,
    ),
    Case(
        "exponential",
        {"kind": "exponential", "mean": "30s"},
        stats.expon(scale=30.0),
        lambda: 9 * 30.0**4,
    ),
    Case(
        "lognormal_median_p95",
        {"kind": "lognormal", "median": "45s", "p95": "3m"},
        stats.lognorm(s=SIGMA_45S_3M, scale=45.0),
        lambda: lognormal_mu4(math.log(45.0), SIGMA_45S_3M),
    ),
    Case(
        "lognormal_mu_sigma",
        {"kind": "lognormal", "mu": 3.0, "sigma": 0.8},
        stats.lognorm(s=0.8, scale=math.exp(3.0)),
        lambda: lognormal_mu4(3.0, 0.8),
    ),
    Case(
        "weibull",
        {"kind": "weibull", "shape": 0.7, "scale": "1m"},
        stats.weibull_min(0.7, scale=60.0),
        _quad_mu4(stats.weibull_min(0.7, scale=60.0)),
    ),
    Case(
        "gamma",
        {"kind": "gamma", "shape": 2.5, "scale": "10s"},
        stats.gamma(2.5, scale=10.0),
        _quad_mu4(stats.gamma(2.5, scale=10.0)),
    ),
    Case(
        "bounded_pareto",
        {"kind": "bounded_pareto", "alpha": 1.3, "lower": "1s", "upper": "1h"},
        stats.truncpareto(1.3, 3600.0, scale=1.0),
        _quad_mu4(stats.truncpareto(1.3, 3600.0, scale=1.0)),
    ),
    Case("empirical", EMPIRICAL_SPEC, None, _empirical_mu4),
    Case("mixture", MIXTURE_SPEC, MIXTURE_REF, _mixture_mu4),
]
CONTINUOUS = [case for case in CASES if case.ref is not None]
SCIPY_QUANTILE_CASES = [
    case
    for case in CASES
    if case.id
    in {
        "uniform",
        "exponential",
        "lognormal_median_p95",
        "lognormal_mu_sigma",
        "weibull",
        "gamma",
    }
]


# --------------------------------------------------------------------------------------
# Moments: analytic formulas against independent computations, samples against both
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CONTINUOUS, ids=lambda c: c.id)
def test_analytic_moments_match_scipy(case: Case) -> None:
    dist = make(case.spec)
    assert dist.mean == pytest.approx(case.ref.mean(), rel=1e-9)
    assert dist.variance == pytest.approx(case.ref.var(), rel=1e-9)


def test_analytic_moments_of_discrete_kinds() -> None:
    fixed = make({"kind": "fixed", "value": "2.5s"})
    assert (fixed.mean, fixed.variance) == (2.5, 0.0)
    empirical = make(EMPIRICAL_SPEC)
    assert empirical.mean == pytest.approx(EMPIRICAL_VALUES_S.mean(), rel=1e-12)
    assert empirical.variance == pytest.approx(EMPIRICAL_VALUES_S.var(), rel=1e-12)


@pytest.mark.parametrize(
    ("ref", "closed_form"),
    [
        (stats.uniform(loc=0.25, scale=3.75), 3.75**4 / 80),
        (stats.expon(scale=30.0), 9 * 30.0**4),
        (stats.lognorm(s=0.8, scale=math.exp(3.0)), lognormal_mu4(3.0, 0.8)),
    ],
    ids=["uniform", "exponential", "lognormal"],
)
def test_quad_fourth_moment_helper_agrees_with_closed_forms(ref: Any, closed_form: float) -> None:
    """The quad helper used for mu4 elsewhere is itself right where closed forms exist."""
    assert central_moment(ref, ref.mean(), 4) == pytest.approx(closed_form, rel=1e-7)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_sample_mean_within_standard_error(case: Case) -> None:
    dist = make(case.spec)
    draws = dist.sample(np.random.default_rng(SEED), N)
    assert draws.shape == (N,)
    assert draws.dtype == np.float64
    tolerance = Z * math.sqrt(dist.variance / N) + ROUNDING * abs(dist.mean)
    assert abs(draws.mean() - dist.mean) <= tolerance, (draws.mean(), dist.mean, tolerance)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_sample_variance_within_standard_error(case: Case) -> None:
    dist = make(case.spec)
    draws = dist.sample(np.random.default_rng(SEED + 1), N)
    mu4 = case.mu4()
    assert mu4 >= dist.variance**2 * (1 - 1e-9)  # Jensen: mu4 >= sigma^4
    standard_error = math.sqrt(max(mu4 - dist.variance**2, 0.0) / N)
    tolerance = Z * standard_error + ROUNDING * (dist.variance + dist.mean**2)
    sample_variance = draws.var(ddof=1)
    assert abs(sample_variance - dist.variance) <= tolerance, (
        sample_variance,
        dist.variance,
        tolerance,
    )


def test_sample_moment_checks_can_fail() -> None:
    """The tolerances are tight enough to reject a wrong mean (a 2% error)."""
    dist = make({"kind": "gamma", "shape": 2.5, "scale": "10s"})
    draws = dist.sample(np.random.default_rng(SEED), N) * 1.02
    tolerance = Z * math.sqrt(dist.variance / N)
    assert abs(draws.mean() - dist.mean) > tolerance


# --------------------------------------------------------------------------------------
# Quantiles and distribution functions
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", QUANTILE_LEVELS)
@pytest.mark.parametrize("case", SCIPY_QUANTILE_CASES, ids=lambda c: c.id)
def test_quantile_matches_scipy(case: Case, q: float) -> None:
    dist = make(case.spec)
    assert dist.quantile(q) == pytest.approx(case.ref.ppf(q), rel=1e-9)


@pytest.mark.parametrize("case", CONTINUOUS, ids=lambda c: c.id)
def test_cdf_matches_independent_reference(case: Case) -> None:
    dist = make(case.spec)
    parts = case.ref.parts if isinstance(case.ref, MixtureRef) else (case.ref,)
    levels = (0.001, 0.05, 0.25, 0.5, 0.75, 0.95, 0.999)
    xs = np.sort(np.concatenate([part.ppf(levels) for part in parts]))
    np.testing.assert_allclose(dist.cdf(xs), case.ref.cdf(xs), rtol=1e-9)


@pytest.mark.parametrize("q", QUANTILE_LEVELS)
def test_bounded_pareto_quantile_matches_scipy_truncpareto(q: float) -> None:
    dist = make({"kind": "bounded_pareto", "alpha": 1.3, "lower": "1s", "upper": "1h"})
    ref = stats.truncpareto(1.3, 3600.0, scale=1.0)
    assert dist.quantile(q) == pytest.approx(ref.ppf(q), rel=1e-9)


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "bounded_pareto", "alpha": 1.3, "lower": "1s", "upper": "1h"},
        {"kind": "bounded_pareto", "alpha": 2.0, "lower": "5s", "upper": "10m"},
        MIXTURE_SPEC,
    ],
    ids=["bounded_pareto", "bounded_pareto_alpha2", "mixture"],
)
def test_cdf_of_quantile_round_trips_and_quantile_is_monotone(spec: dict[str, Any]) -> None:
    dist = make(spec)
    for q in QUANTILE_LEVELS:
        assert float(dist.cdf(dist.quantile(q))) == pytest.approx(q, abs=1e-9)
    levels = np.linspace(0.001, 0.999, 400)
    quantiles = np.array([dist.quantile(float(q)) for q in levels])
    assert np.all(np.diff(quantiles) > 0)
    assert dist.lower <= quantiles[0]
    assert quantiles[-1] <= dist.upper


def test_mixture_quantile_matches_independent_root_finding() -> None:
    from scipy import optimize

    dist = make(MIXTURE_SPEC)
    for q in QUANTILE_LEVELS:
        expected = optimize.brentq(lambda x, q=q: MIXTURE_REF.cdf(x) - q, 0.0, 1e5, xtol=1e-13)
        assert dist.quantile(q) == pytest.approx(expected, rel=1e-9)


def test_bounded_pareto_moments_at_alpha_equal_to_moment_order() -> None:
    """alpha = 1 and alpha = 2 take the logarithmic branch of the raw moments."""
    for alpha in (1.0, 2.0):
        dist = make({"kind": "bounded_pareto", "alpha": alpha, "lower": 2, "upper": 500})
        ref = stats.truncpareto(alpha, 250.0, scale=2.0)
        m1 = central_moment(ref, 0.0, 1)
        m2 = central_moment(ref, 0.0, 2)
        assert dist.mean == pytest.approx(m1, rel=1e-9)
        assert dist.variance == pytest.approx(m2 - m1**2, rel=1e-9)


def test_lognormal_by_median_and_p95_hits_them() -> None:
    dist = make({"kind": "lognormal", "median": "45s", "p95": "10m"})
    assert dist.quantile(0.5) == pytest.approx(45.0, rel=1e-12)
    assert dist.quantile(0.95) == pytest.approx(600.0, rel=1e-12)
    assert float(dist.cdf(45.0)) == pytest.approx(0.5, rel=1e-12)
    assert float(dist.cdf(600.0)) == pytest.approx(0.95, rel=1e-12)


def test_fixed_cdf_and_quantile() -> None:
    dist = make({"kind": "fixed", "value": "2.5s"})
    np.testing.assert_array_equal(dist.cdf(np.array([0.0, 2.4999, 2.5, 10.0])), [0, 0, 1, 1])
    assert all(dist.quantile(q) == 2.5 for q in (0.0, 0.3, 1.0))
    assert np.all(dist.sample(np.random.default_rng(SEED), 100) == 2.5)


def test_empirical_quantile_is_smallest_observation_reaching_q() -> None:
    dist = make(EMPIRICAL_SPEC)
    observations = np.sort(EMPIRICAL_VALUES_S)
    n = observations.size
    np.testing.assert_array_equal(dist.observations, observations)
    for q in (0.01, 0.05, 1 / 16, 0.5, 0.51, 0.95, 0.99, 1.0):
        expected = observations[max(math.ceil(q * n - 1e-12) - 1, 0)]
        assert dist.quantile(q) == expected
        assert float(dist.cdf(dist.quantile(q))) >= q
    assert float(dist.cdf(3.0)) == 6 / 16  # ties count fully
    assert float(dist.cdf(2.999)) == 4 / 16


@pytest.mark.parametrize("q", [-0.1, 1.5, math.nan])
def test_quantile_rejects_levels_outside_unit_interval(q: float) -> None:
    dist = make({"kind": "exponential", "mean": "30s"})
    with pytest.raises(ValueError, match="between 0 and 1"):
        dist.quantile(q)


# --------------------------------------------------------------------------------------
# DKW: sampled values against the stated distribution function
# --------------------------------------------------------------------------------------


def test_empirical_sample_quantiles_within_dkw_bound() -> None:
    dist = make(EMPIRICAL_SPEC)
    n = 200_000
    draws = np.sort(dist.sample(np.random.default_rng(SEED), n))
    eps = dkw_epsilon(n)
    support = np.unique(EMPIRICAL_VALUES_S)
    f_n = np.searchsorted(draws, support, side="right") / n
    # both are step functions jumping on the support, so the sup is taken there
    assert np.max(np.abs(f_n - dist.cdf(support))) <= eps
    assert set(np.unique(draws)) <= set(support)
    for q in (0.05, 0.25, 0.5, 0.75, 0.95, 0.99):
        sample_q = float(np.quantile(draws, q, method="inverted_cdf"))
        # sup |F_n - F| <= eps implies F^-1(q - eps) <= F_n^-1(q) <= F^-1(q + eps)
        assert dist.quantile(max(q - eps, 0.0)) <= sample_q <= dist.quantile(min(q + eps, 1.0))


@pytest.mark.parametrize("case", CONTINUOUS, ids=lambda c: c.id)
def test_continuous_samples_within_dkw_bound(case: Case) -> None:
    dist = make(case.spec)
    n = 200_000
    draws = np.sort(dist.sample(np.random.default_rng(SEED + 2), n))
    cdf = dist.cdf(draws)
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert ks <= dkw_epsilon(n)


# --------------------------------------------------------------------------------------
# Mixtures with atoms (a fixed or empirical component)
# --------------------------------------------------------------------------------------

ATOM_MIXTURES = [
    {
        "kind": "mixture",
        "components": [
            {"weight": 1, "dist": {"kind": "fixed", "value": "10s"}},
            {"weight": 1, "dist": {"kind": "exponential", "mean": "10s"}},
        ],
    },
    {
        "kind": "mixture",
        "components": [
            {"weight": 1, "dist": {"kind": "fixed", "value": 1}},
            {"weight": 1, "dist": {"kind": "fixed", "value": 2}},
        ],
    },
]


@pytest.mark.parametrize(
    ("spec", "atom"),
    [(ATOM_MIXTURES[0], 10.0), (ATOM_MIXTURES[1], 2.0)],
    ids=["fixed+exponential", "fixed+fixed"],
)
def test_mixture_cdf_has_the_atom(spec: dict[str, Any], atom: float) -> None:
    dist = make(spec)
    jump = float(dist.cdf(atom)) - float(dist.cdf(np.nextafter(atom, 0)))
    assert jump == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize(
    ("spec", "q", "atom"),
    [(ATOM_MIXTURES[0], 0.5, 10.0), (ATOM_MIXTURES[1], 0.7, 2.0)],
    ids=["fixed+exponential", "fixed+fixed"],
)
def test_mixture_quantile_at_an_atom_reaches_q(spec: dict[str, Any], q: float, atom: float) -> None:
    dist = make(spec)
    x = dist.quantile(q)
    assert float(dist.cdf(x)) >= q - 1e-9, (x, float(dist.cdf(x)))
    assert x == atom


def test_mixture_cdf_never_exceeds_one() -> None:
    dist = make(
        {
            "kind": "mixture",
            "components": [
                {"weight": 0.55, "dist": {"kind": "exponential", "mean": "30s"}},
                {"weight": 2, "dist": {"kind": "uniform", "low": "1s", "high": "2s"}},
            ],
        }
    )
    assert float(dist.cdf(1e9)) <= 1.0


GAP_MIXTURE = {
    "kind": "mixture",
    "components": [
        {"weight": 4, "dist": {"kind": "uniform", "low": "1s", "high": "10s"}},
        {"weight": 1, "dist": {"kind": "uniform", "low": "1m", "high": "2m"}},
    ],
}


def test_mixture_quantile_next_to_a_gap() -> None:
    """Just below and above the gap (10s, 60s) the quantile is where it should be."""
    dist = make(GAP_MIXTURE)
    assert float(dist.cdf(30.0)) == pytest.approx(0.8, abs=1e-15)
    assert dist.quantile(0.8 - 1e-4) == pytest.approx(10 - 9e-4 / 0.8, rel=1e-9)
    assert dist.quantile(0.8 + 1e-4) == pytest.approx(60 + 60e-4 / 0.2, rel=1e-9)


def test_mixture_quantile_in_a_gap_is_the_smallest_x() -> None:
    dist = make(GAP_MIXTURE)
    q = float(dist.cdf(30.0))  # 0.8: all of the first component, none of the second
    assert dist.quantile(q) <= 30.0
    assert dist.quantile(q) == pytest.approx(10.0, rel=1e-9)


IDENTICAL_COMPONENTS = [
    (
        {"kind": "lognormal", "median": "45s", "p95": "10m"},
        0.05,
    ),
    ({"kind": "uniform", "low": 1, "high": 2}, 1e-6),
]


@pytest.mark.parametrize(
    ("component", "q"), IDENTICAL_COMPONENTS, ids=["lognormal@0.05", "uniform@1e-6"]
)
def test_mixture_quantile_of_identical_components(component: dict[str, Any], q: float) -> None:
    single = make(component)
    dist = make(
        {
            "kind": "mixture",
            "components": [{"weight": 1, "dist": component}, {"weight": 2, "dist": component}],
        }
    )
    assert dist.quantile(q) == pytest.approx(single.quantile(q), rel=1e-9)


# --------------------------------------------------------------------------------------
# Property tests over random valid parameters
# --------------------------------------------------------------------------------------

durations = st.floats(min_value=1e-3, max_value=1e4, allow_nan=False, allow_infinity=False)


def _uniform(a: float, b: float) -> dict[str, Any]:
    return {"kind": "uniform", "low": min(a, b), "high": max(a, b)}


uniform_specs = st.builds(_uniform, durations, durations)
strict_uniform_specs = uniform_specs.filter(lambda s: s["high"] > s["low"] * (1 + 1e-6))
exponential_specs = st.builds(lambda m: {"kind": "exponential", "mean": m}, durations)
lognormal_log_specs = st.builds(
    lambda mu, sigma: {"kind": "lognormal", "mu": mu, "sigma": sigma},
    st.floats(min_value=-3, max_value=8),
    st.floats(min_value=0.05, max_value=3),
)
lognormal_quantile_specs = st.builds(
    lambda median, ratio: {"kind": "lognormal", "median": median, "p95": median * ratio},
    durations,
    st.floats(min_value=1.01, max_value=100),
)
weibull_specs = st.builds(
    lambda k, scale: {"kind": "weibull", "shape": k, "scale": scale},
    st.floats(min_value=0.3, max_value=5),
    durations,
)
gamma_specs = st.builds(
    lambda k, scale: {"kind": "gamma", "shape": k, "scale": scale},
    st.floats(min_value=0.2, max_value=20),
    durations,
)
pareto_specs = st.builds(
    lambda a, lo, ratio: {"kind": "bounded_pareto", "alpha": a, "lower": lo, "upper": lo * ratio},
    st.floats(min_value=0.3, max_value=3),
    durations,
    st.floats(min_value=1.5, max_value=1e4),
)
fixed_specs = st.builds(lambda v: {"kind": "fixed", "value": v}, durations)
empirical_specs = st.builds(
    lambda values: {"kind": "empirical", "values": values},
    st.lists(durations, min_size=1, max_size=40),
)
continuous_leaf_specs = st.one_of(
    strict_uniform_specs,
    exponential_specs,
    lognormal_log_specs,
    lognormal_quantile_specs,
    weibull_specs,
    gamma_specs,
    pareto_specs,
)


def _mixture(parts: list[tuple[float, dict[str, Any]]]) -> dict[str, Any]:
    return {"kind": "mixture", "components": [{"weight": w, "dist": d} for w, d in parts]}


def mixtures_of(
    first: st.SearchStrategy[dict[str, Any]], rest: st.SearchStrategy[dict[str, Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """Mixtures of 2-3 components, the first drawn from ``first``, the others from ``rest``."""
    weights = st.floats(min_value=0.05, max_value=10)
    return st.builds(
        lambda head, tail: _mixture([head, *tail]),
        st.tuples(weights, first),
        st.lists(st.tuples(weights, rest), min_size=1, max_size=2),
    )


unbounded_leaf_specs = st.one_of(
    exponential_specs, lognormal_log_specs, lognormal_quantile_specs, weibull_specs, gamma_specs
)
# With an unbounded component the mixture's cdf is strictly increasing on (0, inf), so
# quantile(cdf(x)) == x must hold. Mixtures of bounded components only can have gaps
# (flat cdf), covered by test_mixture_quantile_in_a_gap_is_the_smallest_x below.
continuous_specs = st.one_of(
    continuous_leaf_specs, mixtures_of(unbounded_leaf_specs, continuous_leaf_specs)
)
all_leaf_specs = st.one_of(continuous_leaf_specs, uniform_specs, fixed_specs, empirical_specs)
all_specs = st.one_of(all_leaf_specs, mixtures_of(all_leaf_specs, all_leaf_specs))


def _top(dist: Any) -> float:
    """The upper end of the support, or of its bulk where unbounded."""
    if math.isfinite(dist.upper):
        return float(dist.upper)
    if dist.kind == "mixture":
        return max(_top(component.dist) for component in dist.components)
    return float(dist.quantile(1 - 1e-6))


def _grid(dist: Any) -> np.ndarray:
    """Points from below the support to beyond its bulk."""
    top = _top(dist)
    bottom = dist.lower
    span = max(top - bottom, 1e-3)
    inner = np.linspace(bottom, top, 400)
    outside = np.array([-1.0, bottom - span / 10, top + span / 10, top * 10])
    return np.sort(np.concatenate([inner, outside, np.geomspace(1e-6, top * 2, 200)]))


@settings(max_examples=150, deadline=None)
@given(spec=all_specs, seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_samples_lie_within_lower_and_upper(spec: dict[str, Any], seed: int) -> None:
    dist = make(spec)
    draws = dist.sample(np.random.default_rng(seed), 2_000)
    assert draws.shape == (2_000,)
    assert np.all(draws >= dist.lower), (draws.min(), dist.lower)
    assert np.all(draws <= dist.upper), (draws.max(), dist.upper)


@settings(max_examples=150, deadline=None)
@given(spec=all_specs)
def test_cdf_is_monotone_and_a_probability(spec: dict[str, Any]) -> None:
    dist = make(spec)
    xs = _grid(dist)
    cdf = np.asarray(dist.cdf(xs), dtype=np.float64)
    assert cdf.shape == xs.shape
    assert np.all((cdf >= 0) & (cdf <= 1))
    assert np.all(np.diff(cdf) >= 0)
    assert float(dist.cdf(dist.lower - 1.0)) == 0.0
    if math.isfinite(dist.upper):
        assert float(dist.cdf(dist.upper)) == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=150, deadline=None)
@given(spec=continuous_specs, t=st.floats(min_value=0, max_value=1))
def test_quantile_inverts_cdf_for_continuous_kinds(spec: dict[str, Any], t: float) -> None:
    dist = make(spec)
    lo, hi = dist.quantile(1e-6), dist.quantile(1 - 1e-6)
    x = lo + t * (hi - lo)
    q = float(dist.cdf(x))
    # only where the cdf is numerically invertible: it must move by more than rounding
    # (1e-16) over a 1e-6 relative step, else any x in a numerically flat stretch is right
    rise = float(dist.cdf(x * (1 + 1e-6))) - float(dist.cdf(x * (1 - 1e-6)))
    assume(rise > 1e-10)
    assert 0 < q < 1
    assert dist.quantile(q) == pytest.approx(x, rel=1e-6, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(spec=continuous_specs, a=st.floats(0.001, 0.999), b=st.floats(0.001, 0.999))
def test_quantile_is_monotone(spec: dict[str, Any], a: float, b: float) -> None:
    dist = make(spec)
    lo, hi = min(a, b), max(a, b)
    # numerical inverses (scipy.special.gammaincinv) may wobble by an ulp between adjacent q
    assert dist.quantile(lo) <= dist.quantile(hi) * (1 + 1e-12)


# --------------------------------------------------------------------------------------
# Validation and units
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "lognormal", "median": "45s", "p95": "45s"}, "p95"),
        ({"kind": "lognormal", "median": "45s", "p95": "30s"}, "p95"),
        ({"kind": "lognormal", "median": 0, "p95": "30s"}, "median must be positive"),
        ({"kind": "lognormal", "median": "45s"}, "exactly one of p90, p95, p99"),
        ({"kind": "lognormal", "mu": 1.0, "sigma": 0.0}, "sigma must be positive"),
        (
            {"kind": "lognormal", "median": "45s", "p95": "10m", "mu": 1.0, "sigma": 1.0},
            "not both",
        ),
        ({"kind": "lognormal"}, "not neither"),
        ({"kind": "exponential", "mean": "-5s"}, "-5s"),
        ({"kind": "exponential", "mean": -5}, "not negative"),
        ({"kind": "exponential", "mean": 0}, "must be positive"),
        ({"kind": "bounded_pareto", "alpha": 1.5, "lower": "1h", "upper": "1h"}, "must exceed"),
        ({"kind": "bounded_pareto", "alpha": 1.5, "lower": "2h", "upper": "1h"}, "must exceed"),
        ({"kind": "bounded_pareto", "alpha": 1.5, "lower": 0, "upper": "1h"}, "positive"),
        ({"kind": "bounded_pareto", "alpha": 0, "lower": 1, "upper": 2}, "greater than 0"),
        ({"kind": "uniform", "low": "10s", "high": "5s"}, "at least low"),
        ({"kind": "weibull", "shape": 0, "scale": "1m"}, "greater than 0"),
        ({"kind": "weibull", "shape": 1, "scale": 0}, "must be positive"),
        ({"kind": "gamma", "shape": -1, "scale": "1m"}, "greater than 0"),
        ({"kind": "fixed", "value": "2s", "jitter": "1s"}, "jitter"),
        ({"kind": "exponential", "mean": "1s", "median": "1s"}, "median"),
        ({"kind": "cauchy", "loc": 1}, "cauchy"),
        ({"value": 1}, "kind"),
        ({"kind": "empirical", "values": []}, "at least one"),
        ({"kind": "mixture", "components": []}, "at least 1"),
        (
            {
                "kind": "mixture",
                "components": [{"weight": 0, "dist": {"kind": "fixed", "value": 1}}],
            },
            "greater than 0",
        ),
        ({"kind": "fixed", "value": "10 parsecs"}, "10 parsecs"),
    ],
)
def test_invalid_specs_raise_validation_error(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make(spec)


@pytest.mark.parametrize(
    ("spec", "attribute", "expected"),
    [
        ({"kind": "fixed", "value": "45s"}, "value", 45.0),
        ({"kind": "fixed", "value": "1h30m"}, "value", 5400.0),
        ({"kind": "exponential", "mean": "10m"}, "mean", 600.0),
        ({"kind": "uniform", "low": "250ms", "high": "10m"}, "lower", 0.25),
        ({"kind": "uniform", "low": "250ms", "high": "10m"}, "upper", 600.0),
        ({"kind": "lognormal", "median": "45s", "p95": "10m"}, "median", 45.0),
        ({"kind": "lognormal", "median": "45s", "p95": "10m"}, "p95", 600.0),
        ({"kind": "weibull", "shape": 1, "scale": "250ms"}, "mean", 0.25),
        ({"kind": "gamma", "shape": 2, "scale": "10m"}, "mean", 1200.0),
        ({"kind": "bounded_pareto", "alpha": 1, "lower": "250ms", "upper": "10m"}, "lower", 0.25),
        ({"kind": "bounded_pareto", "alpha": 1, "lower": "250ms", "upper": "10m"}, "upper", 600.0),
        ({"kind": "empirical", "values": ["250ms", "45s", "10m"]}, "upper", 600.0),
        ({"kind": "empirical", "values": ["250ms", "45s", "10m"]}, "lower", 0.25),
    ],
)
def test_durations_with_units_in_specs(
    spec: dict[str, Any], attribute: str, expected: float
) -> None:
    assert getattr(make(spec), attribute) == pytest.approx(expected, rel=1e-12)


def test_exponential_mean_alias_and_field_name_agree() -> None:
    by_alias = make({"kind": "exponential", "mean": "30s"})
    assert by_alias.mean_s == 30.0
    assert by_alias.model_dump(by_alias=True)["mean"] == 30.0


def test_mixture_weights_are_normalised() -> None:
    dist = make(
        {
            "kind": "mixture",
            "components": [
                {"weight": 2, "dist": {"kind": "fixed", "value": 1}},
                {"weight": 6, "dist": {"kind": "fixed", "value": 5}},
            ],
        }
    )
    np.testing.assert_allclose(dist.weights, [0.25, 0.75])
    assert dist.mean == pytest.approx(4.0)
    assert dist.variance == pytest.approx(0.25 * 9 + 0.75 * 1)
    draws = dist.sample(np.random.default_rng(SEED), 100_000)
    share = np.mean(draws == 1.0)
    assert abs(share - 0.25) <= Z * math.sqrt(0.25 * 0.75 / 100_000)


# --------------------------------------------------------------------------------------
# Empirical from a CSV file
# --------------------------------------------------------------------------------------


def _write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_empirical_from_csv_reads_the_column_with_units(tmp_path: Path) -> None:
    _write_csv(tmp_path / "runs.csv", "id,duration_s,note\n1,1.5,a\n2,30s,b\n3,2m,c\n4,250ms,d\n")
    dist = make({"kind": "empirical", "path": "runs.csv"}, base_dir=tmp_path)
    np.testing.assert_array_equal(dist.observations, [0.25, 1.5, 30.0, 120.0])
    assert dist.mean == pytest.approx((0.25 + 1.5 + 30 + 120) / 4)


def test_empirical_from_csv_other_column(tmp_path: Path) -> None:
    _write_csv(tmp_path / "runs.csv", "id,wall\n1,10\n2,20\n")
    dist = make({"kind": "empirical", "path": "runs.csv", "column": "wall"}, base_dir=tmp_path)
    np.testing.assert_array_equal(dist.observations, [10.0, 20.0])


def test_empirical_from_csv_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"cannot find the CSV file .*nowhere\.csv"):
        make({"kind": "empirical", "path": "nowhere.csv"}, base_dir=tmp_path)


def test_empirical_from_csv_missing_column_names_file_and_column(tmp_path: Path) -> None:
    _write_csv(tmp_path / "runs.csv", "id,wall\n1,10\n")
    with pytest.raises(ValidationError) as info:
        make({"kind": "empirical", "path": "runs.csv", "column": "duration_s"}, base_dir=tmp_path)
    text = str(info.value)
    assert "runs.csv" in text
    assert "'duration_s'" in text
    assert "'wall'" in text  # lists the columns it does have


def test_empirical_from_csv_bad_cell_names_the_line(tmp_path: Path) -> None:
    _write_csv(tmp_path / "runs.csv", "duration_s\n1s\n2s\nsoon\n")
    with pytest.raises(ValidationError, match=r"runs\.csv line 4: cannot read 'soon'"):
        make({"kind": "empirical", "path": "runs.csv"}, base_dir=tmp_path)


def test_empirical_from_csv_with_no_rows_is_rejected(tmp_path: Path) -> None:
    _write_csv(tmp_path / "runs.csv", "duration_s\n")
    with pytest.raises(ValidationError, match="at least one"):
        make({"kind": "empirical", "path": "runs.csv"}, base_dir=tmp_path)


@pytest.mark.parametrize(("name", "q"), [("p90", 0.90), ("p95", 0.95), ("p99", 0.99)])
def test_lognormal_by_median_and_any_upper_percentile(name: str, q: float) -> None:
    dist = make({"kind": "lognormal", "median": "166ms", name: "4.4s"})
    assert dist.quantile(0.5) == pytest.approx(0.166, rel=1e-12)
    assert dist.quantile(q) == pytest.approx(4.4, rel=1e-12)


def test_lognormal_refuses_two_upper_percentiles() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        make({"kind": "lognormal", "median": "1s", "p90": "2s", "p99": "5s"})
