"""Resolve a scenario's self-hosted fleet: host type and prices, room per host, what each
sandbox takes, and every check that a fleet can run the workloads it is given."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from typing import Literal

import numpy as np
import numpy.typing as npt

from .arrivals import TraceArrivals
from .catalog import Catalog
from .distributions import FloatArray
from .engine.fleet import FleetModel, HostKindModel
from .errors import InputError
from .gpus import MIG_PROFILES, GpuNeed, mig_profile
from .hosts import HostPriceTable, Purchase
from .platforms import PlatformProfile
from .scenario import Fleet, GpuRequest, PlatformChoice, Scenario
from .shapes import RoundedShape
from .units import HOUR_S

GpuKind = Literal["whole", "mig", "share"]


@dataclass(frozen=True)
class HostKind:
    """One kind of host in a fleet: its size, the room it offers sandboxes, its prices."""

    name: str
    vcpu: float
    memory_gib: float
    gpus: int
    gpu_type: str | None
    capacity: tuple[float, float]
    """vCPU and GiB a host offers sandboxes (after overcommit and the system's reserve)."""
    usd_per_hour: dict[str, float]
    """Price of one host for an hour, by purchase; empty when the host is unpriced."""
    assumed_prices: frozenset[str] = frozenset()
    """Purchases whose price is an assumption."""

    def usd_per_second(self, purchase: Purchase) -> float:
        """Price of one host for a second bought as ``purchase`` (0 when unpriced)."""
        return self.usd_per_hour.get(purchase, 0.0) / HOUR_S

    @property
    def priced(self) -> bool:
        """Whether the host has prices."""
        return bool(self.usd_per_hour)


@dataclass(frozen=True)
class ResolvedFleet:
    """A fleet with its host kinds and prices looked up, and what each sandbox takes.

    Sandboxes fall in shape classes: class ``w`` is workload ``w``'s shape; workloads
    that replay per-request shapes from a trace add a class per distinct shape.
    """

    spec: Fleet
    table: HostPriceTable
    kinds: tuple[HostKind, ...]
    """Kinds of host: the one the autoscaler adds, or those of the inventory."""
    inventory: tuple[int, ...]
    """Kind of each fixed host (empty for an autoscaled fleet)."""
    demand_per_class: tuple[tuple[float, float], ...]
    """vCPU and GiB one sandbox of each class takes on a host (shape plus overhead)."""
    gpu_need_per_class: tuple[GpuNeed, ...]
    gpu_units_per_class: tuple[float, ...]
    """GPUs one sandbox holds: its count, a MIG instance's compute share, or its share."""
    gpu_suffix_per_class: tuple[str | None, ...]
    """Line-item suffix of each class's GPU ("" whole GPUs, ":share", ":mig-3g.20gb";
    None without GPU); the item is "gpu:<host's GPU type><suffix>"."""
    gpu_type_per_class: tuple[str | None, ...]
    """The GPU type a class must run on (None: any)."""
    class_of_trace_row: tuple[npt.NDArray[np.int64] | None, ...]
    """Per workload with trace shapes: the class of each trace row (in time order)."""

    @property
    def capacity(self) -> tuple[float, float]:
        """Room of the first kind of host (the only one of an autoscaled fleet)."""
        return self.kinds[0].capacity

    @property
    def fixed(self) -> bool:
        """Whether the fleet is a fixed inventory."""
        return bool(self.inventory)

    @property
    def label(self) -> str:
        """What the fleet is made of, for messages and line items."""
        if self.spec.host_type is not None:
            return self.spec.host_type
        return self.kinds[0].name if len(self.kinds) == 1 else "inventory"

    def usd_per_host_hour(self, purchase: Purchase, kind: int = 0) -> float:
        """Price of one host of a kind for an hour, bought as ``purchase``."""
        return self.kinds[kind].usd_per_hour.get(purchase, 0.0)

    def model(self) -> FleetModel:
        """The engine's view of the fleet."""
        spec = self.spec
        scaling = spec.autoscaling
        hosts = len(self.inventory)
        return FleetModel(
            host_type=self.label,
            capacity=self.capacity,
            gpus=self.kinds[0].gpus,
            placement=spec.placement,
            min_hosts=hosts or scaling.min_hosts,
            max_hosts=hosts or scaling.max_hosts,
            target_utilisation=scaling.target_utilisation,
            scale_out_when_waiting=scaling.scale_out_when_waiting and not hosts,
            boot_time=scaling.boot_time,
            idle_cooldown_s=scaling.idle_cooldown,
            interval_s=scaling.interval,
            committed_hosts=spec.committed_hosts,
            spot_share=spec.spot_share,
            spot_interruptions_per_s=spec.spot_interruptions_per_hour / HOUR_S,
            spot_max_restarts=spec.spot_max_restarts,
            demand_per_class=self.demand_per_class,
            gpu_need_per_class=self.gpu_need_per_class,
            kinds=tuple(HostKindModel(k.name, k.capacity, k.gpus, k.gpu_type) for k in self.kinds),
            inventory=self.inventory,
            gpu_type_per_class=self.gpu_type_per_class,
            class_of_trace_row=self.class_of_trace_row,
            purchase=spec.purchase,
            taint_gpu_hosts=spec.taint_gpu_hosts,
        )


NOT_FOR_FLEETS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("quota", "vcpu_quota", "gpu_quota", "launch_rate", "hosts"),
        "its capacity is its hosts",
        ", and size the fleet with fleet.autoscaling.max_hosts",
    ),
    (  # a sandbox waits for room on a host until it gets it: neither is modelled
        ("over_quota", "queue_timeout"),
        "a sandbox waits for room on a host until it gets it (the wait shows as "
        "fleet.wait_for_capacity_s)",
        "; to wait less, raise fleet.autoscaling.max_hosts or min_hosts, or boot hosts faster",
    ),
    (  # the profile's per-second table prices it without a fleet; a fleet pays host time
        ("price_table", "region"),
        "it is billed for its hosts' time at the prices of fleet.host_prices",
        ", and choose the hosts' price table with fleet.host_prices",
    ),
)
"""Platform fields a fleet refuses: the fields, why, and what to do instead of setting
them (after "remove <field>")."""


