"""The placement index picks exactly what a scan over every host picks, and a fleet's
integrals equal a replay of the sandboxes' holds written here, independently of the
engine. (Whole runs with the index, with a scan and with a wake-up at every request are
compared in test_fleet.py's property test.)"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fleet import CAPACITY, assert_same_run, fleet_model, poisson_requests

from simulator import packing
from simulator.engine.activations import Activations
from simulator.engine.fleet import INDEXED_SHAPES_AT_MOST, FleetEngine, FleetRecord

POLICIES = st.sampled_from(packing.ONLINE_POLICIES)
# rooms on a coarse grid, so that ties (which go to the lowest host index) are common
ROOM = st.integers(-1, 8).map(lambda k: k / 8)


@settings(max_examples=200, deadline=None)
@given(
    policy=POLICIES,
    resources=st.sampled_from([1, 2, 2, 3]),  # two (the engine's case) most often
    shapes=st.integers(1, 4),
    gated=st.booleans(),
    steps=st.lists(
        st.tuples(
            st.integers(0, 5),
            st.lists(ROOM, min_size=3, max_size=3),
            st.lists(st.integers(0, 3), min_size=2, max_size=2),
            st.integers(0, 3),
            st.sampled_from(["any", "shrink", "grow"]),
        ),
        min_size=20,
        max_size=80,
    ),
    seed=st.integers(0, 1000),
)
def test_index_picks_what_a_scan_picks(
    policy: packing.OnlinePolicy,
    resources: int,
    shapes: int,
    gated: bool,
    steps: list[tuple[int, list[float], list[int], int, str]],
    seed: int,
) -> None:
    """After every change to one host, the index's pick equals a scan's over the hosts the
    shape's gates let in (with gates: two per host, each shape needing one, both or none).
    Changes that shrink an open host's room and gates (as a placement does) are told so,
    and the index then leaves lower bounds of the host's score in place."""
    rng = np.random.default_rng(seed)
    demands = np.round(rng.uniform(0, 0.5, (shapes, resources)) * 8) / 8
    gate_needs = np.where(rng.random((shapes, 2)) < 0.5, -np.inf, rng.integers(0, 4, (shapes, 2)))
    index = packing.PlacementIndex(policy, demands, gate_needs.tolist() if gated else None)
    free = np.empty((0, resources))
    gates = np.empty((0, 2))
    for host, room, host_gates, shape, direction in steps:
        while index.free.shape[0] <= host:  # hosts join closed, as in the engine
            assert index.add_host() == free.shape[0]
            free = np.vstack([free, np.full(resources, -1.0)])
            gates = np.vstack([gates, np.zeros(2)])
        was_open = free[host, 0] >= 0
        new_room, new_gates = np.array(room[:resources]), np.array(host_gates, dtype=float)
        if was_open and direction != "any" and new_room[0] >= 0:
            pick = np.minimum if direction == "shrink" else np.maximum
            new_room, new_gates = pick(free[host], new_room), pick(gates[host], new_gates)
        if new_room[0] < 0:
            index.close(host)
            free[host] = -1.0
        else:
            shrank = bool(
                was_open and (new_room <= free[host]).all() and (new_gates <= gates[host]).all()
            )
            index.set_free(host, tuple(new_room), tuple(new_gates), shrank)
            free[host] = new_room
            gates[host] = new_gates
        shape %= shapes
        open_to_shape = free.copy()
        if gated:
            open_to_shape[~(gates >= gate_needs[shape]).all(1)] = -1.0
        assert index.choose(shape) == packing.choose(policy, open_to_shape, demands[shape])
        assert np.array_equal(index.free, free)


def _run(engine: type[FleetEngine], *args: Any, **kwargs: Any) -> tuple[Any, FleetRecord]:
    fleet = engine(*args, **kwargs)
    return fleet.run(), fleet.record()


