"""Run one platform on one sampled workload: activations, launch latencies, caps,
admission, outcomes.

Three evaluations give the same answer where they apply, fastest first: the exact vector
form (no quota or rate limit ever makes anyone wait), the fast gate (every request known
up front), and the general event engine (requests made during the run by sessions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..distributions import FloatArray
from ..platforms import LaunchPath
from ..usage import (
    ABANDONED,
    COMPLETED,
    HOST_START,
    MODE_CODES,
    REJECTED,
    TIMED_OUT,
    PoolIdle,
    Usage,
)
from ..workload import SampledWorkload
from .activations import PATH_RESUME, Activations, chain_without_waits, expand
from .admission import AdmissionResult, Limits, run_admission
from .dynamic import DynamicEngine, FixedLatencyLauncher, Launcher
from .fleet import FleetEngine, FleetRecord
from .model import PlatformModel
from .pipeline import COLD, SNAPSHOT, WARM, PipelineLauncher
from .pool import PooledLauncher
from .vector import quota_binds, run_vector, token_bucket_conforms


def run_platform(
    model: PlatformModel,
    workload: SampledWorkload,
    rng: np.random.Generator,
    *,
    force_event_engine: bool = False,
    fleet_engine: Callable[..., FleetEngine] = FleetEngine,
) -> Usage:
    """Simulate one platform: who is admitted when, when each sandbox is ready and ends.

    Launch latencies come from ``rng`` (the platform's own stream); request times and
    durations come from the shared sampled workload. ``fleet_engine`` builds a fleet's
    engine (benchmarks swap in variants).
    """
    pause = model.pause_s_per_workload or (0.0,) * len(workload.workload_names)
    acts = expand(workload, model.session_mode, pause)
    n = acts.size
    latency, part_offsets = model.launch_path.sample_with_offsets(rng, n)
    resume = acts.path == PATH_RESUME
    if resume.any():
        assert model.resume_path is not None, "pause_resume needs a resume launch path"
        latency[resume] = model.resume_path.sample(rng, int(resume.sum()))
        for offsets in part_offsets.values():
            offsets[resume] = np.nan  # a resume takes none of the launch path's parts
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
    result: AdmissionResult
    record = None
    pooled: PooledLauncher | None = None
    fleet_record = None
    if model.fleet is not None:
        class_of = model.fleet.class_of(acts.workload_index, workload.trace_row)
        engine_of_fleet = fleet_engine(
            acts, call_run, latency, model.fleet, rng, workload.horizon_s, class_of
        )
        dynamic = engine_of_fleet.run()
        request_s, result, path = dynamic.request_s, dynamic, "event"
        fleet_record = engine_of_fleet.record()
    elif model.pipeline is not None or model.pools:
        base: PipelineLauncher | FixedLatencyLauncher
        if model.pipeline is not None:
            base = _pipeline_launcher(model, acts, latency, resume, rng)
        else:
            base = FixedLatencyLauncher(latency, _block_sampler(model.launch_path, rng))
        launcher: Launcher = base
        if model.pools:
            pooled = _pooled_launcher(model, acts, base, rng, workload.horizon_s)
            launcher = pooled
        engine = DynamicEngine(acts, call_run, limits, use, launcher)
        dynamic = engine.run()
        request_s, result, path = dynamic.request_s, dynamic, "event"
        if isinstance(base, PipelineLauncher):
            record = base.record()
        if pooled is not None:
            pooled.close()
    elif not acts.chained:
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
    outcome[rejected & result.gave_up] = ABANDONED
    mode = np.where(resume, MODE_CODES["resume"], MODE_CODES[model.launch_mode]).astype(np.int8)
    bill_from_launch = None
    if pooled is not None:
        mode[pooled.warm] = MODE_CODES["warm"]
        for offsets in part_offsets.values():
            offsets[pooled.warm] = np.nan  # a warm hit takes none of the launch path's parts
        billed_pool = {pool.template: pool.billed_idle for pool in model.pools}
        templates = model.template_per_workload
        billed_template = np.array(
            [billed_pool.get(templates[w], False) for w in range(len(templates))], dtype=bool
        )
        # a warm hit on a sandbox whose idle time the pool billed up to the handover: its
        # bill runs on from the handover, without a gap and without the cold parts
        bill_from_launch = pooled.warm & billed_template[acts.workload_index]
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
        host_wait_s=record.host_wait_s[keep] if record else None,
        fetch_s=record.fetch_s[keep] if record else None,
        cache_miss=record.cache_miss[keep] if record else None,
        fetches=record.cache_misses if record else 0,
        fetched_gib=record.fetched_gib if record else 0.0,
        token_s=result.token_s[keep] if model.launch_rate is not None else None,
        part_offset_s=(
            {name: offsets[keep] for name, offsets in part_offsets.items()}
            if model.pipeline is None
            else (
                {
                    "artifact_fetch": record.fetch_started_offset_s[keep],
                    HOST_START: record.host_start_offset_s[keep],
                }
                if record
                else None
            )
        ),
        left_queue_s=(
            np.where(outcome == ABANDONED, result.token_s + model.queue_timeout_s, np.nan)[keep]
            if model.queue_timeout_s is not None
            else None
        ),
        pool_idle=_pool_idle(pooled, model) if pooled is not None else None,
        bill_from_launch=bill_from_launch[keep] if bill_from_launch is not None else None,
        cut_s=np.where(timed_out, acts.call_s - caps, 0.0)[keep],
        fleet=_fleet_for_requested(fleet_record, model, result, keep),
    )


def _fleet_for_requested(
    record: FleetRecord | None,
    model: PlatformModel,
    result: AdmissionResult,
    keep: npt.NDArray[np.bool_],
) -> FleetRecord | None:
    """The fleet's record with per-activation arrays cut to the requested activations, as
    usage is, and the GPU-seconds its sandboxes ran (ready to end)."""
    if record is None or model.fleet is None:
        return record
    classes = record.class_of if record.class_of is not None else np.zeros(keep.size, np.int64)
    units = np.array([need.units for need in model.fleet.gpu_need_per_class] or [0.0])
    run_s = np.nan_to_num(result.end_s - result.ready_s, nan=0.0)
    lost = record.lost_holds
    if lost is not None:  # (its rows name activations: renumbered as the requested ones)
        lost = replace(lost, activation=(np.cumsum(keep) - 1)[lost.activation])
    return replace(
        record,
        host_of=record.host_of[keep],
        class_of=classes[keep],
        gpu_seconds=float((units[classes] * np.maximum(run_s, 0.0))[keep].sum()),
        lost_holds=lost,
    )


def _block_sampler(
    path: LaunchPath, rng: np.random.Generator, block: int = 1024
) -> Callable[[], float]:
    """Draws single latencies of a launch path, sampled in blocks."""
    buffer: list[float] = []

    def draw() -> float:
        if not buffer:
            buffer.extend(path.sample(rng, block).tolist()[::-1])
        return buffer.pop()

    return draw


def _pooled_launcher(
    model: PlatformModel,
    acts: Activations,
    base: PipelineLauncher | FixedLatencyLauncher,
    rng: np.random.Generator,
    horizon_s: float,
) -> PooledLauncher:
    """Warm pools in front of the platform's launcher; resumes bypass them."""
    kind = {"cold": COLD, "snapshot": SNAPSHOT, "warm": WARM}[model.launch_mode]
    sizes = model.image_gib_per_workload if kind == COLD else model.snapshot_gib_per_workload
    prefix = "image" if kind == COLD else "snapshot"
    pools = []
    for pool in model.pools:
        size = sizes[pool.workload_index] if sizes else 0.0
        pools.append((pool, kind, f"{prefix}:{pool.template}", size))
    templates = model.template_per_workload
    template_of = [templates[w] for w in acts.workload_index.tolist()]
    handover_path = (
        model.pipeline.parts.uncontended_path("warm")
        if model.pipeline and model.pipeline.parts.handover
        else model.warm_path
    )
    assert handover_path is not None, "pools need a way to hand over a pre-started sandbox"
    resume = acts.path == PATH_RESUME
    following = acts.next_index
    paused_after = np.zeros(acts.size, dtype=bool)
    has_next = following >= 0
    paused_after[has_next] = resume[following[has_next]]
    return PooledLauncher(
        base,
        pools,
        template_of,
        _block_sampler(handover_path, rng),
        horizon_s,
        resume.tolist(),
        paused_after.tolist(),
    )


def _pool_idle(pooled: PooledLauncher, model: PlatformModel) -> PoolIdle:
    workload, start, host_start, ready, end, restored = pooled.idle_rows()
    billed_by_template = {pool.template: pool.billed_idle for pool in model.pools}
    templates = model.template_per_workload
    billed = np.array([billed_by_template[templates[w]] for w in workload.tolist()], dtype=bool)
    return PoolIdle(workload, start, ready, end, billed, host_start, restored)


def _pipeline_launcher(
    model: PlatformModel,
    acts: Activations,
    latency: FloatArray,
    resume: np.ndarray,
    rng: np.random.Generator,
) -> PipelineLauncher:
    """A launcher through the platform's pipeline; resumes bypass it (the paused sandbox
    is restored where it is)."""
    assert model.pipeline is not None
    kind_code = {"cold": COLD, "snapshot": SNAPSHOT, "warm": WARM}[model.launch_mode]
    kind = np.full(acts.size, kind_code, dtype=np.int8)
    artifact_kind = "image" if kind_code == COLD else "snapshot"
    sizes = model.image_gib_per_workload if kind_code == COLD else model.snapshot_gib_per_workload
    templates = model.template_per_workload
    names = [f"{artifact_kind}:{templates[w]}" for w in range(len(templates))]
    artifact_name = [names[w] for w in acts.workload_index.tolist()]
    artifact_gib = np.asarray(sizes, dtype=np.float64)[acts.workload_index]
    used = set(acts.workload_index.tolist())
    all_artifacts = {names[w]: sizes[w] for w in sorted(used)}
    direct = np.where(resume, latency, np.nan)
    return PipelineLauncher(
        model.pipeline, kind, artifact_name, artifact_gib, all_artifacts, rng, direct
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
    reordered = {f.name: getattr(result, f.name)[back] for f in fields(result)}
    return AdmissionResult(**reordered), path


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
        none = np.zeros(acts.size, dtype=bool)
        candidate = AdmissionResult(
            request[order], request[order], request[order], ready[order], end[order], none
        )
        conforms = model.launch_rate is None or token_bucket_conforms(
            request[order], model.launch_rate
        )
        if conforms and not quota_binds(
            candidate, model.quota, model.resource_quotas, [u[order] for u in use]
        ):
            return (
                request,
                AdmissionResult(request.copy(), request.copy(), request.copy(), ready, end, none),
                "vector",
            )
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