def resolve_fleet(
    scenario: Scenario,
    choice: PlatformChoice,
    profile: PlatformProfile,
    shapes: tuple[RoundedShape | None, ...],
    catalog: Catalog,
    field: str,
) -> ResolvedFleet:
    """Check a platform's fleet against its profile, host table and workloads."""
    spec = choice.fleet
    assert spec is not None
    source = str(scenario.source) if scenario.source else "scenario"
    where = f"{field}.fleet"

    def error(message: str, at: str, fix: str) -> InputError:
        # an error at a workload names the platform too: each fleet checks the workloads
        if not at.startswith(field):
            message = f"on platform {choice.id}: {message}"
        return InputError(message, source=source, field=at, fix=fix)

    if not profile.self_hosted:
        raise error(
            f"{profile.id} is a managed platform: its capacity is the vendor's",
            where,
            "remove fleet, or use a self-hosted profile ("
            + ", ".join(sorted(p.id for p in catalog.profiles.values() if p.self_hosted))
            + ")",
        )
    for names, why, instead in NOT_FOR_FLEETS:
        for name in names:
            if getattr(choice, name) is not None:
                raise error(
                    f"{name} does not apply to a fleet: {why}",
                    f"{field}.{name}",
                    f"remove {name}{instead}",
                )
    if isinstance(choice.discount, str):
        raise error(
            "a fleet's hosts are priced by how they are bought, not by a named discount",
            f"{field}.discount",
            "set fleet.purchase or fleet.committed_hosts, or give a negotiated fraction such as 0.1",
        )
    if choice.pools:
        raise error(
            "warm pools on a self-hosted fleet are not modelled",
            f"{field}.pools",
            "remove pools (a fleet's launches are the isolation profile's own)",
        )
    if spec.purchase == "spot":
        raise error(
            "purchase: spot would price every host at spot without the risk of losing it",
            f"{where}.purchase",
            "buy spot hosts with spot_share (e.g. 1.0 for all hosts beyond the committed "
            "ones) and give spot_interruptions_per_hour",
        )
    if spec.spot_share > 0 and spec.spot_interruptions_per_hour == 0:
        raise error(
            f"spot_share {spec.spot_share:g} makes hosts spot but no "
            "spot_interruptions_per_hour is given: they would be priced at spot without "
            "the risk of losing them",
            f"{where}.spot_share",
            "give spot_interruptions_per_hour (how often an hour the provider takes a spot "
            "host back), or remove spot_share",
        )
    if spec.inventory is None and spec.purchase != "on_demand":
        raise error(
            f"purchase: {spec.purchase} would price hosts that come and go at a commitment's "
            "rate, paid only while they live",
            f"{where}.purchase",
            "commit to hosts with committed_hosts and commitment (paid for the whole horizon); "
            "the autoscaled rest are on demand (or spot with spot_share)",
        )
    table = catalog.host_table(spec.host_prices, source=source, field_name=f"{where}.host_prices")
    kinds, inventory = _host_kinds(spec, table, where, error)
    if spec.taint_gpu_hosts and (all(k.gpus for k in kinds) or not any(k.gpus for k in kinds)):
        raise error(
            "taint_gpu_hosts keeps sandboxes without GPUs off hosts with GPUs where the fleet "
            "has hosts without GPUs too, but "
            + ("its hosts all have GPUs" if kinds[0].gpus else "none of its hosts has GPUs"),
            f"{where}.taint_gpu_hosts",
            "remove taint_gpu_hosts, or give an inventory of hosts with and without GPUs",
        )
    if spec.spot_interruptions_per_hour > 0 and spec.spot_share == 0:
        raise error(
            "spot interruptions are given but no host is spot",
            f"{where}.spot_interruptions_per_hour",
            "set spot_share above 0, or remove spot_interruptions_per_hour",
        )
    scaling = spec.autoscaling
    if not inventory and (
        scaling.min_hosts > scaling.max_hosts or spec.committed_hosts > scaling.max_hosts
    ):
        raise error(
            "min_hosts and committed_hosts must not exceed max_hosts",
            f"{where}.autoscaling.max_hosts",
            f"raise max_hosts to at least {max(scaling.min_hosts, spec.committed_hosts)}",
        )
    overhead = profile.overhead
    extra = (overhead.vcpu, overhead.memory) if overhead else (0.0, 0.0)
    classes = _Classes()
    for w_index, workload in enumerate(scenario.workloads):
        shape = shapes[w_index]
        if shape is None:
            classes.add((0.0, 0.0), GpuNeed(), 0.0, None, None)
            continue
        at = f"workloads[{w_index}].shape"
        request = workload.shape.gpu
        need, unit, suffix, gpu_type = GpuNeed(), 0.0, None, None
        if request is not None:
            need, unit, suffix = _gpu_need(request, kinds, profile, spec, at, where, error)
            gpu_type = request.type
        demand = (shape.vcpu + extra[0], shape.memory_gib + extra[1])
        classes.add(demand, need, unit, suffix, gpu_type)
        _check_fits(
            demand,
            need,
            gpu_type,
            kinds,
            f"one sandbox of {workload.name!r}",
            at,
            spec,
            profile,
            error,
        )
    row_classes: list[npt.NDArray[np.int64] | None] = [None] * len(scenario.workloads)
    for w_index, workload in enumerate(scenario.workloads):
        arrivals = workload.arrivals
        rows = arrivals.shape_rows if isinstance(arrivals, TraceArrivals) else None
        if rows is None or shapes[w_index] is None:
            continue
        at = f"workloads[{w_index}].arrivals.shapes"
        _check_trace_gpus(rows, kinds, profile, at, error)
        with_overhead = rows + np.array([extra[0], extra[1], 0.0, 0.0])
        distinct, inverse = np.unique(with_overhead, axis=0, return_inverse=True)
        first = len(classes.demand)
        for vcpu, gib, whole, share in distinct:
            need = GpuNeed(share=float(share)) if share > 0 else GpuNeed(whole=int(whole))
            suffix = None if need.none else (":share" if share > 0 else "")
            classes.add((float(vcpu), float(gib)), need, need.units, suffix, None)
            _check_fits(
                (float(vcpu), float(gib)),
                need,
                None,
                kinds,
                f"a request of {workload.name!r} in the trace",
                at,
                spec,
                profile,
                error,
            )
        row_classes[w_index] = (np.asarray(inverse).reshape(-1) + first).astype(np.int64)
    return ResolvedFleet(
        spec=spec,
        table=table,
        kinds=kinds,
        inventory=inventory,
        demand_per_class=tuple(classes.demand),
        gpu_need_per_class=tuple(classes.need),
        gpu_units_per_class=tuple(classes.units),
        gpu_suffix_per_class=tuple(classes.suffix),
        gpu_type_per_class=tuple(classes.gpu_type),
        class_of_trace_row=tuple(row_classes),
    )


