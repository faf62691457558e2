"""Quota admission and launch rate limiting, driven by SimPy callbacks.

A request first passes the platform's launch rate limit (a token bucket: a throttled
create holds no quota slot), then the concurrency quota (queue, queue with a timeout, or
reject). The token bucket is computed in its closed form (GCRA) for all requests at
once, which needs no events. The quota gate then sees requests in the order their
tokens were granted.

Requests are pre-sampled and sorted, so the gate needs no process per sandbox. It counts
what is admitted and not yet departed (sandboxes, and summed resources where a quota
counts vCPU or GPUs); departures only ever lower those counts, so while the next request
in line fits, it can be admitted at its own time even if the clock has not reached it
yet (the true counts then can only be lower). Only when it does not fit does the gate
wait: for a departure event (queue), or for the request's own time (reject: the clock
must reach it to know whether room freed). So a queueing platform steps exactly one
SimPy event per sandbox, its departure. A queued request that would wait longer than
the queue timeout gives up. Admission is strictly first in, first out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from heapq import heappush
from typing import Any, cast

import numpy as np
import simpy
from simpy.core import EmptySchedule
from simpy.events import NORMAL, URGENT, Event, EventCallbacks

from ..distributions import FloatArray
from .model import TokenBucket

MILLI = 1000
"""Resources are counted in integer thousandths so that admitting and releasing never drift."""


@dataclass(frozen=True)
class AdmissionResult:
    """Times of each request (NaN where it never got that far)."""

    token_s: FloatArray
    """When the launch rate limit let the request through (its request time if none)."""
    admit_s: FloatArray
    """When it took a quota slot, and its launch began."""
    launch_start_s: FloatArray
    ready_s: FloatArray
    end_s: FloatArray
    gave_up: np.ndarray
    """True where the request left the queue after waiting the queue timeout."""


@dataclass(frozen=True)
class Limits:
    """What the gate enforces."""

    quota: int | None = None
    """Sandboxes at once."""
    resource_quotas: tuple[float | None, ...] = ()
    """Limits on summed per-sandbox resources at once (e.g. vCPU, GPUs), in the order of
    the columns of the ``resource_use`` given to the gate; None for no limit."""
    reject_over_quota: bool = False
    queue_timeout_s: float | None = None
    launch_rate: TokenBucket | None = None


def token_bucket_starts(request_s: FloatArray, rate: TokenBucket | None) -> FloatArray:
    """When sorted requests get a launch token (GCRA, first come first served).

    The theoretical arrival time after request j is TAT_j = max(t_j, TAT_{j-1}) + T, whose
    closed form is (j + 1) T + max_{i <= j} (t_i - i T); request j passes at
    max(t_j, TAT_{j-1} - tolerance).
    """
    if rate is None or request_s.size == 0:
        return request_s.copy()
    interval = rate.interval_s
    index = np.arange(request_s.size, dtype=np.float64)
    tat_after = (index + 1) * interval + np.maximum.accumulate(request_s - index * interval)
    tat_before = np.concatenate(([-np.inf], tat_after[:-1]))
    return np.maximum(request_s, tat_before - rate.tolerance_s)


class QuotaCounter:
    """Sandboxes, and summed per-sandbox resources (vCPU, GPUs), held against quotas.

    Resources are counted in integer thousandths so that taking and releasing never drift.
    """

    def __init__(self, n: int, limits: Limits, resource_use: list[FloatArray]) -> None:
        self._quota = limits.quota if limits.quota is not None else n + 1
        self._resources: list[tuple[int, list[int]]] = [
            (round(capacity * MILLI), np.rint(use * MILLI).astype(np.int64).tolist())
            for capacity, use in zip(limits.resource_quotas, resource_use, strict=True)
            if capacity is not None
        ]
        self._in_use = [0] * len(self._resources)
        self._in_system = 0
        for capacity, use in self._resources:
            if use and max(use) > capacity:
                raise ValueError("a sandbox needs more of a resource than its whole quota")

    def _fits(self, index: int) -> bool:
        """Whether one more sandbox (request ``index``) fits under every quota now."""
        if self._in_system >= self._quota:
            return False
        for k, (capacity, use) in enumerate(self._resources):
            if self._in_use[k] + use[index] > capacity:
                return False
        return True

    def _take(self, index: int) -> None:
        self._in_system += 1
        for k, (_, use) in enumerate(self._resources):
            self._in_use[k] += use[index]

    def _release(self, index: int) -> None:
        self._in_system -= 1
        for k, (_, use) in enumerate(self._resources):
            self._in_use[k] -= use[index]


class _Departure:
    """A pre-triggered SimPy event reduced to what ``Environment.step`` reads, plus the
    sandbox it frees. Departures are the hot path (one per sandbox), so they skip
    ``Event.__init__`` and share one callback list, which ``step`` only iterates."""

    __slots__ = ("callbacks", "index")
    _ok = True
    _value = None

    def __init__(self, callbacks: EventCallbacks, index: int) -> None:
        self.callbacks: EventCallbacks | None = callbacks
        self.index = index


class AdmissionGate(QuotaCounter):
    """A FIFO concurrency quota (queue, timeout or reject) on one SimPy clock."""

    def __init__(
        self,
        env: simpy.Environment,
        arrival_s: FloatArray,
        launch_latency_s: FloatArray,
        run_s: FloatArray,
        resource_use: list[FloatArray],
        limits: Limits,
    ) -> None:
        self.env = env
        self._request = arrival_s.tolist()
        self._latency = launch_latency_s.tolist()
        self._run = run_s.tolist()
        self._n = len(self._request)
        super().__init__(self._n, limits, resource_use)
        self._reject = limits.reject_over_quota
        self._timeout = limits.queue_timeout_s if limits.queue_timeout_s is not None else math.inf
        self._head = 0
        self._driver_pending = False
        self._simple_queue = not self._reject and self._timeout == math.inf and not self._resources
        nan = math.nan
        self.admit_s = [nan] * self._n
        self.ready_s = [nan] * self._n
        self.end_s = [nan] * self._n
        self.gave_up = [False] * self._n
        self._queue = cast(list[Any], env._queue)
        self._eid = env._eid
        self._departure_callbacks: EventCallbacks = [self._on_departure]

    def start(self) -> None:
        """Admit what can be admitted at once and wait for the rest."""
        self._process()

    def _admit(self, index: int, at_s: float) -> None:
        ready = at_s + self._latency[index]
        end = ready + self._run[index]
        self.admit_s[index] = at_s
        self.ready_s[index] = ready
        self.end_s[index] = end
        if self._resources:
            self._take(index)
        else:
            self._in_system += 1
        # equivalent to env.schedule(event, URGENT, end - now), without the call overhead;
        # URGENT puts a departure before an arrival at the same instant
        heappush(
            self._queue,
            (end, URGENT, next(self._eid), _Departure(self._departure_callbacks, index)),
        )

    def _ends_now(self) -> bool:
        """True if a departure is still to come at this very instant."""
        queue = self._queue
        return bool(queue) and queue[0][0] == self.env._now and queue[0][1] == URGENT

    def _process(self) -> None:
        """Admit requests in order while the head surely fits; drop those whose time is up.

        A request is not rejected (or timed out) at the very instant a departure is still
        to come: that departure may free room, so the request's wake-up, which runs after
        every departure of the instant, decides.
        """
        now = self.env._now
        request = self._request
        timeout = self._timeout
        head = self._head
        n = self._n
        quota = self._quota
        plain = not self._resources  # the common case: only a sandbox count
        while head < n:
            at = request[head]
            if (self._in_system < quota) if plain else self._fits(head):
                self._admit(head, at if at > now else now)
            elif now > at + timeout or (now == at + timeout and not self._ends_now()):
                self.gave_up[head] = True  # waited as long as it would: its times stay NaN
            elif self._reject and (at < now or (at == now and not self._ends_now())):
                pass  # no room when it arrived: rejected
            else:
                break
            head += 1
        self._head = head
        if head < n and not self._driver_pending and (self._reject or timeout < math.inf):
            # without room, only the clock tells whether room frees before the request
            # arrives (reject) or before it gives up (queue timeout); both lie ahead
            wake = request[head] if self._reject else request[head] + timeout
            driver = Event(self.env)
            driver._ok = True
            driver._value = None
            driver.callbacks.append(self._on_wakeup)
            self.env.schedule(driver, NORMAL, max(wake - now, 0.0))
            self._driver_pending = True

    def _on_wakeup(self, _event: Event) -> None:
        self._driver_pending = False
        self._process()

    def _on_departure(self, event: _Departure) -> None:
        if self._resources:
            self._release(event.index)
        else:
            self._in_system -= 1
        head = self._head
        if head >= self._n:
            return
        if self._simple_queue and self._request[head] <= self.env._now:
            # the hot path under load: the freed slot goes to the waiting head, and the
            # quota is full again, so nothing else can change
            self._admit(head, self.env._now)
            self._head = head + 1
            if self._in_system >= self._quota:
                return
        self._process()


def run_admission(
    request_s: FloatArray,
    launch_latency_s: FloatArray,
    run_s: FloatArray,
    limits: Limits,
    resource_use: list[FloatArray] | None = None,
) -> AdmissionResult:
    """Simulate the launch rate limit, quota admission, launch and run of sorted requests.

    ``resource_use`` holds one array per entry of ``limits.resource_quotas``: what each
    request counts against that limit.
    """
    token = token_bucket_starts(request_s, limits.launch_rate)
    env = simpy.Environment()
    gate = AdmissionGate(env, token, launch_latency_s, run_s, list(resource_use or []), limits)
    gate.start()
    step = env.step
    try:
        while True:
            step()
    except EmptySchedule:
        pass
    admit = np.asarray(gate.admit_s, dtype=np.float64)
    return AdmissionResult(
        token_s=token,
        admit_s=admit,
        launch_start_s=admit.copy(),
        ready_s=np.asarray(gate.ready_s, dtype=np.float64),
        end_s=np.asarray(gate.end_s, dtype=np.float64),
        gave_up=np.asarray(gate.gave_up, dtype=bool),
    )
