"""Sandbox shapes (vCPU, memory, GPU) and rounding up to what a platform allows.

Platforms sell a fixed menu of sizes: Fargate a table of vCPU and memory pairs,
Lambda a memory size with CPU tied to it, Cloud Run CPU counts with memory ranges.
A requested shape is rounded up to the smallest allowed shape that covers it, and
billing charges the rounded shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .model_base import FrozenModel, Provenance
from .units import SizeGiB

_EPS = 1e-9


@dataclass(frozen=True)
class RoundedShape:
    """The shape a platform actually runs and bills."""

    vcpu: float
    memory_gib: float
    gpu_type: str | None = None
    gpu_count: int = 0

    def describe(self) -> str:
        """E.g. '2 vCPU, 4 GiB, 1x l4'."""
        gpu = f", {self.gpu_count}x {self.gpu_type}" if self.gpu_type else ""
        return f"{self.vcpu:g} vCPU, {self.memory_gib:g} GiB{gpu}"


class ShapeNotAllowed(ValueError):
    """A requested shape exceeds everything a platform offers."""


def ceil_to_step(value: float, step: float, origin: float = 0.0) -> float:
    """The smallest ``origin + k * step`` (k >= 0) that is at least ``value``."""
    if value <= origin + _EPS or step <= 0:
        return max(value, origin)
    steps = math.ceil((value - origin) / step - _EPS)
    return round(origin + steps * step, 9)


class GridRow(FrozenModel):
    """One CPU size and the memory it may be paired with."""

    vcpu: float = Field(gt=0)
    """vCPU of this row."""
    memory_min: SizeGiB
    """Smallest memory allowed with this vCPU."""
    memory_max: SizeGiB
    """Largest memory allowed with this vCPU."""
    memory_step: SizeGiB
    """Memory granularity, counted from ``memory_min``."""


class GridShapes(FrozenModel):
    """A table of vCPU sizes, each with a memory range (Fargate, Cloud Run)."""

    kind: Literal["grid"] = "grid"
    rows: tuple[GridRow, ...] = Field(min_length=1)
    """The allowed vCPU sizes and their memory ranges."""
    provenance: Provenance
    """Where the table comes from."""

    def round(self, vcpu: float, memory_gib: float) -> tuple[float, float]:
        """Smallest vCPU row that fits, then the smallest memory step in it."""
        for row in sorted(self.rows, key=lambda r: r.vcpu):
            if row.vcpu + _EPS < vcpu or row.memory_max + _EPS < memory_gib:
                continue
            memory = ceil_to_step(max(memory_gib, row.memory_min), row.memory_step, row.memory_min)
            if memory <= row.memory_max + _EPS:
                return row.vcpu, memory
        largest = max(self.rows, key=lambda r: (r.vcpu, r.memory_max))
        raise ShapeNotAllowed(
            f"{vcpu:g} vCPU with {memory_gib:g} GiB exceeds every allowed shape "
            f"(largest: {largest.vcpu:g} vCPU with up to {largest.memory_max:g} GiB)"
        )


class MemoryTiedShapes(FrozenModel):
    """Memory is chosen and CPU follows from it (Lambda: one vCPU per 1,769 MB)."""

    kind: Literal["memory_tied"] = "memory_tied"
    memory_min: SizeGiB
    """Smallest memory."""
    memory_max: SizeGiB
    """Largest memory."""
    memory_step: SizeGiB
    """Memory granularity."""
    gib_per_vcpu: SizeGiB
    """Memory that brings one full vCPU."""
    provenance: Provenance
    """Where the rule comes from."""

    def round(self, vcpu: float, memory_gib: float) -> tuple[float, float]:
        """Enough memory for both the memory asked and the vCPU asked."""
        needed = max(memory_gib, vcpu * self.gib_per_vcpu, self.memory_min)
        memory = ceil_to_step(needed, self.memory_step)
        if memory > self.memory_max + _EPS:
            raise ShapeNotAllowed(
                f"{vcpu:g} vCPU with {memory_gib:g} GiB needs {needed:g} GiB of memory; the "
                f"largest is {self.memory_max:g} GiB ({self.memory_max / self.gib_per_vcpu:.3g} vCPU)"
            )
        return memory / self.gib_per_vcpu, memory


class StepShapes(FrozenModel):
    """vCPU and memory chosen freely in steps, within ratio limits (ACI, E2B, Modal)."""

    kind: Literal["steps"] = "steps"
    vcpu_min: float = Field(gt=0)
    """Smallest vCPU."""
    vcpu_max: float = Field(gt=0)
    """Largest vCPU."""
    vcpu_step: float = Field(gt=0)
    """vCPU granularity, counted from zero."""
    memory_min: SizeGiB
    """Smallest memory."""
    memory_max: SizeGiB
    """Largest memory."""
    memory_step: SizeGiB
    """Memory granularity, counted from zero."""
    min_memory_per_vcpu: SizeGiB = 0.0
    """Memory that must come with each vCPU."""
    max_memory_per_vcpu: SizeGiB | None = None
    """Most memory allowed per vCPU; more memory raises the vCPU."""
    provenance: Provenance
    """Where the limits come from."""

    @model_validator(mode="after")
    def _ordered(self) -> StepShapes:
        if self.vcpu_max < self.vcpu_min or self.memory_max < self.memory_min:
            raise ValueError("the maximum must be at least the minimum")
        return self

    def round(self, vcpu: float, memory_gib: float) -> tuple[float, float]:
        """Round vCPU up, raise it for memory-heavy shapes, then round memory up."""
        cpu = vcpu
        if self.max_memory_per_vcpu:
            cpu = max(cpu, memory_gib / self.max_memory_per_vcpu)
        cpu = ceil_to_step(max(cpu, self.vcpu_min), self.vcpu_step)
        memory = max(memory_gib, self.memory_min, cpu * self.min_memory_per_vcpu)
        memory = ceil_to_step(memory, self.memory_step)
        if cpu > self.vcpu_max + _EPS or memory > self.memory_max + _EPS:
            raise ShapeNotAllowed(
                f"{vcpu:g} vCPU with {memory_gib:g} GiB exceeds the limit of "
                f"{self.vcpu_max:g} vCPU and {self.memory_max:g} GiB"
            )
        return cpu, memory


ShapeRules = Annotated[GridShapes | MemoryTiedShapes | StepShapes, Field(discriminator="kind")]
"""Any of the ways platforms describe the sizes they sell."""


class GpuOption(FrozenModel):
    """A GPU type a platform offers, and what must come with it."""

    type: str
    """GPU type as price tables name it, e.g. "l4", "h100", "a100-80gb"."""
    counts: tuple[int, ...] = (1,)
    """How many of this GPU one sandbox may have."""
    min_vcpu: float = 0.0
    """Smallest vCPU allowed with this GPU (Cloud Run: 4)."""
    min_memory: SizeGiB = 0.0
    """Smallest memory allowed with this GPU (Cloud Run: 16 GiB)."""
    provenance: Provenance
    """Where the offer comes from."""


def round_shape(
    rules: ShapeRules,
    gpus: tuple[GpuOption, ...],
    vcpu: float,
    memory_gib: float,
    gpu_type: str | None = None,
    gpu_count: int = 0,
) -> RoundedShape:
    """The smallest shape a platform allows that covers the request."""
    if gpu_type is None or gpu_count == 0:
        cpu, memory = rules.round(vcpu, memory_gib)
        return RoundedShape(cpu, memory)
    option = next((g for g in gpus if g.type == gpu_type), None)
    if option is None:
        offered = ", ".join(g.type for g in gpus) or "none"
        raise ShapeNotAllowed(f"GPU type {gpu_type!r} is not offered (offered: {offered})")
    count = next((c for c in sorted(option.counts) if c >= gpu_count), None)
    if count is None:
        raise ShapeNotAllowed(
            f"{gpu_count} x {gpu_type} is more than allowed (counts: {list(option.counts)})"
        )
    cpu, memory = rules.round(max(vcpu, option.min_vcpu), max(memory_gib, option.min_memory))
    return RoundedShape(cpu, memory, gpu_type, count)
