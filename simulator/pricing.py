"""Price tables: per-second rates, request fees, billing rules, free tiers, plans, discounts.

One YAML file per offering and region in ``pricing/``; every rate carries its source
and as-of date, and rates nobody publishes are marked ``assumed``. Rates may be
written per second or per hour; sandsim works in USD per second internally.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from .model_base import FrozenModel, Provenance
from .units import DurationS, PositiveDurationS

Component = Literal["vcpu", "memory", "gpu", "requests", "snapshot", "plan", "idle"]
"""The line-item components of a bill."""
COMPONENTS: tuple[Component, ...] = (
    "vcpu",
    "memory",
    "gpu",
    "requests",
    "snapshot",
    "plan",
    "idle",
)
BillsFrom = Annotated[
    str, Field(pattern=r"^(request|admission|launch_start|ready|part:[a-z0-9_]+)$")
]
"""The lifecycle event a platform starts billing at, or ``part:<name>``: when that launch
part begins (e.g. ``part:artifact_fetch`` for "from the start of the image pull")."""


class ResourceRate(Provenance):
    """Price of one unit of a resource (vCPU, GiB, GPU) for one second or one hour."""

    usd: float = Field(ge=0)
    """Price in USD per unit per ``per``."""
    per: Literal["second", "hour"] = "second"
    """The time unit of ``usd``."""

    @property
    def usd_per_second(self) -> float:
        """The rate in USD per unit-second."""
        return self.usd / 3600.0 if self.per == "hour" else self.usd


class RequestFee(Provenance):
    """A fee per sandbox launched (per invocation, per creation)."""

    usd_per_million: float = Field(ge=0)
    """USD per one million requests."""


class BillingRules(Provenance):
    """How usage turns into billed seconds."""

    increment: PositiveDurationS
    """Billed time is rounded up to a multiple of this (1ms Lambda, 100ms Cloud Run, 1s others)."""
    minimum: DurationS = 0.0
    """Shortest billed time per sandbox (60s on Fargate)."""
    bills_from: BillsFrom
    """When billing starts: request, admission (quota slot taken), launch_start, ready, or
    part:<name> (when that launch part begins; from ready if a launch skips the part)."""


class SnapshotFees(Provenance):
    """Fees of launching from memory snapshots (Lambda SnapStart): per GiB restored, and
    for keeping the snapshot cached."""

    restore_usd_per_gib: float = Field(default=0.0, ge=0)
    """Per GiB of sandbox memory restored, for each snapshot launch."""
    cache_usd_per_gib_hour: float = Field(default=0.0, ge=0)
    """Per GiB of snapshot kept cached, per hour, for the whole horizon once used."""


class PoolBilling(Provenance):
    """How the platform bills warm pools: pre-started sandboxes waiting for a task, and
    finished ones kept for the next (keep-alive), with any rates of their own."""

    billed: bool
    """Pre-started sandboxes (fixed, hybrid_histogram and prewarm_diurnal pools) are
    billed while idle (ACI standby pools, Cloud Run minimum instances, Lambda
    provisioned concurrency)."""
    keep_alive_billed: bool
    """A finished sandbox kept warm for the next task is billed while idle (Lambda keeps
    execution environments warm for free)."""
    vcpu: ResourceRate | None = None
    """Rate per vCPU of idle pooled time, replacing the vCPU rate (null: the same)."""
    memory: ResourceRate | None = None
    """Rate per GiB of idle pooled time, replacing the memory rate (null: the same)."""
    warm_vcpu: ResourceRate | None = None
    """Rate per vCPU of a task run on a billed pool's sandbox (null: the vCPU rate)."""
    warm_memory: ResourceRate | None = None
    """Rate per GiB of a task run on a billed pool's sandbox (Lambda: the duration rate
    with provisioned concurrency; null: the memory rate)."""
    free_tier: bool = True
    """The monthly free tier also covers pooled time (Lambda's does not cover functions
    with provisioned concurrency)."""


