"""Figures of a simulation, as library functions: each takes results and returns a
matplotlib Figure, so notebooks and the batch report draw the same pictures.

Every figure has a title and units on its axes; money carries the scenario's currency.
Nothing here computes a model figure of its own: spend comes from the billed line items,
time to ready and concurrency from the usage the engine recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .distributions import FloatArray
from .units import DAY_S
from .usage import MODES

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from .forecast import ForecastResult
    from .guardrails import BudgetCheck
    from .runner import SimulationResult
    from .scenario import Scenario

COMPONENT_ORDER = ("vcpu", "memory", "gpu", "requests", "plan", "snapshot", "idle")
"""Stacking order of bill components (others follow by name)."""


def _new_figure(width: float = 8.0, height: float = 4.5) -> tuple[Figure, Any]:
    """A figure and its axes, without touching pyplot's global state (safe in servers)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _money(currency: str) -> Any:
    from matplotlib.ticker import FuncFormatter

    symbol = "$" if currency == "USD" else f"{currency} "
    return FuncFormatter(lambda value, _pos: f"{'-' if value < 0 else ''}{symbol}{abs(value):,.0f}")


def spend_by_platform(result: SimulationResult) -> Figure:
    """Monthly spend per platform: the mean over replications, with the P5-P95 band of the
    replications as an error bar."""
    costs = result.costs()
    currency = result.scenario.currency
    figure, axes = _new_figure()
    ids = result.platform_ids
    per_month = [costs.loc[costs["platform"] == p, "per_month_usd"].to_numpy() for p in ids]
    means = np.array([values.mean() if values.size else 0.0 for values in per_month])
    low = np.array([np.percentile(v, 5) if v.size else 0.0 for v in per_month])
    high = np.array([np.percentile(v, 95) if v.size else 0.0 for v in per_month])
    positions = np.arange(len(ids))
    axes.bar(positions, means, color="#4C72B0")
    axes.errorbar(
        positions,
        means,
        yerr=[means - np.minimum(low, means), np.maximum(high, means) - means],
        fmt="none",
        ecolor="black",
        capsize=4,
    )
    for x, mean, top in zip(positions, means, np.maximum(high, means), strict=True):
        axes.annotate(
            f"{mean:,.0f}",
            (x, top),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 3),
            textcoords="offset points",
        )
    axes.set_xticks(positions, ids, rotation=20, ha="right")
    axes.yaxis.set_major_formatter(_money(currency))
    axes.set_ylabel(f"{currency} per 30-day month")
    axes.set_xlabel("platform")
    replications = result.scenario.replications
    axes.set_title(
        f"Monthly spend per platform (mean of {replications} replication"
        f"{'s' if replications != 1 else ''}; bar: P5-P95)"
    )
    axes.grid(True, axis="y", alpha=0.3)
    return figure


def spend_by_component(result: SimulationResult) -> Figure:
    """Why each platform costs what it does: monthly spend stacked by bill component
    (vCPU, memory, GPU, requests, plan fees, idle hosts)."""
    items = result.mean_line_items()
    currency = result.scenario.currency
    figure, axes = _new_figure()
    ids = result.platform_ids
    found = sorted(set(items["component"]))
    components = [c for c in COMPONENT_ORDER if c in found] + [
        c for c in found if c not in COMPONENT_ORDER
    ]
    bottom = np.zeros(len(ids))
    for component in components:
        chosen = items[items["component"] == component]
        heights = np.array(
            [chosen.loc[chosen["platform"] == p, "cost_usd_per_month"].sum() for p in ids]
        )
        if not heights.any():
            continue
        axes.bar(np.arange(len(ids)), heights, bottom=bottom, label=component)
        bottom += heights
    axes.set_xticks(np.arange(len(ids)), ids, rotation=20, ha="right")
    axes.yaxis.set_major_formatter(_money(currency))
    axes.set_ylabel(f"{currency} per 30-day month")
    axes.set_xlabel("platform")
    axes.set_title("Monthly spend by component (mean over replications)")
    if bottom.any():
        axes.legend(fontsize=8, title="component")
    else:  # (unpriced hosts: nothing to stack, and nothing for a legend)
        axes.text(0.5, 0.5, "no spend: every line item is 0", ha="center", transform=axes.transAxes)
    axes.grid(True, axis="y", alpha=0.3)
    return figure


def _ecdf(values: FloatArray) -> tuple[FloatArray, FloatArray]:
    ordered = np.sort(values)
    return ordered, np.arange(1, ordered.size + 1) / ordered.size


