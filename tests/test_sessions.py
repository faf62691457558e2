"""Agent sessions: held, pause/resume and per-call, against closed forms and the engines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import simulator as ss
from simulator.engine.activations import expand
from simulator.engine.admission import Limits, run_admission
from simulator.engine.dynamic import DynamicEngine, FixedLatencyLauncher
from simulator.engine.model import TokenBucket
from simulator.intervals import peak_overlap
from simulator.workload import sample_workloads
from support import scenario_dict, theory_catalog

FIXED_SESSION = {
    "tool_calls": {"kind": "fixed", "value": 5},
    "call_duration": {"kind": "fixed", "value": "2s"},
    "think_gap": {"kind": "fixed", "value": "3s"},
}


def session_workload(session: dict, per_hour: float = 60, memory: str = "2GiB") -> dict:
    return {
        "name": "agents",
        "arrivals": {"kind": "poisson", "per_hour": per_hour},
        "session": session,
        "shape": {"vcpu": 1, "memory": memory},
    }


def run(
    session: dict, mode: str, catalog_args: dict | None = None, **scenario: object
) -> ss.SimulationResult:
    spec = scenario_dict(
        replications=2,
        workloads=[session_workload(session)],
        platforms=[{"profile": "theory", "session_mode": mode}],
    )
    spec.update(scenario)
    return ss.simulate(ss.scenario_from_dict(spec), catalog=theory_catalog(**(catalog_args or {})))


def vcpu_seconds(result: ss.SimulationResult) -> float:
    items = result.line_items()
    return float(items[items["component"] == "vcpu"]["quantity"].sum())


def sessions(result: ss.SimulationResult) -> int:
    return sum(
        len(np.unique(run.usage.session_index))
        for run in result.runs["theory"]
        if run.usage is not None
    )


def test_held_session_is_one_sandbox_for_calls_and_gaps() -> None:
    result = run(FIXED_SESSION, "held")
    usage = result.runs["theory"][0].usage
    assert usage is not None
    np.testing.assert_allclose(usage.end_s - usage.ready_s, 5 * 2 + 4 * 3)
    assert vcpu_seconds(result) == pytest.approx(sessions(result) * 22.0)


def test_per_call_bills_only_the_calls() -> None:
    result = run(FIXED_SESSION, "per_call", {"latency_s": 0.5})
    usage = result.runs["theory"][0].usage
    assert usage is not None
    assert usage.call_index is not None
    assert np.bincount(usage.call_index).tolist() == [len(np.unique(usage.session_index))] * 5
    # each call is billed from its launch: 0.5 s launch + 2 s call
    assert vcpu_seconds(result) == pytest.approx(sessions(result) * 5 * 2.5)
    # the next call is requested when the previous is done and the model has thought
    first, second = (usage.call_index == 0), (usage.call_index == 1)
    order_first = np.argsort(usage.session_index[first])
    order_second = np.argsort(usage.session_index[second])
    np.testing.assert_allclose(
        usage.request_s[second][order_second], usage.end_s[first][order_first] + 3.0
    )


def test_pause_resume_bills_pausing_and_resuming_but_not_the_gaps() -> None:
    # 2 GiB at 1 s per GiB: 2 s of pausing after every call but the last; 0.25 s resumes
    result = run(
        FIXED_SESSION, "pause_resume", {"latency_s": 0.5, "resume_s": 0.25, "pause_per_gib_s": 1.0}
    )
    per_session = 0.5 + 5 * 2 + 4 * 2.0 + 4 * 0.25
    assert vcpu_seconds(result) == pytest.approx(sessions(result) * per_session)
    usage = result.runs["theory"][0].usage
    assert usage is not None
    assert set(np.unique(usage.launch_mode[usage.call_index > 0])) == {3}  # resumed


def test_pause_longer_than_the_gap_delays_the_next_call() -> None:
    session = {**FIXED_SESSION, "think_gap": {"kind": "fixed", "value": "1s"}}
    result = run(session, "pause_resume", {"pause_per_gib_s": 2.0})  # 4 s of pausing
    usage = result.runs["theory"][0].usage
    assert usage is not None
    first, second = usage.call_index == 0, usage.call_index == 1
    gap = (
        usage.request_s[second][np.argsort(usage.session_index[second])]
        - usage.end_s[first][np.argsort(usage.session_index[first])]
    )
    np.testing.assert_allclose(gap, 0.0, atol=1e-9)  # requested as soon as the pause is done


def _expected_calls(dist: stats.rv_continuous) -> float:
    """E[ceil(X)] for X >= 0: sum over k >= 1 of P(X > k - 1)."""
    k = np.arange(0, 200_000)
    return float(np.sum(dist.sf(k)))


@pytest.mark.parametrize("mode", ["held", "per_call"])
def test_billed_seconds_per_session_match_closed_form(mode: str) -> None:
    """E[billed] = E[N] E[call] + (E[N] - 1) E[gap] (held) or E[N] E[call] (per call)."""
    session = {
        "tool_calls": {"kind": "lognormal", "median": 6, "p90": 30},
        "call_duration": {"kind": "exponential", "mean": "4s"},
        "think_gap": {"kind": "exponential", "mean": "10s"},
    }
    result = run(
        session,
        mode,
        horizon="6h",
        replications=4,
        workloads=[session_workload(session, per_hour=400)],
    )
    calls = stats.lognorm(math.log(30 / 6) / stats.norm.ppf(0.9), scale=6.0)
    mean_calls = _expected_calls(calls)
    expected = mean_calls * 4.0 + ((mean_calls - 1) * 10.0 if mode == "held" else 0.0)
    per_session = []
    for replication in result.runs["theory"]:
        usage = replication.usage
        assert usage is not None
        assert usage.session_index is not None
        billed = np.bincount(usage.session_index, weights=usage.end_s - usage.launch_start_s)
        per_session.append(billed[np.bincount(usage.session_index) > 0])
    values = np.concatenate(per_session)
    tolerance = 4.5 * values.std(ddof=1) / math.sqrt(values.size)
    assert abs(values.mean() - expected) < tolerance, (values.mean(), expected, tolerance)


def test_fan_out_runs_parallel_sandboxes() -> None:
    session = {**FIXED_SESSION, "parallel_sandboxes": 3}
    result = run(session, "held")
    usage = result.runs["theory"][0].usage
    assert usage is not None
    assert usage.session_index is not None
    assert set(np.bincount(usage.session_index).tolist()) == {3}


def _acts_and_inputs(mode: str, n_hours: float = 4.0, seed: int = 3):
    scenario = ss.scenario_from_dict(
        scenario_dict(
            horizon=n_hours * 3600,
            seed=seed,
            workloads=[
                session_workload(
                    {
                        "tool_calls": {"kind": "lognormal", "median": 5, "p90": 20},
                        "call_duration": {"kind": "lognormal", "median": "1s", "p90": "20s"},
                        "think_gap": {"kind": "exponential", "mean": "6s"},
                    },
                    per_hour=600,
                ),
                {
                    "name": "one-shot",
                    "arrivals": {"kind": "poisson", "per_hour": 900},
                    "duration": {"kind": "exponential", "mean": "30s"},
                    "shape": {"vcpu": 2, "memory": 1},
                },
            ],
        )
    )
    sampled = sample_workloads(scenario, 0)
    acts = expand(sampled, mode, (1.0, 0.0))  # type: ignore[arg-type]
    rng = np.random.default_rng(seed)
    latency = rng.uniform(0.1, 1.0, acts.size)
    return acts, latency


@pytest.mark.parametrize("mode", ["per_call", "pause_resume"])
def test_dynamic_engine_equals_running_sum_when_nothing_waits(mode: str) -> None:
    from simulator.engine.activations import chain_without_waits

    acts, latency = _acts_and_inputs(mode)
    call_run = acts.call_s.copy()
    request, _ready, end = chain_without_waits(acts, latency, call_run)
    engine = DynamicEngine(acts, call_run, Limits(), [], FixedLatencyLauncher(latency))
    result = engine.run()
    np.testing.assert_allclose(result.request_s, request, rtol=0, atol=1e-6)
    np.testing.assert_allclose(result.end_s, end, rtol=0, atol=1e-6)


def test_dynamic_engine_equals_fast_gate_on_one_shot_requests() -> None:
    rng = np.random.default_rng(7)
    n = 5000
    request = np.cumsum(rng.exponential(0.1, n))
    latency = rng.uniform(0, 0.3, n)
    run_s = rng.exponential(1.2, n)
    vcpu = rng.choice([1.0, 2.0], n)
    from simulator.engine.activations import Activations

    acts = Activations.one_shot(request, run_s)
    for limits in (
        Limits(quota=10),
        Limits(quota=12, reject_over_quota=True),
        Limits(quota=11, queue_timeout_s=0.5),
        Limits(resource_quotas=(18.0,), launch_rate=TokenBucket(9.0, 5)),
    ):
        use = [vcpu] if limits.resource_quotas else []
        fast = run_admission(request, latency, run_s, limits, use)
        dynamic = DynamicEngine(acts, run_s, limits, use, FixedLatencyLauncher(latency)).run()
        np.testing.assert_array_equal(np.isnan(fast.admit_s), np.isnan(dynamic.admit_s))
        served = ~np.isnan(fast.admit_s)
        np.testing.assert_allclose(dynamic.admit_s[served], fast.admit_s[served], atol=1e-9)
        np.testing.assert_allclose(dynamic.end_s[served], fast.end_s[served], atol=1e-9)


@pytest.mark.parametrize("mode", ["per_call", "pause_resume", "held"])
def test_sessions_under_a_binding_quota(mode: str) -> None:
    acts, latency = _acts_and_inputs(mode)
    limits = Limits(quota=6, launch_rate=TokenBucket(2.0, 4))
    result = DynamicEngine(acts, acts.call_s, limits, [], FixedLatencyLauncher(latency)).run()
    served = result.requested & ~np.isnan(result.admit_s)
    assert result.requested.all()  # a queue without timeout serves every call
    assert peak_overlap(result.admit_s[served], result.end_s[served]) <= 6
    waits = result.admit_s - result.request_s
    assert (waits > 1e-9).mean() > 0.05  # the quota binds
    # each activation is requested after its predecessor ended
    has_next = acts.next_index >= 0
    following = acts.next_index[has_next]
    assert np.all(result.request_s[following] >= result.end_s[has_next] - 1e-9)
    # admission in request order (FIFO)
    order = np.lexsort((np.arange(acts.size), result.request_s))
    admitted = result.admit_s[order]
    assert np.all(np.diff(admitted) >= -1e-9)


def test_rejected_call_ends_its_session() -> None:
    acts, latency = _acts_and_inputs("per_call")
    result = DynamicEngine(
        acts,
        acts.call_s,
        Limits(quota=3, reject_over_quota=True),
        [],
        FixedLatencyLauncher(latency),
    ).run()
    rejected = result.requested & np.isnan(result.admit_s)
    assert rejected.any()
    later = acts.next_index[rejected]
    assert not result.requested[later[later >= 0]].any()


def test_session_scenario_through_the_cli_pipeline() -> None:
    scenario = ss.load_scenario("agent-sessions")
    result = ss.simulate(scenario, replications=1)
    summary = result.summary()
    assert summary["platforms"]["e2b-pause"]["sessions"]["count"] > 0
    held = summary["platforms"]["e2b"]["cost_usd"]["per_month"]["mean"]
    paused = summary["platforms"]["e2b-pause"]["cost_usd"]["per_month"]["mean"]
    assert paused < held  # think gaps are not billed when paused


@settings(max_examples=300)
@given(
    case=st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 6), min_size=n, max_size=n),
            st.lists(st.integers(0, 3), min_size=n, max_size=n),
            st.lists(st.integers(0, 8), min_size=n, max_size=n),
            st.lists(st.sampled_from([1.0, 2.0]), min_size=n, max_size=n),
        )
    ),
    quota=st.integers(1, 4),
    vcpu=st.sampled_from([None, 3.0]),
    reject=st.booleans(),
    timeout=st.sampled_from([None, 0.0, 2.0]),
    rate=st.sampled_from([None, TokenBucket(1.0, 1), TokenBucket(0.5, 3)]),
)
def test_dynamic_engine_equals_fast_gate_on_any_input(
    case, quota, vcpu, reject, timeout, rate
) -> None:  # type: ignore[no-untyped-def]
    """On one-shot requests the general engine and the fast gate decide everything alike,
    ties included (integer times make ties common)."""
    from simulator.engine.activations import Activations

    gaps, latency, run_s, use = (np.asarray(x, dtype=np.float64) for x in case)
    request = np.cumsum(gaps)
    acts = Activations.one_shot(request, run_s)
    limits = Limits(quota, (vcpu,), reject, None if reject else timeout, rate)
    fast = run_admission(request, latency, run_s, limits, [use])
    dynamic = DynamicEngine(acts, run_s, limits, [use], FixedLatencyLauncher(latency)).run()
    np.testing.assert_array_equal(fast.admit_s, dynamic.admit_s)
    np.testing.assert_array_equal(fast.end_s, dynamic.end_s)
    np.testing.assert_array_equal(fast.gave_up, dynamic.gave_up)


def test_sessions_cut_short_by_a_queue_timeout_count_as_failed() -> None:
    # 600 sessions an hour of 5 calls of 20 s on a quota of 3 with a 5 s queue timeout:
    # many calls give up waiting, which ends their session like a rejection would
    session = {
        "tool_calls": {"kind": "fixed", "value": 5},
        "call_duration": {"kind": "fixed", "value": "20s"},
        "think_gap": {"kind": "fixed", "value": "3s"},
    }
    scenario = ss.scenario_from_dict(
        scenario_dict(
            replications=1,
            workloads=[
                {
                    "name": "agents",
                    "arrivals": {"kind": "poisson", "per_hour": 600},
                    "session": session,
                    "shape": {"vcpu": 1, "memory": "2GiB"},
                }
            ],
            platforms=[{"profile": "theory", "session_mode": "per_call", "queue_timeout": "5s"}],
        )
    )
    result = ss.simulate(scenario, catalog=theory_catalog(concurrency=3, latency_s=1.0))
    usage = result.runs["theory"][0].usage
    assert usage is not None
    assert usage.session_index is not None
    sessions = result.summary()["platforms"]["theory"]["sessions"]
    assert result.summary()["platforms"]["theory"]["sandboxes"]["abandoned"] > 0
    # a session that did not fail completed all 5 calls
    completed = np.bincount(usage.session_index[usage.outcome == 0], minlength=1)
    whole = int(np.count_nonzero(completed == 5))
    assert sessions["failed"] == sessions["count"] - whole
    assert sessions["failed"] > 0


def _warnings(**platform: object) -> list[str]:
    session = {
        "tool_calls": {"kind": "fixed", "value": 5},
        "call_duration": {"kind": "fixed", "value": "20s"},
        "think_gap": {"kind": "fixed", "value": "5m"},
    }
    scenario = ss.scenario_from_dict(
        scenario_dict(
            replications=1,
            workloads=[
                {
                    "name": "agents",
                    "arrivals": {"kind": "poisson", "per_hour": 120},
                    "session": session,
                    "shape": {"vcpu": 1, "memory": "2GiB"},
                }
            ],
            platforms=[{"profile": "theory", **platform}],
        )
    )
    return ss.simulate(scenario, catalog=theory_catalog(latency_s=1.0)).summary()["warnings"]


def test_session_calls_after_the_horizon_are_no_backlog() -> None:
    # sessions take 20 minutes, so those that start in the last 20 minutes of the hour
    # call after it ends: about a third of the calls, but nothing waits
    for mode in ("per_call", "pause_resume"):
        assert not any("cannot keep up" in note for note in _warnings(session_mode=mode))


def test_a_real_backlog_is_reported() -> None:
    # held sessions of 21 minutes arriving at 2 a minute on a quota of 5: most wait
    warnings = _warnings(session_mode="held", quota=5)
    assert any("cannot keep up" in note for note in warnings)


def test_lifetime_cap_reports_the_share_of_run_time_it_cut() -> None:
    # four 100 s tasks under a 60 s cap: all four stopped, 4 x 40 s of 4 x 100 s cut
    scenario = ss.scenario_from_dict(
        scenario_dict(
            replications=1,
            workloads=[
                {
                    "name": "w",
                    "arrivals": {"kind": "burst", "count": 4, "at": "1m"},
                    "duration": {"kind": "fixed", "value": "100s"},
                    "shape": {"vcpu": 1, "memory": 1},
                }
            ],
            platforms=[{"profile": "theory", "max_lifetime": "60s"}],
        )
    )
    warnings = ss.simulate(scenario, catalog=theory_catalog()).summary()["warnings"]
    note = next(n for n in warnings if "maximum lifetime" in n)
    assert "of 1 min stopped 4 sandboxes per replication (1 of requested)" in note
    assert "cut 0.4 of the run time" in note
