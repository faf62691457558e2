"""Billing: pure, vectorised functions from usage to line items. Never re-runs the engine.

Billed seconds per sandbox = max(minimum, ceil((end - start) / increment) * increment),
where start is the lifecycle event the platform bills from. Usage is split into 30-day
billing periods by request time; each period's usage is scaled to a full month so the
monthly free tier is applied to the month's aggregate (never per sandbox), then scaled
back. Plan fees accrue per month; discounts are explicit. Line items are per platform x
workload x team x component (vcpu, memory, gpu, requests, plan).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from .distributions import FloatArray
from .errors import InputError
from .pricing import Component, PriceTable
from .shapes import RoundedShape
from .units import MONTH_S
from .usage import HOST_START, MODE_CODES, PoolIdle, Usage

ROUNDING_TOLERANCE = 1e-9
"""Slack, in increments, so that a duration of exactly k increments bills k despite float
noise; it grows with the timestamps, whose differences carry noise of a few ulps of them."""
ULPS_OF_NOISE = 8.0

LINE_ITEM_COLUMNS = [
    "platform",
    "workload",
    "team",
    "component",
    "item",
    "period",
    "unit",
    "quantity",
    "rate_usd",
    "gross_usd",
    "free_tier_usd",
    "discount_usd",
    "credit_usd",
    "cost_usd",
]
AMOUNT_COLUMNS = [
    "quantity",
    "gross_usd",
    "free_tier_usd",
    "discount_usd",
    "credit_usd",
    "cost_usd",
]
"""The additive columns of a line item (the billed quantity and the amounts)."""


@dataclass(frozen=True)
class BillingInputs:
    """What billing needs besides usage: prices, the shapes as billed, teams, plan and discount."""

    platform_id: str
    table: PriceTable
    workload_names: tuple[str, ...]
    shapes: tuple[RoundedShape | None, ...]
    """Billed shape per workload index."""
    teams: tuple[str, ...]
    """Team per workload index."""
    plan: str | None = None
    plan_fee_usd_per_month: float = 0.0
    plan_credit_usd_per_month: float = 0.0
    """Usage credit that comes with the plan each month."""
    discount_fraction: float = 0.0
    discount_applies_to: tuple[Component, ...] = ()
    self_hosted: bool = False
    """A self-hosted isolation profile: the hosts are the user's, so time queued on them
    is billed as the price table says (a managed platform's queue is not)."""


def billed_seconds(
    start_s: FloatArray, end_s: FloatArray, increment_s: float, minimum_s: float
) -> FloatArray:
    """Seconds billed per sandbox: rounded up to the increment, at least the minimum."""
    raw = np.maximum(end_s - start_s, 0.0)
    noise_s = ULPS_OF_NOISE * np.finfo(np.float64).eps * np.maximum(np.abs(start_s), np.abs(end_s))
    slack = np.maximum(ROUNDING_TOLERANCE, noise_s / increment_s)
    units = np.ceil(raw / increment_s - slack)
    return np.maximum(units * increment_s, minimum_s)


def billing_start(usage: Usage, inputs: BillingInputs) -> FloatArray:
    """When each sandbox's bill starts: the lifecycle event the platform bills from, except
    for warm hits on a pooled sandbox already billed while idle (from the handover).

    On a managed platform with a launch pipeline, a launch waiting for a host's slot or
    creation token waits on the vendor's capacity: its bill starts no earlier than when a
    host took it."""
    start = usage.column(inputs.table.billing.bills_from)
    if usage.bill_from_launch is not None:
        start = np.where(usage.bill_from_launch, usage.launch_start_s, start)
    host_offset = (usage.part_offset_s or {}).get(HOST_START)
    if not inputs.self_hosted and host_offset is not None:
        host_start = usage.launch_start_s + host_offset
        start = np.where(host_start > start, host_start, start)  # NaN (no host) keeps start
    return start


def _idle_start(idle: PoolIdle, inputs: BillingInputs) -> FloatArray:
    """When a pooled sandbox's idle bill starts: its launch start, or on a managed platform
    when a host took its launch."""
    if inputs.self_hosted or idle.host_start_s is None:
        return idle.launch_start_s
    return np.fmax(idle.launch_start_s, idle.host_start_s)


def billing_periods(horizon_s: float) -> list[tuple[float, float]]:
    """30-day billing periods covering the horizon, as (start, length); the last may be short."""
    count = max(1, math.ceil(horizon_s / MONTH_S - ROUNDING_TOLERANCE))
    return [(k * MONTH_S, min(MONTH_S, horizon_s - k * MONTH_S)) for k in range(count)]


def usage_quantities(usage: Usage, inputs: BillingInputs) -> pd.DataFrame:
    """Billable quantities per billing period x workload x item, before any price."""
    table = inputs.table
    launched = usage.launched
    start = billing_start(usage, inputs)[launched]
    seconds = billed_seconds(
        start, usage.end_s[launched], table.billing.increment, table.billing.minimum
    )
    workload = usage.workload_index[launched]
    if not np.isfinite(seconds).all():
        bad = usage.workload_names[int(workload[~np.isfinite(seconds)][0])]
        raise InputError(
            f"sandboxes of workload {bad!r} run for an infinite or undefined time on {inputs.platform_id}",
            source="scenario",
            field=f"workloads[{bad}]",
            fix="check the duration distribution and any trace durations (they must be finite seconds)",
        )
    periods = billing_periods(usage.horizon_s)
    period = np.minimum((usage.request_s[launched] // MONTH_S).astype(np.int64), len(periods) - 1)
    rows = _quantity_rows(usage, inputs, len(periods), period, workload, seconds, "")
    pools = table.pools
    if (
        usage.bill_from_launch is not None
        and pools is not None
        and (pools.warm_vcpu is not None or pools.warm_memory is not None)
    ):
        # tasks run on a billed pool's sandbox have rates of their own (Lambda's duration
        # price with provisioned concurrency): their own items
        warm = usage.bill_from_launch[launched]
        rows = _quantity_rows(
            usage, inputs, len(periods), period[~warm], workload[~warm], seconds[~warm], ""
        )
        rows += _quantity_rows(
            usage, inputs, len(periods), period[warm], workload[warm], seconds[warm], WARM_SUFFIX
        )
    if table.snapshot is not None:
        rows += _snapshot_rows(usage, inputs, periods, launched, period)
    idle = usage.pool_idle
    if idle is not None and idle.billed.any():
        # idle pooled sandboxes bill from their launch until handed over or torn down
        billed = idle.billed
        idle_seconds = billed_seconds(
            _idle_start(idle, inputs)[billed],
            idle.end_s[billed],
            table.billing.increment,
            table.billing.minimum,
        )
        idle_period = np.minimum(
            (idle.launch_start_s[billed] // MONTH_S).astype(np.int64), len(periods) - 1
        )
        rows += _quantity_rows(
            usage,
            inputs,
            len(periods),
            idle_period,
            idle.workload_index[billed],
            idle_seconds,
            POOL_SUFFIX,
        )
    columns = ["period", "workload", "team", "component", "item", "unit", "quantity"]
    return pd.DataFrame(rows, columns=columns)


def _snapshot_rows(
    usage: Usage,
    inputs: BillingInputs,
    periods: list[tuple[float, float]],
    launched: np.ndarray,
    period: np.ndarray,
) -> list[dict[str, object]]:
    """Snapshot fees: GiB restored per snapshot launch (pools' launches included), and the
    snapshot kept cached for each period in which a workload launched from it."""
    snapshot = usage.launch_mode[launched] == MODE_CODES["snapshot"]
    workload = usage.workload_index[launched]
    idle = usage.pool_idle
    if idle is not None and idle.restored is not None and idle.restored.any():
        # a pool's sandbox restored from a snapshot is a restore like any other
        restored = idle.restored
        snapshot = np.concatenate((snapshot, np.ones(int(restored.sum()), dtype=bool)))
        workload = np.concatenate((workload, idle.workload_index[restored]))
        idle_period = np.minimum(
            (idle.launch_start_s[restored] // MONTH_S).astype(np.int64), len(periods) - 1
        )
        period = np.concatenate((period, idle_period))
    rows: list[dict[str, object]] = []
    for w, name in enumerate(usage.workload_names):
        shape = inputs.shapes[w]
        if shape is None:
            continue
        for k, (_, length) in enumerate(periods):
            restores = int(np.count_nonzero(snapshot & (workload == w) & (period == k)))
            if restores == 0:
                continue
            base = {"period": k, "workload": name, "team": inputs.teams[w], "component": "snapshot"}
            rows.append(
                {
                    **base,
                    "item": "snapshot:restore",
                    "unit": "GiB",
                    "quantity": restores * shape.memory_gib,
                }
            )
            rows.append(
                {
                    **base,
                    "item": "snapshot:cache",
                    "unit": "GiB-h",
                    "quantity": shape.memory_gib * length / 3600.0,
                }
            )
    return rows


POOL_SUFFIX = ":pool-idle"
"""Marks the line items of warm pools' idle time (e.g. item ``vcpu:pool-idle``)."""
WARM_SUFFIX = ":pool-warm"
"""Marks the line items of tasks run on a billed pool's sandbox, where the price table
gives them rates of their own (e.g. ``memory:pool-warm``)."""
SUFFIXES = (POOL_SUFFIX, WARM_SUFFIX)


def _quantity_rows(
    usage: Usage,
    inputs: BillingInputs,
    n_periods: int,
    period: np.ndarray,
    workload: np.ndarray,
    seconds: FloatArray,
    suffix: str,
) -> list[dict[str, object]]:
    """Quantities per period x workload x item for a set of billed sandboxes."""
    table = inputs.table
    n_workloads = len(usage.workload_names)
    key = period * n_workloads + workload
    size = n_periods * n_workloads
    sandboxes = np.bincount(key, minlength=size).astype(np.float64)
    seconds_sum = np.bincount(key, weights=seconds, minlength=size)
    rows: list[dict[str, object]] = []
    for k in range(n_periods):
        for w in range(n_workloads):
            shape = inputs.shapes[w]
            slot = k * n_workloads + w
            if shape is None or sandboxes[slot] == 0:
                continue
            s = seconds_sum[slot]
            base = {"period": k, "workload": usage.workload_names[w], "team": inputs.teams[w]}
            items: list[tuple[str, str, str, float]] = []
            if table.vcpu is not None:
                items.append(("vcpu", "vcpu", "vCPU-s", s * shape.vcpu))
            if table.memory is not None:
                items.append(("memory", "memory", "GiB-s", s * shape.memory_gib))
            if shape.gpu_type is not None:
                items.append(("gpu", f"gpu:{shape.gpu_type}", "GPU-s", s * shape.gpu_count))
            if table.requests is not None and suffix != POOL_SUFFIX:
                items.append(("requests", "requests", "requests", float(sandboxes[slot])))
            rows += [
                {
                    **base,
                    "component": c,
                    "item": i if c == "requests" else i + suffix,
                    "unit": u,
                    "quantity": q,
                }
                for c, i, u, q in items
            ]
    return rows


def _unit_rate(table: PriceTable, item: str) -> float:
    pools = table.pools
    if pools is not None and item.endswith(SUFFIXES):
        own = {
            "vcpu" + POOL_SUFFIX: pools.vcpu,
            "memory" + POOL_SUFFIX: pools.memory,
            "vcpu" + WARM_SUFFIX: pools.warm_vcpu,
            "memory" + WARM_SUFFIX: pools.warm_memory,
        }.get(item)
        if own is not None:
            return own.usd_per_second
    item = item.removesuffix(POOL_SUFFIX).removesuffix(WARM_SUFFIX)
    if item == "vcpu":
        return table.vcpu.usd_per_second if table.vcpu else 0.0
    if item == "memory":
        return table.memory.usd_per_second if table.memory else 0.0
    if item == "requests":
        return table.requests.usd_per_million / 1e6 if table.requests else 0.0
    if item == "snapshot:restore":
        return table.snapshot.restore_usd_per_gib if table.snapshot else 0.0
    if item == "snapshot:cache":
        return table.snapshot.cache_usd_per_gib_hour if table.snapshot else 0.0
    return table.gpu[item.removeprefix("gpu:")].usd_per_second


_FREE_TIER_FIELD = {"vcpu": "vcpu_seconds", "memory": "gib_seconds", "requests": "requests"}


def price_quantities(
    quantities: pd.DataFrame, inputs: BillingInputs, horizon_s: float
) -> pd.DataFrame:
    """Line items from quantities: gross, free tier (monthly aggregate), discount, plan fee."""
    table = inputs.table
    periods = billing_periods(horizon_s)
    frame = quantities.copy()
    frame["rate_usd"] = [_unit_rate(table, item) for item in frame["item"]]
    frame["gross_usd"] = frame["quantity"] * frame["rate_usd"]
    frame["free_tier_usd"] = 0.0
    if table.free_tier is not None:
        # the tier covers the month's aggregate of a resource, pooled time included
        # unless the table says the tier does not cover pools
        resource = frame["item"].str.removesuffix(POOL_SUFFIX).str.removesuffix(WARM_SUFFIX)
        if table.pools is not None and not table.pools.free_tier:
            pooled = frame["item"].str.endswith(SUFFIXES)
            resource = resource.where(~pooled, frame["item"])
        for (k, item), group in frame.groupby([frame["period"], resource]):
            allowance = getattr(table.free_tier, _FREE_TIER_FIELD.get(str(item), ""), 0.0)
            if not allowance:
                continue
            scale = MONTH_S / periods[cast(int, k)][1]  # this period's usage as a full month
            monthly = group["quantity"].sum() * scale
            if monthly > 0:
                covered = min(monthly, allowance) / monthly
                frame.loc[group.index, "free_tier_usd"] = group["gross_usd"] * covered
    applies = frame["component"].isin(inputs.discount_applies_to)
    frame["discount_usd"] = np.where(
        applies, (frame["gross_usd"] - frame["free_tier_usd"]) * inputs.discount_fraction, 0.0
    )
    frame["credit_usd"] = 0.0
    net = frame["gross_usd"] - frame["free_tier_usd"] - frame["discount_usd"]
    if inputs.plan_credit_usd_per_month > 0:
        for k, group in frame.groupby("period"):
            scale = MONTH_S / periods[cast(int, k)][1]
            monthly = float(net[group.index].sum()) * scale
            if monthly > 0:
                covered = min(monthly, inputs.plan_credit_usd_per_month) / monthly
                frame.loc[group.index, "credit_usd"] = net[group.index] * covered
    frame["cost_usd"] = net - frame["credit_usd"]
    plan_items = _plan_fee_items(frame, inputs, periods)
    if not plan_items.empty:
        frame = pd.concat([frame, plan_items], ignore_index=True)
    frame.insert(0, "platform", inputs.platform_id)
    return frame[LINE_ITEM_COLUMNS].reset_index(drop=True)


def _plan_fee_items(
    frame: pd.DataFrame, inputs: BillingInputs, periods: list[tuple[float, float]]
) -> pd.DataFrame:
    """The plan fee per period (pro rata for a short period), shared among workloads in
    proportion to their usage cost (showback)."""
    if inputs.plan_fee_usd_per_month <= 0:
        return pd.DataFrame(columns=[c for c in LINE_ITEM_COLUMNS if c != "platform"])
    workloads = [
        (name, team)
        for name, team, shape in zip(
            inputs.workload_names, inputs.teams, inputs.shapes, strict=True
        )
        if shape is not None
    ]
    rows = []
    for k, (_, length) in enumerate(periods):
        fee = inputs.plan_fee_usd_per_month * length / MONTH_S
        in_period = frame[frame["period"] == k]
        spend = in_period.groupby("workload")["gross_usd"].sum()
        billed = [(n, t) for n, t in workloads if n in spend.index]
        total = float(spend.sum())
        for name, team in billed or workloads:
            share = float(spend[name]) / total if total > 0 else 1.0 / len(billed or workloads)
            rows.append(
                {
                    "workload": name,
                    "team": team,
                    "component": "plan",
                    "item": f"plan:{inputs.plan}",
                    "period": k,
                    "unit": "months",
                    "quantity": share * length / MONTH_S,
                    "rate_usd": inputs.plan_fee_usd_per_month,
                    "gross_usd": fee * share,
                    "free_tier_usd": 0.0,
                    "discount_usd": 0.0,
                    "credit_usd": 0.0,
                    "cost_usd": fee * share,
                }
            )
    return pd.DataFrame(rows)


def bill(usage: Usage, inputs: BillingInputs) -> pd.DataFrame:
    """Line items of one platform run: quantities from usage, priced by the table."""
    return price_quantities(usage_quantities(usage, inputs), inputs, usage.horizon_s)
