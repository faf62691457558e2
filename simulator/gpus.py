"""GPUs on a host: whole GPUs, MIG slices with their placement rules, time-sliced shares.

MIG (multi-instance GPU) splits an A100 or H100 into up to seven instances. Each profile
takes a run of the GPU's eight memory slices and may start only at certain slices; two
instances may not overlap, and their compute slices (GPCs) may not exceed seven. The
table below is NVIDIA's (MIG User Guide, "Supported MIG Profiles" and "A100/H100 MIG
Profile Placement"). Time-sliced shares let several sandboxes share one GPU up to a total
of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SOURCE = "NVIDIA Multi-Instance GPU User Guide, Supported MIG Profiles and placement diagrams (docs.nvidia.com/datacenter/tesla/mig-user-guide)"


@dataclass(frozen=True)
class MigProfile:
    """One MIG instance size: compute slices, memory slices, and where it may start."""

    name: str
    compute_slices: int
    memory_slices: int
    starts: tuple[int, ...]


_A100_40 = (
    MigProfile("1g.5gb", 1, 1, (0, 1, 2, 3, 4, 5, 6)),
    MigProfile("1g.10gb", 1, 2, (0, 2, 4, 6)),
    MigProfile("2g.10gb", 2, 2, (0, 2, 4)),
    MigProfile("3g.20gb", 3, 4, (0, 4)),
    MigProfile("4g.20gb", 4, 4, (0,)),
    MigProfile("7g.40gb", 7, 8, (0,)),
)
_80GB = (
    MigProfile("1g.10gb", 1, 1, (0, 1, 2, 3, 4, 5, 6)),
    MigProfile("1g.20gb", 1, 2, (0, 2, 4, 6)),
    MigProfile("2g.20gb", 2, 2, (0, 2, 4)),
    MigProfile("3g.40gb", 3, 4, (0, 4)),
    MigProfile("4g.40gb", 4, 4, (0,)),
    MigProfile("7g.80gb", 7, 8, (0,)),
)
MIG_PROFILES: dict[str, dict[str, MigProfile]] = {
    "a100-40gb": {p.name: p for p in _A100_40},
    "a100-80gb": {p.name: p for p in _80GB},
    "h100": {p.name: p for p in _80GB},
    "h100-80gb": {p.name: p for p in _80GB},
}
MEMORY_SLICES = 8
COMPUTE_SLICES = 7


def mig_profile(gpu_type: str, name: str) -> MigProfile:
    """A MIG profile of a GPU type, or a ValueError naming the ones that exist."""
    table = MIG_PROFILES.get(gpu_type)
    if table is None:
        raise ValueError(
            f"GPU {gpu_type!r} has no MIG profiles (MIG GPUs: {', '.join(MIG_PROFILES)})"
        )
    if name not in table:
        raise ValueError(f"{gpu_type} has no MIG profile {name!r} (profiles: {', '.join(table)})")
    return table[name]


@dataclass
class Gpu:
    """One GPU's occupancy: a whole-GPU tenant, MIG instances, or time-sliced shares."""

    whole: bool = False
    memory_used: list[bool] = field(default_factory=lambda: [False] * MEMORY_SLICES)
    compute_used: int = 0
    share_used: float = 0.0

    @property
    def empty(self) -> bool:
        """Nothing runs on it."""
        return not self.whole and self.compute_used == 0 and self.share_used <= 1e-12

    def mig_start(self, profile: MigProfile) -> int:
        """Where a MIG instance could start on this GPU (-1: nowhere)."""
        if self.whole or self.share_used > 1e-12:
            return -1
        if self.compute_used + profile.compute_slices > COMPUTE_SLICES:
            return -1
        for start in profile.starts:
            if not any(self.memory_used[start : start + profile.memory_slices]):
                return start
        return -1

    def place_mig(self, profile: MigProfile, start: int) -> None:
        """Occupy a MIG instance's slices."""
        for slot in range(start, start + profile.memory_slices):
            self.memory_used[slot] = True
        self.compute_used += profile.compute_slices

    def remove_mig(self, profile: MigProfile, start: int) -> None:
        """Free a MIG instance's slices."""
        for slot in range(start, start + profile.memory_slices):
            self.memory_used[slot] = False
        self.compute_used -= profile.compute_slices

    def share_fits(self, share: float) -> bool:
        """Whether a time-sliced share fits."""
        return not self.whole and self.compute_used == 0 and self.share_used + share <= 1 + 1e-9


