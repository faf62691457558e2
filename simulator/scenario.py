"""Scenario files: the workload a user describes and the platforms to compare.

A scenario is YAML loaded into frozen pydantic models that reject unknown keys. Times
accept units ("45s", "10m"), sizes accept "4GiB". ``load_scenario`` reads and validates
a file; ``Scenario.with_overrides`` returns a changed, re-validated copy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from .arrivals import ArrivalSpec, TraceArrivals
from .catalog import bundled_dir
from .distributions import DistributionSpec, Empirical, Mixture
from .errors import InputError, InputErrors
from .forecast_spec import Budget, ForecastSpec
from .gpus import MIN_GPU_SHARE
from .inventory import MAX_FLEET_HOSTS, Inventory
from .loading import errors_from_validation, read_yaml, validate_file
from .model_base import Count, FrozenModel
from .platforms import MAX_LAUNCH_HOSTS, LaunchMode, OverQuota, SessionMode
from .units import DurationS, PositiveDurationS, SizeGiB

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class GpuRequest(FrozenModel):
    """GPUs a sandbox asks for: whole GPUs, one MIG instance, or a time-sliced share."""

    type: str
    """GPU type as price tables name it, e.g. "l4", "h100", "a100-80gb"."""
    count: Count = Field(default=1, ge=1)
    """How many whole GPUs of that type."""
    mig: str | None = None
    """A MIG instance instead of whole GPUs (self-hosted A100/H100), e.g. "3g.40gb"."""
    share: float | None = Field(default=None, ge=MIN_GPU_SHARE, lt=1)
    """A time-sliced share of one GPU instead (self-hosted), e.g. 0.25 (at least 0.001)."""

    @model_validator(mode="after")
    def _one_kind(self) -> GpuRequest:
        if self.mig is not None and self.share is not None:
            raise ValueError("ask for a MIG instance or a share, not both")
        if (self.mig is not None or self.share is not None) and self.count != 1:
            raise ValueError("a MIG instance or a share is part of one GPU: leave count at 1")
        if self.mig is not None:
            from .gpus import mig_profile

            mig_profile(self.type, self.mig)
        return self

    def describe(self) -> str:
        """E.g. 'a100-40gb x2', 'a100-40gb MIG 1g.5gb', 'a100-40gb share 0.25'."""
        if self.mig is not None:
            return f"{self.type} MIG {self.mig}"
        if self.share is not None:
            return f"{self.type} share {self.share:g}"
        return f"{self.type} x{self.count}"


class Shape(FrozenModel):
    """What one sandbox asks for; platforms round it up to a size they sell."""

    vcpu: float = Field(gt=0)
    """Virtual CPUs."""
    memory: SizeGiB
    """Memory, e.g. "4GiB" or "512MiB" (a bare number is GiB)."""
    gpu: GpuRequest | None = None
    """GPUs, if any."""

    @model_validator(mode="after")
    def _positive_memory(self) -> Shape:
        if self.memory <= 0:
            raise ValueError("memory must be positive")
        return self


class Template(FrozenModel):
    """What a sandbox starts from: the image a cold boot fetches, the memory snapshot a
    restore fetches. Sizes matter only on platforms with a launch pipeline."""

    image_size: SizeGiB = 1.0
    """Size of the image fetched for a cold boot (compressed, as pulled)."""
    snapshot_size: SizeGiB | None = None
    """Size of the memory snapshot fetched for a restore; defaults to the sandbox's memory."""


class SessionSpec(FrozenModel):
    """An agent session: a task made of tool calls separated by think gaps.

    The agent holds a sandbox for the whole task; how the gaps are billed depends on the
    platform's session mode (held, pause_resume, per_call).
    """

    tool_calls: DistributionSpec
    """Tool calls per session, a distribution of counts (plain numbers, not seconds);
    samples are rounded up to a whole number of at least one."""
    call_duration: DistributionSpec
    """How long each tool call runs in the sandbox."""
    think_gap: DistributionSpec
    """Time between one call's end and the next call's start, while the model reasons
    (and, for gaps at turn boundaries, while the user answers)."""
    parallel_sandboxes: int = Field(default=1, ge=1)
    """Sandboxes the session fans out to in parallel, each running its own calls."""


