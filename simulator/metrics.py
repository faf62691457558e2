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
    sessions: SessionMetrics | None = None
    """Per-session figures, when the workload has sessions."""


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
    """Sessions cut short by a rejected call."""


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
        sessions=session_metrics(usage),
    )


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
    failed[session[usage.outcome[in_session] == REJECTED]] = True
    return SessionMetrics(
        count=int(ids.size),
        activations=int(in_session.sum()),
        waiting_s=np.bincount(session, weights=ttr, minlength=ids.size).astype(np.float64),
        span_s=last - first,
        failed=int(failed.sum()),
    )
