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
    used: FloatArray = field(default_factory=lambda: np.zeros(2))
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
    """The general engine with a fleet of hosts as its capacity."""

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
        self._demand = np.asarray(fleet.demand_per_workload, dtype=np.float64).reshape(-1, 2)
        self._capacity = np.asarray(fleet.capacity, dtype=np.float64)
        self._hosts: list[Host] = []
        self._host_of = [-1] * acts.size
        self._grant: list[GpuGrant | None] = [None] * acts.size
        self._chosen = -1
        self._chosen_grant: GpuGrant | None = None
        self._spot_counter = 0.0
        self._boot_block: list[float] = []
        self._last_s = 0.0
        self._integrals = {"hosts": 0.0, "bound": 0.0}
        self._alloc_int = np.zeros(3)
        self._cap_int = np.zeros(3)
        self._stranded_int = np.zeros(3)
        self._peak = 0
        self.interruptions = 0
        self.lost = 0
        for _ in range(max(fleet.min_hosts, fleet.committed_hosts)):
            self._start_host(ready_now=True)
        self.at(0.0, [lambda _event: self._autoscale()], 0)

    # ------------------------------------------------------------------ time integrals
    def _account(self) -> None:
        """Integrate the fleet's state since the last change."""
        now = min(self.env._now, self._horizon)  # figures are over the horizon
        elapsed = now - self._last_s
        if elapsed <= 0:
            return
        running = [h for h in self._hosts if h.state in ("running", "draining")]
        self._integrals["hosts"] += elapsed * len(running)
        if running:
            used = np.array([[*h.used, h.gpus.used_fraction()] for h in running])
            capacity = np.array([[*self._capacity, self.fleet.gpus] for _ in running])
            self._alloc_int += elapsed * used.sum(0)
            self._cap_int += elapsed * capacity.sum(0)
            free = capacity - used
            # free room is stranded on a host open to placement where no sandbox of the
            # platform fits in it (a draining host's room is being retired, not stranded)
            stranded = np.array([h.state == "running" and not self._any_fits(h) for h in running])
            self._stranded_int += elapsed * free[stranded].sum(0)
            shares = used.sum(0)[:2] / self._capacity
            self._integrals["bound"] += elapsed * max(math.ceil(max(shares) - 1e-9), 0)
        self._last_s = now

    def _any_fits(self, host: Host) -> bool:
        free = self._capacity - host.used
        for w, demand in enumerate(self._demand):
            if (
                np.all(demand <= free + 1e-9)
                and host.gpus.find(self.fleet.gpu_need_per_workload[w]) is not None
            ):
                return True
        return False

    # ------------------------------------------------------------------ capacity
    def _fits(self, index: int) -> bool:
        w = self._workload[index]
        demand = self._demand[w]
        need = self.fleet.gpu_need_per_workload[w]
        open_hosts = [h for h in self._hosts if h.state == "running"]
        if open_hosts:
            free = np.array([(self._capacity - h.used) / self._capacity for h in open_hosts])
            share = demand / self._capacity
            candidates = (
                [i for i, h in enumerate(open_hosts) if h.gpus.find(need) is not None]
                if not need.none
                else list(range(len(open_hosts)))
            )
            if candidates:
                pick = choose(self.fleet.placement, free[candidates], share)
                if pick >= 0:
                    host = open_hosts[candidates[pick]]
                    self._chosen, self._chosen_grant = host.index, host.gpus.find(need)
                    return True
        if self.fleet.scale_out_when_waiting:
            self._scale_out()
        return False

    def _take(self, index: int) -> None:
        self._account()
        host = self._hosts[self._chosen]
        w = self._workload[index]
        host.used = host.used + self._demand[w]
        grant = self._chosen_grant or GpuGrant()
        host.gpus.take(self.fleet.gpu_need_per_workload[w], grant)
        host.sandboxes.add(index)
        host.idle_since = math.nan
        self._host_of[index] = host.index
        self._grant[index] = grant
        self._in_system += 1

    def _release(self, index: int) -> None:
        self._account()
        host = self._hosts[self._host_of[index]]
        w = self._workload[index]
        host.used = np.maximum(host.used - self._demand[w], 0.0)
        host.gpus.release(self.fleet.gpu_need_per_workload[w], self._grant[index] or GpuGrant())
        host.sandboxes.discard(index)
        host.last_release_s = self.env._now
        self._in_system -= 1
        if not host.sandboxes and host.state in ("running", "draining"):
            host.idle_since = self.env._now
            self._release_after_cooldown(host)

    # ------------------------------------------------------------------ autoscaling
    def _boot_time(self) -> float:
        if not self._boot_block:
            self._boot_block = self.fleet.boot_time.sample(self._rng, 256).tolist()
        return self._boot_block.pop()

    def _live(self) -> int:
        return sum(h.state != "gone" for h in self._hosts)

    def _start_host(self, ready_now: bool = False) -> None:
        if self._live() >= self.fleet.max_hosts:
            return
        self._account()
        committed = sum(h.purchase == "committed" and h.state != "gone" for h in self._hosts)
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
        if ready_now:
            self._host_ready(host)
        else:
            self.at(self.env._now + self._boot_time(), [lambda _event: self._host_ready(host)], 0)

    def _host_ready(self, host: Host) -> None:
        self._account()
        host.state = "running"
        host.ready_s = self.env._now
        host.idle_since = self.env._now
        self._peak = max(self._peak, sum(h.state in ("running", "draining") for h in self._hosts))
        if host.purchase == "spot" and self.fleet.spot_interruptions_per_s > 0:
            gap = self._rng.exponential(1.0 / self.fleet.spot_interruptions_per_s)
            self.at(self.env._now + gap, [lambda _event: self._interrupt(host)], 0)
        if host.purchase != "committed" and len(self._hosts) > self.fleet.min_hosts:
            self._release_after_cooldown(host)
        self._process()

    def _scale_out(self) -> None:
        """A sandbox waits: take back a draining host, else boot one unless one is on its way."""
        draining = [h for h in self._hosts if h.state == "draining"]
        if draining:
            self._account()
            max(draining, key=lambda h: len(h.sandboxes)).state = "running"
            self._wake(self.env._now)
        elif not any(h.state == "booting" for h in self._hosts):
            self._start_host()

    def _autoscale(self) -> None:
        """Every interval: boot a host above the target utilisation; drain one well below it."""
        if not self.has_work():
            return
        self._account()
        running = [h for h in self._hosts if h.state == "running"]
        if running:
            used = np.array([h.used for h in running]).sum(0)
            utilisation = float(max(used / (self._capacity * len(running))))
            booting = any(h.state == "booting" for h in self._hosts)
            if utilisation > self.fleet.target_utilisation and not booting:
                self._start_host()
            elif utilisation < self.fleet.target_utilisation / 2 and len(running) > max(
                self.fleet.min_hosts, self.fleet.committed_hosts, 1
            ):
                # an empty host goes by itself after the cooldown; else drain the emptiest
                busy = [h for h in running if h.sandboxes and h.purchase != "committed"]
                if busy and len(busy) == len(running):
                    victim = min(busy, key=lambda h: float((h.used / self._capacity).sum()))
                    victim.state = "draining"
        elif not any(h.state == "booting" for h in self._hosts) and self._waiting_work():
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
        alive = sum(h.state in ("running", "draining", "booting") for h in self._hosts)
        if alive <= self.fleet.min_hosts:
            return
        self._account()
        host.state = "gone"
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
        host.state = "gone"
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
            mean_hosts=self._integrals["hosts"] / end if end > 0 else 0.0,
            allocated_integral=self._alloc_int,
            capacity_integral=self._cap_int,
            stranded_integral=self._stranded_int,
            lower_bound_integral=self._integrals["bound"],
            interruptions=self.interruptions,
            lost_sandboxes=self.lost,
            host_of=np.asarray(self._host_of),
            span_s=end,
        )
