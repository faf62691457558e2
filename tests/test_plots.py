"""Figures draw what the model computed: bar heights are the billed spend, CDFs end at
one and cross the median the summary reports, concurrency averages to the engine's
time-weighted mean; every figure has a title and labelled axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from simulator import plots
from simulator.runner import SimulationResult, simulate
from simulator.scenario import load_scenario, scenario_from_dict
from support import scenario_dict, workload


@pytest.fixture(scope="module")
def result() -> SimulationResult:
    data = scenario_dict(
        horizon="2h",
        replications=3,
        workloads=[
            workload(
                arrivals={"kind": "poisson", "per_second": 0.5},
                duration={"kind": "lognormal", "median": "20s", "p95": "3m"},
            )
        ],
        platforms=[
            {"profile": "aws-fargate", "vcpu_quota": "unlimited"},
            {"profile": "e2b"},
            {"profile": "aws-lambda"},
        ],
    )
    return simulate(scenario_from_dict(data))


def _labelled(figure: Figure) -> None:
    axes = figure.axes[0]
    assert axes.get_title()
    assert axes.get_xlabel()
    assert axes.get_ylabel()


def test_spend_bars_are_the_mean_billed_spend(result: SimulationResult) -> None:
    figure = plots.spend_by_platform(result)
    _labelled(figure)
    heights = [bar.get_height() for bar in figure.axes[0].patches]
    costs = result.costs().groupby("platform", sort=False)["per_month_usd"].mean()
    assert heights == pytest.approx([costs[p] for p in result.platform_ids], rel=1e-12)
    assert "USD" in figure.axes[0].get_ylabel()


def test_component_stacks_add_up_to_the_bill(result: SimulationResult) -> None:
    figure = plots.spend_by_component(result)
    _labelled(figure)
    tops: dict[float, float] = {}
    for bar in figure.axes[0].patches:
        x = round(bar.get_x() + bar.get_width() / 2, 6)
        tops[x] = max(tops.get(x, 0.0), bar.get_y() + bar.get_height())
    costs = result.costs().groupby("platform", sort=False)["per_month_usd"].mean()
    assert list(tops.values()) == pytest.approx([costs[p] for p in result.platform_ids], rel=1e-9)


def test_time_to_ready_cdf_matches_the_summary(result: SimulationResult) -> None:
    figure = plots.time_to_ready_cdf(result)
    _labelled(figure)
    summary = result.summary()["platforms"]
    lines = figure.axes[0].get_lines()
    assert lines
    for line in lines:
        x, y = line.get_xdata(), line.get_ydata()
        assert y[-1] == pytest.approx(1.0)
        assert np.all(np.diff(y) >= 0)
        platform = str(line.get_label()).split(":")[0]
        if sum(str(other.get_label()).startswith(platform + ":") for other in lines) == 1:
            median = float(np.asarray(x)[np.searchsorted(np.asarray(y), 0.5)])
            # the summary's sketch knows a quantile within 0.06% relative
            assert median == pytest.approx(
                summary[platform]["time_to_ready_s"]["p50"], rel=2e-3, abs=1e-4
            )


def test_concurrency_averages_to_the_engines_time_weighted_mean(
    result: SimulationResult,
) -> None:
    figure = plots.concurrency_over_day(result)
    _labelled(figure)
    for platform_id in result.platform_ids:
        times, holding = plots.concurrency_series(result, platform_id, step_s=1.0)
        run = result.runs[platform_id][0]
        # the engine integrates exactly; a 1-second grid over 2 hours of arrivals at
        # 0.5/s misses at most a second per sandbox start and end
        launched = run.metrics.launched
        bound = 2 * launched / times.size
        assert holding[:-1].mean() == pytest.approx(run.metrics.concurrency_mean, abs=bound)


def test_duration_histogram_counts_every_sampled_sandbox() -> None:
    scenario = load_scenario("coding-agent-fleet")
    figure = plots.duration_distribution(scenario)
    _labelled(figure)
    from simulator.workload import sample_workloads

    sampled = sample_workloads(scenario, 0)
    drawn = sum(patch.get_path().vertices[:, 1].max() > 0 for patch in figure.axes[0].patches)
    assert drawn == len(set(sampled.workload_index.tolist()))


def test_fleet_hosts_figure_follows_the_fleet_record() -> None:
    scenario = load_scenario("self-hosted-fleet").with_overrides(
        {"horizon": 6 * 3600.0, "replications": 1}
    )
    fleet_id = next(p.id for p in scenario.platforms if p.fleet is not None)
    result = simulate(scenario.only_platforms([fleet_id]))
    figure = plots.fleet_hosts(result, fleet_id)
    _labelled(figure)
    peak = max(float(np.max(line.get_ydata())) for line in figure.axes[0].get_lines())
    assert peak == result.runs[fleet_id][0].metrics.fleet.peak_hosts  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="not a self-hosted fleet"):
        plots.fleet_hosts(
            simulate(scenario_from_dict(scenario_dict(replications=1))), "aws-fargate"
        )


def test_fleet_hosts_title_says_which_replication_its_utilisation_is_of() -> None:
    """With four replications the title showed replication 0's utilisation (36%) beside a
    summary whose mean differs, without saying which replication it was."""
    scenario = load_scenario("self-hosted-fleet").with_overrides(
        {"horizon": 3 * 3600.0, "replications": 3}
    )
    result = simulate(scenario.only_platforms(["firecracker-m5-metal"]))
    for replication in (0, 2):
        title = plots.fleet_hosts(result, "firecracker-m5-metal", replication).axes[0].get_title()
        assert f"replication {replication} of 3 (its utilisation" in title
        fleet = result.runs["firecracker-m5-metal"][replication].metrics.fleet
        assert fleet is not None
        assert f"its utilisation vcpu {fleet.utilisation['vcpu']:.0%}" in title
