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
volume lower bound on the hosts needed, for utilisation and packing figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..distributions import DistributionSpec, FloatArray
from ..gpus import GpuGrant, GpuNeed, HostGpus
from ..packing import OnlinePolicy, choose
from .activations import Activations
from .admission import Limits
from .dynamic import DynamicEngine, FixedLatencyLauncher

HostState = Literal["booting", "running", "draining", "gone"]
CLOSED = -1.0
"""Free room given for a host that takes no new sandboxes, so no demand fits it."""
SCALE_OUT_EVERY_S = 1.0
"""While hosts boot, the waiting queue is sized again at most this often."""


@dataclass(frozen=True)
class FleetModel:
    """The engine's view of a fleet."""

    host_type: str
    capacity: tuple[float, float]
    """vCPU and GiB a host offers sandboxes (after overcommit and the system's reserve)."""
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
    spot_interruptions_per_s: float
    demand_per_workload: tuple[tuple[float, float], ...]
    """vCPU and GiB one sandbox of each workload takes (its shape plus the overhead)."""
    gpu_need_per_workload: tuple[GpuNeed, ...]


@dataclass
class Host:
    """One host of the fleet."""

    index: int
    purchase: Literal["committed", "on_demand", "spot"]
    state: HostState
    started_s: float
    ready_s: float = math.nan
    ended_s: float = math.nan
    used: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    """vCPU, GiB and GPUs its sandboxes hold."""
    sandboxes: set[int] = field(default_factory=set)
    gpus: HostGpus = field(default_factory=lambda: HostGpus(0))
    idle_since: float = math.nan
    last_release_s: float = 0.0


@dataclass(frozen=True)
class FleetRecord:
    """What the fleet did: its hosts' lives and its time integrals."""

    purchase: tuple[str, ...]
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
    """Integral over time of free vCPU, GiB and GPUs that no sandbox of the platform fits in."""
    lower_bound_integral: float
    """Integral over time of the volume lower bound on the hosts the allocations need."""
    interruptions: int
    lost_sandboxes: int
    host_of: np.ndarray
    """Host of each activation's (last) placement (-1: never placed)."""
    span_s: float