class Workload(FrozenModel):
    """One kind of sandbox a team's agents request: when, for how long, and how big."""

    name: str = Field(pattern=NAME_PATTERN)
    """Unique name of the workload, used in outputs."""
    team: str = "default"
    """The team that pays for it (line items are split by team)."""
    description: str = ""
    """What the workload is."""
    arrivals: ArrivalSpec
    """When sandboxes are requested."""
    duration: DistributionSpec | None = None
    """How long each sandbox runs once ready; may be omitted when a trace gives durations
    or when the workload is made of sessions."""
    session: SessionSpec | None = None
    """Make each arrival an agent session of tool calls and think gaps instead of a
    one-shot sandbox."""
    shape: Shape
    """vCPU, memory and GPUs per sandbox. With per-request shapes from a trace
    (``arrivals.shapes``) this is the nominal shape, used for launch sizes; a fleet
    places each request with its own shape."""
    template: str | None = None
    """Image or snapshot identity the sandbox starts from (defaults to the workload name)."""
    max_lifetime: DurationS | None = None
    """Stop a sandbox after this long even if its task is not done (recorded as a timeout)."""

    @model_validator(mode="after")
    def _duration_given(self) -> Workload:
        trace = self.arrivals if isinstance(self.arrivals, TraceArrivals) else None
        trace_durations = trace is not None and trace.durations is not None
        if self.session is not None and (self.duration is not None or trace_durations):
            raise ValueError("a session workload takes its durations from session; remove duration")
        if self.session is not None and trace is not None and trace.shapes is not None:
            raise ValueError(
                "a session workload's sandboxes all have its shape; remove arrivals.shapes"
            )
        if self.duration is None and not trace_durations and self.session is None:
            raise ValueError(
                "give a duration distribution (or a session, or a trace with a duration_column"
                " or end_column)"
            )
        if self.max_lifetime is not None and self.max_lifetime <= 0:
            raise ValueError("max_lifetime must be positive")
        if self.duration is not None:
            self.duration.check_plausible("duration")
        if self.session is not None:
            self.session.tool_calls.check_plausible("number of tool calls")
            self.session.call_duration.check_plausible("call duration")
            self.session.think_gap.check_plausible("think gap")
        return self

    @property
    def template_id(self) -> str:
        """The template, defaulting to the workload name."""
        return self.template or self.name


class LaunchRateOverride(FrozenModel):
    """A launch token bucket that replaces the platform's (e.g. a raised limit)."""

    per_second: float = Field(gt=0)
    """Sustained launches per second."""
    burst: int = Field(ge=1)
    """Launches allowed back to back when the bucket is full."""


MAX_HISTOGRAM_BINS = 10_000
"""The most bins a hybrid-histogram pool may keep."""


class PoolSpec(FrozenModel):
    """A warm pool of pre-started sandboxes for one template on one platform."""

    template: str
    """The template the pool holds (a workload's ``template``, or its name if it has none)."""
    policy: Literal["fixed", "keep_alive", "hybrid_histogram", "prewarm_diurnal"] = "fixed"
    """fixed: keep ``size`` idle; keep_alive: keep a finished sandbox ``ttl`` for the next task
    (needs ``reuse``); hybrid_histogram: after each task, pre-warm and keep a sandbox
    from the 5th to the 99th percentile of the template's learned idle times (end of one
    task to the next start), or keep one for ``histogram_range`` while the histogram
    shows no pattern (Shahrad et al., ATC 2020); prewarm_diurnal: size the pool ahead of
    a diurnal profile."""
    size: int = Field(ge=0)
    """fixed: idle sandboxes kept; other policies: the most kept idle at once."""
    refill_per_second: float | None = Field(default=None, gt=0)
    """Pool launches per second (null: as fast as the platform launches)."""
    ttl: PositiveDurationS | None = None
    """An idle pooled sandbox is torn down after this long (keep_alive: the keep-alive time);
    null keeps it until it is used."""
    reuse: int = Field(default=0, ge=0)
    """Times a sandbox returns to the pool after a task; 0 means every task gets a fresh
    sandbox (the secure default)."""
    billed_idle: bool | None = None
    """Whether idle pooled sandboxes are billed; null takes it from the price table's
    ``pools`` (e.g. Lambda bills provisioned concurrency but not environments kept warm
    after a task), or assumes billed where the table says nothing (outputs say so)."""
    lead: DurationS = 300.0
    """prewarm_diurnal: how far ahead of the rate the pool is sized."""
    cover: DurationS | None = None
    """prewarm_diurnal: seconds of requests the pool must cover (default: the platform's
    mean launch latency, the launches in flight by Little's law)."""
    histogram_bin: PositiveDurationS = 60.0
    """hybrid_histogram: bin width of the idle-time histogram (1 minute in the paper)."""
    histogram_range: PositiveDurationS = 4 * 3600.0
    """hybrid_histogram: range of the histogram (4 hours in the paper); at most
    10,000 bins."""

    @model_validator(mode="after")
    def _policy_fields(self) -> PoolSpec:
        if self.policy == "keep_alive" and (self.reuse < 1 or self.ttl is None):
            raise ValueError("keep_alive keeps finished sandboxes: give reuse >= 1 and a ttl")
        bins = self.histogram_range / self.histogram_bin
        if bins < 1 or bins > MAX_HISTOGRAM_BINS:
            raise ValueError(
                f"histogram_range / histogram_bin gives {bins:.3g} bins; keep it between 1 and "
                f"{MAX_HISTOGRAM_BINS:,} (the paper uses 4h / 1m = 240)"
            )
        return self


