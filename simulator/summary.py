"""summary.json and line_items.csv: the documented output contract (docs/outputs.md).

Cost quantiles are across replications; latency quantiles are across all sandboxes of
all replications. The file holds no wall-clock time, so the same scenario and seed
give a byte-identical summary.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from . import __version__
from .billing import POOL_SUFFIX
from .catalog import file_sha256
from .fleet_billing import host_costs, purchase_of
from .fleet_metrics import RESOURCES, FleetMetrics, hosts_over_time
from .metrics import CDF_POINTS, KEEPS_UP_SHARE, backlog_share, cut_share
from .pricing import COMPONENTS
from .sketch import LogSketch
from .units import DAY_S, MONTH_S, format_duration

if TYPE_CHECKING:
    from .forecast import ForecastResult
    from .runner import SimulationResult

SCHEMA_VERSION = "1.0"


def _number(value: float) -> float | None:
    """A JSON-safe float (NaN and infinities become null)."""
    return float(value) if math.isfinite(value) else None


def _quantiles(values: np.ndarray, names: dict[str, float]) -> dict[str, float | None]:
    if values.size == 0:
        return dict.fromkeys(names)
    picked = np.quantile(values, list(names.values()))
    return {name: _number(v) for name, v in zip(names, picked, strict=True)}


def _sketch_quantiles(sketch: LogSketch, names: dict[str, float]) -> dict[str, float | None]:
    return {name: _number(sketch.quantile(q)) for name, q in names.items()}


def cost_band(values: np.ndarray) -> dict[str, Any]:
    """Mean, P5, P50, P95 across replications and a 95% confidence interval of the mean
    (Student's t; cut at 0 when no replication cost less, as with few replications the
    interval of a cost can reach below it)."""
    band: dict[str, Any] = {"mean": _number(float(values.mean()))}
    band.update(_quantiles(values, {"p5": 0.05, "p50": 0.5, "p95": 0.95}))
    if values.size > 1:
        half = stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
        low = band["mean"] - half
        if values.min() >= 0:
            low = max(low, 0.0)
        band["mean_ci95"] = [_number(low), _number(band["mean"] + half)]
    else:
        band["mean_ci95"] = None
    return band


def _platform_summary(result: SimulationResult, platform_id: str) -> dict[str, Any]:
    resolved = result.platform(platform_id)
    runs = result.runs[platform_id]
    metrics = [run.metrics for run in runs]
    ttr = reduce(LogSketch.merge, [m.time_to_ready_s for m in metrics])
    wait = reduce(LogSketch.merge, [m.queue_wait_s for m in metrics])
    rate_wait = reduce(LogSketch.merge, [m.rate_limit_wait_s for m in metrics])
    per_month = MONTH_S / result.scenario.horizon
    horizon_costs = np.array([run.line_items["cost_usd"].sum() for run in runs])
    items = result.line_items()
    items = items[items["platform"] == platform_id]
    replications = len(runs)

    def split(column: str, keys: list[str]) -> dict[str, dict[str, float | None]]:
        totals = items.groupby(column)["cost_usd"].sum() / replications
        return {
            str(key): {
                "horizon": _number(float(totals.get(key, 0.0))),
                "per_month": _number(float(totals.get(key, 0.0)) * per_month),
            }
            for key in keys
        }

    workloads = [result.scenario.workloads[i] for i in resolved.workload_indices]
    session_runs = [m.sessions for m in metrics if m.sessions is not None]
    sessions: dict[str, Any] | None = None
    if session_runs:
        waiting = np.concatenate([s.waiting_s for s in session_runs])
        span = np.concatenate([s.span_s for s in session_runs])
        count = sum(s.count for s in session_runs)
        session_cost = float(
            items[items["workload"].isin([w.name for w in workloads if w.session is not None])][
                "cost_usd"
            ].sum()
        )
        sessions = {
            "mode": resolved.session_mode,
            "count": count / replications,
            "activations_per_session": sum(s.activations for s in session_runs) / count,
            "failed": sum(s.failed for s in session_runs) / replications,
            "waiting_s": {
                "mean": _number(float(waiting.mean())),
                **_quantiles(waiting, {"p50": 0.5, "p95": 0.95}),
            },
            "span_s": {
                "mean": _number(float(span.mean())),
                **_quantiles(span, {"p50": 0.5, "p95": 0.95}),
            },
            "cost_usd_per_session": _number(session_cost / count) if count else None,
        }
    rate = resolved.launch_rate
    return {
        "profile": resolved.profile.id,
        "price_table": resolved.priced_by,
        "plan": resolved.plan,
        "launch_mode": resolved.launch_mode,
        "session_mode": resolved.session_mode,
        "quota": resolved.quota,
        "vcpu_quota": resolved.vcpu_quota,
        "gpu_quota": resolved.gpu_quota,
        "over_quota": resolved.over_quota,
        "queue_timeout_s": resolved.queue_timeout_s,
        "launch_rate": {"per_second": rate.per_second, "burst": rate.burst} if rate else None,
        "max_lifetime_s": resolved.max_lifetime_s,
        "discount": {"name": resolved.discount.name, "fraction": resolved.discount.fraction},
        "shapes": {
            w.name: resolved.shapes[i].describe()  # type: ignore[union-attr]
            for i, w in zip(resolved.workload_indices, workloads, strict=True)
        },
        "engine": {
            "event": sum(run.engine_path == "event" for run in runs),
            "vector": sum(run.engine_path == "vector" for run in runs),
        },
        "sandboxes": {
            "requested": float(np.mean([m.requested for m in metrics])),
            "launched": float(np.mean([m.launched for m in metrics])),
            "rejected": float(np.mean([m.rejected for m in metrics])),
            "timed_out": float(np.mean([m.timed_out for m in metrics])),
            "abandoned": float(np.mean([m.abandoned for m in metrics])),
        },
        "time_to_ready_s": {
            "mean": _number(ttr.mean),
            **_sketch_quantiles(ttr, {"p50": 0.5, "p95": 0.95, "p99": 0.99}),
            "max": _number(ttr.maximum) if ttr.count else None,
        },
        "queue_wait_s": {
            "mean": _number(wait.mean),
            **_sketch_quantiles(wait, {"p95": 0.95}),
            "p_wait": _number(wait.share_positive),
        },
        "rate_limit_wait_s": {
            "mean": _number(rate_wait.mean),
            **_sketch_quantiles(rate_wait, {"p95": 0.95}),
        },
        "concurrency": {
            "mean": float(np.mean([m.concurrency_mean for m in metrics])),
            "peak": int(max(m.concurrency_peak for m in metrics)),
        },
        "queue_length": {
            "mean": float(np.mean([m.queue_mean for m in metrics])),
            "peak": int(max(m.queue_peak for m in metrics)),
        },
        "sessions": sessions,
        "launch": {
            key: float(np.mean([(m.launches or {}).get(key, 0) for m in metrics]))
            for key in (
                "warm_hits",
                "snapshot_restores",
                "cold_boots",
                "resumes",
                "cache_misses",
                "fetches",
            )
        },
        "burst": _bursts(metrics),
        **_fleet_summary(resolved, metrics, per_month, items, replications),
        "pool": _pool(resolved, metrics, items, replications, per_month),
        "cost_usd": {
            "horizon": cost_band(horizon_costs),
            "per_month": cost_band(horizon_costs * per_month),
            "by_component": split("component", list(COMPONENTS)),
            "by_workload": split("workload", [w.name for w in workloads]),
            "by_team": split("team", sorted({w.team for w in workloads})),
        },
    }


def _mean_of(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return _number(float(np.mean(present))) if present else None


def _fleet_summary(
    resolved: Any, metrics: list[Any], per_month: float, items: pd.DataFrame, replications: int
) -> dict[str, Any]:
    """``hosts``, ``utilisation``, ``stranded``, ``stranded_while_waiting`` and ``fleet``
    of a self-hosted platform (all None for a managed one): each replication's figure
    (ratios included) averaged over replications, but the peak, the largest in any."""
    fleets = [m.fleet for m in metrics if m.fleet is not None]
    if resolved.fleet is None or not fleets:
        return {
            "hosts": None,
            "utilisation": None,
            "stranded": None,
            "stranded_while_waiting": None,
            "fleet": None,
        }
    spec = resolved.fleet.spec
    wait = reduce(LogSketch.merge, [m.queue_wait_s for m in metrics])
    launched = dict.fromkeys(items["workload"].unique(), 0.0)
    for m in metrics:
        for name, count in (m.launched_by_workload or {}).items():
            launched[name] = launched.get(name, 0.0) + count
    held = items[items["component"] != "idle"].groupby("workload")["cost_usd"].sum()
    showback = {
        str(name): _number(float(cost) / launched[name]) if launched.get(name) else None
        for name, cost in held.items()
    }
    purchases = sorted({p for f in fleets for p in f.host_hours_by_purchase})
    host_cost = [host_costs(f.record, resolved.fleet)[1] for f in fleets]
    by_purchase = {}
    for purchase in purchases:
        costs = []
        for f, cost in zip(fleets, host_cost, strict=True):
            chosen = np.array([p == purchase for p in f.record.purchase])
            costs.append(float(cost[chosen].sum()))
        price = purchase_of(resolved.fleet, purchase)
        # hosts neither committed nor spot go by the price they were bought at (an
        # inventory may be reserved); costs after the platform's discount, as cost_usd
        by_purchase[purchase if purchase in ("committed", "spot") else price] = {
            "price": price,
            "host_hours": _number(
                float(np.mean([f.host_hours_by_purchase.get(purchase, 0.0) for f in fleets]))
            ),
            "cost_usd_per_month": _number(
                float(np.mean(costs)) * (1.0 - resolved.discount.fraction) * per_month
            ),
        }
    return {
        "hosts": {
            "type": resolved.fleet.label,
            "mean": _number(float(np.mean([f.mean_hosts for f in fleets]))),
            "peak": int(max(f.peak_hosts for f in fleets)),
            "host_hours": _number(float(np.mean([f.host_hours for f in fleets]))),
            "host_hours_per_month": _number(
                float(np.mean([f.host_hours for f in fleets])) * per_month
            ),
            "by_purchase": by_purchase,
        },
        "utilisation": {r: _mean_of([f.utilisation[r] for f in fleets]) for r in RESOURCES},
        "stranded": {r: _mean_of([f.stranded[r] for f in fleets]) for r in RESOURCES},
        "stranded_while_waiting": {
            r: _mean_of([f.stranded_while_waiting[r] for f in fleets]) for r in RESOURCES
        },
        "fleet": {
            "host_prices": resolved.fleet.table.id,
            "placement": spec.placement,
            # one kind of host (an autoscaled type, or an inventory of one kind): its room
            "capacity_per_host": None
            if len(resolved.fleet.kinds) > 1
            else {
                "vcpu": resolved.fleet.capacity[0],
                "memory_gib": resolved.fleet.capacity[1],
                "gpus": resolved.fleet.kinds[0].gpus,
            },
            "inventory": _inventory(resolved.fleet),
            "gpu_hours": _number(float(np.mean([f.gpu_hours for f in fleets]))),
            "packing_efficiency": _mean_of([f.packing_efficiency for f in fleets]),
            "boots": float(np.mean([f.boots for f in fleets])),
            "interruptions": float(np.mean([f.interruptions for f in fleets])),
            "lost_sandboxes": float(np.mean([f.lost_sandboxes for f in fleets])),
            "given_up_sandboxes": float(np.mean([f.given_up_sandboxes for f in fleets])),
            "wait_for_capacity_s": {
                "mean": _number(wait.mean),
                **_sketch_quantiles(wait, {"p95": 0.95, "p99": 0.99}),
                "p_wait": _number(wait.share_positive),
            },
            "showback_usd_per_sandbox": showback,
        },
    }


def _pool(
    resolved: Any, metrics: list[Any], items: pd.DataFrame, replications: int, per_month: float
) -> dict[str, Any] | None:
    """Warm pools: how often a launch found a sandbox ready, and what the idle time cost."""
    if not resolved.choice.pools:
        return None
    launches = [m.launches or {} for m in metrics]
    warm = sum(x.get("warm_hits", 0) for x in launches)
    cold = sum(x.get("cold_boots", 0) for x in launches)
    main = warm + cold + sum(x.get("snapshot_restores", 0) for x in launches)
    idle_cost = (
        float(items[items["item"].str.endswith(POOL_SUFFIX)]["cost_usd"].sum()) / replications
    )
    return {
        "warm_hit_ratio": _number(warm / main) if main else None,
        "cold_start_share": _number(cold / main) if main else None,
        "idle_sandbox_hours": float(np.mean([m.pool_idle_s for m in metrics])) / 3600.0,
        "idle_cost_usd": {
            "horizon": _number(idle_cost),
            "per_month": _number(idle_cost * per_month),
        },
    }


def _bursts(metrics: list[Any]) -> dict[str, Any]:
    """Per burst workload: readiness times averaged over replications, the CDF, the bottleneck."""
    names = sorted({name for m in metrics for name in (m.bursts or {})})
    out: dict[str, Any] = {}
    for name in names:
        runs = [m.bursts[name] for m in metrics if m.bursts and name in m.bursts]
        keys = dict.fromkeys(key for r in runs for key in r.waits_s)  # (none if none ready)
        waits = {key: float(np.mean([r.waits_s.get(key, 0.0) for r in runs])) for key in keys}
        bottlenecks = sorted({r.bottleneck for r in runs})
        out[name] = {
            "requested": float(np.mean([r.requested for r in runs])),
            "ready": float(np.mean([r.ready for r in runs])),
            "t_first_ready_s": _number(float(np.mean([r.t_first_ready_s for r in runs]))),
            "t50_ready_s": _number(float(np.mean([r.t50_ready_s for r in runs]))),
            "t99_ready_s": _number(float(np.mean([r.t99_ready_s for r in runs]))),
            "t_all_ready_s": _number(float(np.mean([r.t_all_ready_s for r in runs]))),
            "cdf_s": {
                f"p{round(q * 100)}": _number(float(v))
                for q, v in zip(CDF_POINTS, np.mean([r.cdf_s for r in runs], axis=0), strict=True)
            },
            "waits_s": waits,
            "bottleneck": bottlenecks[0] if len(bottlenecks) == 1 else bottlenecks,
        }
    return out


def _profiles_summary(result: SimulationResult) -> dict[str, Any]:
    profiles = {}
    for resolved in result.platforms:
        path = result.catalog.file_of(f"platform:{resolved.profile.id}")
        profiles[resolved.profile.id] = {
            "name": resolved.profile.name,
            "file_sha256": file_sha256(path) if path else None,
        }
    return dict(sorted(profiles.items()))


def inputs_hash(summary: dict[str, Any]) -> str:
    """SHA-256 over everything a run read: the scenario and its data, every price table
    and platform profile file. Equal hashes (and versions) mean equal inputs."""
    payload = {
        "scenario": summary["scenario_hash"],
        "pricing": {k: v["file_sha256"] for k, v in summary["pricing"].items()},
        "platform_profiles": {k: v["file_sha256"] for k, v in summary["platform_profiles"].items()},
        "seed": summary["seed"],
        "replications": summary["replications"],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _pricing_summary(result: SimulationResult) -> dict[str, Any]:
    """Every price table a platform's bill uses, by id (a fleet's host table as
    ``hosts:<id>``; the per-sandbox table a fleet resolved to but never bills with is left
    out). ``assumed`` of a host table gathers the assumed figures of every fleet it prices,
    whatever the other platforms of the run."""
    tables: dict[str, dict[str, Any]] = {}
    host_assumed: dict[str, set[str]] = {}
    for resolved in result.platforms:
        if resolved.fleet is None:
            table = resolved.price_table
            path = result.catalog.file_of(f"pricing:{table.id}")
            tables[table.id] = {
                "name": table.name,
                "offering": table.offering,
                "region": table.region,
                "as_of": table.as_of,
                "currency": table.currency,
                "assumed": table.assumed_items,
                "file_sha256": file_sha256(path) if path else None,
            }
            continue
        hosts = resolved.fleet.table
        key = resolved.priced_by
        host_assumed.setdefault(key, set()).update(_assumed_host_prices(resolved))
        host_path = result.catalog.file_of(f"hosts:{hosts.id}")
        tables[key] = {
            "name": hosts.name,
            "offering": "hosts",
            "region": hosts.region,
            "as_of": hosts.as_of,
            "currency": hosts.currency,
            "assumed": sorted(host_assumed[key]),
            "file_sha256": file_sha256(host_path) if host_path else None,
        }
    return dict(sorted(tables.items()))


def _inventory(fleet: Any) -> dict[str, int] | None:
    """Hosts of a fixed inventory by kind (None for an autoscaled fleet)."""
    if not fleet.fixed:
        return None
    counts = np.bincount(np.asarray(fleet.inventory), minlength=len(fleet.kinds))
    return dict(
        sorted((kind.name, int(count)) for kind, count in zip(fleet.kinds, counts, strict=True))
    )


def _assumed_host_prices(resolved: Any) -> list[str]:
    """Host prices and figures of a fleet that are assumptions."""
    fleet = resolved.fleet
    spec = fleet.spec
    # the prices the hosts are bought at: how the fleet buys them, plus its commitment
    # and spot if it has such hosts (an inventory bought reserved_1y, the default
    # commitment, was dropped with the commitment it does not have)
    bought = ["on_demand"]
    if spec.committed_hosts:
        bought.append("committed")
    if spec.spot_share > 0:
        bought.append("spot")
    used = {purchase_of(fleet, p) for p in bought}
    items = [f"{kind.name}:{p}" for kind in fleet.kinds for p in sorted(used & kind.assumed_prices)]
    if fleet.table.cost_split.assumed:
        items.append("cost_split")
    return items


def assumed_rates_used(resolved: Any) -> list[str]:
    """The assumed rates (not published figures) among those a platform's bill uses: its
    price table's billing rules, rates, GPU types, plan and discount that apply, or a
    fleet's host prices (see ``_assumed_host_prices``)."""
    if resolved.fleet is not None:
        return _assumed_host_prices(resolved)
    used = {"billing", "vcpu", "memory", "requests", "free_tier"}
    if resolved.launch_mode == "snapshot":
        used.add("snapshot")
    used |= {f"gpu.{s.gpu_type}" for s in resolved.shapes if s is not None and s.gpu_type}
    if resolved.plan is not None:
        used.add(f"plans.{resolved.plan}")
    used.add(f"discounts.{resolved.discount.name}")
    return [item for item in resolved.price_table.assumed_items if item in used]


