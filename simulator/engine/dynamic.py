"""The general event engine: requests that appear during the run, and pluggable launchers.

Sessions make requests depend on the simulation (the next tool call is requested when
the previous one is done), and launch pipelines and warm pools make launch times depend
on shared state. This engine handles both. Requests arrive in time order from a heap;
admission is the same FIFO quota (queue, queue with timeout, or reject, counting
sandboxes and summed resources) and launch token bucket as the fast gate, but decided
when the clock reaches each request. The launcher turns a launch start into a ready
time, and hears when a sandbox ends.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
import simpy
from simpy.core import EmptySchedule
from simpy.events import NORMAL, URGENT, EventCallbacks

from ..distributions import FloatArray
from .activations import Activations
from .admission import MILLI, AdmissionResult, Limits


class Launcher(Protocol):
    """Turns launch starts into ready times."""

    def attach(self, engine: DynamicEngine) -> None:
        """Called once before the run."""

    def launch(self, index: int) -> None:
        """Activation ``index`` starts launching now; call ``engine.ready`` when it is ready."""

    def finished(self, index: int) -> None:
        """Activation ``index`` has ended now."""


class FixedLatencyLauncher:
    """Each activation is ready a sampled latency after its launch starts (no contention)."""

    def __init__(
        self, latency_s: FloatArray, extra_latency: Callable[[], float] | None = None
    ) -> None:
        """``extra_latency`` draws the latency of launches no request asked for (pools)."""
        self._latency = latency_s.tolist()
        self._extra_latency = extra_latency
        self._engine: DynamicEngine | None = None

    def attach(self, engine: DynamicEngine) -> None:
        self._engine = engine

    def launch(self, index: int) -> None:
        engine = self._engine
        assert engine is not None
        engine.ready(index, engine.now + self._latency[index])

    def finished(self, index: int) -> None:
        return None

    def launch_extra(
        self,
        kind: int,
        artifact: str,
        artifact_gib: float,
        on_ready: Callable[[float, float], None],
    ) -> None:
        """Launch a sandbox for a pool; ``on_ready(launch_start, ready)`` when it is ready."""
        engine = self._engine
        assert engine is not None
        assert self._extra_latency is not None
        start = engine.now
        ready = start + self._extra_latency()
        engine.at(ready, [lambda _event: on_ready(start, ready)], 0)


class _Call:
    """A pre-triggered SimPy event that calls ``function(argument)``; the engine's hot path."""

    __slots__ = ("argument", "callbacks")
    _ok = True
    _value = None

    def __init__(self, callbacks: EventCallbacks, argument: int) -> None:
        self.callbacks: EventCallbacks | None = callbacks
        self.argument = argument


@dataclass(frozen=True)
class DynamicResult(AdmissionResult):
    """Times of each activation, including request times the run decided."""

    request_s: FloatArray
    requested: np.ndarray
    """False for activations never requested (their session ended early)."""


