"""GPUs on a host: whole GPUs, MIG slices with their placement rules, time-sliced shares.

MIG (multi-instance GPU) splits an A100 or H100 into up to seven instances. Each profile
takes a run of the GPU's eight memory slices and may start only at certain slices; two
instances may not overlap, and their compute slices (GPCs) may not exceed seven. The
table below is NVIDIA's (MIG User Guide, "Supported MIG Profiles" and "A100/H100 MIG
Profile Placement"). Time-sliced shares let several sandboxes share one GPU up to a total
of one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from .packing import first_fit_runs

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
MIN_GPU_SHARE = 0.001
"""The smallest time-sliced share of a GPU a sandbox may ask for (a thousandth: sizing
fills a GPU share by share)."""
SHARE_SLACK = 1e-9
"""A time-sliced share fits a GPU whose room (one less the shares it gives) is at least
the share less this (float sums at capacity). Placement's gates compare the very same
two numbers (the best room, ``HostGpus.share_gates``, against the share less this), so a
host whose gates let a share in has a GPU for it (for any share above the slack itself)."""


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
        return (
            not self.whole
            and self.compute_used == 0
            and 1.0 - self.share_used >= share - SHARE_SLACK
        )


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


class GpuGrant(NamedTuple):
    """Which GPUs (and where on them) a sandbox got (a named tuple: cheap to make, as a
    GPU placement makes one unless it is one GPU alone, whose grants each host keeps)."""

    gpus: tuple[int, ...] = ()
    mig_start: int = -1


NOTHING = GpuGrant()
"""The grant of no GPU."""


class HostGpus:
    """The GPUs of one host.

    Besides each GPU's occupancy it keeps, per GPU, its load for time-sliced shares: 0 if
    nothing runs on it, the shares it gives, or infinity if a whole-GPU tenant or MIG
    instances hold it; whole GPUs, shares and the best share are then read from plain
    floats, as the fleet's placement asks for them at every change.
    """

    def __init__(self, count: int) -> None:
        self.gpus = [Gpu() for _ in range(count)]
        self._empty = count
        """GPUs nothing runs on."""
        self._load = [0.0] * count
        """Per GPU: 0 empty, its shares given, or infinity (whole or MIG)."""
        self._one = [GpuGrant((i,)) for i in range(count)]
        """A grant of each GPU alone (made once: shares are granted at every placement)."""

    def find(self, need: GpuNeed) -> GpuGrant | None:
        """Where a need fits (None if it does not); prefers GPUs already in use (packing)."""
        if need.whole:
            if self._empty < need.whole:
                return None
            if need.whole == 1:
                return self._one[self._load.index(0.0)]  # the first empty GPU
            free = [i for i, load in enumerate(self._load) if load == 0.0]
            return GpuGrant(tuple(free[: need.whole]))
        mig = need.mig
        if mig is not None:
            first_empty = -1  # GPUs in use first, then the first empty one
            for i, gpu in enumerate(self.gpus):
                if self._load[i] == 0.0:
                    if first_empty < 0:
                        first_empty = i
                    continue
                start = gpu.mig_start(mig)
                if start >= 0:
                    return GpuGrant((i,), start)
            if first_empty < 0:  # empty GPUs are alike: the first one will do
                return None
            start = self.gpus[first_empty].mig_start(mig)
            return GpuGrant((first_empty,), start) if start >= 0 else None
        share = need.share
        if share == 0.0:
            return NOTHING
        i = self._gpu_for_share(share)
        return None if i < 0 else self._one[i]

    def _gpu_for_share(self, share: float) -> int:
        """The GPU a time-sliced share goes to: the first in use with room for it, else
        the first empty one (-1: none)."""
        first_empty = -1
        for i, load in enumerate(self._load):
            if load == 0.0:
                if first_empty < 0:
                    first_empty = i
            elif 1.0 - load >= share - SHARE_SLACK:  # (as the gates compare: see SHARE_SLACK)
                return i
        if first_empty < 0 or share - SHARE_SLACK > 1.0:
            return -1
        return first_empty

    def place(self, need: GpuNeed) -> GpuGrant:
        """Take what ``find`` grants ``need`` and return it (the empty grant, taking
        nothing, if it does not fit): one call for the engine, which has checked that it
        fits."""
        grant = self.find(need)
        if grant is None:
            return NOTHING
        self.take(need, grant)
        return grant

    def take(self, need: GpuNeed, grant: GpuGrant) -> None:
        """Occupy what ``find`` granted, keeping each GPU's load."""
        loads = self._load
        for i in grant.gpus:
            gpu = self.gpus[i]
            if loads[i] == 0.0:
                self._empty -= 1
            if need.whole:
                gpu.whole = True
                loads[i] = math.inf
            elif need.mig is not None:
                gpu.place_mig(need.mig, grant.mig_start)
                loads[i] = math.inf
            else:
                loads[i] = gpu.share_used = gpu.share_used + need.share

    def release(self, need: GpuNeed, grant: GpuGrant) -> None:
        """Free what ``take`` occupied, keeping each GPU's load."""
        loads = self._load
        for i in grant.gpus:
            gpu = self.gpus[i]
            if need.whole:
                gpu.whole = False  # a whole-GPU tenant has the GPU to itself
                load = 0.0
            elif need.mig is not None:
                gpu.remove_mig(need.mig, grant.mig_start)
                load = math.inf if gpu.compute_used else 0.0
            else:
                left = gpu.share_used - need.share
                load = gpu.share_used = left if left > 1e-12 else 0.0  # no float residue
            loads[i] = load
            if load == 0.0:
                self._empty += 1

    def free_whole(self) -> int:
        """GPUs nothing runs on."""
        return self._empty

    def best_share(self) -> float:
        """The largest time-sliced share one GPU can still give (0 if none can)."""
        return self.share_gates()[1]

    def share_gates(self) -> tuple[float, float]:
        """GPUs nothing runs on (as a float) and the largest time-sliced share one GPU can
        still give (0 if none can): what whole-GPU and shared shapes need, in one call, as
        placement asks for both at every change."""
        if self._empty:
            return (float(self._empty), 1.0)
        if not self._load:
            return (0.0, 0.0)
        least = min(self._load)
        return (0.0, 1.0 - least if least < 1.0 else 0.0)

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