@dataclass
class _Classes:
    """Shape classes as they are found."""

    demand: list[tuple[float, float]] = dc_field(default_factory=list)
    need: list[GpuNeed] = dc_field(default_factory=list)
    units: list[float] = dc_field(default_factory=list)
    suffix: list[str | None] = dc_field(default_factory=list)
    gpu_type: list[str | None] = dc_field(default_factory=list)

    def add(
        self,
        demand: tuple[float, float],
        need: GpuNeed,
        units: float,
        suffix: str | None,
        gpu_type: str | None,
    ) -> None:
        self.demand.append(demand)
        self.need.append(need)
        self.units.append(units)
        self.suffix.append(suffix)
        self.gpu_type.append(gpu_type)


def _host_kinds(
    spec: Fleet,
    table: HostPriceTable,
    where: str,
    error: Callable[[str, str, str], InputError],
) -> tuple[tuple[HostKind, ...], tuple[int, ...]]:
    """The kinds of host of a fleet, and the kind of each fixed host (none if autoscaled)."""
    bought = [("purchase", spec.purchase)]
    if spec.committed_hosts:
        bought.append(("commitment", spec.commitment))
    if spec.spot_share > 0:
        bought.append(("spot_share", "spot"))

    def from_table(host_type: str, at: str) -> HostKind:
        if host_type not in table.hosts:
            raise error(
                f"host price table {table.id!r} has no host type {host_type!r}",
                at,
                f"use one of {sorted(table.hosts)}",
            )
        host = table.hosts[host_type]
        for name, purchase in bought:
            if purchase not in host.prices:
                raise error(
                    f"{host_type} has no {purchase} price in {table.id}",
                    f"{where}.{name}",
                    f"use one of {sorted(host.prices)}, or add the price to the table",
                )
        return _kind(
            spec,
            host_type,
            host.vcpu,
            host.memory,
            host.gpus,
            host.gpu_type,
            {str(p): rate.usd_per_second * HOUR_S for p, rate in host.prices.items()},
            frozenset(str(p) for p, rate in host.prices.items() if rate.assumed),
            at,
            error,
        )

    inventory = spec.inventory
    if inventory is None:
        assert spec.host_type is not None
        return (from_table(spec.host_type, f"{where}.host_type"),), ()
    kinds: list[HostKind] = []
    hosts: list[int] = []
    if inventory.groups:
        kind_of_type: dict[str, int] = {}  # groups of one host type are one kind
        for g_index, group in enumerate(inventory.groups):
            if group.host_type not in kind_of_type:
                kind_of_type[group.host_type] = len(kinds)
                kinds.append(
                    from_table(group.host_type, f"{where}.inventory.groups[{g_index}].host_type")
                )
            hosts += [kind_of_type[group.host_type]] * group.count
        return tuple(kinds), tuple(hosts)
    assert inventory.file is not None
    index: dict[tuple[float, float, int, str | None, float], int] = {}
    for vcpu, gib, gpus, gpu_type, usd in inventory.file.rows:
        key = (vcpu, gib, gpus, gpu_type, usd if math.isfinite(usd) else -1.0)  # NaN != NaN
        if key not in index:
            index[key] = len(kinds)
            name = f"{vcpu:g}vcpu-{gib:g}gib" + (f"-{gpus}x{gpu_type or 'gpu'}" if gpus else "")
            priced: dict[str, float] = {str(spec.purchase): usd} if math.isfinite(usd) else {}
            kinds.append(
                _kind(
                    spec,
                    name,
                    vcpu,
                    gib,
                    gpus,
                    gpu_type or ("gpu" if gpus else None),
                    priced,
                    frozenset(),
                    f"{where}.inventory.file",
                    error,
                )
            )
        hosts.append(index[key])
    return _named_apart(kinds), tuple(hosts)


