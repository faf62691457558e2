"""Units parsing and printing, and the arrival processes.

Statistical checks on arrivals use tolerances derived from the process: counts are held
to Z = 4.5 standard deviations of their distribution (false-failure chance below 1e-5
per check, normal approximation), hour-of-day shares to a chi-square test with
p > 1e-6, and arrival-time uniformity to the Dvoretzky-Kiefer-Wolfowitz bound with
alpha = 1e-6. Every random draw uses a fixed seed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from simulator.arrivals import ArrivalSpec, BurstArrivals, DiurnalArrivals, PoissonArrivals
from simulator.units import format_duration, parse_duration_s, parse_size_gib

SEED = 20240611
Z = 4.5
"""A 4.5-sigma bound: false-failure chance below 1e-5 per check."""
DKW_ALPHA = 1e-6
CHI2_P_MIN = 1e-6

# Independent of simulator.units.SECONDS_PER_UNIT on purpose.
SECONDS = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}

ARRIVALS: TypeAdapter[Any] = TypeAdapter(ArrivalSpec)


# --------------------------------------------------------------------------------------
# parse_duration_s
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("45s", 45.0),
        ("10m", 600.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("1w", 604800.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        (".5h", 1800.0),
        ("3min", 180.0),
        ("2sec", 2.0),
        ("500us", 0.0005),
        (" 45 s ", 45.0),
        ("45S", 45.0),
        ("1H30M", 5400.0),
        ("1e3s", 1000.0),
        ("45", 45.0),
        ("0", 0.0),
        ("0s", 0.0),
    ],
)
def test_parse_duration_text(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize("number", [0, 45, 2.5, 1e6, np.float64(3.5)])
def test_parse_duration_numbers_are_seconds(number: float) -> None:
    assert parse_duration_s(number) == float(number)
    assert type(parse_duration_s(number)) is float


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("abc", "'abc'"),
        ("-5s", "'-5s'"),
        ("-5", "'-5'"),
        ("10 parsecs", "'10 parsecs'"),
        ("5s3", "'5s3'"),
        ("", "''"),
        ("s", "'s'"),
        ("nan", "'nan'"),
        ("1e400s", "'1e400s'"),
        (True, "boolean"),
        (None, "None"),
        (float("inf"), "inf"),
        (float("nan"), "nan"),
        (-1, "-1"),
        ([45], r"\[45\]"),
    ],
)
def test_parse_duration_errors_name_the_bad_input(value: Any, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_duration_s(value)


def test_parse_duration_error_lists_the_units() -> None:
    with pytest.raises(ValueError, match=r"ms, s, sec, m, min, h, d, w"):
        parse_duration_s("10 parsecs")


@pytest.mark.parametrize("number", [np.int64(5), np.float32(2.5)], ids=["int64", "float32"])
def test_parse_duration_accepts_numpy_scalars(number: Any) -> None:
    assert parse_duration_s(number) == float(number)
    assert parse_size_gib(number) == float(number)


@settings(max_examples=300, deadline=None)
@given(
    x=st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False),
    unit=st.sampled_from(sorted(SECONDS)),
    space=st.sampled_from(["", " "]),
)
def test_parse_duration_scales_by_the_unit(x: float, unit: str, space: str) -> None:
    expected = x * SECONDS[unit]
    assert math.isclose(parse_duration_s(f"{x}{space}{unit}"), expected, rel_tol=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    hours=st.integers(min_value=0, max_value=1000),
    minutes=st.floats(min_value=0, max_value=59.999, allow_nan=False),
)
def test_parse_duration_compound(hours: int, minutes: float) -> None:
    expected = hours * 3600 + minutes * 60
    assert math.isclose(
        parse_duration_s(f"{hours}h{minutes}m"), expected, rel_tol=1e-12, abs_tol=1e-12
    )


# --------------------------------------------------------------------------------------
# parse_size_gib
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "gib"),
    [
        ("512MiB", 0.5),
        ("4GiB", 4.0),
        ("4 gib", 4.0),
        ("1TiB", 1024.0),
        ("1024KiB", 1 / 1024),
        ("8GB", 8e9 / 2**30),
        ("500MB", 5e8 / 2**30),
        ("2TB", 2e12 / 2**30),
        ("4", 4.0),
        (" 1.5GiB ", 1.5),
    ],
)
def test_parse_size_text(text: str, gib: float) -> None:
    assert parse_size_gib(text) == pytest.approx(gib, rel=1e-12)


@pytest.mark.parametrize("number", [0, 4, 0.5, 1024.0])
def test_parse_size_numbers_are_gib(number: float) -> None:
    assert parse_size_gib(number) == float(number)


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("4 furlongs", "'4 furlongs'"),
        ("-1GiB", "'-1GiB'"),
        ("GiB", "'GiB'"),
        ("", "''"),
        (-1, "-1"),
        (float("inf"), "inf"),
        (True, "boolean"),
        (None, "None"),
    ],
)
def test_parse_size_errors_name_the_bad_input(value: Any, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_size_gib(value)


# --------------------------------------------------------------------------------------
# format_duration
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.25, "250ms"),
        (45, "45s"),
        (90, "1.5m"),
        (7200, "2h"),
        (86400, "1d"),
        (5400, "1.5h"),
        (math.inf, "inf"),
    ],
)
def test_format_duration_examples(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0.0, 1e-5, 0.0123, 0.25, 0.9996, 1, 45, 59.99, 90, 5400])
def test_format_duration_round_trips_approximately(seconds: float) -> None:
    # three significant digits: relative error at most half a unit in the third digit
    assert parse_duration_s(format_duration(seconds)) == pytest.approx(seconds, rel=5e-3)


@settings(max_examples=300, deadline=None)
@given(seconds=st.floats(min_value=1e-6, max_value=1e9, allow_nan=False))
def test_format_duration_round_trip_property(seconds: float) -> None:
    assert parse_duration_s(format_duration(seconds)) == pytest.approx(seconds, rel=5e-3)


# --------------------------------------------------------------------------------------
# Poisson arrivals
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "rate"),
    [
        ({"per_second": 2.0}, 2.0),
        ({"per_hour": 7200.0}, 2.0),
        ({"per_day": 172800.0}, 2.0),
    ],
)
def test_poisson_rates_convert_to_per_second(spec: dict[str, float], rate: float) -> None:
    arrivals = ARRIVALS.validate_python({"kind": "poisson", **spec})
    assert arrivals.rate_per_s == pytest.approx(rate, rel=1e-12)
    assert arrivals.expected_count(3600.0) == pytest.approx(rate * 3600.0, rel=1e-12)


def test_poisson_count_and_times_over_a_long_horizon() -> None:
    arrivals = PoissonArrivals(per_second=2.0)
    horizon = 100_000.0
    times = arrivals.sample(np.random.default_rng(SEED), horizon)
    mean = arrivals.expected_count(horizon)
    assert mean == pytest.approx(200_000.0)
    assert abs(times.size - mean) <= Z * math.sqrt(mean)
    assert np.all(np.diff(times) >= 0)
    assert times[0] >= 0.0
    assert times[-1] < horizon
    # given the count, the times are iid uniform on [0, horizon): DKW on their cdf
    n = times.size
    uniform_cdf = times / horizon
    ks = max(np.max(np.arange(1, n + 1) / n - uniform_cdf), np.max(uniform_cdf - np.arange(n) / n))
    assert ks <= math.sqrt(math.log(2 / DKW_ALPHA) / (2 * n))


def test_poisson_counts_over_replications_match_mean_and_variance() -> None:
    arrivals = PoissonArrivals(per_hour=30.0)
    horizon = 3600.0
    rng = np.random.default_rng(SEED)
    replications = 4_000
    counts = np.array([arrivals.sample(rng, horizon).size for _ in range(replications)])
    mean = 30.0
    assert abs(counts.mean() - mean) <= Z * math.sqrt(mean / replications)
    # Poisson: variance = mean, mu4 = mean + 3 mean^2
    se_variance = math.sqrt((mean + 3 * mean**2 - mean**2) / replications)
    assert abs(counts.var(ddof=1) - mean) <= Z * se_variance


def test_poisson_rate_zero_gives_nothing() -> None:
    arrivals = PoissonArrivals(per_second=0.0)
    assert arrivals.sample(np.random.default_rng(SEED), 1000.0).size == 0
    assert arrivals.expected_count(1000.0) == 0.0


# --------------------------------------------------------------------------------------
# Diurnal arrivals
# --------------------------------------------------------------------------------------

# quiet at night (two hours with no traffic at all), peaks in the working day
PROFILE = (1, 0.5, 0, 0, 0.5, 1, 2, 4, 6, 8, 9, 9, 7, 8, 9, 9, 8, 6, 4, 3, 2, 2, 1.5, 1)


def test_diurnal_expected_count_over_whole_days() -> None:
    arrivals = DiurnalArrivals(per_day=5000.0, hourly_profile=PROFILE)
    assert arrivals.expected_count(86400.0) == pytest.approx(5000.0, rel=1e-12)
    assert arrivals.expected_count(3 * 86400.0) == pytest.approx(15000.0, rel=1e-12)


def test_diurnal_expected_count_for_part_of_a_day() -> None:
    arrivals = DiurnalArrivals(per_day=5000.0, hourly_profile=PROFILE)
    share = np.asarray(PROFILE) / sum(PROFILE)
    # 0:00 to 9:30
    expected = 5000.0 * (share[:9].sum() + 0.5 * share[9])
    assert arrivals.expected_count(9.5 * 3600) == pytest.approx(expected, rel=1e-12)
    # 1 day and 2 hours
    expected = 5000.0 * (1 + share[:2].sum())
    assert arrivals.expected_count(26 * 3600) == pytest.approx(expected, rel=1e-12)


def test_diurnal_rate_follows_the_profile() -> None:
    arrivals = DiurnalArrivals(per_day=2400.0, hourly_profile=PROFILE)
    share = np.asarray(PROFILE) / sum(PROFILE)
    t = np.array([0.0, 3599.0, 3600.0, 10 * 3600 + 1, 86400.0 + 10 * 3600 + 1])
    expected = 2400.0 * share[[0, 0, 1, 10, 10]] / 3600.0
    np.testing.assert_allclose(arrivals.rate_at(t), expected, rtol=1e-12)


def test_diurnal_hourly_counts_match_the_profile() -> None:
    per_day = 2000.0
    arrivals = DiurnalArrivals(per_day=per_day, hourly_profile=PROFILE)
    share = np.asarray(PROFILE) / sum(PROFILE)
    rng = np.random.default_rng(SEED)
    replications = 200
    hourly = np.zeros(24)
    total = 0
    for _ in range(replications):
        times = arrivals.sample(rng, 86400.0)
        assert np.all(np.diff(times) >= 0)
        assert times[0] >= 0.0
        assert times[-1] < 86400.0
        hourly += np.bincount((times // 3600).astype(int), minlength=24)
        total += times.size
    # the grand total is Poisson(replications * per_day)
    mean = replications * per_day
    assert abs(total - mean) <= Z * math.sqrt(mean)
    # hours of zero weight get nothing at all
    assert np.all(hourly[share == 0] == 0)
    # given the total, hours are multinomial with the profile's shares: chi-square
    live = share > 0
    expected = total * share[live] / share[live].sum()
    result = stats.chisquare(hourly[live], expected)
    assert result.pvalue > CHI2_P_MIN, result


def test_diurnal_chi_square_detects_a_shifted_profile() -> None:
    """The chi-square check has power: the same counts fail against the profile one hour off."""
    arrivals = DiurnalArrivals(per_day=2000.0, hourly_profile=PROFILE)
    share = np.roll(np.asarray(PROFILE) / sum(PROFILE), 1)
    rng = np.random.default_rng(SEED)
    times = np.concatenate([arrivals.sample(rng, 86400.0) for _ in range(50)])
    hourly = np.bincount((times // 3600).astype(int), minlength=24)
    live = share > 0
    expected = hourly[live].sum() * share[live] / share[live].sum()
    assert stats.chisquare(hourly[live], expected).pvalue < CHI2_P_MIN


def test_diurnal_partial_last_hour_is_clipped() -> None:
    arrivals = DiurnalArrivals(per_day=24 * 3600.0, hourly_profile=(1,) * 24)  # 1 per second
    horizon = 5400.0
    times = arrivals.sample(np.random.default_rng(SEED), horizon)
    assert times[-1] < horizon
    mean = arrivals.expected_count(horizon)
    assert mean == pytest.approx(5400.0, rel=1e-12)
    assert abs(times.size - mean) <= Z * math.sqrt(mean)
    second_half_hour = np.sum(times >= 3600.0)
    assert abs(second_half_hour - 1800.0) <= Z * math.sqrt(1800.0)


# --------------------------------------------------------------------------------------
# Burst arrivals
# --------------------------------------------------------------------------------------


def test_burst_even_spacing_is_even_and_inside_the_window() -> None:
    burst = BurstArrivals(count=10, at="1m", window="30s", spacing="even")
    times = burst.sample(np.random.default_rng(SEED), 3600.0)
    np.testing.assert_allclose(times, 60.0 + 3.0 * np.arange(10), rtol=1e-12)
    assert np.all(times >= 60.0)
    assert np.all(times < 90.0)
    assert burst.expected_count(3600.0) == 10.0


def test_burst_random_spacing_is_inside_the_window() -> None:
    burst = BurstArrivals(count=5000, at="1m", window="30s")
    times = burst.sample(np.random.default_rng(SEED), 3600.0)
    assert times.size == 5000
    assert np.all(np.diff(times) >= 0)
    assert np.all(times >= 60.0)
    assert np.all(times < 90.0)
    # uniform within the window: DKW
    n = times.size
    u = (times - 60.0) / 30.0
    ks = max(np.max(np.arange(1, n + 1) / n - u), np.max(u - np.arange(n) / n))
    assert ks <= math.sqrt(math.log(2 / DKW_ALPHA) / (2 * n))


def test_burst_all_at_once() -> None:
    burst = BurstArrivals(count=7, at="2m")
    times = burst.sample(np.random.default_rng(SEED), 3600.0)
    np.testing.assert_array_equal(times, np.full(7, 120.0))
    assert burst.expected_count(3600.0) == 7.0


@pytest.mark.parametrize(
    ("horizon", "count"),
    [(60.0, 0), (75.0, 5), (75.000001, 6), (76.0, 6), (90.0, 10), (1000.0, 10)],
)
def test_burst_even_spacing_clipped_by_the_horizon(horizon: float, count: int) -> None:
    burst = BurstArrivals(count=10, at="1m", window="30s", spacing="even")
    times = burst.sample(np.random.default_rng(SEED), horizon)
    assert times.size == count
    assert np.all(times < horizon)


def test_burst_random_spacing_clipped_by_the_horizon() -> None:
    burst = BurstArrivals(count=4000, at="1m", window="40s")
    horizon = 70.0  # a quarter of the window
    rng = np.random.default_rng(SEED)
    times = burst.sample(rng, horizon)
    assert np.all(times < horizon)
    expected = burst.expected_count(horizon)
    assert expected == pytest.approx(1000.0)
    # each request lands before the horizon with probability 1/4: binomial
    assert abs(times.size - expected) <= Z * math.sqrt(4000 * 0.25 * 0.75)


def test_burst_after_the_horizon_gives_nothing() -> None:
    burst = BurstArrivals(count=10, at="2h", window="1m")
    assert burst.sample(np.random.default_rng(SEED), 3600.0).size == 0
    assert burst.expected_count(3600.0) == 0.0


def test_burst_even_spacing_expected_count_is_the_actual_count() -> None:
    burst = BurstArrivals(count=10, at=0, window="30s", spacing="even")
    horizon = 10.0
    assert burst.expected_count(horizon) == burst.sample(np.random.default_rng(SEED), horizon).size


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "poisson", "per_second": 1.0, "per_hour": 3600.0}, "exactly one"),
        ({"kind": "poisson", "per_hour": 1.0, "per_day": 24.0}, "exactly one"),
        ({"kind": "poisson"}, "exactly one"),
        ({"kind": "poisson", "per_second": -1.0}, "greater than or equal to 0"),
        ({"kind": "poisson", "per_second": 1.0, "burst": 3}, "burst"),
        ({"kind": "diurnal", "per_day": 100.0, "hourly_profile": [1.0] * 23}, "at least 24"),
        ({"kind": "diurnal", "per_day": 100.0, "hourly_profile": [1.0] * 25}, "at most 24"),
        ({"kind": "diurnal", "per_day": 100.0, "hourly_profile": [0.0] * 24}, "not all zero"),
        (
            {"kind": "diurnal", "per_day": 100.0, "hourly_profile": [-1.0] + [1.0] * 23},
            "non-negative",
        ),
        ({"kind": "diurnal", "per_day": -5.0, "hourly_profile": [1.0] * 24}, "greater than"),
        ({"kind": "burst", "count": 0}, "greater than or equal to 1"),
        ({"kind": "burst", "count": 3, "spacing": "clumped"}, "clumped"),
        ({"kind": "burst", "count": 3, "at": "-1m"}, "-1m"),
        ({"kind": "burst", "count": 3, "window": "soon"}, "soon"),
        ({"kind": "hawkes", "per_second": 1.0}, "hawkes"),
    ],
)
def test_invalid_arrival_specs(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ARRIVALS.validate_python(spec)


def test_arrival_specs_accept_units() -> None:
    burst = ARRIVALS.validate_python(
        {"kind": "burst", "count": 3, "at": "1h30m", "window": "250ms"}
    )
    assert (burst.at, burst.window) == (5400.0, 0.25)
