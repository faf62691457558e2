"""Fleet speed: the engine with placement on a 200-host fleet, against the core engine.

The same workload (Poisson arrivals, three sandbox shapes, lognormal durations) runs
through ``simulator.engine.run_platform`` four times in one process:

1. the core event engine with a vCPU quota equal to the fleet's vCPU (forced onto the
   event path, as the quota seldom binds): the core figure;
2. the fleet engine with placement taken out (every sandbox on one unbounded host, no
   bookkeeping): what the fleet's events cost without placement;
3. the fleet with placement by a scan over every host per sandbox (``choose``);
4. the fleet with indexed placement (the default): the same picks, kept in heaps.

The fleet is 200 hosts of 96 vCPU and 384 GiB, best-fit placement, no autoscaling (all
hosts up), loaded to about 85% of its vCPU. With --gpus, hosts have 8 GPUs, the medium
shape takes half a GPU and the large one a whole GPU, and the load is 85% of the GPUs
(the core engine then has a GPU quota too). Prints sandboxes per second for each, the
share of the fleet run that placement takes (4 against 2), and the fleet against the
core engine; checks that 3 and 4 pick the same hosts. Each time is the best of three
rounds in which the variants take turns (the machine is shared).

    python bench/fleet.py [--sandboxes N] [--hosts H] [--placement POLICY] [--gpus]

Not a timed test: compare the ratios measured in the same run. Wall-clock shares on a
shared machine swing by a third, so the README also counts instructions, which do not:
``--only bare`` or ``--only index`` runs one variant once; run each under valgrind with
``--sandboxes 20000`` and with ``--sandboxes 10`` (which leaves the start-up's count)::

    PYTHONHASHSEED=0 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 setarch "$(uname -m)" -R \\
        valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        python bench/fleet.py --only index --sandboxes 20000 [--gpus]

Placement's share is then one less the ratio of the two variants' differences (bare
over index).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from simulator.distributions import Fixed, LogNormal, Uniform
from simulator.engine import PlatformModel, run_platform
from simulator.engine.fleet import FleetEngine, FleetModel
from simulator.gpus import GpuNeed
from simulator.model_base import Provenance
from simulator.platforms import LaunchPart, LaunchPath
from simulator.workload import SampledWorkload

SHAPES = ((1.0, 2.0), (2.0, 4.0), (8.0, 32.0))
MIX = (0.5, 0.35, 0.15)
DURATION = LogNormal(median=60.0, p95=600.0)
HOST = (96.0, 384.0)
HOST_GPUS = 8
GPU_NEEDS = (GpuNeed(), GpuNeed(share=0.5), GpuNeed(whole=1))
"""With --gpus: the medium shape takes half a GPU (time-sliced), the large one a GPU."""
LOAD = 0.85


def workload(n: int, hosts: int, seed: int, gpus: bool = False) -> SampledWorkload:
    """Poisson arrivals loading the fleet's tightest resource to LOAD."""
    rng = np.random.default_rng(seed)
    mean_vcpu = sum(share * shape[0] for share, shape in zip(MIX, SHAPES, strict=True))
    concurrent = HOST[0] / mean_vcpu  # sandboxes one host holds at once, by vCPU
    if gpus:
        mean_gpus = sum(share * need.units for share, need in zip(MIX, GPU_NEEDS, strict=True))
        concurrent = min(concurrent, HOST_GPUS / mean_gpus)
    rate = LOAD * hosts * concurrent / DURATION.mean
    request = np.cumsum(rng.exponential(1 / rate, n))
    which = rng.choice(len(SHAPES), size=n, p=MIX).astype(np.int32)
    return SampledWorkload(
        float(request[-1]), request, DURATION.sample(rng, n), which, ("small", "medium", "large")
    )


def model(hosts: int, placement: str, fleet: bool, gpus: bool = False) -> PlatformModel:
    part = LaunchPart(
        name="launch",
        latency=Uniform(low=0.1, high=0.15),
        provenance=Provenance(source="benchmark", as_of="2026-11-27"),
    )
    fleet_model = FleetModel(
        host_type="bench",
        capacity=HOST,
        gpus=HOST_GPUS if gpus else 0,
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
        gpu_need_per_class=GPU_NEEDS if gpus else (GpuNeed(),) * len(SHAPES),
    )
    return PlatformModel(
        platform_id="bench",
        quota=None,
        vcpu_quota=None if fleet else hosts * HOST[0],
        gpu_quota=hosts * HOST_GPUS if gpus and not fleet else None,
        over_quota="queue",
        queue_timeout_s=None,
        launch_rate=None,
        launch_mode="cold",
        launch_path=LaunchPath(parts=(part,)),
        lifetime_cap_s=(float("inf"),) * len(SHAPES),
        vcpu_per_workload=tuple(s[0] for s in SHAPES),
        gpu_per_workload=tuple(n.units for n in GPU_NEEDS) if gpus else (0.0,) * len(SHAPES),
        fleet=fleet_model if fleet else None,
    )


