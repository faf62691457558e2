"""What a fleet's host holds, made once per value: a fleet's hosts pass through a few
hundred or thousand loads (sums of a few shapes' demands), so each load is made once,
with its free room, and remembers the load one more or one fewer sandbox of each class
leads to. A placement's bookkeeping is then a lookup, not arithmetic.

The sums are the same floats, operation for operation, as adding and taking away each
sandbox's demand would give (an empty host goes back to holding exactly nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

LOADS_KEPT_AT_MOST = 1 << 16
"""Loads one table keeps at most; past it the table starts anew (loads whose sums never
repeat, as with demands that are not exact in binary, must not grow without bound)."""


class HostLoad:
    """vCPU, GiB and GPUs a host's sandboxes hold, its free vCPU and memory in shares of
    the reference host, and the loads a sandbox of a class more (``after_take``) or fewer
    (``after_release``) has led to, by class (dicts, not lists: a trace replay can have
    thousands of classes, of which a load meets few)."""

    __slots__ = ("after_release", "after_take", "room", "used")

    def __init__(self, used: tuple[float, float, float], room: tuple[float, float]) -> None:
        self.used = used
        self.room = room
        self.after_take: dict[int, HostLoad] = {}
        self.after_release: dict[int, HostLoad] = {}


class HostLoads:
    """The loads of hosts of one capacity, one object per value of what they hold."""

    def __init__(
        self,
        capacity: Sequence[float],
        reference: Sequence[float],
        demand_per_class: Sequence[Sequence[float]],
    ) -> None:
        """``capacity``: vCPU and GiB the hosts offer; ``reference``: vCPU and GiB of the
        host that free room is counted in shares of; ``demand_per_class``: vCPU, GiB and
        GPUs one sandbox of each class holds."""
        self._capacity = (float(capacity[0]), float(capacity[1]))
        self._reference = (float(reference[0]), float(reference[1]))
        self._demands = [(float(d[0]), float(d[1]), float(d[2])) for d in demand_per_class]
        self._made: dict[tuple[float, float, float], HostLoad] = {}
        self.empty = self._load((0.0, 0.0, 0.0))
        """The load of a host holding nothing."""

    def __len__(self) -> int:
        """Loads kept."""
        return len(self._made)

    def _load(self, used: tuple[float, float, float]) -> HostLoad:
        """The load holding ``used``, made if new."""
        load = self._made.get(used)
        if load is None:
            if len(self._made) >= LOADS_KEPT_AT_MOST:
                self._start_anew()
            capacity, reference = self._capacity, self._reference
            room = (
                (capacity[0] - used[0]) / reference[0],
                (capacity[1] - used[1]) / reference[1],
            )
            load = self._made[used] = HostLoad(used, room)
        return load

    def _start_anew(self) -> None:
        """Forget every load made (hosts keep theirs), links between them included, so
        loads no host holds can be freed."""
        for load in self._made.values():
            load.after_take = {}
            load.after_release = {}
        self._made = {self.empty.used: self.empty}

    def taken(self, load: HostLoad, shape_class: int) -> HostLoad:
        """The load after a sandbox of ``shape_class`` takes its place (kept on ``load``)."""
        vcpu, gib, gpus = self._demands[shape_class]
        used = load.used
        after = self._load((used[0] + vcpu, used[1] + gib, used[2] + gpus if gpus else used[2]))
        load.after_take[shape_class] = after
        return after

    def released(self, load: HostLoad, shape_class: int) -> HostLoad:
        """The load after a sandbox of ``shape_class`` leaves (kept on ``load``); the
        caller gives ``empty`` instead when no sandbox is left, so no float residue
        stays."""
        vcpu, gib, gpus = self._demands[shape_class]
        used = load.used
        after = self._load((used[0] - vcpu, used[1] - gib, used[2] - gpus if gpus else used[2]))
        load.after_release[shape_class] = after
        return after
