"""Stranded room of a fleet, replayed after the run from its sandboxes' holds.

Stranded room is free room of a running host that no sandbox shape fits in: its free
vCPU and memory when no shape fits, its free GPUs when no shape with GPUs fits. A host's
free room at any time follows from the holds on it (which sandbox took room there, from
when to when) and from when it ran, so the integral over time is taken after the run,
for all holds at once, instead of at every placement (placement is the fleet's hot
path). Whether a shape with GPUs fits also depends on how the GPUs are split (MIG
slices, shares), so the engine logs, per host, when that changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
SLACK = 1e-9
"""Room that fits a shape up to this much too small (float sums at capacity)."""


def stranded_integral(
    hold_host: npt.NDArray[np.int64],
    hold_start_s: FloatArray,
    hold_end_s: FloatArray,
    hold_demand: FloatArray,
    host_room: FloatArray,
    running_changes: Sequence[tuple[float, int, int]],
    gpu_fit_changes: Sequence[tuple[float, int, int]] | None,
    smallest_shapes: Sequence[tuple[float, float]],
    horizon_s: float,
) -> FloatArray:
    """Integral over [0, horizon] of stranded vCPU, GiB and GPUs, summed over hosts.

    ``hold_demand``: vCPU, GiB and GPUs of each hold (rows); ``host_room``: the same that
    each host offers (rows). ``running_changes``: (time, host, +1 or -1) as hosts start
    and stop taking sandboxes; ``gpu_fit_changes``: (time, host, +1 or -1) as some shape
    with GPUs starts or stops fitting a running host (None: no shape asks for GPUs, and
    no GPU counts as stranded). ``smallest_shapes``: vCPU and GiB of the shapes without
    GPUs that no other is smaller than (if none of them fits, none does).
    """
    runs = np.array(running_changes, dtype=np.float64).reshape(-1, 3)
    fits = np.array(gpu_fit_changes or (), dtype=np.float64).reshape(-1, 3)
    holds = hold_host.size
    hosts = np.concatenate(
        [hold_host, hold_host, runs[:, 1].astype(np.int64), fits[:, 1].astype(np.int64)]
    )
    if hosts.size == 0:
        return np.zeros(3)
    times = np.minimum(
        np.concatenate([hold_start_s, hold_end_s, runs[:, 0], fits[:, 0]]), horizon_s
    )
    # per row: change of vCPU, GiB and GPUs held, of running, of a GPU shape fitting
    deltas = np.zeros((hosts.size, 5))
    deltas[:holds, :3] = hold_demand
    deltas[holds : 2 * holds, :3] = -hold_demand
    deltas[2 * holds : 2 * holds + runs.shape[0], 3] = runs[:, 2]
    deltas[2 * holds + runs.shape[0] :, 4] = fits[:, 2]
    order = np.lexsort((times, hosts))  # by host, then time
    hosts, times, deltas = hosts[order], times[order], deltas[order]
    first = np.ones(hosts.size, dtype=bool)
    first[1:] = hosts[1:] != hosts[:-1]
    state = np.empty_like(deltas)
    bounds = [*np.flatnonzero(first).tolist(), hosts.size]
    for start, stop in itertools.pairwise(bounds):  # host by host: no residue from
        state[start:stop] = np.cumsum(deltas[start:stop], axis=0)  # other hosts' sums
    free = host_room[hosts] - state[:, :3]
    up = state[:, 3] > 0.5
    gpu_fits = state[:, 4] > 0.5
    cpu_fits = np.zeros(hosts.size, dtype=bool)
    for vcpu, gib in smallest_shapes:
        cpu_fits |= (vcpu <= free[:, 0] + SLACK) & (gib <= free[:, 1] + SLACK)
    stranded = np.zeros_like(free)
    nothing_fits = up & ~(cpu_fits | gpu_fits)
    stranded[:, :2] = np.where(nothing_fits[:, None], free[:, :2], 0.0)
    if gpu_fit_changes is not None:
        stranded[:, 2] = np.where(up & ~gpu_fits, free[:, 2], 0.0)
    # each row's state lasts until the host's next row, or the horizon
    until = np.full(hosts.size, horizon_s)
    until[:-1] = np.where(first[1:], horizon_s, times[1:])
    return (stranded * (until - times)[:, None]).sum(0)
