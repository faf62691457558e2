"""Warm pools: pre-started sandboxes per template, handed over at launch.

A launch whose template has an idle pooled sandbox takes it (a warm hit: only the
handover latency); otherwise it launches as usual (a miss). Pools refill by launching
sandboxes themselves, through the same launch machinery, at their refill rate. Policies:

- fixed: keep ``size`` idle sandboxes (recycled after ``ttl`` if given);
- keep_alive: no pre-starting; a sandbox that finished a task waits ``ttl`` for the next
  (needs ``reuse``), as Lambda keeps execution environments;
- hybrid_histogram: "Serverless in the Wild" (Shahrad et al., ATC 2020): learn the
  template's idle times (from the end of one task to the start of the next; zero when
  the next arrives while one runs) in a histogram; after each task ends, pre-warm a
  sandbox at the 5th percentile (less a 10% margin) and keep it until the 99th (plus
  10%). While the histogram is not representative (the coefficient of variation of its
  bin counts is at most 2: no clear pattern) or most idle times fall beyond its range,
  keep one sandbox for the histogram's range after each task, as a fixed keep-alive
  (the paper falls back to ARIMA for out-of-range idle times; not modelled);
- prewarm_diurnal: size the pool ahead of a diurnal profile, ``lead`` before the rate it
  must cover, as rate x ``cover`` (the launches in flight during a launch, by Little's law).

Pooled sandboxes do not count against the platform's concurrency quota (a
simplification; the pool's size is chosen separately). Their idle time is recorded so
that billing can charge it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import numpy as np

from ..distributions import FloatArray
from .dynamic import DynamicEngine
from .model import PoolModel
from .pipeline import SNAPSHOT


class ExtraLauncher(Protocol):
    """What a pool needs from the launcher: launches no request asked for."""

    def launch(self, index: int) -> None: ...

    def finished(self, index: int) -> None: ...

    def attach(self, engine: DynamicEngine) -> None: ...

    def launch_extra(
        self,
        kind: int,
        artifact: str,
        artifact_gib: float,
        on_ready: Callable[[float, float, float], None],
    ) -> None: ...


@dataclass
class _Idle:
    row: int
    uses: int
    expires_s: float


@dataclass
class _Pool:
    model: PoolModel
    kind: int
    artifact: str
    artifact_gib: float
    idle: deque[_Idle] = field(default_factory=deque)
    inflight: int = 0
    target: int = 0
    tat: float = -math.inf
    refill_pending: bool = False
    histogram: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    out_of_range: int = 0
    last_end_s: float = math.nan
    busy: int = 0
    """Tasks of the template running now (hybrid_histogram: an arrival then idles 0)."""


@dataclass
class PoolRows:
    """Idle stretches of pooled sandboxes: from launch start (or return) to handover or teardown."""

    workload_index: list[int] = field(default_factory=list)
    launch_start_s: list[float] = field(default_factory=list)
    host_start_s: list[float] = field(default_factory=list)
    """When a host took the sandbox's launch (its launch start where no host queue)."""
    restored: list[bool] = field(default_factory=list)
    """The stretch began with a launch restored from a memory snapshot."""
    ready_s: list[float] = field(default_factory=list)
    end_s: list[float] = field(default_factory=list)