def _assumed_limits(resolved: Any) -> list[str]:
    """Names of a profile's limits and shapes whose figures are assumptions."""
    profile = resolved.profile
    items = [
        ("quota", profile.quota.provenance),
        ("launch rate", profile.launch_rate.provenance if profile.launch_rate else None),
        ("max lifetime", profile.max_lifetime.provenance if profile.max_lifetime else None),
        ("shapes", profile.shapes.provenance),
        (
            "pipeline",
            profile.pipeline.provenance if profile.pipeline and not resolved.fleet else None,
        ),
    ]
    return [name for name, provenance in items if provenance is not None and provenance.assumed]


def _platform_assumptions(resolved: Any) -> list[str]:
    """Notes on the assumed figures a platform's results rest on."""
    notes: list[str] = []
    assumed = resolved.price_table.assumed_items if resolved.fleet is None else []
    if resolved.fleet is not None and _assumed_host_prices(resolved):
        notes.append(
            f"{resolved.id}: assumed host figures ({', '.join(_assumed_host_prices(resolved))}) "
            f"in {resolved.fleet.table.id}"
        )
    if resolved.fleet is not None and not all(k.priced for k in resolved.fleet.kinds):
        unpriced = sum(
            not resolved.fleet.kinds[k].priced for k in (resolved.fleet.inventory or (0,))
        )
        notes.append(
            f"{resolved.id}: {unpriced} host(s) of the inventory have no price; the fleet's "
            "cost covers only the priced hosts (give usd_per_hour_column)"
        )
    overhead = resolved.profile.overhead
    if resolved.fleet is not None and overhead is not None and overhead.provenance.assumed:
        notes.append(f"{resolved.id}: assumed per-sandbox overhead of {resolved.profile.id}")
    if assumed:
        notes.append(
            f"{resolved.id}: assumed prices ({', '.join(assumed)}) in {resolved.price_table.id}"
        )
    parts = [p.name for p in resolved.launch_path.parts if p.provenance.assumed]
    if parts:
        notes.append(f"{resolved.id}: assumed launch latency parts ({', '.join(parts)})")
    limits = _assumed_limits(resolved)
    if limits:
        notes.append(f"{resolved.id}: assumed platform figures ({', '.join(limits)})")
    table_pools = resolved.price_table.pools if resolved.fleet is None else None
    provisioned = bool(
        table_pools is not None
        and (table_pools.warm_vcpu is not None or table_pools.warm_memory is not None)
    )
    if provisioned and getattr(resolved.choice, "pools", None):
        notes.append(
            f"{resolved.id}: its pools are provisioned concurrency, modelled as pools that keep "
            "their size idle and refill; provisioned concurrency also caps warm invocations at "
            "that size, which is not applied, so more may run warm (at the warm rate) than were "
            "provisioned"
        )
    for spec in getattr(resolved.choice, "pools", ()):
        billed, guessed = resolved.pool_billed_idle(spec)
        if guessed:
            table = resolved.price_table
            why = (
                "its price table gives no pool billing"
                if table.pools is None
                else f"{table.id} marks its pool billing assumed"
            )
            notes.append(
                f"{resolved.id}: the idle time of the {spec.template!r} pool is assumed "
                f"{'billed' if billed else 'free'} ({why}); set billed_idle on the pool "
                "to choose"
            )
    if resolved.launch_mode == "warm" and not getattr(resolved.choice, "pools", None):
        notes.append(
            f"{resolved.id}: warm launches assume an unlimited pre-started pool whose idle "
            "time is not billed; describe pools under the platform to count their cost"
        )
    return notes


