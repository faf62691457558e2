"""Self-hosted fleets: capacity never exceeded (and the same run whichever way placement is
looked up), autoscaler invariants, host billing by hand."""

from __future__ import annotations

import heapq
import itertools
import math
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.distributions import Fixed
from simulator.engine.activations import Activations
from simulator.engine.fleet import FleetEngine, FleetModel, FleetRecord, arrived_and_next
from simulator.errors import InputError, InputErrors
from simulator.fleet_billing import host_costs
from simulator.fleet_metrics import capacity_waits, fleet_metrics, hosts_over_time
from simulator.gpus import GpuNeed, mig_profile
from simulator.runner import simulate
from simulator.scenario import scenario_from_dict
from simulator.summary import booting_share
from support import scenario_dict, workload

CAPACITY = (96.0, 384.0)


def fleet_model(
    demands: list[tuple[float, float]],
    needs: list[GpuNeed] | None = None,
    gpus: int = 0,
    **overrides: Any,
) -> FleetModel:
    """A fleet of 96-vCPU, 384-GiB hosts for engine-level tests."""
    base: dict[str, Any] = {
        "host_type": "test",
        "capacity": CAPACITY,
        "gpus": gpus,
        "placement": "best_fit",
        "min_hosts": 0,
        "max_hosts": 50,
        "target_utilisation": 0.8,
        "scale_out_when_waiting": True,
        "boot_time": Fixed(value=60.0),
        "idle_cooldown_s": 300.0,
        "interval_s": 30.0,
        "committed_hosts": 0,
        "spot_share": 0.0,
        "spot_interruptions_per_s": 0.0,
        "demand_per_class": tuple(demands),
        "gpu_need_per_class": tuple(needs or [GpuNeed() for _ in demands]),
    }
    base.update(overrides)
    return FleetModel(**base)


class CheckedFleetEngine(FleetEngine):
    """The fleet engine, checking at every placement (retries included) that the host
    it chose holds no more than it offers, that GPU room is never negative, and that the
    count of empty GPUs kept by each host is right after every placement and release.

    It also integrates stranded room as each host changes, by its own rule (free vCPU
    and memory of a running host where no shape fits, asking its GPUs where each shape
    with GPUs would go; free GPUs where no such shape fits), against which the engine's
    replay of the holds after the run is checked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._stepped: dict[int, tuple[float, float, float]] = {}
        self._stepped_integral = np.zeros(3)
        self.host_log: list[tuple[float, int, list[float], bool, list[bool]]] = []
        """Each host's free room, whether it runs and which classes fit it, at every
        change (time order), for ``brute_stranded_while_waiting``."""
        self._requested: set[int] | None = None
        super().__init__(*args, **kwargs)

    def _host_changed(self, host: Any) -> None:
        super()._host_changed(host)
        self._step_stranded(host)

    def _step_stranded(self, host: Any) -> None:
        """Integrate the host's stranded room up to now and take its new value."""
        free = [offered - used for offered, used in zip(host.capacity, host.used, strict=True)]
        shapes = zip(self.fleet.demand_per_class, self.fleet.gpu_need_per_class, strict=True)
        if self._requested is None:  # (the classes requests ask for: fixed from the start)
            self._requested = set(self._class_array[~np.isnan(self.request_s)].tolist())
        requested = self._requested
        fits = [
            (vcpu > 0 or gib > 0)  # shapes of workloads the platform does not run: none
            and w in requested  # (nor classes no request asks for)
            and vcpu <= free[0] + 1e-9
            and gib <= free[1] + 1e-9
            and (need.none or (host.capacity[2] > 0 and host.gpus.find(need) is not None))
            for w, ((vcpu, gib), need) in enumerate(shapes)
        ]
        gpu_shapes = [
            not need.none and w in requested for w, need in enumerate(self.fleet.gpu_need_per_class)
        ]
        gpu_fits = any(f and g for f, g in zip(fits, gpu_shapes, strict=True))
        after = (0.0, 0.0, 0.0)
        if host.state == "running":
            after = (
                0.0 if any(fits) else free[0],
                0.0 if any(fits) else free[1],
                free[2] if any(gpu_shapes) and not gpu_fits else 0.0,
            )
        now = min(self.env.now, self._horizon)
        self.host_log.append((now, host.index, free, host.state == "running", fits))
        before = self._stepped.get(host.index, (0.0, 0.0, 0.0))
        self._stepped_integral -= now * (np.array(after) - np.array(before))
        self._stepped[host.index] = after

    def stepped_stranded(self) -> np.ndarray:
        """Stranded vCPU-s, GiB-s and GPU-s integrated change by change."""
        return self._stepped_integral + self._horizon * np.sum(
            list(self._stepped.values()) or [(0.0, 0.0, 0.0)], axis=0
        )

    def _take(self, index: int) -> None:
        super()._take(index)
        host = self._hosts[self._host_of[index]]
        self._step_stranded(host)
        for used, offered in zip(host.used, host.capacity, strict=True):
            assert used <= offered + 1e-6, f"host {host.index} over capacity: {host.used}"
        assert host.gpus.used_fraction() <= host.capacity[2] + 1e-9
        assert host.gpus.free_whole() == sum(gpu.empty for gpu in host.gpus.gpus)

    def _release(self, index: int) -> None:
        host = self._hosts[self._host_of[index]]
        super()._release(index)
        self._step_stranded(host)
        assert host.gpus.free_whole() == sum(gpu.empty for gpu in host.gpus.gpus)


class WakeAtEachRequest(CheckedFleetEngine):
    """The fleet engine as it was: a wake-up event at every request's time, instead of
    moving the clock to it when no event comes first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ahead = False
        self._advance_clock = False


def poisson_requests(
    rng: np.random.Generator, n: int, rate: float, mean_run: float, shapes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Request times (Poisson at ``rate``), exponential run times and uniform shapes."""
    request = np.cumsum(rng.exponential(1 / rate, n))
    return request, rng.exponential(mean_run, n), rng.integers(0, shapes, n)


def run_fleet(
    request_s: np.ndarray,
    run_s: np.ndarray,
    workload_index: np.ndarray,
    model: FleetModel,
    horizon_s: float,
    seed: int = 1,
    engine_type: Callable[..., FleetEngine] = CheckedFleetEngine,
) -> tuple[FleetEngine, Any, FleetRecord]:
    acts = Activations.one_shot(request_s, run_s)
    acts.workload_index[:] = workload_index
    engine = engine_type(
        acts, run_s, np.zeros(request_s.size), model, np.random.default_rng(seed), horizon_s
    )
    with deadline(RUN_DEADLINE_S):  # a livelock (events at one instant forever) fails
        result = engine.run()
    return engine, result, engine.record()


RUN_DEADLINE_S = 120
"""Longest a test's fleet run may take (these take well under a second)."""


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail with TimeoutError if the block runs longer than ``seconds`` (where the
    platform has SIGALRM; elsewhere, no limit)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def overrun(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"fleet run took over {seconds} s: the engine is stuck")

    previous = signal.signal(signal.SIGALRM, overrun)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def assert_same_run(first: tuple[Any, FleetRecord], other: tuple[Any, FleetRecord]) -> None:
    """Two fleet runs placed every sandbox on the same host at the same times, and their
    hosts and integrals agree."""
    (result, record), (other_result, other_record) = first, other
    for times in ("admit_s", "ready_s", "end_s"):
        assert np.array_equal(getattr(result, times), getattr(other_result, times), equal_nan=True)
    for per_host in ("host_of", "started_s", "ended_s"):
        assert np.array_equal(getattr(record, per_host), getattr(other_record, per_host))
    for integral in (
        "allocated_integral",
        "capacity_integral",
        "stranded_integral",
        "stranded_while_waiting_integral",
        "lower_bound_integral",
    ):
        np.testing.assert_allclose(
            getattr(record, integral), getattr(other_record, integral), rtol=1e-12
        )


def brute_stranded_while_waiting(engine: CheckedFleetEngine, result: Any) -> np.ndarray:
    """Stranded room while sandboxes wait, worked out instant by instant from the checked
    engine's log of its hosts and the requests' waits (none lost to spot hosts): between
    any two changes, every running host whose free room no waiting class fits (by the
    log's own fit rule) adds its free vCPU and GiB; its free GPUs, if no waiting class
    with GPUs fits while one waits."""
    horizon = engine._horizon
    gpu_class = [not need.none for need in engine.fleet.gpu_need_per_class]
    classes = engine._class_array
    waits = [
        (int(classes[i]), float(result.request_s[i]), float(result.admit_s[i]))
        for i in range(classes.size)
        if result.admit_s[i] > result.request_s[i]
    ]
    cuts = {0.0, horizon}
    cuts |= {t for t, *_ in engine.host_log if t < horizon}
    cuts |= {t for _, start, end in waits for t in (start, end) if t < horizon}
    total = np.zeros(3)
    for a, b in itertools.pairwise(sorted(cuts)):
        waiting = {c for c, start, end in waits if start <= a < end}
        if not waiting:
            continue
        state: dict[int, tuple[list[float], bool, list[bool]]] = {}
        for t, host, free, running, fits in engine.host_log:
            if t > a:
                break
            state[host] = (free, running, fits)
        for free, running, fits in state.values():
            if not running:
                continue
            if not any(fits[c] for c in waiting):
                total[:2] += np.array(free[:2]) * (b - a)
            gpu_waiting = [c for c in waiting if gpu_class[c]]
            if gpu_waiting and not any(fits[c] for c in gpu_waiting):
                total[2] += free[2] * (b - a)
    return total


def peak_load(start: np.ndarray, end: np.ndarray, amount: np.ndarray) -> float:
    """Largest total ``amount`` held at once (ends before starts at the same instant)."""
    times = np.concatenate([start, end])
    deltas = np.concatenate([amount, -amount])
    order = np.lexsort((deltas, times))  # at equal times, releases (negative) first
    return float(np.cumsum(deltas[order]).max(initial=0.0))


GPU_KINDS = st.sampled_from(["none", "whole", "mig", "share"])