class DynamicEngine:
    """FIFO admission under quotas and a launch token bucket, for requests made during the run."""

    def __init__(
        self,
        acts: Activations,
        call_run_s: FloatArray,
        limits: Limits,
        resource_use: list[FloatArray],
        launcher: Launcher,
    ) -> None:
        self.env = simpy.Environment()
        self._queue_heap = cast(list[Any], self.env._queue)
        self._eid = self.env._eid
        n = acts.size
        self._n = n
        nan = math.nan
        self.request_s: list[float] = acts.request_s.tolist()
        self.token_s = [nan] * n
        self.gave_up = [False] * n
        self.admit_s = [nan] * n
        self.start_s = [nan] * n
        self.ready_s = [nan] * n
        self.end_s = [nan] * n
        self._run = (call_run_s + acts.tail_s).tolist()
        self._call_end_offset = call_run_s.tolist()
        self._gap = acts.gap_after_s.tolist()
        self._next = acts.next_index.tolist()
        self._quota = limits.quota if limits.quota is not None else n + 1
        self._reject = limits.reject_over_quota
        self._timeout = limits.queue_timeout_s if limits.queue_timeout_s is not None else math.inf
        self._rate = limits.launch_rate
        self._tat = -math.inf
        self._resources = [
            (round(capacity * MILLI), np.rint(use * MILLI).astype(np.int64).tolist())
            for capacity, use in zip(limits.resource_quotas, resource_use, strict=True)
            if capacity is not None
        ]
        self._in_use = [0] * len(self._resources)
        self._in_system = 0
        self._waiting: deque[int] = deque()
        self._waiting_flag = [False] * n
        self._pending: list[tuple[float, int]] = [
            (t, i) for i, t in enumerate(self.request_s) if not math.isnan(t)
        ]
        heapq.heapify(self._pending)
        self._driver_at = math.inf
        self.launcher = launcher
        self._end_callbacks: EventCallbacks = [self._on_end]
        self._token_callbacks: EventCallbacks = [self._on_token]
        self._timeout_callbacks: EventCallbacks = [self._on_timeout]
        launcher.attach(self)

    @property
    def now(self) -> float:
        """The simulation clock."""
        return self.env._now

    def has_work(self) -> bool:
        """True while requests are still to come, waiting, or holding a slot."""
        return bool(self._pending) or self._in_system > 0 or bool(self._waiting)

    def at(
        self, time_s: float, callbacks: EventCallbacks, argument: int, priority: int = NORMAL
    ) -> None:
        """Schedule ``callbacks`` with an event carrying ``argument`` at ``time_s``."""
        heapq.heappush(
            self._queue_heap, (time_s, priority, next(self._eid), _Call(callbacks, argument))
        )

    # ---------------------------------------------------------------- arrivals
    def _schedule_driver(self) -> None:
        if self._pending:
            first = self._pending[0][0]
            if first < self._driver_at:
                self._driver_at = first
                self.at(first, [self._on_driver], 0)

    def _on_driver(self, _event: Any) -> None:
        now = self.env._now
        if now != self._driver_at:
            return  # superseded by an earlier driver
        self._driver_at = math.inf
        pending = self._pending
        while pending and pending[0][0] <= now:
            _, index = heapq.heappop(pending)
            self._arrive(index)
        self._schedule_driver()

    def _arrive(self, index: int) -> None:
        """A request first waits for a launch token (holding no slot), then for the quota."""
        now = self.env._now
        rate = self._rate
        token = now
        if rate is not None:
            tat = self._tat
            earliest = tat - rate.tolerance_s
            token = now if now >= earliest else earliest
            self._tat = (now if now > tat else tat) + rate.interval_s
        if token > now:
            self.at(token, self._token_callbacks, index)
        else:
            self._at_quota(index)

    def _on_token(self, event: _Call) -> None:
        self._at_quota(event.argument)

    def _at_quota(self, index: int) -> None:
        self.token_s[index] = self.env._now
        if not self._waiting and self._fits(index):
            self._admit(index)
        elif self._reject:
            return  # no room: rejected, its times stay NaN
        else:
            self._waiting.append(index)
            self._waiting_flag[index] = True
            if self._timeout < math.inf:
                self.at(self.env._now + self._timeout, self._timeout_callbacks, index)

    # ---------------------------------------------------------------- admission
    def _fits(self, index: int) -> bool:
        if self._in_system >= self._quota:
            return False
        for k, (capacity, use) in enumerate(self._resources):
            if self._in_use[k] + use[index] > capacity:
                return False
        return True

    def _admit(self, index: int) -> None:
        now = self.env._now
        self.admit_s[index] = now
        self.start_s[index] = now
        self._in_system += 1
        for k, (_, use) in enumerate(self._resources):
            self._in_use[k] += use[index]
        self.launcher.launch(index)

    def _on_timeout(self, event: _Call) -> None:
        index = event.argument
        if self._waiting_flag[index]:
            self._waiting_flag[index] = False  # gave up; the queue skips it
            self.gave_up[index] = True
            self._drain()

    def _drain(self) -> None:
        waiting = self._waiting
        while waiting:
            head = waiting[0]
            if not self._waiting_flag[head]:
                waiting.popleft()
                continue
            if not self._fits(head):
                break
            waiting.popleft()
            self._waiting_flag[head] = False
            self._admit(head)

    # ---------------------------------------------------------------- run and end
    def ready(self, index: int, ready_s: float, extra_run_s: float = 0.0) -> None:
        """Activation ``index`` is (or will be, at ``ready_s``) ready; it then runs and ends."""
        self.ready_s[index] = ready_s
        end = ready_s + self._run[index] + extra_run_s
        self.end_s[index] = end
        self.at(end, self._end_callbacks, index, URGENT)

    def _on_end(self, event: _Call) -> None:
        index = event.argument
        self._in_system -= 1
        for k, (_, use) in enumerate(self._resources):
            self._in_use[k] -= use[index]
        self.launcher.finished(index)
        following = self._next[index]
        if following >= 0:
            # the next call is requested once this call's result is back and the model
            # has thought, and not before pausing is done
            call_done = self.ready_s[index] + self._call_end_offset[index]
            at = max(call_done + self._gap[index], self.env._now)
            self.request_s[following] = at
            heapq.heappush(self._pending, (at, following))
            self._schedule_driver()
        self._drain()

    # ---------------------------------------------------------------- run
    def run(self) -> DynamicResult:
        """Step the clock until nothing is left to do."""
        self._schedule_driver()
        step = self.env.step
        try:
            while True:
                step()
        except EmptySchedule:
            pass
        request = np.asarray(self.request_s, dtype=np.float64)
        return DynamicResult(
            token_s=np.asarray(self.token_s, dtype=np.float64),
            gave_up=np.asarray(self.gave_up, dtype=bool),
            admit_s=np.asarray(self.admit_s, dtype=np.float64),
            launch_start_s=np.asarray(self.start_s, dtype=np.float64),
            ready_s=np.asarray(self.ready_s, dtype=np.float64),
            end_s=np.asarray(self.end_s, dtype=np.float64),
            request_s=request,
            requested=~np.isnan(request),
        )
