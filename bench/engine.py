"""Engine speed: sandsim's event engine against a plain SimPy model of the same system.

One quota-bound workload (Poisson arrivals at 95% of a 100-sandbox quota, lognormal
durations, a short launch latency, FIFO queueing) of 1,000,000 sandboxes runs through
``simulator.engine.run_platform`` and, in the same process, through the textbook SimPy
model (a generator per sandbox, a ``simpy.Resource`` for the quota). Both must give the
same waits. Prints sandboxes per second for each, the ratio, and the peak memory.

    python bench/engine.py [--sandboxes N]

Not a timed test: machines are shared and noisy, so the ratio against the baseline
measured in the same run is the figure to watch.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np

from simulator.distributions import LogNormal, Uniform
from simulator.engine import PlatformModel, run_platform
from simulator.engine.reference import run_reference
from simulator.model_base import Provenance
from simulator.platforms import LaunchPart, LaunchPath
from simulator.workload import SampledWorkload

QUOTA = 100
UTILISATION = 0.95
DURATION = LogNormal(median=0.8, p95=3.0)


def workload(n: int, seed: int) -> SampledWorkload:
    """n Poisson requests at the rate that loads the quota to UTILISATION."""
    rng = np.random.default_rng(seed)
    rate = UTILISATION * QUOTA / (DURATION.mean + 0.05)
    request = np.cumsum(rng.exponential(1 / rate, n))
    duration = DURATION.sample(rng, n)
    return SampledWorkload(
        float(request[-1]), request, duration, np.zeros(n, dtype=np.int32), ("bench",)
    )


def model() -> PlatformModel:
    part = LaunchPart(
        name="launch",
        latency=Uniform(low=0.0, high=0.1),
        provenance=Provenance(source="benchmark", as_of="2026-11-27"),
    )
    return PlatformModel(
        platform_id="bench",
        quota=QUOTA,
        vcpu_quota=None,
        gpu_quota=None,
        over_quota="queue",
        queue_timeout_s=None,
        launch_rate=None,
        launch_mode="cold",
        launch_path=LaunchPath(parts=(part,)),
        lifetime_cap_s=(float("inf"),),
        vcpu_per_workload=(1.0,),
        gpu_per_workload=(0.0,),
    )


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandboxes", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = args.sandboxes
    sampled = workload(n, args.seed)
    platform = model()

    started = time.perf_counter()
    usage = run_platform(platform, sampled, np.random.default_rng(args.seed + 1))
    engine_s = time.perf_counter() - started
    engine_peak = peak_memory_mib()
    assert usage.engine_path == "event", "the benchmark workload must make the quota bind"

    latency = platform.launch_path.sample(np.random.default_rng(args.seed + 1), n)
    started = time.perf_counter()
    naive = run_reference(sampled.request_s, latency, sampled.duration_s, QUOTA)
    naive_s = time.perf_counter() - started

    engine_wait = usage.admit_s - usage.request_s
    naive_wait = naive.admit_s - sampled.request_s
    worst = float(np.max(np.abs(engine_wait - naive_wait)))
    same = worst <= 1e-6
    print(f"sandboxes                 {n:,}")
    print(
        f"quota / utilisation       {QUOTA} / {UTILISATION:.0%}; waited: {(engine_wait > 0).mean():.1%}, mean wait {engine_wait.mean():.3f} s"
    )
    print(f"engine                    {engine_s:.2f} s  = {n / engine_s:,.0f} sandboxes/s")
    print(f"naive SimPy model         {naive_s:.2f} s  = {n / naive_s:,.0f} sandboxes/s")
    print(f"ratio (engine / naive)    {naive_s / engine_s:.1f}x")
    print(f"same waits                {'yes' if same else 'NO'} (largest difference {worst:.2e} s)")
    print(f"peak memory after engine  {engine_peak:,.0f} MiB")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
