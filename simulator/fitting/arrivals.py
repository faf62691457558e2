"""Suggest an arrival process from request timestamps.

From sorted request times this measures the mean rate (requests over the span from the
first to the last), the hour-of-day profile (requests per hour of the day over the time
each hour of the day was observed), and burstiness: the coefficient of variation (CV) of
inter-arrival times and the index of dispersion (variance over mean) of counts in
1-minute windows. Both are 1 for a Poisson process.

The suggestion is ``diurnal`` when the timestamps cover a day (``ArrivalFit.covers_day``:
a day of requests sampled from midnight to midnight spans a little less than a day) and
the profile is not flat, else ``poisson`` at the mean rate. A shorter span cannot give
weights for hours it never saw, and neither kind can express bursts within an hour: when
the timestamps are burstier than Poisson the notes say so and show how to replay the
file instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml
from scipy import stats

from ..arrivals import DiurnalArrivals, PoissonArrivals, _seconds_since_origin
from ..distributions import FloatArray
from ..errors import InputError
from ..units import DAY_S, HOUR_S, format_duration
from ._data import MIN_POINTS, pick_column, read_table, too_few

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WINDOW_S = 60.0
"""Window of the counts whose index of dispersion is measured."""

FLAT_WITHIN = 0.10
"""A profile whose hourly rates all lie within 10% of the mean counts as flat."""

EDGE_GAPS = 5.0
"""Timestamps cover a day when their span falls short of one by at most this many mean
gaps of the hours their first and last requests fall in (with every hour of the day
observed). A day of Poisson requests leaves more than that untouched at its two ends
once in 2,000 samples at known equal rates (e^-10 x 11), but the end hours' rates come
from their observed stretches: measured over 2,000 sampled days, 0.25% of flat days of
300 requests fail, 4.0% with self-hosted-fleet's quiet nights, 0.05% at 2,000 a day."""


def _near_one(value: float, standard_error: float) -> bool:
    """Within three standard errors of 1, or within 0.1 (so that a huge trace's tiny
    standard error does not call a practically Poisson process bursty)."""
    return not math.isfinite(value) or abs(value - 1) <= max(0.1, 3 * standard_error)