def _assumption_warnings(result: Any) -> list[str]:
    """Assumed figures of every platform of a run or forecast."""
    return [note for resolved in result.platforms for note in _platform_assumptions(resolved)]


def short_horizon_warning(horizon_s: float) -> str | None:
    """What a reader must know when per-month figures repeat a horizon shorter than a day
    (None for a day or more)."""
    if horizon_s >= DAY_S:
        return None
    span = format_duration(horizon_s)
    return (
        f"the horizon of {span} is shorter than a day: per-month figures repeat it "
        f"{MONTH_S / horizon_s:,.4g} times to fill a 30-day month, as if what it holds (a "
        f"burst, or these hours of a daily profile) happened every {span}; simulate at "
        "least a day (horizon: 1d) for a monthly figure"
    )


BOOTING_NOTE_SHARE = 0.25
"""A fleet whose hosts spend more than this share of their time within the horizon
booting gets a note: that time is billed and runs nothing."""


def booting_share(fleets: Sequence[FleetMetrics]) -> float:
    """Share of the hosts' life within the horizon (summed over replications) spent
    booting: life from start to end (or the horizon) less the time hosts ran (or
    drained), which the running-host mean integrates. 0 with no host time."""
    life_s = running_s = 0.0
    for fleet in fleets:
        record = fleet.record
        life_s += float(np.maximum(record.billed_ends() - record.started_s, 0.0).sum())
        running_s += record.mean_hosts * record.span_s
    return max(0.0, 1.0 - running_s / life_s) if life_s > 0 else 0.0


