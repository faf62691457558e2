"""Billing of a self-hosted fleet: host time, and its showback to the sandboxes on it.

The bill is host time: each host's life, rounded to the provider's increment with its
minimum, at the price it was bought at (committed hosts at the commitment's rate, the rest
on demand or however the fleet buys them, spot hosts at the spot price), idle or busy.

Showback splits that bill among the sandboxes by what they held, the OpenCost way: a
host-second's cost is split among vCPU, memory and GPUs by the table's relative weights,
each resource's part is divided by the room a host offers (after overcommit and the
system's reserve), and a sandbox pays its held vCPU-, GiB- and GPU-seconds at those
rates. What no sandbox held is the fleet's idle cost, a line item of its own, so the
line items always add up to the host bill.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from .billing import LINE_ITEM_COLUMNS, billed_seconds, billing_periods
from .distributions import FloatArray
from .engine.fleet import FleetRecord
from .fleets import ResolvedFleet
from .hosts import Purchase
from .units import MONTH_S
from .usage import Usage

IDLE_WORKLOAD = "(idle hosts)"
"""Workload name of the idle-capacity line items."""
IDLE_TEAM = "(fleet)"
"""Team of the idle-capacity line items."""


@dataclass(frozen=True)
class FleetBillingInputs:
    """What fleet billing needs besides usage."""

    platform_id: str
    fleet: ResolvedFleet
    workload_names: tuple[str, ...]
    teams: tuple[str, ...]
    discount_fraction: float = 0.0
    """A negotiated discount on the host bill (e.g. an enterprise agreement)."""


def purchase_of(fleet: ResolvedFleet, host_purchase: str) -> Purchase:
    """The price a host was bought at: committed hosts at the commitment, spot at spot,
    the rest as the fleet buys them."""
    if host_purchase == "committed":
        return fleet.spec.commitment
    if host_purchase == "spot":
        return "spot"
    return fleet.spec.purchase


def host_costs(record: FleetRecord, fleet: ResolvedFleet) -> tuple[FloatArray, FloatArray]:
    """Billed seconds and cost of each host (an unpriced host, or a spot host taken back
    within the table's free window, costs nothing): its life
    within the horizon, rounded to the increment with the minimum, plus the host-seconds
    its sandboxes' work after the horizon is worth."""
    within, tail, rates = host_time(record, fleet)
    seconds = within + tail
    return seconds, seconds * rates


def host_time(
    record: FleetRecord, fleet: ResolvedFleet
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per host: billed seconds within the horizon, host-seconds of work after it, and
    the price per second it was bought at (0 for a spot host taken back within the price
    table's ``spot_interrupted_free_s`` of its start)."""
    billing = fleet.table.billing
    started = record.started_s
    within = np.where(
        started < record.span_s,
        billed_seconds(started, record.billed_ends(), billing.increment, billing.minimum),
        0.0,
    )
    kinds = _kinds_of_hosts(record)
    rates = np.array(
        [
            fleet.usd_per_host_hour(purchase_of(fleet, p), int(k)) / 3600.0
            for p, k in zip(record.purchase, kinds, strict=True)
        ]
    )
    if record.interrupted_s is not None and billing.spot_interrupted_free_s > 0:
        # hosts the provider took back early are not charged (EC2: within the first
        # hour): their time counts, at no price (showback's mean price then falls)
        free = record.interrupted_s - started < billing.spot_interrupted_free_s
        rates = np.where(free, 0.0, rates)
    return within, record.tail_seconds(), rates


def _kinds_of_hosts(record: FleetRecord) -> npt.NDArray[np.int64]:
    """The kind of each host (all of the first kind when the record does not say)."""
    if record.kind_of.size == record.started_s.size:
        return record.kind_of
    return np.zeros(record.started_s.size, dtype=np.int64)


def resource_shares(fleet: ResolvedFleet, kind: int = 0) -> tuple[float, float, float]:
    """Shares of a host's price carried by its vCPU, memory and GPUs."""
    split = fleet.table.cost_split
    host = fleet.kinds[kind]
    weights = np.array(
        [host.vcpu * split.vcpu_hour, host.memory_gib * split.gib_hour, host.gpus * split.gpu_hour]
    )
    shares = weights / weights.sum()
    return float(shares[0]), float(shares[1]), float(shares[2])


def _period_split(
    record: FleetRecord, within_usd: FloatArray, tail_usd: FloatArray, horizon_s: float
) -> FloatArray:
    """Each host's cost per billing period: its cost within the horizon pro rata to its
    life in each period, the work after the horizon in the last period."""
    cost = within_usd
    periods = billing_periods(horizon_s)
    out = np.zeros(len(periods))
    ends = record.billed_ends()
    life = np.maximum(ends - record.started_s, 0.0)
    for k, (start, _length) in enumerate(periods):
        stop = start + MONTH_S if k < len(periods) - 1 else np.inf
        overlap = np.clip(np.minimum(ends, stop) - np.maximum(record.started_s, start), 0, None)
        fraction = np.divide(overlap, life, out=np.zeros_like(life), where=life > 0)
        if k == 0:
            fraction = np.where(life > 0, fraction, 1.0)  # a zero-length host bills its minimum
        out[k] = float((cost * fraction).sum())
    out[-1] += float(tail_usd.sum())
    return out


def bill_fleet(usage: Usage, inputs: FleetBillingInputs) -> pd.DataFrame:
    """Line items of a fleet: showback per period x workload x resource (per kind of host
    when there are several), plus idle hosts."""
    record = usage.fleet
    assert isinstance(record, FleetRecord), "bill_fleet needs a fleet's usage"
    fleet = inputs.fleet
    within, tail, host_rates = host_time(record, fleet)
    seconds = within + tail
    cost = seconds * host_rates
    total_cost = float(cost.sum())
    total_seconds = float(seconds.sum())
    per_host_second = total_cost / total_seconds if total_seconds > 0 else 0.0
    rates = _showback_rates(fleet, record, seconds, cost)
    periods = billing_periods(usage.horizon_s)
    holds = _showback_holds(usage, record)
    held_s, activations = holds.held_s, holds.activation
    classes = (
        record.class_of if record.class_of is not None else usage.workload_index.astype(np.int64)
    )[activations]
    kinds = (
        _kinds_of_hosts(record)[np.maximum(holds.host, 0)]
        if holds.host is not None and len(fleet.kinds) > 1
        else np.zeros(held_s.size, dtype=np.int64)
    )
    demand = np.asarray(fleet.demand_per_class, dtype=np.float64).reshape(-1, 2)[classes]
    units = np.asarray(fleet.gpu_units_per_class, dtype=np.float64)[classes]
    suffixes = sorted({x for x in fleet.gpu_suffix_per_class if x is not None})
    suffix_code = np.array(
        [suffixes.index(x) if x is not None else -1 for x in fleet.gpu_suffix_per_class]
    )[classes]
    period = np.minimum(
        (usage.request_s[activations] // MONTH_S).astype(np.int64), len(periods) - 1
    )
    n_workloads, n_kinds, n_suffixes = len(usage.workload_names), len(fleet.kinds), len(suffixes)
    group = (period * n_workloads + usage.workload_index[activations]) * n_kinds + kinds
    keys, where = np.unique(group, return_inverse=True)
    vcpu_s = np.bincount(where, weights=held_s * demand[:, 0], minlength=keys.size)
    gib_s = np.bincount(where, weights=held_s * demand[:, 1], minlength=keys.size)
    has_gpu = suffix_code >= 0
    gpu_key = where[has_gpu] * max(n_suffixes, 1) + suffix_code[has_gpu]
    gpu_s = np.bincount(
        gpu_key, weights=(held_s * units)[has_gpu], minlength=keys.size * max(n_suffixes, 1)
    )
    several = n_kinds > 1
    rows: list[dict[str, object]] = []
    allocated = np.zeros(len(periods))
    for g, key in enumerate(keys.tolist()):
        kind = key % n_kinds
        w = (key // n_kinds) % n_workloads
        k = key // (n_kinds * n_workloads)
        base = {"period": k, "workload": usage.workload_names[w], "team": inputs.teams[w]}
        name = fleet.kinds[kind].name
        items: list[tuple[str, str, str, float]] = [
            ("vcpu", f"host:{name}:vcpu" if several else "host:vcpu", "vCPU-s", vcpu_s[g]),
            ("memory", f"host:{name}:memory" if several else "host:memory", "GiB-s", gib_s[g]),
        ]
        for code, suffix in enumerate(suffixes):
            item = f"gpu:{fleet.kinds[kind].gpu_type}{suffix}"
            if several:  # kinds with one GPU type may differ in price
                item = f"host:{name}:{item}"
            items.append(("gpu", item, "GPU-s", gpu_s[g * n_suffixes + code]))
        for component, item, unit, quantity in items:
            if quantity <= 0:
                continue
            unit_rate = rates[kind][component]
            gross = float(quantity) * unit_rate
            allocated[k] += gross
            rows.append(
                {
                    **base,
                    "component": component,
                    "item": item,
                    "unit": unit,
                    "quantity": float(quantity),
                    "rate_usd": unit_rate,
                    "gross_usd": gross,
                }
            )
    split = _period_split(record, within * host_rates, tail * host_rates, usage.horizon_s)
    idle = _idle_per_period(split, allocated)
    for k, idle_usd in enumerate(idle):
        if idle_usd <= 0:
            continue
        rows.append(
            {
                "period": k,
                "workload": IDLE_WORKLOAD,
                "team": IDLE_TEAM,
                "component": "idle",
                "item": f"hosts:{fleet.label}:idle",
                "unit": "host-s",
                "quantity": idle_usd / per_host_second,
                "rate_usd": per_host_second,
                "gross_usd": idle_usd,
            }
        )
    items_frame = pd.DataFrame(rows, columns=[c for c in LINE_ITEM_COLUMNS if c != "platform"])
    items_frame["free_tier_usd"] = 0.0
    items_frame["credit_usd"] = 0.0
    items_frame["discount_usd"] = items_frame["gross_usd"] * inputs.discount_fraction
    items_frame["cost_usd"] = items_frame["gross_usd"] - items_frame["discount_usd"]
    items_frame.insert(0, "platform", inputs.platform_id)
    return items_frame[LINE_ITEM_COLUMNS].astype({"period": np.int64}).reset_index(drop=True)


@dataclass(frozen=True)
class _Holds:
    """Room held, one row per hold: its activation, seconds and host (None: unknown)."""

    activation: npt.NDArray[np.int64]
    held_s: FloatArray
    host: npt.NDArray[np.int64] | None


def _showback_holds(usage: Usage, record: FleetRecord) -> _Holds:
    """What each sandbox held, to be shown back: its last hold, from placement to end,
    and its holds on hosts the provider took back, until they were. A fleet that cannot
    grow counts them within the horizon (its hosts are paid for just that); one that can
    pays the work after the horizon as a tail, so a sandbox's last hold counts whole."""
    launched = np.flatnonzero(usage.launched & ~np.isnan(usage.admit_s))
    horizon = usage.horizon_s if not record.grows else np.inf
    ends = np.minimum(usage.end_s[launched], horizon)
    held_s = np.maximum(ends - usage.admit_s[launched], 0.0)
    hosts = record.host_of[launched] if record.host_of.size == usage.launched.size else None
    lost = record.lost_holds
    if lost is None:
        return _Holds(launched, held_s, hosts)
    # a lost hold past the horizon is on a host billed only to it (no tail follows it)
    lost_s = np.maximum(np.minimum(lost.end_s, usage.horizon_s) - lost.start_s, 0.0)
    return _Holds(
        np.concatenate([launched, lost.activation]),
        np.concatenate([held_s, lost_s]),
        None if hosts is None else np.concatenate([hosts, lost.host]),
    )


def _showback_rates(
    fleet: ResolvedFleet, record: FleetRecord, seconds: FloatArray, cost: FloatArray
) -> list[dict[str, float]]:
    """Per kind of host: USD per vCPU-second, GiB-second and GPU-second held, from the
    kind's mean price per host-second split by the table's weights."""
    kinds = _kinds_of_hosts(record)
    n = len(fleet.kinds)
    cost_of = np.bincount(kinds, weights=cost, minlength=n)
    seconds_of = np.bincount(kinds, weights=seconds, minlength=n)
    rates: list[dict[str, float]] = []
    for kind_index, kind in enumerate(fleet.kinds):
        per_host_second = (
            float(cost_of[kind_index] / seconds_of[kind_index]) if seconds_of[kind_index] else 0.0
        )
        share_vcpu, share_memory, share_gpu = resource_shares(fleet, kind_index)
        rates.append(
            {
                "vcpu": per_host_second * share_vcpu / kind.capacity[0],
                "memory": per_host_second * share_memory / kind.capacity[1],
                "gpu": per_host_second * share_gpu / kind.gpus if kind.gpus else 0.0,
            }
        )
    return rates


def _idle_per_period(cost: FloatArray, allocated: FloatArray) -> FloatArray:
    """Idle cost per period: the bill less what sandboxes held, never negative (a sandbox
    of one period may run on a host billed in the next), and adding up to the total."""
    raw = cost - allocated
    total = max(float(cost.sum() - allocated.sum()), 0.0)
    positive = np.clip(raw, 0.0, None)
    if positive.sum() <= 0:
        return positive
    return positive * (total / positive.sum())
