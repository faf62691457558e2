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
class SessionTracks:
    """Agent sessions of one replication, as tracks: one per sandbox a session holds.

    A track's calls are stored flat: calls ``offsets[t]`` to ``offsets[t + 1]`` belong to
    track ``t``; ``gap_after_s`` is the think gap after each call (0 after the last).
    """

    start_s: FloatArray
    """When each track's session starts (its first call is requested), sorted."""
    workload_index: npt.NDArray[np.int32]
    session_index: npt.NDArray[np.int64]
    """The session a track belongs to (sessions that fan out have several tracks)."""
    offsets: npt.NDArray[np.int64]
    call_s: FloatArray
    gap_after_s: FloatArray

    @property
    def size(self) -> int:
        """Number of tracks."""
        return int(self.start_s.size)

    @property
    def calls_per_track(self) -> npt.NDArray[np.int64]:
        """Tool calls in each track."""
        return np.diff(self.offsets)

    def span_s(self) -> FloatArray:
        """Each track's calls and gaps back to back: the session's length with instant launches."""
        busy = (
            np.add.reduceat(self.call_s + self.gap_after_s, self.offsets[:-1])
            if self.size
            else np.empty(0)
        )
        return np.asarray(busy, dtype=np.float64)

    def subset(self, keep: npt.NDArray[np.bool_]) -> SessionTracks:
        """Only the tracks flagged in ``keep``."""
        counts = self.calls_per_track[keep]
        call_keep = np.repeat(keep, self.calls_per_track)
        return SessionTracks(
            self.start_s[keep],
            self.workload_index[keep],
            self.session_index[keep],
            np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
            self.call_s[call_keep],
            self.gap_after_s[call_keep],
        )


EMPTY_TRACKS = SessionTracks(
    np.empty(0),
    np.empty(0, np.int32),
    np.empty(0, np.int64),
    np.zeros(1, np.int64),
    np.empty(0),
    np.empty(0),
)


@dataclass(frozen=True)
class SampledWorkload:
    """All sandbox requests of one replication: one-shot requests sorted by request time,
    and agent sessions as tracks of tool calls."""

    horizon_s: float
    request_s: FloatArray
    """Request times, seconds from the scenario start, non-decreasing."""
    duration_s: FloatArray
    """How long each sandbox's task runs once ready (before any lifetime cap)."""
    workload_index: npt.NDArray[np.int32]
    """Index into ``workload_names`` of each request."""
    workload_names: tuple[str, ...]
    tracks: SessionTracks = EMPTY_TRACKS
    """Session workloads' tracks (empty when there are none)."""
    trace_row: npt.NDArray[np.int64] | None = None
    """For requests of a trace with per-request shapes, the row of the trace (in time
    order) each request replays, else -1; None when no workload has trace shapes."""

    @property
    def size(self) -> int:
        """Number of one-shot requests."""
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
            self.tracks.subset(np.isin(self.tracks.workload_index, workload_indices)),
            self.trace_row[keep] if self.trace_row is not None else None,
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


def sample_tracks(
    workload: Workload,
    index: int,
    horizon_s: float,
    seed: int,
    replication: int,
    first_session: int,
    *,
    starts: FloatArray | None = None,
    labels: tuple[str, ...] = (),
) -> SessionTracks:
    """The sessions of one session workload: start times, calls and gaps per track.

    ``starts`` gives the session start times instead of sampling the workload's arrivals;
    ``labels`` prefix the names of the random streams (a forecast's month)."""
    session = workload.session
    assert session is not None
    if starts is None:
        starts = workload.arrivals.sample(
            stream(seed, replication, "arrivals", workload.name), horizon_s
        )
    fan_out = session.parallel_sandboxes
    track_start = np.repeat(starts, fan_out)
    session_index = np.repeat(np.arange(starts.size, dtype=np.int64) + first_session, fan_out)
    counts_rng = stream(seed, replication, *labels, "tool_calls", workload.name)
    counts = np.maximum(1, np.ceil(session.tool_calls.sample(counts_rng, track_start.size))).astype(
        np.int64
    )
    total = int(counts.sum())
    calls = session.call_duration.sample(
        stream(seed, replication, *labels, "call_durations", workload.name), total
    )
    gaps = session.think_gap.sample(
        stream(seed, replication, *labels, "think_gaps", workload.name), total
    )
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    gaps[offsets[1:] - 1] = 0.0  # nothing follows a track's last call
    return SessionTracks(
        track_start,
        np.full(track_start.size, index, dtype=np.int32),
        session_index,
        offsets,
        calls,
        gaps,
    )


