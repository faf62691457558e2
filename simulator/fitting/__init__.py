"""Fitting from data: duration distributions from observed durations, and an arrival
process from request timestamps. See docs/fitting.md."""

from __future__ import annotations

from .arrivals import ArrivalFit, fit_arrivals, read_timestamps
from .durations import FAMILIES, Candidate, DurationFit, fit_durations, read_durations

__all__ = [
    "FAMILIES",
    "ArrivalFit",
    "Candidate",
    "DurationFit",
    "fit_arrivals",
    "fit_durations",
    "read_durations",
    "read_timestamps",
]
