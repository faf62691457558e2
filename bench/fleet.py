"""Fleet speed: the engine with placement on a 200-host fleet, against the core engine.

The same workload (Poisson arrivals, three sandbox shapes, lognormal durations) runs
through ``simulator.engine.run_platform`` five ways in one process:

1. the core event engine with a vCPU quota equal to the fleet's vCPU (forced onto the
   event path, as the quota seldom binds): the core figure;
2. the fleet with placement by a scan over every host per sandbox (``choose``; left out
   with --no-scan, as its time grows with the hosts);
3. the fleet engine with placement taken out (every sandbox on one unbounded host, no
   bookkeeping): what the fleet's events cost without placement;
4. the fleet with indexed placement (the default): 2's picks, kept in heaps;
5. the fleet keeping every host's room, GPUs and gates as 4 does, but with the hosts
   picked in advance (4's picks, recorded in an untimed run and replayed; the index
   does nothing): what 4 costs without choosing hosts.

The fleet is 200 hosts of 96 vCPU and 384 GiB, best-fit placement, no autoscaling (all
hosts up), loaded to about 85% of its vCPU. With --gpus, hosts have 8 GPUs, the medium
shape takes half a GPU and the large one a whole GPU, and the load is 85% of the GPUs
(the core engine then has a GPU quota too). Prints sandboxes per second for each, the
share of the fleet run that placement takes (4 against 3), split into choosing hosts (4
against 5: the index kept and consulted) and keeping each host's room and GPUs (5
against 3), and the fleet against the core engine; checks that 2, 4 and 5 pick the same
hosts and that 5 used every pick recorded. The variants take turns in rounds (five by
default; the machine is shared): each time printed is a variant's best round, and each
share is given twice, from the best times and as the median over rounds of the share
within a round (the variants of a round run seconds apart, so a busy spell lasting a
round is left out).

    python bench/fleet.py [--sandboxes N] [--hosts H] [--placement POLICY] [--gpus] [--no-scan]

Not a timed test: compare the ratios measured in the same run. Wall-clock shares on a
shared machine swing by a third, so the README also counts instructions, which do not:
``bench/fleet_instructions.py`` runs variants 3 to 5 under valgrind. ``--only bare``
or ``--only index`` runs one variant once (``--only picks`` runs the untimed recording
run, then 5; ``--only record`` the recording run alone, to subtract).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from simulator.distributions import Fixed, LogNormal, Uniform
from simulator.engine import PlatformModel, run_platform
from simulator.engine.fleet import FleetEngine, FleetModel
from simulator.gpus import GpuNeed
from simulator.model_base import Provenance
from simulator.packing import PlacementIndex
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


class Recording(FleetEngine):
    """The indexed fleet engine, keeping the host it picks at each attempt, in order."""

    def __init__(self, *args: Any, picks: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choose = self._pick

        def pick(shape_class: int) -> int:
            host = choose(shape_class)
            picks.append(host)
            return host

        self._pick = pick


class GivenPicks(PlacementIndex):
    """A placement index that keeps nothing and gives recorded picks in turn."""

    def __init__(self, picks: list[int]) -> None:  # (no index to set up)
        self.picks = iter(picks)
        self.next_pick = self.picks.__next__

    def add_host(self) -> int:
        return 0

    def close(self, host: int) -> None:
        return None

    def set_free(self, *args: Any, **kwargs: Any) -> None:
        return None

    def choose(self, shape: int) -> int:
        return self.next_pick()


class PicksGiven(FleetEngine):
    """The fleet engine keeping every host's room, GPUs and gates as usual, with the hosts
    picked in advance (an indexed run's picks, replayed; its index keeps nothing). Each
    engine made adds its index to ``replays``, to check that every pick was used."""

    def __init__(
        self, *args: Any, picks: list[int], replays: list[GivenPicks], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        given = GivenPicks(picks)
        replays.append(given)
        self._index = given  # (the first hosts were set up in the real one)
        self._pick = given.choose  # (a Python call per attempt, as the index's)


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


SHORT_NAMES = ("core", "scan", "bare", "index", "picks")
"""Names of the variants for --only, in the order of ``variants``."""
BARE = "fleet, placement taken out"


SCAN = "fleet, placement by scan"


def variants(
    picks: list[int], replays: list[GivenPicks], scan: bool = True
) -> dict[str, tuple[bool, Callable[..., FleetEngine]]]:
    """The variants by name: whether each runs a fleet, and its engine (``picks``: the
    recorded picks the last one replays; ``replays``: where its runs' indexes go;
    ``scan``: whether the scanning fleet is one of them)."""
    scanning = {SCAN: (True, partial(FleetEngine, placement_lookup="scan"))} if scan else {}
    return {
        "core engine, vCPU quota": (False, FleetEngine),
        **scanning,
        BARE: (True, WithoutPlacement),
        "fleet, indexed placement": (True, partial(FleetEngine, placement_lookup="index")),
        "fleet, hosts picked ahead": (
            True,
            partial(PicksGiven, picks=picks, replays=replays, placement_lookup="index"),
        ),
    }


def recorded_picks(sampled: SampledWorkload, args: argparse.Namespace) -> list[int]:
    """The hosts the indexed engine picks, attempt by attempt (an untimed run)."""
    picks: list[int] = []
    run_platform(
        model(args.hosts, args.placement, True, args.gpus),
        sampled,
        np.random.default_rng(args.seed + 1),
        force_event_engine=True,
        fleet_engine=partial(Recording, picks=picks, placement_lookup="index"),
    )
    return picks


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
        "--rounds", type=int, default=5, help="rounds in which the variants take turns"
    )
    parser.add_argument(
        "--no-scan",
        action="store_true",
        help="leave out the scanning fleet (its time grows with the hosts: large fleets)",
    )
    parser.add_argument(
        "--only",
        choices=(*SHORT_NAMES, "record"),
        help="run this variant once and nothing else (to count its instructions)",
    )
    args = parser.parse_args()
    n = args.sandboxes
    sampled = workload(n, args.hosts, args.seed, args.gpus)
    if args.only == "record":
        recorded_picks(sampled, args)
        return
    picks = recorded_picks(sampled, args) if args.only in (None, "picks") else []
    if args.only:
        fleet, engine = list(variants(picks, []).values())[SHORT_NAMES.index(args.only)]
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
    replays: list[GivenPicks] = []
    engines = variants(picks, replays, scan=not args.no_scan)
    timings: dict[str, list[float]] = {name: [] for name in engines}
    hosts_picked: dict[str, np.ndarray] = {}
    for round_ in range(args.rounds):  # variants take turns, so a busy spell hits them alike
        for name, (fleet, engine) in engines.items():
            platform = model(args.hosts, args.placement, fleet, args.gpus)
            started = time.perf_counter()
            usage = run_platform(
                platform,
                sampled,
                np.random.default_rng(args.seed + 1),
                force_event_engine=True,
                fleet_engine=engine,
            )
            timings[name].append(time.perf_counter() - started)
            if round_ or usage.fleet is None or engine is WithoutPlacement:
                continue
            hosts_picked[name] = usage.fleet.host_of
            if name == "fleet, hosts picked ahead":
                continue
            record = usage.fleet
            used = record.allocated_integral[:2] / record.capacity_integral[:2]
            wait = usage.admit_s - usage.request_s
            print(
                f"{name}: vCPU utilisation {used[0]:.1%}, memory {used[1]:.1%}, GPUs "
                f"{record.allocated_integral[2] / max(record.capacity_integral[2], 1e-12):.1%}; "
                f"waited {(wait > 1e-9).mean():.1%}; packing efficiency "
                f"{record.lower_bound_integral / (record.mean_hosts * record.span_s):.1%}"
            )
    best = {name: min(seconds) for name, seconds in timings.items()}
    for name, seconds in best.items():
        print(f"{name:<28}{seconds:7.2f} s = {n / seconds:>10,.0f} sandboxes/s")
    picked = [hosts_picked[name] for name in list(engines)[1:] if name != BARE]
    same = all(np.array_equal(picked[0], other) for other in picked[1:])
    every_pick_used = all(next(given.picks, None) is None for given in replays)
    print(
        f"same hosts picked by {'scan, ' if SCAN in engines else ''}index and replay: "
        f"{bool(same)} (the replays used every recorded pick: {every_pick_used})"
    )
    times = {name: np.array(seconds) for name, seconds in timings.items()}
    if SCAN not in engines:  # (its shares come out as NaN)
        times[SCAN] = np.full(args.rounds, np.nan)
        best[SCAN] = math.nan
    order = ("core engine, vCPU quota", SCAN, BARE, "fleet, indexed placement")
    core, scan, bare, indexed = (best[name] for name in order)
    ahead_name = "fleet, hosts picked ahead"
    if SCAN in engines:
        print(f"indexed placement against the scan: {scan / indexed:.1f}x faster")
    per_round = np.array([times[name] for name in (*order, ahead_name)])  # variants by rounds
    for how, split in (
        ("best times", shares(*(best[name] for name in (*order, ahead_name)))),
        (f"median of {args.rounds} rounds", np.median(shares(*per_round), axis=1)),
    ):
        by_scan = "not run" if math.isnan(split[1]) else f"{split[1]:.0%}"
        print(
            f"placement's share of the fleet run ({how}): {split[0]:.0%} (by scan: "
            f"{by_scan}): choosing hosts {split[2]:.0%}, keeping hosts' room and GPUs "
            f"{split[3]:.0%}"
        )
    print(
        f"fleet against the core engine: {indexed / core:.1f}x the time "
        f"(the fleet engine without placement: {bare / core:.1f}x)"
    )


def split(bare: Any, indexed: Any, ahead: Any) -> tuple[Any, Any, Any]:
    """Placement's share of the indexed fleet run, and its parts: choosing hosts (the
    index, kept and consulted) and keeping each host's room, GPUs and gates; from times or
    counts of the runs without placement, indexed, and with hosts picked ahead (numbers,
    or arrays by round)."""
    return 1 - bare / indexed, 1 - ahead / indexed, (ahead - bare) / indexed


def shares(core: Any, scan: Any, bare: Any, indexed: Any, ahead: Any) -> Any:
    """From the variants' times (numbers, or arrays by round): placement's share of the
    indexed fleet run, of the scanning one, and the indexed run's shares of choosing hosts
    and of keeping hosts' room and GPUs (which add up to the first, but for medians taken
    one by one)."""
    placement, choosing, keeping = split(bare, indexed, ahead)
    return np.array([placement, 1 - bare / scan, choosing, keeping])


if __name__ == "__main__":
    main()
