"""A mergeable summary of many non-negative values (latencies, waits) in fixed memory.

Pooling quantiles over millions of sandboxes and many replications would otherwise keep
every value. Values are counted in log-spaced bins (2,000 per decade, from 1 µs to about
30 years), so a quantile is known to within 0.06% relative; zeros are counted exactly, and
the count, sum, minimum and maximum are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .distributions import FloatArray

LOW_S = 1e-6
DECADES = 15
PER_DECADE = 2000
BINS = DECADES * PER_DECADE
EDGES = LOW_S * 10.0 ** (np.arange(BINS + 1) / PER_DECADE)
"""Bin edges; values below LOW_S (zeros, in practice) have a bin of their own."""


@dataclass
class LogSketch:
    """Counts per log bin, plus exact zero count, count, sum, minimum and maximum."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(BINS, dtype=np.int64))
    zeros: int = 0
    count: int = 0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf

    @classmethod
    def of(cls, values: FloatArray) -> LogSketch:
        """A sketch of some values (NaN are skipped)."""
        sketch = cls()
        sketch.add(values)
        return sketch

    def add(self, values: FloatArray) -> None:
        """Count more values."""
        values = np.asarray(values, dtype=np.float64)
        values = values[~np.isnan(values)]
        if values.size == 0:
            return
        small = values < LOW_S
        self.zeros += int(small.sum())
        big = values[~small]
        index = np.minimum(np.searchsorted(EDGES, big, side="right") - 1, BINS - 1)
        self.counts += np.bincount(index, minlength=BINS)
        self.count += int(values.size)
        self.total += float(values.sum())
        self.minimum = min(self.minimum, float(values.min()))
        self.maximum = max(self.maximum, float(values.max()))

    def merge(self, other: LogSketch) -> LogSketch:
        """A sketch of both sets of values."""
        return LogSketch(
            self.counts + other.counts,
            self.zeros + other.zeros,
            self.count + other.count,
            self.total + other.total,
            min(self.minimum, other.minimum),
            max(self.maximum, other.maximum),
        )

    @property
    def mean(self) -> float:
        """Exact mean (NaN when empty)."""
        return self.total / self.count if self.count else math.nan

    @property
    def share_positive(self) -> float:
        """Share of values above zero (at least 1 µs)."""
        return (self.count - self.zeros) / self.count if self.count else math.nan

    def quantile(self, q: float) -> float:
        """The q-quantile, to within half a bin (0.06%); exact at the extremes and for zeros."""
        if self.count == 0:
            return math.nan
        if q <= 0:
            return self.minimum
        if q >= 1:
            return self.maximum
        rank = q * self.count  # the smallest value with at least this many at or below it
        if rank <= self.zeros:
            return self.minimum  # the smallest values are the ones below LOW_S
        cumulative = self.zeros + np.cumsum(self.counts)
        index = int(np.searchsorted(cumulative, rank, side="left"))
        value = math.sqrt(EDGES[index] * EDGES[index + 1])  # the bin's geometric middle
        return float(min(max(value, self.minimum), self.maximum))
