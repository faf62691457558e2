"""The general event engine: requests that appear during the run, and pluggable launchers.

Sessions make requests depend on the simulation (the next tool call is requested when
the previous one is done), and launch pipelines and warm pools make launch times depend
on shared state. This engine handles both, with the same rules as the fast gate: a
launch token bucket first (a throttled request holds no slot), then a FIFO quota (queue,
queue with timeout, or reject) counting sandboxes and summed resources.

It keeps the fast gate's economy of events. Requests wait in heaps ordered by time; the
only requests not yet known are the ones a sandbox's end will create, at or after that
end, so nothing unknown can come before the next scheduled event. Every known request
earlier than that event can therefore be decided now, at its own time, when it fits
(departures only ever free room). A queueing platform then steps about one event per
sandbox, its end; wake-ups are scheduled only where the clock must reach a request's
time (rejects, timeouts, or a request later than the next event). The launcher turns a
launch start into a ready time, and hears when a sandbox ends.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
import simpy
from simpy.core import EmptySchedule
from simpy.events import NORMAL, URGENT, EventCallbacks

from ..distributions import FloatArray
from .activations import Activations
from .admission import AdmissionResult, Limits, QuotaCounter


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
        self.latency = self._latency
        """Latency per activation (the engine reads it directly on its hot path)."""
        self._extra_latency = extra_latency
        self._engine: DynamicEngine | None = None

    def attach(self, engine: DynamicEngine) -> None:
        self._engine = engine

    def launch(self, index: int) -> None:
        engine = self._engine
        assert engine is not None
        engine.ready(index, engine.now + self._latency[index])

    def launch_at(self, index: int, start_s: float) -> None:
        """Launch at ``start_s`` (ahead of the clock): nothing here depends on the clock."""
        engine = self._engine
        assert engine is not None
        engine.ready(index, start_s + self._latency[index])

    def finished(self, index: int) -> None:
        return None

    def launch_extra(
        self,
        kind: int,
        artifact: str,
        artifact_gib: float,
        on_ready: Callable[[float, float, float], None],
    ) -> None:
        """Launch a sandbox for a pool; ``on_ready(launch_start, host_start, ready)`` when
        it is ready (no hosts here: it starts where it is launched)."""
        engine = self._engine
        assert engine is not None
        assert self._extra_latency is not None
        start = engine.now
        ready = start + self._extra_latency()
        engine.at(ready, [lambda _event: on_ready(start, start, ready)], 0)


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


class DynamicEngine(QuotaCounter):
    """Token bucket, then FIFO admission under quotas, for requests made during the run."""

    def __init__(
        self,
        acts: Activations,
        call_run_s: FloatArray,
        limits: Limits,
        resource_use: list[FloatArray],
        launcher: Launcher,
    ) -> None:
        super().__init__(acts.size, limits, resource_use)
        self.env = simpy.Environment()
        self._events = cast(list[Any], self.env._queue)
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
        self._extra_run: dict[int, float] = {}
        """Run time added to a call by its launch (lazy restore faults), by activation."""
        self._gap = acts.gap_after_s.tolist()
        self._next = acts.next_index.tolist()
        self._reject = limits.reject_over_quota
        self._timeout = limits.queue_timeout_s if limits.queue_timeout_s is not None else math.inf
        self._rate = limits.launch_rate
        self._tat = -math.inf
        known = [(t, i) for i, t in enumerate(self.request_s) if not math.isnan(t)]
        heapq.heapify(known)
        # with a rate limit, requests first wait for a token (by request time), then for the
        # quota (by token time); without one, they go straight to the quota
        self._unthrottled: list[tuple[float, int]] = known if self._rate is not None else []
        self._queue: list[tuple[float, int]] = [] if self._rate is not None else known
        self._wake_at = math.inf
        self.launcher = launcher
        self._launch_at = getattr(launcher, "launch_at", None)
        self._ahead = True
        """Decide known requests ahead of the clock (off where capacity can also shrink)."""
        self._plain = True
        """Capacity is a plain sandbox count (off where placement decides)."""
        self._advance_clock = False
        """Deciding ahead, first move the clock to the request's time (where capacity
        depends on the clock). Sound because no event comes before it."""
        self._stale_ends = [0] * n
        self.retries = [0] * n
        # the common launcher needs no calls at all: its latencies are known up front
        self._fixed_latency = (
            launcher.latency if isinstance(launcher, FixedLatencyLauncher) else None
        )
        self._end_callbacks: EventCallbacks = [self._on_end]
        self._launch_callbacks: EventCallbacks = [self._on_launch]
        self._wake_callbacks: EventCallbacks = [self._on_wake]
        launcher.attach(self)

    @property
    def now(self) -> float:
        """The simulation clock."""
        return self.env._now

    def has_work(self) -> bool:
        """True while requests are still to come, waiting, or holding a slot."""
        return bool(self._unthrottled) or bool(self._queue) or self._in_system > 0

    def at(
        self, time_s: float, callbacks: EventCallbacks, argument: int, priority: int = NORMAL
    ) -> None:
        """Schedule ``callbacks`` with an event carrying ``argument`` at ``time_s``."""
        heapq.heappush(
            self._events, (time_s, priority, next(self._eid), _Call(callbacks, argument))
        )

    def _next_event_s(self) -> float:
        return self._events[0][0] if self._events else math.inf

    def _wake(self, time_s: float) -> None:
        """Make sure the clock stops at ``time_s`` to look at the requests again."""
        if time_s < self._wake_at:
            self._wake_at = time_s
            self.at(time_s, self._wake_callbacks, 0)

    def _wake_now(self) -> None:
        """A wake-up at the current instant, after the ends already scheduled for it."""
        self._wake_at = self.env._now
        self.at(self.env._now, self._wake_callbacks, 0)

    def _on_wake(self, _event: _Call) -> None:
        if self.env._now >= self._wake_at:
            self._wake_at = math.inf
        self._process()

    # ---------------------------------------------------------------- admission
    def _token(self) -> None:
        """Give the earliest throttled request its launch token (GCRA) and queue it."""
        rate = self._rate
        assert rate is not None
        at, index = heapq.heappop(self._unthrottled)
        tat = self._tat
        earliest = tat - rate.tolerance_s
        token = at if at >= earliest else earliest
        self._tat = (at if at > tat else tat) + rate.interval_s
        self.token_s[index] = token
        heapq.heappush(self._queue, (token, index))

    def _process(self) -> None:
        """Decide every request that can be decided before the next event, in time order.

        Tokens go to requests in request order, and only once nothing unknown can precede
        them: a quota head that comes earlier is settled first, since admitting it may
        schedule an end (and so a new request) before them. No request is rejected (or
        timed out) at an instant when an end is still to come: that end may free room.
        """
        if self._rate is None:
            self._process_queue()
            return
        now = self.env._now
        queue, unthrottled = self._queue, self._unthrottled
        while True:
            first_token = queue[0][0] if queue else math.inf
            first_request = unthrottled[0][0] if unthrottled else math.inf
            if first_request < first_token:
                if first_request > now and first_request >= self._next_event_s():
                    self._wake(first_request)
                    return
                self._token()
                continue
            if not queue or not self._quota_step():
                break
        # the quota head waits (or none is left): tokens for what surely comes next
        while unthrottled and (
            unthrottled[0][0] <= now or unthrottled[0][0] < self._next_event_s()
        ):
            self._token()
        if unthrottled:
            self._wake(unthrottled[0][0])

    def _process_queue(self) -> None:
        """The quota queue alone (no rate limit): the hot path, kept free of calls."""
        now = self.env._now
        queue, events = self._queue, self._events
        quota = self._quota
        plain = not self._resources and self._plain
        ahead = self._ahead
        advance = self._advance_clock
        while queue:
            at, index = queue[0]
            if at > now:
                if not ahead or (events and at >= events[0][0]):
                    self._wake(at)  # an event comes first: it may free room or add requests
                    return
                if advance:  # nothing happens before it: as good as a wake-up at its time
                    self.env._now = now = at
            if (self._in_system < quota) if plain else self._fits(index):
                heapq.heappop(queue)
                self._admit(index, at if at > now else now)
            elif not self._quota_step():
                return

    def _quota_step(self) -> bool:
        """Settle the quota queue's head if its time has surely come; False if it waits."""
        now = self.env._now
        queue = self._queue
        timeout = self._timeout
        at, index = queue[0]
        if at > now:
            if not self._ahead or at >= self._next_event_s():
                self._wake(at)
                return False
            if self._advance_clock:
                self.env._now = now = at
        if self._fits(index):
            heapq.heappop(queue)
            self._admit(index, at if at > now else now)
            return True
        events = self._events
        ends_now = bool(events) and events[0][0] == now and events[0][1] == URGENT
        due = now > at + timeout or (self._reject and at < now)
        if not due and (now == at + timeout or (self._reject and at == now)) and ends_now:
            # an end still to come at this very instant may free room: a wake-up at the
            # same instant, which runs after it, decides
            self._wake_now()
            return False
        if now >= at + timeout:
            heapq.heappop(queue)
            self.gave_up[index] = True  # waited as long as it would; its times stay NaN
            return True
        if self._reject and at <= now:
            heapq.heappop(queue)  # no room when it arrived: rejected
            return True
        # it waits: for an end to free room, or for the clock to reach its time
        if self._reject:
            self._wake(at)
        elif timeout < math.inf:
            self._wake(at + timeout)
        return False

    def _admit(self, index: int, at_s: float) -> None:
        if self._rate is None:
            self.token_s[index] = self.request_s[index]
        self.admit_s[index] = at_s
        self.start_s[index] = at_s
        self._take(index)
        fixed = self._fixed_latency
        if fixed is not None:
            # a fixed-latency launch needs no event of its own: straight to the end
            ready = at_s + fixed[index]
            end = ready + self._run[index]
            self.ready_s[index] = ready
            self.end_s[index] = end
            heapq.heappush(
                self._events, (end, URGENT, next(self._eid), _Call(self._end_callbacks, index))
            )
            return
        if at_s <= self.env._now:
            self.launcher.launch(index)
        elif self._launch_at is not None:
            self._launch_at(index, at_s)
        else:
            self.at(at_s, self._launch_callbacks, index)

    def _on_launch(self, event: _Call) -> None:
        self.launcher.launch(event.argument)

    # ---------------------------------------------------------------- run and end
    def ready(self, index: int, ready_s: float, extra_run_s: float = 0.0) -> None:
        """Activation ``index`` is (or will be, at ``ready_s``) ready; it then runs and ends."""
        self.ready_s[index] = ready_s
        if extra_run_s:
            self._extra_run[index] = extra_run_s
        end = ready_s + self._run[index] + extra_run_s
        self.end_s[index] = end
        self.at(end, self._end_callbacks, index, URGENT)

    def restart(self, index: int) -> None:
        """Activation ``index`` lost its sandbox now (its host went away): it queues again,
        keeping its request time, and its pending end no longer counts."""
        self._stale_ends[index] += 1
        self._release(index)
        self.retries[index] += 1
        self.token_s[index] = self.env._now
        heapq.heappush(self._queue, (self.env._now, index))

    def drop(self, index: int) -> None:
        """Activation ``index`` lost its sandbox now and will not be tried again: its times
        are cleared and it counts as given up (not served)."""
        self._stale_ends[index] += 1
        self._release(index)
        nan = math.nan
        self.admit_s[index] = self.start_s[index] = nan
        self.ready_s[index] = self.end_s[index] = nan
        self.gave_up[index] = True

    def _on_end(self, event: _Call) -> None:
        index = event.argument
        if self._stale_ends[index]:
            self._stale_ends[index] -= 1  # the end of a sandbox that was lost and retried
            return
        self._release(index)
        if self._fixed_latency is None:
            self.launcher.finished(index)
        following = self._next[index]
        if following >= 0:
            # the next call is requested once this call's result is back and the model
            # has thought, and not before pausing is done
            call_done = (
                self.ready_s[index] + self._call_end_offset[index] + self._extra_run.get(index, 0.0)
            )
            at = max(call_done + self._gap[index], self.env._now)
            self.request_s[following] = at
            heapq.heappush(
                self._unthrottled if self._rate is not None else self._queue, (at, following)
            )
        self._process()

    # ---------------------------------------------------------------- run
    def run(self) -> DynamicResult:
        """Step the clock until nothing is left to do."""
        self._process()
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