@settings(max_examples=60, deadline=None)
@given(
    shapes=st.lists(
        st.tuples(st.floats(0.25, 48.0), st.floats(0.5, 200.0), GPU_KINDS, st.integers(1, 4)),
        min_size=1,
        max_size=3,
    ),
    n=st.integers(20, 150),
    rate=st.floats(0.01, 2.0),
    mean_run=st.floats(5.0, 900.0),
    policy=st.sampled_from(["first_fit", "best_fit", "worst_fit", "dot_product"]),
    max_hosts=st.integers(1, 12),
    spot=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_no_host_is_ever_over_capacity(
    shapes: list[tuple[float, float, str, int]],
    n: int,
    rate: float,
    mean_run: float,
    policy: str,
    max_hosts: int,
    spot: bool,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    needs = []
    for _, _, kind, count in shapes:
        if kind == "whole":
            needs.append(GpuNeed(whole=count))
        elif kind == "mig":
            needs.append(
                GpuNeed(
                    mig=mig_profile(
                        "a100-40gb", ["1g.5gb", "2g.10gb", "3g.20gb", "7g.40gb"][count - 1]
                    )
                )
            )
        elif kind == "share":
            needs.append(GpuNeed(share=0.25 * count if count < 4 else 0.5))
        else:
            needs.append(GpuNeed())
    model = fleet_model(
        [(v, m) for v, m, _, _ in shapes],
        needs,
        gpus=8,
        placement=policy,
        max_hosts=max_hosts,
        spot_share=0.5 if spot else 0.0,
        spot_interruptions_per_s=1 / 600 if spot else 0.0,
    )
    request, run, which = poisson_requests(rng, n, rate, mean_run, len(shapes))
    engine, result, record = run_fleet(request, run, which, model, float(request[-1]), seed)
    # every sandbox eventually ran (hosts up to max_hosts always come), unless spot
    # interruptions took its host more often than spot_max_restarts
    assert (np.isnan(result.admit_s) == np.asarray(result.gave_up)).all()
    assert int(np.asarray(result.gave_up).sum()) == engine.dropped
    served = ~np.asarray(result.gave_up)
    host_of = np.where(served, record.host_of, -1)
    demand = np.array(model.demand_per_class)[which]
    units = np.array([need.units for need in needs])[which]
    for host in np.unique(host_of[served]):
        on = host_of == host
        start, end = result.admit_s[on], result.end_s[on]
        for amount, limit in (
            (demand[on, 0], CAPACITY[0]),
            (demand[on, 1], CAPACITY[1]),
            (units[on], 8.0),
        ):
            assert peak_load(start, end, amount) <= limit + 1e-6
        # and only while the host was alive
        assert start.min() >= record.started_s[host] - 1e-9
        assert end.max() <= record.ended_s[host] + 1e-9
    alive = peak_load(record.started_s, record.ended_s, np.ones(record.started_s.size))
    assert alive <= max_hosts
    # stranded room replayed from the holds: as integrated change by change
    assert isinstance(engine, CheckedFleetEngine)
    np.testing.assert_allclose(
        record.stranded_integral, engine.stepped_stranded(), rtol=1e-9, atol=1e-6
    )
    if not spot:  # (the brute force takes waits from request to placement)
        np.testing.assert_allclose(
            record.stranded_while_waiting_integral,
            brute_stranded_while_waiting(engine, result),
            rtol=1e-9,
            atol=1e-6,
        )
        assert engine.lost == 0
        assert engine.interruptions == 0
    assert sum(engine.retries) + engine.dropped == engine.lost
    # the same run with placement by a scan over every host instead of the index, and
    # with a wake-up event at every request instead of moving the clock to it
    for variant in (partial(CheckedFleetEngine, placement_lookup="scan"), WakeAtEachRequest):
        _, other_result, other_record = run_fleet(
            request, run, which, model, float(request[-1]), seed, variant
        )
        assert_same_run((result, record), (other_result, other_record))


@settings(max_examples=40, deadline=None)
@given(
    shapes=st.lists(
        st.tuples(st.floats(0.25, 60.0), st.floats(0.5, 300.0)), min_size=1, max_size=3
    ),
    n=st.integers(20, 200),
    rate=st.floats(0.01, 2.0),
    mean_run=st.floats(5.0, 900.0),
    policy=st.sampled_from(["first_fit", "best_fit", "worst_fit", "dot_product"]),
    max_hosts=st.integers(1, 8),
    target=st.floats(0.2, 1.0),
    spot=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_stranded_room_replayed_from_holds_equals_it_integrated_stepwise(
    shapes: list[tuple[float, float]],
    n: int,
    rate: float,
    mean_run: float,
    policy: str,
    max_hosts: int,
    target: float,
    spot: bool,
    seed: int,
) -> None:
    """Without GPU shapes, stranded room is taken after the run from the holds and the
    hosts' running spells; it equals the integral kept change by change, with hosts that
    boot, drain (a low target utilisation), go idle and are lost to spot interruptions."""
    rng = np.random.default_rng(seed)
    model = fleet_model(
        shapes,
        placement=policy,
        max_hosts=max_hosts,
        target_utilisation=target,
        spot_share=0.5 if spot else 0.0,
        spot_interruptions_per_s=1 / 600 if spot else 0.0,
    )
    request, run, which = poisson_requests(rng, n, rate, mean_run, len(shapes))
    horizon = float(request[-1]) * 0.9  # some changes come after the horizon
    engine, result, record = run_fleet(request, run, which, model, horizon, seed)
    assert isinstance(engine, CheckedFleetEngine)
    np.testing.assert_allclose(
        record.stranded_integral, engine.stepped_stranded(), rtol=1e-9, atol=1e-6
    )
    assert record.stranded_integral[2] == 0.0
    if not spot:
        np.testing.assert_allclose(
            record.stranded_while_waiting_integral,
            brute_stranded_while_waiting(engine, result),
            rtol=1e-9,
            atol=1e-6,
        )


def test_stranded_while_waiting_by_hand() -> None:
    """One host of 96 vCPU and 384 GiB, shapes A (60 vCPU, 10 GiB) and B (30, 10): A at
    0 s and B at 0 s (for 1 s) run, a second A comes at 0.5 s and waits past the horizon
    (1,000 s). Free room no waiting sandbox fits: 6 vCPU from 0.5 s to 1 s, then 36 until
    the horizon (and 364 then 374 GiB). Against the shape mix, the 36 vCPU fit B, so
    only B's second (6 vCPU free, waiting or not) counts there: a shape that no longer
    comes hid the room the waiting A could not use."""
    model = fleet_model([(60.0, 10.0), (30.0, 10.0)], min_hosts=1, max_hosts=1)
    request = np.array([0.0, 0.0, 0.5])
    run = np.array([2000.0, 1.0, 2000.0])
    _, _, record = run_fleet(request, run, np.array([0, 1, 0]), model, 1000.0)
    waiting = record.stranded_while_waiting_integral
    assert waiting[0] == pytest.approx(6 * 0.5 + 36 * 999.0, rel=1e-12)
    assert waiting[1] == pytest.approx(364 * 0.5 + 374 * 999.0, rel=1e-12)
    assert waiting[2] == 0.0
    assert record.stranded_integral[0] == pytest.approx(6 * 1.0, rel=1e-12)
    metrics = fleet_metrics(record)
    assert metrics.stranded_while_waiting["vcpu"] == pytest.approx(35_967 / 96_000, rel=1e-12)


def test_stranded_while_waiting_counts_gpus_by_the_waiting_gpu_shapes() -> None:
    """One host with one GPU; two sandboxes of 8 vCPU, 32 GiB and a whole GPU, at 0 s and
    0.5 s, each running past the horizon (1,000 s): the second waits from 0.5 s, with
    88 vCPU and 352 GiB free that it cannot use (no GPU) and no GPU free."""
    model = fleet_model([(8.0, 32.0)], [GpuNeed(whole=1)], gpus=1, min_hosts=1, max_hosts=1)
    _, _, record = run_fleet(
        np.array([0.0, 0.5]), np.array([2000.0, 2000.0]), np.array([0, 0]), model, 1000.0
    )
    waiting = record.stranded_while_waiting_integral
    assert waiting == pytest.approx([88 * 999.5, 352 * 999.5, 0.0], rel=1e-12)
    assert record.stranded_integral == pytest.approx([88 * 1000.0, 352 * 1000.0, 0.0])


def _boot_scenario(at: str) -> dict[str, Any]:
    """Eight 40-vCPU sandboxes for 10 minutes at ``at`` on an m5.metal fleet that starts
    empty and boots hosts in 5 minutes (two sandboxes a host), over an hour."""
    data = _fleet_scenario(
        autoscaling={
            "min_hosts": 0,
            "max_hosts": 10,
            "boot_time": {"kind": "fixed", "value": "5m"},
        }
    )
    data["workloads"] = [
        workload(
            arrivals={"kind": "burst", "count": 8, "at": at},
            duration={"kind": "fixed", "value": "10m"},
            shape={"vcpu": 40, "memory": "100GiB"},
        )
    ]
    data["platforms"][0]["profile"] = "gvisor"  # (Firecracker takes 32 vCPU at most)
    return data


def test_boots_and_peak_count_within_the_horizon() -> None:
    """Hosts booted at 0 s count as boots (they were left out: 1 boot for 4 hosts booted
    at once and a 5th later); hosts booted at 58 minutes are ready after the horizon, so
    none runs within it: peak 0 as the mean (it was 5), 4 boots (the 5th, started after
    the horizon, counted too)."""
    early = simulate(scenario_from_dict(_boot_scenario("0s")))
    record = early.runs["fleet"][0].metrics.fleet
    assert record is not None
    # four at 0 s for the burst, a fifth at 300 s as they run above the target of 80%
    assert sorted(record.record.started_s) == [0.0, 0.0, 0.0, 0.0, 300.0]
    assert record.boots == 5
    late = simulate(scenario_from_dict(_boot_scenario("58m")))
    fleet = late.summary()["platforms"]["fleet"]
    assert fleet["hosts"]["mean"] == 0.0
    assert fleet["hosts"]["peak"] == 0
    assert fleet["fleet"]["boots"] == 4.0  # booted at 3,480 s; ready at 3,780 s
    timeline = hosts_over_time(late.runs["fleet"][0].metrics.fleet.record)
    assert list(timeline["time_s"]) == [3480.0]  # alive at the horizon: in the last row
    assert list(timeline["hosts"]) == [4]
    assert list(timeline["type_m5.metal"]) == [4]


def test_waits_for_capacity_leave_out_the_runs_lost_with_spot_hosts() -> None:
    """200 sandboxes of 20 minutes on spot hosts taken back every 30 minutes on average:
    a sandbox lost and queued again waited from its request to its first placement and
    from each loss to its next placement, not from its request to its last placement
    (which counted the runs lost in between: the longest 'wait' was 3,497 s, against
    1,747 s). The waits read back from the lost holds are those the engine logged as
    they happened."""
    model = fleet_model(
        [(8.0, 16.0)], min_hosts=2, max_hosts=4, spot_share=1.0, spot_interruptions_per_s=1 / 1800
    )
    rng = np.random.default_rng(3)
    request = np.sort(rng.uniform(0, 3600, 200))
    engine, result, record = run_fleet(
        request, np.full(200, 1200.0), np.zeros(200, dtype=np.int64), model, 3600.0
    )
    assert engine.lost > 20
    assert record.lost_holds is not None
    read_back = capacity_waits(result.request_s, result.admit_s, record.lost_holds)
    _, logged_from, logged_to = engine._waits()

    def waits(start: np.ndarray, end: np.ndarray) -> np.ndarray:
        pairs = np.stack([start, end], axis=1)[end > start]
        return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]

    np.testing.assert_array_equal(waits(*read_back), waits(logged_from, logged_to))
    assert (read_back[1] - read_back[0]).max() < 1800.0
    assert np.nanmax(result.admit_s - result.request_s) > 3000.0  # what was counted


def test_scale_out_boots_what_the_waiting_work_needs_at_once() -> None:
    """A burst of 40 half-host sandboxes on an empty fleet boots 20 hosts together; every
    sandbox waits exactly the boot time."""
    model = fleet_model([(48.0, 100.0)], min_hosts=0, max_hosts=100, target_utilisation=1.0)
    n = 40
    _, result, record = run_fleet(np.zeros(n), np.full(n, 600.0), np.zeros(n, int), model, 3600.0)
    assert record.started_s.size == 20
    assert np.all(record.started_s == 0.0)
    assert np.allclose(result.admit_s, 60.0)
    # each host goes one cooldown (300 s) after its sandboxes end at 660 s
    assert np.allclose(record.ended_s, 960.0)


def test_scale_out_counts_mig_and_shares_on_gpus_of_their_own() -> None:
    """9 shares of 0.5 take 5 GPUs and 22 1g.5gb take 4 (seven to an A100): a GPU with MIG
    instances gives no shares, so 9 GPUs, two 8-GPU hosts, booted together. (Parts of a
    GPU added up, 4.5 + 22/7, said one host: a sandbox waited a second boot, 120 s.)"""
    needs = [GpuNeed(share=0.5), GpuNeed(mig=mig_profile("a100-40gb", "1g.5gb"))]
    model = fleet_model([(1.0, 4.0)] * 2, needs, gpus=8, target_utilisation=1.0)
    classes = np.array([0] * 9 + [1] * 22)
    n = classes.size
    _, result, record = run_fleet(np.zeros(n), np.full(n, 600.0), classes, model, 3600.0)
    assert record.started_s.tolist() == [0.0, 0.0]
    assert np.allclose(result.admit_s, 60.0)  # one boot round


def test_scale_out_packs_a_4g_and_a_3g_on_one_gpu() -> None:
    """8 4g.20gb and 8 3g.20gb fit one 8-GPU host (a 4g at slice 0, a 3g at slice 4 of
    each A100): one host boots. (A 4g counted as a whole GPU and a 3g as half said 12
    GPUs: a second host booted and stood idle, billed 360 s.)"""
    needs = [GpuNeed(mig=mig_profile("a100-40gb", p)) for p in ("4g.20gb", "3g.20gb")]
    model = fleet_model([(4.0, 16.0)] * 2, needs, gpus=8, target_utilisation=1.0)
    classes = np.array([0] * 8 + [1] * 8)
    _, result, record = run_fleet(np.zeros(16), np.full(16, 600.0), classes, model, 3600.0)
    assert record.started_s.tolist() == [0.0]
    assert np.allclose(result.admit_s, 60.0)
    assert record.host_seconds == 960.0


def test_committed_hosts_come_first_then_spot_by_its_share() -> None:
    """Three committed hosts start first and stay committed; the hosts booted after them
    are on demand and spot by turns (a spot share of one half), whatever else came and
    went: the count of committed hosts is kept, not looked up."""
    model = fleet_model(
        [(48.0, 100.0)],
        min_hosts=0,
        max_hosts=100,
        committed_hosts=3,
        spot_share=0.5,
        target_utilisation=1.0,
    )
    n = 20  # two a host: ten hosts, three committed from the start and seven booted
    _, _result, record = run_fleet(np.zeros(n), np.full(n, 600.0), np.zeros(n, int), model, 3600.0)
    assert record.purchase[:3] == ("committed",) * 3
    assert record.purchase[3:] == ("on_demand", "spot") * 3 + ("on_demand",)


def test_target_utilisation_keeps_headroom_without_thrashing() -> None:
    """At a target of 0.8, 20 hosts' worth of work holds 25 hosts: the five empty ones are
    headroom, kept (not released and booted again) while the work lasts."""
    model = fleet_model([(48.0, 100.0)], min_hosts=0, max_hosts=100, target_utilisation=0.8)
    n = 40
    _, result, record = run_fleet(np.zeros(n), np.full(n, 3000.0), np.zeros(n, int), model, 3600.0)
    assert record.started_s.size == 25
    assert record.peak_hosts == 25
    assert np.allclose(result.admit_s, 60.0)


def test_autoscaler_never_leaves_min_or_max() -> None:
    model = fleet_model([(8.0, 16.0)], min_hosts=2, max_hosts=5, idle_cooldown_s=120.0)
    rng = np.random.default_rng(3)
    n = 3000
    request = np.sort(rng.uniform(0, 20_000, n))
    # a wave: busy in the middle of the horizon, quiet at both ends
    run = np.where((request > 6000) & (request < 12_000), 900.0, 30.0)
    horizon = 30_000.0
    _engine, result, record = run_fleet(request, run, np.zeros(n, int), model, horizon)
    changes = np.unique(np.concatenate([record.started_s, record.ended_s]))
    for t in changes[changes < horizon]:
        alive = np.count_nonzero((record.started_s <= t) & (record.ended_s > t))
        assert 2 <= alive <= 5
    assert record.peak_hosts == 5  # the wave needs more than five hosts' worth
    assert np.nanmax(result.admit_s - request) > 0  # so work waited for capacity
    # after the work the extra hosts went (one cooldown after emptying); the minimum stayed
    staying = record.ended_s == horizon
    assert np.count_nonzero(staying) == 2
    assert np.all(record.ended_s[~staying] < request[-1] + 1000)


def test_hosts_released_after_cooldown_are_not_billed_beyond_it() -> None:
    model = fleet_model(
        [(48.0, 100.0)], min_hosts=0, max_hosts=10, idle_cooldown_s=300.0, target_utilisation=1.0
    )
    _, _result, record = run_fleet(np.zeros(4), np.full(4, 100.0), np.zeros(4, int), model, 7200.0)
    # two hosts boot at 0, run sandboxes 60..160, stay empty for the 300 s cooldown
    assert record.started_s.size == 2
    assert np.allclose(record.ended_s, 160.0 + 300.0)
    assert record.host_seconds == pytest.approx(2 * 460.0)


def test_spot_interruptions_lose_and_restart_sandboxes() -> None:
    model = fleet_model(
        [(4.0, 8.0)],
        min_hosts=0,
        max_hosts=20,
        spot_share=1.0,
        spot_interruptions_per_s=1 / 1800,
    )
    rng = np.random.default_rng(5)
    n = 2000
    request = np.sort(rng.uniform(0, 36_000, n))
    engine, result, record = run_fleet(
        request, np.full(n, 1200.0), np.zeros(n, int), model, 36_000.0, 5
    )
    assert engine.interruptions > 0
    assert engine.lost > 0
    assert set(record.purchase) == {"spot"}
    # a lost sandbox runs again to completion (a full run after its last start), unless
    # it lost its host more often than spot_max_restarts (3): then it is given up
    served = np.isfinite(result.admit_s)
    assert np.allclose(result.end_s[served] - result.admit_s[served], 1200.0)
    given_up = ~served
    assert given_up.sum() == engine.dropped == record.dropped_sandboxes
    assert np.all(np.asarray(engine.retries)[given_up] == model.spot_max_restarts)
    assert np.all(np.asarray(engine.retries)[served] <= model.spot_max_restarts)
    assert sum(engine.retries) + engine.dropped == engine.lost
    assert result.gave_up[given_up].all()


def _fleet_scenario(**fleet: Any) -> dict[str, Any]:
    spec = {"host_prices": "aws-ec2-us-east-1", "host_type": "m5.metal", **fleet}
    return scenario_dict(
        horizon="1h",
        replications=1,
        workloads=[
            workload(
                arrivals={"kind": "burst", "count": 10, "at": "0s"},
                duration={"kind": "fixed", "value": "10m"},
                shape={"vcpu": 2, "memory": "4GiB"},
            )
        ],
        platforms=[{"profile": "firecracker", "id": "fleet", "fleet": spec}],
    )


def test_fleet_cost_by_hand() -> None:
    """One m5.metal for an hour, 10 sandboxes of 2 vCPU and 4 GiB (plus Firecracker's
    5 MiB) for 10 minutes each: the bill and its showback, worked by hand."""
    data = _fleet_scenario(autoscaling={"min_hosts": 1, "max_hosts": 1})
    result = simulate(scenario_from_dict(data))
    items = result.line_items()
    host_usd = 4.608  # m5.metal on demand, USD per hour, for the one-hour horizon
    assert items["cost_usd"].sum() == pytest.approx(host_usd, rel=1e-12)
    per_host_second = 4.608 / 3600
    vcpu_weight, gib_weight = 96 * 0.031611, 384 * 0.004237
    vcpu_rate = per_host_second * vcpu_weight / (vcpu_weight + gib_weight) / 96
    gib_rate = per_host_second * gib_weight / (vcpu_weight + gib_weight) / 384
    # a sandbox holds its room from placement (launch included) to its end
    usage = result.runs["fleet"][0].usage
    assert usage is not None
    held_s = float((usage.end_s - usage.admit_s).sum())
    assert 10 * 600.0 < held_s < 10 * 600.5  # ten 10-minute runs and ~0.13 s launches
    vcpu = items[items["item"] == "host:vcpu"].iloc[0]
    memory = items[items["item"] == "host:memory"].iloc[0]
    assert vcpu["quantity"] == pytest.approx(held_s * 2)
    assert vcpu["cost_usd"] == pytest.approx(held_s * 2 * vcpu_rate, rel=1e-12)
    assert memory["quantity"] == pytest.approx(held_s * (4 + 5 / 1024))
    assert memory["cost_usd"] == pytest.approx(held_s * (4 + 5 / 1024) * gib_rate, rel=1e-12)
    idle = items[items["component"] == "idle"]["cost_usd"].sum()
    assert idle == pytest.approx(host_usd - vcpu["cost_usd"] - memory["cost_usd"], rel=1e-12)
    summary = result.summary()["platforms"]["fleet"]
    assert summary["hosts"]["host_hours"] == pytest.approx(1.0)
    assert summary["utilisation"]["vcpu"] == pytest.approx(held_s * 2 / (96 * 3600), rel=1e-12)
    assert summary["cost_usd"]["per_month"]["mean"] == pytest.approx(host_usd * 24 * 30)


def test_committed_and_overcommitted_fleet_cost_by_hand() -> None:
    """A committed reserved host plus overcommit 2:1 and a system reserve: the reserved
    price for the whole horizon, and vCPU rates over the room a host offers."""
    data = _fleet_scenario(
        committed_hosts=1,
        commitment="reserved_1y",
        overcommit={"vcpu": 2},
        reserved_for_system={"vcpu": 2, "memory": "8GiB"},
        autoscaling={"min_hosts": 1, "max_hosts": 1},
    )
    result = simulate(scenario_from_dict(data))
    items = result.line_items()
    assert items["cost_usd"].sum() == pytest.approx(2.765, rel=1e-12)  # reserved_1y, 1 h
    vcpu_weight, gib_weight = 96 * 0.031611, 384 * 0.004237
    # the reserve comes off the host's own 96 vCPU, then overcommit doubles the rest
    vcpu_rate = 2.765 / 3600 * vcpu_weight / (vcpu_weight + gib_weight) / ((96 - 2) * 2)
    vcpu = items[items["item"] == "host:vcpu"].iloc[0]
    assert vcpu["rate_usd"] == pytest.approx(vcpu_rate, rel=1e-12)
    fleet = result.summary()["platforms"]["fleet"]
    assert fleet["hosts"]["by_purchase"]["committed"]["price"] == "reserved_1y"
    assert fleet["fleet"]["capacity_per_host"] == {"vcpu": 188.0, "memory_gib": 376.0, "gpus": 0}


def test_fleet_whose_committed_hosts_fill_max_hosts_pays_no_tail() -> None:
    """One committed host and max_hosts 1 (min_hosts 0) cannot grow, as min_hosts 1 cannot:
    its host is paid for the horizon and nothing more, though a sandbox runs 2,400 s past
    it. Before, only min_hosts counted: a tail of 800 host-s was added ($3.38, not
    $2.765), and the sandbox was shown back what it held after the horizon."""
    late = workload(
        arrivals={"kind": "burst", "count": 1, "at": "3000s"},
        duration={"kind": "fixed", "value": "3000s"},
        shape={"vcpu": 32, "memory": "128GiB"},
    )
    costs = {}
    for min_hosts in (0, 1):
        data = _fleet_scenario(
            committed_hosts=1, autoscaling={"min_hosts": min_hosts, "max_hosts": 1}
        )
        data["workloads"] = [late]
        items = simulate(scenario_from_dict(data)).line_items()
        costs[min_hosts] = items["cost_usd"].sum()
        vcpu_s = items[items["item"] == "host:vcpu"]["quantity"].sum()
        assert vcpu_s == pytest.approx(32 * 600, rel=1e-3)  # held from 3,000 s to the horizon
    assert costs[0] == pytest.approx(2.765, rel=1e-12)  # reserved_1y for the hour
    assert costs[1] == pytest.approx(2.765, rel=1e-12)


def test_mean_line_items_rate_is_what_the_quantity_was_priced_at() -> None:
    """A fleet's showback rates come from each replication's mean price per host-second,
    so they differ between replications (here with spot hosts taken back at random): the
    averaged line items give gross / quantity as the rate, not replication 0's (which
    was 4.5% off in the review's repro)."""
    data = _fleet_scenario(
        spot_share=0.5,
        spot_interruptions_per_hour=0.4,
        committed_hosts=1,
        autoscaling={"min_hosts": 1, "max_hosts": 40},
    )
    data["horizon"] = "12h"
    data["replications"] = 3
    data["workloads"] = [
        workload(
            arrivals={"kind": "burst", "count": 200, "at": "10m", "window": "1h"},
            duration={"kind": "fixed", "value": "3h"},
            shape={"vcpu": 8, "memory": "16GiB"},
        )
    ]
    result = simulate(scenario_from_dict(data))
    per_replication = result.line_items()
    vcpu_rates = per_replication[per_replication["item"] == "host:vcpu"]["rate_usd"]
    assert vcpu_rates.nunique() > 1  # the case at hand: rates differ between replications
    items = result.mean_line_items()
    priced = items[items["quantity"] > 0]
    assert len(priced) >= 3
    assert np.allclose(priced["quantity"] * priced["rate_usd"], priced["gross_usd"], rtol=1e-9)


def _hosts_record(
    purchase: tuple[str, ...], started_s: list[float], ended_s: list[float], **more: Any
) -> FleetRecord:
    """A fleet record of hosts' lives alone (what host billing reads), written by hand."""
    fields: dict[str, Any] = {
        "host_seconds": 0.0,
        "peak_hosts": 0,
        "mean_hosts": 0.0,
        "allocated_integral": np.zeros(3),
        "capacity_integral": np.zeros(3),
        "stranded_integral": np.zeros(3),
        "lower_bound_integral": 0.0,
        "interruptions": 0,
        "lost_sandboxes": 0,
        "host_of": np.empty(0, dtype=np.int64),
        "span_s": 3600.0,
        **more,
    }
    return FleetRecord(
        purchase=purchase, started_s=np.array(started_s), ended_s=np.array(ended_s), **fields
    )


def _m5_metal_fleet() -> Any:
    """The resolved fleet of an autoscaled m5.metal scenario (EC2 prices)."""
    data = _fleet_scenario(autoscaling={"min_hosts": 0, "max_hosts": 3})
    resolved = simulate(scenario_from_dict(data)).platform("fleet").fleet
    assert resolved is not None
    return resolved


def test_host_billing_minimum_and_increment() -> None:
    """EC2 bills per second with a 60-second minimum per host start."""
    record = _hosts_record(
        ("on_demand", "on_demand", "spot"), [0.0, 100.0, 0.0], [10.0, 100.4, 3600.0]
    )
    seconds, cost = host_costs(record, _m5_metal_fleet())
    assert list(seconds) == [60.0, 60.0, 3600.0]
    assert cost[0] == pytest.approx(60 * 4.608 / 3600)
    assert cost[2] == pytest.approx(1.196)  # an hour of spot


def test_spot_hosts_taken_back_in_their_first_hour_are_not_charged() -> None:
    """EC2 charges nothing for a Linux spot host it interrupts within an hour of its
    start, and the seconds used after that; a host ended by the fleet itself pays its
    time whenever it ends."""
    resolved = _m5_metal_fleet()
    assert resolved.table.billing.spot_interrupted_free_s == 3600.0
    record = _hosts_record(
        ("spot", "spot", "spot", "on_demand"),
        [0.0, 100.0, 200.0, 0.0],
        [1800.0, 3699.0, 3900.0, 600.0],
        interruptions=3,
        span_s=7200.0,
        interrupted_s=np.array([1800.0, 3699.0, 3900.0, math.nan]),
    )
    seconds, cost = host_costs(record, resolved)
    spot_per_s = 1.196 / 3600
    assert list(cost[:2]) == [0.0, 0.0]  # taken back within an hour of starting
    assert list(seconds[:2]) == [1800.0, 3599.0]  # (their time still counts, at no price)
    assert seconds[2] == 3700.0  # taken back after its first hour: the seconds used
    assert cost[2] == pytest.approx(3700.0 * spot_per_s)
    assert cost[3] == pytest.approx(600.0 * 4.608 / 3600)


def test_holds_lost_with_a_spot_host_are_shown_back() -> None:
    """Sandboxes pay for the room they held on a spot host until it was taken back, as
    well as for their last run: what the line items show back equals the room the
    engine integrated (all work ends within the horizon, so no tail is billed)."""
    data = scenario_dict(
        horizon="6h",
        replications=1,
        seed=3,
        workloads=[
            workload(
                arrivals={"kind": "burst", "count": 400, "at": "10m", "window": "1h"},
                duration={"kind": "fixed", "value": "20m"},
                shape={"vcpu": 8, "memory": "16GiB"},
            )
        ],
        platforms=[
            {
                "profile": "firecracker",
                "id": "fleet",
                "fleet": {
                    "host_prices": "aws-ec2-us-east-1",
                    "host_type": "m5.metal",
                    "spot_share": 1.0,
                    "spot_interruptions_per_hour": 3.0,
                    "autoscaling": {"min_hosts": 0, "max_hosts": 40},
                },
            }
        ],
    )
    result = simulate(scenario_from_dict(data), keep_usage=True)
    usage = result.runs["fleet"][0].usage
    assert usage is not None
    assert usage.fleet is not None
    record = usage.fleet
    assert record.lost_sandboxes > 0
    assert record.lost_holds is not None
    assert np.nanmax(usage.end_s) < 6 * 3600  # all done within the horizon
    items = result.line_items()
    shown_vcpu_s = items.loc[items["item"] == "host:vcpu", "quantity"].sum()
    assert shown_vcpu_s == pytest.approx(record.allocated_integral[0], rel=1e-9)
    lost_s = float((record.lost_holds.end_s - record.lost_holds.start_s).sum())
    assert lost_s > 0.01 * shown_vcpu_s / 8  # the lost holds are a real part of it
    resolved = result.platform("fleet").fleet
    assert resolved is not None
    _seconds, cost = host_costs(record, resolved)
    assert (cost == 0).any()  # hosts taken back in their first hour: free
    assert items["cost_usd"].sum() == pytest.approx(cost.sum(), rel=1e-9)  # lines add up
    assert (items.loc[items["component"] == "idle", "cost_usd"] > 0).all()


def test_fleet_by_purchase_adds_up_to_the_discounted_bill() -> None:
    """summary.json's hosts.by_purchase costs are after the platform's discount, so they
    add up to its monthly cost."""
    data = _fleet_scenario(committed_hosts=1, autoscaling={"min_hosts": 1, "max_hosts": 3})
    data["platforms"][0]["discount"] = 0.1
    fleet = simulate(scenario_from_dict(data)).summary()["platforms"]["fleet"]
    parts = sum(p["cost_usd_per_month"] for p in fleet["hosts"]["by_purchase"].values())
    assert parts == pytest.approx(fleet["cost_usd"]["per_month"]["mean"], rel=1e-9)
    assert fleet["hosts"]["by_purchase"]["committed"]["cost_usd_per_month"] == pytest.approx(
        2.765 * 0.9 * 24 * 30, rel=1e-9
    )


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"profile": "e2b"}, "platforms[0].fleet", "managed platform"),
        ({"fleet": {"host_type": "m9.huge"}}, "platforms[0].fleet.host_type", "no host type"),
        (
            {"fleet": {"host_prices": "nowhere"}},
            "platforms[0].fleet.host_prices",
            "unknown host price",
        ),
        ({"quota": 10}, "platforms[0].quota", "does not apply to a fleet"),
        (
            {"fleet": {"spot_interruptions_per_hour": 1}},
            "spot_interruptions_per_hour",
            "no host is spot",
        ),
        (
            {"fleet": {"autoscaling": {"min_hosts": 5, "max_hosts": 2}}},
            "max_hosts",
            "must not exceed",
        ),
        ({"discount": "savings_plan_1y"}, "platforms[0].discount", "named discount"),
        ({"fleet": {"reserved_for_system": {"vcpu": 96}}}, "reserved_for_system", "no room"),
        (
            {
                "fleet": {
                    "host_type": "p5.48xlarge",
                    "committed_hosts": 1,
                    "commitment": "reserved_3y",
                    "autoscaling": {"max_hosts": 2},
                }
            },
            "commitment",
            "no reserved_3y price",
        ),
        ({"fleet": {"purchase": "spot"}}, "purchase", "spot_share"),
        # an autoscaled fleet is held to an inventory's most hosts
        ({"fleet": {"autoscaling": {"max_hosts": 100_001}}}, "max_hosts", "at most 100,000"),
        (
            {"fleet": {"autoscaling": {"min_hosts": 10**8, "max_hosts": 10**8}}},
            "min_hosts",
            "100,000,000 hosts is more than a fleet may have",
        ),
        # spot hosts at spot prices need the risk that goes with them
        ({"fleet": {"spot_share": 0.5}}, "spot_share", "give spot_interruptions_per_hour"),
        ({"fleet": {"purchase": "reserved_1y"}}, "purchase", "committed_hosts"),
        ({"fleet": {"autoscaling": {"idle_cooldown": 0}}}, "idle_cooldown", "positive"),
        ({"fleet": {"autoscaling": {"interval": 0}}}, "interval", "positive"),
        ({"fleet": {"autoscaling": {"interval": "1ms"}}}, "autoscaling", "once a second"),
        (
            {
                "fleet": {
                    "autoscaling": {"boot_time": {"kind": "lognormal", "mu": 1000, "sigma": 5}}
                }
            },
            "autoscaling",
            "host boot time is infinite",
        ),
        # the reserve is of the host's own 96 vCPU: with overcommit 2 it was taken off 192
        (
            {"fleet": {"overcommit": {"vcpu": 2}, "reserved_for_system": {"vcpu": 120}}},
            "reserved_for_system",
            "no room",
        ),
        ({"fleet": {"overcommit": {"vcpu": 1e9}}}, "overcommit.vcpu", "100"),
        # true is not a count (it was read as one committed host)
        ({"fleet": {"committed_hosts": True}}, "committed_hosts", "not a count"),
    ],
)
def test_fleet_input_errors(change: dict[str, Any], field: str, text: str) -> None:
    data = _fleet_scenario()
    platform = data["platforms"][0]
    for key, value in change.items():
        if key == "fleet":
            platform["fleet"] = {**platform["fleet"], **value}
        else:
            platform[key] = value
    with pytest.raises((InputError, InputErrors)) as caught:
        simulate(scenario_from_dict(data))
    message = str(caught.value)
    assert field in message
    assert text in message


