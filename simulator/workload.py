"""Sampling a scenario's workloads into one columnar table of sandbox requests.

The sampled workload of a replication depends only on the seed, the replication and
the workload names, never on the platforms: every platform replays the same requests
(common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .arrivals import TraceArrivals
from .distributions import FloatArray
from .rng import stream
from .scenario import Scenario, Workload


@dataclass(frozen=True)
class SampledWorkload:
    """All sandbox requests of one replication, sorted by request time."""

    horizon_s: float
    request_s: FloatArray
    """Request times, seconds from the scenario start, non-decreasing."""
    duration_s: FloatArray
    """How long each sandbox's task runs once ready (before any lifetime cap)."""
    workload_index: npt.NDArray[np.int32]
    """Index into ``workload_names`` of each request."""
    workload_names: tuple[str, ...]

    @property
    def size(self) -> int:
        """Number of requests."""
        return int(self.request_s.size)

    def subset(self, workload_indices: list[int]) -> SampledWorkload:
        """Only the requests of some workloads (for a platform that runs a subset)."""
        if len(workload_indices) == len(self.workload_names):
            return self
        keep = np.isin(self.workload_index, workload_indices)
        return SampledWorkload(
            self.horizon_s,
            self.request_s[keep],
            self.duration_s[keep],
            self.workload_index[keep],
            self.workload_names,
        )


def sample_one(
    workload: Workload, horizon_s: float, seed: int, replication: int
) -> tuple[FloatArray, FloatArray]:
    """Request times and durations of one workload in one replication."""
    arrivals = workload.arrivals
    times = arrivals.sample(stream(seed, replication, "arrivals", workload.name), horizon_s)
    if isinstance(arrivals, TraceArrivals) and arrivals.durations is not None:
        durations = arrivals.durations[: times.size].copy()
    else:
        assert workload.duration is not None
        durations = workload.duration.sample(
            stream(seed, replication, "durations", workload.name), times.size
        )
    return times, durations


def sample_workloads(scenario: Scenario, replication: int) -> SampledWorkload:
    """Every workload of the scenario, merged in request-time order."""
    times, durations, indices = [], [], []
    for index, workload in enumerate(scenario.workloads):
        t, d = sample_one(workload, scenario.horizon, scenario.seed, replication)
        times.append(t)
        durations.append(d)
        indices.append(np.full(t.size, index, dtype=np.int32))
    all_times = np.concatenate(times)
    order = np.argsort(all_times, kind="stable")
    return SampledWorkload(
        horizon_s=scenario.horizon,
        request_s=all_times[order],
        duration_s=np.concatenate(durations)[order],
        workload_index=np.concatenate(indices)[order],
        workload_names=tuple(w.name for w in scenario.workloads),
    )
