"""The engine's view of a platform: limits and launch behaviour, no prices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..platforms import LaunchMode, LaunchPath, LaunchPipeline, OverQuota, SessionMode


@dataclass(frozen=True)
class TokenBucket:
    """Launch rate limit: ``burst`` launches at once, then one every 1/``per_second``."""

    per_second: float
    burst: int

    @property
    def interval_s(self) -> float:
        """Seconds between tokens."""
        return 1.0 / self.per_second

    @property
    def tolerance_s(self) -> float:
        """How far ahead of the sustained schedule a launch may run (GCRA tolerance)."""
        return (self.burst - 1) * self.interval_s


PoolPolicy = Literal["fixed", "keep_alive", "hybrid_histogram", "prewarm_diurnal"]


@dataclass(frozen=True)
class PoolModel:
    """The engine's view of one template's pool."""

    template: str
    workload_index: int
    """The workload its idle time is charged to."""
    policy: PoolPolicy
    size: int
    """fixed: idle sandboxes kept; other policies: the most kept."""
    refill_per_second: float | None
    ttl_s: float | None
    reuse: int
    """Times a sandbox goes back to the pool after a task (0: always fresh)."""
    billed_idle: bool = True
    histogram_bin_s: float = 60.0
    histogram_range_s: float = 4 * 3600.0
    head_percentile: float = 5.0
    tail_percentile: float = 99.0
    margin: float = 0.1
    cv_threshold: float = 2.0
    """hybrid_histogram: the histogram is representative when the coefficient of
    variation of its bin counts exceeds this (a flat histogram predicts nothing)."""
    hourly_rate_per_s: tuple[float, ...] = ()
    """prewarm_diurnal: the template's request rate in each hour of the day."""
    lead_s: float = 300.0
    cover_s: float = 0.0
    update_s: float = 60.0


@dataclass(frozen=True)
class PlatformModel:
    """Everything the engine needs to simulate one platform."""

    platform_id: str
    quota: int | None
    """Sandboxes launching or running at once; None for no limit."""
    vcpu_quota: float | None
    """vCPU launching or running at once; None for no limit."""
    gpu_quota: float | None
    """GPUs launching or running at once; None for no limit."""
    over_quota: OverQuota
    queue_timeout_s: float | None
    """A queued request that has waited this long fails; None to wait forever."""
    launch_rate: TokenBucket | None
    launch_mode: LaunchMode
    launch_path: LaunchPath
    lifetime_cap_s: tuple[float, ...]
    """Run-time cap per workload index (inf for none): min of platform and workload limits."""
    vcpu_per_workload: tuple[float, ...]
    """vCPU one sandbox of each workload counts against a vCPU quota (its rounded shape)."""
    gpu_per_workload: tuple[float, ...]
    """GPUs one sandbox of each workload counts against a GPU quota."""
    session_mode: SessionMode = "held"
    """How sessions use the platform."""
    resume_path: LaunchPath | None = None
    """Launch parts of resuming a paused sandbox (pause_resume)."""
    pause_s_per_workload: tuple[float, ...] = ()
    """Pause time of one sandbox of each workload (pause_resume)."""
    pipeline: LaunchPipeline | None = None
    """The capacity behind launches (None: launch latency is a plain distribution)."""
    template_per_workload: tuple[str, ...] = ()
    """Template name of each workload (artifacts are cached and fetched per template)."""
    image_gib_per_workload: tuple[float, ...] = ()
    """Image size fetched by a cold boot, per workload."""
    snapshot_gib_per_workload: tuple[float, ...] = ()
    """Snapshot size fetched by a restore, per workload."""
    pools: tuple[PoolModel, ...] = ()
    """Warm pools by template."""
    warm_path: LaunchPath | None = None
    """Launch parts of handing over a pre-started sandbox (warm hits)."""
    fleet: Any = None
    """A self-hosted fleet (``engine.fleet.FleetModel``); None for a managed platform."""

    @property
    def resource_quotas(self) -> tuple[float | None, ...]:
        """Limits on summed resources, in the order of ``per_request_resources``."""
        return (self.vcpu_quota, self.gpu_quota)
