"""Exact statistics of sets of time intervals (sandboxes alive, requests waiting)."""

from __future__ import annotations

import numpy as np

from .distributions import FloatArray


def peak_overlap(start_s: FloatArray, end_s: FloatArray) -> int:
    """Most intervals [start, end) open at once.

    The peak is reached at some start; intervals ending exactly then have left already.
    """
    if start_s.size == 0:
        return 0
    start_s = np.sort(start_s)
    ends_before = np.searchsorted(np.sort(end_s), start_s, side="right")
    return int((np.arange(1, start_s.size + 1) - ends_before).max())


def time_weighted_mean(start_s: FloatArray, end_s: FloatArray, horizon_s: float) -> float:
    """Mean number of intervals open over [0, horizon]: the integral of the count over time
    divided by the horizon (the exact time-weighted average)."""
    if horizon_s <= 0 or start_s.size == 0:
        return 0.0
    overlap = np.minimum(end_s, horizon_s) - np.maximum(start_s, 0.0)
    return float(np.clip(overlap, 0.0, None).sum() / horizon_s)


def count_over_time(
    start_s: FloatArray, end_s: FloatArray, horizon_s: float, bin_s: float
) -> FloatArray:
    """Time-weighted mean number of open intervals in each bin of width ``bin_s`` (the last
    bin may be shorter) over [0, horizon]."""
    edges = np.append(np.arange(0.0, horizon_s, bin_s), horizon_s)
    starts = np.sort(np.clip(start_s, 0.0, horizon_s))
    ends = np.sort(np.clip(end_s, 0.0, horizon_s))
    # the integral of the open count over [0, x] is sum_i max(0, x - s_i) - max(0, x - e_i)
    area = _time_since(starts, edges) - _time_since(ends, edges)
    return np.diff(area) / np.diff(edges)


def _time_since(sorted_times: FloatArray, x: FloatArray) -> FloatArray:
    """sum_i max(0, x - t_i) for each x, with ``sorted_times`` sorted."""
    prefix = np.concatenate(([0.0], np.cumsum(sorted_times)))
    before = np.searchsorted(sorted_times, x, side="right")
    return before * x - prefix[before]


def peak_weighted_overlap(start_s: FloatArray, end_s: FloatArray, weight: FloatArray) -> float:
    """Largest total weight of intervals [start, end) open at once (ends leave first on ties)."""
    if start_s.size == 0:
        return 0.0
    times = np.concatenate((start_s, end_s))
    deltas = np.concatenate((weight, -weight))
    order = np.lexsort((deltas, times))  # by time, removals before additions
    return float(np.cumsum(deltas[order]).max())