def _at_most_a_fleet(hosts: int) -> int:
    if hosts > MAX_FLEET_HOSTS:
        raise ValueError(
            f"{hosts:,} hosts is more than a fleet may have (at most {MAX_FLEET_HOSTS:,}, as "
            f"an inventory); give {MAX_FLEET_HOSTS} or fewer"
        )
    return hosts


HostCount = Annotated[Count, AfterValidator(_at_most_a_fleet)]
"""A number of hosts in a fleet: a count, at most MAX_FLEET_HOSTS."""


MIN_AUTOSCALER_INTERVAL_S = 1.0
"""Shortest autoscaler interval taken."""


class Autoscaling(FrozenModel):
    """How a self-hosted fleet grows and shrinks."""

    min_hosts: HostCount = Field(default=0, ge=0)
    """Never fewer hosts than this (they run from the start); at most 100,000."""
    max_hosts: HostCount = Field(default=1000, ge=1)
    """Never more hosts than this; at most 100,000."""
    target_utilisation: float = Field(default=0.8, gt=0, le=1)
    """Add a host when allocated vCPU, memory or GPUs exceed this share of what is running."""
    scale_out_when_waiting: bool = True
    """Add hosts as soon as a sandbox waits for room."""
    boot_time: DistributionSpec = Field(default_factory=lambda: _default_boot())
    """How long a new host takes to join (bare metal boots slowly)."""
    idle_cooldown: PositiveDurationS = 600.0
    """A host left empty this long is released (never below min_hosts)."""
    interval: PositiveDurationS = 30.0
    """How often the autoscaler looks at utilisation (at least a second; cluster
    autoscalers look every 10 s or so)."""

    @model_validator(mode="after")
    def _plausible(self) -> Autoscaling:
        self.boot_time.check_plausible("host boot time")
        if self.interval < MIN_AUTOSCALER_INTERVAL_S:
            raise ValueError(
                f"interval {self.interval:g} s: the autoscaler looks at most once a second "
                "(a shorter interval only slows the run); give 1s or more, e.g. 30s"
            )
        return self


def _default_boot() -> Any:
    from .distributions import LogNormal

    return LogNormal(median=300.0, p95=600.0)


MAX_OVERCOMMIT = 100.0
"""Largest overcommit ratio taken: past it no sandbox gets a share of a vCPU worth having
(a fleet's overcommit, and `sandsim pack --overcommit-vcpu`)."""


class Overcommit(FrozenModel):
    """How much more than a host has may be handed out, per resource."""

    vcpu: float = Field(default=1.0, ge=1, le=MAX_OVERCOMMIT)
    """vCPU overcommit ratio, e.g. 2.0 lets sandboxes be given twice the vCPU the host
    has left after the system's reserve."""
    memory: float = Field(default=1.0, ge=1, le=MAX_OVERCOMMIT)
    """Memory overcommit ratio (above 1 risks sandboxes killed when memory runs out)."""


class SystemReserve(FrozenModel):
    """What each host keeps for its own system (kernel, agent, VMM manager): taken off
    its physical vCPU and memory before overcommit."""

    vcpu: float = Field(default=0.0, ge=0)
    """vCPU kept per host."""
    memory: SizeGiB = 0.0
    """Memory kept per host, e.g. "8GiB"."""