def _named_apart(kinds: list[HostKind]) -> tuple[HostKind, ...]:
    """An inventory file's kinds, those that share a name (hosts alike but for their
    price) named with their price too, so that counts and line items keep them apart
    (and numbered, should prices differ beyond the digits shown)."""
    names = Counter(kind.name for kind in kinds)
    priced = [
        kind if names[kind.name] == 1 else replace(kind, name=f"{kind.name}-{_price_label(kind)}")
        for kind in kinds
    ]
    again = Counter(kind.name for kind in priced)
    seen: Counter[str] = Counter()
    named = []
    for kind in priced:
        seen[kind.name] += 1
        if again[kind.name] > 1:
            kind = replace(kind, name=f"{kind.name}-{seen[kind.name]}")
        named.append(kind)
    return tuple(named)


def _price_label(kind: HostKind) -> str:
    """A kind's price as part of its name: USD an hour, or that it has none."""
    prices = list(kind.usd_per_hour.values())
    return f"{prices[0]:.6g}usd-per-hour" if prices else "unpriced"


def _kind(
    spec: Fleet,
    name: str,
    vcpu: float,
    memory_gib: float,
    gpus: int,
    gpu_type: str | None,
    usd_per_hour: dict[str, float],
    assumed: frozenset[str],
    at: str,
    error: Callable[[str, str, str], InputError],
) -> HostKind:
    """A kind of host with its room for sandboxes, checked to leave some."""
    # the reserve is the host's own (physical) vCPU and memory; overcommit multiplies
    # what is left for sandboxes
    capacity = (
        (vcpu - spec.reserved_for_system.vcpu) * spec.overcommit.vcpu,
        (memory_gib - spec.reserved_for_system.memory) * spec.overcommit.memory,
    )
    if min(capacity) <= 0:
        # named at the reserve (the field to fix), with where the host comes from
        fleet_field, _, source = at.partition(".fleet.")
        source = source.removesuffix(".host_type")
        raise error(
            f"the system's reserve leaves no room for sandboxes on {name}"
            + (f" ({source})" if source.startswith("inventory") else ""),
            f"{fleet_field}.fleet.reserved_for_system",
            f"reserve less than {vcpu:g} vCPU and {memory_gib:g} GiB",
        )
    return HostKind(name, vcpu, memory_gib, gpus, gpu_type, capacity, usd_per_hour, assumed)


