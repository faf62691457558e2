"""Stranded room of a fleet, replayed after the run from its sandboxes' holds.

Two measures, both integrals over the horizon of a running host's free room:

- free room that no shape the platform ran fits in (fragmentation against the shape
  mix): free vCPU and memory when no shape fits, free GPUs when no shape with GPUs fits;
- free room that no *waiting* sandbox fits in, while sandboxes wait for capacity: free
  vCPU and memory on a host that no waiting sandbox's shape fits, free GPUs on a host
  that no waiting sandbox with GPUs fits (while one waits).

A host's free room at any time follows from the holds on it (which sandbox took room
there, from when to when) and from when it ran, so the integrals are taken after the
run, for all holds at once, instead of at every placement (placement is the fleet's hot
path). Whether a shape with GPUs fits also depends on how the GPUs are split (MIG
slices, shares), so the engine logs each host's GPU gates (GPUs free, best share, MIG
profiles that can be placed) as they change, and the fit is worked out here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
SLACK = 1e-9
"""Room that fits a shape up to this much too small (float sums at capacity)."""
WORD_BITS = 64
"""Waiting classes kept per word of a bit mask."""


class GateLog(NamedTuple):
    """The GPU gates of hosts with GPUs as they changed while the hosts ran (see
    ``packing.PlacementIndex``: a shape fits where every gate is at least its need)."""

    time_s: FloatArray
    host: npt.NDArray[np.int64]
    gates: FloatArray
    """One row per change: the host's gates from then on."""


class HostRows(NamedTuple):
    """Every host's state over the horizon, one row per change (sorted by host, then
    time): each row lasts from ``time_s`` to ``until_s``."""

    time_s: FloatArray
    until_s: FloatArray
    free: FloatArray
    """Free vCPU, GiB and GPUs (rows)."""
    up: BoolArray
    """Whether the host takes sandboxes (running)."""
    gates: FloatArray | None
    """The host's GPU gates as of its latest gate row (-inf before its first; None: no
    shape asks for GPUs)."""


def host_rows(
    hold_host: npt.NDArray[np.int64],
    hold_start_s: FloatArray,
    hold_end_s: FloatArray,
    hold_demand: FloatArray,
    host_room: FloatArray,
    running_changes: Sequence[tuple[float, int, int]],
    horizon_s: float,
    gate_log: GateLog | None = None,
) -> HostRows:
    """Each host's free room, whether it runs, and its gates over [0, horizon].

    ``hold_demand``: vCPU, GiB and GPUs of each hold (rows); ``host_room``: the same that
    each host offers (rows). ``running_changes``: (time, host, +1 or -1) as hosts start
    and stop taking sandboxes. ``gate_log``: the hosts' GPU gates over time (None: no
    shape asks for GPUs); a host fits no shape with GPUs before its first row.
    """
    runs = np.array(running_changes, dtype=np.float64).reshape(-1, 3)
    gate_hosts = np.zeros(0, np.int64) if gate_log is None else gate_log.host
    gate_times = np.zeros(0) if gate_log is None else gate_log.time_s
    holds = hold_host.size
    hosts = np.concatenate([hold_host, hold_host, runs[:, 1].astype(np.int64), gate_hosts])
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
    # each row's state lasts until the host's next row, or the horizon
    until = np.full(hosts.size, horizon_s)
    until[:-1] = np.where(first[1:], horizon_s, times[1:])
    gates = None
    if gate_log is not None:
        gates = _gates_by_row(gate_log, order - (hosts.size - gate_hosts.size), first)
    return HostRows(times, until, host_room[hosts] - state[:, :3], state[:, 3] > 0.5, gates)


def _gates_by_row(
    gate_log: GateLog, gate_row: npt.NDArray[np.int64], first: BoolArray
) -> FloatArray:
    """Per row (sorted by host and time): the host's gates as of its latest gate row (-inf
    before its first). ``gate_row``: each row's row in the gate log (negative for other
    rows); ``first``: rows that start a host's."""
    rows = np.arange(gate_row.size)
    latest = np.maximum.accumulate(np.where(gate_row >= 0, rows, -1))
    host_start = np.maximum.accumulate(np.where(first, rows, 0))
    known = latest >= host_start  # the host has had a gate row by then
    log_row = np.maximum(gate_row[np.where(known, latest, 0)], 0)
    width = gate_log.gates.shape[1] if gate_log.gates.ndim == 2 else 0
    gates = gate_log.gates[log_row] if gate_log.gates.size else np.zeros((gate_row.size, width))
    return np.where(known[:, None], gates, -np.inf)


