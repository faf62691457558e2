"""A self-hosted fleet: sandboxes placed on hosts, hosts that boot, drain and go away.

The fleet replaces the quota of a managed platform: a sandbox is admitted when a running
host has room for it (vCPU and memory after overcommit and the system's reserve, plus
its GPUs, MIG instance or GPU share), placed by the fleet's policy (first, best or worst
fit, or dot product; see ``simulator.packing``). When a sandbox waits, or utilisation
rises above the target, the autoscaler boots a host (up to the maximum), which joins
after a sampled boot time; a host left empty for the idle cooldown is released (never
below the minimum), and when utilisation falls well below the target the least-loaded
host is drained (it takes no new sandboxes and goes when empty). Spot hosts can be taken
back at any time; their sandboxes are lost and queue again.

It keeps, as exact time integrals, the hosts running, the resources allocated and
available, the capacity stranded (free room no sandbox of the platform fits in), and the
volume lower bound on the hosts needed, for utilisation and packing figures. Placement
is indexed (``packing.PlacementIndex``: the same picks as a scan over every host, at a
few heap operations per sandbox); the allocations' integrals and the stranded room are
taken from the sandboxes' holds after the run (``stranded``), as placement is the hot
path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..distributions import DistributionSpec, FloatArray
from ..gpus import NOTHING, SHARE_SLACK, GpuGrant, GpuNeed, HostGpus, gpus_needed
from ..packing import OnlinePolicy, PlacementIndex, choose, first_fit_decreasing_hosts
from .activations import Activations
from .admission import Limits
from .dynamic import DynamicEngine, FixedLatencyLauncher
from .loads import HostLoad, HostLoads
from .stranded import GateLog, host_rows, stranded_integral, stranded_while_waiting_integral

HostState = Literal["booting", "running", "draining", "gone"]
CLOSED = -1.0
"""Free room given for a host that takes no new sandboxes, so no demand fits it."""
INDEXED_SHAPES_AT_MOST = 8
"""Placement is indexed for runs of at most this many shapes, else scanned. Measured with
30,000 sandboxes on 200 hosts: with 3 to 8 shapes the index took 0.5 to 0.9 of a scan's
time; with 16 or more it took longer (each host's change is pushed to every shape)."""
SIZE_ON_RUNNING_AT_MOST = 256
"""Waiting requests behind the head that scale-out tries on the running hosts' free room
before sizing new hosts for the rest (each try is a pass over the hosts)."""
SCALE_OUT_EVERY_S = 1.0
"""While sandboxes wait, the waiting queue is sized again at most this often (and, while
hosts boot, again as requests join it)."""


def arrived_and_next(
    queue: list[tuple[float, int]], now: float
) -> tuple[list[tuple[float, int]], float]:
    """The entries of a heap queue of (time, request) that have come by ``now`` (in no
    order), and the time of the next one to come (infinity: none). A walk down the heap
    that stops at entries still to come (their subtrees come later still): it costs the
    requests come, not the whole queue, which holds every request known ahead."""
    come: list[tuple[float, int]] = []
    next_s = math.inf
    size = len(queue)
    stack = [0] if size else []
    while stack:
        node = stack.pop()
        entry = queue[node]
        at = entry[0]
        if at <= now:
            come.append(entry)
            child = 2 * node + 1
            if child < size:
                stack.append(child)
                if child + 1 < size:
                    stack.append(child + 1)
        elif at < next_s:
            next_s = at
    return come, next_s


@dataclass(frozen=True)
class HostKindModel:
    """The engine's view of one kind of host: its room for sandboxes and its GPUs."""

    name: str
    capacity: tuple[float, float]
    """vCPU and GiB a host offers sandboxes (after overcommit and the system's reserve)."""
    gpus: int
    gpu_type: str | None = None


@dataclass(frozen=True)
class FleetModel:
    """The engine's view of a fleet: an autoscaled host type, or a fixed inventory of
    hosts of several kinds (all running from the start, never released)."""

    host_type: str
    capacity: tuple[float, float]
    """vCPU and GiB a host of the autoscaled type offers sandboxes (after overcommit and
    the system's reserve); free room is counted in shares of it."""
    gpus: int
    placement: OnlinePolicy
    min_hosts: int
    max_hosts: int
    target_utilisation: float
    scale_out_when_waiting: bool
    boot_time: DistributionSpec
    idle_cooldown_s: float
    interval_s: float
    committed_hosts: int
    spot_share: float
    """Share of the hosts beyond the committed ones that are spot, those started for
    ``min_hosts`` included (in turn: host by host, a running sum of the share)."""
    spot_interruptions_per_s: float
    demand_per_class: tuple[tuple[float, float], ...]
    """vCPU and GiB one sandbox of each shape class takes (its shape plus the overhead);
    class ``w`` is workload ``w``'s shape."""
    gpu_need_per_class: tuple[GpuNeed, ...]
    kinds: tuple[HostKindModel, ...] = ()
    """Kinds of fixed host (empty: every host is of the autoscaled type)."""
    spot_max_restarts: int = 3
    """A sandbox lost to spot interruptions more often than this is given up."""
    inventory: tuple[int, ...] = ()
    """Kind of each fixed host; a fixed fleet neither grows nor shrinks."""
    gpu_type_per_class: tuple[str | None, ...] = ()
    """The GPU type a class must run on (None or empty: any)."""
    class_of_trace_row: tuple[npt.NDArray[np.int64] | None, ...] = ()
    """Per workload replaying per-request shapes: the class of each trace row."""
    purchase: str = "on_demand"
    """How hosts neither committed nor spot are bought, as hosts are labelled in the
    record (e.g. a fixed inventory's "reserved_1y"; the engine knows no prices)."""
    taint_gpu_hosts: bool = False
    """Keep sandboxes without GPUs off hosts with GPUs, where the fleet has hosts without
    GPUs too (as a Kubernetes taint on GPU nodes does): GPU work is not starved."""

    @property
    def fixed(self) -> bool:
        """Whether the fleet is a fixed inventory."""
        return bool(self.inventory)

    def host_kinds(self) -> tuple[HostKindModel, ...]:
        """The kinds of host (the autoscaled type alone when there is no inventory)."""
        if self.kinds:
            return self.kinds
        return (HostKindModel(self.host_type, self.capacity, self.gpus),)

    def class_of(
        self, workload_index: npt.NDArray[np.int32], trace_row: npt.NDArray[np.int64] | None
    ) -> npt.NDArray[np.int64]:
        """The shape class of each activation: its workload's, or its trace row's for the
        first ``trace_row.size`` activations (the one-shot requests, in the same order)."""
        classes = workload_index.astype(np.int64)
        if trace_row is None or not any(m is not None for m in self.class_of_trace_row):
            return classes
        head = classes[: trace_row.size]
        for w, row_class in enumerate(self.class_of_trace_row):
            if row_class is None:
                continue
            mine = (head == w) & (trace_row >= 0)
            head[mine] = row_class[trace_row[mine]]
        return classes


def _room(kind: HostKindModel) -> tuple[float, float, float]:
    """vCPU, GiB and GPUs a host of ``kind`` offers sandboxes."""
    return (float(kind.capacity[0]), float(kind.capacity[1]), float(kind.gpus))


def _minimal_needs(needs: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """The needs that no other need is at most as large as in every part."""
    unique = sorted(set(needs))
    return [
        a
        for a in unique
        if not any(b != a and all(x <= y for x, y in zip(b, a, strict=True)) for b in unique)
    ]


def _largest(kinds: tuple[HostKindModel, ...]) -> tuple[float, float]:
    """vCPU and GiB of the largest room any kind offers (the reference host)."""
    return (max(k.capacity[0] for k in kinds), max(k.capacity[1] for k in kinds))


@dataclass
class Host:
    """One host of the fleet."""

    index: int
    purchase: str
    """How it was bought: "committed", "spot", or as the fleet buys the rest
    (``FleetModel.purchase``)."""
    state: HostState
    started_s: float
    load: HostLoad
    """What its sandboxes hold, and its free room."""
    ready_s: float = math.nan
    ended_s: float = math.nan
    kind: int = 0
    capacity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """vCPU, GiB and GPUs it offers sandboxes."""
    sandboxes: set[int] = field(default_factory=set)
    gpus: HostGpus = field(default_factory=lambda: HostGpus(0))
    idle_since: float = math.nan
    last_release_s: float = 0.0
    gates: tuple[float, ...] = ()
    """Its GPU gates for placement when it last ran (see FleetEngine._gates_of)."""
    interrupted_s: float = math.nan
    """When the provider took it back (a spot host; NaN: never)."""
    look: int = 0
    """Number of the latest look scheduled at it while empty (older looks do nothing)."""

    @property
    def used(self) -> tuple[float, float, float]:
        """vCPU, GiB and GPUs its sandboxes hold."""
        return self.load.used


@dataclass(frozen=True)
class LostHolds:
    """Room held by sandboxes on hosts the provider took back, until it did: each row
    one such hold (the sandbox then queued again, and its last hold is its own)."""

    activation: npt.NDArray[np.int64]
    start_s: FloatArray
    end_s: FloatArray
    host: npt.NDArray[np.int64]


@dataclass(frozen=True)
class FleetRecord:
    """What the fleet did: its hosts' lives and its time integrals."""

    purchase: tuple[str, ...]
    """How each host was bought: "committed", "spot", or as the fleet buys the rest
    (e.g. "on_demand", or an inventory's "reserved_1y")."""
    started_s: FloatArray
    ended_s: FloatArray
    host_seconds: float
    peak_hosts: int
    mean_hosts: float
    allocated_integral: FloatArray
    """Integral over time of allocated vCPU, GiB and GPUs."""
    capacity_integral: FloatArray
    """Integral over time of the running hosts' vCPU, GiB and GPUs."""
    stranded_integral: FloatArray
    """Integral over time of free vCPU, GiB and GPUs that no shape the platform ran fits in."""
    lower_bound_integral: float
    """Integral over time of the volume lower bound on the hosts the allocations need."""
    interruptions: int
    """Spot hosts taken back within the horizon (one still up at its end is taken back
    later, as the run finishes the work requested within it, or once it has: such a
    loss of a sandbox counts in ``lost_sandboxes``, not here)."""
    lost_sandboxes: int
    """Losses of a sandbox with a spot host taken back (a sandbox lost twice counts
    twice): each queued it again (a restart) or, past ``spot_max_restarts``, gave it up
    (``dropped_sandboxes``), so this is the restarts plus the sandboxes given up."""
    host_of: np.ndarray
    """Host of each activation's (last) placement (-1: never placed)."""
    span_s: float
    kind_of: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    """Kind of each host (empty: all of the one kind)."""
    class_of: npt.NDArray[np.int64] | None = None
    """Shape class of each activation (None: its workload's)."""
    gpu_seconds: float = 0.0
    """GPUs held times run time (ready to end) summed over sandboxes, MIG instances and
    shares counted by their part of a GPU."""
    billed_end_s: FloatArray | None = None
    """Per host: where its billed life ends (its end, or the horizon if later; its start
    for a host started after the horizon). None: its end."""
    tail_host_s: FloatArray | None = None
    """Per host: the host-seconds its sandboxes' work after the horizon is worth (time
    after the horizon times the largest share of the host they held), billed instead of
    the host's own life after the horizon."""
    dropped_sandboxes: int = 0
    """Sandboxes given up after losing their host to spot interruptions too often."""
    interrupted_s: FloatArray | None = None
    """Per host: when the provider took it back (NaN: never; None: no host was)."""
    lost_holds: LostHolds | None = None
    """The room sandboxes held on hosts taken back, before they were lost (None: none)."""
    stranded_while_waiting_integral: FloatArray = field(default_factory=lambda: np.zeros(3))
    """Integral over time of free vCPU and GiB no waiting sandbox fits in, while sandboxes
    wait for capacity, and of free GPUs no waiting sandbox with GPUs fits in, while one
    waits."""
    boots: int = 0
    """Hosts booted within the horizon (hosts there from the start are not booted)."""
    kind_names: tuple[str, ...] = ()
    """Name of each kind of host (``kind_of`` indexes it; empty: not known)."""
    grows: bool = True
    """Whether the fleet could add hosts (not a fixed inventory, nor as many hosts at
    least, or committed, as at most). One that cannot has its hosts paid for the whole
    horizon: no tail is billed after it, and sandboxes are shown back what they held
    within it."""

    def billed_ends(self) -> FloatArray:
        """Per host: where its billed life ends."""
        return self.ended_s if self.billed_end_s is None else self.billed_end_s

    def tail_seconds(self) -> FloatArray:
        """Per host: host-seconds billed for work after the horizon."""
        return np.zeros(self.started_s.size) if self.tail_host_s is None else self.tail_host_s


class FleetEngine(DynamicEngine):
    """The general engine with a fleet of hosts as its capacity.

    Each host holds a load made once per value (``loads.HostLoads``: what it holds and
    its free room in shares of the reference host), so taking and releasing room is a
    lookup; placement picks from ``packing.PlacementIndex`` (or a scan over every host);
    the time integrals are kept as running totals, updated when a host changes.
    """

    def __init__(
        self,
        acts: Activations,
        call_run_s: FloatArray,
        latency_s: FloatArray,
        fleet: FleetModel,
        rng: np.random.Generator,
        horizon_s: float,
        class_of: npt.NDArray[np.int64] | None = None,
        placement_lookup: Literal["auto", "index", "scan"] = "auto",
    ) -> None:
        """``placement_lookup``: keep the policy's picks in an index, or look over every
        host at each placement (``choose``); the picks are the same. ``auto`` indexes when
        the run places at most INDEXED_SHAPES_AT_MOST shapes (the index's work grows with
        the shapes, a scan's does not)."""
        super().__init__(acts, call_run_s, Limits(), [], FixedLatencyLauncher(latency_s))
        # hosts can go away, so a request is decided at its own time: the clock moves to
        # it when no event comes first, else a wake-up stops there
        self._advance_clock = True
        self._plain = False
        self.fleet = fleet
        self._rng = rng
        self._horizon = horizon_s
        classes = np.asarray(acts.workload_index, dtype=np.int64) if class_of is None else class_of
        self._class_array = classes
        self._scan = placement_lookup == "scan" or (
            placement_lookup == "auto" and np.unique(classes).size > INDEXED_SHAPES_AT_MOST
        )
        self._class_of = classes.tolist()
        """Shape class of each activation (a list: read one at a time on the hot path)."""
        self._demand = np.asarray(fleet.demand_per_class, dtype=np.float64).reshape(-1, 2)
        self._kinds = fleet.host_kinds()
        self._capacity = np.asarray(
            fleet.capacity if not fleet.fixed else _largest(self._kinds), dtype=np.float64
        )
        """The reference host: free room and demands are counted in shares of it."""
        self._share = self._demand / self._capacity
        self._needs = fleet.gpu_need_per_class
        self._gpu_type = fleet.gpu_type_per_class or (None,) * len(self._needs)
        self._gpu_room = np.full((8, 2), CLOSED)
        """Per host (rows by index, room for more hosts below): GPUs nothing runs on, and
        the largest share one of its GPUs can still give (-1 unless running; kept when
        placement scans)."""
        self._without_gpu = [n.none for n in self._needs]
        """Per class: whether it needs no GPU (a list: read one at a time on the hot path)."""
        self._hosts_of_gpu_type: dict[str, npt.NDArray[np.bool_]] = {}
        """Per GPU type: which hosts of a fixed fleet have it."""
        self._hosts_with_gpus: npt.NDArray[np.bool_] | None = None
        """Which hosts of a fixed fleet have GPUs (``_with_gpus``)."""
        self._hosts: list[Host] = []
        self._mig_needs = list({n.mig: n for n in self._needs if n.mig is not None}.values())
        """One need per MIG profile the classes ask for (each has a gate)."""
        self._required_types = sorted(
            {t for t, n in zip(self._gpu_type, self._needs, strict=True) if t and not n.none}
            if fleet.fixed
            else set()
        )
        self._tainted = (
            fleet.taint_gpu_hosts
            and any(kind.gpus for kind in self._kinds)
            and not all(kind.gpus for kind in self._kinds)
        )
        """Whether hosts with GPUs take no sandbox without GPUs (``taint_gpu_hosts``, on a
        fleet with hosts of both): a gate of its own, open on hosts without GPUs."""
        self._gated = any(not need.none for need in self._needs) or self._tainted
        """Shapes fit by gates: whole GPUs free, best share, each MIG profile's room,
        each GPU type a shape asks for (fixed fleets), no GPUs (tainted fleets)."""
        self._type_gates = [
            tuple(1.0 if t == kind.gpu_type else 0.0 for t in self._required_types)
            + ((0.0 if kind.gpus else 1.0,) if self._tainted else ())
            for kind in self._kinds
        ]
        """Per kind of host: 1 for each GPU type a shape asks for that it has, else 0; then
        on a tainted fleet 1 if it has no GPUs, else 0."""
        self._share_gate = any(n.share for n in self._needs)
        """Whether a shape asks for a GPU share (else the best share is not looked at)."""
        self._share_gates_only = not (
            self._mig_needs or self._required_types or not self._share_gate or self._tainted
        )
        """Whether the gates are only GPUs free and the best share (``_gates_of``)."""
        self._sizing_room, self._sizing_demand = self._sizing()
        self._part_classes = (
            [w for w, n in enumerate(self._needs) if n.mig is not None or n.share]
            if fleet.gpus
            else []
        )
        """Classes asking for a MIG instance or a GPU share (sized by ``gpus_needed``)."""
        gate_needs = self._gate_needs()
        self._index = PlacementIndex(fleet.placement, self._share, gate_needs)
        self._pick: Callable[[int], int] = self._scan_for if self._scan else self._index.choose
        """The host for a class (-1: none fits), by the index or a scan."""
        self._gate_need_rows = gate_needs
        """Per class: what it needs of each gate (-inf: nothing; see ``_gate_needs``)."""
        self._gate_count = len(gate_needs[0]) if gate_needs else 0
        self._host_of = [-1] * acts.size
        self._hold_start = [math.nan] * acts.size
        """When each activation's sandbox took its place on a host (NaN: holds none)."""
        self._early_holds: list[tuple[int, float, float, int, int]] = []
        """Class, start, end and host of holds cut short by a lost host."""
        self._queued_s: dict[int, float] = {}
        """When sandboxes lost with a spot host queued again (by activation)."""
        self._earlier_waits: list[tuple[int, float, float]] = []
        """Class, start and end of waits for capacity before a sandbox's last (those of
        sandboxes lost with a spot host, which then queued again), logged as they end;
        ``fleet_metrics.capacity_waits`` reads the same waits back from the record."""
        self._running_changes: list[tuple[float, int, int]] = []
        """Time, host and +1 or -1 as hosts start and stop taking sandboxes: for the
        stranded room, replayed from the holds after the run (see ``stranded``)."""
        self._gate_log_s: list[float] = []
        self._gate_log_host: list[int] = []
        self._gate_log: list[float] = []
        """When, on which host with GPUs, and to what (``_gate_count`` figures a change)
        its GPU gates changed while it ran: whether a shape with GPUs fits, for the
        stranded room too. Flat lists of numbers: the garbage collector skips them."""
        self._grant: list[GpuGrant | None] = [None] * acts.size
        self._chosen = -1
        """The host ``_fits`` chose, for ``_take`` (which follows it at once)."""
        self._spot_live = 0
        self._uncommitted_live = 0
        """Spot hosts, and hosts not committed, that are not gone: a host started is spot
        while spot hosts are fewer than ``spot_share`` of these (its own start counted), so
        a spot host taken back is replaced by a spot host and the share holds."""
        self._committed = 0
        """Committed hosts started (a count: a fleet of thousands starts host by host)."""
        self._boot_block: list[float] = []
        self._last_scale_out_s = -math.inf
        self._not_gone: dict[int, Host] = {}
        """Hosts booting, running or draining, in the order started: what the autoscaler
        looks over (``_hosts`` keeps every host ever started)."""
        # running totals of the hosts' state, and their integrals over the horizon (the
        # allocations' integrals are taken from the sandboxes' holds at the end)
        self._last_s = 0.0
        self._running = 0
        self._count: dict[HostState, int] = {"booting": 0, "running": 0, "draining": 0, "gone": 0}
        self._host_int = 0.0
        self._cap_int = [0.0, 0.0, 0.0]
        self._capacity3 = [float(self._capacity[0]), float(self._capacity[1]), float(fleet.gpus)]
        self._cap_total = [0.0, 0.0, 0.0]
        """vCPU, GiB and GPUs offered by running and draining hosts."""
        self._bound_cumulative = (
            [
                np.cumsum(
                    sorted(
                        (_room(k)[r] for k in (self._kinds[i] for i in fleet.inventory)),
                        reverse=True,
                    )
                )
                for r in range(3)
            ]
            if fleet.fixed
            else None
        )
        """For a fixed fleet: per resource, the room of the largest hosts added up."""
        self._demand3 = [
            [float(d[0]), float(d[1]), need.units]
            for d, need in zip(self._demand, self._needs, strict=True)
        ]
        self._loads = [
            HostLoads(_room(kind)[:2], self._capacity3[:2], self._demand3) for kind in self._kinds
        ]
        """Per kind of host: its hosts' loads, each made once."""
        self._held_by_class = [0] * len(self._demand3)
        """Sandboxes holding room on a host, per class (see ``_held``)."""
        self._peak = 0
        self.interruptions = 0
        self.boots = 0
        """Hosts booted within the horizon."""
        self.lost = 0
        self.dropped = 0
        self._building = True
        """While the first hosts start: nothing is placed until all of them are up."""
        if fleet.fixed:
            for kind in fleet.inventory:
                self._start_host(ready_now=True, kind=kind)
        else:
            for _ in range(max(fleet.min_hosts, fleet.committed_hosts)):
                self._start_host(ready_now=True)
            self.at(0.0, [lambda _event: self._autoscale()], 0)
        self._building = False

    # ------------------------------------------------------------------ time integrals
    def _account(self) -> None:
        """Integrate the hosts' totals since the last change (over the horizon only); call
        before a host starts or stops running."""
        now = min(self.env._now, self._horizon)
        elapsed = now - self._last_s
        if elapsed <= 0:
            return
        if self._running:
            self._host_int += elapsed * self._running
            cap_int, cap_total = self._cap_int, self._cap_total
            for r in range(3):
                cap_int[r] += elapsed * cap_total[r]
        self._last_s = now

    def _gate_needs(self) -> list[list[float]]:
        """Per class: what it needs of each gate (see ``_gates_of``); -inf: nothing."""
        gates = 2 + len(self._mig_needs) + len(self._required_types) + self._tainted
        needs = []
        for need, gpu_type in zip(self._needs, self._gpu_type, strict=True):
            row = [-math.inf] * gates
            if need.mig is not None:
                row[2 + [n.mig for n in self._mig_needs].index(need.mig)] = 0.5
            elif need.share:
                row[1] = need.share - SHARE_SLACK
            elif need.whole:
                row[0] = float(need.whole)
            if not need.none and gpu_type in self._required_types:
                row[2 + len(self._mig_needs) + self._required_types.index(gpu_type)] = 0.5
            if need.none and self._tainted:  # only where the host has no GPUs
                row[-1] = 0.5
            needs.append(row)
        return needs

    def _gates_of(self, host: Host) -> tuple[float, ...]:
        """A running host's gates: GPUs free, the largest share a GPU can give (both -1
        without GPUs), 1 for each MIG profile that can be placed on it (else 0), 1 for
        each GPU type it has, and on a tainted fleet 1 if it has no GPUs."""
        types = self._type_gates[host.kind]
        if not host.capacity[2]:
            return (CLOSED, CLOSED) + (0.0,) * len(self._mig_needs) + types
        gpus = host.gpus
        gates: tuple[float, ...] = (
            gpus.share_gates() if self._share_gate else (float(gpus.free_whole()), 0.0)
        )
        if self._mig_needs:
            gates += tuple(0.0 if gpus.find(need) is None else 1.0 for need in self._mig_needs)
        return gates + types if types else gates

    def _host_changed(self, host: Host) -> None:
        """Refresh a host's row of free room and its GPU gates as it starts or stops taking
        sandboxes (``_set_state``; a sandbox taking or leaving its place refreshes the row
        in ``_take`` and ``_release``)."""
        i = host.index
        if host.state != "running":
            self._index.close(i)  # takes no new sandboxes
            self._gpu_room[i] = CLOSED
            return
        if not self._gated:
            gates: tuple[float, ...] = ()
        elif host.capacity[2]:
            gates = self._new_gates(host)
        else:  # no GPUs: no shape with GPUs fits it, and its gates never change
            gates = self._gates_of(host)
            if self._tainted and gates != host.gates:  # (logged: shapes without GPUs fit)
                self._gate_log_s.append(self.env._now)
                self._gate_log_host.append(i)
                self._gate_log.extend(gates)
            host.gates = gates
        self._index.set_free(i, host.load.room, gates)

    def _new_gates(self, host: Host) -> tuple[float, ...]:
        """The GPU gates of a running host with GPUs, after its GPUs changed (or as it
        starts running): kept on the host and, if they changed, logged (for the stranded
        room; the host's last row stays true); when placement scans, kept in its arrays
        (closed while the host did not run)."""
        gates = host.gpus.share_gates() if self._share_gates_only else self._gates_of(host)
        if gates == host.gates:
            gates = host.gates  # (the same tuple: set_free's memo then hashes no new one)
        else:
            host.gates = gates
            self._gate_log_s.append(self.env._now)
            self._gate_log_host.append(host.index)
            self._gate_log.extend(gates)
        if self._scan:  # the scan reads GPU room from these rows
            self._gpu_room[host.index] = gates[:2]
        return gates

    def _set_state(self, host: Host, state: HostState) -> None:
        """Move a host to ``state``, keeping the counts, totals and its rows."""
        self._account()
        was_up = host.state in ("running", "draining")
        if (host.state == "running") != (state == "running"):
            self._running_changes.append(
                (self.env._now, host.index, 1 if state == "running" else -1)
            )
        self._count[host.state] -= 1
        self._count[state] += 1
        host.state = state
        if state == "gone":
            del self._not_gone[host.index]
            if host.purchase != "committed":
                self._uncommitted_live -= 1
                self._spot_live -= host.purchase == "spot"
        is_up = state in ("running", "draining")
        if was_up != is_up:
            self._running += 1 if is_up else -1
            sign = 1.0 if is_up else -1.0
            for r in range(3):
                self._cap_total[r] += sign * host.capacity[r]
        self._host_changed(host)

    # ------------------------------------------------------------------ capacity
    def _fits(self, index: int) -> bool:
        w = self._class_of[index]
        if self._running:
            pick = self._pick(w)
            if pick >= 0:
                self._chosen = pick
                return True
        if self.fleet.scale_out_when_waiting:
            self._scale_out()
        return False

    def _scan_for(self, w: int) -> int:
        """The host for class ``w`` by a scan over every host."""
        if self._without_gpu[w]:
            free = self._index.free
            if self._tainted:  # not on hosts with GPUs
                free = np.where(self._with_gpus()[:, None], CLOSED, free)
            return choose(self.fleet.placement, free, self._share[w])
        need = self._needs[w]  # only hosts whose GPUs have room for the need
        free = self._index.free.copy()
        if need.mig is not None:
            for host in self._hosts:
                if host.state == "running" and host.gpus.find(need) is None:
                    free[host.index] = CLOSED
        elif need.share:
            free[self._gpu_room[: free.shape[0], 1] < need.share - SHARE_SLACK] = CLOSED
        else:
            free[self._gpu_room[: free.shape[0], 0] < need.whole] = CLOSED
        gpu_type = self._gpu_type[w]
        if gpu_type is not None and self.fleet.fixed:
            free[~self._of_gpu_type(gpu_type)] = CLOSED
        return choose(self.fleet.placement, free, self._share[w])

    def _take(self, index: int) -> None:
        """A sandbox takes its place on the chosen (running) host: its load, GPUs and
        placement row change (the row's room shrank)."""
        host = self._hosts[self._chosen]
        w = self._class_of[index]
        load = host.load
        try:
            load = host.load = load.after_take[w]
        except KeyError:  # the first time from this load
            load = host.load = self._loads[host.kind].taken(load, w)
        self._held_by_class[w] += 1
        host.sandboxes.add(index)  # (its idle_since is read only once it is empty again)
        i = host.index
        self._host_of[index] = i
        self._hold_start[index] = self.env._now
        self._in_system += 1
        if self._without_gpu[w]:  # its gates (none, if no shape asks for GPUs) stay
            self._index.set_free(i, load.room, host.gates, True)
            return
        # (the need fits: the index opened its gates)
        self._grant[index] = host.gpus.place(self._needs[w])
        self._index.set_free(i, load.room, self._new_gates(host), True)

    def _release(self, index: int) -> None:
        """A sandbox leaves its host: its load, GPUs and (if the host runs) placement row
        change; an empty host waits out its cooldown, or goes now if it drains."""
        i = self._host_of[index]
        host = self._hosts[i]
        w = self._class_of[index]
        with_gpu = not self._without_gpu[w]
        if with_gpu:
            host.gpus.release(self._needs[w], self._grant[index] or NOTHING)
        self._held_by_class[w] -= 1
        sandboxes = host.sandboxes
        sandboxes.discard(index)
        now = self.env._now
        host.last_release_s = now
        self._in_system -= 1
        load = host.load
        if not sandboxes:
            load = host.load = self._loads[host.kind].empty  # no float residue on an empty host
        else:
            try:
                load = host.load = load.after_release[w]
            except KeyError:  # the first time from this load
                load = host.load = self._loads[host.kind].released(load, w)
        if host.state == "running":  # (a host that is not is closed in the index already)
            self._index.set_free(i, load.room, self._new_gates(host) if with_gpu else host.gates)
        if not sandboxes:
            host.idle_since = now
            self._emptied(host)

    def _with_gpus(self) -> npt.NDArray[np.bool_]:
        """Per host: whether it has GPUs (a fixed fleet's hosts, all started at once)."""
        if self._hosts_with_gpus is None:
            self._hosts_with_gpus = np.array([h.capacity[2] > 0 for h in self._hosts])
        return self._hosts_with_gpus

    def _of_gpu_type(self, gpu_type: str) -> npt.NDArray[np.bool_]:
        """Per host: whether its GPUs are of ``gpu_type`` (a fixed fleet's hosts)."""
        if gpu_type not in self._hosts_of_gpu_type:
            self._hosts_of_gpu_type[gpu_type] = np.array(
                [self._kinds[h.kind].gpu_type == gpu_type for h in self._hosts], dtype=bool
            )
        return self._hosts_of_gpu_type[gpu_type]

    # ------------------------------------------------------------------ autoscaling
    def _boot_time(self) -> float:
        if not self._boot_block:
            self._boot_block = self.fleet.boot_time.sample(self._rng, 256).tolist()
        return self._boot_block.pop()

    def _live(self) -> int:
        return len(self._hosts) - self._count["gone"]

    def _start_host(self, ready_now: bool = False, kind: int = 0) -> None:
        if self._live() >= self.fleet.max_hosts:
            return
        purchase = self.fleet.purchase
        if self._committed < self.fleet.committed_hosts:
            purchase = "committed"
            self._committed += 1  # (committed hosts are never released)
        else:  # (the hosts started for the minimum too)
            self._uncommitted_live += 1
            if self._spot_live + 1 <= self.fleet.spot_share * self._uncommitted_live + 1e-9:
                self._spot_live += 1
                purchase = "spot"
        room = _room(self._kinds[kind])
        host = Host(
            len(self._hosts),
            purchase,
            "booting",
            self.env._now,
            self._loads[kind].empty,
            gpus=HostGpus(int(room[2])),
            kind=kind,
            capacity=room,
        )
        self._hosts.append(host)
        self._not_gone[host.index] = host
        self._count["booting"] += 1
        self._index.add_host()
        if host.index >= self._gpu_room.shape[0]:  # twice the rows: hosts start one by one
            self._gpu_room = np.concatenate([self._gpu_room, np.full_like(self._gpu_room, CLOSED)])
        if ready_now:
            self._host_ready(host)
        else:
            if self.env._now < self._horizon:
                self.boots += 1
            self.at(self.env._now + self._boot_time(), [lambda _event: self._host_ready(host)], 0)

    def _host_ready(self, host: Host) -> None:
        self._set_state(host, "running")
        host.ready_s = self.env._now
        host.idle_since = self.env._now
        if self.env._now < self._horizon:  # (as the mean: running hosts within the horizon)
            self._peak = max(self._peak, self._running)
        if host.purchase == "spot" and self.fleet.spot_interruptions_per_s > 0:
            gap = self._rng.exponential(1.0 / self.fleet.spot_interruptions_per_s)
            self.at(self.env._now + gap, [lambda _event: self._interrupt(host)], 0)
        if host.purchase != "committed" and len(self._hosts) > self.fleet.min_hosts:
            self._release_after_cooldown(host)
        if not self._building:
            self._process()

    def _scale_out(self) -> None:
        """Sandboxes wait: take back a draining host, else boot the hosts the waiting work
        needs (less those already booting), as a cluster autoscaler does: the waiting
        sandboxes the running hosts' free room does not take, packed by first-fit
        decreasing onto new empty hosts (``_sizing``). Looked at once per second of
        waiting at most, as the queue may be long."""
        now = self.env._now
        if self._take_back_draining():
            return
        if self._live() >= self.fleet.max_hosts:
            return  # nothing to boot: sandboxes wait for room to free up
        booting = self._count["booting"]
        next_look_s = self._last_scale_out_s + SCALE_OUT_EVERY_S
        if now < next_look_s:  # (not now - last < 1: at the wake-up that can still hold)
            # sized again then, unless hosts boot: requests that come meanwhile have a
            # wake-up of their own (below), and a boot that ends looks at the queue
            if not booting:
                self._wake(next_look_s)
            return
        self._last_scale_out_s = now
        come, later = arrived_and_next(self._queue, now)
        if not come:
            return
        come.sort()  # (the queue's order)
        waiting = self._beyond_running_room([index for _, index in come])
        counts = np.bincount(self._class_array[waiting], minlength=len(self._sizing_demand))
        demand = self._sizing_demand
        if self._part_classes:  # the GPUs the MIG instances and shares take, in one row
            parts = counts[self._part_classes]
            if parts.any():
                gpus = gpus_needed([self._needs[w] for w in self._part_classes], parts.tolist())
                demand = np.vstack([demand, [0.0, 0.0, 1.0]])
                counts = np.append(counts, gpus)
        shapes = np.flatnonzero(counts)
        needed = first_fit_decreasing_hosts(demand[shapes], counts[shapes], self._sizing_room)
        for _ in range(max(1, needed) - booting):
            self._start_host()
        # requests queued behind a head that waits are not looked at until something
        # happens; while hosts boot nothing may, so look again when the next one comes
        if self._count["booting"] and later < math.inf:
            self._wake(max(later, now + SCALE_OUT_EVERY_S))

    def _sizing(self) -> tuple[FloatArray, FloatArray]:
        """What a new host of the autoscaled type offers (vCPU, GiB, and its GPUs if it has
        any) and, per class, what one sandbox takes of it, for sizing the waiting work by
        first-fit decreasing: its vCPU, GiB and whole GPUs. MIG instances and GPU shares
        take no GPU column here: ``_scale_out`` counts the GPUs they take together by
        NVIDIA's rules (``gpus.gpus_needed``: MIG and shares never on one GPU, a 4g.20gb
        and a 3g.20gb on one A100) and packs that many GPUs as items of one GPU each, so
        a host holds both its sandboxes' vCPU and memory and the GPUs counted."""
        room = [float(self._capacity[0]), float(self._capacity[1])]
        demand = self._demand.copy()
        if not self.fleet.gpus:
            return np.array(room), demand
        gpus = [float(need.whole) for need in self._needs]
        return np.array([*room, float(self.fleet.gpus)]), np.column_stack([demand, gpus])

    def _beyond_running_room(self, waiting: list[int]) -> list[int]:
        """The waiting requests (in queue order) less those behind the head that the
        running hosts' free room takes, by first fit: they wait only for the head (the
        queue is first in, first out) and go there once it has a host, so booting hosts
        for them would leave hosts idle. Requests for GPUs, and those past the first
        ``SIZE_ON_RUNNING_AT_MOST``, count as not taken."""
        tried = waiting[1 : 1 + SIZE_ON_RUNNING_AT_MOST]
        if not tried or not self._count["running"]:
            return waiting
        free = self._index.free.copy()  # (shares of a host; closed hosts below zero)
        taken = set()
        for index in tried:
            w = self._class_of[index]
            if not self._without_gpu[w]:
                continue
            share = self._share[w]
            fits = (free[:, 0] >= share[0] - SHARE_SLACK) & (free[:, 1] >= share[1] - SHARE_SLACK)
            host = int(fits.argmax())
            if fits[host]:
                free[host] -= share
                taken.add(index)
        return [index for index in waiting if index not in taken] if taken else waiting

    def _autoscale(self) -> None:
        """Every interval: add a host above the target utilisation (a draining one taken
        back, else one booted); drain one well below it. With no host running, only work
        that has come and waits adds one."""
        if not self.has_work():
            return
        booting = self._count["booting"] > 0
        if self._count["running"]:
            utilisation = self._utilisation()
            if utilisation > self.fleet.target_utilisation and not booting:
                if not self._take_back_draining():
                    self._start_host()
            elif utilisation < self.fleet.target_utilisation / 2 and self._count["running"] > max(
                self.fleet.min_hosts, self.fleet.committed_hosts, 1
            ):
                self._drain_emptiest()
        elif not booting and self._waiting_work() and not self._take_back_draining():
            self._start_host()
        self.at(self.env._now + self.fleet.interval_s, [lambda _event: self._autoscale()], 0)

    def _take_back_draining(self) -> bool:
        """Put the draining host with the most sandboxes back to work (and look at the
        queue again); False if none drains."""
        if not self._count["draining"]:
            return False
        draining = [h for h in self._not_gone.values() if h.state == "draining"]
        self._resume(max(draining, key=lambda h: len(h.sandboxes)))
        return True

    def _resume(self, host: Host) -> None:
        """A draining host takes work again: the queue is looked at now. An empty one
        (taken back as it emptied, or kept for the minimum) is looked at again after the
        idle cooldown, as any empty host."""
        self._set_state(host, "running")
        if not host.sandboxes:
            self._release_after_cooldown(host)
        self._wake_now()

    def _drain_emptiest(self) -> None:
        """Drain the running host (not committed) whose sandboxes hold the least, by the
        sum of their shares of its vCPU, memory and GPUs; none while such a host is
        empty (it goes by itself after the cooldown). The hosts are looked over only
        here: a fleet may have thousands."""
        running = [h for h in self._not_gone.values() if h.state == "running"]
        candidates = [h for h in running if h.purchase != "committed"]
        # (an empty committed host stays for good: it must not stop the rest draining)
        if candidates and all(h.sandboxes for h in candidates):
            capacity = self._capacity3
            victim = min(
                candidates,
                key=lambda h: sum(h.used[r] / capacity[r] for r in range(3) if capacity[r]),
            )
            self._set_state(victim, "draining")

    def _utilisation(self, fewer: int = 0) -> float:
        """What the sandboxes on running hosts hold over what those hosts offer (less
        ``fewer`` hosts), the largest over vCPU, memory and GPUs. Draining hosts and
        their sandboxes are left out: a drained host must not make the rest look emptier
        (and another host be drained). Infinity with no host left."""
        running = self._count["running"] - fewer
        if running <= 0:
            return math.inf
        held = self._held()
        if self._count["draining"]:
            for host in self._not_gone.values():
                if host.state == "draining":
                    held = [held[r] - host.used[r] for r in range(3)]
        capacity = self._capacity3
        return max(held[r] / (capacity[r] * running) for r in range(3) if capacity[r])

    def _held(self) -> list[float]:
        """vCPU, GiB and GPUs held by sandboxes (all on running or draining hosts), from
        the count held of each class: a count per placement, not a sum per resource."""
        vcpu = gib = gpus = 0.0
        for count, (need_vcpu, need_gib, need_gpus) in zip(
            self._held_by_class, self._demand3, strict=True
        ):
            if count:
                vcpu += count * need_vcpu
                gib += count * need_gib
                gpus += count * need_gpus
        return [vcpu, gib, gpus]

    def _waiting_work(self) -> bool:
        """Whether a request has come and waits (the queue also holds requests still to
        come: a fleet scaled to zero must not boot a host for those)."""
        queue = self._queue
        return bool(queue) and queue[0][0] <= self.env._now

    def _emptied(self, host: Host) -> None:
        """``host`` has just emptied: a draining host goes now (at a look at this instant,
        after what else happens now: work that waits may take it back first), any other
        waits out the idle cooldown."""
        self._look_later(host, 0.0 if host.state == "draining" else self.fleet.idle_cooldown_s)

    def _release_after_cooldown(self, host: Host) -> None:
        """Look again at ``host`` once the idle cooldown has passed."""
        self._look_later(host, self.fleet.idle_cooldown_s)

    def _look_again_later(self, host: Host) -> None:
        """Look at an empty host kept as headroom again after the cooldown or the
        autoscaler's interval, whichever is longer (a cooldown of a millisecond must not
        mean a look every millisecond)."""
        self._look_later(host, max(self.fleet.idle_cooldown_s, self.fleet.interval_s))

    def _look_later(self, host: Host, wait_s: float) -> None:
        """Look at ``host`` (whether to release it) in ``wait_s``; the looks scheduled
        before are void (else each sandbox passing through a host kept as headroom would
        start another chain of looks)."""
        host.look += 1
        token = host.look

        def look(_event: object) -> None:
            if host.look == token:
                self._maybe_release(host)

        self.at(self.env._now + wait_s, [look], 0)

    def _maybe_release(self, host: Host) -> None:
        """Release a host that has stayed empty for the cooldown, or a draining host as
        soon as it is empty (never below the minimum)."""
        if host.state not in ("running", "draining") or host.sandboxes:
            return
        if host.purchase == "committed" or self.fleet.fixed:
            return
        now = self.env._now  # (slack relative to the clock: times past 2**24 s round by more)
        if (
            host.state == "running"
            and now - host.idle_since < self.fleet.idle_cooldown_s - 1e-9 - 4 * math.ulp(now)
        ):
            return
        if self._live() <= self.fleet.min_hosts:
            if host.state == "draining":  # needed for the minimum: it takes work again
                self._resume(host)
            return
        # an empty host kept as headroom stays while the rest would be above target
        if (
            host.state == "running"
            and self._count["running"] > 1
            and self._utilisation(fewer=1) > self.fleet.target_utilisation
        ):
            self._look_again_later(host)
            return
        self._set_state(host, "gone")
        host.ended_s = self.env._now

    def _interrupt(self, host: Host) -> None:
        """The provider takes a spot host back: its sandboxes are lost and queue again."""
        if host.state == "gone":
            return
        now = self.env._now
        if now < self._horizon:  # (counted within the horizon, as boots are)
            self.interruptions += 1
        lost = sorted(host.sandboxes)
        for index in lost:
            self._early_holds.append(
                (self._class_of[index], self._hold_start[index], now, host.index, index)
            )
            self._hold_start[index] = math.nan
            self._earlier_waits.append(
                (
                    self._class_of[index],
                    self._queued_s.get(index, self.request_s[index]),
                    self.admit_s[index],
                )
            )
            self._queued_s[index] = now
            self.lost += 1
            if self.retries[index] >= self.fleet.spot_max_restarts:
                self.dropped += 1
                self.drop(index)
            else:
                self.restart(index)
        self._set_state(host, "gone")
        host.ended_s = host.interrupted_s = self.env._now
        # replaced, as an autoscaling group does (within the horizon: the chain of spot
        # hosts taken back and replaced must end)
        while self._live() < self.fleet.min_hosts and self.env._now < self._horizon:
            self._start_host()
        self._last_scale_out_s = -math.inf  # the lost work is sized at once
        self._process()

    # ------------------------------------------------------------------ results
    def record(self) -> FleetRecord:
        """Close the fleet. Time integrals cover the horizon. A host is paid for its life
        within the horizon; the work its sandboxes (requested within the horizon) do after
        it is paid by volume, as host-seconds at their share of the host, standing in for
        the hosts the work already running when the horizon began would have added (a
        steady state; nothing for a fleet that cannot grow). Paying each host's own life
        after the horizon instead would charge a whole host for one straggler."""
        end = self._horizon
        self.env._now = max(self.env._now, end)
        self._account()
        classes, starts, ends, hosts = self._holds()
        demand = np.array(self._demand3, dtype=np.float64).reshape(-1, 3)[classes]
        rows = host_rows(
            hosts,
            starts,
            ends,
            demand,
            np.array([h.capacity for h in self._hosts], dtype=np.float64).reshape(-1, 3),
            self._running_changes,
            end,
            GateLog(
                np.array(self._gate_log_s, dtype=np.float64),
                np.array(self._gate_log_host, dtype=np.int64),
                np.array(self._gate_log, dtype=np.float64).reshape(-1, self._gate_count),
            )
            if self._gated
            else None,
        )
        # the shapes that count: those some request asked for (not a trace workload's
        # nominal shape, which no request has), and not empty (a workload the platform
        # does not run: it would fit anywhere)
        class_needs = self._class_needs()
        counted = np.zeros(len(class_needs), dtype=bool)
        requested = ~np.isnan(np.asarray(self.request_s, dtype=np.float64))
        counted[np.unique(self._class_array[requested])] = True
        counted &= np.array([need[0] > 0 or need[1] > 0 for need in class_needs])
        with_gpus = [not none for none in self._without_gpu]
        shapes = [
            (need, gpus)
            for need, gpus, count in zip(class_needs, with_gpus, counted, strict=True)
            if count
        ]
        stranded = stranded_integral(
            rows,
            _minimal_needs([need for need, gpus in shapes if not gpus]),
            _minimal_needs([need for need, gpus in shapes if gpus]),
        )
        wait_class, wait_from, wait_to = self._waits()
        waited = counted[wait_class]
        stranded_waiting = stranded_while_waiting_integral(
            rows,
            wait_class[waited],
            wait_from[waited],
            wait_to[waited],
            class_needs,
            end,
            with_gpus=with_gpus,
        )
        allocated, lower_bound = self._allocation_integrals(starts, ends, demand)
        for host in self._hosts:
            if host.state != "gone" or host.ended_s > end:
                host.ended_s = max(end, host.last_release_s, host.started_s)
                if math.isnan(host.ready_s):
                    host.ready_s = host.ended_s
        started = np.array([h.started_s for h in self._hosts])
        ended = np.array([h.ended_s for h in self._hosts])
        kinds = np.array([h.kind for h in self._hosts], dtype=np.int64)
        billed_end = np.where(started < end, np.minimum(ended, end), started)
        interrupted = np.array([h.interrupted_s for h in self._hosts], dtype=np.float64)
        return FleetRecord(
            purchase=tuple(h.purchase for h in self._hosts),
            started_s=started,
            ended_s=ended,
            host_seconds=float((ended - started).sum()),
            peak_hosts=self._peak,
            mean_hosts=self._host_int / end if end > 0 else 0.0,
            allocated_integral=allocated,
            capacity_integral=np.array(self._cap_int),
            stranded_integral=stranded,
            stranded_while_waiting_integral=stranded_waiting,
            lower_bound_integral=lower_bound,
            interruptions=self.interruptions,
            lost_sandboxes=self.lost,
            host_of=np.asarray(self._host_of),
            span_s=end,
            kind_of=kinds,
            class_of=self._class_array,
            billed_end_s=billed_end,
            tail_host_s=self._tail_host_seconds(end),
            dropped_sandboxes=self.dropped,
            interrupted_s=interrupted if not np.isnan(interrupted).all() else None,
            lost_holds=self._lost_holds(),
            boots=self.boots,
            kind_names=tuple(kind.name for kind in self._kinds),
            grows=self._grows(),
        )

    def _class_needs(self) -> list[tuple[float, ...]]:
        """Per class: vCPU and GiB it needs, then (for a class with GPUs, or any class on a
        tainted fleet) its need of each gate (see ``stranded.fits``)."""
        return [
            (float(d[0]), float(d[1]))
            if none and not self._tainted
            else (float(d[0]), float(d[1]), *(float(x) for x in gates))
            for d, gates, none in zip(
                self._demand, self._gate_need_rows, self._without_gpu, strict=True
            )
        ]

    def _waits(self) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray]:
        """Class, start and end of every wait for capacity: from a request (or its
        sandbox's loss with a spot host) to its placement (the fleet has no queue
        timeout; a sandbox given up after its losses no longer waits)."""
        request = np.asarray(self.request_s, dtype=np.float64)
        admit = np.asarray(self.admit_s, dtype=np.float64)
        start = request.copy()
        for index, queued in self._queued_s.items():
            start[index] = queued
        placed = ~np.isnan(admit)
        earlier = np.array(self._earlier_waits, dtype=np.float64).reshape(-1, 3)
        return (
            np.concatenate([self._class_array[placed], earlier[:, 0].astype(np.int64)]),
            np.concatenate([start[placed], earlier[:, 1]]),
            np.concatenate([admit[placed], earlier[:, 2]]),
        )

    def _grows(self) -> bool:
        """Whether the fleet could add hosts (see ``FleetRecord.grows``)."""
        fleet = self.fleet
        return not fleet.fixed and max(fleet.min_hosts, fleet.committed_hosts) < fleet.max_hosts

    def _lost_holds(self) -> LostHolds | None:
        """The holds of sandboxes lost with a host taken back (None: none)."""
        if not self._early_holds:
            return None
        early = np.array(self._early_holds, dtype=np.float64).reshape(-1, 5)
        return LostHolds(
            activation=early[:, 4].astype(np.int64),
            start_s=early[:, 1],
            end_s=early[:, 2],
            host=early[:, 3].astype(np.int64),
        )

    def _holds(
        self,
    ) -> tuple[npt.NDArray[np.int64], FloatArray, FloatArray, npt.NDArray[np.int64]]:
        """Class, start, end and host of every time a sandbox held room on a host."""
        start = np.asarray(self._hold_start, dtype=np.float64)
        held = np.flatnonzero(~np.isnan(start))
        classes = self._class_array[held]
        ends = np.asarray(self.end_s, dtype=np.float64)[held]
        starts = start[held]
        hosts = np.asarray(self._host_of, dtype=np.int64)[held]
        if self._early_holds:
            early = np.array(self._early_holds, dtype=np.float64).reshape(-1, 5)
            classes = np.concatenate([classes, early[:, 0].astype(np.int64)])
            starts = np.concatenate([starts, early[:, 1]])
            ends = np.concatenate([ends, early[:, 2]])
            hosts = np.concatenate([hosts, early[:, 3].astype(np.int64)])
        return classes, starts, ends, hosts

    def _allocation_integrals(
        self, starts: FloatArray, ends: FloatArray, demand: FloatArray
    ) -> tuple[FloatArray, float]:
        """Over the horizon: the integral of vCPU, GiB and GPUs held, and of the volume
        lower bound on the hosts holding them takes, from the holds' starts, ends and
        demands (rows). Taken at the end (one sort), not at every placement, as only
        these totals are needed."""
        horizon = self._horizon
        inside = np.minimum(ends, horizon) - np.minimum(starts, horizon)
        allocated = (demand * inside[:, None]).sum(0)
        times = np.minimum(np.concatenate([starts, ends]), horizon)
        order = np.argsort(times, kind="stable")
        held = np.cumsum(np.concatenate([demand, -demand])[order], axis=0)[:-1]
        spans = np.diff(times[order])
        return allocated, float((self._volume_bound(held) * spans).sum())

    def _volume_bound(self, held: FloatArray) -> npt.NDArray[np.int64]:
        """Per row of vCPU, GiB and GPUs held: the fewest hosts that could hold it by volume
        (of the autoscaled type, or the inventory's largest hosts first)."""
        if self._bound_cumulative is not None:
            bound = np.zeros(held.shape[0], dtype=np.int64)
            for r, cumulative in enumerate(self._bound_cumulative):
                hosts = np.searchsorted(cumulative, held[:, r] - 1e-9) + 1
                bound = np.maximum(bound, np.where(held[:, r] > 1e-9, hosts, 0))
            return bound
        capacity = self._capacity3
        share = np.maximum(held[:, 0] / capacity[0], held[:, 1] / capacity[1])
        if capacity[2]:
            share = np.maximum(share, held[:, 2] / capacity[2])
        return np.maximum(np.ceil(share - 1e-9), 0).astype(np.int64)

    def _tail_host_seconds(self, horizon_s: float) -> FloatArray:
        """Per host: its sandboxes' time after the horizon times the largest share of the
        host (vCPU, memory or GPUs) each held. None for a fleet that cannot grow (a fixed
        inventory, or as many hosts at least, or committed, as at most): its hosts are
        paid for the whole horizon, so the work running as the horizon began costs nothing
        more."""
        tail = np.zeros(len(self._hosts))
        if not self._grows():
            return tail
        end = np.asarray(self.end_s, dtype=np.float64)
        admit = np.asarray(self.admit_s, dtype=np.float64)
        host_of = np.asarray(self._host_of, dtype=np.int64)
        late = np.flatnonzero((end > horizon_s) & (host_of >= 0) & np.isfinite(admit))
        if late.size == 0:
            return tail
        after = end[late] - np.maximum(admit[late], horizon_s)
        hosts = host_of[late]
        room = np.array([h.capacity for h in self._hosts])[hosts]
        held = np.array(self._demand3, dtype=np.float64).reshape(-1, 3)[self._class_array[late]]
        share = np.max(np.divide(held, room, out=np.zeros_like(held), where=room > 0), axis=1)
        np.add.at(tail, hosts, after * np.minimum(share, 1.0))
        return tail
