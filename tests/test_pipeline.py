"""The launch pipeline against hand-computed cases: host rates, slots, caches, fetches."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from simulator.engine import PlatformModel, run_platform
from simulator.engine.fetch import max_min_rates
from simulator.platforms import LaunchPipeline
from simulator.workload import SampledWorkload

PROVENANCE = {"source": "test", "as_of": "2026-11-27"}


def part(name: str, seconds: float) -> dict[str, Any]:
    return {"name": name, "latency": {"kind": "fixed", "value": seconds}, "provenance": PROVENANCE}


def pipeline(**fields: Any) -> LaunchPipeline:
    parts = {
        "control_plane": part("control_plane", 0.0),
        "vmm_start": part("vmm_start", 0.0),
        "guest_boot": part("guest_boot", 0.0),
        "app_init": part("app_init", 0.0),
        "restore": part("restore", 0.0),
        "handover": part("handover", 0.0),
    }
    parts.update(fields.pop("parts", {}))
    spec = {"hosts": 1, "host_bandwidth_gib_s": 1.0, "parts": parts, "provenance": PROVENANCE}
    spec.update(fields)
    return LaunchPipeline.model_validate(spec)


def model(
    pipe: LaunchPipeline,
    mode: str = "snapshot",
    *,
    image_gib: float = 1.0,
    snapshot_gib: float = 1.0,
    templates: tuple[str, ...] = ("t",),
) -> PlatformModel:
    n = len(templates)
    return PlatformModel(
        platform_id="p",
        quota=None,
        vcpu_quota=None,
        gpu_quota=None,
        over_quota="queue",
        queue_timeout_s=None,
        launch_rate=None,
        launch_mode=mode,  # type: ignore[arg-type]
        launch_path=pipe.parts.uncontended_path(mode),  # type: ignore[arg-type]
        lifetime_cap_s=(float("inf"),) * n,
        vcpu_per_workload=(1.0,) * n,
        gpu_per_workload=(0.0,) * n,
        pipeline=pipe,
        template_per_workload=templates,
        image_gib_per_workload=(image_gib,) * n,
        snapshot_gib_per_workload=(snapshot_gib,) * n,
    )


def workload(
    times: list[float] | np.ndarray,
    duration: float = 1.0,
    workloads: list[int] | None = None,
    names: tuple[str, ...] = ("w",),
) -> SampledWorkload:
    request = np.asarray(times, dtype=np.float64)
    index = np.asarray(workloads if workloads is not None else [0] * request.size, dtype=np.int32)
    return SampledWorkload(100.0, request, np.full(request.size, duration), index, names)


def ready(pipe: LaunchPipeline, times: list[float] | np.ndarray, **kwargs: Any) -> np.ndarray:
    usage = run_platform(model(pipe, **kwargs), workload(times), np.random.default_rng(0))
    return usage.ready_s


def test_burst_takes_n_over_hosts_times_rate() -> None:
    """N launches on h hosts creating r per second: the last starts at (N/h - 1)/r."""
    n, hosts, rate = 1000, 4, 50.0
    pipe = pipeline(
        hosts=hosts,
        creation_rate_per_host={"per_second": rate, "burst": 1, "provenance": PROVENANCE},
        preloaded=True,
        cache_per_host="10GiB",
        parts={"restore": part("restore", 0.1)},
    )
    times = ready(pipe, np.zeros(n))
    assert times.max() == pytest.approx((n / hosts - 1) / rate + 0.1)
    assert np.median(times) == pytest.approx((n / hosts / 2 - 1) / rate + 0.1, abs=1 / rate)


def test_launch_slots_limit_concurrent_launches() -> None:
    pipe = pipeline(
        launch_slots_per_host=2,
        preloaded=True,
        cache_per_host="10GiB",
        parts={"restore": part("restore", 1.0)},
    )
    times = np.sort(ready(pipe, np.zeros(6)))
    np.testing.assert_allclose(times, [1, 1, 2, 2, 3, 3])


def test_cache_miss_then_hit() -> None:
    pipe = pipeline(cache_per_host="10GiB", host_bandwidth_gib_s=0.5)
    times = ready(pipe, [0.0, 10.0], snapshot_gib=2.0)
    np.testing.assert_allclose(times, [4.0, 10.0])  # 2 GiB at 0.5 GiB/s, then cached


def test_concurrent_misses_share_one_fetch() -> None:
    pipe = pipeline(cache_per_host="10GiB", host_bandwidth_gib_s=1.0)
    usage = run_platform(
        model(pipe, snapshot_gib=2.0), workload(np.zeros(10)), np.random.default_rng(0)
    )
    np.testing.assert_allclose(usage.ready_s, 2.0)
    assert usage.fetches == 1
    assert usage.cache_miss is not None
    assert usage.cache_miss.all()


def test_no_cache_fetches_every_time() -> None:
    pipe = pipeline(cache_per_host=0, host_bandwidth_gib_s=1.0)
    usage = run_platform(
        model(pipe, snapshot_gib=1.0), workload([0.0, 5.0]), np.random.default_rng(0)
    )
    np.testing.assert_allclose(usage.ready_s, [1.0, 6.0])
    assert usage.fetches == 2


def test_host_links_share_bandwidth_fairly() -> None:
    # two different artifacts fetched into one host at once: each at half the link
    pipe = pipeline(cache_per_host="10GiB", host_bandwidth_gib_s=1.0)
    usage = run_platform(
        model(pipe, snapshot_gib=1.0, templates=("a", "b")),
        workload([0.0, 0.0], workloads=[0, 1], names=("wa", "wb")),
        np.random.default_rng(0),
    )
    np.testing.assert_allclose(usage.ready_s, [2.0, 2.0])


def test_shared_store_caps_all_hosts() -> None:
    # 4 hosts, 1 GiB/s each, the store gives 2 GiB/s in all: each fetch runs at 0.5 GiB/s
    pipe = pipeline(
        hosts=4,
        cache_per_host="10GiB",
        host_bandwidth_gib_s=1.0,
        shared_bandwidth_gib_s=2.0,
        placement="round_robin",
    )
    np.testing.assert_allclose(ready(pipe, np.zeros(4)), 2.0)


def test_max_min_rates() -> None:
    assert max_min_rates({0: 1, 1: 2}, 1.0, None) == {0: 1.0, 1: 0.5}
    # store of 1.2: host 1 (two flows) saturates its link at 0.5 each? no: level 0.4 < 0.5
    rates = max_min_rates({0: 1, 1: 2}, 1.0, 1.2)
    assert rates == pytest.approx({0: 0.4, 1: 0.4})
    rates = max_min_rates({0: 1, 1: 4}, 1.0, 2.0)
    assert rates == pytest.approx(
        {0: 1.0, 1: 0.25}
    )  # host 1 is link-bound at 0.25; host 0 takes the rest


def test_lru_eviction() -> None:
    pipe = pipeline(cache_per_host="3GiB", host_bandwidth_gib_s=1.0)
    usage = run_platform(
        model(pipe, snapshot_gib=2.0, templates=("a", "b")),
        workload([0.0, 10.0, 20.0], workloads=[0, 1, 0], names=("wa", "wb")),
        np.random.default_rng(0),
    )
    assert usage.cache_miss is not None
    assert usage.cache_miss.tolist() == [True, True, True]  # b pushed a out
    pipe = pipeline(cache_per_host="4GiB", host_bandwidth_gib_s=1.0)
    usage = run_platform(
        model(pipe, snapshot_gib=2.0, templates=("a", "b")),
        workload([0.0, 10.0, 20.0], workloads=[0, 1, 0], names=("wa", "wb")),
        np.random.default_rng(0),
    )
    assert usage.cache_miss.tolist() == [True, True, False]  # type: ignore[union-attr]


def test_lazy_restore_slows_the_first_seconds_of_the_run() -> None:
    eager = pipeline(
        preloaded=True, cache_per_host="10GiB", restore="eager", restore_bandwidth_gib_s=4.0
    )
    lazy = pipeline(
        preloaded=True,
        cache_per_host="10GiB",
        restore="lazy",
        lazy_working_set=0.25,
        lazy_fault_bandwidth_gib_s=0.5,
    )
    e = run_platform(
        model(eager, snapshot_gib=4.0), workload([0.0], duration=10.0), np.random.default_rng(0)
    )
    z = run_platform(
        model(lazy, snapshot_gib=4.0), workload([0.0], duration=10.0), np.random.default_rng(0)
    )
    assert e.ready_s[0] == pytest.approx(1.0)
    assert e.end_s[0] == pytest.approx(11.0)
    assert z.ready_s[0] == pytest.approx(0.0)
    assert z.end_s[0] == pytest.approx(12.0)


def test_cold_boot_fetches_the_image_and_boots() -> None:
    pipe = pipeline(
        cache_per_host="10GiB",
        parts={
            "vmm_start": part("v", 0.01),
            "guest_boot": part("b", 0.125),
            "app_init": part("i", 0.5),
            "control_plane": part("c", 0.05),
        },
    )
    times = ready(pipe, [0.0], mode="cold", image_gib=3.0)
    assert times[0] == pytest.approx(0.05 + 3.0 + 0.01 + 0.125 + 0.5)


def test_warm_hands_over() -> None:
    pipe = pipeline(parts={"handover": part("h", 0.02)})
    np.testing.assert_allclose(ready(pipe, [0.0, 1.0], mode="warm"), [0.02, 1.02])


@pytest.mark.parametrize("bandwidths", [(0.5, 1.0, 4.0)])
def test_more_bandwidth_never_slows_launches(bandwidths: tuple[float, ...]) -> None:
    rng = np.random.default_rng(4)
    times = np.sort(rng.uniform(0, 20, 300))
    previous = None
    for bandwidth in bandwidths:
        pipe = pipeline(
            hosts=3,
            cache_per_host="3GiB",
            host_bandwidth_gib_s=bandwidth,
            shared_bandwidth_gib_s=2 * bandwidth,
        )
        usage = run_platform(
            model(pipe, snapshot_gib=1.5, templates=("a", "b", "c")),
            workload(
                times, workloads=list(rng.integers(0, 3, times.size)), names=("wa", "wb", "wc")
            ),
            np.random.default_rng(0),
        )
        ttr = usage.ready_s - usage.request_s
        if previous is not None:
            assert ttr.mean() <= previous.mean() + 1e-9
            assert ttr.max() <= previous.max() + 1e-9
        previous = ttr


def test_snapshot_never_slower_than_cold_boot_with_the_same_parts() -> None:
    parts = {
        "guest_boot": part("b", 0.125),
        "app_init": part("i", 0.4),
        "restore": part("r", 0.05),
        "vmm_start": part("v", 0.012),
    }
    pipe = pipeline(
        hosts=2,
        launch_slots_per_host=8,
        cache_per_host="10GiB",
        host_bandwidth_gib_s=1.0,
        parts=parts,
    )
    times = np.sort(np.random.default_rng(1).uniform(0, 5, 200))
    cold = run_platform(
        model(pipe, "cold", image_gib=1.0), workload(times), np.random.default_rng(0)
    )
    snap = run_platform(
        model(pipe, "snapshot", snapshot_gib=1.0), workload(times), np.random.default_rng(0)
    )
    assert np.all(snap.ready_s <= cold.ready_s + 1e-9)
    assert snap.ready_s.mean() < cold.ready_s.mean()


def test_request_launches_go_ahead_of_pool_refills() -> None:
    """A pool of 15 serves 15 of a burst of 20; its 15 refills and the 5 misses reach the
    one host together, creating 10 per second. The first refill to arrive takes the free
    token; then the misses go first: tokens at +0.1 ... +0.5 s, ready 0.1 s later, so the
    last miss is ready 0.6 s after the burst (behind the refills it would be 2.0 s)."""
    from simulator.engine.model import PoolModel

    pipe = pipeline(
        creation_rate_per_host={"per_second": 10.0, "burst": 1, "provenance": PROVENANCE},
        preloaded=True,
        cache_per_host="10GiB",
        parts={"restore": part("restore", 0.1), "handover": part("handover", 0.005)},
    )
    pools = (
        PoolModel(
            template="t",
            workload_index=0,
            policy="fixed",
            size=15,
            refill_per_second=None,
            ttl_s=None,
            reuse=0,
        ),
    )
    platform = model(pipe)
    platform = PlatformModel(**{**platform.__dict__, "pools": pools, "warm_path": None})
    usage = run_platform(platform, workload(np.full(20, 50.0)), np.random.default_rng(0))
    ttr = usage.ready_s - usage.request_s
    warm = usage.launch_mode == 2
    assert warm.sum() == 15
    np.testing.assert_allclose(ttr[warm], 0.005)
    assert ttr[~warm].max() == pytest.approx(0.6)
    np.testing.assert_allclose(np.sort(ttr[~warm]), [0.2, 0.3, 0.4, 0.5, 0.6])


@pytest.mark.parametrize("t0", [2.1283363287654046e7, 2.1248865615273822e7, 3.4208616894e7])
def test_fetches_finish_at_large_clock_times(t0: float) -> None:
    """Past about 200 days the clock's resolution (a few ns) exceeds what a GiB tolerance
    can absorb; fetches must still finish, at size / rate (host links of 2.9 GiB/s, two
    flows share host 0, one has host 1)."""
    import heapq

    from simulator.engine.fetch import FetchNetwork, Flow

    clock = [t0]
    events: list[tuple[float, int, Any]] = []

    counter = iter(range(10**9))

    def schedule(time_s: float, function: Any) -> None:
        heapq.heappush(events, (time_s, next(counter), function))

    network = FetchNetwork(2.9, None, lambda: clock[0], schedule)
    network._updated_s = t0
    done: dict[str, float] = {}
    sizes = {"a0": 173.1, "a1": 211.7, "a2": 96.4}
    for i, (name, gib) in enumerate(sizes.items()):
        flow = Flow(host=i % 2, artifact=name, remaining_gib=gib)
        flow.done = lambda name=name: done.__setitem__(name, clock[0])
        network.start(flow)
    steps = 0
    while events and steps < 1000:
        clock[0], _, function = heapq.heappop(events)
        function()
        steps += 1
    assert sorted(done) == sorted(sizes)
    # host 1 alone: 211.7 / 2.9; host 0 shares 2.9 until a2 ends, then a0 has it alone
    assert done["a1"] - t0 == pytest.approx(211.7 / 2.9, abs=1e-6)
    assert done["a2"] - t0 == pytest.approx(96.4 / 1.45, abs=1e-6)
    assert done["a0"] - t0 == pytest.approx(96.4 / 1.45 + (173.1 - 96.4) / 2.9, abs=1e-6)


def _lazy_scenario(**extra: Any) -> Any:
    import simulator as ss
    from support import scenario_dict, theory_catalog

    lazy = {
        "hosts": 1,
        "cache_per_host": "10GiB",
        "preloaded": "all",
        "host_bandwidth_gib_s": 1.0,
        "restore": "lazy",
        "lazy_working_set": 0.5,
        "lazy_fault_bandwidth_gib_s": 0.5,
        "parts": {
            "control_plane": part("control_plane", 0.0),
            "vmm_start": part("vmm_start", 0.0),
            "restore": part("restore", 0.1),
            "handover": part("handover", 0.005),
        },
    }
    workload = {
        "name": "w",
        "arrivals": {"kind": "burst", "count": 1, "at": "60s"},
        "shape": {"vcpu": 1, "memory": 1},
        **extra.pop("workload"),
    }
    scenario = ss.scenario_from_dict(
        scenario_dict(
            replications=1,
            workloads=[workload],
            platforms=[{"profile": "theory", "launch_mode": "snapshot", **extra}],
        )
    )
    usage = ss.simulate(scenario, catalog=theory_catalog(pipeline=lazy)).runs["theory"][0].usage
    assert usage is not None
    return usage


def test_a_calls_lazy_restore_slowdown_delays_the_next_call() -> None:
    """Lazy restore of a 1 GiB snapshot, half of it faulted in at 0.5 GiB/s: the first
    call runs 10 + 1 s. The next call is requested 5 s after the slowed call is done
    (60.1 + 11 + 5 = 76.1 s), not 5 s after it would have been done without faults."""
    session = {
        "tool_calls": {"kind": "fixed", "value": 2},
        "call_duration": {"kind": "fixed", "value": "10s"},
        "think_gap": {"kind": "fixed", "value": "5s"},
    }
    usage = _lazy_scenario(workload={"session": session}, session_mode="per_call")
    order = np.argsort(usage.request_s)
    np.testing.assert_allclose(usage.request_s[order], [60.0, 76.1])
    np.testing.assert_allclose(usage.end_s[order], [71.1, 87.2])


def test_a_warm_hit_on_a_lazily_restored_sandbox_faults_in_its_working_set() -> None:
    """A pooled sandbox restored lazily idles untouched; its task still faults in the
    working set: handed over in 5 ms, it ends 10 + 1 s later."""
    usage = _lazy_scenario(
        workload={"duration": {"kind": "fixed", "value": "10s"}},
        pools=[{"template": "w", "size": 1}],
    )
    assert usage.launch_mode[0] == 2
    assert usage.end_s[0] == pytest.approx(60.0 + 0.005 + 10.0 + 1.0)
