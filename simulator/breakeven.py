"""Break-even: the daily volume above which a self-hosted fleet is cheaper than each
managed platform.

The scenario's workload volume is scaled by a list of factors (arrival rates, daily
volumes and burst sizes; durations and shapes unchanged); at each volume the scenario is
simulated on the self-hosted platform and the managed ones with the same seed, so every
platform sees the same sampled workload. Where the monthly cost difference changes sign
between two volumes, the crossing is interpolated linearly in log volume and log cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .arrivals import BurstArrivals, DiurnalArrivals, PoissonArrivals
from .catalog import Catalog
from .errors import InputError
from .runner import ProgressCallback, simulate
from .scenario import Scenario
from .units import DAY_S

DEFAULT_FACTORS: tuple[float, ...] = tuple(float(f) for f in np.geomspace(1 / 16, 16, 9))
"""Volume factors tried by default: 1/16x to 16x the scenario's volume."""


def scale_volume(scenario: Scenario, factor: float) -> Scenario:
    """The scenario with every workload's request volume multiplied by ``factor``."""
    if not factor > 0:
        raise InputError(
            f"a volume factor must be positive, not {factor!r}",
            source="--factors",
            fix="give factors such as 0.25,1,4",
        )
    workloads = []
    for index, workload in enumerate(scenario.workloads):
        arrivals = workload.arrivals
        if isinstance(arrivals, PoissonArrivals):
            update = {
                name: getattr(arrivals, name) * factor
                for name in ("per_second", "per_hour", "per_day")
                if getattr(arrivals, name) is not None
            }
        elif isinstance(arrivals, DiurnalArrivals):
            update = {"per_day": arrivals.per_day * factor}
        elif isinstance(arrivals, BurstArrivals):
            update = {"count": max(1, round(arrivals.count * factor))}
        else:
            raise InputError(
                f"workload {workload.name!r} replays a trace, whose volume cannot be scaled",
                source=str(scenario.source or "scenario"),
                field=f"workloads[{index}].arrivals",
                fix="describe the workload with poisson or diurnal arrivals (fit them to the trace) to sweep its volume",
            )
        workloads.append(
            workload.model_copy(update={"arrivals": arrivals.model_copy(update=update)})
        )
    return scenario.with_overrides({"workloads": workloads}, flag="--factors")


def daily_volume(scenario: Scenario, workloads: frozenset[str] | None = None) -> float:
    """Sandbox requests (or sessions) per day the scenario asks for, on average (of
    ``workloads`` alone, if given)."""
    total = sum(
        w.arrivals.expected_count(scenario.horizon)
        for w in scenario.workloads
        if workloads is None or w.name in workloads
    )
    return total * DAY_S / scenario.horizon


@dataclass(frozen=True)
class Crossing:
    """Where a self-hosted fleet and one managed platform cost the same."""

    platform: str
    daily_volume: float | None
    """Requests per day at the crossing (None: no crossing within the volumes tried)."""
    self_hosting_cheaper_above: bool | None
    """True when self-hosting wins above the crossing (the usual case)."""
    note: str