def fits(rows: HostRows, need: Sequence[float]) -> BoolArray:
    """Per row: whether a sandbox needing ``need`` (vCPU, GiB, then its need of each gate,
    -inf for none; no gates for a shape without GPUs, unless the fleet keeps such shapes
    off hosts with GPUs) fits the host's free room."""
    fit = (need[0] <= rows.free[:, 0] + SLACK) & (need[1] <= rows.free[:, 1] + SLACK)
    if len(need) > 2:
        if rows.gates is None:
            return np.zeros(fit.size, dtype=bool)
        fit &= (rows.gates >= np.asarray(need[2:], dtype=np.float64)).all(axis=1)
    return fit


def stranded_integral(
    rows: HostRows,
    smallest_shapes: Sequence[Sequence[float]],
    smallest_gpu_needs: Sequence[Sequence[float]],
) -> FloatArray:
    """Integral of free vCPU, GiB and GPUs that no shape the platform ran fits in, summed
    over hosts. ``smallest_shapes``: vCPU and GiB of the shapes without GPUs that no other
    is smaller than (if none of them fits, none does); ``smallest_gpu_needs``: the same of
    the shapes with GPUs, with their needs of each gate. GPUs count only when some shape
    asks for them (``smallest_gpu_needs``: a fleet keeping shapes without GPUs off GPU
    hosts has gates, ``rows.gates``, whether or not a shape asks for GPUs)."""
    if rows.time_s.size == 0:
        return np.zeros(3)
    cpu_fits = np.zeros(rows.time_s.size, dtype=bool)
    for shape in smallest_shapes:
        cpu_fits |= fits(rows, shape)
    gpu_fits = np.zeros(rows.time_s.size, dtype=bool)
    for need in smallest_gpu_needs:
        gpu_fits |= fits(rows, need)
    stranded = np.zeros_like(rows.free)
    nothing_fits = rows.up & ~(cpu_fits | gpu_fits)
    stranded[:, :2] = np.where(nothing_fits[:, None], rows.free[:, :2], 0.0)
    if rows.gates is not None and smallest_gpu_needs:
        stranded[:, 2] = np.where(rows.up & ~gpu_fits, rows.free[:, 2], 0.0)
    return (stranded * (rows.until_s - rows.time_s)[:, None]).sum(0)