class FreeTier(Provenance):
    """Monthly usage that is free, applied to the month's aggregate, not per sandbox."""

    vcpu_seconds: float = Field(default=0.0, ge=0)
    """Free vCPU-seconds per month."""
    gib_seconds: float = Field(default=0.0, ge=0)
    """Free GiB-seconds per month."""
    requests: float = Field(default=0.0, ge=0)
    """Free requests per month."""


class PlanFee(Provenance):
    """A monthly subscription fee that a scenario opts into (E2B Pro)."""

    monthly_usd: float = Field(ge=0)
    """The fee per month."""
    monthly_credit_usd: float = Field(default=0.0, ge=0)
    """Usage credit included each month, taken off the month's usage cost."""


class Discount(Provenance):
    """A price reduction the scenario may choose explicitly (savings plan, commitment)."""

    fraction: float = Field(ge=0, lt=1)
    """Share taken off the price, e.g. 0.2 for 20%."""
    applies_to: tuple[Component, ...] = ("vcpu", "memory", "gpu")
    """Components the discount applies to."""


class PriceTable(FrozenModel):
    """The prices of one offering in one region, with sources."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    """Identifier, e.g. "aws-fargate-linux-x86-us-east-1"."""
    offering: str
    """The platform profile id this table prices."""
    name: str
    """Human name."""
    currency: Literal["USD"] = "USD"
    """Currency of every amount in the table."""
    region: str
    """The region the prices are for."""
    as_of: str
    """The date of the newest source, YYYY-MM-DD."""
    billing: BillingRules
    """Rounding, minimum and start of billing."""
    vcpu: ResourceRate | None = None
    """Price per vCPU; null when CPU is not billed separately (Lambda bills memory only)."""
    memory: ResourceRate | None = None
    """Price per GiB of memory."""
    gpu: dict[str, ResourceRate] = Field(default_factory=dict)
    """Price per GPU, by GPU type (e.g. "l4", "h100")."""
    requests: RequestFee | None = None
    """Fee per sandbox launched."""
    snapshot: SnapshotFees | None = None
    """Fees of snapshot launches, where the platform charges them."""
    pools: PoolBilling | None = None
    """How warm pools are billed; null where nothing is published (pooled idle time is
    then assumed billed at the usual rates, and outputs say so)."""
    free_tier: FreeTier | None = None
    """Monthly free usage."""
    plans: dict[str, PlanFee] = Field(default_factory=dict)
    """Subscription plans and their monthly fees."""
    discounts: dict[str, Discount] = Field(default_factory=dict)
    """Named discounts a scenario may apply."""

    def rated_items(self) -> list[tuple[str, Provenance]]:
        """Every priced item of the table (rates, fees, billing rules, free tier, plans,
        discounts) by name, each with its source."""
        items: list[tuple[str, Provenance | None]] = [
            ("billing", self.billing),
            ("vcpu", self.vcpu),
            ("memory", self.memory),
            ("requests", self.requests),
            ("snapshot", self.snapshot),
            ("free_tier", self.free_tier),
        ]
        items += [(f"gpu.{name}", rate) for name, rate in self.gpu.items()]
        items += [(f"plans.{name}", fee) for name, fee in self.plans.items()]
        items += [(f"discounts.{name}", d) for name, d in self.discounts.items()]
        return [(name, item) for name, item in items if item is not None]

    @property
    def assumed_items(self) -> list[str]:
        """Names of the rates in this table that are assumptions, not published figures
        (pool billing is flagged where a scenario has pools: see the summary warnings)."""
        return [name for name, item in self.rated_items() if item.assumed]


def rate_text(item: Any) -> str:
    """A priced item's figure in words: a rate, a fee per million requests, or billing rules."""
    if hasattr(item, "usd") and hasattr(item, "per"):
        return f"{item.usd:g} USD per {item.per}"
    if hasattr(item, "usd_per_million"):
        return f"{item.usd_per_million:g} USD per million requests"
    if hasattr(item, "monthly_usd"):
        return f"{item.monthly_usd:g} USD per month"
    if hasattr(item, "fraction"):
        return f"{item.fraction:.0%} off"
    if hasattr(item, "increment"):
        return f"increment {item.increment:g} s, minimum {item.minimum:g} s, from {item.bills_from}"
    return ""
