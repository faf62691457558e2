"""Shipped data and scenarios, common random numbers, seed stability and trace replay."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import simulator as ss
from simulator.catalog import bundled_dir, load_catalog
from simulator.errors import InputError
from simulator.resolve import resolve_platforms
from simulator.summary import summary_json
from simulator.workload import sample_workloads
from support import scenario_dict, shared_data, workload

SCENARIOS = sorted(bundled_dir("scenarios").rglob("*.yaml"))
REQUIRED_PROFILES = (
    "azure-aci",
    "azure-aci-ai-sandboxes",
    "aws-lambda",
    "aws-fargate",
    "gcp-cloud-run",
    "e2b",
    "modal",
)


def test_every_price_table_and_profile_loads_with_sources() -> None:
    catalog = load_catalog()
    assert set(REQUIRED_PROFILES) <= set(catalog.profiles)
    for table in catalog.price_tables.values():
        assert table.offering in catalog.profiles
        rates = [
            r
            for r in (table.vcpu, table.memory, *table.gpu.values(), table.requests)
            if r is not None
        ]
        assert rates, table.id
        assert all(r.source and r.as_of for r in rates)
    for profile in catalog.profiles.values():
        assert profile.default_price_table in catalog.price_tables
        for path in profile.launch.values():
            assert all(part.provenance.source for part in path.parts)


def test_ai_sandboxes_prices_are_marked_assumed() -> None:
    table = load_catalog().price_tables["azure-aci-ai-sandboxes-eastus"]
    assert {"vcpu", "memory"} <= set(table.assumed_items)


@pytest.mark.parametrize(
    "path", SCENARIOS, ids=[str(p.relative_to(bundled_dir("scenarios"))) for p in SCENARIOS]
)
def test_every_shipped_scenario_validates_and_runs(path: Path) -> None:
    scenario = ss.load_scenario(path)
    resolve_platforms(scenario, load_catalog())
    result = ss.simulate(scenario, replications=2)
    summary = result.summary()
    assert set(summary["platforms"]) == {p.id for p in scenario.platforms}
    for platform in summary["platforms"].values():
        assert platform["sandboxes"]["requested"] > 0
        assert platform["cost_usd"]["horizon"]["mean"] > 0
        assert platform["time_to_ready_s"]["p50"] > 0


def test_coding_agent_fleet_matches_its_description() -> None:
    scenario = ss.load_scenario("coding-agent-fleet")
    (fleet,) = scenario.workloads
    assert fleet.arrivals.expected_count(86400) == pytest.approx(20000)
    assert fleet.duration.quantile(0.5) == pytest.approx(45)  # type: ignore[union-attr]
    assert fleet.duration.quantile(0.95) == pytest.approx(600)  # type: ignore[union-attr]
    assert {p.profile for p in scenario.platforms} >= set(REQUIRED_PROFILES)


def test_same_workload_on_every_platform() -> None:
    """Common random numbers: every platform replays the same requests and durations."""
    scenario = ss.load_scenario("duration-contrast")
    result = ss.simulate(scenario, replications=2)
    for replication in range(2):
        usages = [result.runs[p][replication].usage for p in result.platform_ids]
        first = usages[0]
        for usage in usages[1:]:
            assert usage is not None
            assert first is not None
            np.testing.assert_array_equal(usage.request_s, first.request_s)
            np.testing.assert_array_equal(usage.workload_index, first.workload_index)
    # replications differ from each other
    a, b = (result.runs["aws-lambda"][r].usage for r in range(2))
    assert a is not None
    assert b is not None
    assert not np.array_equal(a.request_s[:100], b.request_s[:100])


def test_adding_a_platform_does_not_change_the_others() -> None:
    base = scenario_dict(platforms=[{"profile": "aws-lambda"}])
    more = scenario_dict(platforms=[{"profile": "modal"}, {"profile": "aws-lambda"}])
    one = ss.simulate(ss.scenario_from_dict(base)).summary()["platforms"]["aws-lambda"]
    two = ss.simulate(ss.scenario_from_dict(more)).summary()["platforms"]["aws-lambda"]
    assert one == two


def test_same_seed_gives_byte_identical_summary(tmp_path: Path) -> None:
    scenario = ss.load_scenario("gpu-tools")
    first = ss.simulate(scenario, replications=3).write(tmp_path / "a")
    second = ss.simulate(scenario, replications=3).write(tmp_path / "b")
    assert first["summary"].read_bytes() == second["summary"].read_bytes()
    assert first["line_items"].read_bytes() == second["line_items"].read_bytes()
    other = ss.simulate(scenario, replications=3, seed=scenario.seed + 1)
    assert summary_json(other.summary()) != first["summary"].read_text()


def test_duration_contrast_is_driven_by_duration() -> None:
    result = ss.simulate(ss.load_scenario("duration-contrast"), replications=2)
    summary = result.summary()["platforms"]
    for platform_id, platform in summary.items():
        by_workload = platform["cost_usd"]["by_workload"]
        short, long = (
            by_workload["short-tool-calls"]["horizon"],
            by_workload["long-sessions"]["horizon"],
        )
        # same count and shape; 10-minute sessions cost more than 2-second calls on every platform
        assert long > 5 * short, platform_id
    fargate = summary["aws-fargate"]["cost_usd"]["by_workload"]
    lambda_ = summary["aws-lambda"]["cost_usd"]["by_workload"]
    # Fargate's 60-second minimum makes short calls far dearer there than on Lambda
    assert fargate["short-tool-calls"]["horizon"] > 5 * lambda_["short-tool-calls"]["horizon"]


def test_trace_replay_reproduces_real_request_counts_per_minute(tmp_path: Path) -> None:
    """The Azure LLM inference trace (Splitwise, ISCA'24) replays exactly: counts per minute."""
    trace = shared_data("traces", "azure_llm_inference_2023", "AzureLLMInferenceTrace_code.csv")
    expected = Counter(line.split(",")[0][:16] for line in trace.read_text().splitlines()[1:])
    scenario = ss.scenario_from_dict(
        scenario_dict(
            horizon="1d",
            replications=1,
            workloads=[
                workload(
                    arrivals={
                        "kind": "trace",
                        "path": str(trace),
                        "timestamp_column": "TIMESTAMP",
                        "origin": "midnight",
                    }
                )
            ],
        )
    )
    sampled = sample_workloads(scenario, 0)
    assert sampled.size == sum(expected.values()) == 8819
    minutes = (sampled.request_s // 60).astype(int)
    replayed = Counter(f"2023-11-16 {m // 60:02d}:{m % 60:02d}" for m in minutes)
    assert replayed == expected
    # and the engine receives exactly those requests
    usage = ss.simulate(scenario).runs["aws-fargate"][0].usage
    assert usage is not None
    np.testing.assert_array_equal(usage.request_s, sampled.request_s)


def test_trace_with_durations(tmp_path: Path) -> None:
    csv = tmp_path / "trace.csv"
    csv.write_text("t,seconds\n5,2\n1,30\n3,7\n")
    scenario = ss.scenario_from_dict(
        scenario_dict(
            workloads=[
                {
                    "name": "t",
                    "arrivals": {
                        "kind": "trace",
                        "path": "trace.csv",
                        "timestamp_column": "t",
                        "duration_column": "seconds",
                        "origin": "0",
                    },
                    "shape": {"vcpu": 1, "memory": 2},
                }
            ]
        ),
        base_dir=tmp_path,
    )
    sampled = sample_workloads(scenario, 0)
    assert sampled.request_s.tolist() == [1, 3, 5]
    assert sampled.duration_s.tolist() == [30, 7, 2]


def test_unknown_profile_names_the_field() -> None:
    scenario = ss.scenario_from_dict(scenario_dict(platforms=[{"profile": "aws-fargat"}]))
    with pytest.raises(InputError) as caught:
        ss.simulate(scenario)
    assert "platforms[0].profile" in str(caught.value)
    assert "aws-fargate" in str(caught.value)


def test_shape_too_large_for_a_platform() -> None:
    scenario = ss.scenario_from_dict(
        scenario_dict(
            workloads=[workload(shape={"vcpu": 8, "memory": "64GiB"})],
            platforms=[{"profile": "aws-lambda"}],
        )
    )
    with pytest.raises(InputError) as caught:
        ss.simulate(scenario)
    assert "workloads[0].shape" in str(caught.value)


def test_gpu_without_a_price_is_refused() -> None:
    gpu = workload(shape={"vcpu": 4, "memory": "16GiB", "gpu": {"type": "l4"}})
    scenario = ss.scenario_from_dict(
        scenario_dict(
            workloads=[gpu],
            platforms=[
                {
                    "profile": "gcp-cloud-run-gpu",
                    "price_table": "gcp-cloud-run-gpu-instance-us-central1",
                },
                {"profile": "modal", "price_table": "modal-gpu-sandboxes"},
            ],
        )
    )
    ss.simulate(scenario, replications=1)  # both price the L4
    scenario = ss.scenario_from_dict(scenario_dict(workloads=[gpu], platforms=[{"profile": "e2b"}]))
    with pytest.raises(InputError, match="GPU"):
        ss.simulate(scenario)
    # Modal's CPU-sandbox table does not price GPUs; the error names the table that does
    scenario = ss.scenario_from_dict(
        scenario_dict(workloads=[gpu], platforms=[{"profile": "modal"}])
    )
    with pytest.raises(InputError, match="modal-gpu-sandboxes"):
        ss.simulate(scenario)


def test_negotiated_rates_replace_bundled_table(tmp_path: Path) -> None:
    source = bundled_dir("pricing") / "aws-lambda-x86-us-east-1.yaml"
    cheaper = source.read_text().replace("usd: 0.0000166667", "usd: 0.0000083333")
    (tmp_path / "lambda.yaml").write_text(cheaper)
    scenario = ss.scenario_from_dict(
        scenario_dict(
            workloads=[workload(arrivals={"kind": "poisson", "per_second": 20})],
            platforms=[{"profile": "aws-lambda"}],
        )
    )
    base = ss.simulate(scenario).summary()["platforms"]["aws-lambda"]["cost_usd"]["by_component"][
        "memory"
    ]["horizon"]
    negotiated = ss.simulate(scenario, pricing_dirs=[tmp_path]).summary()["platforms"][
        "aws-lambda"
    ]["cost_usd"]["by_component"]["memory"]["horizon"]
    assert negotiated < base
    with_field = ss.scenario_from_dict(
        scenario_dict(
            pricing_dir=str(tmp_path),
            workloads=scenario.resolved_dict()["workloads"],
            platforms=[{"profile": "aws-lambda"}],
        )
    )
    assert (
        ss.simulate(with_field).summary()["platforms"]["aws-lambda"]["cost_usd"]["by_component"][
            "memory"
        ]["horizon"]
        == negotiated
    )


def test_more_quota_never_raises_waits_in_a_scenario() -> None:
    waits = []
    for quota in (40, 50, 80):
        scenario = ss.scenario_from_dict(
            scenario_dict(
                workloads=[workload(arrivals={"kind": "poisson", "per_second": 4})],
                platforms=[{"profile": "modal", "quota": quota}],
            )
        )
        waits.append(ss.simulate(scenario).summary()["platforms"]["modal"]["queue_wait_s"]["mean"])
    assert waits[0] >= waits[1] >= waits[2]
    assert waits[0] > waits[2]


def test_lifetime_cap_counts_timeouts_and_bills_the_cap() -> None:
    scenario = ss.scenario_from_dict(
        scenario_dict(
            workloads=[workload(duration={"kind": "fixed", "value": "20m"})],
            platforms=[{"profile": "aws-lambda"}],
        )
    )
    result = ss.simulate(scenario)
    run = result.runs["aws-lambda"][0]
    assert run.metrics.timed_out == run.metrics.launched > 0
    usage = run.usage
    assert usage is not None
    np.testing.assert_allclose(usage.end_s - usage.ready_s, 900.0)


def test_agent_sessions_span_matches_the_published_copilot_session_duration() -> None:
    """The sampled session span (calls and gaps back to back) against the Copilot traces'
    session duration: mean 62.6 min, median 4.2 min (Liu et al., arXiv 2608.00101). With
    n sessions, the mean must lie within 4 standard errors (sample sd / sqrt(n)); the
    median between the order statistics n/2 -+ 2 sqrt(n) (4 sigma of the binomial count
    of spans below the true median)."""
    scenario = ss.load_scenario("agent-sessions")
    spans = np.concatenate([sample_workloads(scenario, r).tracks.span_s() for r in range(20)])
    n = spans.size
    assert n > 15_000
    tolerance = 4 * spans.std(ddof=1) / np.sqrt(n)
    assert abs(spans.mean() - 62.6 * 60) < tolerance
    ordered = np.sort(spans)
    half_width = int(np.ceil(2 * np.sqrt(n)))
    assert ordered[n // 2 - half_width] <= 4.2 * 60 <= ordered[n // 2 + half_width]