def stranded_while_waiting_integral(
    rows: HostRows,
    wait_class: npt.NDArray[np.int64],
    wait_from_s: FloatArray,
    wait_to_s: FloatArray,
    class_needs: Sequence[Sequence[float]],
    horizon_s: float,
    method: Literal["auto", "by_kind", "by_pair"] = "auto",
    with_gpus: Sequence[bool] | None = None,
) -> FloatArray:
    """Integral of free vCPU and GiB on running hosts that no waiting sandbox fits in,
    while sandboxes wait for capacity, and of free GPUs on hosts that no waiting sandbox
    with GPUs fits in, while one waits; summed over hosts.

    ``wait_class``, ``wait_from_s``, ``wait_to_s``: each wait for capacity (a sandbox's
    class, from when it queued to when it took its place or gave up). ``class_needs``:
    per class, vCPU, GiB and (for a class with GPUs) its need of each gate (see
    ``fits``); ``with_gpus``: per class, whether it asks for GPUs (None: those with gate
    needs; a fleet keeping classes without GPUs off GPU hosts gives them gate needs too).
    The classes waiting change at the waits' ends; each host row's time is split by them
    through one cumulative measure per set of waiting classes the row fits.
    """
    start = np.minimum(wait_from_s, horizon_s)
    stop = np.minimum(wait_to_s, horizon_s)
    waited = stop > start
    if rows.time_s.size == 0 or not waited.any():
        return np.zeros(3)
    wait_class, start, stop = wait_class[waited], start[waited], stop[waited]
    classes, bit_of_wait = np.unique(wait_class, return_inverse=True)
    words = (classes.size + WORD_BITS - 1) // WORD_BITS
    gpu_class = [len(need) > 2 for need in class_needs] if with_gpus is None else with_gpus
    with_gpus_waiting = np.array([gpu_class[c] for c in classes.tolist()])
    # the set of waiting classes over time: a class's bit flips when its count of waiting
    # sandboxes leaves or comes back to 0
    times = np.concatenate([start, stop])
    bits = np.concatenate([bit_of_wait, bit_of_wait])
    steps = np.concatenate([np.ones(start.size), -np.ones(stop.size)])
    by_class = np.lexsort((-steps, times, bits))  # at one time, a start before an end
    counts = np.empty(by_class.size)
    class_starts = np.ones(by_class.size, dtype=bool)
    class_starts[1:] = bits[by_class][1:] != bits[by_class][:-1]
    bounds = [*np.flatnonzero(class_starts).tolist(), by_class.size]
    for first, last in itertools.pairwise(bounds):
        counts[first:last] = np.cumsum(steps[by_class][first:last])
    before = counts - steps[by_class]
    flip = np.zeros(times.size, dtype=bool)
    flip[by_class] = (before == 0) != (counts == 0)
    in_time = np.argsort(times, kind="stable")
    flip_bits = bits[in_time]
    masks = np.zeros((times.size, words), dtype=np.uint64)
    word, offset = flip_bits // WORD_BITS, (flip_bits % WORD_BITS).astype(np.uint64)
    masks[np.arange(times.size), word] = np.where(
        flip[in_time], np.left_shift(np.uint64(1), offset), np.uint64(0)
    )
    masks = np.bitwise_xor.accumulate(masks, axis=0)
    event_s = times[in_time]
    last_of_time = np.ones(event_s.size, dtype=bool)  # the set once every event at a time
    last_of_time[:-1] = event_s[1:] != event_s[:-1]
    event_s, masks = event_s[last_of_time], masks[last_of_time]
    gpu_mask = _mask(np.flatnonzero(with_gpus_waiting), words)
    any_waits = np.asarray(masks.any(axis=1), dtype=bool)
    gpu_waits = np.asarray((masks & gpu_mask).any(axis=1), dtype=bool)
    # per row: the waiting classes it fits, as a mask (worked out once per state of a
    # row: hosts' free room and gates repeat)
    state = rows.free if rows.gates is None else np.hstack([rows.free, rows.gates])
    states, state_of_row = np.unique(state, axis=0, return_inverse=True)
    state_of_row = state_of_row.reshape(-1)
    state_rows = HostRows(
        np.zeros(len(states)),
        np.zeros(len(states)),
        states[:, :3],
        np.ones(len(states), dtype=bool),
        None if rows.gates is None else states[:, 3:],
    )
    fitted_state = np.zeros((len(states), words), dtype=np.uint64)
    for bit, shape_class in enumerate(classes.tolist()):
        fitted_state[:, bit // WORD_BITS] |= np.where(
            fits(state_rows, class_needs[shape_class]),
            np.left_shift(np.uint64(1), np.uint64(bit % WORD_BITS)),
            np.uint64(0),
        )
    waiting = _Waiting(event_s, masks, any_waits, gpu_waits, gpu_mask)
    # two exact ways: per set of classes a row fits, over every event; or per row, over
    # the stretches of waiting its time overlaps. The first is cheap with few such sets
    # (few waiting classes), the second when there are many (a trace's shapes)
    overlaps = None if method == "by_kind" else _overlaps(rows, waiting)
    by_kind = method == "by_kind" or (method == "auto" and words == 1)
    if by_kind:
        kinds, kind_of_state = np.unique(fitted_state, axis=0, return_inverse=True)
        by_kind_work = kinds.shape[0] * (event_s.size + rows.time_s.size)
        by_kind = overlaps is None or by_kind_work <= int(overlaps.counts.sum())
    if by_kind:
        kind_of_row = kind_of_state.reshape(-1)[state_of_row]
        cpu_time, gpu_time = _stuck_by_kind(rows, waiting, kinds, kind_of_row)
    else:
        assert overlaps is not None  # (by_pair was asked for, or chosen against it)
        cpu_time, gpu_time = _stuck_by_pair(rows, waiting, overlaps, fitted_state, state_of_row)
    stranded = np.zeros_like(rows.free)
    up = rows.up
    stranded[:, :2] = np.where(up[:, None], rows.free[:, :2] * cpu_time[:, None], 0.0)
    if rows.gates is not None:
        stranded[:, 2] = np.where(up, rows.free[:, 2] * gpu_time, 0.0)
    return stranded.sum(0)


class _Waiting(NamedTuple):
    """The waiting classes over time: from each event time to the next, their mask, and
    whether any class (and any class with GPUs) waits."""

    event_s: FloatArray
    masks: npt.NDArray[np.uint64]
    any_waits: BoolArray
    gpu_waits: BoolArray
    gpu_mask: npt.NDArray[np.uint64]


