"""Resolve a scenario's self-hosted fleet: host type and prices, room per host, what each
sandbox takes, and every check that a fleet can run the workloads it is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .catalog import Catalog
from .engine.fleet import FleetModel
from .errors import InputError
from .gpus import MIG_PROFILES, GpuNeed, mig_profile
from .hosts import HostPriceTable, HostType, Purchase
from .platforms import PlatformProfile
from .scenario import Fleet, GpuRequest, PlatformChoice, Scenario
from .shapes import RoundedShape
from .units import HOUR_S


@dataclass(frozen=True)
class ResolvedFleet:
    """A fleet with its host type and prices looked up, and per-workload demands."""

    spec: Fleet
    table: HostPriceTable
    host: HostType
    capacity: tuple[float, float]
    """vCPU and GiB a host offers sandboxes (after overcommit and the system's reserve)."""
    demand_per_workload: tuple[tuple[float, float], ...]
    """vCPU and GiB one sandbox of each workload takes on a host (shape plus overhead)."""
    gpu_need_per_workload: tuple[GpuNeed, ...]
    gpu_units_per_workload: tuple[float, ...]
    """GPUs one sandbox holds: its count, a MIG instance's compute share, or its share."""
    gpu_item_per_workload: tuple[str | None, ...]
    """Line-item name of each workload's GPU (e.g. "gpu:a100-40gb:mig-3g.20gb")."""

    def usd_per_host_hour(self, purchase: Purchase) -> float:
        """Price of one host for an hour, bought as ``purchase``."""
        return self.host.prices[purchase].usd_per_second * HOUR_S

    def model(self) -> FleetModel:
        """The engine's view of the fleet."""
        spec = self.spec
        scaling = spec.autoscaling
        return FleetModel(
            host_type=spec.host_type,
            capacity=self.capacity,
            gpus=self.host.gpus,
            placement=spec.placement,
            min_hosts=scaling.min_hosts,
            max_hosts=scaling.max_hosts,
            target_utilisation=scaling.target_utilisation,
            scale_out_when_waiting=scaling.scale_out_when_waiting,
            boot_time=scaling.boot_time,
            idle_cooldown_s=scaling.idle_cooldown,
            interval_s=scaling.interval,
            committed_hosts=spec.committed_hosts,
            spot_share=spec.spot_share,
            spot_interruptions_per_s=spec.spot_interruptions_per_hour / HOUR_S,
            demand_per_workload=self.demand_per_workload,
            gpu_need_per_workload=self.gpu_need_per_workload,
        )


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
        return InputError(message, source=source, field=at, fix=fix)

    if not profile.self_hosted:
        raise error(
            f"{profile.id} is a managed platform: its capacity is the vendor's",
            where,
            "remove fleet, or use a self-hosted profile ("
            + ", ".join(sorted(p.id for p in catalog.profiles.values() if p.self_hosted))
            + ")",
        )
    for name in ("quota", "vcpu_quota", "gpu_quota", "launch_rate", "hosts"):
        if getattr(choice, name) is not None:
            raise error(
                f"{name} does not apply to a fleet: its capacity is its hosts",
                f"{field}.{name}",
                f"remove {name}, and size the fleet with fleet.autoscaling.max_hosts",
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
    table = catalog.host_table(spec.host_prices, source=source, field_name=f"{where}.host_prices")
    if spec.host_type not in table.hosts:
        raise error(
            f"host price table {table.id!r} has no host type {spec.host_type!r}",
            f"{where}.host_type",
            f"use one of {sorted(table.hosts)}",
        )
    host = table.hosts[spec.host_type]
    bought = [("purchase", spec.purchase)]
    if spec.committed_hosts:
        bought.append(("commitment", spec.commitment))
    if spec.spot_share > 0:
        bought.append(("spot_share", "spot"))
    for name, purchase in bought:
        if purchase not in host.prices:
            raise error(
                f"{spec.host_type} has no {purchase} price in {table.id}",
                f"{where}.{name}",
                f"use one of {sorted(host.prices)}, or add the price to the table",
            )
    if spec.spot_interruptions_per_hour > 0 and spec.spot_share == 0:
        raise error(
            "spot interruptions are given but no host is spot",
            f"{where}.spot_interruptions_per_hour",
            "set spot_share above 0, or remove spot_interruptions_per_hour",
        )
    scaling = spec.autoscaling
    if scaling.min_hosts > scaling.max_hosts or spec.committed_hosts > scaling.max_hosts:
        raise error(
            "min_hosts and committed_hosts must not exceed max_hosts",
            f"{where}.autoscaling.max_hosts",
            f"raise max_hosts to at least {max(scaling.min_hosts, spec.committed_hosts)}",
        )
    capacity = (
        host.vcpu * spec.overcommit.vcpu - spec.reserved_for_system.vcpu,
        host.memory * spec.overcommit.memory - spec.reserved_for_system.memory,
    )
    if min(capacity) <= 0:
        raise error(
            f"the system's reserve leaves no room on a {spec.host_type}",
            f"{where}.reserved_for_system",
            f"reserve less than {host.vcpu:g} vCPU and {host.memory:g} GiB",
        )
    overhead = profile.overhead
    extra = (overhead.vcpu, overhead.memory) if overhead else (0.0, 0.0)
    demands: list[tuple[float, float]] = []
    needs: list[GpuNeed] = []
    units: list[float] = []
    items: list[str | None] = []
    for w_index, workload in enumerate(scenario.workloads):
        shape = shapes[w_index]
        if shape is None:
            demands.append((0.0, 0.0))
            needs.append(GpuNeed())
            units.append(0.0)
            items.append(None)
            continue
        demand = (shape.vcpu + extra[0], shape.memory_gib + extra[1])
        at = f"workloads[{w_index}].shape"
        if demand[0] > capacity[0] + 1e-9 or demand[1] > capacity[1] + 1e-9:
            raise error(
                f"one sandbox of {workload.name!r} takes {demand[0]:g} vCPU and {demand[1]:g} GiB "
                f"(with the {profile.id} overhead) but a {spec.host_type} offers "
                f"{capacity[0]:g} vCPU and {capacity[1]:g} GiB",
                at,
                "shrink the shape, choose a larger host type, or raise the overcommit",
            )
        request = workload.shape.gpu
        need, unit, item = GpuNeed(), 0.0, None
        if request is not None:
            need, unit, item = _gpu_need(request, host, profile, spec, at, where, error)
        demands.append(demand)
        needs.append(need)
        units.append(unit)
        items.append(item)
    return ResolvedFleet(
        spec=spec,
        table=table,
        host=host,
        capacity=capacity,
        demand_per_workload=tuple(demands),
        gpu_need_per_workload=tuple(needs),
        gpu_units_per_workload=tuple(units),
        gpu_item_per_workload=tuple(items),
    )


def _gpu_need(
    request: GpuRequest,
    host: HostType,
    profile: PlatformProfile,
    spec: Fleet,
    at: str,
    where: str,
    error: Callable[[str, str, str], InputError],
) -> tuple[GpuNeed, float, str]:
    """What a GPU request takes of a host, checked against the host and the isolation."""
    if host.gpus == 0 or host.gpu_type is None:
        raise error(
            f"workload asks for a GPU but a {spec.host_type} has none",
            f"{where}.host_type",
            "choose a GPU host type (see `sandsim pricing hosts`)",
        )
    if request.type != host.gpu_type:
        raise error(
            f"workload asks for {request.type} but a {spec.host_type} has {host.gpu_type}",
            f"{at}.gpu.type",
            f"ask for {host.gpu_type}, or choose a host type with {request.type}",
        )
    parts = profile.gpu_partitioning
    kind = "mig" if request.mig else "share" if request.share else "whole"
    if parts is None or not getattr(parts, kind):
        offered = [k for k in ("whole", "mig", "share") if parts is not None and getattr(parts, k)]
        raise error(
            f"{profile.id} cannot give a sandbox "
            + {"whole": "whole GPUs", "mig": "a MIG instance", "share": "a time-sliced GPU share"}[
                kind
            ],
            f"{at}.gpu",
            f"ask for {' or '.join(offered)} GPUs"
            if offered
            else "use an isolation that passes GPUs through (gvisor, kata-qemu-gpu)",
        )
    if kind == "mig":
        if host.gpu_type not in MIG_PROFILES:
            raise error(
                f"{host.gpu_type} has no MIG",
                f"{at}.gpu.mig",
                f"MIG GPUs are {', '.join(MIG_PROFILES)}",
            )
        assert request.mig is not None
        profile_mig = mig_profile(host.gpu_type, request.mig)
        return (
            GpuNeed(mig=profile_mig),
            GpuNeed(mig=profile_mig).units,
            f"gpu:{host.gpu_type}:mig-{profile_mig.name}",
        )
    if kind == "share":
        assert request.share is not None
        return GpuNeed(share=request.share), request.share, f"gpu:{host.gpu_type}:share"
    if request.count > host.gpus:
        raise error(
            f"workload asks for {request.count} GPUs but a {spec.host_type} has {host.gpus}",
            f"{at}.gpu.count",
            f"ask for at most {host.gpus}",
        )
    return GpuNeed(whole=request.count), float(request.count), f"gpu:{host.gpu_type}"
