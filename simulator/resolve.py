"""Binding a scenario to the catalog: which profile, price table, plan, limits and shapes.

Every cross-reference is checked here, once, with errors that name the scenario field:
unknown profiles or tables, a region without a table, a plan or discount the table does
not have, a shape the platform does not sell, a GPU the table does not price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .arrivals import DiurnalArrivals, PoissonArrivals, TraceArrivals
from .catalog import Catalog, load_catalog
from .engine.model import PlatformModel, PoolModel, TokenBucket
from .errors import InputError, InputErrors
from .fleets import ResolvedFleet, resolve_fleet
from .platforms import LaunchMode, LaunchPath, OverQuota, PlatformProfile, SessionMode
from .pricing import Component, Discount, PriceTable
from .scenario import PlatformChoice, PoolSpec, Scenario, Workload
from .shapes import RoundedShape, ShapeNotAllowed, round_shape


@dataclass(frozen=True)
class DiscountChoice:
    """The discount a platform entry applies, if any."""

    name: str
    fraction: float
    applies_to: tuple[Component, ...]
    source: str


NO_DISCOUNT = DiscountChoice("none", 0.0, (), "")


@dataclass(frozen=True)
class ResolvedPlatform:
    """A platform entry of the scenario with everything it refers to looked up."""

    choice: PlatformChoice
    profile: PlatformProfile
    price_table: PriceTable
    plan: str | None
    plan_fee_usd_per_month: float
    plan_credit_usd_per_month: float
    quota: int | None
    vcpu_quota: float | None
    gpu_quota: float | None
    over_quota: OverQuota
    queue_timeout_s: float | None
    launch_rate: TokenBucket | None
    launch_mode: LaunchMode
    session_mode: SessionMode
    max_lifetime_s: float | None
    discount: DiscountChoice
    workload_indices: tuple[int, ...]
    """Indices of the scenario workloads this platform runs."""
    shapes: tuple[RoundedShape | None, ...]
    """Rounded shape per scenario workload (None for workloads it does not run)."""
    fleet: ResolvedFleet | None = None
    """The self-hosted fleet the platform runs on (None: managed, or priced by allocation)."""

    @property
    def id(self) -> str:
        """The platform's id in this scenario."""
        return self.choice.id

    @property
    def priced_by(self) -> str:
        """The price table its bill comes from: ``hosts:<host table>`` for a fleet (billed
        by host time; its per-sandbox table is not used), else the price table's id."""
        if self.fleet is not None:
            return f"hosts:{self.fleet.table.id}"
        return self.price_table.id

    @property
    def launch_path(self) -> LaunchPath:
        """Launch parts of the chosen mode."""
        return self.profile.launch[self.launch_mode]

    def pool_billed_idle(self, spec: PoolSpec) -> tuple[bool, bool]:
        """Whether a pool's idle time is billed, and whether that is an assumption: the
        scenario's ``billed_idle``, else the price table's ``pools`` (keep-alive or
        pre-started), else assumed billed."""
        if spec.billed_idle is not None:
            return spec.billed_idle, False
        pools = self.price_table.pools
        if pools is None:
            return True, True
        billed = pools.keep_alive_billed if spec.policy == "keep_alive" else pools.billed
        return billed, pools.assumed

    def _pool_model(self, scenario: Scenario, spec: PoolSpec) -> PoolModel:
        """The engine's view of a pool: its workloads' index and rates, and defaults filled in."""
        served = [scenario.workloads[i] for i in self.workload_indices]
        matching = [w for w in served if w.template_id == spec.template]
        names = [w.name for w in scenario.workloads]
        return PoolModel(
            template=spec.template,
            workload_index=names.index(matching[0].name),
            policy=spec.policy,
            size=spec.size,
            refill_per_second=spec.refill_per_second,
            ttl_s=spec.ttl,
            reuse=spec.reuse,
            billed_idle=self.pool_billed_idle(spec)[0],
            histogram_bin_s=spec.histogram_bin,
            histogram_range_s=spec.histogram_range,
            hourly_rate_per_s=_hourly_rates(matching),
            lead_s=spec.lead,
            cover_s=spec.cover if spec.cover is not None else self.launch_path.mean_s,
        )

    def engine_model(self, scenario: Scenario) -> PlatformModel:
        """The engine's view: limits and launch behaviour, no prices."""
        caps = []
        for workload in scenario.workloads:
            limits = [x for x in (self.max_lifetime_s, workload.max_lifetime) if x is not None]
            caps.append(min(limits) if limits else math.inf)
        return PlatformModel(
            platform_id=self.id,
            quota=self.quota,
            vcpu_quota=self.vcpu_quota,
            gpu_quota=self.gpu_quota,
            over_quota=self.over_quota,
            queue_timeout_s=self.queue_timeout_s,
            launch_rate=self.launch_rate,
            launch_mode=self.launch_mode,
            launch_path=self.launch_path,
            lifetime_cap_s=tuple(caps),
            vcpu_per_workload=tuple(shape.vcpu if shape else 0.0 for shape in self.shapes),
            gpu_per_workload=tuple(
                float(shape.gpu_count) if shape else 0.0 for shape in self.shapes
            ),
            session_mode=self.session_mode,
            resume_path=self.profile.launch.get("resume"),
            pipeline=(
                None  # a fleet's launches are placed by the fleet, one host each
                if self.fleet is not None
                else self.profile.pipeline.model_copy(update={"hosts": self.choice.hosts})
                if self.profile.pipeline is not None and self.choice.hosts is not None
                else self.profile.pipeline
            ),
            pools=tuple(self._pool_model(scenario, spec) for spec in self.choice.pools),
            warm_path=self.profile.launch.get("warm"),
            template_per_workload=tuple(w.template_id for w in scenario.workloads),
            image_gib_per_workload=tuple(
                scenario.template_of(w).image_size for w in scenario.workloads
            ),
            snapshot_gib_per_workload=tuple(
                scenario.template_of(w).snapshot_size
                or (shape.memory_gib if shape else w.shape.memory)
                for w, shape in zip(scenario.workloads, self.shapes, strict=True)
            ),
            fleet=self.fleet.model() if self.fleet is not None else None,
            pause_s_per_workload=tuple(
                self.profile.pause.per_gib * shape.memory_gib
                if self.profile.pause and shape
                else 0.0
                for shape in self.shapes
            ),
        )