def _check_fits(
    demand: tuple[float, float],
    need: GpuNeed,
    gpu_type: str | None,
    kinds: tuple[HostKind, ...],
    what: str,
    at: str,
    spec: Fleet,
    profile: PlatformProfile,
    error: Callable[[str, str, str], InputError],
) -> None:
    """Raise unless some kind of host has room for one sandbox of a class (a class
    without GPUs, on a fleet with ``taint_gpu_hosts``, only on hosts without GPUs)."""
    tainted = need.none and spec.taint_gpu_hosts
    allowed = [kind for kind in kinds if not (tainted and kind.gpus)]
    for kind in allowed:
        if demand[0] > kind.capacity[0] + 1e-9 or demand[1] > kind.capacity[1] + 1e-9:
            continue
        if gpu_type is not None and kind.gpu_type != gpu_type:
            continue
        if need.whole > kind.gpus or (not need.none and kind.gpus == 0):
            continue
        return
    gpu_text = "" if need.none else f" and {need.units:g} GPU" + ("" if need.units == 1 else "s")
    largest = max(allowed, key=lambda k: k.capacity)
    raise error(
        f"{what} takes {demand[0]:g} vCPU, {demand[1]:g} GiB{gpu_text} (with the "
        f"{profile.id} overhead) but no host of the fleet "
        + ("without GPUs (taint_gpu_hosts keeps it off the others) " if tainted else "")
        + f"has room for it (the largest offers {largest.capacity[0]:g} vCPU and "
        f"{largest.capacity[1]:g} GiB{f' and {largest.gpus} GPUs' if largest.gpus else ''})",
        at,
        "shrink the shape, choose a larger host type, or raise the overcommit"
        + (", or remove taint_gpu_hosts" if tainted else ""),
    )


