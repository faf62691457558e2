"""A deliberately plain SimPy model of the same system, for validation and benchmarks.

One generator process per sandbox and a ``simpy.Resource`` for the quota: the textbook
way to write it. The engine must give the same times (tests check this) while being
much faster (``bench/engine.py`` measures how much).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from ..distributions import FloatArray
from .admission import AdmissionResult


def run_reference(
    request_s: FloatArray,
    launch_latency_s: FloatArray,
    run_s: FloatArray,
    quota: int | None,
    reject_over_quota: bool = False,
) -> AdmissionResult:
    """Simulate a quota (FIFO queue or reject), launch and run with one process per sandbox."""
    env = simpy.Environment()
    n = request_s.size
    capacity = quota if quota is not None else max(n, 1)
    slots = simpy.Resource(env, capacity=capacity)
    admit = np.full(n, np.nan)
    ready = np.full(n, np.nan)
    end = np.full(n, np.nan)
    requests = request_s.tolist()
    latencies = launch_latency_s.tolist()
    runs = run_s.tolist()

    def sandbox(index: int) -> Generator[Any, Any, None]:
        if reject_over_quota and slots.count >= capacity:
            return
        with slots.request() as slot:
            yield slot
            admit[index] = env.now
            yield env.timeout(latencies[index])
            ready[index] = env.now
            yield env.timeout(runs[index])
            end[index] = env.now

    def source() -> Generator[Any, Any, None]:
        for index, at in enumerate(requests):
            if at > env.now:
                yield env.timeout(at - env.now)
            env.process(sandbox(index))

    env.process(source())
    env.run()
    return AdmissionResult(
        request_s.copy(), admit, admit.copy(), ready, end, np.zeros(n, dtype=bool)
    )
