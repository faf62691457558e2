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


def test_pool_is_kept_until_the_horizon() -> None:
    # a pool of 10 launched at 0 serves a burst of 10 at 1 min and refills at once; the
    # refills wait until the 1 h horizon although nothing happens after the burst:
    # 10 x 60 s + 10 x 3540 s = 10 sandbox-hours (before the fix: 0.19 h, the pool
    # vanished with the last task)
    result = run_pool({"size": 10}, {"kind": "burst", "count": 10, "at": "1m", "window": "0s"})
    pool = result.summary()["platforms"]["theory"]["pool"]
    assert pool["warm_hit_ratio"] == 1.0
    assert pool["idle_sandbox_hours"] == pytest.approx(10.0 * 2, rel=1e-9)  # horizon 2 h
    # billed at 1 vCPU x 1e-5 USD per second: 10 sandboxes for a month
    assert pool["idle_cost_usd"]["per_month"] == pytest.approx(10 * 1e-5 * 30 * 86400, rel=1e-6)


def test_warm_hits_are_billed_for_their_run_on_every_bundled_profile() -> None:
    """A warm hit takes none of the cold launch's parts, so its bill must not start at a
    cold part's offset: it bills from the handover (its pool billed the idle time up to
    it) or from ready, never less than its run."""
    from simulator.billing import billed_seconds, billing_start
    from simulator.runner import billing_inputs

    # every bundled managed profile with a warm path (the GPU one needs a GPU shape)
    profiles = ["aws-lambda", "azure-aci", "gcp-cloud-run"]
    scenario = ss.scenario_from_dict(
        scenario_dict(
            horizon="30m",
            replications=1,
            workloads=[
                {
                    "name": "w",
                    "arrivals": {"kind": "poisson", "per_second": 0.05},
                    "duration": {"kind": "fixed", "value": "5s"},
                    "shape": {"vcpu": 1, "memory": "2GiB"},
                }
            ],
            platforms=[
                {"profile": p, "vcpu_quota": "unlimited", "pools": [{"template": "w", "size": 5}]}
                if p == "azure-aci"
                else {"profile": p, "pools": [{"template": "w", "size": 5}]}
                for p in profiles
            ],
        )
    )
    result = ss.simulate(scenario)
    for platform in profiles:
        usage = result.runs[platform][0].usage
        assert usage is not None
        resolved = result.platform(platform)
        inputs = billing_inputs(scenario, resolved)
        warm = (usage.launch_mode == WARM) & usage.launched
        assert warm.sum() > 20, platform
        table = resolved.price_table.billing
        billed = billed_seconds(
            billing_start(usage, inputs)[warm], usage.end_s[warm], table.increment, table.minimum
        )
        handover = (usage.ready_s - usage.launch_start_s)[warm]
        assert (billed >= 5.0 - 1e-9).all(), platform
        upper = np.maximum(5.0 + handover + table.increment, table.minimum)
        assert (billed <= upper + 1e-9).all(), platform


def test_resumes_bypass_the_pool() -> None:
    # sessions of 5 calls, paused between them: only a session's first call can take a
    # pooled sandbox; the 4 others resume the paused one (before the fix every resume was
    # a warm hit and paused sandboxes went back to the pool)
    session = {
        "tool_calls": {"kind": "fixed", "value": 5},
        "call_duration": {"kind": "fixed", "value": "2s"},
        "think_gap": {"kind": "fixed", "value": "30s"},
    }
    scenario = ss.scenario_from_dict(
        scenario_dict(
            horizon="1h",
            replications=1,
            workloads=[
                {
                    "name": "agents",
                    "arrivals": {"kind": "poisson", "per_hour": 30},
                    "session": session,
                    "shape": {"vcpu": 1, "memory": "2GiB"},
                }
            ],
            platforms=[
                {
                    "profile": "theory",
                    "session_mode": "pause_resume",
                    "pools": [{"template": "agents", "size": 3}],
                }
            ],
        )
    )
    catalog = theory_catalog(latency_s=5.0, resume_s=1.0, pause_per_gib_s=1.0, handover_s=0.01)
    result = ss.simulate(scenario, catalog=catalog)
    usage = result.runs["theory"][0].usage
    assert usage is not None
    assert usage.call_index is not None
    first = usage.call_index == 0
    assert (usage.launch_mode[~first] == 3).all()  # resume
    assert (usage.launch_mode[first] == WARM).all()  # 30 per hour, refilled in 5 s
    launch = result.summary()["platforms"]["theory"]["launch"]
    assert launch["resumes"] == 4 * launch["warm_hits"]
    # fresh sandboxes only (reuse 0): the pool holds its 3 for the whole hour
    pool = result.summary()["platforms"]["theory"]["pool"]
    assert pool["idle_sandbox_hours"] == pytest.approx(3.0, rel=1e-9)