def _check_trace_gpus(
    rows: FloatArray,
    kinds: tuple[HostKind, ...],
    profile: PlatformProfile,
    at: str,
    error: Callable[[str, str, str], InputError],
) -> None:
    """The isolation must give trace requests their GPUs as they ask for them."""
    asks: tuple[tuple[GpuKind, npt.NDArray[np.bool_]], ...] = (
        ("whole", (rows[:, 2] > 0) & (rows[:, 3] == 0)),
        ("share", rows[:, 3] > 0),
    )
    for kind, asked in asks:
        if not asked.any():
            continue
        if not any(k.gpus for k in kinds):
            raise error(
                "requests of the trace ask for GPUs but no host of the fleet has any",
                at,
                "use GPU hosts, or drop the gpus columns from the trace shapes",
            )
        check_gpu_isolation(
            profile,
            kind,
            at,
            error,
            fix="use an isolation that passes GPUs through and shares them (gvisor)",
        )


GPU_KINDS: dict[GpuKind, str] = {
    "whole": "whole GPUs",
    "mig": "a MIG instance",
    "share": "a time-sliced GPU share",
}
"""How a sandbox may ask for GPUs, in words."""


def check_gpu_isolation(
    profile: PlatformProfile,
    kind: GpuKind,
    at: str,
    error: Callable[[str, str, str], InputError],
    fix: str | None = None,
) -> None:
    """Raise unless the isolation gives a sandbox GPUs as it asks (whole GPUs, a MIG
    instance or a time-sliced share; Firecracker gives none): the engine's check, which
    `sandsim pack` applies too."""
    parts = profile.gpu_partitioning
    if parts is not None and getattr(parts, kind):
        return
    offered = [k for k in GPU_KINDS if parts is not None and getattr(parts, k)]
    raise error(
        f"{profile.id} cannot give a sandbox {GPU_KINDS[kind]}",
        at,
        fix
        or (
            f"ask for {' or '.join(offered)} GPUs"
            if offered
            else "use an isolation that passes GPUs through (gvisor, kata-qemu-gpu)"
        ),
    )


def _gpu_need(
    request: GpuRequest,
    kinds: tuple[HostKind, ...],
    profile: PlatformProfile,
    spec: Fleet,
    at: str,
    where: str,
    error: Callable[[str, str, str], InputError],
) -> tuple[GpuNeed, float, str]:
    """What a GPU request takes of a host, checked against the hosts and the isolation;
    with the line-item suffix of its GPU."""
    hosts_field = f"{where}.host_type" if spec.inventory is None else f"{where}.inventory"
    what = spec.host_type or "host of the inventory"
    with_gpus = [k for k in kinds if k.gpus and k.gpu_type is not None]
    if not with_gpus:
        raise error(
            f"workload asks for a GPU but a {what} has none",
            hosts_field,
            "choose a GPU host type (see `sandsim pricing hosts`)",
        )
    matching = [k for k in with_gpus if k.gpu_type == request.type]
    if not matching:
        offered = sorted({str(k.gpu_type) for k in with_gpus})
        same_but_case = [o for o in offered if o.lower() == request.type.lower()]
        raise error(
            f"workload asks for {request.type} but the fleet's hosts have {', '.join(offered)}"
            + (" (GPU types match letter for letter, case included)" if same_but_case else ""),
            f"{at}.gpu.type",
            f"spell the type the same in the inventory and the workload (price tables and MIG "
            f"profiles use {request.type.lower()})"
            if same_but_case
            else f"ask for {' or '.join(offered)}, or choose a host type with {request.type}",
        )
    gpu_type = request.type
    kind: GpuKind = "mig" if request.mig else "share" if request.share else "whole"
    check_gpu_isolation(profile, kind, f"{at}.gpu", error)
    if kind == "mig":
        if gpu_type not in MIG_PROFILES:
            raise error(
                f"{gpu_type} has no MIG",
                f"{at}.gpu.mig",
                f"MIG GPUs are {', '.join(MIG_PROFILES)}",
            )
        assert request.mig is not None
        profile_mig = mig_profile(gpu_type, request.mig)
        return GpuNeed(mig=profile_mig), GpuNeed(mig=profile_mig).units, f":mig-{profile_mig.name}"
    if kind == "share":
        assert request.share is not None
        return GpuNeed(share=request.share), request.share, ":share"
    most = max(k.gpus for k in matching)
    if request.count > most:
        raise error(
            f"workload asks for {request.count} GPUs but a {what} has {most}",
            f"{at}.gpu.count",
            f"ask for at most {most}",
        )
    return GpuNeed(whole=request.count), float(request.count), ""