class FleetEngine(DynamicEngine):
    """The general engine with a fleet of hosts as its capacity.

    Per-host room is kept in arrays (free room in shares of a host, and which hosts take
    new sandboxes), so a placement is a few vector operations whatever the fleet's size;
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
    ) -> None:
        super().__init__(acts, call_run_s, Limits(), [], FixedLatencyLauncher(latency_s))
        self._ahead = False  # hosts can go away, so nothing is decided ahead of the clock
        self._plain = False
        self.fleet = fleet
        self._rng = rng
        self._horizon = horizon_s
        self._workload = acts.workload_index.tolist()
        self._workload_array = np.asarray(acts.workload_index)
        self._demand = np.asarray(fleet.demand_per_workload, dtype=np.float64).reshape(-1, 2)
        self._capacity = np.asarray(fleet.capacity, dtype=np.float64)
        self._share = self._demand / self._capacity
        self._needs = fleet.gpu_need_per_workload
        self._gpu_units = np.array([need.units for need in self._needs] or [0.0])
        self._any_gpu = any(not need.none for need in self._needs)
        self._hosts: list[Host] = []
        self._free = np.zeros((0, 2))
        """Free room per host in shares of a host (rows by host index; CLOSED unless running)."""
        self._host_of = [-1] * acts.size
        self._grant: list[GpuGrant | None] = [None] * acts.size
        self._chosen = -1
        self._chosen_grant: GpuGrant | None = None
        self._spot_counter = 0.0
        self._boot_block: list[float] = []
        self._last_scale_out_s = -math.inf
        # running totals of the fleet's state, and their integrals over the horizon
        self._last_s = 0.0
        self._running = 0
        self._count: dict[HostState, int] = {"booting": 0, "running": 0, "draining": 0, "gone": 0}
        # totals over running and draining hosts: vCPU, GiB, GPUs held; stranded room
        self._used_total = [0.0, 0.0, 0.0]
        self._stranded_of: dict[int, list[float]] = {}
        self._stranded_total = [0.0, 0.0, 0.0]
        self._host_int = 0.0
        self._bound_int = 0.0
        self._alloc_int = [0.0, 0.0, 0.0]
        self._cap_int = [0.0, 0.0, 0.0]
        self._stranded_int = [0.0, 0.0, 0.0]
        self._capacity3 = [float(self._capacity[0]), float(self._capacity[1]), float(fleet.gpus)]
        self._demand3 = [
            [float(d[0]), float(d[1]), need.units]
            for d, need in zip(self._demand, self._needs, strict=True)
        ]
        self._peak = 0
        self.interruptions = 0
        self.lost = 0
        for _ in range(max(fleet.min_hosts, fleet.committed_hosts)):
            self._start_host(ready_now=True)
        self.at(0.0, [lambda _event: self._autoscale()], 0)

    # ------------------------------------------------------------------ time integrals
    def _account(self) -> None:
        """Integrate the fleet's totals since the last change (over the horizon only)."""
        now = min(self.env._now, self._horizon)
        elapsed = now - self._last_s
        if elapsed <= 0:
            return
        running = self._running
        if running:
            used, capacity = self._used_total, self._capacity3
            self._host_int += elapsed * running
            for r in range(3):
                self._alloc_int[r] += elapsed * used[r]
                self._cap_int[r] += elapsed * running * capacity[r]
                self._stranded_int[r] += elapsed * self._stranded_total[r]
            share = max(used[0] / capacity[0], used[1] / capacity[1])
            if capacity[2]:
                share = max(share, used[2] / capacity[2])
            self._bound_int += elapsed * max(math.ceil(share - 1e-9), 0)
        self._last_s = now

    def _host_changed(self, host: Host) -> None:
        """Refresh a host's row of free room and its stranded room (call after _account)."""
        i = host.index
        capacity = self._capacity3
        if host.state == "running":
            self._free[i, 0] = (capacity[0] - host.used[0]) / capacity[0]
            self._free[i, 1] = (capacity[1] - host.used[1]) / capacity[1]
        else:
            self._free[i] = CLOSED  # takes no new sandboxes
        stranded = self._stranded_room(host)
        before = self._stranded_of.get(i)
        for r in range(3):
            self._stranded_total[r] += stranded[r] - (before[r] if before else 0.0)
        self._stranded_of[i] = stranded

    def _stranded_room(self, host: Host) -> list[float]:
        """Free room on an open host that no sandbox shape of the platform fits in: vCPU and
        memory where nothing fits, GPUs where no GPU shape fits."""
        if host.state != "running":
            return [0.0, 0.0, 0.0]
        capacity, used = self._capacity3, host.used
        free = [capacity[0] - used[0], capacity[1] - used[1], capacity[2] - used[2]]
        if not self._any_gpu:
            for demand in self._demand3:
                if demand[0] <= free[0] + 1e-9 and demand[1] <= free[1] + 1e-9:
                    return [0.0, 0.0, 0.0]
            return [free[0], free[1], 0.0]
        any_fits = gpu_fits = False
        for demand, need in zip(self._demand3, self._needs, strict=True):
            if demand[0] <= free[0] + 1e-9 and demand[1] <= free[1] + 1e-9:
                if need.none:
                    any_fits = True
                elif host.gpus.find(need) is not None:
                    any_fits = gpu_fits = True
            if any_fits and (gpu_fits or not self._any_gpu):
                break
        return [
            0.0 if any_fits else free[0],
            0.0 if any_fits else free[1],
            0.0 if gpu_fits or not self._any_gpu else free[2],
        ]

    def _set_state(self, host: Host, state: HostState) -> None:
        """Move a host to ``state``, keeping the counts, totals and its rows."""
        self._account()
        was_up = host.state in ("running", "draining")
        self._count[host.state] -= 1
        self._count[state] += 1
        host.state = state
        is_up = state in ("running", "draining")
        if was_up != is_up:
            self._running += 1 if is_up else -1
            sign = 1.0 if is_up else -1.0
            for r in range(3):
                self._used_total[r] += sign * host.used[r]
        self._host_changed(host)

    # ------------------------------------------------------------------ capacity
    def _fits(self, index: int) -> bool:
        w = self._workload[index]
        need = self._needs[w]
        if self._running:
            if need.none:
                pick = choose(self.fleet.placement, self._free, self._share[w])
            else:  # only hosts whose GPUs have room for the need
                free = self._free.copy()
                for host in self._hosts:
                    if host.state == "running" and host.gpus.find(need) is None:
                        free[host.index] = CLOSED
                pick = choose(self.fleet.placement, free, self._share[w])
            if pick >= 0:
                host = self._hosts[pick]
                self._chosen = pick
                self._chosen_grant = None if need.none else host.gpus.find(need)
                return True
        if self.fleet.scale_out_when_waiting:
            self._scale_out()
        return False

    def _take(self, index: int) -> None:
        self._account()
        host = self._hosts[self._chosen]
        w = self._workload[index]
        need = self._needs[w]
        if not need.none:
            grant = self._chosen_grant or GpuGrant()
            host.gpus.take(need, grant)
            self._grant[index] = grant
        demand = self._demand3[w]
        for r in range(3):
            host.used[r] += demand[r]
            self._used_total[r] += demand[r]
        host.sandboxes.add(index)
        host.idle_since = math.nan
        self._host_of[index] = host.index
        self._in_system += 1
        self._host_changed(host)

    def _release(self, index: int) -> None:
        self._account()
        host = self._hosts[self._host_of[index]]
        w = self._workload[index]
        need = self._needs[w]
        if not need.none:
            host.gpus.release(need, self._grant[index] or GpuGrant())
        demand = self._demand3[w]
        up = host.state in ("running", "draining")
        for r in range(3):
            host.used[r] = max(host.used[r] - demand[r], 0.0)
            if up:
                self._used_total[r] -= demand[r]
        host.sandboxes.discard(index)
        if not host.sandboxes:
            host.used = [0.0, 0.0, 0.0]  # no float residue on an empty host
        host.last_release_s = self.env._now
        self._in_system -= 1
        self._host_changed(host)
        if not host.sandboxes and up:
            host.idle_since = self.env._now
            self._release_after_cooldown(host)

    # ------------------------------------------------------------------ autoscaling
    def _boot_time(self) -> float:
        if not self._boot_block:
            self._boot_block = self.fleet.boot_time.sample(self._rng, 256).tolist()
        return self._boot_block.pop()

    def _live(self) -> int:
        return len(self._hosts) - self._count["gone"]

    def _start_host(self, ready_now: bool = False) -> None:
        if self._live() >= self.fleet.max_hosts:
            return
        self._account()
        committed = sum(h.purchase == "committed" for h in self._hosts)  # never released
        purchase: Literal["committed", "on_demand", "spot"] = "on_demand"
        if committed < self.fleet.committed_hosts:
            purchase = "committed"
        elif ready_now is False and self.fleet.spot_share > 0:
            self._spot_counter += self.fleet.spot_share
            if self._spot_counter >= 1.0 - 1e-9:
                self._spot_counter -= 1.0
                purchase = "spot"
        host = Host(
            len(self._hosts), purchase, "booting", self.env._now, gpus=HostGpus(self.fleet.gpus)
        )
        self._hosts.append(host)
        self._count["booting"] += 1
        self._free = np.vstack([self._free, np.full((1, 2), CLOSED)])
        if ready_now:
            self._host_ready(host)
        else:
            self.at(self.env._now + self._boot_time(), [lambda _event: self._host_ready(host)], 0)

    def _host_ready(self, host: Host) -> None:
        self._set_state(host, "running")
        host.ready_s = self.env._now
        host.idle_since = self.env._now
        self._peak = max(self._peak, self._running)
        if host.purchase == "spot" and self.fleet.spot_interruptions_per_s > 0:
            gap = self._rng.exponential(1.0 / self.fleet.spot_interruptions_per_s)
            self.at(self.env._now + gap, [lambda _event: self._interrupt(host)], 0)
        if host.purchase != "committed" and len(self._hosts) > self.fleet.min_hosts:
            self._release_after_cooldown(host)
        self._process()

    def _scale_out(self) -> None:
        """Sandboxes wait: take back a draining host, else boot the hosts the waiting work
        needs by volume (less those already booting), as a cluster autoscaler does. Looked
        at once per second of waiting at most, as the queue may be long."""
        now = self.env._now
        if self._count["draining"]:
            draining = [h for h in self._hosts if h.state == "draining"]
            self._set_state(max(draining, key=lambda h: len(h.sandboxes)), "running")
            self._wake(now)
            return
        booting = self._count["booting"]
        if booting and now - self._last_scale_out_s < SCALE_OUT_EVERY_S:
            return
        self._last_scale_out_s = now
        waiting = [index for at, index in self._queue if at <= now]
        if not waiting:
            return
        workloads = self._workload_array[waiting]
        volume = self._demand[workloads].sum(0) / self._capacity
        gpus = self._gpu_units[workloads].sum() / self.fleet.gpus if self.fleet.gpus else 0.0
        needed = max(1, math.ceil(max(*volume, gpus) - 1e-9))
        for _ in range(needed - booting):
            self._start_host()

    def _autoscale(self) -> None:
        """Every interval: boot a host above the target utilisation; drain one well below it."""
        if not self.has_work():
            return
        self._account()
        if self._running:
            running = [h for h in self._hosts if h.state == "running"]
            utilisation = max(
                self._used_total[r] / (self._capacity3[r] * self._running) for r in range(2)
            )
            booting = self._count["booting"] > 0
            if utilisation > self.fleet.target_utilisation and not booting:
                self._start_host()
            elif utilisation < self.fleet.target_utilisation / 2 and len(running) > max(
                self.fleet.min_hosts, self.fleet.committed_hosts, 1
            ):
                # an empty host goes by itself after the cooldown; else drain the emptiest
                busy = [h for h in running if h.sandboxes and h.purchase != "committed"]
                if busy and len(busy) == len(running):
                    victim = min(
                        busy,
                        key=lambda h: (
                            h.used[0] / self._capacity3[0] + h.used[1] / self._capacity3[1]
                        ),
                    )
                    self._set_state(victim, "draining")
        elif not self._count["booting"] and self._waiting_work():
            self._start_host()
        self.at(self.env._now + self.fleet.interval_s, [lambda _event: self._autoscale()], 0)

    def _waiting_work(self) -> bool:
        return bool(self._queue)

    def _release_after_cooldown(self, host: Host) -> None:
        """Look again at ``host`` once the idle cooldown has passed."""

        def look(_event: object) -> None:
            self._maybe_release(host)

        self.at(self.env._now + self.fleet.idle_cooldown_s, [look], 0)

    def _maybe_release(self, host: Host) -> None:
        """Release a host that has stayed empty for the cooldown (never below the minimum)."""
        if host.state not in ("running", "draining") or host.sandboxes:
            return
        if host.purchase == "committed":
            return
        if self.env._now - host.idle_since < self.fleet.idle_cooldown_s - 1e-9:
            return
        if self._live() <= self.fleet.min_hosts:
            return
        if host.state == "running" and self._running > 1:
            # an empty host kept as headroom stays while the rest would be above target
            rest = (
                self._capacity3[0] * (self._running - 1),
                self._capacity3[1] * (self._running - 1),
            )
            used = self._used_total
            if max(used[0] / rest[0], used[1] / rest[1]) > self.fleet.target_utilisation:
                self._release_after_cooldown(host)
                return
        self._set_state(host, "gone")
        host.ended_s = self.env._now

    def _interrupt(self, host: Host) -> None:
        """The provider takes a spot host back: its sandboxes are lost and queue again."""
        if host.state == "gone":
            return
        self._account()
        self.interruptions += 1
        lost = sorted(host.sandboxes)
        for index in lost:
            self.lost += 1
            self.restart(index)
        self._set_state(host, "gone")
        host.ended_s = self.env._now
        self._process()

    # ------------------------------------------------------------------ results
    def record(self) -> FleetRecord:
        """Close the fleet. Time integrals cover the horizon. A host is paid for until the
        horizon, or after it until its last sandbox (requested within the horizon) ends:
        past the horizon no new work comes, so the tail stands in for the work that was
        already running when the horizon began."""
        end = self._horizon
        self.env._now = max(self.env._now, end)
        self._account()
        for host in self._hosts:
            if host.state != "gone" or host.ended_s > end:
                host.ended_s = max(end, host.last_release_s, host.started_s)
                if math.isnan(host.ready_s):
                    host.ready_s = host.ended_s
        started = np.array([h.started_s for h in self._hosts])
        ended = np.array([h.ended_s for h in self._hosts])
        return FleetRecord(
            purchase=tuple(h.purchase for h in self._hosts),
            started_s=started,
            ended_s=ended,
            host_seconds=float((ended - started).sum()),
            peak_hosts=self._peak,
            mean_hosts=self._host_int / end if end > 0 else 0.0,
            allocated_integral=np.array(self._alloc_int),
            capacity_integral=np.array(self._cap_int),
            stranded_integral=np.array(self._stranded_int),
            lower_bound_integral=self._bound_int,
            interruptions=self.interruptions,
            lost_sandboxes=self.lost,
            host_of=np.asarray(self._host_of),
            span_s=end,
        )