class PooledLauncher:
    """Serves launches from warm pools first, and keeps the pools filled."""

    def __init__(
        self,
        base: ExtraLauncher,
        pools: list[tuple[PoolModel, int, str, float]],
        template_of: list[str],
        handover: Callable[[], float],
        horizon_s: float = math.inf,
        resume: list[bool] | None = None,
        paused_after: list[bool] | None = None,
    ) -> None:
        """``pools`` holds, per pool, its model, launch kind, artifact name and size.

        ``resume`` marks activations that resume a paused sandbox: they go straight to the
        base launcher, whose resume path restores the sandbox where it was paused.
        ``paused_after`` marks activations whose sandbox is paused when they end (a later
        call resumes it), so it cannot go back to a pool. Pools are kept until
        ``horizon_s`` (and while requests are still in progress after it).
        """
        self._base = base
        self._pools = {
            m.template: _Pool(m, kind, artifact, gib) for m, kind, artifact, gib in pools
        }
        self._template_of = template_of
        self._handover = handover
        self._horizon_s = horizon_s
        n = len(template_of)
        self._resume = resume if resume is not None else [False] * n
        self._paused_after = paused_after if paused_after is not None else [False] * n
        self._uses = [0] * len(template_of)
        self.warm = np.zeros(len(template_of), dtype=bool)
        self.rows = PoolRows()
        self._engine: DynamicEngine | None = None
        for pool in self._pools.values():
            model = pool.model
            if model.policy == "hybrid_histogram":
                pool.histogram = np.zeros(
                    max(1, math.ceil(model.histogram_range_s / model.histogram_bin_s)),
                    dtype=np.int64,
                )
            pool.target = model.size if model.policy == "fixed" else 0

    # ------------------------------------------------------------------ wiring
    def attach(self, engine: DynamicEngine) -> None:
        self._engine = engine
        self._base.attach(engine)
        for pool in self._pools.values():
            start = self._resize if pool.model.policy == "prewarm_diurnal" else self._refill
            self._call(0.0, partial(start, pool))

    def _call(self, at_s: float, function: Callable[[], None]) -> None:
        engine = self._engine
        assert engine is not None
        engine.at(at_s, [lambda _event: function()], 0)

    @property
    def _now(self) -> float:
        engine = self._engine
        assert engine is not None
        return engine.now

    # ------------------------------------------------------------------ launches
    def _active(self) -> bool:
        """Pools are kept (refilled, resized) until the horizon, and after it while
        requests are still to come or in progress."""
        engine = self._engine
        assert engine is not None
        return engine.now < self._horizon_s or engine.has_work()

    def launch(self, index: int) -> None:
        if self._resume[index]:
            # resuming a paused sandbox: it is restored where it was paused, not taken
            # from a pool, and is no arrival of the template
            self._base.launch(index)
            return
        pool = self._pools.get(self._template_of[index])
        if pool is not None and pool.model.policy == "hybrid_histogram":
            self._observe_arrival(pool)
        if pool is not None and pool.idle:
            taken = pool.idle.popleft()  # the oldest, nearest its teardown
            self.rows.end_s[taken.row] = self._now
            self._uses[index] = taken.uses
            self.warm[index] = True
            engine = self._engine
            assert engine is not None
            # a fresh sandbox restored lazily has touched little while idle: its first
            # task faults in the working set, as after any lazy restore
            lazy = getattr(self._base, "lazy_extra_s", None)
            extra = lazy(pool.kind, pool.artifact_gib) if lazy and taken.uses == 0 else 0.0
            engine.ready(index, self._now + self._handover(), extra)
            self._refill(pool)
            return
        self._base.launch(index)

    def finished(self, index: int) -> None:
        self._base.finished(index)
        pool = self._pools.get(self._template_of[index])
        if pool is None or self._resume[index]:
            return
        if pool.model.policy == "hybrid_histogram":
            self._after_task(pool)
        if self._paused_after[index]:
            return  # the sandbox is paused for the session's next call
        model = pool.model
        uses = self._uses[index] + 1
        if uses <= model.reuse and len(pool.idle) < max(model.size, 1):
            # the sandbox goes back to the pool for another task (not fresh: reuse)
            now = self._now
            self._add_idle(pool, now, now, now, uses, self._expiry(pool, now))

    # ------------------------------------------------------------------ pool upkeep
    def _expiry(self, pool: _Pool, from_s: float) -> float:
        ttl = pool.model.ttl_s
        return from_s + ttl if ttl is not None else math.inf

    def _add_idle(
        self,
        pool: _Pool,
        launch_start_s: float,
        host_start_s: float,
        ready_s: float,
        uses: int,
        expires_s: float,
    ) -> None:
        row = len(self.rows.end_s)
        self.rows.workload_index.append(pool.model.workload_index)
        self.rows.launch_start_s.append(launch_start_s)
        self.rows.host_start_s.append(host_start_s)
        self.rows.restored.append(uses == 0 and pool.kind == SNAPSHOT)
        self.rows.ready_s.append(ready_s)
        self.rows.end_s.append(math.nan)
        entry = _Idle(row, uses, expires_s)
        pool.idle.append(entry)
        if expires_s < math.inf:
            self._call(max(expires_s, self._now), lambda: self._expire(pool, entry))

    def _expire(self, pool: _Pool, entry: _Idle) -> None:
        if entry in pool.idle:  # not handed over meanwhile
            pool.idle.remove(entry)
            self.rows.end_s[entry.row] = self._now
            self._refill(pool)

    def _refill(self, pool: _Pool) -> None:
        """Launch replacements until idle plus in flight reaches the target, at the refill
        rate, while the workload still has requests to come or in progress."""
        if not self._active():
            return
        missing = pool.target - len(pool.idle) - pool.inflight
        rate = pool.model.refill_per_second
        while missing > 0:
            now = self._now
            if rate is not None:
                start = max(now, pool.tat)
                if start > now:
                    if not pool.refill_pending:
                        pool.refill_pending = True
                        self._call(start, lambda: self._after_wait(pool))
                    return
                pool.tat = start + 1.0 / rate
            self._start_pool_launch(pool, None)
            missing -= 1

    def _after_wait(self, pool: _Pool) -> None:
        pool.refill_pending = False
        self._refill(pool)

    def _start_pool_launch(self, pool: _Pool, expires_s: float | None) -> None:
        pool.inflight += 1

        def ready(launch_start_s: float, host_start_s: float, ready_s: float) -> None:
            pool.inflight -= 1
            expiry = expires_s if expires_s is not None else self._expiry(pool, ready_s)
            if expiry <= ready_s:
                return  # nobody needed it in time: torn down at once
            self._add_idle(pool, launch_start_s, host_start_s, ready_s, 0, expiry)

        self._base.launch_extra(pool.kind, pool.artifact, pool.artifact_gib, ready)

    # ------------------------------------------------------------------ policies
    def _observe_arrival(self, pool: _Pool) -> None:
        """hybrid_histogram: record the idle time that this arrival ends."""
        model = pool.model
        now = self._now
        if pool.busy > 0:
            idle = 0.0  # a task of the template is running: no idle gap
        elif pool.last_end_s == pool.last_end_s:  # not NaN
            idle = now - pool.last_end_s
        else:
            idle = math.nan  # the first arrival ends no idle time
        pool.busy += 1
        if idle == idle:
            bin_index = int(idle // model.histogram_bin_s)
            if bin_index < pool.histogram.size:
                pool.histogram[bin_index] += 1
            else:
                pool.out_of_range += 1

    def _after_task(self, pool: _Pool) -> None:
        """hybrid_histogram: a task ended; pre-warm for the next from the learned window."""
        model = pool.model
        now = self._now
        pool.busy = max(0, pool.busy - 1)
        pool.last_end_s = now
        if pool.busy > 0 or len(pool.idle) + pool.inflight >= max(model.size, 1):
            return
        window = self._hybrid_window(pool)
        if window is None:
            # no usable pattern: keep one sandbox for the histogram's range
            self._start_pool_launch(pool, now + model.histogram_range_s)
            return
        prewarm_s, keep_until_s = window
        if prewarm_s <= 0:
            self._start_pool_launch(pool, now + keep_until_s)
        else:
            self._call(now + prewarm_s, lambda: self._prewarm(pool, now, now + keep_until_s))

    def _prewarm(self, pool: _Pool, ended_s: float, expires_s: float) -> None:
        if pool.last_end_s != ended_s or pool.busy > 0:
            return  # another task ran since: its end planned afresh
        if len(pool.idle) + pool.inflight < max(pool.model.size, 1):
            self._start_pool_launch(pool, expires_s)

    def _hybrid_window(self, pool: _Pool) -> tuple[float, float] | None:
        """Pre-warm and keep-alive times after a task ends, from the learned histogram;
        None when it is not representative or most idle times fall beyond it."""
        model = pool.model
        counts = pool.histogram
        total = int(counts.sum())
        if total == 0 or pool.out_of_range > total:
            return None
        cv = float(counts.std() / counts.mean())
        if cv <= model.cv_threshold:
            return None
        cumulative = np.cumsum(counts)
        head = int(np.searchsorted(cumulative, model.head_percentile / 100 * total))
        tail = int(np.searchsorted(cumulative, model.tail_percentile / 100 * total))
        prewarm = head * model.histogram_bin_s * (1 - model.margin)
        keep_until = (tail + 1) * model.histogram_bin_s * (1 + model.margin)
        return prewarm, keep_until

    def _resize(self, pool: _Pool) -> None:
        """prewarm_diurnal: set the target from the rate ``lead`` ahead, trim, refill."""
        model = pool.model
        ahead = (self._now + model.lead_s) % 86400.0
        rate = model.hourly_rate_per_s[int(ahead // 3600) % 24] if model.hourly_rate_per_s else 0.0
        pool.target = min(model.size, math.ceil(rate * model.cover_s))
        while len(pool.idle) > pool.target:
            entry = pool.idle.popleft()
            self.rows.end_s[entry.row] = self._now
        self._refill(pool)
        if self._active():
            self._call(self._now + model.update_s, lambda: self._resize(pool))

    # ------------------------------------------------------------------ results
    def close(self) -> None:
        """At the end of the run, tear down what is still idle: at the horizon, or at the
        last event if the run went on past it (never before the sandbox was ready)."""
        end = max(self._now, self._horizon_s)
        for pool in self._pools.values():
            while pool.idle:
                entry = pool.idle.popleft()
                self.rows.end_s[entry.row] = max(end, self.rows.ready_s[entry.row])

    def idle_rows(
        self,
    ) -> tuple[np.ndarray, FloatArray, FloatArray, FloatArray, FloatArray, np.ndarray]:
        """The pooled sandboxes' idle stretches as arrays: workload, launch start, host
        start, ready, end, and whether the stretch began with a snapshot restore."""
        return (
            np.asarray(self.rows.workload_index, dtype=np.int32),
            np.asarray(self.rows.launch_start_s, dtype=np.float64),
            np.asarray(self.rows.host_start_s, dtype=np.float64),
            np.asarray(self.rows.ready_s, dtype=np.float64),
            np.asarray(self.rows.end_s, dtype=np.float64),
            np.asarray(self.rows.restored, dtype=bool),
        )
