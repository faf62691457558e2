"""Figures of fits: matplotlib Figures built without pyplot (no global state), so they
work under any backend and in notebooks; save them with ``figure.savefig(path)``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from ..units import format_duration

if TYPE_CHECKING:
    from .arrivals import ArrivalFit
    from .durations import DurationFit

BINS = 40


def duration_figure(fit: DurationFit, top: int = 3) -> Figure:
    """Left: the empirical CDF with the fitted CDFs of the ``top`` candidates. Right: the
    share of durations in log-spaced bins, observed (bars) and fitted (lines). Log x."""
    data = fit.data
    shown = fit.candidates[:top]
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    ecdf_axes, hist_axes = figure.subplots(1, 2)
    grid = np.geomspace(data[0], data[-1], 400)
    ecdf_axes.step(
        data,
        np.arange(1, data.size + 1) / data.size,
        where="post",
        color="black",
        label=f"observed (n={data.size:,})",
    )
    edges = np.geomspace(data[0], data[-1], BINS + 1)
    observed, _ = np.histogram(data, bins=edges)
    hist_axes.bar(
        edges[:-1],
        observed / data.size,
        width=np.diff(edges),
        align="edge",
        color="0.8",
        edgecolor="0.6",
        label="observed",
    )
    centres = np.sqrt(edges[:-1] * edges[1:])
    for candidate in shown:
        label = f"{candidate.family} (ΔAIC {candidate.aic - fit.best.aic:,.0f}, KS {candidate.ks_stat:.3f})"
        ecdf_axes.plot(grid, candidate.dist.cdf(grid), label=label)
        expected = np.diff(candidate.dist.cdf(edges))
        hist_axes.plot(centres, expected, marker=".", label=candidate.family)
    for axes in (ecdf_axes, hist_axes):
        axes.set_xscale("log")
        axes.set_xlabel("duration (s, log scale)")
        axes.grid(alpha=0.3, which="both")
    ecdf_axes.set_ylabel("share of durations at most x")
    hist_axes.set_ylabel("share of durations in the bin")
    ecdf_axes.legend(fontsize=8, loc="lower right")
    hist_axes.legend(fontsize=8)
    figure.suptitle(
        f"{data.size:,} durations{_where(fit.source, fit.column)}\nbest fit by AIC: "
        f"{fit.best.family} (observed median {format_duration(float(np.median(data)))})"
    )
    return figure


def arrival_figure(fit: ArrivalFit) -> Figure:
    """Left: requests per hour in each hour of the day (hours observed). Right: requests
    per minute over time, with the mean and a Poisson band of two standard deviations."""
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    hour_axes, minute_axes = figure.subplots(1, 2)
    per_hour = fit.hourly_rate_per_s * 3600
    seen = ~np.isnan(per_hour)
    hour_axes.bar(np.arange(24)[seen], per_hour[seen], color="tab:blue")
    hour_axes.axhline(fit.rate_per_s * 3600, color="black", linestyle="--", label="mean")
    hour_axes.set_xticks(range(0, 24, 3))
    hour_axes.set_xlim(-0.5, 23.5)
    hour_axes.set_xlabel("hour of the day")
    hour_axes.set_ylabel("requests per hour (while observed)")
    hour_axes.legend(fontsize=8)
    counts = fit.window_counts
    start_h = fit.times[0] / 3600
    minutes = start_h + np.arange(counts.size) / 60
    minute_axes.plot(minutes, counts, drawstyle="steps-post", linewidth=0.8, label="observed")
    mean = fit.rate_per_s * 60
    minute_axes.axhline(mean, color="black", linestyle="--", label="mean")
    minute_axes.axhspan(
        max(mean - 2 * np.sqrt(mean), 0),
        mean + 2 * np.sqrt(mean),
        color="0.85",
        label="Poisson ±2 s.d.",
    )
    minute_axes.set_xlabel("hours since midnight of the first day")
    minute_axes.set_ylabel("requests per minute")
    minute_axes.legend(fontsize=8)
    figure.suptitle(
        f"{fit.count:,} requests{_where(fit.source, fit.column)} over "
        f"{format_duration(fit.span_s)}\n{fit.rate_per_s:.3g} per second; inter-arrival CV "
        f"{fit.cv:.2f}, dispersion of 1-minute counts {fit.dispersion:.2f} (Poisson: 1 and 1)"
    )
    return figure


def _where(source: str | None, column: str | None) -> str:
    """' in file.csv (column)' for titles, the file without its folders."""
    if source is None:
        return ""
    return f" in {Path(source).name}" + (f" ({column})" if column else "")