def _warnings(result: SimulationResult) -> list[str]:
    horizon = result.scenario.horizon
    short = short_horizon_warning(horizon)
    notes = [short] if short is not None else []
    for resolved in result.platforms:
        notes.extend(_platform_assumptions(resolved))
        runs = result.runs[resolved.id]
        count = len(runs)
        cut = cut_share([run.metrics for run in runs])
        if cut > 0:
            stopped = sum(run.metrics.timed_out for run in runs)
            base = sum(run.metrics.requested for run in runs)
            cap = resolved.max_lifetime_s
            notes.append(
                f"{resolved.id}: a maximum lifetime"
                f"{f' of {cap / 60:g} min' if cap is not None else ''} stopped "
                f"{stopped / count:.4g} sandboxes per replication ({stopped / max(1, base):.3g} "
                f"of requested) and cut {cut:.3g} of the run time they asked for: "
                "that work is neither done nor billed here"
            )
        # sandboxes given up after losing spot hosts are counted as abandoned too: say
        # which is which
        given_up = sum(
            run.metrics.fleet.given_up_sandboxes for run in runs if run.metrics.fleet is not None
        )
        spot_cause = (
            f"were given up after losing their spot host more than "
            f"{resolved.fleet.spec.spot_max_restarts} times"
            if resolved.fleet is not None
            else ""
        )
        for total, what in (
            (sum(run.metrics.rejected for run in runs), "were rejected at the quota"),
            (sum(run.metrics.abandoned for run in runs) - given_up, "gave up waiting in the queue"),
            (given_up, spot_cause),
        ):
            if total:
                base = sum(run.metrics.requested for run in runs)
                notes.append(
                    f"{resolved.id}: {total / count:.4g} requests per replication "
                    f"({total / max(1, base):.3g} of requested) {what}"
                )
        booting = booting_share([run.metrics.fleet for run in runs if run.metrics.fleet])
        if booting > BOOTING_NOTE_SHARE:
            notes.append(
                f"{resolved.id}: {booting:.0%} of the hosts' time within the horizon was spent "
                "booting: billed, with no sandbox on them (see fleet.autoscaling.boot_time, "
                "and min_hosts or idle_cooldown to keep hosts up rather than boot them again)"
            )
        late = backlog_share([run.metrics for run in runs])
        if late > 1.0 - KEEPS_UP_SHARE:
            notes.append(
                f"{resolved.id}: {late:.3g} of requested sandboxes had not started "
                f"launching when the {horizon / 3600:g} h horizon ended: "
                "the platform cannot keep up with the demand (see rate_limit_wait_s and "
                "queue_wait_s), so the per-month spend assumes a backlog that keeps growing"
            )
    return notes