@pytest.mark.parametrize(
    ("profile", "gpu", "host", "text"),
    [
        ("firecracker", {"type": "a100-40gb", "count": 1}, "p4d.24xlarge", "cannot run this shape"),
        ("gvisor", {"type": "a100-40gb", "mig": "1g.5gb"}, "p4d.24xlarge", "a MIG instance"),
        ("kata-qemu-gpu", {"type": "a100-40gb", "share": 0.5}, "p4d.24xlarge", "time-sliced"),
        ("gvisor", {"type": "h100", "count": 1}, "p4d.24xlarge", "hosts have a100-40gb"),
        ("gvisor", {"type": "a100-40gb", "count": 1}, "m5.metal", "has none"),
    ],
)
def test_gpu_requests_checked_against_isolation_and_host(
    profile: str, gpu: dict[str, Any], host: str, text: str
) -> None:
    data = _fleet_scenario(host_type=host)
    data["platforms"][0]["profile"] = profile
    data["workloads"][0]["shape"] = {"vcpu": 4, "memory": "16GiB", "gpu": gpu}
    with pytest.raises((InputError, InputErrors)) as caught:
        simulate(scenario_from_dict(data))
    assert text in str(caught.value)


def test_gpu_fleet_line_items_name_the_slice() -> None:
    data = _fleet_scenario(host_type="p4d.24xlarge", autoscaling={"min_hosts": 1, "max_hosts": 1})
    data["platforms"][0]["profile"] = "kata-qemu-gpu"
    data["workloads"][0]["shape"] = {
        "vcpu": 4,
        "memory": "16GiB",
        "gpu": {"type": "a100-40gb", "mig": "3g.20gb"},
    }
    result = simulate(scenario_from_dict(data))
    items = result.line_items()
    gpu = items[items["component"] == "gpu"]
    assert list(gpu["item"]) == ["gpu:a100-40gb:mig-3g.20gb"]
    # ten 3g.20gb instances fit five A100s (two per GPU), each 3/7 of a GPU
    usage = result.runs["fleet"][0].usage
    assert usage is not None
    held_s = float((usage.end_s - usage.admit_s).sum())
    assert gpu["quantity"].iloc[0] == pytest.approx(held_s * 3 / 7, rel=1e-12)
    assert items["cost_usd"].sum() == pytest.approx(21.96, rel=1e-12)
    assert math.isclose(
        result.summary()["platforms"]["fleet"]["utilisation"]["gpu"],
        held_s * 3 / 7 / (8 * 3600),
        rel_tol=1e-12,
    )


