"""Latency, waiting and concurrency figures of one platform run, from its usage table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .distributions import FloatArray
from .fleet_metrics import FleetMetrics, capacity_waits, fleet_metrics
from .intervals import peak_overlap, time_weighted_mean
from .sketch import LogSketch
from .usage import ABANDONED, HOST_START, MODE_CODES, REJECTED, TIMED_OUT, Usage

CDF_POINTS = np.linspace(0.0, 1.0, 21)
"""Quantiles at which a burst's time-to-ready CDF is reported."""


@dataclass(frozen=True)
class BurstMetrics:
    """How one burst came up: when its sandboxes were ready, and what held them back."""

    requested: int
    ready: int
    t_first_ready_s: float
    t50_ready_s: float
    t99_ready_s: float
    t_all_ready_s: float
    """Until the last sandbox was ready (inf if some never were)."""
    cdf_s: FloatArray
    """Time to ready at the quantiles CDF_POINTS, from the burst's start."""
    waits_s: dict[str, float]
    """Total seconds the burst's sandboxes spent in each wait: quota, rate_limit,
    launch_slots (a host's launch slots and creation rate), fetch."""

    @property
    def bottleneck(self) -> str:
        """The wait that held the burst back most, "launch latency" if waits were minor,
        or "none ready" if no sandbox of it was ever ready (e.g. all given up)."""
        if not self.waits_s:
            return "none ready"
        name, total = max(self.waits_s.items(), key=lambda item: item[1])
        return name if total > 0 else "launch latency"


def burst_metrics(usage: Usage, workload_index: int, at_s: float) -> BurstMetrics:
    """Readiness of one burst workload's sandboxes, timed from the burst's start."""
    rows = usage.workload_index == workload_index
    if usage.call_index is not None:
        rows &= usage.call_index == 0  # a session's first sandbox
    ready = usage.ready_s[rows] - at_s
    served = ready[~np.isnan(ready)]
    if served.size == 0:
        nan = float("nan")
        return BurstMetrics(
            int(rows.sum()), 0, nan, nan, nan, nan, np.full(CDF_POINTS.size, np.nan), {}
        )
    complete = served.size == int(rows.sum())

    def total(values: FloatArray | None) -> float:
        return float(np.nansum(values[rows])) if values is not None else 0.0

    waits = {
        "quota": total(usage.admit_s - usage.quota_arrival_s),
        "rate_limit": total(usage.quota_arrival_s - usage.request_s),
        "launch_slots": total(usage.host_wait_s),
        "fetch": total(usage.fetch_s),
    }
    return BurstMetrics(
        requested=int(rows.sum()),
        ready=int(served.size),
        t_first_ready_s=float(served.min()),
        t50_ready_s=float(np.quantile(served, 0.5)),
        t99_ready_s=float(np.quantile(served, 0.99)),
        t_all_ready_s=float(served.max()) if complete else float("inf"),
        cdf_s=np.quantile(served, CDF_POINTS),
        waits_s=waits,
    )


def launch_counts(usage: Usage) -> dict[str, int]:
    """Launches by kind, and cache misses (launches whose host lacked the artifact)."""
    launched = usage.launched
    counts = {
        "warm_hits": int(np.count_nonzero(launched & (usage.launch_mode == MODE_CODES["warm"]))),
        "snapshot_restores": int(
            np.count_nonzero(launched & (usage.launch_mode == MODE_CODES["snapshot"]))
        ),
        "cold_boots": int(np.count_nonzero(launched & (usage.launch_mode == MODE_CODES["cold"]))),
        "resumes": int(np.count_nonzero(launched & (usage.launch_mode == MODE_CODES["resume"]))),
        "cache_misses": int(np.count_nonzero(usage.cache_miss))
        if usage.cache_miss is not None
        else 0,
        "fetches": usage.fetches,
    }
    return counts


