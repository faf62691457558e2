"""Run one platform on one sampled workload: launch latencies, caps, admission, outcomes."""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..distributions import FloatArray
from ..usage import COMPLETED, MODE_CODES, REJECTED, TIMED_OUT, Usage
from ..workload import SampledWorkload
from .admission import AdmissionResult, Limits, run_admission
from .model import PlatformModel
from .vector import quota_binds, run_vector


def run_platform(
    model: PlatformModel,
    workload: SampledWorkload,
    rng: np.random.Generator,
    *,
    force_event_engine: bool = False,
) -> Usage:
    """Simulate one platform: who is admitted when, when each sandbox is ready and ends.

    Launch latencies come from ``rng`` (the platform's own stream); request times and
    durations come from the shared sampled workload. When no quota can bind, the exact
    vector form is used instead of stepping events.
    """
    n = workload.size
    latency = model.launch_path.sample(rng, n)
    caps = np.asarray(model.lifetime_cap_s, dtype=np.float64)[workload.workload_index]
    run = np.minimum(workload.duration_s, caps)
    timed_out = workload.duration_s > caps
    use = [
        np.asarray(per_workload, dtype=np.float64)[workload.workload_index]
        for per_workload in (model.vcpu_per_workload, model.gpu_per_workload)
    ]
    result: AdmissionResult | None = None
    path: Literal["vector", "event"] = "vector"
    if not force_event_engine and not _surely_binds(model, workload.horizon_s, latency + run, use):
        candidate = run_vector(workload.request_s, latency, run, model.launch_rate)
        if not quota_binds(candidate, model.quota, model.resource_quotas, use):
            result = candidate
    if result is None:
        path = "event"
        limits = Limits(
            quota=model.quota,
            resource_quotas=model.resource_quotas,
            reject_over_quota=model.over_quota == "reject",
            queue_timeout_s=model.queue_timeout_s,
            launch_rate=model.launch_rate,
        )
        result = run_admission(workload.request_s, latency, run, limits, use)
    rejected = np.isnan(result.admit_s)
    outcome = np.full(n, COMPLETED, dtype=np.int8)
    outcome[timed_out] = TIMED_OUT
    outcome[rejected] = REJECTED
    return Usage(
        platform_id=model.platform_id,
        horizon_s=workload.horizon_s,
        workload_names=workload.workload_names,
        workload_index=workload.workload_index,
        request_s=workload.request_s,
        admit_s=result.admit_s,
        launch_start_s=result.launch_start_s,
        ready_s=result.ready_s,
        end_s=result.end_s,
        launch_mode=np.full(n, MODE_CODES[model.launch_mode], dtype=np.int8),
        outcome=outcome,
        engine_path=path,
    )


def _surely_binds(
    model: PlatformModel, horizon_s: float, held_s: FloatArray, use: list[FloatArray]
) -> bool:
    """A cheap sufficient test: if the mean load over the horizon exceeds a quota, the
    peak does too, so the vector attempt can be skipped."""
    if horizon_s <= 0:
        return False
    if model.quota is not None and float(held_s.sum()) / horizon_s > model.quota:
        return True
    return any(
        capacity is not None and float((held_s * per_request).sum()) / horizon_s > capacity
        for capacity, per_request in zip(model.resource_quotas, use, strict=True)
    )
