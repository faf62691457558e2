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
    """Billed seconds and cost of each host."""
    billing = fleet.table.billing
    seconds = billed_seconds(record.started_s, record.ended_s, billing.increment, billing.minimum)
    rates = np.array(
        [fleet.usd_per_host_hour(purchase_of(fleet, p)) / 3600.0 for p in record.purchase]
    )
    return seconds, seconds * rates


def resource_shares(fleet: ResolvedFleet) -> tuple[float, float, float]:
    """Shares of a host's price carried by its vCPU, memory and GPUs."""
    split = fleet.table.cost_split
    host = fleet.host
    weights = np.array(
        [host.vcpu * split.vcpu_hour, host.memory * split.gib_hour, host.gpus * split.gpu_hour]
    )
    shares = weights / weights.sum()
    return float(shares[0]), float(shares[1]), float(shares[2])


def _period_split(record: FleetRecord, cost: FloatArray, horizon_s: float) -> FloatArray:
    """Each host's cost per billing period, pro rata to its life in each (time after the
    horizon belongs to the last period)."""
    periods = billing_periods(horizon_s)
    out = np.zeros(len(periods))
    life = np.maximum(record.ended_s - record.started_s, 0.0)
    for k, (start, _length) in enumerate(periods):
        stop = start + MONTH_S if k < len(periods) - 1 else np.inf
        overlap = np.clip(
            np.minimum(record.ended_s, stop) - np.maximum(record.started_s, start), 0, None
        )
        fraction = np.divide(overlap, life, out=np.zeros_like(life), where=life > 0)
        if k == 0:
            fraction = np.where(life > 0, fraction, 1.0)  # a zero-length host bills its minimum
        out[k] = float((cost * fraction).sum())
    return out


def bill_fleet(usage: Usage, inputs: FleetBillingInputs) -> pd.DataFrame:
    """Line items of a fleet: showback per period x workload x resource, plus idle hosts."""
    record = usage.fleet
    assert isinstance(record, FleetRecord), "bill_fleet needs a fleet's usage"
    fleet = inputs.fleet
    seconds, cost = host_costs(record, fleet)
    total_cost = float(cost.sum())
    total_seconds = float(seconds.sum())
    per_host_second = total_cost / total_seconds if total_seconds > 0 else 0.0
    share_vcpu, share_memory, share_gpu = resource_shares(fleet)
    capacity_vcpu, capacity_gib = fleet.capacity
    rate = {
        "vcpu": per_host_second * share_vcpu / capacity_vcpu,
        "memory": per_host_second * share_memory / capacity_gib,
        "gpu": per_host_second * share_gpu / fleet.host.gpus if fleet.host.gpus else 0.0,
    }
    periods = billing_periods(usage.horizon_s)
    launched = usage.launched & ~np.isnan(usage.admit_s)
    held_s = np.maximum(usage.end_s[launched] - usage.admit_s[launched], 0.0)
    workload = usage.workload_index[launched]
    period = np.minimum((usage.request_s[launched] // MONTH_S).astype(np.int64), len(periods) - 1)
    n_workloads = len(usage.workload_names)
    key = period * n_workloads + workload
    held = np.bincount(key, weights=held_s, minlength=len(periods) * n_workloads)
    rows: list[dict[str, object]] = []
    allocated = np.zeros(len(periods))
    for k in range(len(periods)):
        for w in range(n_workloads):
            seconds_held = float(held[k * n_workloads + w])
            if seconds_held <= 0:
                continue
            vcpu, gib = fleet.demand_per_workload[w]
            base = {"period": k, "workload": usage.workload_names[w], "team": inputs.teams[w]}
            items = [
                ("vcpu", "host:vcpu", "vCPU-s", seconds_held * vcpu, rate["vcpu"]),
                ("memory", "host:memory", "GiB-s", seconds_held * gib, rate["memory"]),
            ]
            gpu_item = fleet.gpu_item_per_workload[w]
            if gpu_item is not None:
                units = fleet.gpu_units_per_workload[w]
                items.append(("gpu", gpu_item, "GPU-s", seconds_held * units, rate["gpu"]))
            for component, item, unit, quantity, unit_rate in items:
                gross = quantity * unit_rate
                allocated[k] += gross
                rows.append(
                    {
                        **base,
                        "component": component,
                        "item": item,
                        "unit": unit,
                        "quantity": quantity,
                        "rate_usd": unit_rate,
                        "gross_usd": gross,
                    }
                )
    idle = _idle_per_period(_period_split(record, cost, usage.horizon_s), allocated)
    for k, idle_usd in enumerate(idle):
        if idle_usd <= 0:
            continue
        rows.append(
            {
                "period": k,
                "workload": IDLE_WORKLOAD,
                "team": IDLE_TEAM,
                "component": "idle",
                "item": f"hosts:{fleet.spec.host_type}:idle",
                "unit": "host-s",
                "quantity": idle_usd / per_host_second,
                "rate_usd": per_host_second,
                "gross_usd": idle_usd,
            }
        )
    frame = pd.DataFrame(rows, columns=[c for c in LINE_ITEM_COLUMNS if c != "platform"])
    frame["free_tier_usd"] = 0.0
    frame["credit_usd"] = 0.0
    frame["discount_usd"] = frame["gross_usd"] * inputs.discount_fraction
    frame["cost_usd"] = frame["gross_usd"] - frame["discount_usd"]
    frame.insert(0, "platform", inputs.platform_id)
    return frame[LINE_ITEM_COLUMNS].astype({"period": np.int64}).reset_index(drop=True)


def _idle_per_period(cost: FloatArray, allocated: FloatArray) -> FloatArray:
    """Idle cost per period: the bill less what sandboxes held, never negative (a sandbox
    of one period may run on a host billed in the next), and adding up to the total."""
    raw = cost - allocated
    total = max(float(cost.sum() - allocated.sum()), 0.0)
    positive = np.clip(raw, 0.0, None)
    if positive.sum() <= 0:
        return positive
    return positive * (total / positive.sum())
