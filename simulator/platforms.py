"""Platform profiles: how a platform launches, limits and shapes sandboxes, as data.

A profile holds behaviour only (never prices): launch latency per mode built from
parts, the concurrency quota and what happens over it, the platform-wide launch rate
limit, the maximum lifetime and the allowed shapes. Each figure carries its source.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from .distributions import DistributionSpec, FloatArray
from .model_base import FrozenModel, Provenance
from .shapes import GpuOption, ShapeRules
from .units import DurationS, SizeGiB

LaunchMode = Literal["cold", "snapshot", "warm"]
"""cold: boot from an image; snapshot: restore from a memory snapshot; warm: hand over a
pre-started sandbox."""
OverQuota = Literal["queue", "reject"]
"""What a platform does with a request when the concurrency quota is full."""
LAUNCH_MODES: tuple[LaunchMode, ...] = ("cold", "snapshot", "warm")
LaunchPathName = Literal["cold", "snapshot", "warm", "resume"]
"""The launch paths a profile may describe: the three modes, and resuming a paused sandbox."""
SessionMode = Literal["held", "pause_resume", "per_call"]
"""How a platform serves an agent session's think gaps: held (billed while idle),
pause_resume (paused at no idle cost and resumed for the next call), per_call (a new
sandbox or invocation per tool call)."""


MAX_LAUNCH_HOSTS = 10_000
"""Most launch hosts a pipeline may have: each launch looks at every host to choose one,
so beyond this a burst takes minutes to simulate."""


class LaunchPart(FrozenModel):
    """One step of a launch (control-plane call, artifact fetch, boot, restore, app init)."""

    name: str
    """What the step is, e.g. "control_plane", "artifact_fetch", "guest_boot", "app_init"."""
    latency: DistributionSpec
    """How long the step takes, in seconds."""
    provenance: Provenance
    """Where the figure comes from."""


class LaunchPath(FrozenModel):
    """The steps of one launch mode, taken one after the other."""

    parts: tuple[LaunchPart, ...] = Field(min_length=1)
    """The steps, in order."""

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """Total launch latency of ``n`` launches: the sum of independent parts."""
        return self.sample_with_offsets(rng, n)[0]

    def sample_with_offsets(
        self, rng: np.random.Generator, n: int
    ) -> tuple[FloatArray, dict[str, FloatArray]]:
        """Total latency of ``n`` launches, and when each part starts (from the launch start)."""
        total = np.zeros(n, dtype=np.float64)
        offsets: dict[str, FloatArray] = {}
        for part in self.parts:
            offsets[part.name] = total.copy()
            total += part.latency.sample(rng, n)
        return total, offsets

    @property
    def mean_s(self) -> float:
        """Mean total latency."""
        return sum(part.latency.mean for part in self.parts)


class Quota(FrozenModel):
    """The account's limits on what is alive at once: sandboxes, vCPU, or both."""

    concurrency: int | None = Field(default=None, ge=1)
    """Sandboxes launching or running at once; null when no such limit is published."""
    vcpu: float | None = Field(default=None, gt=0)
    """vCPU of sandboxes launching or running at once (Fargate, ACI count vCPU)."""
    gpu: float | None = Field(default=None, gt=0)
    """GPUs of sandboxes launching or running at once (Modal plans limit GPUs)."""
    over_quota: OverQuota = "queue"
    """queue: wait for room (FIFO); reject: the request fails."""
    queue_timeout: DurationS | None = None
    """With queue: a request still waiting after this long fails (Cloud Run: 30s)."""
    provenance: Provenance
    """Where the limits come from."""


class LaunchRateLimit(FrozenModel):
    """A token bucket on launches: ``burst`` at once, then ``per_second``."""

    per_second: float = Field(gt=0)
    """Sustained launches per second."""
    burst: int = Field(ge=1)
    """Launches allowed back to back when the bucket is full."""
    provenance: Provenance
    """Where the limit comes from."""


class Lifetime(FrozenModel):
    """The longest a sandbox may run before the platform stops it."""

    max: DurationS
    """Maximum run time, counted from ready."""
    provenance: Provenance
    """Where the limit comes from."""