class Fleet(FrozenModel):
    """A self-hosted fleet: what hosts, how sandboxes are placed on them, how it scales."""

    host_prices: str
    """Host price table id (see `sandsim pricing hosts`), e.g. "aws-ec2-us-east-1"."""
    host_type: str | None = None
    """The host type the autoscaler adds, e.g. "m5.metal" or "p4d.24xlarge" (or give an
    ``inventory``)."""
    inventory: Inventory | None = None
    """A fixed set of hosts instead of an autoscaled host type: groups of host types, or
    a cluster's node list from a CSV file. All run for the whole horizon."""
    purchase: Literal[
        "on_demand", "reserved_1y", "reserved_3y", "savings_plan_1y", "savings_plan_3y", "spot"
    ] = "on_demand"
    """How hosts beyond the committed ones are bought: on_demand for an autoscaled fleet
    (commit with committed_hosts, buy spot with spot_share); an inventory, whose hosts run
    the whole horizon, may be reserved or on a savings plan."""
    committed_hosts: HostCount = Field(default=0, ge=0)
    """Hosts bought on a commitment (``commitment``), paid for the whole horizon, busy or
    not; at most 100,000."""
    commitment: Literal["reserved_1y", "reserved_3y", "savings_plan_1y", "savings_plan_3y"] = (
        "reserved_1y"
    )
    """How the committed hosts are bought."""
    spot_share: float = Field(default=0.0, ge=0, le=1)
    """Share of the hosts beyond the committed ones that are spot (interruptible) hosts,
    those started for min_hosts included (an autoscaling group's spot share covers all
    its capacity above its on-demand base): with min_hosts equal to max_hosts, 0.5 makes
    half the group spot, and a spot host taken back is replaced by a spot host."""
    spot_interruptions_per_hour: float = Field(default=0.0, ge=0)
    """Rate at which a spot host is taken back; its sandboxes are lost and retried.
    Required with spot_share above 0 (spot prices without the risk are refused)."""
    spot_max_restarts: Count = Field(default=3, ge=0, le=100)
    """A sandbox lost to spot interruptions more often than this is given up (counted as
    abandoned, and in fleet.given_up_sandboxes)."""
    overcommit: Overcommit = Field(default_factory=Overcommit)
    """Overcommit ratio per resource (e.g. vcpu: 2.0 lets twice the host's vCPU be allocated)."""
    reserved_for_system: SystemReserve = Field(default_factory=SystemReserve)
    """vCPU and memory per host kept for the host's own system."""
    placement: Literal["first_fit", "best_fit", "worst_fit", "dot_product"] = "best_fit"
    """How a sandbox picks its host."""
    taint_gpu_hosts: bool = False
    """Keep sandboxes without GPUs off hosts with GPUs, as a Kubernetes taint on GPU
    nodes does (for an inventory with hosts both with and without GPUs). Off (the
    default), sandboxes without GPUs may take a GPU host's vCPU and memory while GPU
    work waits for them (see docs/packing.md)."""
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    """How the fleet grows and shrinks (not with an inventory)."""

    @model_validator(mode="after")
    def _hosts_given(self) -> Fleet:
        if (self.host_type is None) == (self.inventory is None):
            raise ValueError("give host_type (an autoscaled fleet) or inventory (fixed hosts)")
        if self.inventory is not None:
            # compared with the defaults, not with the fields given: a scenario dumped and
            # validated again (--seed, --replications, sweeps) gives every field
            for name in (
                "autoscaling",
                "committed_hosts",
                "spot_share",
                "spot_interruptions_per_hour",
            ):
                field_info = Fleet.model_fields[name]
                if getattr(self, name) != field_info.get_default(call_default_factory=True):
                    raise ValueError(
                        f"{name} does not apply to an inventory, whose hosts all run for the "
                        f"whole horizon; remove {name} (set purchase for how they are bought)"
                    )
        return self


