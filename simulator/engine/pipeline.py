"""Launches through contended machinery: hosts, launch slots, creation rates, caches, fetches.

A launch (cold or snapshot) goes: control plane; pick a host; wait for a launch slot and
the host's creation token (FIFO per host, request launches ahead of warm-pool refills); fetch the artifact (image or memory snapshot)
unless the host has it, sharing the host's and the store's bandwidth with other fetches,
and joining a fetch of the same artifact already under way; start the VMM; boot and
initialise (cold) or restore (snapshot); release the slot; ready. A warm launch hands
over a pre-started sandbox. Each step's latency is sampled from the profile's parts.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..distributions import FloatArray
from ..platforms import LaunchPart, LaunchPipeline
from .dynamic import DynamicEngine
from .fetch import FetchNetwork, Flow

COLD, SNAPSHOT, WARM = 0, 1, 2
"""Launch kinds the pipeline serves."""
BLOCK = 4096
"""Latencies are sampled from each part's distribution in blocks of this size."""


class PartSampler:
    """Draws one part's latencies in blocks from the launcher's random stream."""

    def __init__(self, part: LaunchPart | None, rng: np.random.Generator) -> None:
        self._part = part
        self._rng = rng
        self._block: list[float] = []
        self._next = 0

    def draw(self) -> float:
        """The next latency (0 when the part is absent)."""
        if self._part is None:
            return 0.0
        if self._next >= len(self._block):
            self._block = self._part.latency.sample(self._rng, BLOCK).tolist()
            self._next = 0
        value = self._block[self._next]
        self._next += 1
        return value


@dataclass
class Host:
    """One launch host: its slots, creation-rate state, cache, and queue."""

    busy_slots: int = 0
    tat: float = -math.inf
    wake_pending: bool = False
    """A wake-up is scheduled for the next creation token."""
    queue: deque[int] = field(default_factory=deque)
    """Request launches waiting for a slot, first come first served."""
    pool_queue: deque[int] = field(default_factory=deque)
    """Pool launches waiting for a slot: served only when no request launch waits."""
    cache: OrderedDict[str, float] = field(default_factory=OrderedDict)
    cached_gib: float = 0.0
    fetching: dict[str, Flow] = field(default_factory=dict)


@dataclass(frozen=True)
class LaunchRecord:
    """What each launch went through, for bottleneck attribution and counts."""

    host_wait_s: FloatArray
    """Waiting for a host's launch slot and creation token."""
    fetch_s: FloatArray
    """Waiting for the artifact (own fetch, or a fetch already under way)."""
    cache_miss: np.ndarray
    """True where the host did not have the artifact."""
    host: np.ndarray
    """Host index of each launch (-1: not launched through a host)."""
    cache_misses: int
    fetched_gib: float
    fetch_started_offset_s: FloatArray
    """When the artifact step began, from the launch start (NaN where it did not happen)."""
    host_start_offset_s: FloatArray
    """When a host took the launch (a free slot and a creation token), from the launch
    start (NaN where the launch did not go through a host)."""


