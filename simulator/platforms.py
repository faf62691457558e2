"""Platform profiles: how a platform launches, limits and shapes sandboxes, as data.

A profile holds behaviour only (never prices): launch latency per mode built from
parts, the concurrency quota and what happens over it, the platform-wide launch rate
limit, the maximum lifetime and the allowed shapes. Each figure carries its source.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from .distributions import DistributionSpec, FloatArray
from .model_base import FrozenModel, Provenance
from .shapes import GpuOption, ShapeRules
from .units import DurationS

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
        total = np.zeros(n, dtype=np.float64)
        for part in self.parts:
            total += part.latency.sample(rng, n)
        return total

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
    launch: dict[LaunchPathName, LaunchPath]
    """Launch latency parts per mode the platform supports (and "resume" for pause_resume)."""
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
    plans: dict[str, PlanLimits] = Field(default_factory=dict)
    """Vendor plans and their limits, chosen in the scenario with ``plan``."""
    default_plan: str | None = None
    """The plan assumed when the scenario names none."""

    @model_validator(mode="after")
    def _consistent(self) -> PlatformProfile:
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
