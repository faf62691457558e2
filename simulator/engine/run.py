"""Run one platform on one sampled workload: activations, launch latencies, caps,
admission, outcomes.

Three evaluations give the same answer where they apply, fastest first: the exact vector
form (no quota or rate limit ever makes anyone wait), the fast gate (every request known
up front), and the general event engine (requests made during the run by sessions).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..distributions import FloatArray
from ..usage import COMPLETED, MODE_CODES, REJECTED, TIMED_OUT, Usage
from ..workload import SampledWorkload
from .activations import PATH_RESUME, Activations, chain_without_waits, expand
from .admission import AdmissionResult, Limits, run_admission
from .dynamic import DynamicEngine, FixedLatencyLauncher
from .model import PlatformModel
from .vector import quota_binds, run_vector, token_bucket_conforms


def run_platform(
    model: PlatformModel,
    workload: SampledWorkload,
    rng: np.random.Generator,
    *,
    force_event_engine: bool = False,
) -> Usage:
    """Simulate one platform: who is admitted when, when each sandbox is ready and ends.

    Launch latencies come from ``rng`` (the platform's own stream); request times and
    durations come from the shared sampled workload.
    """
    pause = model.pause_s_per_workload or (0.0,) * len(workload.workload_names)
    acts = expand(workload, model.session_mode, pause)
    n = acts.size
    latency = model.launch_path.sample(rng, n)
    resume = acts.path == PATH_RESUME
    if resume.any():
        assert model.resume_path is not None, "pause_resume needs a resume launch path"
        latency[resume] = model.resume_path.sample(rng, int(resume.sum()))
    caps = np.asarray(model.lifetime_cap_s, dtype=np.float64)[acts.workload_index]
    call_run = np.minimum(acts.call_s, caps)
    use = [
        np.asarray(per_workload, dtype=np.float64)[acts.workload_index]
        for per_workload in (model.vcpu_per_workload, model.gpu_per_workload)
    ]
    limits = Limits(
        quota=model.quota,
        resource_quotas=model.resource_quotas,
        reject_over_quota=model.over_quota == "reject",
        queue_timeout_s=model.queue_timeout_s,
        launch_rate=model.launch_rate,
    )
    path: Literal["vector", "event"]
    if not acts.chained:
        request_s = acts.request_s
        result, path = _independent(
            model, acts, latency, call_run, use, limits, workload.horizon_s, force_event_engine
        )
    else:
        request_s, result, path = _chained(
            model, acts, latency, call_run, use, limits, force_event_engine
        )
    requested = ~np.isnan(request_s)
    timed_out = (acts.call_s > caps) & requested
    rejected = np.isnan(result.admit_s) & requested
    outcome = np.full(n, COMPLETED, dtype=np.int8)
    outcome[timed_out] = TIMED_OUT
    outcome[rejected] = REJECTED
    mode = np.where(resume, MODE_CODES["resume"], MODE_CODES[model.launch_mode]).astype(np.int8)
    has_sessions = workload.tracks.size > 0
    keep = requested
    return Usage(
        platform_id=model.platform_id,
        horizon_s=workload.horizon_s,
        workload_names=workload.workload_names,
        workload_index=acts.workload_index[keep],
        request_s=request_s[keep],
        admit_s=result.admit_s[keep],
        launch_start_s=result.launch_start_s[keep],
        ready_s=result.ready_s[keep],
        end_s=result.end_s[keep],
        launch_mode=mode[keep],
        outcome=outcome[keep],
        engine_path=path,
        track_index=acts.track_index[keep] if has_sessions else None,
        session_index=acts.session_index[keep] if has_sessions else None,
        call_index=acts.call_index[keep] if has_sessions else None,
    )


def _independent(
    model: PlatformModel,
    acts: Activations,
    latency: FloatArray,
    call_run: FloatArray,
    use: list[FloatArray],
    limits: Limits,
    horizon_s: float,
    force_event_engine: bool,
) -> tuple[AdmissionResult, Literal["vector", "event"]]:
    """Every request known up front: the vector form or the fast gate, in request order."""
    order = np.argsort(acts.request_s, kind="stable")
    request = acts.request_s[order]
    run = (call_run + acts.tail_s)[order]
    lat = latency[order]
    sorted_use = [u[order] for u in use]
    result: AdmissionResult | None = None
    path: Literal["vector", "event"] = "vector"
    if not force_event_engine and not _surely_binds(model, horizon_s, lat + run, sorted_use):
        candidate = run_vector(request, lat, run, model.launch_rate)
        if not quota_binds(candidate, model.quota, model.resource_quotas, sorted_use):
            result = candidate
    if result is None:
        path = "event"
        result = run_admission(request, lat, run, limits, sorted_use)
    back = np.empty_like(order)
    back[order] = np.arange(order.size)
    return (
        AdmissionResult(
            result.admit_s[back],
            result.launch_start_s[back],
            result.ready_s[back],
            result.end_s[back],
        ),
        path,
    )


def _chained(
    model: PlatformModel,
    acts: Activations,
    latency: FloatArray,
    call_run: FloatArray,
    use: list[FloatArray],
    limits: Limits,
    force_event_engine: bool,
) -> tuple[FloatArray, AdmissionResult, Literal["vector", "event"]]:
    """Sessions whose calls request the next: a running sum if nothing waits, else events."""
    if not force_event_engine:
        request, ready, end = chain_without_waits(acts, latency, call_run)
        order = np.argsort(request, kind="stable")
        candidate = AdmissionResult(request[order], request[order], ready[order], end[order])
        conforms = model.launch_rate is None or token_bucket_conforms(
            request[order], model.launch_rate
        )
        if conforms and not quota_binds(
            candidate, model.quota, model.resource_quotas, [u[order] for u in use]
        ):
            return request, AdmissionResult(request.copy(), request.copy(), ready, end), "vector"
    engine = DynamicEngine(acts, call_run, limits, use, FixedLatencyLauncher(latency))
    result = engine.run()
    return result.request_s, result, "event"


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
