"""Stranded room of a fleet, replayed after the run from its sandboxes' holds.

Stranded room is free room of a running host that no sandbox shape fits in: its free
vCPU and memory when no shape fits, its free GPUs when no shape with GPUs fits. A host's
free room at any time follows from the holds on it (which sandbox took room there, from
when to when) and from when it ran, so the integral over time is taken after the run,
for all holds at once, instead of at every placement (placement is the fleet's hot
path). Whether a shape with GPUs fits also depends on how the GPUs are split (MIG
slices, shares), so the engine logs each host's GPU gates (GPUs free, best share, MIG
profiles that can be placed) as they change, and the fit is worked out here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
SLACK = 1e-9
"""Room that fits a shape up to this much too small (float sums at capacity)."""


class GateLog(NamedTuple):
    """The GPU gates of hosts with GPUs as they changed while the hosts ran, and what the
    shapes with GPUs need of them (see ``packing.PlacementIndex``: a shape fits where
    every gate is at least its need)."""

    time_s: FloatArray
    host: npt.NDArray[np.int64]
    gates: FloatArray
    """One row per change: the host's gates from then on."""
    smallest_needs: FloatArray
    """vCPU, GiB and gates needed (-inf: none) of the shapes with GPUs that no other needs
    less of everything than, one row each: if none fits a host, no shape with GPUs does."""


def stranded_integral(
    hold_host: npt.NDArray[np.int64],
    hold_start_s: FloatArray,
    hold_end_s: FloatArray,
    hold_demand: FloatArray,
    host_room: FloatArray,
    running_changes: Sequence[tuple[float, int, int]],
    smallest_shapes: Sequence[tuple[float, float]],
    horizon_s: float,
    gate_log: GateLog | None = None,
) -> FloatArray:
    """Integral over [0, horizon] of stranded vCPU, GiB and GPUs, summed over hosts.

    ``hold_demand``: vCPU, GiB and GPUs of each hold (rows); ``host_room``: the same that
    each host offers (rows). ``running_changes``: (time, host, +1 or -1) as hosts start
    and stop taking sandboxes. ``smallest_shapes``: vCPU and GiB of the shapes without
    GPUs that no other is smaller than (if none of them fits, none does). ``gate_log``:
    the hosts' GPU gates over time (None: no shape asks for GPUs, and no GPU counts as
    stranded); a host fits no shape with GPUs before its first row.
    """
    runs = np.array(running_changes, dtype=np.float64).reshape(-1, 3)
    gate_hosts = np.zeros(0, np.int64) if gate_log is None else gate_log.host
    gate_times = np.zeros(0) if gate_log is None else gate_log.time_s
    holds = hold_host.size
    hosts = np.concatenate([hold_host, hold_host, runs[:, 1].astype(np.int64), gate_hosts])
    if hosts.size == 0:
        return np.zeros(3)
    times = np.minimum(
        np.concatenate([hold_start_s, hold_end_s, runs[:, 0], gate_times]), horizon_s
    )
    # per row: change of vCPU, GiB and GPUs held, and of running; gate rows come last, so
    # at equal times a host's last row has its gates from then on
    deltas = np.zeros((hosts.size, 4))
    deltas[:holds, :3] = hold_demand
    deltas[holds : 2 * holds, :3] = -hold_demand
    deltas[2 * holds : 2 * holds + runs.shape[0], 3] = runs[:, 2]
    order = np.lexsort((times, hosts))  # by host, then time (stable: rows' order kept)
    hosts, times, deltas = hosts[order], times[order], deltas[order]
    first = np.ones(hosts.size, dtype=bool)
    first[1:] = hosts[1:] != hosts[:-1]
    state = np.empty_like(deltas)
    bounds = [*np.flatnonzero(first).tolist(), hosts.size]
    for start, stop in itertools.pairwise(bounds):  # host by host: no residue from
        state[start:stop] = np.cumsum(deltas[start:stop], axis=0)  # other hosts' sums
    free = host_room[hosts] - state[:, :3]
    up = state[:, 3] > 0.5
    cpu_fits = np.zeros(hosts.size, dtype=bool)
    for vcpu, gib in smallest_shapes:
        cpu_fits |= (vcpu <= free[:, 0] + SLACK) & (gib <= free[:, 1] + SLACK)
    gpu_fits = np.zeros(hosts.size, dtype=bool)
    if gate_log is not None and gate_hosts.size:
        gpu_fits = _gpu_fits(gate_log, order - (hosts.size - gate_hosts.size), first, free)
    stranded = np.zeros_like(free)
    nothing_fits = up & ~(cpu_fits | gpu_fits)
    stranded[:, :2] = np.where(nothing_fits[:, None], free[:, :2], 0.0)
    if gate_log is not None:
        stranded[:, 2] = np.where(up & ~gpu_fits, free[:, 2], 0.0)
    # each row's state lasts until the host's next row, or the horizon
    until = np.full(hosts.size, horizon_s)
    until[:-1] = np.where(first[1:], horizon_s, times[1:])
    return (stranded * (until - times)[:, None]).sum(0)


def _gpu_fits(
    gate_log: GateLog,
    gate_row: npt.NDArray[np.int64],
    first: npt.NDArray[np.bool_],
    free: FloatArray,
) -> npt.NDArray[np.bool_]:
    """Per row (sorted by host and time): whether a shape with GPUs fits, from the free
    room and the host's gates as of its latest gate row. ``gate_row``: each row's row in
    the gate log (negative for other rows); ``first``: rows that start a host's."""
    rows = np.arange(gate_row.size)
    latest = np.maximum.accumulate(np.where(gate_row >= 0, rows, -1))
    host_start = np.maximum.accumulate(np.where(first, rows, 0))
    known = latest >= host_start  # the host has had a gate row by then
    log_row = np.maximum(gate_row[np.where(known, latest, 0)], 0)
    fits = np.zeros(gate_row.size, dtype=bool)
    for need in gate_log.smallest_needs:
        gates_open = (gate_log.gates >= need[2:]).all(axis=1)  # per row of the log
        fits |= (
            gates_open[log_row] & (need[0] <= free[:, 0] + SLACK) & (need[1] <= free[:, 1] + SLACK)
        )
    return fits & known