def _stuck_by_kind(
    rows: HostRows,
    waiting: _Waiting,
    kinds: npt.NDArray[np.uint64],
    kind_of_row: npt.NDArray[np.int64],
) -> tuple[FloatArray, FloatArray]:
    """Per row: time within it that sandboxes waited and none of the waiting fits (and
    that some with GPUs waited and none of those fits), by one cumulative measure per
    set of waiting classes rows fit (``kinds``)."""
    event_s, masks = waiting.event_s, waiting.masks
    spans = np.diff(event_s)
    cpu_time = np.zeros(rows.time_s.size)
    gpu_time = np.zeros(rows.time_s.size)
    for kind, row_mask in enumerate(kinds):
        chosen = kind_of_row == kind
        none_fits = ~(masks & row_mask).any(axis=1)
        no_gpu_shape_fits = ~(masks & row_mask & waiting.gpu_mask).any(axis=1)
        for stuck, into in (
            (waiting.any_waits & none_fits, cpu_time),
            (waiting.gpu_waits & no_gpu_shape_fits, gpu_time),
        ):
            # time stuck up to each event: piecewise linear, so interpolation is exact
            stuck_until = np.concatenate([[0.0], np.cumsum(stuck[:-1] * spans)])
            into[chosen] = np.interp(rows.until_s[chosen], event_s, stuck_until) - np.interp(
                rows.time_s[chosen], event_s, stuck_until
            )
    return cpu_time, gpu_time


PAIRS_AT_ONCE = 1 << 21
"""Row-and-stretch pairs worked out at once (``_stuck_by_pair``), to bound memory."""


class _Overlaps(NamedTuple):
    """The stretches between events with sandboxes waiting (their event index, start and
    end), and per row the first it overlaps and how many (0 for a host not running)."""

    stretch: npt.NDArray[np.int64]
    starts: FloatArray
    ends: FloatArray
    first: npt.NDArray[np.int64]
    counts: npt.NDArray[np.int64]


def _overlaps(rows: HostRows, waiting: _Waiting) -> _Overlaps:
    """Which stretches of waiting each row's time overlaps."""
    stretch = np.flatnonzero(waiting.any_waits[:-1])
    starts, ends = waiting.event_s[stretch], waiting.event_s[stretch + 1]
    first = np.searchsorted(ends, rows.time_s, side="right")
    last = np.searchsorted(starts, rows.until_s, side="left")
    counts = np.where(rows.up, np.maximum(last - first, 0), 0)
    return _Overlaps(stretch, starts, ends, first, counts)


def _stuck_by_pair(
    rows: HostRows,
    waiting: _Waiting,
    overlaps: _Overlaps,
    fitted: npt.NDArray[np.uint64],
    state_of_row: npt.NDArray[np.int64],
) -> tuple[FloatArray, FloatArray]:
    """As ``_stuck_by_kind``, row by row over the stretches of waiting each overlaps
    (``fitted``: per state of a row, the mask of waiting classes that fit it)."""
    stretch, starts, ends, first, counts = overlaps
    cpu_time = np.zeros(rows.time_s.size)
    gpu_time = np.zeros(rows.time_s.size)
    done = 0
    while done < counts.size:  # rows in chunks of at most PAIRS_AT_ONCE pairs
        total = np.cumsum(counts[done:])
        stop = done + max(1, int(np.searchsorted(total, PAIRS_AT_ONCE, side="right")))
        row = np.repeat(np.arange(done, stop), counts[done:stop])
        offset = np.arange(row.size) - np.repeat(
            np.cumsum(counts[done:stop]) - counts[done:stop], counts[done:stop]
        )
        k = first[row] + offset  # the stretch, among those with waiting
        overlap = np.minimum(rows.until_s[row], ends[k]) - np.maximum(rows.time_s[row], starts[k])
        masks = waiting.masks[stretch[k]]
        shared = masks & fitted[state_of_row[row]]
        none_fits = ~shared.any(axis=1)
        no_gpu_shape_fits = waiting.gpu_waits[stretch[k]] & ~(shared & waiting.gpu_mask).any(axis=1)
        cpu_time += np.bincount(row, weights=overlap * none_fits, minlength=cpu_time.size)
        gpu_time += np.bincount(row, weights=overlap * no_gpu_shape_fits, minlength=cpu_time.size)
        done = stop
    return cpu_time, gpu_time


def _mask(bits: npt.NDArray[np.int64], words: int) -> npt.NDArray[np.uint64]:
    """A bit mask (``words`` words) with the given bits set."""
    mask = np.zeros(words, dtype=np.uint64)
    for bit in bits.tolist():
        mask[bit // WORD_BITS] |= np.uint64(1) << np.uint64(bit % WORD_BITS)
    return mask