@dataclass(frozen=True)
class GpuNeed:
    """What a sandbox asks of a host's GPUs: whole GPUs, one MIG instance, or a share."""

    whole: int = 0
    mig: MigProfile | None = None
    share: float = 0.0

    @property
    def units(self) -> float:
        """GPUs this takes: its count, a MIG instance's compute share, or its share."""
        if self.mig is not None:
            return self.mig.compute_slices / COMPUTE_SLICES
        return float(self.whole) + self.share

    @property
    def none(self) -> bool:
        """No GPU at all."""
        return self.whole == 0 and self.mig is None and self.share == 0.0


@dataclass(frozen=True)
class GpuGrant:
    """Which GPUs (and where on them) a sandbox got."""

    gpus: tuple[int, ...] = ()
    mig_start: int = -1


class HostGpus:
    """The GPUs of one host."""

    def __init__(self, count: int) -> None:
        self.gpus = [Gpu() for _ in range(count)]
        self._empty = count
        """GPUs nothing runs on, kept as sandboxes take and release them."""

    def find(self, need: GpuNeed) -> GpuGrant | None:
        """Where a need fits (None if it does not); prefers GPUs already in use (packing)."""
        if need.none:
            return GpuGrant()
        if need.whole:
            free = [i for i, g in enumerate(self.gpus) if g.empty]
            return GpuGrant(tuple(free[: need.whole])) if len(free) >= need.whole else None
        order: list[int] | range = range(len(self.gpus))  # GPUs in use first, then empty ones
        if 0 < self._empty < len(self.gpus):
            order = [i for i, g in enumerate(self.gpus) if not g.empty]
            order += [i for i, g in enumerate(self.gpus) if g.empty]
        if need.mig is not None:
            for i in order:
                start = self.gpus[i].mig_start(need.mig)
                if start >= 0:
                    return GpuGrant((i,), start)
            return None
        for i in order:
            if self.gpus[i].share_fits(need.share):
                return GpuGrant((i,))
        return None

    def take(self, need: GpuNeed, grant: GpuGrant) -> None:
        """Occupy what ``find`` granted."""
        for i in grant.gpus:
            gpu = self.gpus[i]
            self._empty -= gpu.empty
            if need.whole:
                gpu.whole = True
            elif need.mig is not None:
                gpu.place_mig(need.mig, grant.mig_start)
            else:
                gpu.share_used += need.share

    def release(self, need: GpuNeed, grant: GpuGrant) -> None:
        """Free what ``take`` occupied."""
        for i in grant.gpus:
            gpu = self.gpus[i]
            if need.whole:
                gpu.whole = False
            elif need.mig is not None:
                gpu.remove_mig(need.mig, grant.mig_start)
            else:
                gpu.share_used = max(0.0, gpu.share_used - need.share)
            self._empty += gpu.empty

    def free_whole(self) -> int:
        """GPUs nothing runs on."""
        return self._empty

    def best_share(self) -> float:
        """The largest time-sliced share one GPU can still give (0 if none can)."""
        room = [1.0 - g.share_used for g in self.gpus if not g.whole and g.compute_used == 0]
        return max(room, default=0.0)

    def used_fraction(self) -> float:
        """GPUs in use, counting a MIG instance by its compute slices and a share by its size."""
        total = 0.0
        for g in self.gpus:
            total += (
                1.0
                if g.whole
                else g.compute_used / COMPUTE_SLICES
                if g.compute_used
                else g.share_used
            )
        return total
