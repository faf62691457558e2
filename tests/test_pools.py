"""Warm pools: hits and misses, reuse and keep-alive, learned pre-warming, idle cost."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import simulator as ss
from support import scenario_dict, theory_catalog


def run_pool(
    pool: dict[str, Any],
    arrivals: dict[str, Any],
    *,
    horizon: str = "2h",
    duration: str = "10s",
    catalog: dict[str, Any] | None = None,
    replications: int = 1,
) -> ss.SimulationResult:
    workload = {
        "name": "w",
        "arrivals": arrivals,
        "duration": {"kind": "fixed", "value": duration},
        "shape": {"vcpu": 1, "memory": 1},
    }
    scenario = ss.scenario_from_dict(
        scenario_dict(
            horizon=horizon,
            replications=replications,
            workloads=[workload],
            platforms=[{"profile": "theory", "pools": [{"template": "w", **pool}]}],
        )
    )
    return ss.simulate(
        scenario, catalog=theory_catalog(**(catalog or {"latency_s": 5.0, "handover_s": 0.05}))
    )


def modes(result: ss.SimulationResult) -> np.ndarray:
    usage = result.runs["theory"][0].usage
    assert usage is not None
    return usage.launch_mode[np.argsort(usage.request_s, kind="stable")]


WARM, COLD = 2, 0


def test_fixed_pool_serves_a_burst_up_to_its_size() -> None:
    result = run_pool({"size": 4}, {"kind": "burst", "count": 10, "at": "10m"})
    launch = modes(result)
    assert (launch == WARM).sum() == 4
    assert (launch == COLD).sum() == 6
    usage = result.runs["theory"][0].usage
    assert usage is not None
    ttr = np.sort(usage.ready_s - usage.request_s)
    np.testing.assert_allclose(ttr[:4], 0.05)  # handed over
    np.testing.assert_allclose(ttr[4:], 5.0)  # cold


def test_pool_refills_between_spaced_requests() -> None:
    result = run_pool(
        {"size": 1}, {"kind": "burst", "count": 6, "at": "10m", "window": "6m", "spacing": "even"}
    )
    assert (modes(result) == WARM).all()  # one minute apart, the pool refills in 5 s
    summary = result.summary()["platforms"]["theory"]["pool"]
    assert summary["warm_hit_ratio"] == 1.0


def test_refill_rate_limits_the_pool() -> None:
    # 3 requests 2 s apart; the pool of 3 refills at one sandbox per minute
    result = run_pool(
        {"size": 3, "refill_per_second": 1 / 60},
        {"kind": "burst", "count": 3, "at": "30m", "window": "6s", "spacing": "even"},
    )
    assert (modes(result) == WARM).sum() == 3
    result = run_pool(
        {"size": 3, "refill_per_second": 1 / 60},
        {"kind": "burst", "count": 3, "at": "1m", "window": "6s", "spacing": "even"},
    )
    assert (modes(result) == WARM).sum() == 1  # only one refilled by the first minute


def test_bigger_pool_never_lowers_the_warm_hit_ratio() -> None:
    ratios = []
    for size in (0, 1, 2, 4, 8):
        result = run_pool({"size": size}, {"kind": "poisson", "per_hour": 900}, replications=2)
        ratios.append(result.summary()["platforms"]["theory"]["pool"]["warm_hit_ratio"])
    assert ratios == sorted(ratios)
    assert ratios[0] == 0.0
    assert ratios[-1] > 0.9


def test_idle_cost_of_a_fixed_pool() -> None:
    # a pool of 3 launched at 0 waits for one request at 2 h (handover 0.05 s, 10 s task):
    # one idles until 7200, two until the run ends at 7210.05, and the refill launched at
    # 7200 idles until then too: 7200 + 2 x 7210.05 + 10.05 sandbox-seconds
    result = run_pool(
        {"size": 3}, {"kind": "burst", "count": 1, "at": "2h", "window": "0s"}, horizon="2h1s"
    )
    pool = result.summary()["platforms"]["theory"]["pool"]
    expected = 7200 + 2 * 7210.05 + 10.05
    assert pool["idle_sandbox_hours"] == pytest.approx(expected / 3600, rel=1e-9)
    items = result.line_items()
    idle = items[items["item"] == "vcpu:pool-idle"]["quantity"].sum()
    assert idle == pytest.approx(expected, rel=1e-6)
    assert pool["idle_cost_usd"]["horizon"] == pytest.approx(idle * 1e-5, rel=1e-9)


def test_unbilled_pool_adds_no_line_items() -> None:
    result = run_pool({"size": 3, "billed_idle": False}, {"kind": "burst", "count": 1, "at": "1h"})
    items = result.line_items()
    assert not items["item"].str.endswith(":pool-idle").any()
    assert result.summary()["platforms"]["theory"]["pool"]["idle_sandbox_hours"] > 0


def test_keep_alive_reuses_a_finished_sandbox_within_its_ttl() -> None:
    close = run_pool(
        {"policy": "keep_alive", "size": 1, "reuse": 100, "ttl": "5m"},
        {"kind": "burst", "count": 5, "at": "1m", "window": "10m", "spacing": "even"},
    )
    assert (modes(close)[1:] == WARM).all()  # every 2 min, kept for 5 min
    assert modes(close)[0] == COLD
    far = run_pool(
        {"policy": "keep_alive", "size": 1, "reuse": 100, "ttl": "1m"},
        {"kind": "burst", "count": 5, "at": "1m", "window": "10m", "spacing": "even"},
    )
    assert (modes(far) == COLD).all()


def test_fresh_pool_never_reuses() -> None:
    result = run_pool(
        {"size": 1}, {"kind": "burst", "count": 5, "at": "10m", "window": "10m", "spacing": "even"}
    )
    usage = result.runs["theory"][0].usage
    assert usage is not None
    assert usage.pool_idle is not None
    # every hit took a sandbox launched for the pool (one idle stretch per launch, none after tasks)
    assert np.all(usage.pool_idle.launch_start_s < usage.pool_idle.ready_s)


def test_hybrid_histogram_learns_a_periodic_template() -> None:
    # one request every 10 minutes: after learning, a sandbox is pre-warmed before each
    result = run_pool(
        {"policy": "hybrid_histogram", "size": 2},
        {"kind": "burst", "count": 40, "at": "0s", "window": "400m", "spacing": "even"},
        horizon="7h",
    )
    launch = modes(result)
    assert (launch[15:] == WARM).mean() > 0.9
    idle_hours = result.summary()["platforms"]["theory"]["pool"]["idle_sandbox_hours"]
    fixed = run_pool(
        {"size": 1},
        {"kind": "burst", "count": 40, "at": "0s", "window": "400m", "spacing": "even"},
        horizon="7h",
    )
    assert idle_hours < fixed.summary()["platforms"]["theory"]["pool"]["idle_sandbox_hours"]


def test_prewarm_follows_a_diurnal_profile() -> None:
    profile = [0.0] * 8 + [1.0] * 10 + [0.0] * 6
    result = run_pool(
        {"policy": "prewarm_diurnal", "size": 50, "lead": "10m", "cover": "60s"},
        {"kind": "diurnal", "per_day": 36000, "hourly_profile": profile},
        horizon="1d",
    )
    pool = result.summary()["platforms"]["theory"]["pool"]
    assert pool["warm_hit_ratio"] > 0.95
    usage = result.runs["theory"][0].usage
    assert usage is not None
    assert usage.pool_idle is not None
    night = usage.pool_idle.launch_start_s < 7 * 3600
    assert not night.any()  # nothing pre-started when no requests are due