class PipelineLauncher:
    """Turns launch starts into ready times through a launch pipeline."""

    def __init__(
        self,
        pipeline: LaunchPipeline,
        kind: np.ndarray,
        artifact_name: list[str],
        artifact_gib: FloatArray,
        all_artifacts: dict[str, float],
        rng: np.random.Generator,
        direct_latency_s: FloatArray | None = None,
    ) -> None:
        """``direct_latency_s`` gives, where not NaN, a latency that bypasses the pipeline
        (resuming a paused sandbox on the host it is paused on)."""
        self._pipeline = pipeline
        self._kind = kind.tolist()
        self._artifact = list(artifact_name)
        self._artifact_gib = artifact_gib.tolist()
        n = len(self._kind)
        self._direct = direct_latency_s.tolist() if direct_latency_s is not None else [math.nan] * n
        parts = pipeline.parts
        self._control_plane = PartSampler(parts.control_plane, rng)
        self._vmm = PartSampler(parts.vmm_start, rng)
        self._boot = PartSampler(parts.guest_boot, rng)
        self._init = PartSampler(parts.app_init, rng)
        self._restore = PartSampler(parts.restore, rng)
        self._handover = PartSampler(parts.handover, rng)
        self._hosts = [Host() for _ in range(pipeline.hosts)]
        self._round_robin = 0
        self._slots = pipeline.launch_slots_per_host or n + 1
        rate = pipeline.creation_rate_per_host
        self._interval = 1.0 / rate.per_second if rate else 0.0
        self._tolerance = (rate.burst - 1) * self._interval if rate else 0.0
        preload = {
            "none": (),
            "snapshots": ("snapshot:",),
            "images": ("image:",),
            "all": ("image:", "snapshot:"),
        }
        prefixes = preload[pipeline.preloaded]
        for host in self._hosts:
            for name, size in all_artifacts.items():
                if name.startswith(prefixes):
                    self._insert(host, name, size)
        self._n_activations = n
        self._extra_done: dict[int, Callable[[float, float, float], None]] = {}
        self._host_of = [-1] * n
        self._launch_started = [math.nan] * n
        self._queued_at = [math.nan] * n
        self._admitted_at = [math.nan] * n
        self._fetch_started = [math.nan] * n
        self._fetch_done = [math.nan] * n
        self._miss = [False] * n
        self._engine: DynamicEngine | None = None
        self._network: FetchNetwork | None = None

    # ------------------------------------------------------------- wiring
    def attach(self, engine: DynamicEngine) -> None:
        self._engine = engine
        self._network = FetchNetwork(
            self._pipeline.host_bandwidth_gib_s,
            self._pipeline.shared_bandwidth_gib_s,
            lambda: engine.now,
            self._call_at,
        )

    def _call_at(self, time_s: float, function: Callable[[], None]) -> None:
        engine = self._engine
        assert engine is not None
        engine.at(time_s, [lambda _event: function()], 0)

    def _later(self, delay_s: float, function: Callable[[int], None], index: int) -> None:
        engine = self._engine
        assert engine is not None
        engine.at(engine.now + delay_s, [lambda event: function(event.argument)], index)

    # ------------------------------------------------------------- steps
    def launch(self, index: int) -> None:
        engine = self._engine
        assert engine is not None
        direct = self._direct[index]
        if direct == direct:  # not NaN
            engine.ready(index, engine.now + direct)
            return
        if self._kind[index] == WARM:
            engine.ready(index, engine.now + self._handover.draw())
            return
        self._launch_started[index] = engine.now
        self._later(self._control_plane.draw(), self._place, index)

    def finished(self, index: int) -> None:
        return None

    def launch_extra(
        self,
        kind: int,
        artifact: str,
        artifact_gib: float,
        on_ready: Callable[[float, float, float], None],
    ) -> None:
        """Launch a sandbox that no request asked for (a warm pool's), now, through the same
        pipeline; ``on_ready(launch_start, host_start, ready)`` is called when it is ready
        (host_start: when a host took it, after any wait for a slot or creation token)."""
        index = len(self._kind)
        self._kind.append(kind)
        self._artifact.append(artifact)
        self._artifact_gib.append(artifact_gib)
        self._direct.append(math.nan)
        self._host_of.append(-1)
        self._miss.append(False)
        for times in (
            self._launch_started,
            self._queued_at,
            self._admitted_at,
            self._fetch_started,
            self._fetch_done,
        ):
            times.append(math.nan)
        self._extra_done[index] = on_ready
        self._launch_started[index] = self._now()
        self._later(self._control_plane.draw(), self._place, index)

    def _place(self, index: int) -> None:
        host_index = self._choose_host(self._artifact[index])
        self._host_of[index] = host_index
        host = self._hosts[host_index]
        self._queued_at[index] = self._now()
        # a request launch goes ahead of pool launches waiting on the host: a pool refill
        # must not delay the launch it is meant to speed up
        if index in self._extra_done:
            host.pool_queue.append(index)
        else:
            host.queue.append(index)
        self._serve(host_index)

    def _choose_host(self, artifact: str) -> int:
        placement = self._pipeline.placement
        hosts = self._hosts
        if placement == "round_robin":
            chosen = self._round_robin
            self._round_robin = (chosen + 1) % len(hosts)
            return chosen

        def load(i: int) -> int:
            return hosts[i].busy_slots + len(hosts[i].queue) + len(hosts[i].pool_queue)

        if placement == "cache_affinity":
            holders = [
                i for i, h in enumerate(hosts) if artifact in h.cache or artifact in h.fetching
            ]
            if holders:
                return min(holders, key=load)
        return min(range(len(hosts)), key=load)

    def _serve(self, host_index: int) -> None:
        """Start waiting launches while the host has a free slot and a creation token:
        request launches first, then pool launches, each in arrival order. A token not yet
        due schedules one wake-up, at which the head of the queue (whichever it is then)
        takes it."""
        host = self._hosts[host_index]
        while (host.queue or host.pool_queue) and host.busy_slots < self._slots:
            now = self._now()
            if self._interval > 0:
                earliest = host.tat - self._tolerance
                if earliest > now:
                    if not host.wake_pending:
                        host.wake_pending = True
                        self._call_at(earliest, lambda: self._token_due(host_index))
                    return
                host.tat = (now if now > host.tat else host.tat) + self._interval
            index = host.queue.popleft() if host.queue else host.pool_queue.popleft()
            host.busy_slots += 1
            self._admitted_at[index] = now
            self._fetch(index)

    def _token_due(self, host_index: int) -> None:
        self._hosts[host_index].wake_pending = False
        self._serve(host_index)

    def _fetch(self, index: int) -> None:
        host_index = self._host_of[index]
        host = self._hosts[host_index]
        artifact = self._artifact[index]
        self._fetch_started[index] = self._now()
        if artifact in host.cache:
            host.cache.move_to_end(artifact)  # least recently used goes first
            self._fetch_done[index] = self._now()
            self._start_vmm(index)
            return
        self._miss[index] = True
        flow = host.fetching.get(artifact)
        if flow is not None:
            flow.waiters.append(index)  # join the fetch already under way
            return
        flow = Flow(host=host_index, artifact=artifact, remaining_gib=self._artifact_gib[index])
        flow.waiters.append(index)
        flow.done = lambda: self._fetched(flow)
        host.fetching[artifact] = flow
        assert self._network is not None
        self._network.start(flow)

    def _fetched(self, flow: Flow) -> None:
        host = self._hosts[flow.host]
        del host.fetching[flow.artifact]
        size = self._artifact_gib[flow.waiters[0]]
        self._insert(host, flow.artifact, size)
        now = self._now()
        for index in flow.waiters:
            self._fetch_done[index] = now
            self._start_vmm(index)

    def _insert(self, host: Host, artifact: str, size_gib: float) -> None:
        """Cache an artifact, evicting the least recently used to make room."""
        capacity = self._pipeline.cache_per_host
        if size_gib > capacity:
            return  # too big to keep: every launch fetches it
        while host.cached_gib + size_gib > capacity + 1e-12 and host.cache:
            _, evicted = host.cache.popitem(last=False)
            host.cached_gib -= evicted
        host.cache[artifact] = size_gib
        host.cached_gib += size_gib

    def _start_vmm(self, index: int) -> None:
        pipeline = self._pipeline
        delay = self._vmm.draw()
        if self._kind[index] == COLD:
            delay += self._boot.draw() + self._init.draw()
        else:
            delay += self._restore.draw()
            if pipeline.restore == "eager" and pipeline.restore_bandwidth_gib_s:
                delay += self._artifact_gib[index] / pipeline.restore_bandwidth_gib_s
        self._later(delay, self._launched, index)

    def _launched(self, index: int) -> None:
        host_index = self._host_of[index]
        host = self._hosts[host_index]
        host.busy_slots -= 1
        self._serve(host_index)
        extra = self.lazy_extra_s(self._kind[index], self._artifact_gib[index])
        done = self._extra_done.pop(index, None)
        if done is not None:
            done(self._launch_started[index], self._admitted_at[index], self._now())
            return
        engine = self._engine
        assert engine is not None
        engine.ready(index, self._now(), extra)

    def lazy_extra_s(self, kind: int, artifact_gib: float) -> float:
        """How much longer the first run on a sandbox is when its snapshot was restored
        lazily: its working set faulted in at the fault bandwidth (0 otherwise)."""
        pipeline = self._pipeline
        if (
            kind != SNAPSHOT
            or pipeline.restore != "lazy"
            or not pipeline.lazy_fault_bandwidth_gib_s
        ):
            return 0.0
        return pipeline.lazy_working_set * artifact_gib / pipeline.lazy_fault_bandwidth_gib_s

    def _now(self) -> float:
        engine = self._engine
        assert engine is not None
        return engine.now

    # ------------------------------------------------------------- results
    def record(self) -> LaunchRecord:
        """What the launches went through."""
        n = self._n_activations  # pool launches beyond these are not activations
        queued = np.asarray(self._queued_at[:n])
        admitted = np.asarray(self._admitted_at[:n])
        started = np.asarray(self._fetch_started[:n])
        done = np.asarray(self._fetch_done[:n])
        network = self._network
        return LaunchRecord(
            host_wait_s=np.nan_to_num(admitted - queued, nan=0.0),
            fetch_s=np.nan_to_num(done - started, nan=0.0),
            cache_miss=np.asarray(self._miss[:n]),
            host=np.asarray(self._host_of[:n]),
            cache_misses=network.fetches if network else 0,
            fetched_gib=network.bytes_fetched_gib if network else 0.0,
            fetch_started_offset_s=started - np.asarray(self._launch_started[:n]),
            host_start_offset_s=admitted - np.asarray(self._launch_started[:n]),
        )
