"""Break-even: the daily volume above which a self-hosted fleet is cheaper than each
managed platform.

The volume of the workloads the fleet runs (the work compared) is scaled by a list of
factors (arrival rates, daily volumes and burst sizes; durations and shapes unchanged;
other workloads left as they are); at each volume the scenario is
simulated on the self-hosted platform and the managed ones with the same seed, so every
platform sees the same sampled workload. Where the monthly cost difference changes sign
between two volumes, the crossing is interpolated linearly in log volume and log cost;
the bracket is then simulated again at a few volumes between its ends (``refine``), as
costs bend where a fleet adds hosts, and the crossing is taken again on the finer grid.
Every crossing is reported (costs may cross twice: a managed plan's flat fee, a fleet's
step). The first crossing's uncertainty over replications is a bootstrap interval:
replications resampled together across volumes (each replication's workload is the same
across volumes and platforms), the crossing found again on each resample.
"""

from __future__ import annotations

import itertools
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
from .metrics import keeps_up, launched_share
from .runner import MAX_ACTIVATIONS, ProgressCallback, expected_activations, simulate
from .scenario import Scenario
from .units import DAY_S

DEFAULT_FACTORS: tuple[float, ...] = tuple(float(f) for f in np.geomspace(1 / 16, 16, 9))
"""Volume factors tried by default: 1/16x to 16x the scenario's volume."""
DEFAULT_REFINE = 3
"""Volumes simulated again between the ends of each crossing's bracket, by default."""
BOOTSTRAP_RESAMPLES = 2000
"""Resamples of the replications for the first crossing's interval."""
NOTED_WAIT_S = 60.0
"""A mean wait for capacity at least this long is named in a crossing's note."""


def scale_volume(
    scenario: Scenario, factor: float, workloads: frozenset[str] | None = None
) -> Scenario:
    """The scenario with every workload's request volume (of ``workloads`` alone, if
    given) multiplied by ``factor``."""
    if not factor > 0:
        raise InputError(
            f"a volume factor must be positive, not {factor!r}",
            source="--factors",
            fix="give factors such as 0.25,1,4",
        )
    scaled = []
    for index, workload in enumerate(scenario.workloads):
        arrivals = workload.arrivals
        if workloads is not None and workload.name not in workloads:
            scaled.append(workload)
            continue
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
        scaled.append(workload.model_copy(update={"arrivals": arrivals.model_copy(update=update)}))
    return scenario.with_overrides({"workloads": scaled}, flag="--factors")


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
    """Requests per day at the first crossing (None: no crossing within the volumes
    tried)."""
    self_hosting_cheaper_above: bool | None
    """True when self-hosting wins just above the first crossing (the usual case)."""
    note: str
    volumes: tuple[float, ...] = ()
    """Every crossing, from the lowest volume up (the costs swap at each)."""
    interval: tuple[float, float] | None = None
    """95% bootstrap interval of the first crossing over replications (None: one
    replication, or no crossing)."""
    crossed_share: float | None = None
    """Share of the bootstrap resamples whose first crossing goes the way the estimate's
    does (None: not resampled)."""