def test_pool_launches_restored_from_a_snapshot_pay_the_restore_fee() -> None:
    # Lambda SnapStart with a pool of 3 (launch_mode snapshot): the 3 initial pool
    # launches and the 3 refills after a burst of 3 are all restores; the burst itself is
    # all warm hits. 6 restores x the billed memory pay the per-GiB fee.
    scenario = ss.scenario_from_dict(
        scenario_dict(
            replications=1,
            workloads=[
                {
                    "name": "w",
                    "arrivals": {"kind": "burst", "count": 3, "at": "10m", "window": "0s"},
                    "duration": {"kind": "fixed", "value": "2s"},
                    "shape": {"vcpu": 1, "memory": "2GiB"},
                }
            ],
            platforms=[
                {
                    "profile": "aws-lambda",
                    "launch_mode": "snapshot",
                    "pools": [{"template": "w", "size": 3}],
                }
            ],
        )
    )
    result = ss.simulate(scenario)
    assert result.summary()["platforms"]["aws-lambda"]["launch"]["warm_hits"] == 3
    shape = result.platform("aws-lambda").shapes[0]
    assert shape is not None
    items = result.line_items()
    restored = items[items["item"] == "snapshot:restore"]["quantity"].sum()
    assert restored == pytest.approx(6 * shape.memory_gib, rel=1e-12)


def _lambda_pool(pool: dict[str, Any], arrivals: dict[str, Any]) -> ss.SimulationResult:
    scenario = ss.scenario_from_dict(
        scenario_dict(
            replications=1,
            workloads=[
                {
                    "name": "w",
                    "arrivals": arrivals,
                    "duration": {"kind": "fixed", "value": "10s"},
                    "shape": {"vcpu": 1, "memory": "2GiB"},
                }
            ],
            platforms=[{"profile": "aws-lambda", "pools": [{"template": "w", **pool}]}],
        )
    )
    return ss.simulate(scenario)


def test_lambda_keep_alive_is_not_billed_while_idle() -> None:
    # Lambda keeps a finished execution environment warm for free: a keep-alive pool
    # adds no idle line items (before: billed at the on-demand rate, as every pool was)
    result = _lambda_pool(
        {"policy": "keep_alive", "size": 5, "ttl": "10m", "reuse": 1000},
        {"kind": "poisson", "per_second": 0.05},
    )
    summary = result.summary()
    pool = summary["platforms"]["aws-lambda"]["pool"]
    assert pool["warm_hit_ratio"] > 0.9
    assert pool["idle_sandbox_hours"] > 1.0
    assert pool["idle_cost_usd"]["horizon"] == 0.0
    assert not any("pool is assumed" in note for note in summary["warnings"])


