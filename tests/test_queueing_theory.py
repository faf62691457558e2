"""Whole-model checks against queueing theory and an independent simulator (ciw).

Poisson arrivals, exponential durations and zero launch latency make a quota platform
an M/M/c queue: with reject it must block like Erlang-B, with queue it must wait like
Erlang-C. Estimates come from independent replications after a warm-up; each check
allows 4.5 standard errors of the replication mean (a false failure is rarer than 1 in
100,000), and asserts that the standard error is small enough for the check to bite.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import simulator as ss
from simulator.intervals import time_weighted_mean
from support import scenario_dict, theory_catalog, workload

SERVERS, ARRIVAL_RATE, MEAN_SERVICE = 10, 8.0, 1.0
OFFERED = ARRIVAL_RATE * MEAN_SERVICE
HORIZON, WARMUP, REPLICATIONS = 2000.0, 100.0, 30
Z = 4.5


def erlang_b(servers: int, offered: float) -> float:
    """Blocking probability of M/M/c/c, by the stable recursion."""
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = offered * blocking / (k + offered * blocking)
    return blocking


def erlang_c(servers: int, offered: float) -> float:
    """Probability of waiting in M/M/c."""
    blocking = erlang_b(servers, offered)
    return servers * blocking / (servers - offered * (1 - blocking))


def run_mmc(over_quota: str) -> ss.SimulationResult:
    scenario = ss.scenario_from_dict(
        scenario_dict(
            horizon=HORIZON,
            replications=REPLICATIONS,
            seed=2026,
            workloads=[
                workload(
                    arrivals={"kind": "poisson", "per_second": ARRIVAL_RATE},
                    duration={"kind": "exponential", "mean": MEAN_SERVICE},
                )
            ],
            platforms=[{"profile": "theory"}],
        )
    )
    return ss.simulate(scenario, catalog=theory_catalog(concurrency=SERVERS, over_quota=over_quota))


def per_replication(result: ss.SimulationResult, statistic) -> np.ndarray:  # type: ignore[no-untyped-def]
    values = []
    for run in result.runs["theory"]:
        usage = run.usage
        assert usage is not None
        keep = usage.request_s >= WARMUP
        values.append(statistic(usage, keep))
    return np.asarray(values)


def check(name: str, estimates: np.ndarray, expected: float, max_se: float) -> None:
    mean = estimates.mean()
    se = estimates.std(ddof=1) / math.sqrt(estimates.size)
    print(f"{name}: {mean:.5g} +/- {se:.2g} (se, {estimates.size} replications) vs {expected:.5g}")
    assert se < max_se, f"standard error {se:.4g} too large for a meaningful check"
    assert abs(mean - expected) <= Z * se, (
        f"estimate {mean:.5g} vs theory {expected:.5g} (se {se:.3g})"
    )


def test_erlang_b_blocking() -> None:
    result = run_mmc("reject")
    blocked = per_replication(result, lambda u, keep: float(np.isnan(u.admit_s[keep]).mean()))
    check("Erlang-B blocking", blocked, erlang_b(SERVERS, OFFERED), max_se=0.003)
    assert result.runs["theory"][0].usage.engine_path == "event"  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def mmc_queue() -> ss.SimulationResult:
    return run_mmc("queue")


def test_erlang_c_probability_of_waiting(mmc_queue: ss.SimulationResult) -> None:
    waited = per_replication(
        mmc_queue, lambda u, keep: float((u.admit_s[keep] > u.request_s[keep]).mean())
    )
    check("Erlang-C P(wait)", waited, erlang_c(SERVERS, OFFERED), max_se=0.01)


def test_erlang_c_mean_wait(mmc_queue: ss.SimulationResult) -> None:
    expected = erlang_c(SERVERS, OFFERED) / (SERVERS / MEAN_SERVICE - ARRIVAL_RATE)
    waits = per_replication(
        mmc_queue, lambda u, keep: float((u.admit_s[keep] - u.request_s[keep]).mean())
    )
    check("Erlang-C mean wait (s)", waits, expected, max_se=0.01)


def test_littles_law(mmc_queue: ss.SimulationResult) -> None:
    """Time-average counts equal arrival rate times mean time, for the queue and the system."""

    def gap(u: ss.Usage, keep: np.ndarray, start: np.ndarray, end: np.ndarray) -> float:
        window = HORIZON - WARMUP
        # time-average over [warm-up, horizon] of intervals, shifted so the window starts at 0
        level = time_weighted_mean(start - WARMUP, end - WARMUP, window)
        rate = keep.sum() / window
        return level - rate * float((end[keep] - start[keep]).mean())

    queue_gap = per_replication(mmc_queue, lambda u, keep: gap(u, keep, u.request_s, u.admit_s))
    system_gap = per_replication(mmc_queue, lambda u, keep: gap(u, keep, u.admit_s, u.end_s))
    check("Little, queue: L - lambda W", queue_gap, 0.0, max_se=0.02)
    check("Little, system: L - lambda W", system_gap, 0.0, max_se=0.05)
    # and the system level is the offered load
    busy = per_replication(
        mmc_queue,
        lambda u, keep: time_weighted_mean(u.admit_s - WARMUP, u.end_s - WARMUP, HORIZON - WARMUP),
    )
    check("busy slots", busy, OFFERED, max_se=0.05)


def test_ciw_agrees_on_mean_wait(mmc_queue: ss.SimulationResult) -> None:
    """An independent simulator of the same M/M/c gives the same mean wait."""
    ciw = pytest.importorskip("ciw")
    ciw_waits = []
    for seed in range(20):
        ciw.seed(seed)
        network = ciw.create_network(
            arrival_distributions=[ciw.dists.Exponential(rate=ARRIVAL_RATE)],
            service_distributions=[ciw.dists.Exponential(rate=1 / MEAN_SERVICE)],
            number_of_servers=[SERVERS],
        )
        sim = ciw.Simulation(network)
        sim.simulate_until_max_time(HORIZON)
        records = [r for r in sim.get_all_records() if r.arrival_date >= WARMUP]
        ciw_waits.append(np.mean([r.waiting_time for r in records]))
    ours = per_replication(
        mmc_queue, lambda u, keep: float((u.admit_s[keep] - u.request_s[keep]).mean())
    )
    theirs = np.asarray(ciw_waits)
    se = math.hypot(
        ours.std(ddof=1) / math.sqrt(ours.size), theirs.std(ddof=1) / math.sqrt(theirs.size)
    )
    assert se < 0.02
    print(
        f"mean wait: sandsim {ours.mean():.5g}, ciw {theirs.mean():.5g} (se of difference {se:.2g})"
    )
    assert abs(ours.mean() - theirs.mean()) <= Z * se