def time_to_ready_cdf(result: SimulationResult, platforms: list[str] | None = None) -> Figure:
    """Time from request to ready, as a CDF per platform and launch mode (cold boot,
    snapshot restore, warm hand-over, resume), pooled over replications (needs the kept
    usage)."""
    figure, axes = _new_figure()
    drawn = 0
    for platform_id in platforms or result.platform_ids:
        runs = [run.usage for run in result.runs.get(platform_id, []) if run.usage is not None]
        if not runs:
            continue
        ready = np.concatenate([u.ready_s - u.request_s for u in runs])
        modes = np.concatenate([u.launch_mode for u in runs])
        launched = np.isfinite(ready)
        for code, mode in enumerate(MODES):
            chosen = ready[launched & (modes == code)]
            if chosen.size == 0:
                continue
            x, y = _ecdf(np.maximum(chosen, 1e-4))
            axes.step(x, y, where="post", label=f"{platform_id}: {mode} ({chosen.size:,})")
            drawn += 1
    if not drawn:
        raise ValueError("no launched sandboxes with kept usage: simulate with keep_usage=True")
    axes.set_xscale("log")
    axes.set_xlabel("time from request to ready (s, log scale)")
    axes.set_ylabel("share of sandboxes ready")
    axes.set_ylim(0, 1.01)
    axes.set_title("Time to ready by platform and launch mode")
    axes.legend(fontsize=7)
    axes.grid(True, which="both", alpha=0.3)
    return figure


def concurrency_series(
    result: SimulationResult, platform_id: str, step_s: float = 60.0, replication: int = 0
) -> tuple[FloatArray, FloatArray]:
    """Sandboxes holding a slot (admitted, not yet ended) at each ``step_s`` over the first
    day of the horizon (or all of it, if shorter), for one replication."""
    runs = [r for r in result.runs.get(platform_id, []) if r.replication == replication]
    if not runs or runs[0].usage is None:
        raise ValueError(f"no kept usage for {platform_id!r} replication {replication}")
    usage = runs[0].usage
    span = min(result.scenario.horizon, DAY_S)
    times = np.arange(0.0, span + step_s / 2, step_s)
    admitted = usage.admit_s[np.isfinite(usage.admit_s)]
    ended = usage.end_s[np.isfinite(usage.admit_s)]
    holding = np.searchsorted(np.sort(admitted), times, side="right") - np.searchsorted(
        np.sort(ended), times, side="right"
    )
    return times, holding.astype(np.float64)


def concurrency_over_day(result: SimulationResult, platforms: list[str] | None = None) -> Figure:
    """Sandboxes running at once over the first day (one replication), per platform."""
    figure, axes = _new_figure()
    for platform_id in platforms or result.platform_ids:
        try:
            times, holding = concurrency_series(result, platform_id)
        except ValueError:
            continue
        axes.step(times / 3600.0, holding, where="post", label=platform_id, linewidth=1)
    axes.set_xlabel("hours from the scenario start")
    axes.set_ylabel("sandboxes holding a slot")
    axes.set_title("Concurrency over the first day (replication 0)")
    axes.legend(fontsize=8)
    axes.grid(True, alpha=0.3)
    return figure


def fleet_hosts(result: SimulationResult, platform_id: str, replication: int = 0) -> Figure:
    """Hosts alive over the horizon by how they were bought (and, for a fleet of several
    types of host, by type, dashed), for a self-hosted platform, in one replication; the
    title gives that replication's utilisation (the summary's is the mean over all)."""
    import pandas as pd

    from .fleet_metrics import hosts_over_time

    runs = [r for r in result.runs.get(platform_id, []) if r.replication == replication]
    if not runs or runs[0].metrics.fleet is None:
        raise ValueError(f"{platform_id!r} is not a self-hosted fleet")
    record = runs[0].metrics.fleet.record
    frame = hosts_over_time(record)
    if not frame.empty:  # the last counts hold to the horizon
        frame = pd.concat([frame, frame.iloc[[-1]].assign(time_s=record.span_s)])
    figure, axes = _new_figure()
    kinds = [c for c in frame.columns if c.startswith("hosts_")]
    types = [c for c in frame.columns if c.startswith("type_")]
    hours = frame["time_s"].to_numpy() / 3600.0
    for column in kinds:
        axes.step(hours, frame[column], where="post", label=column.removeprefix("hosts_"))
    if len(types) > 1:
        for column in types:
            axes.step(
                hours,
                frame[column],
                where="post",
                linestyle="--",
                label=column.replace("_", " ", 1),
            )
    if len(kinds) > 1:
        axes.step(hours, frame["hosts"], where="post", label="all", color="black", linewidth=1)
    metrics = runs[0].metrics.fleet
    used = ", ".join(
        f"{name} {share:.0%}" for name, share in metrics.utilisation.items() if share is not None
    )
    axes.set_xlabel("hours from the scenario start")
    axes.set_ylabel("hosts (booting or running)")
    count = len(result.runs.get(platform_id, []))
    axes.set_title(
        f"{platform_id}: hosts over time, replication {replication} of {count} "
        f"(its utilisation {used})"
    )
    axes.legend(fontsize=8, title="bought as (or type)" if len(types) > 1 else "bought as")
    axes.grid(True, alpha=0.3)
    return figure