def test_lambda_fixed_pool_is_billed_as_provisioned_concurrency() -> None:
    """A pool of 2 over a 1 h horizon serving a burst of 2 at 10 min: 2 x 3600 s of
    provisioned 2 GiB at 0.0000041667 USD per GiB-s (no free tier), and the two 10 s
    tasks (plus a handover of 1-10 ms) at the provisioned duration rate 0.0000097222."""
    result = _lambda_pool({"size": 2}, {"kind": "burst", "count": 2, "at": "10m", "window": "0s"})
    items = result.line_items().set_index("item")
    assert "memory" not in items.index  # every task ran on the pool
    idle = items.loc["memory:pool-idle"]
    assert idle["quantity"] == pytest.approx(2 * 3600 * 2, rel=1e-9)
    assert idle["cost_usd"] == pytest.approx(2 * 3600 * 2 * 0.0000041667, rel=1e-9)
    assert idle["free_tier_usd"] == 0.0
    warm = items.loc["memory:pool-warm"]
    assert 2 * 10 * 2 <= warm["quantity"] <= 2 * 10.01 * 2 + 1e-9
    assert warm["cost_usd"] == pytest.approx(warm["quantity"] * 0.0000097222, rel=1e-9)


def test_assumed_pool_billing_is_flagged() -> None:
    scenario = ss.scenario_from_dict(
        scenario_dict(
            replications=1,
            platforms=[
                {
                    "profile": "azure-aci",
                    "vcpu_quota": "unlimited",
                    "quota": 1000,
                    "pools": [{"template": "w", "size": 1}],
                },
            ],
        )
    )
    warnings = ss.simulate(scenario).summary()["warnings"]
    assert any("'w' pool is assumed billed" in note for note in warnings)


def test_hybrid_histogram_learns_idle_time_and_prewarms_from_the_end_of_a_task() -> None:
    """Tasks of 9.5 min every 10 min idle 30 s between them (the paper's idle time, end
    to next start), all in the first 1-minute bin: the pre-warm window is 0, so a fresh
    sandbox is launched as each task ends and kept 66 s (bin end plus 10%); launched in
    5 s, it is ready for the next arrival 30 s later. Timing from arrivals (600 s apart)
    would pre-warm while the previous task still runs."""
    result = run_pool(
        {"policy": "hybrid_histogram", "size": 1},
        {"kind": "burst", "count": 40, "at": "0s", "window": "400m", "spacing": "even"},
        horizon="7h",
        duration="570s",
        catalog={"latency_s": 5.0, "handover_s": 0.0},
    )
    launch = modes(result)
    assert launch[0] == COLD
    assert (launch[1:] == WARM).all()
    usage = result.runs["theory"][0].usage
    assert usage is not None
    assert usage.pool_idle is not None
    ends = np.sort(usage.end_s)
    starts = usage.pool_idle.launch_start_s
    nearest = ends[np.clip(np.searchsorted(ends, starts), 0, ends.size - 1)]
    np.testing.assert_allclose(starts, nearest)  # every pre-warm starts at a task's end
    # the first (cold, 5 s) task ends 25 s before the next arrival, the 38 others 30 s;
    # the last pre-warm is kept 66 s
    assert usage.pool_idle.idle_seconds() == pytest.approx(25 + 38 * 30 + 66, rel=1e-9)


def test_hybrid_histogram_needs_a_pattern_to_be_representative() -> None:
    from simulator.engine.model import PoolModel
    from simulator.engine.pool import PooledLauncher, _Pool

    model = PoolModel(
        template="t",
        workload_index=0,
        policy="hybrid_histogram",
        size=1,
        refill_per_second=None,
        ttl_s=None,
        reuse=0,
    )
    launcher = PooledLauncher.__new__(PooledLauncher)
    flat = _Pool(model, 0, "a", 0.0, histogram=np.ones(240, dtype=np.int64))
    assert launcher._hybrid_window(flat) is None  # CV 0: no pattern
    peaked = np.zeros(240, dtype=np.int64)
    peaked[[3, 4, 4, 4]] = 1
    peaked[4] = 19  # 20 idle times: 1 in bin 3, 19 in bin 4
    window = launcher._hybrid_window(_Pool(model, 0, "a", 0.0, histogram=peaked))
    assert window is not None
    # 5th percentile: bin 3 (the first count reaches 1 = 5% of 20); 99th: bin 4
    assert window == pytest.approx((3 * 60 * 0.9, 5 * 60 * 1.1))