class PlatformChoice(FrozenModel):
    """A platform to compare: a profile, a price table, and the scenario's overrides."""

    id: str = Field(pattern=NAME_PATTERN)
    """Name of this platform in outputs; defaults to the profile id."""
    profile: str
    """Platform profile id (see `sandsim platforms list`)."""
    price_table: str | None = None
    """Price table id (see `sandsim pricing list`); defaults to the profile's. Not with a
    fleet, which is billed for host time (``fleet.host_prices``)."""
    region: str | None = None
    """Pick the profile's price table for this region (not with a fleet)."""
    plan: str | None = None
    """Vendor plan (e.g. E2B "pro"): sets its limits and adds its monthly fee."""
    quota: int | Literal["unlimited"] | None = None
    """Sandbox concurrency quota replacing the platform's (e.g. a raised limit), or "unlimited"."""
    vcpu_quota: float | Literal["unlimited"] | None = None
    """vCPU concurrency quota replacing the platform's (Fargate and ACI count vCPU), or "unlimited"."""
    gpu_quota: float | Literal["unlimited"] | None = None
    """GPU concurrency quota replacing the platform's or plan's, or "unlimited"."""
    over_quota: OverQuota | None = None
    """What happens over the quota: "queue" or "reject"; defaults to the platform's."""
    queue_timeout: DurationS | Literal["none"] | None = None
    """With queue: how long a request waits before it fails, replacing the platform's; "none" to wait forever."""
    launch_mode: LaunchMode | None = None
    """How sandboxes start: "cold", "snapshot" or "warm"; defaults to the platform's."""
    session_mode: SessionMode | None = None
    """How sessions use the platform: "held" (one sandbox for the whole session, billed
    through think gaps), "pause_resume" (paused in the gaps, resumed for each call) or
    "per_call" (a fresh sandbox or invocation per tool call); defaults to the platform's."""
    launch_rate: LaunchRateOverride | Literal["unlimited"] | None = None
    """Launch rate limit replacing the platform's, or "unlimited"."""
    max_lifetime: DurationS | None = None
    """Maximum sandbox lifetime replacing the platform's."""
    discount: str | float | None = None
    """A named discount from the price table (e.g. "savings_plan_1y"), or a fraction such
    as 0.15 for a negotiated discount on vCPU, memory and GPU."""
    workloads: tuple[str, ...] | None = Field(default=None, min_length=1)
    """Run only these workloads on this platform (default: all; an empty list is refused,
    as it would run nothing)."""
    hosts: int | None = Field(default=None, ge=1, le=MAX_LAUNCH_HOSTS)
    """Launch hosts (or cells) of the platform's launch pipeline, replacing the profile's."""
    fleet: Fleet | None = None
    """Run on your own hosts (with a self-hosted isolation profile such as firecracker,
    gvisor or kata): sandboxes are placed on hosts, the fleet autoscales, and the bill is
    host time instead of per-sandbox rates."""
    pools: tuple[PoolSpec, ...] = ()
    """Warm pools of pre-started sandboxes, by template; launches that find one idle are
    warm hits, the rest launch by ``launch_mode``."""

    def runs(self, workload: str) -> bool:
        """Whether this platform runs the named workload (all, unless it names some)."""
        return self.workloads is None or workload in self.workloads

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "id" not in data and "profile" in data:
            return {**data, "id": data["profile"]}
        return data

    @model_validator(mode="after")
    def _check(self) -> PlatformChoice:
        if isinstance(self.quota, int) and self.quota < 1:
            raise ValueError("quota must be at least 1 (or 'unlimited')")
        for name, value in (("vcpu_quota", self.vcpu_quota), ("gpu_quota", self.gpu_quota)):
            if isinstance(value, float | int) and value <= 0:
                raise ValueError(f"{name} must be positive (or 'unlimited')")
        if isinstance(self.discount, float | int) and not 0 <= self.discount < 1:
            raise ValueError("a discount fraction must be in [0, 1), e.g. 0.15 for 15%")
        if self.max_lifetime is not None and self.max_lifetime <= 0:
            raise ValueError("max_lifetime must be positive")
        return self