class WithoutPlacement(FleetEngine):
    """The fleet engine with placement taken out: every sandbox goes to host 0 as if it
    had no bounds, and nothing is kept per host."""

    def _fits(self, index: int) -> bool:
        self._chosen = 0
        return True

    def _take(self, index: int) -> None:
        self._host_of[index] = 0
        self._hold_start[index] = self.env._now
        self._in_system += 1

    def _release(self, index: int) -> None:
        self._in_system -= 1


SHORT_NAMES = ("core", "bare", "scan", "index")
"""Names of the variants for --only, in the order of VARIANTS."""
VARIANTS: dict[str, tuple[bool, Callable[..., FleetEngine]]] = {
    "core engine, vCPU quota": (False, FleetEngine),
    "fleet, placement taken out": (True, WithoutPlacement),
    "fleet, placement by scan": (True, partial(FleetEngine, placement_lookup="scan")),
    "fleet, indexed placement": (True, partial(FleetEngine, placement_lookup="index")),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandboxes", type=int, default=300_000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--placement", default="best_fit")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--gpus", action="store_true", help="8 GPUs a host; medium and large shapes use them"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="each variant's time is its best of these rounds"
    )
    parser.add_argument(
        "--only",
        choices=SHORT_NAMES,
        help="run this variant once and nothing else (to count its instructions)",
    )
    args = parser.parse_args()
    n = args.sandboxes
    sampled = workload(n, args.hosts, args.seed, args.gpus)
    if args.only:
        fleet, engine = list(VARIANTS.values())[SHORT_NAMES.index(args.only)]
        started = time.perf_counter()
        run_platform(
            model(args.hosts, args.placement, fleet, args.gpus),
            sampled,
            np.random.default_rng(args.seed + 1),
            force_event_engine=True,
            fleet_engine=engine,
        )
        print(f"{args.only}: {time.perf_counter() - started:.2f} s")
        return
    timings = dict.fromkeys(VARIANTS, float("inf"))
    hosts_picked: dict[str, np.ndarray] = {}
    for round_ in range(args.rounds):  # variants take turns, so a busy spell hits them alike
        for name, (fleet, engine) in VARIANTS.items():
            platform = model(args.hosts, args.placement, fleet, args.gpus)
            started = time.perf_counter()
            usage = run_platform(
                platform,
                sampled,
                np.random.default_rng(args.seed + 1),
                force_event_engine=True,
                fleet_engine=engine,
            )
            timings[name] = min(timings[name], time.perf_counter() - started)
            if round_ or usage.fleet is None or engine is WithoutPlacement:
                continue
            hosts_picked[name] = usage.fleet.host_of
            record = usage.fleet
            used = record.allocated_integral[:2] / record.capacity_integral[:2]
            wait = usage.admit_s - usage.request_s
            print(
                f"{name}: vCPU utilisation {used[0]:.1%}, memory {used[1]:.1%}, GPUs "
                f"{record.allocated_integral[2] / max(record.capacity_integral[2], 1e-12):.1%}; "
                f"waited {(wait > 1e-9).mean():.1%}; packing efficiency "
                f"{record.lower_bound_integral / (record.mean_hosts * record.span_s):.1%}"
            )
    for name, seconds in timings.items():
        print(f"{name:<28}{seconds:7.2f} s = {n / seconds:>10,.0f} sandboxes/s")
    core, bare, scan, indexed = timings.values()
    scanned, kept = hosts_picked.values()
    print(f"same hosts picked by scan and index: {bool(np.array_equal(scanned, kept))}")
    print(f"indexed placement against the scan: {scan / indexed:.1f}x faster")
    print(
        f"placement's share of the fleet run: {1 - bare / indexed:.0%} "
        f"(by scan: {1 - bare / scan:.0%})"
    )
    print(
        f"fleet against the core engine: {indexed / core:.1f}x the time "
        f"(the fleet engine without placement: {bare / core:.1f}x)"
    )


if __name__ == "__main__":
    main()
