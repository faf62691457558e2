"""The event engine against hand-computed cases, the vector form and a plain SimPy model."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.engine.admission import Limits, run_admission
from simulator.engine.model import TokenBucket
from simulator.engine.reference import run_reference
from simulator.engine.vector import quota_binds, run_vector, token_bucket_starts
from simulator.intervals import (
    count_over_time,
    peak_overlap,
    peak_weighted_overlap,
    time_weighted_mean,
)


def arrays(*values: list[float]) -> list[np.ndarray]:
    return [np.asarray(v, dtype=np.float64) for v in values]


def test_single_slot_queue_serves_in_order() -> None:
    request, latency, run = arrays([0, 1, 2], [0, 0, 0], [5, 5, 5])
    result = run_admission(request, latency, run, Limits(quota=1))
    assert result.admit_s.tolist() == [0, 5, 10]
    assert result.end_s.tolist() == [5, 10, 15]


def test_launch_latency_holds_the_slot() -> None:
    request, latency, run = arrays([0, 0], [2, 2], [3, 3])
    result = run_admission(request, latency, run, Limits(quota=1))
    assert result.ready_s.tolist() == [2, 7]
    assert result.end_s.tolist() == [5, 10]


def test_reject_when_full_and_departure_first_on_ties() -> None:
    # the first ends at exactly 4, when the third arrives: the departure goes first
    request, latency, run = arrays([0, 1, 4, 4.5], [0, 0, 0, 0], [4, 10, 1, 1])
    result = run_admission(request, latency, run, Limits(quota=2, reject_over_quota=True))
    assert result.admit_s.tolist()[:3] == [0, 1, 4]
    assert math.isnan(result.admit_s[3])  # slots held by #2 (until 11) and #3 (until 5)


def test_queue_timeout_gives_up() -> None:
    request, latency, run = arrays([0, 1, 2], [0, 0, 0], [10, 1, 1])
    result = run_admission(request, latency, run, Limits(quota=1, queue_timeout_s=5.0))
    assert result.admit_s[0] == 0
    assert np.isnan(result.admit_s[1])
    assert np.isnan(result.admit_s[2])


def test_queue_timeout_keeps_those_served_in_time() -> None:
    request, latency, run = arrays([0, 1, 2], [0, 0, 0], [3, 3, 3])
    result = run_admission(request, latency, run, Limits(quota=1, queue_timeout_s=2.5))
    assert result.admit_s[1] == 3  # waited 2 <= 2.5
    assert np.isnan(result.admit_s[2])  # would wait until 6, 4 > 2.5


def test_weighted_quota_is_fifo_with_head_of_line_blocking() -> None:
    # vCPU quota 4: a 4-vCPU request at the head blocks a 1-vCPU request behind it
    request, latency, run = arrays([0, 1, 2], [0, 0, 0], [10, 1, 1])
    vcpu = np.array([2.0, 4.0, 1.0])
    result = run_admission(request, latency, run, Limits(resource_quotas=(4.0,)), [vcpu])
    assert result.admit_s.tolist() == [0, 10, 11]


def test_weighted_quota_admits_what_fits() -> None:
    request, latency, run = arrays([0, 1, 2], [0, 0, 0], [10, 10, 10])
    vcpu = np.array([2.0, 1.0, 1.0])
    result = run_admission(request, latency, run, Limits(resource_quotas=(4.0,)), [vcpu])
    assert result.admit_s.tolist() == [0, 1, 2]


def test_token_bucket_burst_then_rate() -> None:
    n, burst, rate = 50, 10, 5.0
    request = np.zeros(n)
    starts = token_bucket_starts(request, TokenBucket(rate, burst))
    expected = np.maximum(0.0, (np.arange(n) - burst + 1) / rate)
    np.testing.assert_allclose(starts, expected, atol=1e-12)
    assert starts[-1] == pytest.approx((n - burst) / rate)


def test_token_bucket_refills_while_idle() -> None:
    rate = TokenBucket(per_second=1.0, burst=2)
    starts = token_bucket_starts(np.array([0.0, 0.0, 0.0, 10.0, 10.0, 10.0]), rate)
    np.testing.assert_allclose(starts, [0, 0, 1, 10, 10, 11])


def test_vector_form_equals_event_engine_without_binding_quota() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    request = np.cumsum(rng.exponential(0.05, n))
    latency = rng.lognormal(-1, 0.5, n)
    run = rng.exponential(3.0, n)
    rate = TokenBucket(per_second=15.0, burst=20)
    vector = run_vector(request, latency, run, rate)
    assert not quota_binds(vector, quota=None)
    event = run_admission(request, latency, run, Limits(launch_rate=rate))
    for column in ("admit_s", "launch_start_s", "ready_s", "end_s"):
        np.testing.assert_allclose(
            getattr(event, column), getattr(vector, column), rtol=0, atol=1e-9
        )


@pytest.mark.parametrize("reject", [False, True])
def test_event_engine_matches_plain_simpy_model(reject: bool) -> None:
    rng = np.random.default_rng(5)
    n = 30_000
    request = np.cumsum(rng.exponential(1 / 9.5, n))
    latency = rng.uniform(0.0, 0.2, n)
    run = rng.exponential(1.0, n)
    engine = run_admission(request, latency, run, Limits(quota=10, reject_over_quota=reject))
    reference = run_reference(request, latency, run, quota=10, reject_over_quota=reject)
    np.testing.assert_array_equal(np.isnan(engine.admit_s), np.isnan(reference.admit_s))
    served = ~np.isnan(engine.admit_s)
    np.testing.assert_allclose(engine.admit_s[served], reference.admit_s[served], rtol=0, atol=1e-6)
    np.testing.assert_allclose(engine.end_s[served], reference.end_s[served], rtol=0, atol=1e-6)
    if reject:
        assert 0 < np.isnan(engine.admit_s).mean() < 0.5
    else:
        assert (engine.admit_s > request + 1e-9).mean() > 0.1  # the quota binds


def test_more_quota_never_raises_any_wait() -> None:
    """FIFO multi-server waits are pathwise non-increasing in the number of servers."""
    rng = np.random.default_rng(9)
    n = 20_000
    request = np.cumsum(rng.exponential(1 / 9, n))
    latency = rng.uniform(0.0, 0.5, n)
    run = rng.lognormal(-0.2, 0.8, n)
    previous = None
    for quota in (9, 10, 12, 16):
        waits = run_admission(request, latency, run, Limits(quota=quota)).admit_s - request
        if previous is not None:
            assert np.all(waits <= previous + 1e-9)
            assert waits.mean() < previous.mean()
        previous = waits


def test_interval_statistics_by_hand() -> None:
    start, end = arrays([0, 1, 2, 6], [4, 3, 8, 7])
    assert peak_overlap(start, end) == 3
    assert peak_weighted_overlap(start, end, np.array([1.0, 2.0, 4.0, 8.0])) == 12.0
    assert time_weighted_mean(start, end, 10.0) == pytest.approx((4 + 2 + 6 + 1) / 10)
    assert time_weighted_mean(start, end, 5.0) == pytest.approx((4 + 2 + 3 + 0) / 5)
    bins = count_over_time(start, end, 8.0, 2.0)
    np.testing.assert_allclose(bins, [1.5, 2.5, 1.0, 1.5])


def test_end_exactly_at_start_does_not_overlap() -> None:
    start, end = arrays([0, 5], [5, 10])
    assert peak_overlap(start, end) == 1
    assert peak_weighted_overlap(start, end, np.ones(2)) == 1.0


@st.composite
def engine_cases(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    n = draw(st.integers(1, 60))
    gaps = draw(st.lists(st.floats(0, 3), min_size=n, max_size=n))
    request = np.cumsum(np.asarray(gaps))
    latency = np.asarray(draw(st.lists(st.floats(0, 2), min_size=n, max_size=n)))
    run = np.asarray(draw(st.lists(st.floats(0, 10), min_size=n, max_size=n)))
    vcpu = np.asarray(draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 4.0]), min_size=n, max_size=n)))
    return request, latency, run, vcpu


@settings(max_examples=200)
@given(
    case=engine_cases(),
    quota=st.integers(1, 6),
    vcpu_quota=st.sampled_from([None, 4.0, 6.5]),
    reject=st.booleans(),
    timeout=st.sampled_from([None, 0.0, 2.5]),
    rate=st.sampled_from([None, TokenBucket(2.0, 1), TokenBucket(0.5, 3)]),
)
def test_engine_invariants(
    case: tuple[np.ndarray, ...],
    quota: int,
    vcpu_quota: float | None,
    reject: bool,
    timeout: float | None,
    rate: TokenBucket | None,
) -> None:
    """Whatever the input: times are ordered, no quota is ever exceeded, admission is FIFO."""
    request, latency, run, vcpu = case
    limits = Limits(quota, (vcpu_quota,), reject, None if reject else timeout, rate)
    result = run_admission(request, latency, run, limits, [vcpu])
    served = ~np.isnan(result.admit_s)
    admit, start, ready, end = (
        getattr(result, c)[served] for c in ("admit_s", "launch_start_s", "ready_s", "end_s")
    )
    assert np.all(request[served] <= admit)
    assert np.all(admit <= start)
    np.testing.assert_allclose(ready - start, latency[served], atol=1e-9)
    np.testing.assert_allclose(end - ready, run[served], atol=1e-9)
    assert np.all(np.diff(admit) >= 0)  # first in, first out
    assert peak_overlap(admit, end) <= quota
    if vcpu_quota is not None:
        assert peak_weighted_overlap(admit, end, vcpu[served]) <= vcpu_quota + 1e-9
    if not reject and timeout is None:
        assert served.all()  # a queue without timeout serves everyone
    if not reject and timeout is not None:
        # the timeout counts from reaching the quota, after the launch token
        assert np.all(admit - result.token_s[served] <= timeout + 1e-9)


def test_a_throttled_request_holds_no_quota_slot() -> None:
    # quota 2, one launch token per second: launches are spaced by the token, and a
    # request waiting for its token does not occupy a slot meanwhile
    request, latency, run = arrays([0, 0, 0], [0, 0, 0], [0.5, 0.5, 0.5])
    result = run_admission(request, latency, run, Limits(quota=2, launch_rate=TokenBucket(1.0, 1)))
    assert result.token_s.tolist() == [0, 1, 2]
    assert result.admit_s.tolist() == [0, 1, 2]


def test_reject_sees_every_departure_at_the_same_instant() -> None:
    # two sandboxes end at 5 exactly when a third arrives: both departures free room first
    request, latency, run = arrays([0, 0, 5, 5], [0, 0, 0, 0], [5, 5, 1, 1])
    result = run_admission(request, latency, run, Limits(quota=2, reject_over_quota=True))
    assert not np.isnan(result.admit_s).any()


def test_gave_up_requests_are_marked() -> None:
    request, latency, run = arrays([0, 1], [0, 0], [10, 1])
    result = run_admission(request, latency, run, Limits(quota=1, queue_timeout_s=2.0))
    assert result.gave_up.tolist() == [False, True]