EXCLUDED = (
    "egress (data transfer out)",
    "storage beyond the platform's included disk",
    "support plans",
    "taxes",
    "volume-tier price breaks above the first tier",
)
"""What no bill of sandsim includes (docs/outputs.md, "How the bill is computed")."""
EXCLUDED_SELF_HOSTED = ("networking, storage and the staff who run the hosts",)


def coverage(platforms: Any, currency: str) -> dict[str, Any]:
    """Per platform: what its bill includes (components, free tier, plan, discount) and
    what it leaves out."""
    out: dict[str, Any] = {}
    for resolved in platforms:
        if resolved.fleet is not None:
            out[resolved.id] = {
                "priced_by": resolved.priced_by,
                "currency": currency,
                "included": [
                    f"host time of {resolved.fleet.spec.host_type} ({resolved.fleet.spec.purchase}"
                    f"{', committed hosts' if resolved.fleet.spec.committed_hosts else ''}), "
                    "idle hosts included"
                ],
                "free_tier": None,
                "plan": None,
                "discount": {
                    "name": resolved.discount.name,
                    "fraction": resolved.discount.fraction,
                },
                "excluded": [*EXCLUDED, *EXCLUDED_SELF_HOSTED],
            }
            continue
        table = resolved.price_table
        included = [
            name
            for name, rate in (
                ("vcpu", table.vcpu),
                ("memory", table.memory),
                ("requests", table.requests),
                ("snapshot", table.snapshot if resolved.launch_mode == "snapshot" else None),
            )
            if rate is not None
        ]
        gpus = sorted(
            {
                shape.gpu_type
                for shape in resolved.shapes
                if shape is not None and shape.gpu_type is not None
            }
        )
        included += [f"gpu:{g}" for g in gpus]
        if resolved.plan is not None:
            included.append(f"plan:{resolved.plan}")
        if resolved.choice.pools:
            included.append("warm pools' idle time where billed")
        tier = table.free_tier
        out[resolved.id] = {
            "priced_by": resolved.priced_by,
            "currency": currency,
            "included": included,
            "free_tier": None
            if tier is None
            else {
                "vcpu_seconds": tier.vcpu_seconds,
                "gib_seconds": tier.gib_seconds,
                "requests": tier.requests,
                "applied": "once per month, to the month's aggregate",
            },
            "plan": None
            if resolved.plan is None
            else {
                "name": resolved.plan,
                "fee_per_month": resolved.plan_fee_usd_per_month,
                "credit_per_month": resolved.plan_credit_usd_per_month,
            },
            "discount": {"name": resolved.discount.name, "fraction": resolved.discount.fraction},
            "excluded": list(EXCLUDED),
        }
    return out