def gpus_needed(needs: Sequence[GpuNeed], counts: Sequence[int]) -> int:
    """GPUs that ``counts[i]`` sandboxes of each ``needs[i]`` take when packed onto empty
    GPUs by NVIDIA's rules, as the hosts' GPUs (``Gpu``) take them: whole GPUs one each;
    MIG instances and time-sliced shares never on one GPU; MIG instances largest first
    (by compute slices, then memory slices: a 4g.20gb before a 3g.20gb, so the 3g goes to
    slice 4 beside it) and shares largest first, each by first fit onto the GPUs in turn.

    The work grows with the distinct needs, not the sandboxes: identical sandboxes fill
    the GPUs in order, each as full as it goes, and GPUs left alike stay one group, so a
    run of them is placed a group at a time (one GPU of each group is filled to learn how
    many it takes: at most seven MIG instances, and a share is at least a thousandth).
    """
    if len(needs) != len(counts):
        raise ValueError(f"{len(needs)} GPU needs but {len(counts)} counts")
    whole = 0
    migs: dict[MigProfile, int] = {}
    shares: dict[float, int] = {}
    for need, count in zip(needs, counts, strict=True):
        if count < 0:
            raise ValueError(f"a count of sandboxes must be at least 0, not {count}")
        if need.mig is not None:
            migs[need.mig] = migs.get(need.mig, 0) + int(count)
        elif need.whole:
            whole += need.whole * int(count)
        elif need.share > 0.0:
            if need.share - SHARE_SLACK > 1.0:
                raise ValueError(f"a time-sliced share is at most one GPU, not {need.share}")
            shares[need.share] = shares.get(need.share, 0) + int(count)
    mig_order = sorted(migs, key=lambda p: (p.compute_slices, p.memory_slices), reverse=True)
    share_order = sorted(shares, reverse=True)
    return (
        whole
        + _first_fit_runs([(GpuNeed(mig=p), migs[p]) for p in mig_order])
        + _first_fit_runs([(GpuNeed(share=s), shares[s]) for s in share_order])
    )


def _copy(gpu: Gpu) -> Gpu:
    return Gpu(gpu.whole, list(gpu.memory_used), gpu.compute_used, gpu.share_used)


def _fill(gpu: Gpu, need: GpuNeed, most: int) -> int:
    """Place up to ``most`` of ``need`` on ``gpu`` (changing it) as ``HostGpus`` would,
    one after another; how many went."""
    placed = 0
    while placed < most:
        if need.mig is not None:
            start = gpu.mig_start(need.mig)
            if start < 0:
                break
            gpu.place_mig(need.mig, start)
        else:
            if not gpu.share_fits(need.share):
                break
            gpu.share_used = gpu.share_used + need.share
        placed += 1
    return placed


def _first_fit_runs(runs: list[tuple[GpuNeed, int]]) -> int:
    """GPUs first fit opens for the runs of identical needs, in the order given."""

    def fill(gpu: Gpu | None, need: GpuNeed, most: int) -> tuple[Gpu, int]:
        after = Gpu() if gpu is None else _copy(gpu)
        return after, _fill(after, need, most)

    return first_fit_runs(runs, fill)