class PlanLimits(FrozenModel):
    """Limits that come with a vendor plan (E2B Hobby/Pro, Modal Starter/Team)."""

    concurrency: int | None = Field(default=None, ge=1)
    """The plan's concurrency quota, replacing the profile's."""
    gpu: float | None = Field(default=None, gt=0)
    """The plan's GPU concurrency quota, replacing the profile's."""
    launch_rate: LaunchRateLimit | None = None
    """The plan's launch rate limit, replacing the profile's."""
    max_lifetime: DurationS | None = None
    """The plan's maximum sandbox lifetime, replacing the profile's."""
    provenance: Provenance
    """Where the limits come from."""


class PipelineParts(FrozenModel):
    """The steps of a launch through a pipeline, each a distribution with its source.

    cold = control_plane, host admission, fetch image if missing, vmm_start, guest_boot,
    app_init; snapshot = control_plane, host admission, fetch snapshot if missing,
    vmm_start, restore; warm = handover of a pre-started sandbox.
    """

    control_plane: LaunchPart
    """The API call and scheduling, before a host is chosen."""
    vmm_start: LaunchPart
    """Starting the VMM (or sandbox runtime) process on the host."""
    guest_boot: LaunchPart | None = None
    """Booting the guest kernel to user space (cold)."""
    app_init: LaunchPart | None = None
    """Starting the agent's runtime in the guest (cold)."""
    restore: LaunchPart | None = None
    """Restoring guest memory from a snapshot (snapshot); eager restores add the
    snapshot's size over ``restore_bandwidth_gib_s``."""
    handover: LaunchPart | None = None
    """Handing over a pre-started sandbox (warm)."""

    def modes(self) -> list[LaunchMode]:
        """The launch modes these parts support."""
        modes: list[LaunchMode] = []
        if self.guest_boot is not None:
            modes.append("cold")
        if self.restore is not None:
            modes.append("snapshot")
        if self.handover is not None:
            modes.append("warm")
        return modes

    def uncontended_path(self, mode: LaunchMode) -> LaunchPath:
        """The steps of a mode when nothing waits and the artifact is cached."""
        steps = {
            "cold": [self.control_plane, self.vmm_start, self.guest_boot, self.app_init],
            "snapshot": [self.control_plane, self.vmm_start, self.restore],
            "warm": [self.handover],
        }[mode]
        return LaunchPath(parts=tuple(part for part in steps if part is not None))