class Scenario(FrozenModel):
    """A workload, the platforms to run it on, and how to simulate it."""

    name: str = Field(pattern=NAME_PATTERN)
    """Scenario name, used in outputs."""
    description: str = ""
    """What question the scenario answers, and where its figures come from."""
    horizon: DurationS
    """Simulated time span over which sandboxes are requested, e.g. "1d"."""
    seed: int = Field(default=0, ge=0)
    """Root of the random-number tree; the same seed gives the same results."""
    replications: int = Field(default=10, ge=1)
    """Independent runs; cost bands are quantiles across them."""
    currency: Literal["USD"] = "USD"
    """Currency of all outputs."""
    pricing_dir: str | None = None
    """A folder of your own price tables (negotiated rates), relative to the scenario;
    they add to the bundled tables and replace those with the same id."""
    templates: dict[str, Template] = Field(default_factory=dict)
    """Image and snapshot sizes by template name (workloads name their template); a
    template not listed here gets the defaults."""
    workloads: tuple[Workload, ...] = Field(min_length=1)
    """The sandbox workloads."""
    platforms: tuple[PlatformChoice, ...] = Field(min_length=1)
    """The platforms to compare."""
    forecast: ForecastSpec | None = None
    """A monthly projection of spend (`sandsim forecast`): months, growth, weekday and
    weekend profiles, one-off events."""
    budgets: tuple[Budget, ...] = ()
    """Monthly budgets checked on the forecast (`sandsim guard`); needs ``forecast``."""
    _base_dir: Path = PrivateAttr(default=Path("."))
    _source: Path | None = PrivateAttr(default=None)

    @field_validator("horizon")
    @classmethod
    def _positive_horizon(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("horizon must be positive, e.g. 1d")
        return value

    def cross_check(self, source: str | Path | None) -> Scenario:
        """Checks that span fields (unique names, references between entries), reported
        with the field they concern."""
        problems = []
        for kind, values in (
            ("workloads", [w.name for w in self.workloads]),
            ("platforms", [p.id for p in self.platforms]),
            ("budgets", [b.name for b in self.budgets]),
        ):
            seen: set[str] = set()
            for index, value in enumerate(values):
                if value in seen:
                    problems.append(
                        InputError(
                            f"{value!r} is used twice",
                            source=source,
                            field=f"{kind}[{index}].{'id' if kind == 'platforms' else 'name'}",
                            fix="give each entry its own name (a second entry of one profile needs an id)",
                        )
                    )
                seen.add(value)
        templates = sorted({w.template_id for w in self.workloads})
        problems.extend(
            InputError(
                f"no workload uses template {key!r}",
                source=source,
                field=f"templates.{key}",
                fix=f"name a template of a workload ({', '.join(templates)}), "
                "or set the workload's template to it",
            )
            for key in self.templates
            if key not in templates
        )
        names = [w.name for w in self.workloads]
        for index, platform in enumerate(self.platforms):
            pooled: set[str] = set()
            for p_index, pool in enumerate(platform.pools):
                if pool.template in pooled:
                    problems.append(
                        InputError(
                            f"a second pool for template {pool.template!r}",
                            source=source,
                            field=f"platforms[{index}].pools[{p_index}].template",
                            fix="give each template one pool (merge the two)",
                        )
                    )
                pooled.add(pool.template)
            unknown = sorted(set(platform.workloads or ()) - set(names))
            if unknown:
                problems.append(
                    InputError(
                        f"unknown workloads {unknown}",
                        source=source,
                        field=f"platforms[{index}].workloads",
                        fix=f"use names of workloads: {', '.join(names)}",
                    )
                )
        problems.extend(self._forecast_problems(source))
        if self.pricing_path is not None and not self.pricing_path.is_dir():
            problems.append(
                InputError(
                    f"price table folder {self.pricing_path} not found",
                    source=source,
                    field="pricing_dir",
                    fix="point at a folder of YAML price tables (relative to the scenario file)",
                )
            )
        if problems:
            raise InputErrors(problems)
        return self

    def _forecast_problems(self, source: str | Path | None) -> list[InputError]:
        """References of the forecast and budgets to workloads, teams and platforms."""
        names = [w.name for w in self.workloads]
        teams = sorted({w.team for w in self.workloads})
        ids = [p.id for p in self.platforms]
        problems: list[InputError] = []

        def unknown(field: str, kind: str, value: str, known: list[str]) -> None:
            problems.append(
                InputError(
                    f"unknown {kind} {value!r}",
                    source=source,
                    field=field,
                    fix=f"use one of the scenario's {kind}s: {', '.join(known)}",
                )
            )

        forecast = self.forecast
        if self.budgets and forecast is None:
            problems.append(
                InputError(
                    "budgets are checked on the forecast, and the scenario has none",
                    source=source,
                    field="budgets",
                    fix="add a forecast section with at least its start month, e.g. "
                    "forecast: {start: 2027-01, months: 12}",
                )
            )
        if forecast is not None:
            for name in forecast.workload_growth:
                if name not in names:
                    unknown(f"forecast.workload_growth.{name}", "workload", name, names)
            for index, event in enumerate(forecast.events):
                for name in event.workloads or ():
                    if name not in names:
                        unknown(f"forecast.events[{index}].workloads", "workload", name, names)
                if event.end <= forecast.first_day or event.start >= forecast.end_day:
                    problems.append(
                        InputError(
                            f"event {event.name!r} ({event.start} for {event.days} days) falls "
                            "outside the forecast",
                            source=source,
                            field=f"forecast.events[{index}].start",
                            fix=f"date it between {forecast.first_day} and "
                            f"{forecast.end_day - dt.timedelta(days=1)}, or lengthen the forecast",
                        )
                    )
            for index, workload in enumerate(self.workloads):
                kind = getattr(workload.arrivals, "kind", "")
                if kind not in ("poisson", "diurnal"):
                    problems.append(
                        InputError(
                            f"workload {workload.name!r} has {kind} arrivals, which a monthly "
                            "forecast cannot project",
                            source=source,
                            field=f"workloads[{index}].arrivals",
                            fix="describe its volume with poisson or diurnal arrivals (fit them "
                            "to the trace), and one-off bursts as forecast.events",
                        )
                    )
        for index, budget in enumerate(self.budgets):
            where = f"budgets[{index}]"
            scope = budget.scope
            if scope.platform is not None and scope.platform not in ids:
                unknown(f"{where}.scope.platform", "platform", scope.platform, ids)
            if scope.team is not None and scope.team not in teams:
                unknown(f"{where}.scope.team", "team", scope.team, teams)
            if scope.workload is not None and scope.workload not in names:
                unknown(f"{where}.scope.workload", "workload", scope.workload, names)
            covered = [
                w.name
                for w in self.workloads
                if scope.team in (None, w.team) and scope.workload in (None, w.name)
            ]
            if scope.team in teams and scope.workload in names and not covered:
                problems.append(
                    InputError(
                        f"workload {scope.workload!r} does not belong to team {scope.team!r}",
                        source=source,
                        field=f"{where}.scope",
                        fix="give the workload's own team, or only one of team and workload",
                    )
                )
            platform = next((p for p in self.platforms if p.id == scope.platform), None)
            if (
                platform is not None
                and platform.workloads is not None
                and covered
                and not set(covered) & set(platform.workloads)
            ):
                problems.append(
                    InputError(
                        f"platform {platform.id!r} runs none of the workloads the budget "
                        f"covers ({', '.join(covered)})",
                        source=source,
                        field=f"{where}.scope",
                        fix=f"scope it to what {platform.id} runs: {', '.join(platform.workloads)}",
                    )
                )
        return problems

    def template_of(self, workload: Workload) -> Template:
        """A workload's template sizes (defaults where the scenario lists none)."""
        return self.templates.get(workload.template_id, Template())

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the scenario are read from."""
        return self._base_dir

    @property
    def source(self) -> Path | None:
        """The file the scenario was read from, if any."""
        return self._source

    @property
    def pricing_path(self) -> Path | None:
        """The user's price table folder, resolved."""
        if self.pricing_dir is None:
            return None
        path = Path(self.pricing_dir).expanduser()
        return path if path.is_absolute() else self._base_dir / path

    def resolved_dict(self) -> dict[str, Any]:
        """The scenario with every default filled in, as plain JSON-ready data."""
        return self.model_dump(mode="json", by_alias=True)

    def data_files(self) -> dict[str, str]:
        """SHA-256 of every data file the scenario reads (traces, observed durations)."""
        digests: dict[str, str] = {}
        for workload in self.workloads:
            if isinstance(workload.arrivals, TraceArrivals):
                digests[workload.arrivals.path] = workload.arrivals.digest
            for dist in _walk_distributions(workload.duration):
                if isinstance(dist, Empirical) and dist.path is not None:
                    digests[dist.path] = hashlib.sha256(dist.observations.tobytes()).hexdigest()
        for platform in self.platforms:
            inventory = platform.fleet.inventory if platform.fleet else None
            if inventory is not None and inventory.file is not None:
                digests[inventory.file.path] = inventory.file.digest
        return dict(sorted(digests.items()))

    def content_hash(self) -> str:
        """SHA-256 of the resolved scenario and its data files: two runs with the same hash
        simulated the same thing."""
        payload = {"scenario": self.resolved_dict(), "data_files": self.data_files()}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def with_overrides(self, changes: dict[str, Any], *, flag: str = "override") -> Scenario:
        """A re-validated copy with top-level fields replaced (e.g. seed, replications)."""
        data = {**self.model_dump(mode="python", by_alias=True, exclude_none=True), **changes}
        try:
            updated = Scenario.model_validate(data, context={"base_dir": self._base_dir})
        except ValidationError as error:
            raise errors_from_validation(error, flag) from None
        updated._base_dir, updated._source = self._base_dir, self._source
        return updated.cross_check(flag)

    def served_by(self, platform_id: str) -> list[Workload]:
        """The workloads the platform ``platform_id`` runs, in the scenario's order."""
        choice = next(p for p in self.platforms if p.id == platform_id)
        return [w for w in self.workloads if choice.runs(w.name)]

    def served_label(self, platform_id: str) -> str:
        """The workloads the platform runs, by name (``, ``-joined), or "all"."""
        served = self.served_by(platform_id)
        if len(served) == len(self.workloads):
            return "all"
        return ", ".join(w.name for w in served)

    def platforms_by_workloads(self) -> list[tuple[str, list[str]]]:
        """The platforms grouped by the workloads they run (``served_label``, platform
        ids in the scenario's order): only platforms of one group run the same work, so
        only their costs compare. Groups running more workloads come first."""
        groups: dict[str, list[str]] = {}
        sizes: dict[str, int] = {}
        for platform in self.platforms:
            label = self.served_label(platform.id)
            groups.setdefault(label, []).append(platform.id)
            sizes[label] = len(self.served_by(platform.id))
        return sorted(groups.items(), key=lambda group: -sizes[group[0]])

    def workloads_run_text(self) -> str | None:
        """Which workloads each platform runs, e.g. "a runs every workload; b runs x, y",
        where the platforms run different sets (None where they all run the same)."""
        if len(self.platforms_by_workloads()) == 1:
            return None
        return "; ".join(
            f"{p.id} runs "
            + ("every workload" if self.served_label(p.id) == "all" else self.served_label(p.id))
            for p in self.platforms
        )

    def only_platforms(self, ids: list[str], source: str = "--platform") -> Scenario:
        """A copy keeping only the named platforms, in the order given (an unknown one is
        an error of ``source``, the option that named it)."""
        by_id = {p.id: p for p in self.platforms}
        unknown = [i for i in ids if i not in by_id]
        if unknown:
            raise InputError(
                f"unknown platform {unknown[0]!r} in this scenario",
                source=source,
                fix=f"use one of: {', '.join(by_id)}",
            )
        return self.with_overrides({"platforms": [by_id[i] for i in ids]}, flag=source)


def _walk_distributions(dist: Any) -> list[Any]:
    if dist is None:
        return []
    if isinstance(dist, Mixture):
        return [dist] + [d for c in dist.components for d in _walk_distributions(c.dist)]
    return [dist]


def resolve_scenario_path(name_or_path: str | Path) -> Path:
    """A scenario file by path, or a bundled example by name (e.g. "coding-agent-fleet")."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    bundled = bundled_dir("scenarios")
    for candidate in (bundled / path, bundled / f"{path}.yaml", bundled / path.name):
        if candidate.is_file():
            return candidate
    known = ", ".join(
        str(p.relative_to(bundled).with_suffix("")) for p in sorted(bundled.rglob("*.yaml"))
    )
    raise InputError(
        "scenario file not found",
        source=str(name_or_path),
        fix=f"give a path to a YAML file, or the name of a bundled scenario ({known})",
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read and validate a scenario file (or a bundled scenario by name)."""
    path = resolve_scenario_path(name_or_path)
    scenario = validate_file(Scenario, read_yaml(path), path)
    scenario._base_dir, scenario._source = path.parent, path
    return scenario.cross_check(path)


def scenario_from_dict(data: dict[str, Any], base_dir: str | Path = ".") -> Scenario:
    """Validate a scenario given as a dict (notebooks, tests); paths resolve against ``base_dir``."""
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": Path(base_dir)})
    except ValidationError as error:
        raise errors_from_validation(error, "scenario") from None
    scenario._base_dir = Path(base_dir)
    return scenario.cross_check("scenario")
