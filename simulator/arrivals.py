"""Arrival processes: when sandboxes are requested.

Each spec samples sorted request times in seconds from the scenario start, over the
horizon, in bulk. A trace replays real timestamps (and optionally durations) exactly.
"""

from __future__ import annotations

import hashlib
import math
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, PrivateAttr, ValidationInfo, model_validator

from .distributions import FloatArray
from .gpus import MIN_GPU_SHARE
from .model_base import FrozenModel, resolve_data_path
from .units import DAY_S, DurationS


class PoissonArrivals(FrozenModel):
    """Independent arrivals at a constant rate (give exactly one of the rates)."""

    kind: Literal["poisson"] = "poisson"
    per_second: float | None = Field(default=None, ge=0)
    """Mean arrivals per second."""
    per_hour: float | None = Field(default=None, ge=0)
    """Mean arrivals per hour."""
    per_day: float | None = Field(default=None, ge=0)
    """Mean arrivals per day."""

    @model_validator(mode="after")
    def _one_rate(self) -> PoissonArrivals:
        given = [r for r in (self.per_second, self.per_hour, self.per_day) if r is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of per_second, per_hour, per_day")
        return self

    @property
    def rate_per_s(self) -> float:
        """The rate in arrivals per second."""
        if self.per_second is not None:
            return self.per_second
        if self.per_hour is not None:
            return self.per_hour / 3600.0
        assert self.per_day is not None
        return self.per_day / DAY_S

    def expected_count(self, horizon_s: float) -> float:
        """Mean number of arrivals over the horizon."""
        return self.rate_per_s * horizon_s

    def sample(self, rng: np.random.Generator, horizon_s: float) -> FloatArray:
        """Sorted arrival times in [0, horizon)."""
        count = int(rng.poisson(self.rate_per_s * horizon_s))
        return np.sort(rng.uniform(0.0, horizon_s, count))


class DiurnalArrivals(FrozenModel):
    """Poisson arrivals whose rate follows an hour-of-day profile, repeating every day.

    Time 0 of the scenario is midnight. ``hourly_profile`` holds 24 relative weights
    (hour 0 first); the day's volume is spread over the hours in proportion to them.
    """

    kind: Literal["diurnal"] = "diurnal"
    per_day: float = Field(ge=0)
    """Mean arrivals per day."""
    hourly_profile: tuple[float, ...] = Field(min_length=24, max_length=24)
    """24 non-negative weights, hour 0 (midnight) first."""

    @model_validator(mode="after")
    def _profile(self) -> DiurnalArrivals:
        if min(self.hourly_profile) < 0 or sum(self.hourly_profile) <= 0:
            raise ValueError("hourly_profile weights must be non-negative and not all zero")
        return self

    @property
    def hourly_share(self) -> FloatArray:
        """Share of the day's arrivals in each hour."""
        weights = np.asarray(self.hourly_profile, dtype=np.float64)
        return weights / weights.sum()

    def rate_at(self, t_s: FloatArray) -> FloatArray:
        """Arrival rate per second at times ``t_s``."""
        hour = (np.asarray(t_s) % DAY_S // 3600).astype(int)
        return self.per_day * self.hourly_share[hour] / 3600.0

    def expected_count(self, horizon_s: float) -> float:
        """Mean number of arrivals over the horizon."""
        full_hours, rest = divmod(horizon_s, 3600.0)
        hours = np.arange(int(full_hours)) % 24
        total = float(self.per_day * self.hourly_share[hours].sum())
        return total + float(self.per_day * self.hourly_share[int(full_hours) % 24] * rest / 3600)

    def sample(self, rng: np.random.Generator, horizon_s: float) -> FloatArray:
        """Sorted arrival times in [0, horizon), hour by hour."""
        hours = math.ceil(horizon_s / 3600.0)
        starts = np.arange(hours) * 3600.0
        lengths = np.minimum(3600.0, horizon_s - starts)
        means = self.per_day * self.hourly_share[np.arange(hours) % 24] * lengths / 3600.0
        counts = rng.poisson(means)
        offsets = rng.uniform(0.0, 1.0, int(counts.sum()))
        times = np.repeat(starts, counts) + offsets * np.repeat(lengths, counts)
        return np.sort(times)


class BurstArrivals(FrozenModel):
    """``count`` sandboxes requested at ``at``, spread over ``window``."""

    kind: Literal["burst"] = "burst"
    count: int = Field(ge=1)
    """How many sandboxes the burst asks for."""
    at: DurationS = 0.0
    """When the burst starts, from the scenario start."""
    window: DurationS = 0.0
    """Over how long the requests are spread (0: all at once)."""
    spacing: Literal["random", "even"] = "random"
    """random: uniform at random within the window; even: equally spaced."""

    def expected_count(self, horizon_s: float) -> float:
        """Mean number of arrivals inside the horizon (exact for even spacing)."""
        if self.at >= horizon_s:
            return 0.0
        if self.window == 0:
            return float(self.count)
        share = (horizon_s - self.at) / self.window
        if self.spacing == "even":
            # request k is at at + window * k / count, inside while k < share * count
            return float(min(self.count, math.ceil(share * self.count)))
        return self.count * min(1.0, share)

    def sample(self, rng: np.random.Generator, horizon_s: float) -> FloatArray:
        """Sorted request times of the burst (those inside the horizon)."""
        if self.spacing == "even" or self.window == 0:
            times = self.at + self.window * np.arange(self.count) / self.count
        else:
            times = np.sort(self.at + rng.uniform(0.0, self.window, self.count))
        return times[times < horizon_s]


class TraceColumn(FrozenModel):
    """A numeric column of a trace, multiplied by ``scale`` (e.g. 0.001 for milli-CPUs)."""

    column: str
    """Column name."""
    scale: float = Field(default=1.0, gt=0)
    """Multiplier to the unit sandsim uses (vCPU, GiB, GPUs)."""


class TraceShapes(FrozenModel):
    """Per-request shapes read from a trace's columns, for replaying a real cluster's
    tasks on a self-hosted fleet (managed platforms bill one shape per workload)."""

    vcpu: TraceColumn
    """vCPU per request, e.g. {column: cpu_milli, scale: 0.001}."""
    memory: TraceColumn
    """Memory per request in GiB after scaling, e.g. {column: memory_mib, scale: 0.0009765625}."""
    gpus: TraceColumn | None = None
    """Whole GPUs per request."""
    gpu_share: TraceColumn | None = None
    """Share of one GPU (after scaling), for requests of one GPU that share it when below 1,
    e.g. {column: gpu_milli, scale: 0.001}. Where a request has no whole GPUs (no `gpus`
    column, or 0 in it), a share below 1 is of one GPU and a share of 1 or more is that
    many whole GPUs."""


class TraceArrivals(FrozenModel):
    """Replay request timestamps (and optionally durations) from a CSV file, exactly."""

    kind: Literal["trace"] = "trace"
    path: str
    """The CSV file, relative to the scenario file."""
    timestamp_column: str = "timestamp"
    """Column of request times: date-times, or seconds (see ``time_format``)."""
    time_format: Literal["auto", "datetime", "seconds"] = "auto"
    """auto: numbers are seconds, anything else is parsed as a date-time."""
    origin: str = "first"
    """What scenario time 0 is: "first" (the first request), "midnight" (of the first
    request's day, so hour-of-day is kept) or an explicit date-time."""
    duration_column: str | None = None
    """Column of sandbox durations in seconds, if the trace has them."""
    end_column: str | None = None
    """Column of end times (same format as the timestamps), instead of a duration column:
    each duration is end minus start."""
    shapes: TraceShapes | None = None
    """Read each request's vCPU, memory and GPUs from the trace (self-hosted fleets only)."""
    _times: FloatArray = PrivateAttr(default_factory=lambda: np.empty(0))
    _shape_rows: FloatArray | None = PrivateAttr(default=None)
    _durations: FloatArray | None = PrivateAttr(default=None)
    _digest: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo) -> TraceArrivals:
        resolved = resolve_data_path(self.path, info)
        if not resolved.is_file():
            raise ValueError(
                f"cannot find the trace file {resolved}; the path is relative to the scenario"
            )
        frame = pd.read_csv(resolved)
        if frame.empty:
            raise ValueError(f"{resolved} has no rows of requests")
        if self.duration_column is not None and self.end_column is not None:
            raise ValueError("give duration_column or end_column, not both")
        shape_columns = [
            c.column
            for c in (
                (self.shapes.vcpu, self.shapes.memory, self.shapes.gpus, self.shapes.gpu_share)
                if self.shapes
                else ()
            )
            if c is not None
        ]
        for column in (
            self.timestamp_column,
            self.duration_column,
            self.end_column,
            *shape_columns,
        ):
            if column is not None and column not in frame.columns:
                raise ValueError(
                    f"{resolved} has no column {column!r}; its columns are {list(frame.columns)}"
                )
        self._times = _seconds_since_origin(
            frame[self.timestamp_column], self.time_format, self.origin
        )
        order = np.argsort(self._times, kind="stable")
        durations: FloatArray | None = None
        if self.duration_column is not None:
            durations = pd.to_numeric(frame[self.duration_column], errors="coerce").to_numpy(
                np.float64
            )
            what = f"column {self.duration_column!r}"
        elif self.end_column is not None:
            ends = _seconds_since_origin(frame[self.end_column], self.time_format, EPOCH)
            starts = _seconds_since_origin(frame[self.timestamp_column], self.time_format, EPOCH)
            durations = ends - starts
            what = f"end times {self.end_column!r} minus timestamps"
        if durations is not None:
            if not np.isfinite(durations).all() or (durations < 0).any():
                bad = int(np.flatnonzero(~np.isfinite(durations) | (durations < 0))[0]) + 2
                raise ValueError(
                    f"{resolved} {what} must be finite, non-negative seconds (line {bad})"
                )
            self._durations = durations[order]
        if self.shapes is not None:
            self._shape_rows = _trace_shapes(frame, self.shapes, resolved)[order]
        self._times = self._times[order]
        if self._times.size and self._times[0] < 0:
            raise ValueError("the origin is after the first request; choose an earlier origin")
        self._digest = hashlib.sha256(resolved.read_bytes()).hexdigest()
        return self

    @property
    def times(self) -> FloatArray:
        """All request times of the trace, sorted, in seconds from the origin."""
        return self._times

    @property
    def shape_rows(self) -> FloatArray | None:
        """Per request (aligned with ``times``): vCPU, GiB, whole GPUs and GPU share; None
        without ``shapes``."""
        return self._shape_rows

    @property
    def durations(self) -> FloatArray | None:
        """Durations aligned with ``times``, if the trace has them."""
        return self._durations

    @property
    def digest(self) -> str:
        """SHA-256 of the trace file."""
        return self._digest

    def expected_count(self, horizon_s: float) -> float:
        """Number of trace requests inside the horizon."""
        return float(np.searchsorted(self._times, horizon_s, side="left"))

    def sample(self, rng: np.random.Generator, horizon_s: float) -> FloatArray:
        """The trace's request times inside the horizon (no randomness)."""
        return self._times[: int(self.expected_count(horizon_s))]


def _trace_shapes(frame: pd.DataFrame, shapes: TraceShapes, path: Any) -> FloatArray:
    """Columns vCPU, GiB, whole GPUs and GPU share (0 when none) of every row, checked."""
    out = np.zeros((len(frame), 4))
    for index, spec in enumerate((shapes.vcpu, shapes.memory, shapes.gpus, shapes.gpu_share)):
        if spec is None:
            continue
        values = pd.to_numeric(frame[spec.column], errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            line = int(np.flatnonzero(bad)[0]) + 2
            raise ValueError(
                f"{path} column {spec.column!r} must hold finite, non-negative numbers (line {line})"
            )
        out[:, index] = values * spec.scale
    whole = out[:, 2]
    if (whole != np.round(whole)).any():
        line = int(np.flatnonzero(whole != np.round(whole))[0]) + 2
        raise ValueError(f"{path} line {line}: whole GPUs must be a whole number")
    share = out[:, 3]
    # a share without whole GPUs is of one GPU below 1, else that many whole GPUs (it was
    # dropped: the requests ran without GPUs)
    only_share = (whole == 0) & (share > 0)
    tiny = ((whole == 1) | only_share) & (share > 0) & (share < MIN_GPU_SHARE)
    if tiny.any():
        line = int(np.flatnonzero(tiny)[0]) + 2
        raise ValueError(
            f"{path} line {line}: a GPU share must be at least {MIN_GPU_SHARE:g} of a GPU, "
            f"not {share[tiny][0]:g} (check the column's scale)"
        )
    as_whole = only_share & (share >= 1)
    if (as_whole & (share != np.round(share))).any():
        line = int(np.flatnonzero(as_whole & (share != np.round(share)))[0]) + 2
        raise ValueError(
            f"{path} line {line}: a GPU share above 1 must be a whole number of GPUs (a share "
            "cannot span two GPUs); give whole GPUs in the gpus column"
        )
    out[:, 2] = whole = np.where(as_whole, share, whole)
    # a share of 1 or more, or one beside several GPUs, means whole GPUs
    out[:, 3] = np.where(((whole == 1) | only_share) & (share > 0) & (share < 1), share, 0.0)
    return out


EPOCH = "(epoch)"
"""Origin for differences of two columns (end minus start): 0 s, or 1970-01-01."""


def _seconds_since_origin(column: pd.Series[Any], time_format: str, origin: str) -> FloatArray:
    """Request times in seconds from the origin; blank or unreadable cells name their line."""
    blank = column.isna() | (column.astype(str).str.strip() == "")
    if blank.any():
        line = int(np.flatnonzero(blank.to_numpy())[0]) + 2  # header is line 1
        raise ValueError(f"line {line} has no timestamp; every request needs one")
    numeric = pd.to_numeric(column, errors="coerce")
    as_seconds = time_format == "seconds" or (time_format == "auto" and not numeric.isna().any())
    if as_seconds:
        bad = numeric.isna() | ~np.isfinite(numeric.to_numpy(np.float64, na_value=np.nan))
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise ValueError(f"line {line}: timestamps must all be finite numbers of seconds")
        values = numeric.to_numpy(np.float64)
        if origin == "first":
            return values - values.min()
        if origin == "midnight":
            return values - math.floor(values.min() / DAY_S) * DAY_S
        if origin == EPOCH:
            return values
        try:
            return values - float(origin)
        except ValueError:
            raise ValueError(
                f"origin {origin!r}: with numeric timestamps give 'first', 'midnight' or a number"
            ) from None
    text = column.astype(str)
    has_zone = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True)
    if has_zone.any() and not has_zone.all():
        raise ValueError("some timestamps carry a time zone and some do not; give all or none")
    try:
        stamps = pd.to_datetime(column, format="ISO8601", utc=bool(has_zone.all()))
    except (ValueError, TypeError) as error:
        raise ValueError(f"cannot read timestamps as date-times ({error})") from None
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)  # compare in UTC
    if origin == "first":
        zero = stamps.min()
    elif origin == "midnight":
        zero = stamps.min().normalize()
    elif origin == EPOCH:
        zero = pd.Timestamp("1970-01-01")
    else:
        try:
            zero = pd.Timestamp(origin)
        except ValueError:
            raise ValueError(
                f"origin {origin!r} is not 'first', 'midnight' or a date-time"
            ) from None
        if zero.tzinfo is not None:
            zero = zero.tz_convert("UTC").tz_localize(None)
    nanoseconds = (stamps - zero).to_numpy(dtype="timedelta64[ns]").astype(np.int64)
    return nanoseconds.astype(np.float64) / 1e9


ArrivalSpec = Annotated[
    PoissonArrivals | DiurnalArrivals | BurstArrivals | TraceArrivals,
    Field(discriminator="kind"),
]
"""Any arrival process, chosen by its ``kind``."""