@dataclass(frozen=True)
class ArrivalFit:
    """What request timestamps say about the arrival process."""

    times: FloatArray
    """Request times, sorted, in seconds since midnight of the first request's day."""
    source: str | None = None
    column: str | None = None
    hour_counts: FloatArray = field(default_factory=lambda: np.zeros(24))
    """Requests in each hour of the day (hour 0 first)."""
    hour_exposure_s: FloatArray = field(default_factory=lambda: np.zeros(24))
    """Seconds of each hour of the day between the first and the last request."""

    @property
    def notes(self) -> tuple[str, ...]:
        """What the user should know about the suggestion."""
        return tuple(_notes(self))

    @property
    def count(self) -> int:
        return int(self.times.size)

    @property
    def span_s(self) -> float:
        """From the first request to the last."""
        return float(self.times[-1] - self.times[0])

    @property
    def covers_day(self) -> bool:
        """Whether the requests cover a day: a span of at least a day, or one that falls
        short of a day by no more than ``EDGE_GAPS`` mean gaps at its two ends (requests
        sampled over a day never fall on its very first and last instants), with every
        hour of the day observed."""
        if self.span_s >= DAY_S:
            return True
        if not (self.hour_exposure_s > 0).all():
            return False
        rates = self.hour_counts / self.hour_exposure_s  # (as observed: every hour was)
        ends = (self.times[[0, -1]] % DAY_S // HOUR_S).astype(np.int64)
        if not (rates[ends] > 0).all():
            return False
        return self.span_s + EDGE_GAPS * float(np.sum(1.0 / rates[ends])) >= DAY_S

    @property
    def rate_per_s(self) -> float:
        """Requests per second: the count over the span."""
        return self.count / self.span_s

    @property
    def whole_day_short(self) -> bool:
        """Taken to cover a day though its span falls short of one (``covers_day``): then
        the requests are one day's, and each hour of the day counts as observed whole."""
        return self.span_s < DAY_S and self.covers_day

    @property
    def per_day(self) -> float:
        """Requests a day: the count for a sample taken to cover one day whole (not the
        count over its span, which is a little less than a day), else the rate's."""
        return float(self.count) if self.whole_day_short else self.rate_per_s * DAY_S

    @property
    def observed_s(self) -> FloatArray:
        """Seconds each hour of the day counts as observed for its rate: the time between
        the first and last request (``hour_exposure_s``), or a whole hour each when the
        requests are taken to cover a day (``whole_day_short``), so that an end hour seen
        for a sliver (one request in 138 s) does not set its weight from that alone."""
        if self.whole_day_short:
            return np.full(24, HOUR_S)
        return self.hour_exposure_s

    @property
    def gaps(self) -> FloatArray:
        """Inter-arrival times (seconds)."""
        return np.diff(self.times)

    @property
    def cv(self) -> float:
        """Coefficient of variation of inter-arrival times (1 for Poisson; standard error
        about 1/sqrt(gaps) there)."""
        return _cv(self.times)

    @property
    def window_counts(self) -> FloatArray:
        """Requests in each whole 1-minute window from the first request on."""
        return _window_counts(self.times)

    @property
    def dispersion(self) -> float:
        """Variance over mean of the 1-minute counts (1 for Poisson; standard error about
        sqrt(2 / (windows - 1)) there); NaN with fewer than two windows."""
        return _dispersion(self.times)

    @property
    def profile_times(self) -> FloatArray:
        """The times rescaled by the hour-of-day rate (time-rescaling theorem): where the
        rate is twice the mean, a second counts as two. A Poisson process whose rate
        follows the profile becomes a Poisson process of the mean rate."""
        t0, rates = float(self.times[0]), np.nan_to_num(self.hourly_rate_per_s)
        starts, ends, hours = _hour_segments(self.times)
        hour_rates = rates[hours]
        before = np.concatenate([[0.0], np.cumsum(hour_rates * (ends - starts))[:-1]])
        k = (self.times // HOUR_S).astype(np.int64) - math.floor(t0 / HOUR_S)
        cumulative = before[k] + hour_rates[k] * (self.times - starts[k])
        return t0 + cumulative / self.rate_per_s

    @property
    def profile_cv(self) -> float:
        """``cv`` of the times rescaled by the hour-of-day profile."""
        return _cv(self.profile_times)

    @property
    def profile_dispersion(self) -> float:
        """``dispersion`` of the times rescaled by the hour-of-day profile."""
        return _dispersion(self.profile_times)

    @property
    def burstiness(self) -> tuple[float, float]:
        """The CV and dispersion that judge the suggestion: of the times for a
        constant rate, of the times rescaled by the profile for a diurnal one."""
        if isinstance(self.suggestion, DiurnalArrivals):
            return self.profile_cv, self.profile_dispersion
        return self.cv, self.dispersion

    @property
    def poisson_like(self) -> bool:
        """``burstiness`` near 1 (see ``_near_one``)."""
        cv, dispersion = self.burstiness
        windows = self.window_counts.size
        dispersion_se = math.sqrt(2 / (windows - 1)) if windows > 1 else math.inf
        return _near_one(cv, 1 / math.sqrt(self.count - 1)) and _near_one(dispersion, dispersion_se)

    @property
    def hourly_rate_per_s(self) -> FloatArray:
        """Requests per second in each hour of the day; NaN for hours never observed."""
        with np.errstate(invalid="ignore", divide="ignore"):
            observed = self.observed_s
            return np.where(observed > 0, self.hour_counts / observed, np.nan)

    @property
    def profile(self) -> FloatArray:
        """The hour-of-day weights (the diurnal arrivals' ``hourly_profile``), scaled so
        the observed hours average 1; NaN for hours never observed."""
        rates = self.hourly_rate_per_s
        return rates / np.nanmean(rates)

    @property
    def peak_hour(self) -> int:
        """The hour of the day with the highest rate."""
        return int(np.nanargmax(self.hourly_rate_per_s))

    @property
    def profile_p(self) -> float:
        """Chi-square test p-value of 'the rate is the same in every observed hour'."""
        observed = self.observed_s
        seen = observed > 0
        if seen.sum() < 2:
            return 1.0
        expected = self.count * observed[seen] / observed.sum()
        statistic = float(((self.hour_counts[seen] - expected) ** 2 / expected).sum())
        return float(stats.chi2.sf(statistic, int(seen.sum()) - 1))

    @property
    def flat(self) -> bool:
        """No hour-of-day pattern: the test does not reject a flat rate (p >= 0.01), or
        every hourly rate is within ``FLAT_WITHIN`` of the mean."""
        deviation = float(np.nanmax(np.abs(self.profile - 1)))
        return self.profile_p >= 0.01 or deviation <= FLAT_WITHIN

    @property
    def suggestion(self) -> PoissonArrivals | DiurnalArrivals:
        """diurnal when the requests cover a day (``covers_day``) and the profile is not
        flat; else poisson."""
        if self.covers_day and not self.flat:
            return DiurnalArrivals(
                per_day=float(f"{self.per_day:.6g}"),
                hourly_profile=tuple(round(float(w), 4) for w in self.profile),
            )
        if self.covers_day:
            return PoissonArrivals(per_day=float(f"{self.per_day:.6g}"))
        return PoissonArrivals(per_second=float(f"{self.rate_per_s:.6g}"))

    def snippet(self) -> str:
        """A scenario ``arrivals:`` field (YAML) for the suggested process."""
        where = f" from {self.source}" if self.source else ""
        head = (
            f"# suggested{where} ({self.count:,} requests over "
            f"{format_duration(self.span_s)}; CV {self.cv:.2f}, dispersion {self.dispersion:.2f})\n"
        )
        spec = self.suggestion.model_dump(exclude_none=True, mode="json")
        return head + yaml.safe_dump({"arrivals": spec}, sort_keys=False, default_flow_style=None)

    def table(self) -> pd.DataFrame:
        """Per hour of the day: requests, seconds observed, rate per second and weight."""
        return pd.DataFrame(
            {
                "hour": np.arange(24),
                "requests": self.hour_counts.astype(np.int64),
                "observed_s": self.observed_s,
                "rate_per_s": self.hourly_rate_per_s,
                "weight": self.profile,
            }
        )

    def summary(self) -> dict[str, Any]:
        """Everything as plain data (for ``--json``); NaN becomes None."""

        def clean(values: FloatArray) -> list[float | None]:
            return [None if math.isnan(v) else float(v) for v in values]

        dispersion = self.dispersion
        return {
            "source": self.source,
            "column": self.column,
            "requests": self.count,
            "span_s": self.span_s,
            "covers_day": self.covers_day,
            "rate_per_s": self.rate_per_s,
            "per_day": self.per_day,
            "cv_interarrival": self.cv,
            "dispersion_1min": _none_if_nan(dispersion),
            "windows_1min": int(self.window_counts.size),
            "cv_after_profile": self.profile_cv,
            "dispersion_1min_after_profile": _none_if_nan(self.profile_dispersion),
            "poisson_like": self.poisson_like,
            "hourly_requests": [int(c) for c in self.hour_counts],
            "hourly_observed_s": [float(e) for e in self.observed_s],
            "hourly_rate_per_s": clean(self.hourly_rate_per_s),
            "hourly_profile": clean(self.profile),
            "peak_hour": self.peak_hour,
            "profile_flat": self.flat,
            "profile_p": self.profile_p,
            "suggestion": self.suggestion.model_dump(exclude_none=True, mode="json"),
            "notes": list(self.notes),
            "snippet": self.snippet(),
        }

    def plot(self) -> Figure:
        """The hour-of-day rate and the counts per minute over time."""
        from .plots import arrival_figure

        return arrival_figure(self)


MAX_EPOCH_S = 1e11
"""Numeric timestamps above this are not seconds since 1970 (year 5138): milliseconds or
microseconds, most likely."""
MAX_SPAN_S = 10 * 365.25 * DAY_S
"""The longest span of requests taken (longer is a unit or column mistake)."""


def read_timestamps(path: str | Path, column: str | None = None) -> tuple[FloatArray, str]:
    """Request times (seconds since midnight of the first request's day, UTC for
    date-times with a time zone; numbers are taken as seconds since a midnight, such as
    Unix time) from a CSV column, and the column used."""
    frame = read_table(path)
    name = pick_column(
        frame, column, path, ("timestamp", "time", "arrival_s"), "timestamps", numeric_only=False
    )
    numbers = pd.to_numeric(frame[name], errors="coerce")
    if numbers.notna().all() and float(numbers.abs().max()) > MAX_EPOCH_S:
        raise InputError(
            f"timestamps up to {float(numbers.abs().max()):.4g} are not seconds (as seconds "
            "since 1970 they would be tens of thousands of years away)",
            source=path,
            field=name,
            fix="convert them to seconds (epoch milliseconds: divide by 1,000; "
            "microseconds: by 1,000,000)",
        )
    try:
        times = _seconds_since_origin(frame[name], "auto", "midnight")
    except ValueError as error:
        raise InputError(
            str(error),
            source=path,
            field=name,
            fix="give date-times (2023-11-16 18:17:03.98) or numbers of seconds in every row",
        ) from None
    return times, name


def fit_arrivals(
    data: str | Path | Sequence[float] | FloatArray, *, column: str | None = None
) -> ArrivalFit:
    """Measure rate, hour-of-day profile and burstiness of request timestamps, and
    suggest an arrival process.

    ``data`` is a CSV file (its ``column`` of date-times or seconds) or the times
    themselves in seconds since a midnight.
    """
    source: str | None = None
    if isinstance(data, str | Path):
        source = str(data)
        times, name = read_timestamps(data, column)
    else:
        name = column or "times"
        times = np.asarray(data, dtype=np.float64)
        if not np.isfinite(times).all():
            raise InputError("some times are not finite", field=name, fix="drop them first")
        times = times - math.floor(times.min() / DAY_S) * DAY_S if times.size else times
    times = np.sort(times)
    if times.size and times[-1] - times[0] > MAX_SPAN_S:
        raise InputError(
            f"the timestamps span {(times[-1] - times[0]) / DAY_S:,.0f} days",
            source=source,
            field=name,
            fix="give at most ten years of requests, in seconds or date-times",
        )
    if times.size < MIN_POINTS:
        raise too_few(times.size, source, name, "timestamps", "give more requests")
    if times[-1] == times[0]:
        raise InputError(
            f"all {times.size:,} requests are at the same time: there is no rate to measure",
            source=source,
            field=name,
            fix="give timestamps spread over time, or use a burst arrival",
        )
    counts, exposure = _hour_of_day(times)
    return ArrivalFit(times, source, name, counts, exposure)


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def _cv(times: FloatArray) -> float:
    gaps = np.diff(times)
    return float(gaps.std() / gaps.mean())


def _window_counts(times: FloatArray) -> FloatArray:
    windows = int((times[-1] - times[0]) // WINDOW_S)
    index = ((times - times[0]) // WINDOW_S).astype(np.int64)
    return np.bincount(index[index < windows], minlength=windows).astype(np.float64)


def _dispersion(times: FloatArray) -> float:
    counts = _window_counts(times)
    if counts.size < 2 or counts.mean() == 0:
        return math.nan
    return float(counts.var(ddof=1) / counts.mean())


def _hour_segments(times: FloatArray) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]:
    """The clock hours from the first request to the last, clipped to them: start, end
    and hour of the day of each."""
    first, last = float(times[0]), float(times[-1])
    whole = np.arange(math.floor(first / HOUR_S), math.floor(last / HOUR_S) + 1) * HOUR_S
    starts = np.maximum(whole, first)
    ends = np.minimum(whole + HOUR_S, last)
    return starts, ends, (whole % DAY_S // HOUR_S).astype(np.int64)


def _hour_of_day(times: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Requests per hour of the day, and seconds of each hour of the day observed
    between the first and last request."""
    hours = (times % DAY_S // HOUR_S).astype(np.int64)
    counts = np.bincount(hours, minlength=24).astype(np.float64)
    starts, ends, hour_of_day = _hour_segments(times)
    exposure = np.bincount(hour_of_day, weights=ends - starts, minlength=24)
    return counts, exposure.astype(np.float64)


def _notes(fit: ArrivalFit) -> list[str]:
    notes = []
    if not fit.covers_day:
        notes.append(
            f"the requests span {format_duration(fit.span_s)}, less than a day: hours never "
            "seen have no weight to estimate, so the suggestion is a constant rate"
        )
    elif fit.span_s < DAY_S:
        notes.append(
            f"the requests span {fit.span_s:,.0f} s, {DAY_S - fit.span_s:,.1f} s short of a "
            f"day: within {EDGE_GAPS:g} mean gaps at the ends, as requests sampled over a day "
            "leave, so they are taken to cover the day"
        )
    ties = int((fit.gaps == 0).sum())
    if ties:
        notes.append(f"{ties:,} requests share their timestamp with the one before")
    cv, dispersion = fit.burstiness
    within = " after the hour-of-day profile" if isinstance(fit.suggestion, DiurnalArrivals) else ""
    if not fit.poisson_like:
        if cv > 1 or dispersion > 1:
            where = fit.source or "TIMES.csv"
            notes.append(
                f"burstier than Poisson{within} (CV {cv:.2f}, dispersion {dispersion:.2f}; "
                "both 1 for Poisson): the suggestion keeps the rate and profile, not the "
                f"bursts; to keep them replay the file: arrivals: {{kind: trace, path: "
                f"{where}, timestamp_column: {fit.column}, origin: midnight}}"
            )
        else:
            notes.append(
                f"more regular than Poisson{within} (CV {cv:.2f}, dispersion {dispersion:.2f}): "
                "a Poisson process overstates the variability"
            )
    return notes