@dataclass(frozen=True)
class RunMetrics:
    """What one replication of one platform measured (latency samples kept for pooling)."""

    requested: int
    launched: int
    rejected: int
    timed_out: int
    abandoned: int
    """Requests that left the queue after waiting its timeout."""
    time_to_ready_s: LogSketch
    """Ready minus request, over launched sandboxes."""
    queue_wait_s: LogSketch
    """Time waiting for a quota slot, over launched or abandoned requests."""
    rate_limit_wait_s: LogSketch
    """Time waiting for a launch token, over launched sandboxes."""
    concurrency_mean: float
    """Time-weighted mean of sandboxes holding a slot (launching or running) over the horizon."""
    concurrency_peak: int
    queue_mean: float
    """Time-weighted mean of requests waiting for a slot over the horizon."""
    queue_peak: int
    sojourn_mean_s: float
    """Mean time from admission to end, per launched sandbox (for Little's law)."""
    backlog_at_horizon: int = 0
    """Launched sandboxes requested within the horizon whose launch had not started on
    the platform (after the quota, the rate limit and any launch pipeline queue) when
    it ended: the backlog a platform that cannot keep up carries past the horizon."""
    run_s: float = 0.0
    """Seconds launched sandboxes ran (ready to end)."""
    cut_s: float = 0.0
    """Seconds of requested run time that lifetime caps cut off."""
    sessions: SessionMetrics | None = None
    """Per-session figures, when the workload has sessions."""
    launches: dict[str, int] | None = None
    """Launches by kind and cache misses (see ``launch_counts``)."""
    bursts: dict[str, BurstMetrics] | None = None
    """Per burst workload (by name): how it came up."""
    pool_idle_s: float = 0.0
    """Sandbox-seconds pooled sandboxes spent idle (from their launch)."""
    fleet: FleetMetrics | None = None
    """A self-hosted fleet's hosts, utilisation and packing (None: managed)."""
    launched_by_workload: dict[str, int] | None = None
    """Launched sandboxes per workload name."""


@dataclass(frozen=True)
class SessionMetrics:
    """What agent sessions experienced, one value per session (samples kept for pooling)."""

    count: int
    activations: int
    """Sandbox launches and resumes, over all sessions."""
    waiting_s: FloatArray
    """Per session: time its calls spent waiting for a sandbox (sum of time to ready)."""
    span_s: FloatArray
    """Per session: first request to last end."""
    failed: int
    """Sessions cut short by a call that was rejected or gave up waiting in the queue."""


def run_metrics(usage: Usage, bursts: dict[int, float] | None = None) -> RunMetrics:
    """Figures of one run; time-weighted means are exact integrals over the horizon.

    ``bursts`` maps the index of each burst workload to its start time. Waits for the
    quota count from when a request reached it (after any launch token); requests that
    gave up after the queue timeout count with the time they waited.
    """
    launched = usage.launched
    request = usage.request_s[launched]
    arrival = usage.quota_arrival_s[launched]
    admit = usage.admit_s[launched]
    end = usage.end_s[launched]
    abandoned = usage.outcome == ABANDONED
    lost = usage.fleet.lost_holds if usage.fleet is not None else None
    if lost is not None:  # sandboxes lost with spot hosts waited again for each rerun
        queued_from, queued_until = capacity_waits(usage.request_s, usage.admit_s, lost)
    elif usage.left_queue_s is not None and abandoned.any():
        queued_from = np.concatenate((arrival, usage.quota_arrival_s[abandoned]))
        queued_until = np.concatenate((admit, usage.left_queue_s[abandoned]))
    else:
        queued_from, queued_until = arrival, admit
    waited = queued_until > queued_from
    return RunMetrics(
        requested=usage.size,
        launched=int(launched.sum()),
        rejected=usage.count(REJECTED),
        timed_out=usage.count(TIMED_OUT),
        abandoned=int(abandoned.sum()),
        time_to_ready_s=LogSketch.of(usage.ready_s[launched] - request),
        queue_wait_s=LogSketch.of(queued_until - queued_from),
        rate_limit_wait_s=LogSketch.of(arrival - request),
        concurrency_mean=time_weighted_mean(admit, end, usage.horizon_s),
        concurrency_peak=peak_overlap(admit, end),
        queue_mean=time_weighted_mean(queued_from[waited], queued_until[waited], usage.horizon_s),
        queue_peak=peak_overlap(queued_from[waited], queued_until[waited]),
        sojourn_mean_s=float(np.mean(end - admit)) if end.size else 0.0,
        backlog_at_horizon=_backlog_at_horizon(usage),
        run_s=float(np.sum(end - usage.ready_s[launched])),
        cut_s=float(np.sum(usage.cut_s[launched])) if usage.cut_s is not None else 0.0,
        pool_idle_s=usage.pool_idle.idle_seconds() if usage.pool_idle is not None else 0.0,
        fleet=fleet_metrics(usage.fleet) if usage.fleet is not None else None,
        launched_by_workload={
            usage.workload_names[w]: int(count)
            for w, count in enumerate(
                np.bincount(usage.workload_index[launched], minlength=len(usage.workload_names))
            )
            if count
        },
        sessions=session_metrics(usage),
        launches=launch_counts(usage),
        bursts={
            usage.workload_names[w]: burst_metrics(usage, w, at)
            for w, at in (bursts or {}).items()
            if np.any(usage.workload_index == w)
        },
    )