class StateLog(CheckedFleetEngine):
    """The checked fleet engine, logging each host's changes of state and counting the
    looks at empty hosts (whether to release them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.states: list[tuple[float, int, str]] = []
        self.looks = 0
        super().__init__(*args, **kwargs)

    def _set_state(self, host: Any, state: Any) -> None:
        super()._set_state(host, state)
        self.states.append((self.env.now, host.index, state))

    def _maybe_release(self, host: Any) -> None:
        self.looks += 1
        super()._maybe_release(host)


def test_work_arriving_while_hosts_boot_gets_hosts_of_its_own() -> None:
    """Ten whole-host sandboxes, one every 10 s, on an empty fleet whose hosts take 600 s
    to boot: each boots a host as it comes and is ready one boot time after its request
    (not after the first host's boot, when the queue behind it was first looked at)."""
    model = fleet_model(
        [CAPACITY], boot_time=Fixed(value=600.0), target_utilisation=1.0, max_hosts=20
    )
    request = np.arange(10) * 10.0
    _, result, record = run_fleet(request, np.full(10, 1000.0), np.zeros(10, int), model, 7200.0)
    np.testing.assert_allclose(result.admit_s, request + 600.0)
    np.testing.assert_allclose(np.sort(record.started_s), request)


@pytest.mark.parametrize("cooldown_s", [1e-3, 1.0])
def test_empty_headroom_host_is_looked_at_no_more_than_the_autoscaler_runs(
    cooldown_s: float,
) -> None:
    """One sandbox holding 0.6 of a host at a target of 0.5: the autoscaler boots a second
    host, kept empty as headroom. However short the cooldown, whether to release it is
    asked about once an autoscaler interval (30 s), not once a cooldown."""
    model = fleet_model(
        [(57.6, 100.0)],
        target_utilisation=0.5,
        max_hosts=5,
        idle_cooldown_s=cooldown_s,
    )
    horizon = 3600.0
    engine, result, record = run_fleet(
        np.zeros(1), np.array([3600.0]), np.zeros(1, int), model, horizon, engine_type=StateLog
    )
    assert record.started_s.size == 2
    assert isinstance(engine, StateLog)
    assert engine.looks <= horizon / model.interval_s + 5
    assert result.admit_s[0] == pytest.approx(60.0)


def test_draining_host_needed_for_the_minimum_takes_work_again() -> None:
    """Three 32-vCPU hosts at most, two at least, worst fit: a third host boots for a
    burst and the autoscaler drains one when the burst ends. When a long-lived sandbox
    leaves, the fleet is at its minimum with the draining host one of the two: it runs
    again and takes the sandboxes that come later without their waiting for a boot."""
    host = (32.0, 128.0)
    shares = [0.9, 0.10, 0.05, 0.02, 0.6]
    model = fleet_model(
        [(host[0] * s, host[1] * s) for s in shares],
        capacity=host,
        placement="worst_fit",
        min_hosts=2,
        max_hosts=3,
        target_utilisation=0.8,
    )
    request = np.array([0, 0, 0, 170, 170.1, 170.2, 2000, 2000.1])
    run = np.array([100, 100, 100, 130, 3000, 1330, 1000, 1000], float)
    shape = np.array([0, 0, 0, 1, 2, 3, 4, 4])
    engine, result, record = run_fleet(request, run, shape, model, 6000.0, engine_type=StateLog)
    assert isinstance(engine, StateLog)
    drained = [(t, i) for t, i, s in engine.states if s == "draining"]
    assert drained, "the burst's extra host was never drained"
    drained_at, victim = drained[0]
    back = [t for t, i, s in engine.states if i == victim and s == "running" and t > drained_at]
    # it runs again as soon as it is one of the minimum (as it empties),
    # not only when work that finds no room on the other host comes (at 2000.1 s)
    assert back, "the draining host never ran again"
    assert back[0] < request[6], "the draining host was left draining"
    # so the first late sandbox goes, by worst fit, onto it: the emptier of the two
    assert record.host_of[6] == victim
    # and the late sandboxes go straight onto the two live hosts: no wait, no new host
    np.testing.assert_allclose(result.admit_s[-2:], request[-2:])
    assert record.started_s.size == 3
    live_at_end = np.count_nonzero(record.ended_s >= 6000.0)
    assert live_at_end == 2


@pytest.mark.parametrize("when_waiting", [False, True])
def test_gpu_fleet_scales_on_its_gpus(when_waiting: bool) -> None:
    """One-GPU hosts (32 vCPU): six sandboxes of a whole GPU and 4 vCPU each are a GPU-
    bound load, an eighth of a host's vCPU. The autoscaler sees the GPUs full and boots a
    host an interval (60 s, after each boot) even without scale-out on waiting, and never
    drains a host whose GPU is busy; with scale-out on waiting all six start at once."""
    model = fleet_model(
        [(4.0, 16.0)],
        [GpuNeed(whole=1)],
        gpus=1,
        capacity=(32.0, 128.0),
        min_hosts=1,
        max_hosts=10,
        target_utilisation=0.8,
        scale_out_when_waiting=when_waiting,
        interval_s=60.0,
    )
    n = 6
    engine, result, record = run_fleet(
        np.zeros(n), np.full(n, 600.0), np.zeros(n, int), model, 3600.0, engine_type=StateLog
    )
    assert isinstance(engine, StateLog)
    admitted = np.sort(result.admit_s)
    if when_waiting:
        assert admitted.max() <= 60.0
    else:
        np.testing.assert_allclose(admitted, 60.0 * np.arange(n))
    # no host drains while all six GPUs are busy (the last sandbox ends after 600 s more)
    drains = [t for t, _, s in engine.states if s == "draining"]
    assert all(t >= admitted.max() + 600.0 - 1e-9 for t in drains)
    # six busy GPUs at a target of 0.8 keep ceil(6 / 0.8) = 8 hosts: two of headroom
    assert record.peak_hosts == math.ceil(n / 0.8)


def test_waiting_work_sized_again_a_second_later_whatever_the_rounding() -> None:
    """Scale-out looks at the queue again one second after it last did. At 1.417 s,
    (1.417 + 1) - 1.417 is just under 1 in floating point: the look due then must still
    happen (not be put off to the same instant again and again, which hung the run)."""
    assert (1.417 + 1.0) - 1.417 < 1.0  # the rounding this test is about
    model = fleet_model([CAPACITY], target_utilisation=1.0, max_hosts=5)
    request = np.array([1.417, 1.917])
    _, result, record = run_fleet(request, np.full(2, 100.0), np.zeros(2, int), model, 3600.0)
    # the first boots a host at once; the second is sized again at 2.417 s
    np.testing.assert_allclose(record.started_s, [1.417, 2.417])
    np.testing.assert_allclose(result.admit_s, record.started_s + 60.0)


@pytest.mark.parametrize("when_waiting", [True, False])
def test_fleet_scaled_to_zero_boots_no_host_before_work_comes(when_waiting: bool) -> None:
    """Two sandboxes 10,000 s apart on a fleet of at least no hosts: each boots a host
    when it comes (on waiting, or at the autoscaler's next look), which goes one cooldown
    after it empties. Nothing runs in the gap: the requests still to come are not waiting
    work (they were, and a host was booted and released every 360 s through the gap)."""
    model = fleet_model(
        [(48.0, 100.0)], target_utilisation=1.0, max_hosts=5, scale_out_when_waiting=when_waiting
    )
    request = np.array([0.0, 10_000.0])
    _, result, record = run_fleet(request, np.full(2, 100.0), np.zeros(2, int), model, 20_000.0)
    # the autoscaler looks every 30 s, from 0 s: 10,000 s is not a look (10,020 s is)
    boot_s = request if when_waiting else np.array([0.0, 10_020.0])
    np.testing.assert_allclose(record.started_s, boot_s)
    np.testing.assert_allclose(result.admit_s, boot_s + 60.0)
    np.testing.assert_allclose(record.ended_s, boot_s + 60.0 + 100.0 + 300.0)
    assert record.host_seconds == pytest.approx(2 * 460.0)


@settings(max_examples=200, deadline=None)
@given(
    times=st.lists(st.floats(0.0, 100.0), max_size=60),
    now=st.floats(-1.0, 101.0),
)
def test_arrived_and_next_walks_the_heap_as_a_full_scan_would(
    times: list[float], now: float
) -> None:
    """The requests come by ``now`` and the next time to come, found by walking down the
    heap, are those of a pass over every entry."""
    queue = [(at, index) for index, at in enumerate(times)]
    heapq.heapify(queue)
    come, next_s = arrived_and_next(queue, now)
    assert sorted(come) == sorted(entry for entry in queue if entry[0] <= now)
    assert next_s == min((at for at, _ in queue if at > now), default=math.inf)


def _share_of_host(share: float) -> tuple[float, float]:
    return (CAPACITY[0] * share, CAPACITY[1] * share)


def then_a_trickle(
    request_s: Any, run_s: Any, shape: Any, trickle_s: np.ndarray, trickle_run_s: float, kind: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Request times, run times and shapes of some sandboxes followed by a trickle of
    sandboxes of one shape (``kind``), each running ``trickle_run_s``."""
    return (
        np.concatenate([np.asarray(request_s, float), trickle_s]),
        np.concatenate([np.asarray(run_s, float), np.full(trickle_s.size, trickle_run_s)]),
        np.concatenate([np.asarray(shape, int), np.full(trickle_s.size, kind)]),
    )


def test_draining_host_taken_back_before_a_host_is_booted() -> None:
    """Two hosts, worst fit: host 1 is drained while a small sandbox stays on it, then
    host 0 empties and goes. With only the draining host left nothing waits, so nothing
    boots (it booted one host every 360 s till the sandbox ended: utilisation of no
    running host was taken as infinite); and when the running hosts are above target,
    the draining host is taken back rather than a host booted."""
    model = fleet_model(
        [_share_of_host(0.6), _share_of_host(0.1), _share_of_host(0.05)],
        placement="worst_fit",
        max_hosts=5,
        target_utilisation=0.8,
    )
    request = np.array([0.0, 0.0, 70.0, 70.0])
    _, _, record = run_fleet(
        request, np.array([100.0, 100.0, 1000.0, 5000.0]), np.array([0, 0, 1, 2]), model, 6000.0
    )
    assert record.started_s.size == 2  # no host booted after the first two
    # host 1 drains: it goes as its last sandbox ends at 5,070 s (not a cooldown later)
    assert record.ended_s.max() == pytest.approx(5070.0)

    model = fleet_model(
        [_share_of_host(s) for s in (0.6, 0.1, 0.05, 0.2)],
        placement="worst_fit",
        max_hosts=5,
        target_utilisation=0.8,
    )
    request = np.array([0.0, 0.0, 70.0, 70.0, 400.0, 400.0, 400.0, 400.0])
    run = np.array([100.0, 100.0, 3000.0, 5000.0] + [2000.0] * 4)
    engine, result, record = run_fleet(
        request, run, np.array([0, 0, 1, 2, 3, 3, 3, 3]), model, 6000.0, engine_type=StateLog
    )
    assert isinstance(engine, StateLog)
    assert record.started_s.size == 2
    assert (420.0, 1, "running") in engine.states  # taken back at the autoscaler's look
    np.testing.assert_allclose(result.admit_s[4:], 400.0)


@pytest.mark.parametrize("committed", [0, 1])
def test_committed_host_does_not_stop_the_rest_draining(committed: int) -> None:
    """A burst needs five hosts; a trickle of tiny sandboxes then keeps every host a
    little busy. The autoscaler drains the on-demand hosts down whether or not a
    committed host runs among them (with one, it never drained: the committed host was
    counted as running but not as a candidate)."""
    model = fleet_model(
        [_share_of_host(0.45), _share_of_host(0.01)],
        placement="worst_fit",
        max_hosts=10,
        target_utilisation=0.8,
        committed_hosts=committed,
    )
    trickle = np.arange(0.0, 5000.0, 5.0)
    request, run, shape = then_a_trickle(np.zeros(8), np.full(8, 300.0), [0] * 8, trickle, 100.0, 1)
    engine, _, record = run_fleet(request, run, shape, model, 6000.0, engine_type=StateLog)
    assert isinstance(engine, StateLog)
    drained = {i for _, i, s in engine.states if s == "draining"}
    assert len(drained) >= 3
    assert all(record.purchase[i] != "committed" for i in drained)
    # the trickle (20 sandboxes of 1% at once) needs one host: all but one on-demand
    # host is gone well before the end
    on_demand = np.array([p != "committed" for p in record.purchase])
    assert np.count_nonzero(on_demand & (record.ended_s >= 6000.0)) <= 1 - committed


def test_spot_hosts_taken_back_are_replaced_up_to_the_minimum() -> None:
    """All spot, at least two hosts: each host the provider takes back is replaced at
    once (an autoscaling group), so after the burst the fleet stays at two hosts but
    for the replacements' boot times (it fell to none, for good)."""
    model = fleet_model(
        [_share_of_host(0.6)],
        min_hosts=2,
        max_hosts=4,
        spot_share=1.0,
        spot_interruptions_per_s=1 / 3600,
    )
    horizon = 40_000.0
    engine, _, record = run_fleet(
        np.zeros(4), np.array([100.0, 100.0, 3000.0, 3000.0]), np.zeros(4, int), model, horizon, 2
    )
    assert engine.interruptions >= 5
    assert np.all(record.started_s[record.started_s > 0] < horizon)
    changes = np.unique(np.concatenate([record.started_s, record.ended_s]))
    for t in changes[changes < horizon]:
        assert np.count_nonzero((record.started_s <= t) & (record.ended_s > t)) >= 2
    # below two running only while a replacement boots (60 s each)
    assert record.mean_hosts > 2 - engine.interruptions * 60.0 / horizon - 1e-9


@pytest.mark.parametrize("cooldown_s", [1e-3, 5.0])
def test_looks_at_a_headroom_host_do_not_pile_up(cooldown_s: float) -> None:
    """One sandbox holds 0.6 of a host at a target of 0.5, so a second host is kept as
    headroom; 240 tiny sandboxes pass through it one by one. Each starts the looks at
    it afresh and voids the older ones: about one look per sandbox plus one per
    interval (each sandbox started a chain of its own that went on: 38,837 looks)."""
    model = fleet_model(
        [_share_of_host(0.6), _share_of_host(0.01)],
        placement="worst_fit",
        target_utilisation=0.5,
        max_hosts=5,
        idle_cooldown_s=cooldown_s,
    )
    n = 240
    trickle = 100.0 + np.arange(n) * 10.0
    horizon = float(trickle[-1] + 3600.0)
    request, run, shape = then_a_trickle([0.0], [horizon], [0], trickle, 1.0, 1)
    engine, _, record = run_fleet(request, run, shape, model, horizon, engine_type=StateLog)
    assert isinstance(engine, StateLog)
    assert record.started_s.size == 2
    assert engine.looks <= n + horizon / model.interval_s + 10


@pytest.mark.parametrize(("start_s", "cooldown_s"), [(100.0, 299.9), (2e7, 299.9), (3.4e7, 45.3)])
def test_empty_host_goes_after_its_cooldown_late_in_a_long_run(
    start_s: float, cooldown_s: float
) -> None:
    """Past 2**24 s (194 days) the idle time plus the cooldown rounds by more than a
    nanosecond; the host still goes when the cooldown is up (it was kept, and billed,
    to the end of the horizon)."""
    model = fleet_model([_share_of_host(0.5)], target_utilisation=1.0, idle_cooldown_s=cooldown_s)
    _, result, record = run_fleet(
        np.array([start_s]), np.array([100.0]), np.zeros(1, int), model, start_s + 100_000.0
    )
    assert record.ended_s[0] == pytest.approx(result.end_s[0] + cooldown_s, abs=1e-6)


def test_no_wake_up_every_second_while_hosts_boot() -> None:
    """Two whole-host sandboxes 500 s apart, hosts booting 600 s: the queue is sized when
    each comes (two boots), not once a second through the boots."""

    class Sizings(CheckedFleetEngine):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.sizings = 0
            super().__init__(*args, **kwargs)

        def _scale_out(self) -> None:
            before = self._last_scale_out_s
            super()._scale_out()
            self.sizings += self._last_scale_out_s != before

    model = fleet_model(
        [CAPACITY], boot_time=Fixed(value=600.0), target_utilisation=1.0, max_hosts=20
    )
    engine, result, record = run_fleet(
        np.array([0.0, 500.0]), np.full(2, 100.0), np.zeros(2, int), model, 3600.0, 1, Sizings
    )
    assert isinstance(engine, Sizings)
    np.testing.assert_allclose(record.started_s, [0.0, 500.0])
    # (the first host frees at 700 s, before the second boots: the second goes there)
    np.testing.assert_allclose(result.admit_s, [600.0, 700.0])
    assert engine.sizings <= 4  # (it was 700)


def test_lost_sandboxes_are_the_restarts_plus_those_given_up_as_documented() -> None:
    """With no restart allowed, every sandbox lost with a spot host is given up, and
    fleet.lost_sandboxes counts those losses: docs/outputs.md said they were sandboxes
    that queued again and restarted (none did); it now says lost_sandboxes is the
    restarts plus given_up_sandboxes."""
    data = _fleet_scenario(spot_share=1.0, spot_interruptions_per_hour=60, spot_max_restarts=0)
    fleet = simulate(scenario_from_dict(data)).summary()["platforms"]["fleet"]["fleet"]
    assert fleet["given_up_sandboxes"] > 0
    assert fleet["lost_sandboxes"] == fleet["given_up_sandboxes"]  # no restart at all
    outputs = (Path(__file__).resolve().parent.parent / "docs" / "outputs.md").read_text()
    described = outputs.split("`lost_sandboxes` (", 1)[1].split("), `given_up_sandboxes`", 1)[0]
    assert "the restarts plus `given_up_sandboxes`" in described


def test_warning_says_sandboxes_lost_to_spot_were_given_up_not_tired_of_waiting() -> None:
    """Sandboxes given up after losing spot hosts are counted as abandoned; the warning
    names that cause (it said they gave up waiting in the queue, with no queue timeout).
    At 60 interruptions an hour no 10-minute sandbox survives its host."""
    data = _fleet_scenario(spot_share=1.0, spot_interruptions_per_hour=60, spot_max_restarts=0)
    result = simulate(scenario_from_dict(data))
    fleet = result.summary()["platforms"]["fleet"]["fleet"]
    assert fleet["given_up_sandboxes"] > 0
    warnings = " ".join(result.summary()["warnings"])
    assert "given up after losing their spot host more than 0 times" in warnings
    assert "gave up waiting in the queue" not in warnings
    # none of the burst was ever ready: its summary says so (it raised on max() of nothing)
    (burst,) = result.summary()["platforms"]["fleet"]["burst"].values()
    assert burst["ready"] == 0
    assert burst["bottleneck"] == "none ready"


@pytest.mark.parametrize(
    ("change", "fix"),
    [
        ({"autoscaling": "lots"}, "write a mapping"),
        ({"overcommit": [2]}, "write a mapping"),
        ({"autoscaling": {"scale_out_when_waiting": "maybe"}}, "write true or false"),
    ],
)
def test_wrong_types_in_a_fleet_name_a_fix(change: dict[str, Any], fix: str) -> None:
    """A mapping or a boolean of the wrong type names the fix (it gave none)."""
    data = _fleet_scenario(**change)
    with pytest.raises((InputError, InputErrors)) as caught:
        scenario_from_dict(data)
    assert f"fix: {fix}" in str(caught.value)


def test_an_empty_workload_list_on_a_platform_is_refused() -> None:
    """`workloads: []` ran every workload (it was taken as not given)."""
    data = _fleet_scenario()
    data["platforms"][0]["workloads"] = []
    with pytest.raises((InputError, InputErrors)) as caught:
        scenario_from_dict(data)
    assert "platforms[0].workloads" in str(caught.value)
    assert "fix:" in str(caught.value)


def test_a_gpu_share_below_a_thousandth_is_refused() -> None:
    """A share of 1e-12 of a GPU is below the placement's own slack (1e-9): refused."""
    data = _fleet_scenario(host_type="p4d.24xlarge")
    data["workloads"][0]["shape"]["gpu"] = {"type": "a100-40gb", "share": 1e-12}
    with pytest.raises((InputError, InputErrors)) as caught:
        scenario_from_dict(data)
    assert "shape.gpu.share" in str(caught.value)


def test_scale_out_leaves_out_work_that_fits_the_running_hosts() -> None:
    """Host 0 holds half of itself; then a 0.9-host sandbox and five 0.1-host ones come
    at once. The big one needs a new host; the small ones wait behind it (first in,
    first out) but fit host 0's free half, so one host boots, not two (by volume alone,
    1.4 hosts: the second was never used and billed 360 s)."""
    model = fleet_model(
        [_share_of_host(0.5), _share_of_host(0.9), _share_of_host(0.1)],
        target_utilisation=1.0,
        max_hosts=10,
    )
    request = np.array([0.0] + [100.0] * 6)
    run = np.array([5000.0] + [1000.0] * 6)
    _, result, record = run_fleet(request, run, np.array([0, 1, 2, 2, 2, 2, 2]), model, 6000.0)
    np.testing.assert_allclose(record.started_s, [0.0, 100.0])
    np.testing.assert_allclose(result.admit_s[1:], 160.0)  # all once the new host is up


def test_an_empty_committed_host_does_not_stop_the_rest_draining() -> None:
    """Best fit, one committed host: after a start-up burst the trickle of tiny sandboxes
    lands on an on-demand host while the committed one sits empty. Committed hosts never
    go, so the empty one must not hold back draining the on-demand host (it did: 20,360
    on-demand host-s over the horizon instead of about 1,200)."""
    horizon = 20_000.0
    model = fleet_model(
        [_share_of_host(0.9), _share_of_host(0.7), _share_of_host(0.01)],
        max_hosts=10,
        committed_hosts=1,
    )
    trickle = np.arange(70.0, horizon, 5.0)
    request, run, shape = then_a_trickle([0.0, 0.0], [300.0, 300.0], [0, 1], trickle, 100.0, 2)
    engine, _, record = run_fleet(request, run, shape, model, horizon, engine_type=StateLog)
    assert isinstance(engine, StateLog)
    assert any(s == "draining" for _, _, s in engine.states)
    on_demand = np.array([p != "committed" for p in record.purchase])
    life = np.minimum(record.ended_s, horizon) - record.started_s
    assert life[on_demand].sum() < 2_000.0


def test_a_drained_host_goes_as_its_last_sandbox_leaves_and_is_billed_to_then() -> None:
    """Eleven 8-vCPU sandboxes for 10 minutes at 0 s, a 1-vCPU one for 20 minutes at 1 s
    and an 8-vCPU one for 50 minutes at 2 s, on m5.metal hosts (first fit, 60 s boots, a
    300 s cooldown): host 0 (booted at 0 s) takes the eleven and the small one, host 1
    (booted at 2 s) the long one. When the eleven end, the autoscaler drains host 0
    (690 s), which then holds only the small sandbox. It goes when that sandbox ends,
    about 1,260.1 s; host 1 goes a cooldown after its sandbox ends, about 3,362.1 s.
    By hand, at $4.608 an hour billed per second: (1,261 + 3,361) s = $5.91616 (it
    was $6.30016: the drained host was kept, empty and billed, for a cooldown more)."""
    data = _fleet_scenario(
        placement="first_fit",
        autoscaling={
            "min_hosts": 0,
            "max_hosts": 5,
            "target_utilisation": 1.0,
            "boot_time": {"kind": "fixed", "value": "60s"},
            "idle_cooldown": "300s",
        },
    )
    data["horizon"] = "2h"
    data["workloads"] = [
        workload(
            "big",
            arrivals={"kind": "burst", "count": 11, "at": "0s"},
            duration={"kind": "fixed", "value": "600s"},
            shape={"vcpu": 8, "memory": "30GiB"},
        ),
        workload(
            "small",
            arrivals={"kind": "burst", "count": 1, "at": "1s"},
            duration={"kind": "fixed", "value": "1200s"},
            shape={"vcpu": 1, "memory": "2GiB"},
        ),
        workload(
            "long",
            arrivals={"kind": "burst", "count": 1, "at": "2s"},
            duration={"kind": "fixed", "value": "3000s"},
            shape={"vcpu": 8, "memory": "30GiB"},
        ),
    ]
    result = simulate(scenario_from_dict(data), keep_usage=True)
    usage = result.runs["fleet"][0].usage
    assert usage is not None
    record = usage.fleet
    assert record is not None
    np.testing.assert_array_equal(record.started_s, [0.0, 2.0])
    small_end = float(usage.end_s[usage.workload_index == 1][0])
    long_end = float(usage.end_s[usage.workload_index == 2][0])
    assert 1260.0 < small_end < 1261.0  # (launches take well under a second)
    assert 3062.0 < long_end < 3063.0
    assert record.ended_s[0] == small_end  # drained: gone as its last sandbox left
    assert record.ended_s[1] == pytest.approx(long_end + 300.0)  # not drained: a cooldown
    assert result.line_items()["cost_usd"].sum() == pytest.approx(
        (1261 + 3361) * 4.608 / 3600, rel=1e-12
    )


def _draining_fleet(**overrides: Any) -> FleetModel:
    """Worst fit over sandboxes of 0.6, 0.1 and 0.05 of a host (classes 0 to 2), at
    most five hosts, a target of 0.8: a host left with small sandboxes is drained."""
    return fleet_model(
        [_share_of_host(0.6), _share_of_host(0.1), _share_of_host(0.05)],
        placement="worst_fit",
        max_hosts=5,
        target_utilisation=0.8,
        **overrides,
    )


def test_a_drained_host_emptying_as_work_comes_is_taken_back_not_replaced() -> None:
    """Host 1 drains with one small sandbox left (as in
    ``test_draining_host_taken_back_before_a_host_is_booted``), host 0 having gone. A
    0.6-host sandbox comes at the very instant that small sandbox ends (5,070 s): the
    drained host, empty then, is taken back for it instead of going and a host being
    booted (the sandbox waits no boot); once that sandbox ends the host goes a cooldown
    later, as any host that is not draining."""
    model = _draining_fleet()
    request = np.array([0.0, 0.0, 70.0, 70.0, 5070.0])
    run = np.array([100.0, 100.0, 1000.0, 5000.0, 200.0])
    engine, result, record = run_fleet(
        request, run, np.array([0, 0, 1, 2, 0]), model, 8000.0, engine_type=StateLog
    )
    assert isinstance(engine, StateLog)
    assert any(i == 1 and s == "draining" for _, i, s in engine.states)
    assert record.started_s.size == 2  # no host booted for the late sandbox
    assert record.host_of[4] == 1
    assert result.admit_s[4] == 5070.0
    assert record.ended_s[1] == pytest.approx(5070.0 + 200.0 + 300.0)


def test_a_drained_host_needed_for_the_minimum_runs_again_as_it_empties() -> None:
    """At least two hosts, worst fit: three 0.6-host sandboxes boot a third host, and
    host 1 is drained (120 s) holding one of them and a small long one. Host 2 goes
    after its cooldown (460 s), leaving the fleet at its minimum with host 1 draining.
    When host 1 empties (5,070 s) it runs again then, since the minimum needs it (it
    was left draining, and billed as such, a cooldown more, till 5,370 s), and stays."""
    model = _draining_fleet(min_hosts=2)
    request = np.array([0.0, 0.0, 0.0, 70.0, 70.0])
    run = np.array([100.0, 100.0, 100.0, 1000.0, 5000.0])
    engine, _, record = run_fleet(
        request, run, np.array([0, 0, 0, 1, 2]), model, 8000.0, engine_type=StateLog
    )
    assert isinstance(engine, StateLog)
    assert (120.0, 1, "draining") in engine.states
    assert [(t, s) for t, i, s in engine.states if i == 1 and t > 120.0] == [(5070.0, "running")]
    np.testing.assert_array_equal(record.ended_s, [8000.0, 8000.0, 460.0])


def test_spot_share_covers_the_hosts_started_for_the_minimum() -> None:
    """min_hosts equal to max_hosts (two m5.metal) with spot_share 0.5: one host of the
    two is spot, as an autoscaling group's spot share covers its whole capacity above
    the on-demand base. A rate of interruptions so low none comes for ages: the hour
    costs, by hand, $4.608 on demand plus $1.196 spot = $5.804. Before, the hosts
    started for the minimum were never spot: both on demand, $9.216, and the share and
    the interruptions were silently ignored."""
    data = _fleet_scenario(
        spot_share=0.5,
        spot_interruptions_per_hour=1e-9,
        autoscaling={"min_hosts": 2, "max_hosts": 2},
    )
    result = simulate(scenario_from_dict(data))
    record = result.runs["fleet"][0].metrics.fleet.record
    assert record.purchase == ("on_demand", "spot")
    assert record.interruptions == 0
    assert result.line_items()["cost_usd"].sum() == pytest.approx(4.608 + 1.196, rel=1e-12)
    by_purchase = result.summary()["platforms"]["fleet"]["hosts"]["by_purchase"]
    assert by_purchase["spot"]["host_hours"] == pytest.approx(1.0)


def test_spot_hosts_of_a_fixed_size_group_are_taken_back_and_replaced() -> None:
    """Four hosts at least and at most, one committed and the rest spot, taken back
    every half hour on average: the group's spot hosts are interrupted (none were: the
    three were on demand), their sandboxes lost and restarted, and each host taken back
    replaced at once (it boots), so four hosts are alive all along."""
    horizon = 21_600.0
    request = np.sort(np.random.default_rng(8).uniform(0, 18_000, 300))
    spot = {"spot_share": 1.0, "spot_interruptions_per_s": 1 / 1800}
    model = fleet_model([_share_of_host(0.3)], min_hosts=4, max_hosts=4, committed_hosts=1, **spot)
    engine, result, record = run_fleet(
        request, np.full(request.size, 600.0), np.zeros(request.size, int), model, horizon, 4
    )
    assert record.purchase[0] == "committed"
    assert set(record.purchase[1:]) == {"spot"}  # the three others of the minimum too
    assert engine.interruptions >= 10
    assert engine.lost > 0
    assert record.lost_sandboxes == engine.lost
    changes = np.unique(np.concatenate([record.started_s, record.ended_s]))
    for t in changes[changes < horizon]:
        alive = np.count_nonzero((record.started_s <= t) & (record.ended_s > t))
        assert alive == 4  # (booting replacements count: alive, not running)
    served = np.isfinite(result.admit_s)
    assert np.allclose(result.end_s[served] - result.admit_s[served], 600.0)


def test_a_spot_host_taken_back_is_replaced_by_a_spot_host() -> None:
    """Four hosts at least and at most, spot_share 0.5, taken back every hour on average
    for six hours: two of the four alive hosts are spot at every instant, and half the
    host-seconds are spot. Before, replacements went through a running count of starts,
    so a spot host taken back came back on demand every other time and spot hosts died
    out (one alive at 1 h; spot was 1.6% of a day's host-hours)."""
    horizon = 21_600.0
    request = np.sort(np.random.default_rng(3).uniform(0, 18_000, 300))
    spot = {"spot_share": 0.5, "spot_interruptions_per_s": 1 / 3600}
    model = fleet_model([_share_of_host(0.3)], min_hosts=4, max_hosts=4, **spot)
    engine, _, record = run_fleet(
        request, np.full(request.size, 600.0), np.zeros(request.size, int), model, horizon, 4
    )
    assert engine.interruptions >= 6
    spot_host = np.array(record.purchase) == "spot"
    changes = np.unique(np.concatenate([record.started_s, record.ended_s]))
    for t in changes[changes < horizon]:
        alive = (record.started_s <= t) & (record.ended_s > t)
        assert np.count_nonzero(alive) == 4
        assert np.count_nonzero(alive & spot_host) == 2
    lived = np.minimum(record.ended_s, horizon) - record.started_s
    assert lived[spot_host].sum() / lived.sum() == pytest.approx(0.5, abs=1e-9)


def test_a_fleet_of_the_most_hosts_allowed_runs_in_seconds() -> None:
    """100,000 hosts at least (the most a fleet may have, as an inventory) start and
    bill in seconds: the bound is one a fleet can run (a hundred million ran for hours)."""
    data = _fleet_scenario(autoscaling={"min_hosts": 100_000, "max_hosts": 100_000})
    with deadline(60):
        result = simulate(scenario_from_dict(data))
    assert result.runs["fleet"][0].metrics.fleet.record.started_s.size == 100_000
    assert result.line_items()["cost_usd"].sum() == pytest.approx(100_000 * 4.608, rel=1e-9)


def test_scale_out_packs_the_waiting_sandboxes_onto_new_hosts_in_one_round() -> None:
    """Ten sandboxes of 4 vCPU and 200 GiB on hosts of 384 GiB: one a host. Sized by
    volume (2,000 GiB: 6 hosts) it took three rounds of boots (6 hosts at 0 s, 3 at
    61 s, 1 at 122 s; the last sandbox waited 182 s); packed onto new hosts by
    first-fit decreasing, as a cluster autoscaler's estimator does, all ten boot at
    once and every sandbox waits the boot time alone."""
    model = fleet_model([(4.0, 200.0)], target_utilisation=1.0, max_hosts=20)
    _, result, record = run_fleet(
        np.zeros(10), np.full(10, 600.0), np.zeros(10, int), model, 3600.0
    )
    np.testing.assert_array_equal(record.started_s, np.zeros(10))
    np.testing.assert_array_equal(result.admit_s, np.full(10, 60.0))


def test_scale_out_packs_mig_instances_as_a_gpu_takes_them() -> None:
    """Twenty 4g.20gb MIG instances on hosts of eight A100s: one a GPU (a second 4g does
    not fit beside the first), so 20 need three hosts, where their compute slices (4/7
    of a GPU each, 11.4 GPUs) made two: the third booted a round later. Two 3g.20gb fit
    a GPU, so thirty-two fill two hosts: two, as by volume."""
    mig = GpuNeed(mig=mig_profile("a100-40gb", "4g.20gb"))
    model = fleet_model([(4.0, 16.0)], [mig], gpus=8, target_utilisation=1.0, max_hosts=20)
    _, result, record = run_fleet(
        np.zeros(20), np.full(20, 600.0), np.zeros(20, int), model, 3600.0
    )
    np.testing.assert_array_equal(record.started_s, np.zeros(3))
    np.testing.assert_array_equal(result.admit_s, np.full(20, 60.0))
    three = GpuNeed(mig=mig_profile("a100-40gb", "3g.20gb"))
    model = fleet_model([(4.0, 16.0)], [three], gpus=8, target_utilisation=1.0, max_hosts=20)
    _, result, record = run_fleet(
        np.zeros(32), np.full(32, 600.0), np.zeros(32, int), model, 3600.0
    )
    np.testing.assert_array_equal(record.started_s, np.zeros(2))


@pytest.mark.parametrize(("boot_s", "noted"), [(600.0, False), (1800.0, True)])
def test_a_fleet_mostly_booting_says_so(boot_s: float, noted: bool) -> None:
    """One host, booted at the burst (t = 0) and kept to the horizon (1 h): it boots for
    boot_s of its 3,600 s, billed with nothing on it. Past a quarter of the hosts' time
    the run says so (a 1000-day boot gave a bill, 0 hosts on average and no word why)."""
    data = _fleet_scenario(
        autoscaling={
            "min_hosts": 0,
            "max_hosts": 1,
            "boot_time": {"kind": "fixed", "value": f"{boot_s:g}s"},
            "idle_cooldown": "2h",
        }
    )
    result = simulate(scenario_from_dict(data))
    fleets = [run.metrics.fleet for run in result.runs["fleet"]]
    assert booting_share([f for f in fleets if f is not None]) == pytest.approx(
        boot_s / 3600, rel=1e-9
    )
    notes = [n for n in result.summary()["warnings"] if "spent booting" in n]
    assert bool(notes) is noted
    if noted:
        assert notes == [
            "fleet: 50% of the hosts' time within the horizon was spent booting: billed, "
            "with no sandbox on them (see fleet.autoscaling.boot_time, and min_hosts or "
            "idle_cooldown to keep hosts up rather than boot them again)"
        ]
