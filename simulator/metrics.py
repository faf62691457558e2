"""Latency, waiting and concurrency figures of one platform run, from its usage table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .distributions import FloatArray
from .intervals import peak_overlap, time_weighted_mean
from .usage import REJECTED, TIMED_OUT, Usage


@dataclass(frozen=True)
class RunMetrics:
    """What one replication of one platform measured (latency samples kept for pooling)."""

    requested: int
    launched: int
    rejected: int
    timed_out: int
    time_to_ready_s: FloatArray
    """Ready minus request, per launched sandbox."""
    queue_wait_s: FloatArray
    """Admission minus request (waiting for a quota slot), per launched sandbox."""
    rate_limit_wait_s: FloatArray
    """Launch start minus admission (waiting for a launch token), per launched sandbox."""
    concurrency_mean: float
    """Time-weighted mean of sandboxes holding a slot (launching or running) over the horizon."""
    concurrency_peak: int
    queue_mean: float
    """Time-weighted mean of requests waiting for a slot over the horizon."""
    queue_peak: int
    sojourn_mean_s: float
    """Mean time from admission to end, per launched sandbox (for Little's law)."""


def run_metrics(usage: Usage) -> RunMetrics:
    """Figures of one run; time-weighted means are exact integrals over the horizon."""
    launched = usage.launched
    request = usage.request_s[launched]
    admit = usage.admit_s[launched]
    end = usage.end_s[launched]
    waited = admit > request
    return RunMetrics(
        requested=usage.size,
        launched=int(launched.sum()),
        rejected=usage.count(REJECTED),
        timed_out=usage.count(TIMED_OUT),
        time_to_ready_s=usage.ready_s[launched] - request,
        queue_wait_s=admit - request,
        rate_limit_wait_s=usage.launch_start_s[launched] - admit,
        concurrency_mean=time_weighted_mean(admit, end, usage.horizon_s),
        concurrency_peak=peak_overlap(admit, end),
        queue_mean=time_weighted_mean(request[waited], admit[waited], usage.horizon_s),
        queue_peak=peak_overlap(request[waited], admit[waited]),
        sojourn_mean_s=float(np.mean(end - admit)) if end.size else 0.0,
    )