def _limit(scenario: Any, plan: Any, profile: Any) -> Any:
    """A limit in force: the scenario's override ("unlimited" lifts it), else the plan's,
    else the profile's."""
    if scenario == "unlimited":
        return None
    if scenario is not None:
        return scenario
    return plan if plan is not None else profile


def _hourly_rates(workloads: list[Workload]) -> tuple[float, ...]:
    """Request rate per second in each hour of the day, summed over workloads."""
    rates = np.zeros(24)
    for workload in workloads:
        arrivals = workload.arrivals
        if isinstance(arrivals, DiurnalArrivals):
            rates += arrivals.per_day * arrivals.hourly_share / 3600.0
        elif isinstance(arrivals, PoissonArrivals):
            rates += arrivals.rate_per_s
    return tuple(float(r) for r in rates)


def _pick_table(
    choice: PlatformChoice,
    profile: PlatformProfile,
    catalog: Catalog,
    field: str,
    source: str | None,
) -> PriceTable:
    if choice.price_table is not None:
        table = catalog.price_table(
            choice.price_table, source=source, field_name=f"{field}.price_table"
        )
        if table.offering != profile.id:
            raise InputError(
                f"price table {table.id!r} prices {table.offering!r}, not {profile.id!r}",
                source=source,
                field=f"{field}.price_table",
                fix=f"use a table of {profile.id}: {', '.join(t.id for t in catalog.tables_for(profile.id))}",
            )
        if choice.region is not None and table.region != choice.region:
            raise InputError(
                f"price table {table.id!r} is for region {table.region!r}, not {choice.region!r}",
                source=source,
                field=f"{field}.region",
                fix="drop region, or drop price_table to pick the region's table",
            )
        return table
    if choice.region is not None:
        tables = [t for t in catalog.tables_for(profile.id) if t.region == choice.region]
        if not tables:
            regions = sorted({t.region for t in catalog.tables_for(profile.id)})
            raise InputError(
                f"no price table of {profile.id!r} for region {choice.region!r}",
                source=source,
                field=f"{field}.region",
                fix=f"use one of the priced regions {regions}, or add a table with pricing_dir",
            )
        default = [t for t in tables if t.id == profile.default_price_table]
        return (default or sorted(tables, key=lambda t: t.id))[0]
    return catalog.price_table(
        profile.default_price_table, source=source, field_name=f"{field}.profile"
    )


def _pick_discount(
    choice: PlatformChoice, table: PriceTable, field: str, source: str | None
) -> DiscountChoice:
    if choice.discount is None:
        return NO_DISCOUNT
    if isinstance(choice.discount, str):
        found: Discount | None = table.discounts.get(choice.discount)
        if found is None:
            raise InputError(
                f"price table {table.id!r} has no discount {choice.discount!r}",
                source=source,
                field=f"{field}.discount",
                fix=f"use one of {sorted(table.discounts)} or a fraction such as 0.15",
            )
        return DiscountChoice(choice.discount, found.fraction, found.applies_to, found.source)
    return DiscountChoice(
        "scenario", float(choice.discount), ("vcpu", "memory", "gpu"), "set in the scenario"
    )