def _merge_tracks(parts: list[SessionTracks]) -> SessionTracks:
    """Tracks of several workloads in one table, sorted by start (calls move with them)."""
    if not parts:
        return EMPTY_TRACKS
    counts = np.concatenate([p.calls_per_track for p in parts])
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    starts = np.concatenate([p.start_s for p in parts])
    order = np.argsort(starts, kind="stable")
    ordered_counts = counts[order]
    new_offsets = np.concatenate(([0], np.cumsum(ordered_counts))).astype(np.int64)
    # call j of ordered track k comes from offsets[order[k]] + (j - new_offsets[k])
    shift = np.repeat(offsets[:-1][order] - new_offsets[:-1], ordered_counts)
    source = shift + np.arange(int(ordered_counts.sum()), dtype=np.int64)
    return SessionTracks(
        starts[order],
        np.concatenate([p.workload_index for p in parts])[order],
        np.concatenate([p.session_index for p in parts])[order],
        new_offsets,
        np.concatenate([p.call_s for p in parts])[source],
        np.concatenate([p.gap_after_s for p in parts])[source],
    )


def sample_workloads(scenario: Scenario, replication: int) -> SampledWorkload:
    """Every workload of the scenario: one-shot requests merged in request-time order,
    sessions as tracks sorted by start."""
    parts: list[tuple[FloatArray, FloatArray]] = []
    tracks: list[SessionTracks] = []
    sessions = 0
    for index, workload in enumerate(scenario.workloads):
        if workload.session is not None:
            part = sample_tracks(
                workload, index, scenario.horizon, scenario.seed, replication, sessions
            )
            sessions = next_session(part, sessions)
            tracks.append(part)
            parts.append((np.empty(0), np.empty(0)))
            continue
        parts.append(sample_one(workload, scenario.horizon, scenario.seed, replication))
    return merge_sampled(scenario, scenario.horizon, parts, tracks)


def next_session(part: SessionTracks, sessions: int) -> int:
    """The first session index free after a workload's tracks."""
    return int(part.session_index.max()) + 1 if part.size else sessions


def merge_sampled(
    scenario: Scenario,
    horizon_s: float,
    parts: list[tuple[FloatArray, FloatArray]],
    tracks: list[SessionTracks],
) -> SampledWorkload:
    """One replication's table from each workload's (request times, durations), in
    scenario order, and the session workloads' tracks."""
    times = [t for t, _ in parts]
    indices = [np.full(t.size, i, dtype=np.int32) for i, t in enumerate(times)]
    rows = [
        np.arange(t.size, dtype=np.int64)
        if isinstance(w.arrivals, TraceArrivals) and w.arrivals.shapes is not None
        else np.full(t.size, -1, dtype=np.int64)
        for w, t in zip(scenario.workloads, times, strict=True)
    ]
    all_times = np.concatenate(times) if times else np.empty(0)
    order = np.argsort(all_times, kind="stable")
    return SampledWorkload(
        horizon_s=horizon_s,
        request_s=all_times[order],
        duration_s=np.concatenate([d for _, d in parts])[order] if parts else np.empty(0),
        workload_index=np.concatenate(indices)[order] if indices else np.empty(0, np.int32),
        workload_names=tuple(w.name for w in scenario.workloads),
        tracks=_merge_tracks(tracks),
        trace_row=(
            np.concatenate(rows)[order].astype(np.int64)
            if any(r.size and r[0] >= 0 for r in rows)
            else None
        ),
    )