def duration_distribution(scenario: Scenario, replication: int = 0) -> Figure:
    """Sandbox durations (one-shot tasks, and tool calls of sessions) as sampled for one
    replication, per workload, on log-spaced bins; medians and P95 marked."""
    from .workload import sample_workloads

    sampled = sample_workloads(scenario, replication)
    figure, axes = _new_figure()
    groups: list[tuple[str, FloatArray]] = []
    for index, name in enumerate(sampled.workload_names):
        durations = sampled.duration_s[sampled.workload_index == index]
        if durations.size == 0:
            durations = sampled.tracks.call_s[
                np.repeat(sampled.tracks.workload_index == index, sampled.tracks.calls_per_track)
            ]
            name = f"{name} (tool calls)"
        if durations.size:
            groups.append((name, np.maximum(durations, 1e-3)))
    if not groups:
        raise ValueError("the scenario samples no durations within its horizon")
    low = min(float(d.min()) for _, d in groups)
    high = max(float(d.max()) for _, d in groups)
    bins = np.geomspace(low, max(high, low * 1.01), 50)
    for name, durations in groups:
        line = axes.hist(durations, bins=bins, histtype="step", label=name, density=False)[2][0]
        for q, style in ((50, "--"), (95, ":")):
            axes.axvline(
                float(np.percentile(durations, q)),
                color=line.get_edgecolor(),
                linestyle=style,
                linewidth=0.8,
            )
    axes.set_xscale("log")
    axes.set_xlabel("duration (s, log scale; dashed: median, dotted: P95)")
    axes.set_ylabel("sandboxes per bin")
    axes.set_title(f"Sampled durations, replication {replication}")
    axes.legend(fontsize=8)
    axes.grid(True, which="both", alpha=0.3)
    return figure


def budget_burn(forecast: ForecastResult, check: BudgetCheck) -> Figure:
    """Cumulative spend of a budget's scope on one platform, month by month: the median
    and the budget's quantile across replications, against the cumulative budget."""
    scope = check.budget.scope
    spend = forecast.spend(check.platform, team=scope.team, workload=scope.workload)
    cumulative = np.cumsum(spend, axis=1)
    labels = [m.label for m in forecast.months]
    months = np.arange(1, len(labels) + 1)
    quantile = check.budget.quantile
    figure, axes = _new_figure()
    axes.fill_between(
        months,
        np.percentile(cumulative, 5, axis=0),
        np.percentile(cumulative, 95, axis=0),
        alpha=0.2,
        label="P5-P95",
    )
    axes.plot(months, np.median(cumulative, axis=0), marker="o", label="median")
    axes.plot(
        months,
        np.quantile(cumulative, quantile, axis=0),
        marker="^",
        linestyle="--",
        label=f"quantile {quantile:g}",
    )
    axes.plot(months, check.budget.amount * months, color="black", linewidth=1.5, label="budget")
    if check.first_breach is not None:
        breach = labels.index(check.first_breach) + 1
        axes.axvline(breach, color="red", linestyle=":", linewidth=1)
        axes.annotate(
            f"first breach {check.first_breach}",
            (breach, axes.get_ylim()[1] * 0.95),
            color="red",
            fontsize=8,
            ha="right",
        )
    axes.set_xticks(months, labels, rotation=30, ha="right")
    axes.yaxis.set_major_formatter(_money(check.currency))
    axes.set_xlabel("month")
    axes.set_ylabel(f"cumulative {check.currency}")
    axes.set_title(
        f"{check.budget.name} on {check.platform}: cumulative spend against "
        f"{check.budget.amount:,.0f} {check.currency} a month"
    )
    axes.legend(fontsize=8)
    axes.grid(True, alpha=0.3)
    return figure


