"""Host types and their prices, for self-hosted fleets (bare-metal and GPU hosts).

One YAML file per provider and region in ``pricing/hosts/``. Each host type gives its
vCPU, memory and GPUs, and a price per hour for each way of buying it (on demand,
reserved, savings plan, spot), each with its source; prices nobody publishes are marked
``assumed``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .inventory import MAX_HOST_GIB, MAX_HOST_GPUS, MAX_HOST_VCPU
from .model_base import Count, FrozenModel, Provenance
from .pricing import ResourceRate
from .units import DurationS, PositiveDurationS, SizeGiB

Purchase = Literal[
    "on_demand", "reserved_1y", "reserved_3y", "savings_plan_1y", "savings_plan_3y", "spot"
]
"""Ways of buying a host."""


class HostType(FrozenModel):
    """A machine a fleet can be built of."""

    vcpu: float = Field(gt=0, le=MAX_HOST_VCPU)
    """vCPU of the host (at most 4,096)."""
    memory: SizeGiB
    """Memory of the host (above 0, at most 64 TiB)."""
    gpus: Count = Field(default=0, ge=0, le=MAX_HOST_GPUS)
    """GPUs on the host (at most 64)."""
    gpu_type: str | None = None
    """Their type (e.g. "a100-40gb", "h100"), as shapes name it."""
    prices: dict[Purchase, ResourceRate]
    """Price of the whole host per purchase option (``per: hour`` usually)."""
    provenance: Provenance
    """Where the host's specification comes from."""

    @field_validator("memory")
    @classmethod
    def _some_memory(cls, value: float) -> float:
        if not 0 < value <= MAX_HOST_GIB:
            raise ValueError(
                f"{value:g} GiB: a host has above 0 and at most {MAX_HOST_GIB:,} GiB; write "
                "its size with a unit, e.g. 384GiB"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> HostType:
        if "on_demand" not in self.prices:
            raise ValueError("give at least the on_demand price")
        if self.gpus and not self.gpu_type:
            raise ValueError("a host with GPUs needs gpu_type")
        return self


class HostBilling(Provenance):
    """How host time is billed."""

    increment: PositiveDurationS = 1.0
    """Billed time is rounded up to a multiple of this."""
    minimum: DurationS = 60.0
    """Shortest billed time per host start (60 s for EC2 Linux)."""
    spot_interrupted_free_s: DurationS = 0.0
    """A spot host the provider takes back within this long of its start is not charged
    at all (EC2 Linux: its first hour); 0: charged for its time like any host."""


class CostSplit(Provenance):
    """Relative hourly weights used to split a host's price among its resources, for
    showback: a host of V vCPU, M GiB and G GPUs gives its vCPU the share
    V*vcpu_hour / (V*vcpu_hour + M*gib_hour + G*gpu_hour) of its price."""

    vcpu_hour: float = Field(gt=0)
    """Weight of one vCPU-hour."""
    gib_hour: float = Field(gt=0)
    """Weight of one GiB-hour."""
    gpu_hour: float = Field(gt=0)
    """Weight of one GPU-hour."""


class HostPriceTable(FrozenModel):
    """Host types of one provider and region, with their prices."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    """Identifier, e.g. "aws-ec2-us-east-1"."""
    name: str
    """Human name."""
    provider: str
    """Who sells the hosts."""
    currency: Literal["USD"] = "USD"
    """Currency of every price."""
    region: str
    """The region the prices are for."""
    as_of: str
    """The date of the newest source."""
    billing: HostBilling
    """Rounding and minimum of host time."""
    cost_split: CostSplit
    """How a host's price is split among vCPU, memory and GPUs for showback."""
    hosts: dict[str, HostType] = Field(min_length=1)
    """Host types by name (e.g. "m5.metal")."""