class LaunchPipeline(FrozenModel):
    """The capacity behind launches: hosts (or launch cells) with launch slots, a creation
    rate, an artifact cache, and the bandwidth that fills it.

    Bursts, cache misses and slow fetches then show up by themselves instead of being
    typed in as latencies.
    """

    hosts: int = Field(ge=1, le=MAX_LAUNCH_HOSTS)
    """Hosts (or launch cells) that launch sandboxes."""
    placement: Literal["least_loaded", "round_robin", "cache_affinity"] = "least_loaded"
    """How a launch picks its host: fewest launches in progress, in turn, or fewest among
    hosts that already hold (or are fetching) the artifact."""
    launch_slots_per_host: int | None = Field(default=None, ge=1)
    """Launches a host runs at once; more wait in its FIFO queue (null: no limit)."""
    creation_rate_per_host: LaunchRateLimit | None = None
    """A token bucket on launches per host (Firecracker: about 150 microVMs per second)."""
    cache_per_host: SizeGiB = 0.0
    """Bytes of images and snapshots a host keeps (least recently used are evicted)."""
    preloaded: Literal["none", "snapshots", "images", "all"] = "none"
    """Artifacts already in every host's cache at the start: none, every template's memory
    snapshots, images, or both (true means all)."""

    @field_validator("preloaded", mode="before")
    @classmethod
    def _boolean_means_all(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return "all" if value else "none"
        return value

    host_bandwidth_gib_s: float = Field(gt=0)
    """Fetch bandwidth into one host, GiB per second, shared fairly by its fetches."""
    shared_bandwidth_gib_s: float | None = Field(default=None, gt=0)
    """Total bandwidth of the registry or blob store, GiB per second (null: no limit)."""
    restore: Literal["eager", "lazy"] = "eager"
    """eager: all guest memory is loaded before the sandbox is ready; lazy: pages are
    faulted in on first use, which slows the first seconds of the run."""
    restore_bandwidth_gib_s: float | None = Field(default=None, gt=0)
    """Eager restore: GiB per second loaded into guest memory (null: in the restore part)."""
    lazy_working_set: float = Field(default=0.3, gt=0, le=1)
    """Lazy restore: share of the snapshot the run touches and faults in."""
    lazy_fault_bandwidth_gib_s: float | None = Field(default=None, gt=0)
    """Lazy restore: GiB per second of page faults served; the run is longer by the
    working set over this (null: no slowdown)."""
    parts: PipelineParts
    """The latency of each step."""
    provenance: Provenance
    """Where the host count, slots, rates, cache and bandwidth figures come from."""


class SandboxOverhead(FrozenModel):
    """What each sandbox costs its host beyond its own shape (VMM, sandbox kernel)."""

    vcpu: float = Field(default=0.0, ge=0)
    """vCPU per sandbox."""
    memory: SizeGiB = 0.0
    """Memory per sandbox."""
    provenance: Provenance
    """Where the figures come from."""


class GpuPartitioning(FrozenModel):
    """How a self-hosted isolation technology can split a host's GPUs among sandboxes."""

    whole: bool = True
    """Whole GPUs passed to one sandbox."""
    mig: bool = False
    """MIG instances (A100, H100) passed to a sandbox."""
    share: bool = False
    """Time-sliced shares of one GPU."""
    provenance: Provenance
    """Where the support comes from."""


class PauseCost(FrozenModel):
    """How long pausing a sandbox takes: a memory snapshot is written out."""

    per_gib: DurationS
    """Pause time per GiB of sandbox memory."""
    provenance: Provenance
    """Where the figure comes from."""


class PlatformProfile(FrozenModel):
    """Everything the engine needs to know about a platform, except its prices."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    """Identifier used in scenario files, e.g. "aws-fargate"."""
    name: str
    """Human name, e.g. "AWS Fargate"."""
    vendor: str
    """Who sells it."""
    isolation: str
    """The isolation technology, e.g. "firecracker", "gvisor", "hyper-v"."""
    description: str = ""
    """What the platform is and how sandboxes map onto it."""
    default_price_table: str
    """The price table used when a scenario names none."""
    default_launch_mode: LaunchMode = "cold"
    """The launch mode used when a scenario names none."""
    launch: dict[LaunchPathName, LaunchPath] = Field(default_factory=dict)
    """Launch latency parts per mode the platform supports (and "resume" for pause_resume).
    With a pipeline, the modes' paths are derived from its parts unless given."""
    pipeline: LaunchPipeline | None = None
    """The capacity behind launches; when given, launches contend for it."""
    quota: Quota
    """The concurrency quota."""
    launch_rate: LaunchRateLimit | None = None
    """A platform-wide launch rate limit, if one is published."""
    max_lifetime: Lifetime | None = None
    """The longest a sandbox may run, if limited."""
    shapes: ShapeRules
    """The vCPU and memory sizes the platform sells."""
    gpus: tuple[GpuOption, ...] = ()
    """GPU types offered, if any."""
    session_modes: tuple[SessionMode, ...] = ("held",)
    """How the platform can serve agent sessions."""
    default_session_mode: SessionMode = "held"
    """The session mode used when a scenario names none."""
    pause: PauseCost | None = None
    """Time to pause a sandbox (pause_resume), billed and holding its slot."""
    self_hosted: bool = False
    """An isolation technology you run on your own hosts (a scenario gives it a fleet)."""
    overhead: SandboxOverhead | None = None
    """Per-sandbox overhead on a self-hosted host."""
    gpu_partitioning: GpuPartitioning | None = None
    """Self-hosted: how sandboxes may use the host's GPUs (types are under ``gpus``)."""
    plans: dict[str, PlanLimits] = Field(default_factory=dict)
    """Vendor plans and their limits, chosen in the scenario with ``plan``."""
    default_plan: str | None = None
    """The plan assumed when the scenario names none."""

    @model_validator(mode="after")
    def _consistent(self) -> PlatformProfile:
        if self.pipeline is not None:
            derived = {
                mode: self.pipeline.parts.uncontended_path(mode)
                for mode in self.pipeline.parts.modes()
            }
            # frozen model: fill in the derived paths once, at validation
            object.__setattr__(self, "launch", {**derived, **self.launch})
        if self.default_launch_mode not in self.launch:
            raise ValueError(
                f"default_launch_mode {self.default_launch_mode!r} has no entry under launch"
            )
        if self.default_plan is not None and self.default_plan not in self.plans:
            raise ValueError(f"default_plan {self.default_plan!r} is not one of the plans")
        if self.default_session_mode not in self.session_modes:
            raise ValueError("default_session_mode must be one of session_modes")
        if "pause_resume" in self.session_modes and "resume" not in self.launch:
            raise ValueError("a platform with pause_resume sessions needs a launch.resume path")
        return self