def _replayed_integrals(
    demand: np.ndarray,
    host_of: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    hosts: int,
    horizon: float,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Allocated and stranded vCPU-s and GiB-s, and the volume bound's host-seconds, over
    the horizon, by stepping through every instant anything starts or ends."""
    smallest = [
        d
        for d in map(tuple, demand)
        if not any(o != d and o[0] <= d[0] and o[1] <= d[1] for o in map(tuple, demand))
    ]
    instants = np.unique(np.concatenate([[0.0, horizon], start, end]))
    instants = instants[instants <= horizon]
    allocated, stranded, bound = np.zeros(2), np.zeros(2), 0.0
    for left, right in itertools.pairwise(instants):
        held = (start <= left) & (end > left)
        used = np.zeros((hosts, 2))
        np.add.at(used, host_of[held], demand[held])
        span = right - left
        allocated += used.sum(0) * span
        for room in np.asarray(CAPACITY) - used:
            if not any(v <= room[0] + 1e-9 and m <= room[1] + 1e-9 for v, m in smallest):
                stranded += room * span
        share = max(used[:, 0].sum() / CAPACITY[0], used[:, 1].sum() / CAPACITY[1])
        bound += max(math.ceil(share - 1e-9), 0) * span
    return allocated, stranded, bound


@settings(max_examples=30, deadline=None)
@given(
    shapes=st.lists(st.tuples(st.integers(1, 48), st.integers(1, 200)), min_size=1, max_size=3),
    n=st.integers(10, 120),
    rate=st.floats(0.05, 1.0),
    mean_run=st.floats(10.0, 900.0),
    policy=POLICIES,
    hosts=st.integers(1, 6),
    seed=st.integers(0, 10_000),
)
def test_fleet_integrals_equal_a_replay_of_the_holds(
    shapes: list[tuple[int, int]],
    n: int,
    rate: float,
    mean_run: float,
    policy: str,
    hosts: int,
    seed: int,
) -> None:
    """A fleet of a fixed number of hosts (all up from the start): utilisation, stranded
    room and the volume bound against a step-by-step replay of where each sandbox ran."""
    model = fleet_model(
        [(float(v), float(m)) for v, m in shapes],
        placement=policy,
        min_hosts=hosts,
        max_hosts=hosts,
    )
    rng = np.random.default_rng(seed)
    request, run, which = poisson_requests(rng, n, rate, mean_run, len(shapes))
    acts = Activations.one_shot(request, run)
    acts.workload_index[:] = which
    horizon = float(request[-1]) * 0.8  # some work runs past the horizon
    result, record = _run(
        FleetEngine, acts, run, np.zeros(n), model, np.random.default_rng(seed), horizon
    )
    demand = np.array(shapes, dtype=np.float64)[which]
    allocated, stranded, bound = _replayed_integrals(
        demand, record.host_of, result.admit_s, result.end_s, hosts, horizon
    )
    np.testing.assert_allclose(record.allocated_integral[:2], allocated, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(record.stranded_integral[:2], stranded, rtol=1e-9, atol=1e-6)
    assert math.isclose(record.lower_bound_integral, bound, rel_tol=1e-9, abs_tol=1e-6)
    np.testing.assert_allclose(
        record.capacity_integral[:2], np.asarray(CAPACITY) * hosts * horizon, rtol=1e-12
    )


def test_requests_at_time_zero_wait_for_every_first_host() -> None:
    """Sandboxes asked for at time 0 see all the hosts a fleet starts with: worst fit
    spreads four of them over four hosts (they all went to the first host once, placed
    while the others were still being started)."""
    model = fleet_model([(8.0, 32.0)], placement="worst_fit", min_hosts=4, max_hosts=4)
    acts = Activations.one_shot(np.zeros(4), np.full(4, 60.0))
    _, record = _run(
        FleetEngine, acts, np.full(4, 60.0), np.zeros(4), model, np.random.default_rng(1), 600.0
    )
    assert sorted(record.host_of.tolist()) == [0, 1, 2, 3]


def test_many_shapes_are_scanned_with_the_same_picks() -> None:
    """A run of more shapes than the index pays for is scanned, and picks as the index
    would."""
    rng = np.random.default_rng(7)
    shapes = [(float(v), float(m)) for v, m in rng.integers(1, 33, (INDEXED_SHAPES_AT_MOST + 4, 2))]
    model = fleet_model(shapes, placement="best_fit", min_hosts=3, max_hosts=3)
    n = 600
    request = np.cumsum(rng.exponential(2.0, n))
    run = rng.exponential(300.0, n)
    acts = Activations.one_shot(request, run)
    acts.workload_index[:] = rng.integers(0, len(shapes), n)
    args = (acts, run, np.zeros(n), model, np.random.default_rng(1), float(request[-1]))
    auto = FleetEngine(*args)
    assert auto._scan
    assert_same_run((auto.run(), auto.record()), _run(FleetEngine, *args, placement_lookup="index"))


@settings(max_examples=300, deadline=None)
@given(
    scores=st.lists(
        st.one_of(
            st.floats(allow_nan=False),
            st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 1.0, -1.0]),
        ),
        min_size=2,
        max_size=8,
    ),
    hosts=st.lists(
        st.one_of(st.integers(0, 2), st.just(packing.HOST_MASK)), min_size=8, max_size=8
    ),  # few hosts, so that equal scores on one host turn up
)
def test_entries_order_as_score_then_host(scores: list[float], hosts: list[int]) -> None:
    """Heap entries are integers: they must order exactly as (score, host) tuples, with
    -0.0 equal to 0.0 as floats are."""
    index = packing.PlacementIndex("best_fit", np.ones((1, 2)))
    pairs = list(zip(scores, hosts, strict=False))
    entries = [index._key_of(score) | host for score, host in pairs]
    for (a, entry_a), (b, entry_b) in itertools.product(zip(pairs, entries, strict=True), repeat=2):
        assert (entry_a < entry_b) == (a < b)
        assert (entry_a == entry_b) == (a == b)
        assert entry_a & packing.HOST_MASK == a[1]


@settings(max_examples=30, deadline=None)
@given(policy=POLICIES, seed=st.integers(0, 1000))
def test_heaps_stay_within_a_few_entries_per_host(policy: packing.OnlinePolicy, seed: int) -> None:
    """A shape placed once and never again still gets an entry at every change of a host
    it fits: sweeps must keep its heap to a few entries per host (the limit, ``_limit``,
    is four per host and 64), or a long run's memory grows with its changes."""
    rng = np.random.default_rng(seed)
    index = packing.PlacementIndex(policy, np.array([[0.1, 0.1], [0.2, 0.1], [0.05, 0.3]]))
    hosts = 5
    for _ in range(hosts):
        index.set_free(index.add_host(), (1.0, 1.0))
    for shape in range(3):
        index.choose(shape)  # every shape watched from now on; none chosen again
    for _ in range(5_000):
        room = tuple(np.round(rng.uniform(0, 1, 2), 2).tolist())
        index.set_free(int(rng.integers(hosts)), room, shrank=bool(rng.integers(2)))
    limit = 4 * hosts + 64
    assert max(len(heap) for _, heap, _ in index._watched) <= 2 * limit + 1
