"""Fleet speed: the engine with placement on a 200-host fleet, against the core engine.

The same workload (Poisson arrivals, three sandbox shapes, lognormal durations) runs
through ``simulator.engine.run_platform`` twice in one process: on a fleet of 200 hosts
(96 vCPU, 384 GiB each; best-fit placement, no autoscaling, so all hosts are up) and on
the core event engine with a vCPU quota equal to the fleet's vCPU (forced onto the event
path, as the quota seldom binds). Load is set so that the fleet is about 85% full on vCPU. Prints sandboxes per second for each and their ratio.

    python bench/fleet.py [--sandboxes N] [--hosts H] [--placement POLICY]

Not a timed test: compare the ratio measured in the same run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from simulator.distributions import Fixed, LogNormal, Uniform
from simulator.engine import PlatformModel, run_platform
from simulator.engine.fleet import FleetModel
from simulator.gpus import GpuNeed
from simulator.model_base import Provenance
from simulator.platforms import LaunchPart, LaunchPath
from simulator.workload import SampledWorkload

SHAPES = ((1.0, 2.0), (2.0, 4.0), (8.0, 32.0))
MIX = (0.5, 0.35, 0.15)
DURATION = LogNormal(median=60.0, p95=600.0)
HOST = (96.0, 384.0)
LOAD = 0.85


def workload(n: int, hosts: int, seed: int) -> SampledWorkload:
    rng = np.random.default_rng(seed)
    mean_vcpu = sum(share * shape[0] for share, shape in zip(MIX, SHAPES, strict=True))
    rate = LOAD * hosts * HOST[0] / (mean_vcpu * DURATION.mean)
    request = np.cumsum(rng.exponential(1 / rate, n))
    which = rng.choice(len(SHAPES), size=n, p=MIX).astype(np.int32)
    return SampledWorkload(
        float(request[-1]), request, DURATION.sample(rng, n), which, ("small", "medium", "large")
    )


def model(hosts: int, placement: str, fleet: bool) -> PlatformModel:
    part = LaunchPart(
        name="launch",
        latency=Uniform(low=0.1, high=0.15),
        provenance=Provenance(source="benchmark", as_of="2026-11-27"),
    )
    fleet_model = FleetModel(
        host_type="bench",
        capacity=HOST,
        gpus=0,
        placement=placement,  # type: ignore[arg-type]
        min_hosts=hosts,
        max_hosts=hosts,
        target_utilisation=1.0,
        scale_out_when_waiting=False,
        boot_time=Fixed(value=300.0),
        idle_cooldown_s=600.0,
        interval_s=30.0,
        committed_hosts=0,
        spot_share=0.0,
        spot_interruptions_per_s=0.0,
        demand_per_class=SHAPES,
        gpu_need_per_class=(GpuNeed(),) * len(SHAPES),
    )
    return PlatformModel(
        platform_id="bench",
        quota=None,
        vcpu_quota=None if fleet else hosts * HOST[0],
        gpu_quota=None,
        over_quota="queue",
        queue_timeout_s=None,
        launch_rate=None,
        launch_mode="cold",
        launch_path=LaunchPath(parts=(part,)),
        lifetime_cap_s=(float("inf"),) * len(SHAPES),
        vcpu_per_workload=tuple(s[0] for s in SHAPES),
        gpu_per_workload=(0.0,) * len(SHAPES),
        fleet=fleet_model if fleet else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandboxes", type=int, default=300_000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--placement", default="best_fit")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = args.sandboxes
    sampled = workload(n, args.hosts, args.seed)
    timings = {}
    for name, fleet in (("core engine, vCPU quota", False), ("fleet with placement", True)):
        platform = model(args.hosts, args.placement, fleet)
        started = time.perf_counter()
        usage = run_platform(
            platform, sampled, np.random.default_rng(args.seed + 1), force_event_engine=True
        )
        timings[name] = time.perf_counter() - started
        wait = usage.admit_s - usage.request_s
        print(
            f"{name:<26}{timings[name]:7.2f} s = {n / timings[name]:>10,.0f} sandboxes/s "
            f"({usage.engine_path}; waited {(wait > 1e-9).mean():.1%})"
        )
        if fleet:
            record = usage.fleet
            used = record.allocated_integral[:2] / record.capacity_integral[:2]
            print(
                f"{'':<26}hosts {args.hosts}, vCPU utilisation {used[0]:.1%}, "
                f"memory {used[1]:.1%}, packing efficiency "
                f"{record.lower_bound_integral / (record.mean_hosts * record.span_s):.1%}"
            )
    core, fleet_s = timings.values()
    print(
        f"fleet / core time         {fleet_s / core:.1f}x (placement's share of the fleet run: "
        f"{1 - core / fleet_s:.0%})"
    )


if __name__ == "__main__":
    main()