def _backlog_at_horizon(usage: Usage) -> int:
    """Launched sandboxes requested within the horizon that had not started launching on
    the platform by its end. A session's calls requested after the horizon are no
    backlog, nor is a launch that started in time and is merely slow."""
    launched = usage.launched
    started = usage.launch_start_s
    host_offset = (usage.part_offset_s or {}).get(HOST_START)
    if host_offset is not None:
        started = np.where(np.isnan(host_offset), started, started + host_offset)
    horizon = usage.horizon_s
    late = launched & (usage.request_s <= horizon) & (started > horizon)
    return int(np.count_nonzero(late))


def session_metrics(usage: Usage) -> SessionMetrics | None:
    """Per-session waiting and span, from the rows that carry a session index."""
    if usage.session_index is None:
        return None
    in_session = usage.session_index >= 0
    if not in_session.any():
        return None
    ids, session = np.unique(usage.session_index[in_session], return_inverse=True)
    request = usage.request_s[in_session]
    ttr = np.nan_to_num(usage.ready_s[in_session] - request, nan=0.0)
    end = np.where(np.isnan(usage.end_s[in_session]), request, usage.end_s[in_session])
    first = np.full(ids.size, np.inf)
    np.minimum.at(first, session, request)
    last = np.full(ids.size, -np.inf)
    np.maximum.at(last, session, end)
    failed = np.zeros(ids.size, dtype=bool)
    outcome = usage.outcome[in_session]
    failed[session[(outcome == REJECTED) | (outcome == ABANDONED)]] = True
    return SessionMetrics(
        count=int(ids.size),
        activations=int(in_session.sum()),
        waiting_s=np.bincount(session, weights=ttr, minlength=ids.size).astype(np.float64),
        span_s=last - first,
        failed=int(failed.sum()),
    )


def cut_share(runs: Sequence[RunMetrics]) -> float:
    """Share of the run time asked for that lifetime caps cut off, over replications."""
    cut = sum(run.cut_s for run in runs)
    asked = sum(run.run_s for run in runs) + cut
    return cut / asked if asked > 0 else 0.0


KEEPS_UP_SHARE = 0.99
"""A platform keeps up when at least this share of requests launched and at most the
rest was still waiting to launch when the horizon ended (``keeps_up``)."""


def launched_share(runs: Sequence[RunMetrics]) -> float:
    """Launched over requested sandboxes, over replications (1 when none was requested)."""
    requested = sum(run.requested for run in runs)
    return sum(run.launched for run in runs) / requested if requested else 1.0


def backlog_share(runs: Sequence[RunMetrics]) -> float:
    """Requested sandboxes that had not started launching when the horizon ended, over
    requested, over replications: a backlog that grows when a platform falls behind."""
    return sum(run.backlog_at_horizon for run in runs) / max(1, sum(run.requested for run in runs))


def keeps_up(runs: Sequence[RunMetrics]) -> bool:
    """Whether a platform keeps up with its demand: at least 99% of requests launched (not
    rejected nor given up) and at most 1% still waiting to launch when the horizon ended.
    ``sandsim breakeven`` and the report's recommendation both judge by it."""
    return launched_share(runs) >= KEEPS_UP_SHARE and backlog_share(runs) <= 1.0 - KEEPS_UP_SHARE