@dataclass(frozen=True)
class BreakevenResult:
    """Monthly cost of each platform at each volume, and the crossings."""

    self_platform: str
    costs: pd.DataFrame
    """Columns: factor, daily_volume, platform, per_month_usd, p5_usd, p95_usd (across
    replications), launched_share (launched over requested), queue_wait_mean_s, keeps_up
    (at least 99% launched and at most 1% still waiting to launch when the horizon ended)."""
    crossings: tuple[Crossing, ...]

    def plot(self, path: str | Path) -> Path:
        """Monthly cost against daily volume, per platform, with crossings marked (PNG)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, NullFormatter

        figure, axes = plt.subplots(figsize=(8, 5))
        axes.set_xscale("log")
        axes.set_yscale("log")
        for platform, rows in self.costs.groupby("platform", sort=False):
            style = "-" if platform == self.self_platform else "--"
            line = axes.plot(
                rows["daily_volume"], rows["per_month_usd"], style, marker="o", label=platform
            )[0]
            axes.fill_between(
                rows["daily_volume"],
                rows["p5_usd"],
                rows["p95_usd"],
                alpha=0.15,
                color=line.get_color(),
            )
            behind = rows[~rows["keeps_up"]]
            axes.plot(
                behind["daily_volume"],
                behind["per_month_usd"],
                "o",
                markerfacecolor="white",
                color=line.get_color(),
            )
        axes.relim()
        axes.autoscale_view()
        for crossing in self.crossings:
            if crossing.daily_volume is not None:
                axes.axvline(crossing.daily_volume, color="grey", linewidth=0.8, linestyle=":")
                axes.annotate(
                    f"{crossing.platform}: {crossing.daily_volume:,.0f}/day",
                    (crossing.daily_volume, axes.get_ylim()[0] * 1.1),
                    rotation=90,
                    fontsize=7,
                    va="bottom",
                    ha="right",
                )
        money = FuncFormatter(lambda value, _pos: f"${value:,.0f}")
        count = FuncFormatter(lambda value, _pos: f"{value:,.0f}")
        axes.xaxis.set_major_formatter(count)
        axes.xaxis.set_minor_formatter(NullFormatter())
        axes.yaxis.set_major_formatter(money)
        axes.set_xlabel("sandboxes (or sessions) requested per day")
        axes.set_ylabel("USD per 30-day month (P5-P95 band)")
        axes.text(
            0.99,
            0.01,
            "hollow: the platform fell behind (queue or rejections)",
            transform=axes.transAxes,
            fontsize=7,
            ha="right",
        )
        axes.set_title(f"Break-even: {self.self_platform} against managed platforms")
        axes.legend(fontsize=8)
        axes.grid(True, which="both", alpha=0.3)
        figure.tight_layout()
        target = Path(path)
        figure.savefig(target, dpi=120)
        plt.close(figure)
        return target


def _crossing(
    volumes: np.ndarray,
    own: np.ndarray,
    other: np.ndarray,
    platform: str,
    own_name: str = "self-hosting",
) -> Crossing:
    # below zero: self-hosting is cheaper. Costs cross along the ratio of the two (log
    # difference), or along their difference where a cost is zero (a plan's credit, an
    # unpriced fleet), whose log is infinite
    if np.all(own > 0) and np.all(other > 0):
        difference = np.log(own) - np.log(other)
    else:
        difference = own - other
    signs = np.sign(difference)
    for i in range(len(volumes) - 1):
        if signs[i] != signs[i + 1] and signs[i] != 0:
            x0, x1 = math.log(volumes[i]), math.log(volumes[i + 1])
            d0, d1 = difference[i], difference[i + 1]
            at = math.exp(x0 + (x1 - x0) * d0 / (d0 - d1))
            cheaper_above = bool(d1 < 0)
            side = "above" if cheaper_above else "below"
            return Crossing(
                platform, at, cheaper_above, f"{own_name} is cheaper {side} {at:,.0f} a day"
            )
        if signs[i] == 0:
            return Crossing(
                platform, float(volumes[i]), bool(np.all(signs[i + 1 :] < 0)), "equal cost"
            )
    if np.all(signs < 0):
        note = f"{own_name} is cheaper at every volume tried ({volumes[0]:,.0f}-{volumes[-1]:,.0f} a day)"
        return Crossing(platform, None, None, note)
    note = (
        f"{platform} is cheaper at every volume tried ({volumes[0]:,.0f}-{volumes[-1]:,.0f} a day)"
    )
    return Crossing(platform, None, None, note)


def breakeven(
    scenario: Scenario,
    self_platform: str,
    versus: Sequence[str],
    *,
    factors: Sequence[float] = DEFAULT_FACTORS,
    replications: int | None = None,
    pricing_dirs: Sequence[str | Path] = (),
    catalog: Catalog | None = None,
    progress: ProgressCallback | None = None,
) -> BreakevenResult:
    """Sweep the volume and find where ``self_platform`` (a fleet) crosses each of ``versus``."""
    by_id = {p.id: p for p in scenario.platforms}
    if self_platform not in by_id or by_id[self_platform].fleet is None:
        fleets = [p.id for p in scenario.platforms if p.fleet is not None]
        raise InputError(
            f"{self_platform!r} is not a self-hosted fleet of this scenario",
            source="--platform",
            fix=f"use one of: {', '.join(fleets)}" if fleets else "add a platform with a fleet",
        )
    scenario.only_platforms(list(dict.fromkeys(versus)), source="--vs")  # (known ids)
    others = list(dict.fromkeys(v for v in versus if v != self_platform))
    if not others:
        raise InputError(
            "name at least one platform to compare with, other than --platform",
            source="--vs",
            fix=f"use some of: {', '.join(p for p in by_id if p != self_platform)}",
        )
    # the same work on both sides, else the cheaper one may just do less of it
    own_work = frozenset(w.name for w in scenario.served_by(self_platform))
    for other in others:
        their_work = frozenset(w.name for w in scenario.served_by(other))
        if their_work != own_work:
            raise InputError(
                f"{self_platform} runs workloads {', '.join(sorted(own_work))} but {other} "
                f"runs {', '.join(sorted(their_work))}: their costs are of different work",
                source="--vs",
                fix=f"give platform {other!r} the same workloads as {self_platform!r} in the "
                "scenario (platforms[].workloads), or compare another platform",
            )
    ordered = sorted({float(f) for f in factors})
    if len(ordered) < 2 or not all(math.isfinite(f) and f > 0 for f in ordered):
        raise InputError(
            f"factors {', '.join(f'{f:g}' for f in factors)}: give at least two different "
            "finite factors above 0",
            source="--factors",
            fix="e.g. 0.25,1,4 (multiples of the scenario's volume)",
        )
    rows: list[dict[str, Any]] = []
    for step, factor in enumerate(ordered):
        scaled = scale_volume(scenario, factor)
        result = simulate(
            scaled,
            replications=replications,
            platforms=[self_platform, *others],
            pricing_dirs=pricing_dirs,
            catalog=catalog,
            keep_usage=False,
        )
        volume = daily_volume(scaled, own_work)
        costs = result.costs()
        for platform in [self_platform, *others]:
            monthly = costs.loc[costs["platform"] == platform, "per_month_usd"].to_numpy()
            metrics = [run.metrics for run in result.runs[platform]]
            requested = sum(m.requested for m in metrics)
            served = sum(m.launched for m in metrics) / requested if requested else 1.0
            late = sum(m.backlog_at_horizon for m in metrics) / max(1, requested)
            wait = float(np.mean([m.queue_wait_s.mean for m in metrics]))
            rows.append(
                {
                    "factor": factor,
                    "daily_volume": volume,
                    "platform": platform,
                    "per_month_usd": float(monthly.mean()),
                    "p5_usd": float(np.percentile(monthly, 5)),
                    "p95_usd": float(np.percentile(monthly, 95)),
                    "launched_share": served,
                    "queue_wait_mean_s": wait,
                    "keeps_up": bool(served >= 0.99 and late <= 0.01),
                }
            )
        if progress is not None:
            progress(step + 1, len(ordered))
    frame = pd.DataFrame(rows)
    own = frame[frame["platform"] == self_platform]
    crossings = []
    for platform in others:
        theirs = frame[frame["platform"] == platform]
        crossing = _crossing(
            own["daily_volume"].to_numpy(),
            own["per_month_usd"].to_numpy(),
            theirs["per_month_usd"].to_numpy(),
            platform,
            # (against another fleet, both are self-hosting: name the one)
            self_platform if by_id[platform].fleet is not None else "self-hosting",
        )
        behind = theirs.loc[~theirs["keeps_up"], "daily_volume"]
        if not behind.empty:
            note = (
                f"{crossing.note}; {platform} falls behind from {behind.min():,.0f} a day "
                "(rejections or a growing queue), so its cost there is of the work it served"
            )
            crossing = Crossing(
                crossing.platform, crossing.daily_volume, crossing.self_hosting_cheaper_above, note
            )
        crossings.append(crossing)
    return BreakevenResult(self_platform, frame, tuple(crossings))