def _header(result: Any, replications: int) -> dict[str, Any]:
    """The keys every summary.json starts with: versions, scenario identity, seed, units,
    price tables and platform profiles read."""
    scenario = result.scenario
    return {
        "schema_version": SCHEMA_VERSION,
        "sandsim_version": __version__,
        "scenario_name": scenario.name,
        "scenario_hash": scenario.content_hash(),
        "seed": scenario.seed,
        "replications": replications,
        "currency": scenario.currency,
        "units": {
            "time": "seconds",
            "money": scenario.currency,
            "month": "30 days",
            "memory": "GiB",
        },
        "pricing": _pricing_summary(result),
        "platform_profiles": _profiles_summary(result),
    }


def build_summary(result: SimulationResult) -> dict[str, Any]:
    """The summary.json document."""
    scenario = result.scenario
    summary = {
        **_header(result, scenario.replications),
        "horizon_s": scenario.horizon,
        "platforms": {pid: _platform_summary(result, pid) for pid in result.platform_ids},
        "coverage": coverage(result.platforms, scenario.currency),
        "warnings": _warnings(result),
        "scenario": scenario.resolved_dict(),
        "data_files": scenario.data_files(),
    }
    summary["inputs_hash"] = inputs_hash(summary)
    return summary


def build_forecast_summary(result: ForecastResult) -> dict[str, Any]:
    """The summary.json of `sandsim forecast`: the common header, ``forecast`` and
    ``budgets`` in place of ``platforms`` (docs/outputs.md)."""
    scenario = result.scenario
    header = _header(result, result.replications)
    header["units"]["month"] = "calendar month"
    summary = {
        **header,
        "forecast": result.summary_section(),
        "budgets": [check.as_dict() for check in result.check_budgets()],
        "coverage": coverage(result.platforms, scenario.currency),
        "warnings": [*_assumption_warnings(result), *result.warnings()],
        "scenario": scenario.resolved_dict(),
        "data_files": scenario.data_files(),
    }
    summary["inputs_hash"] = inputs_hash(summary)
    return summary