def resolve_platform(scenario: Scenario, index: int, catalog: Catalog) -> ResolvedPlatform:
    """Look up and check everything one platform entry refers to."""
    choice = scenario.platforms[index]
    field = f"platforms[{index}]"
    source = str(scenario.source) if scenario.source else "scenario"
    profile = catalog.profile(choice.profile, source=source, field_name=f"{field}.profile")
    table = _pick_table(choice, profile, catalog, field, source)

    plan = choice.plan or profile.default_plan
    if plan is not None and plan not in profile.plans:
        raise InputError(
            f"{profile.id} has no plan {plan!r}",
            source=source,
            field=f"{field}.plan",
            fix=f"use one of {sorted(profile.plans)}" if profile.plans else "remove plan",
        )
    limits = profile.plans.get(plan) if plan else None
    fee = credit = 0.0
    if choice.plan is not None and choice.plan in table.plans:
        # fees and credits apply only when the scenario names the plan (opts in)
        fee = table.plans[choice.plan].monthly_usd
        credit = table.plans[choice.plan].monthly_credit_usd

    quota = _limit(choice.quota, limits.concurrency if limits else None, profile.quota.concurrency)
    vcpu_quota = _limit(choice.vcpu_quota, None, profile.quota.vcpu)
    gpu_quota = _limit(choice.gpu_quota, limits.gpu if limits else None, profile.quota.gpu)
    bucket = _limit(choice.launch_rate, limits.launch_rate if limits else None, profile.launch_rate)
    rate = TokenBucket(bucket.per_second, bucket.burst) if bucket is not None else None

    session_mode = choice.session_mode or profile.default_session_mode
    if session_mode not in profile.session_modes:
        raise InputError(
            f"{profile.id} cannot serve sessions as {session_mode!r}",
            source=source,
            field=f"{field}.session_mode",
            fix=f"use one of {list(profile.session_modes)}",
        )
    mode = choice.launch_mode or profile.default_launch_mode
    if mode not in profile.launch:
        raise InputError(
            f"{profile.id} has no {mode!r} launch mode",
            source=source,
            field=f"{field}.launch_mode",
            fix=f"use one of {sorted(profile.launch)}",
        )

    if choice.max_lifetime is not None:
        lifetime: float | None = choice.max_lifetime
    elif limits is not None and limits.max_lifetime is not None:
        lifetime = limits.max_lifetime
    else:
        lifetime = profile.max_lifetime.max if profile.max_lifetime else None

    names = [w.name for w in scenario.workloads]
    indices = (
        tuple(names.index(n) for n in choice.workloads)
        if choice.workloads
        else tuple(range(len(names)))
    )
    shapes: list[RoundedShape | None] = [None] * len(names)
    problems: list[InputError] = []
    for w_index in indices:
        workload = scenario.workloads[w_index]
        gpu = workload.shape.gpu
        try:
            shape = round_shape(
                profile.shapes,
                profile.gpus,
                workload.shape.vcpu,
                workload.shape.memory,
                gpu.type if gpu else None,
                gpu.count if gpu else 0,
            )
        except ShapeNotAllowed as error:
            problems.append(
                InputError(
                    f"{profile.name} cannot run this shape: {error}",
                    source=source,
                    field=f"workloads[{w_index}].shape",
                    fix=f"reduce the shape, or list the workloads {profile.id} should run in {field}.workloads",
                )
            )
            continue
        if shape.gpu_type is not None and shape.gpu_type not in table.gpu and not choice.fleet:
            problems.append(
                InputError(
                    f"price table {table.id!r} has no rate for GPU {shape.gpu_type!r}",
                    source=source,
                    field=f"{field}.price_table",
                    fix=f"choose a table of {profile.id} that prices {shape.gpu_type!r} "
                    f"({', '.join(t.id for t in catalog.tables_for(profile.id) if shape.gpu_type in t.gpu) or 'none bundled'})",
                )
            )
            continue
        shapes[w_index] = shape
    for w_index in indices:
        rounded = shapes[w_index]
        for name, need, limit in (
            ("vCPU", rounded.vcpu if rounded else 0.0, vcpu_quota),
            ("GPU", rounded.gpu_count if rounded else 0, gpu_quota),
        ):
            if limit is not None and need > limit:
                problems.append(
                    InputError(
                        f"one sandbox of workload {scenario.workloads[w_index].name!r} needs "
                        f"{need:g} {name} but the {name} quota is {limit:g}",
                        source=source,
                        field=f"{field}.{name.lower()}_quota",
                        fix=f"raise {name.lower()}_quota (request a quota increase) or shrink the shape",
                    )
                )
    served_templates = {scenario.workloads[i].template_id: scenario.workloads[i] for i in indices}
    for p_index, spec in enumerate(choice.pools):
        where = f"{field}.pools[{p_index}]"
        if spec.template not in served_templates:
            problems.append(
                InputError(
                    f"no workload on this platform uses template {spec.template!r}",
                    source=source,
                    field=f"{where}.template",
                    fix=f"use one of {sorted(served_templates)}",
                )
            )
            continue
        if "warm" not in profile.launch:
            problems.append(
                InputError(
                    f"{profile.id} publishes no way to hand over a pre-started sandbox",
                    source=source,
                    field=where,
                    fix="remove the pool, or use a platform with warm launches",
                )
            )
        if spec.policy == "prewarm_diurnal" and not any(
            isinstance(w.arrivals, DiurnalArrivals | PoissonArrivals)
            for w in (scenario.workloads[i] for i in indices)
            if w.template_id == spec.template
        ):
            problems.append(
                InputError(
                    "prewarm_diurnal needs diurnal or poisson arrivals to size the pool ahead",
                    source=source,
                    field=f"{where}.policy",
                    fix="use fixed, keep_alive or hybrid_histogram for bursts and traces",
                )
            )
    if choice.hosts is not None and profile.pipeline is None:
        problems.append(
            InputError(
                f"{profile.id} has no launch pipeline whose hosts could be set",
                source=source,
                field=f"{field}.hosts",
                fix="remove hosts, or use a platform whose profile describes a launch pipeline",
            )
        )
    if choice.pools and (choice.launch_mode or profile.default_launch_mode) == "warm":
        problems.append(
            InputError(
                "with pools, launch_mode is how a launch that misses the pool starts",
                source=source,
                field=f"{field}.launch_mode",
                fix="use cold or snapshot",
            )
        )
    if choice.fleet is None:
        for w_index in indices:
            arrivals = scenario.workloads[w_index].arrivals
            if isinstance(arrivals, TraceArrivals) and arrivals.shapes is not None:
                problems.append(
                    InputError(
                        f"{profile.name} bills every sandbox of a workload at one shape, but "
                        f"workload {scenario.workloads[w_index].name!r} replays per-request "
                        "shapes from its trace",
                        source=source,
                        field=f"{field}.workloads",
                        fix="run trace-shaped workloads on a self-hosted fleet only (list the "
                        "other workloads in workloads), or remove arrivals.shapes",
                    )
                )
    if problems:
        raise InputErrors(problems)
    fleet = (
        resolve_fleet(scenario, choice, profile, tuple(shapes), catalog, field)
        if choice.fleet is not None
        else None
    )

    return ResolvedPlatform(
        choice=choice,
        profile=profile,
        price_table=table,
        plan=plan,
        plan_fee_usd_per_month=fee,
        plan_credit_usd_per_month=credit,
        quota=quota,
        vcpu_quota=vcpu_quota,
        gpu_quota=gpu_quota,
        over_quota=choice.over_quota or profile.quota.over_quota,
        queue_timeout_s=profile.quota.queue_timeout
        if choice.queue_timeout is None
        else (None if choice.queue_timeout == "none" else choice.queue_timeout),
        launch_rate=rate,
        launch_mode=mode,
        session_mode=session_mode,
        max_lifetime_s=lifetime,
        discount=_pick_discount(choice, table, field, source),
        workload_indices=indices,
        shapes=tuple(shapes),
        fleet=fleet,
    )


def scenario_catalog(scenario: Scenario, extra_pricing_dirs: tuple[str, ...] = ()) -> Catalog:
    """The catalog a scenario runs against: bundled data, the scenario's pricing_dir, and
    folders given on the command line (later ones win)."""
    from pathlib import Path

    dirs = [p for p in (scenario.pricing_path,) if p is not None]
    dirs += [Path(d) for d in extra_pricing_dirs]
    return load_catalog(dirs)


def resolve_platforms(scenario: Scenario, catalog: Catalog) -> list[ResolvedPlatform]:
    """Resolve every platform entry, reporting all problems at once."""
    resolved, problems = [], []
    for index in range(len(scenario.platforms)):
        try:
            resolved.append(resolve_platform(scenario, index, catalog))
        except InputErrors as errors:
            problems.extend(errors.errors)
        except InputError as error:
            problems.append(error)
    if problems:
        raise InputErrors(problems)
    return resolved