_GROUP_MARKERS = "osD^vP"
"""Marker per set of workloads run, in the comparison figure."""


def comparison(table: pd.DataFrame) -> Figure:
    """Every platform of a scenario: mean monthly spend (error bar: P5-P95 across
    replications) against P99 time to ready; platforms whose bill uses assumed rates are
    drawn hollow and say so. Where platforms run different workloads (the table's
    ``workloads``), each set has its own marker and the labels name it: their spends are
    of different work. ``table`` is ``compare(...).table`` (or comparison.csv)."""
    figure, axes = _new_figure()
    currency = str(table["currency"].iloc[0]) if len(table) else "USD"
    sets = list(dict.fromkeys(table["workloads"])) if "workloads" in table else []
    differ = len(sets) > 1
    for row in table.to_dict("records"):
        assumed = isinstance(row["assumed_rates"], str) and bool(row["assumed_rates"])
        mean, p99 = float(row["spend_per_month_mean"]), float(row["ttr_p99_s"])
        low, high = float(row["spend_per_month_p5"]), float(row["spend_per_month_p95"])
        name = str(row["platform"])
        runs = f" [runs {row['workloads']}]" if differ else ""
        line = axes.errorbar(
            [p99],
            [mean],
            yerr=[[mean - low], [high - mean]],
            fmt=_GROUP_MARKERS[sets.index(row["workloads"]) % len(_GROUP_MARKERS)]
            if differ
            else "o",
            capsize=4,
            markerfacecolor="white" if assumed else None,
            label=f"{name}{runs}{' (assumed prices)' if assumed else ''}",
        )
        axes.annotate(
            f"{name}{'*' if assumed else ''}",
            (p99, mean),
            fontsize=7,
            xytext=(5, 4),
            textcoords="offset points",
            color=line.lines[0].get_color(),
        )
    axes.set_xscale("log")
    axes.yaxis.set_major_formatter(_money(currency))
    axes.set_xlabel("P99 time to ready (s, log scale)")
    axes.set_ylabel(f"{currency} per 30-day month (bar: P5-P95)")
    if differ:
        axes.set_title(
            "Platforms running different workloads (marker: set run): spend against time "
            "to ready; compare spend within a set",
            fontsize=9,
        )
    elif sets:
        axes.set_title("Platforms on the same workloads: spend against time to ready")
    else:
        axes.set_title("Platforms compared: spend against time to ready")
    axes.text(
        0.99,
        0.01,
        "hollow, *: the bill uses assumed (unpublished) rates",
        transform=axes.transAxes,
        fontsize=7,
        ha="right",
    )
    axes.legend(fontsize=7)
    axes.grid(True, which="both", alpha=0.3)
    return figure


def tornado(table: pd.DataFrame, platform: str | None = None) -> Figure:
    """Sensitivity of monthly spend to each factor moved down and up by the swing, for
    one platform (the table's first if not named), largest impact on top. ``table`` is
    ``sensitivity(...).table`` (or sensitivity.csv)."""
    chosen = platform if platform is not None else str(table["platform"].iloc[0])
    rows = table[table["platform"] == chosen].sort_values("impact", ascending=True)
    if rows.empty:
        raise ValueError(f"no sensitivity rows for platform {chosen!r}")
    currency = str(rows["currency"].iloc[0])
    base = float(rows["base_per_month"].iloc[0])
    figure, axes = _new_figure(8.0, 1.2 + 0.45 * len(rows))
    positions = np.arange(len(rows))
    low = rows["change_low"].to_numpy(dtype=float)
    high = rows["change_high"].to_numpy(dtype=float)
    axes.barh(positions, low, color="#4C72B0", label=f"factor x {rows['low'].iloc[0]:g}")
    axes.barh(positions, high, color="#DD8452", label=f"factor x {rows['high'].iloc[0]:g}")
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set_yticks(positions, list(rows["factor"]))
    axes.xaxis.set_major_formatter(_money(currency))
    axes.set_xlabel(f"change in {currency} per 30-day month (base {base:,.0f})")
    axes.set_ylabel("factor")
    axes.set_title(f"{chosen}: sensitivity of monthly spend")
    axes.legend(fontsize=8)
    axes.grid(True, axis="x", alpha=0.3)
    return figure