def summary_json(summary: dict[str, Any]) -> str:
    """Stable text of a summary (same input, same bytes)."""
    return json.dumps(summary, indent=2, allow_nan=False) + "\n"


def write_summary_and_table(
    out_dir: str | Path, summary: dict[str, Any], name: str, table: pd.DataFrame
) -> dict[str, Path]:
    """Write ``summary.json`` and ``<name>.csv`` into a folder (made if missing); returns
    their paths by ``summary`` and ``name``."""
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    summary_path = target / "summary.json"
    summary_path.write_text(summary_json(summary), encoding="utf-8")
    csv_path = target / f"{name}.csv"
    table.to_csv(csv_path, index=False, float_format="%.10g")
    return {"summary": summary_path, name: csv_path}


def write_outputs(result: SimulationResult, out_dir: Path) -> dict[str, Path]:
    """Write summary.json and line_items.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_path = out_dir / "summary.json"
    summary_path.write_text(summary_json(build_summary(result)), encoding="utf-8")
    items_path = out_dir / "line_items.csv"
    frame: pd.DataFrame = result.mean_line_items()
    frame.to_csv(items_path, index=False, float_format="%.10g")
    paths = {"summary": summary_path, "line_items": items_path}
    timelines = [
        hosts_over_time(run.metrics.fleet.record).assign(platform=pid)
        for pid, runs in result.runs.items()
        for run in runs[:1]
        if run.metrics.fleet is not None
    ]
    if timelines:
        hosts_path = out_dir / "hosts.csv"
        pd.concat(timelines, ignore_index=True).fillna(0).to_csv(
            hosts_path, index=False, float_format="%.10g"
        )
        paths["hosts"] = hosts_path
    return paths