@dataclass(frozen=True)
class BreakevenResult:
    """Monthly cost of each platform at each volume, and the crossings."""

    self_platform: str
    costs: pd.DataFrame
    """Columns: factor, daily_volume, platform, per_month_usd, p5_usd, p95_usd (across
    replications), launched_share (launched over requested), queue_wait_mean_s, keeps_up
    (at least 99% launched and at most 1% still waiting to launch when the horizon
    ended), refined (a volume added inside a crossing's bracket, simulated on the fleet
    and the platforms it crosses there only). Rows by factor."""
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
            for volume in crossing.volumes:  # every crossing, as the note gives them
                axes.axvline(volume, color="grey", linewidth=0.8, linestyle=":")
                axes.annotate(
                    f"{crossing.platform}: {volume:,.0f}/day",
                    (volume, axes.get_ylim()[0] * 1.1),
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
        others = [p for p in dict.fromkeys(self.costs["platform"]) if p != self.self_platform]
        axes.set_title(f"Break-even: {self.self_platform} against {', '.join(others)}")
        axes.legend(fontsize=8)
        axes.grid(True, which="both", alpha=0.3)
        figure.tight_layout()
        target = Path(path)
        figure.savefig(target, dpi=120)
        plt.close(figure)
        return target


def _cost_difference(own: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Below zero where self-hosting is cheaper, at the two ends of a bracket. Costs
    cross along the ratio of the two (log difference), or along their difference where a
    cost is zero (a plan's credit, an unpriced fleet), whose log is infinite."""
    if np.all(own > 0) and np.all(other > 0):
        return np.asarray(np.log(own) - np.log(other))
    return np.asarray(own - other, dtype=np.float64)


def _crossings(volumes: np.ndarray, own: np.ndarray, other: np.ndarray) -> list[tuple[float, bool]]:
    """Every volume where the costs swap, interpolated linearly in log volume and in
    the bracket's cost difference (a run of exact ties between two opposite signs
    crosses at its first), and whether self-hosting is the cheaper one above it."""
    signs = np.sign(own - other)
    nonzero = np.flatnonzero(signs)
    found = []
    for a, b in itertools.pairwise(nonzero.tolist()):
        if signs[a] == signs[b]:
            continue
        if b == a + 1:
            x0, x1 = math.log(volumes[a]), math.log(volumes[b])
            # (each bracket on its own: a zero cost elsewhere does not move it)
            d0, d1 = _cost_difference(own[[a, b]], other[[a, b]])
            if d0 == d1:  # costs a rounding apart: their logs are equal, their signs not
                d0, d1 = own[a] - other[a], own[b] - other[b]
            at = math.exp(x0 + (x1 - x0) * d0 / (d0 - d1))
        else:
            at = float(volumes[a + 1])
        found.append((at, bool(signs[b] < 0)))
    return found


def _crossing(
    volumes: np.ndarray,
    own: np.ndarray,
    other: np.ndarray,
    platform: str,
    own_name: str = "self-hosting",
) -> Crossing:
    """Where ``own`` (the fleet's monthly costs at ``volumes``) and ``other`` cross, and a
    note saying over which volumes each is cheaper."""
    signs = np.sign(own - other)
    tried = f"{volumes[0]:,.0f}-{volumes[-1]:,.0f} a day"
    ties = [float(v) for v, sign in zip(volumes, signs, strict=True) if sign == 0]
    tied = f" (equal at {', '.join(f'{v:,.0f}' for v in ties)} a day)" if ties else ""
    nonzero = signs[signs != 0]
    if nonzero.size == 0:
        return Crossing(platform, None, None, f"equal cost at every volume tried ({tried})")
    found = [at for at, _ in _crossings(volumes, own, other)]
    if not found:
        cheaper = own_name if nonzero[0] < 0 else platform
        return Crossing(
            platform, None, None, f"{cheaper} is cheaper at every volume tried ({tried}){tied}"
        )
    # the stretches where self-hosting is cheaper, between crossings (open at the ends)
    bounds: list[float | None] = [None, *found, None]
    own_first = nonzero[0] < 0
    stretches = []
    for i in range(len(bounds) - 1):
        if (i % 2 == 0) != own_first:
            continue
        low, high = bounds[i], bounds[i + 1]
        if low is None and high is not None:
            stretches.append(f"below {high:,.0f}")
        elif high is None and low is not None:
            stretches.append(f"above {low:,.0f}")
        elif low is not None and high is not None:
            stretches.append(f"between {low:,.0f} and {high:,.0f}")
    note = f"{own_name} is cheaper {' and '.join(stretches)} a day{tied}"
    return Crossing(platform, found[0], not own_first, note, tuple(found))


def _bootstrap_interval(
    volumes: np.ndarray,
    own: np.ndarray,
    other: np.ndarray,
    own_cheaper_above: bool,
    seed: int,
) -> tuple[tuple[float, float] | None, float | None]:
    """95% interval of the first crossing over replications, and the share of resamples
    in which the costs crossed that way. ``own`` and ``other``: monthly cost per volume
    (rows) and replication (columns), a replication the same workload at every volume;
    replications are resampled together across volumes and both platforms. On each
    resample its first crossing counts if it goes the same way as the estimate's
    (``own_cheaper_above``): a later crossing, the other way, is another quantity."""
    replications = own.shape[1]
    if replications < 2:
        return None, None
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, replications, size=(BOOTSTRAP_RESAMPLES, replications))
    found = []
    for pick in picks:
        crossings = _crossings(volumes, own[:, pick].mean(1), other[:, pick].mean(1))
        if crossings and crossings[0][1] == own_cheaper_above:
            found.append(crossings[0][0])
    share = len(found) / BOOTSTRAP_RESAMPLES
    if not found:
        return None, share
    low, high = np.percentile(found, [2.5, 97.5])
    return (float(low), float(high)), share


def _paired(frame: pd.DataFrame, self_platform: str, platform: str) -> pd.DataFrame:
    """Factor, daily volume and both monthly costs (``own``, ``other``) at every volume
    simulated on both platforms, from the lowest volume up."""
    own = frame.loc[frame["platform"] == self_platform, ["factor", "daily_volume", "per_month_usd"]]
    other = frame.loc[frame["platform"] == platform, ["factor", "per_month_usd"]]
    pair = own.merge(other, on="factor", suffixes=("_own", "_other"))
    pair = pair.rename(columns={"per_month_usd_own": "own", "per_month_usd_other": "other"})
    return pair.sort_values("factor").reset_index(drop=True)


def breakeven(
    scenario: Scenario,
    self_platform: str,
    versus: str | Sequence[str],
    *,
    factors: Sequence[float] = DEFAULT_FACTORS,
    replications: int | None = None,
    pricing_dirs: Sequence[str | Path] = (),
    catalog: Catalog | None = None,
    progress: ProgressCallback | None = None,
    refine: int = DEFAULT_REFINE,
) -> BreakevenResult:
    """Sweep the volume and find where ``self_platform`` (a fleet) crosses each of
    ``versus``; ``refine``: volumes simulated again inside each crossing's bracket (0:
    none), on the fleet and that platform. ``versus``: platform ids, or one id."""
    if isinstance(versus, str):  # (a string is a sequence too: of one-letter ids)
        versus = [versus]
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
    # the largest volume checked before the smaller ones are simulated, and named as the
    # factor's doing (the runner would blame the scenario's horizon)
    largest_scaled = scale_volume(scenario, ordered[-1], own_work)
    activations = expected_activations(largest_scaled)
    if activations > MAX_ACTIVATIONS:
        # only the compared work scales: the other workloads' launches stay as they are
        scaled = expected_activations(largest_scaled, own_work)
        room = MAX_ACTIVATIONS - (activations - scaled)
        horizon = "shorten the scenario's horizon (the per-month figures are read from it)"
        raise InputError(
            f"factor {ordered[-1]:g} asks for about {activations:,.0f} sandbox launches per "
            f"replication, more than the {MAX_ACTIVATIONS:,} one replication can simulate "
            "in memory",
            source="--factors",
            fix=f"keep the factors below about {ordered[-1] * room / scaled:.3g}, or {horizon}"
            if room > 0
            else horizon,
        )
    platforms = [self_platform, *others]
    rows: list[dict[str, Any]] = []
    by_replication: dict[tuple[float, str], np.ndarray] = {}
    """Monthly cost per replication, by factor and platform."""

    def sweep(factor: float, which: list[str]) -> None:
        """Simulate the scenario scaled by ``factor`` on the platforms ``which``."""
        scaled = scale_volume(scenario, factor, own_work)  # (the work compared)
        result = simulate(
            scaled,
            replications=replications,
            platforms=which,
            pricing_dirs=pricing_dirs,
            catalog=catalog,
            keep_usage=False,
        )
        volume = daily_volume(scaled, own_work)
        costs = result.costs().sort_values("replication")
        for platform in which:
            monthly = costs.loc[costs["platform"] == platform, "per_month_usd"].to_numpy()
            by_replication[factor, platform] = monthly
            metrics = [run.metrics for run in result.runs[platform]]
            wait = float(np.mean([m.queue_wait_s.mean for m in metrics]))
            rows.append(
                {
                    "factor": factor,
                    "daily_volume": volume,
                    "platform": platform,
                    "per_month_usd": float(monthly.mean()),
                    "p5_usd": float(np.percentile(monthly, 5)),
                    "p95_usd": float(np.percentile(monthly, 95)),
                    "launched_share": launched_share(metrics),
                    "queue_wait_mean_s": wait,
                    "keeps_up": keeps_up(metrics),
                    "refined": factor not in ordered,
                }
            )

    # the volumes asked for, then more volumes inside each crossing's bracket
    extra: dict[float, set[str]] = {}
    steps = len(ordered)
    for step, factor in enumerate(ordered):
        sweep(factor, platforms)
        if progress is not None:
            progress(step + 1, steps)
    if refine > 0:
        frame = pd.DataFrame(rows)
        for platform in others:
            pair = _paired(frame, self_platform, platform)
            signs = np.sign(pair["own"].to_numpy() - pair["other"].to_numpy())
            factors_of = pair["factor"].to_numpy()
            for i in range(len(signs) - 1):
                if signs[i] * signs[i + 1] < 0:  # a bracket (ties are crossings already)
                    for inner in np.geomspace(factors_of[i], factors_of[i + 1], refine + 2)[1:-1]:
                        extra.setdefault(float(inner), set()).add(platform)
        for step, (factor, which) in enumerate(sorted(extra.items())):
            sweep(factor, [self_platform, *sorted(which)])
            if progress is not None:
                progress(steps + step + 1, steps + len(extra))
    frame = pd.DataFrame(rows).sort_values("factor", kind="stable").reset_index(drop=True)
    crossings = []
    for platform in others:
        pair = _paired(frame, self_platform, platform)
        volumes = pair["daily_volume"].to_numpy()
        crossing = _crossing(
            volumes,
            pair["own"].to_numpy(),
            pair["other"].to_numpy(),
            platform,
            # (against another fleet, both are self-hosting: name the one)
            self_platform if by_id[platform].fleet is not None else "self-hosting",
        )
        notes = [crossing.note]
        interval, share = None, None
        if crossing.daily_volume is not None:
            simulated = pair["factor"].tolist()
            interval, share = _bootstrap_interval(
                volumes,
                np.array([by_replication[f, self_platform] for f in simulated]),
                np.array([by_replication[f, platform] for f in simulated]),
                bool(crossing.self_hosting_cheaper_above),
                scenario.seed,
            )
            if interval is not None:
                notes.append(
                    f"95% interval of the first crossing over replications "
                    f"{interval[0]:,.0f}-{interval[1]:,.0f}"
                )
            if share is not None and share < 0.95:
                notes.append(
                    f"the costs first crossed this way in only {share:.0%} of bootstrap resamples"
                )
        for name, rows_of in (
            (self_platform, frame[frame["platform"] == self_platform]),
            (platform, frame[frame["platform"] == platform]),
        ):
            behind = rows_of.loc[~rows_of["keeps_up"], "daily_volume"]
            if not behind.empty:
                notes.append(
                    f"{name} falls behind from {behind.min():,.0f} a day (rejections or a "
                    "growing queue), so its cost there is of the work it served"
                )
            waits = rows_of.loc[rows_of["queue_wait_mean_s"] >= NOTED_WAIT_S]
            if not waits.empty:
                first = waits.iloc[0]
                notes.append(
                    f"sandboxes wait {first['queue_wait_mean_s']:,.0f} s on average for "
                    f"capacity on {name} at {first['daily_volume']:,.0f} a day"
                )
        crossings.append(
            Crossing(
                crossing.platform,
                crossing.daily_volume,
                crossing.self_hosting_cheaper_above,
                "; ".join(notes),
                crossing.volumes,
                interval,
                share,
            )
        )
    return BreakevenResult(self_platform, frame, tuple(crossings))
