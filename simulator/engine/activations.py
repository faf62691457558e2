"""What a platform actually serves: activations, built from one-shot requests and sessions.

An activation is one stretch of a sandbox holding a quota slot: launched (or resumed),
running a task or a tool call, then ending. A one-shot request is one activation. A
session's track becomes activations by the platform's session mode:

- held: one activation for the whole session (calls and think gaps back to back);
- per_call: one activation per tool call, each requested when the previous call's
  result is back and the model has thought (its think gap);
- pause_resume: like per_call, but the first call launches and later calls resume the
  paused sandbox, and each call but the last is followed by pausing (billed).

Activations that follow a predecessor have no request time until the simulation gives
one; those without predecessors are all known up front.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..distributions import FloatArray
from ..platforms import SessionMode
from ..workload import SampledWorkload

PATH_MAIN, PATH_RESUME = 0, 1
"""Which launch path an activation takes: the platform's launch mode, or resume."""


@dataclass(frozen=True)
class Activations:
    """Every activation of one replication on one platform: one-shot requests first, then
    each track's activations in order."""

    request_s: FloatArray
    """Request time where known up front; NaN where the activation follows another."""
    call_s: FloatArray
    """The task or tool call, before any lifetime cap."""
    tail_s: FloatArray
    """Time after the call that is still billed and holds the slot (pausing)."""
    gap_after_s: FloatArray
    """Think gap after the call before the next activation of the track is requested."""
    next_index: npt.NDArray[np.int64]
    """The activation that follows (-1: none)."""
    workload_index: npt.NDArray[np.int32]
    track_index: npt.NDArray[np.int64]
    """The session track (-1 for one-shot requests)."""
    session_index: npt.NDArray[np.int64]
    """The session (-1 for one-shot requests)."""
    call_index: npt.NDArray[np.int32]
    """Position of the activation within its track."""
    path: npt.NDArray[np.int8]
    """PATH_MAIN or PATH_RESUME."""

    @classmethod
    def one_shot(cls, request_s: FloatArray, run_s: FloatArray) -> Activations:
        """Independent one-shot requests of a single workload."""
        n = request_s.size
        return cls(
            request_s=request_s,
            call_s=run_s,
            tail_s=np.zeros(n),
            gap_after_s=np.zeros(n),
            next_index=np.full(n, -1, dtype=np.int64),
            workload_index=np.zeros(n, dtype=np.int32),
            track_index=np.full(n, -1, dtype=np.int64),
            session_index=np.full(n, -1, dtype=np.int64),
            call_index=np.zeros(n, dtype=np.int32),
            path=np.zeros(n, dtype=np.int8),
        )

    @property
    def size(self) -> int:
        """Number of activations."""
        return int(self.request_s.size)

    @property
    def chained(self) -> bool:
        """True if some activation follows another (the engine must create requests)."""
        return bool((self.next_index >= 0).any())


def expand(
    workload: SampledWorkload, session_mode: SessionMode, pause_s: tuple[float, ...]
) -> Activations:
    """The activations a platform serves for one sampled workload.

    ``pause_s`` is the pause time per workload index (used by pause_resume).
    """
    n_one = workload.size
    tracks = workload.tracks
    if session_mode == "held":
        span = tracks.span_s()
        track_rows = np.arange(tracks.size, dtype=np.int64)
        t_request, t_call = tracks.start_s, span
        t_tail = t_gap = np.zeros(tracks.size)
        t_next = np.full(tracks.size, -1, dtype=np.int64)
        t_call_index = np.zeros(tracks.size, dtype=np.int32)
        t_path = np.full(tracks.size, PATH_MAIN, dtype=np.int8)
    else:
        counts = tracks.calls_per_track
        track_rows = np.repeat(np.arange(tracks.size, dtype=np.int64), counts)
        total = int(counts.sum())
        first = np.zeros(total, dtype=bool)
        first[tracks.offsets[:-1][counts > 0]] = True
        last = np.zeros(total, dtype=bool)
        last[tracks.offsets[1:][counts > 0] - 1] = True
        t_request = np.where(first, np.repeat(tracks.start_s, counts), np.nan)
        t_call = tracks.call_s
        t_gap = tracks.gap_after_s
        t_next = np.where(last, -1, np.arange(total, dtype=np.int64) + 1 + n_one)
        t_call_index = (np.arange(total) - np.repeat(tracks.offsets[:-1], counts)).astype(np.int32)
        if session_mode == "pause_resume":
            pause = np.asarray(pause_s, dtype=np.float64)[tracks.workload_index][track_rows]
            t_tail = np.where(last, 0.0, pause)
            t_path = np.where(first, PATH_MAIN, PATH_RESUME).astype(np.int8)
        else:
            t_tail = np.zeros(total)
            t_path = np.full(total, PATH_MAIN, dtype=np.int8)
    return Activations(
        request_s=np.concatenate((workload.request_s, t_request)),
        call_s=np.concatenate((workload.duration_s, t_call)),
        tail_s=np.concatenate((np.zeros(n_one), t_tail)),
        gap_after_s=np.concatenate((np.zeros(n_one), t_gap)),
        next_index=np.concatenate((np.full(n_one, -1, dtype=np.int64), t_next)),
        workload_index=np.concatenate((workload.workload_index, tracks.workload_index[track_rows])),
        track_index=np.concatenate((np.full(n_one, -1, dtype=np.int64), track_rows)),
        session_index=np.concatenate(
            (np.full(n_one, -1, dtype=np.int64), tracks.session_index[track_rows])
        ),
        call_index=np.concatenate((np.zeros(n_one, dtype=np.int32), t_call_index)),
        path=np.concatenate((np.full(n_one, PATH_MAIN, dtype=np.int8), t_path)),
    )


def chain_without_waits(
    acts: Activations, latency_s: FloatArray, call_run_s: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Request, ready and end times if nothing ever waits (no quota or rate limit binds).

    In a track, activation k+1 is requested when call k is done and the think gap is
    over, but not before pausing is done: r[k+1] = r[k] + latency[k] + call[k] +
    max(gap[k], tail[k]), a running sum within each track.
    """
    request = acts.request_s.copy()
    step = latency_s + call_run_s + np.maximum(acts.gap_after_s, acts.tail_s)
    chained = acts.track_index >= 0
    if chained.any():
        rows = np.flatnonzero(chained)
        first = np.isfinite(request[rows])
        # running sum of steps, restarted at each track's first activation
        cumulative = np.cumsum(step[rows])
        before = np.concatenate(([0.0], cumulative[:-1]))
        base_at_first = np.where(first, request[rows] - before, np.nan)
        base = np.maximum.accumulate(np.where(first, np.arange(rows.size), -1))
        request[rows] = base_at_first[base] + before
    ready = request + latency_s
    end = ready + call_run_s + acts.tail_s
    return request, ready, end
