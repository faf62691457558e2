"""Sweeps, comparisons and sensitivity (tornado): grid, executors, metamorphic checks,
closed forms, figures and CLI errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator as ss
from simulator.cli import EXIT_INPUT, EXIT_OK, main
from simulator.compare import scale_durations, widen_duration_tail
from simulator.points import platform_figures
from simulator.sweep import apply_settings
from support import scenario_dict, theory_catalog, workload

RATE = "workloads.w.arrivals.per_second"


def theory_scenario(**overrides: object) -> ss.Scenario:
    """One workload (1 vCPU, exponential durations of mean 10 s) on the theory platform:
    no launch latency, no quota, no free tier, vCPU billed per microsecond."""
    return ss.scenario_from_dict(scenario_dict(platforms=[{"profile": "theory"}], **overrides))


def test_sweep_grid_has_one_row_per_point_and_platform_keyed_by_the_values() -> None:
    scenario = theory_scenario(horizon="10m", replications=1)
    result = ss.sweep(
        scenario,
        {RATE: [0.5, 1, 2], "seed": [1, 2]},
        catalog=theory_catalog(),
        executor=ss.SerialExecutor(),
    )
    table = result.table
    assert list(table.columns[:3]) == ["point", RATE, "seed"]
    assert len(table) == 6
    assert list(zip(table[RATE], table["seed"], strict=True)) == [
        (0.5, 1),
        (0.5, 2),
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    ]
    assert list(table["point"]) == list(range(6))
    assert set(table["platform"]) == {"theory"}
    assert (table["currency"] == "USD").all()
    requested = table.groupby(RATE)["requested"].mean()
    assert requested[0.5] < requested[1] < requested[2]


def test_sweep_is_identical_on_serial_and_process_executors_and_equals_simulate() -> None:
    scenario = theory_scenario(horizon="20m", replications=2)
    settings = {RATE: [0.5, 2]}
    catalog = theory_catalog(concurrency=8)
    serial = ss.sweep(scenario, settings, catalog=catalog, executor=ss.SerialExecutor())
    parallel = ss.sweep(scenario, settings, catalog=catalog, executor=ss.ProcessExecutor(2))
    pd.testing.assert_frame_equal(serial.table, parallel.table, check_exact=True)
    point = apply_settings(scenario, {RATE: 2}, catalog)
    direct = platform_figures(ss.simulate(point, catalog=catalog).summary())
    swept = serial.table[serial.table[RATE] == 2].drop(columns=["point", RATE])
    pd.testing.assert_frame_equal(
        swept.reset_index(drop=True), direct.reset_index(drop=True), check_exact=True
    )


def test_sweep_on_a_dask_cluster_is_identical_to_serial() -> None:
    """The issue: a sweep runs on Dask when a scheduler is given, with the same table."""
    distributed = pytest.importorskip("distributed")
    scenario = theory_scenario(horizon="20m", replications=2)
    settings = {RATE: [0.5, 2]}
    catalog = theory_catalog(concurrency=8)
    serial = ss.sweep(scenario, settings, catalog=catalog, executor=ss.SerialExecutor())
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        on_dask = ss.sweep(
            scenario,
            settings,
            catalog=catalog,
            executor=ss.make_executor(cluster.scheduler_address),
        )
    pd.testing.assert_frame_equal(serial.table, on_dask.table, check_exact=True)


def test_sweeping_replications_keeps_one_column_for_it() -> None:
    scenario = theory_scenario(horizon="10m", replications=2)
    swept = ss.sweep(
        scenario, {"replications": [2, 3]}, catalog=theory_catalog(), executor=ss.SerialExecutor()
    )
    assert list(swept.table.columns).count("replications") == 1
    assert list(swept.table["replications"]) == [2, 3]


def test_spend_rises_with_volume_on_real_platforms() -> None:
    scenario = ss.scenario_from_dict(
        scenario_dict(
            horizon="30m",
            replications=2,
            workloads=[workload(duration={"kind": "lognormal", "median": "30s", "p95": "5m"})],
            platforms=[
                {"profile": "aws-fargate", "vcpu_quota": "unlimited"},
                {"profile": "e2b", "quota": "unlimited"},
            ],
        )
    )
    table = ss.sweep(scenario, {RATE: [0.25, 0.5, 1]}, executor=ss.SerialExecutor()).table
    for _platform, rows in table.groupby("platform"):
        spend = rows.sort_values(RATE)["spend_per_month_mean"].to_numpy()
        assert np.all(np.diff(spend) > 0)


def test_spend_is_proportional_to_volume_on_a_linear_platform() -> None:
    """Spend = rate x sum of durations, a compound Poisson sum: with N ~ Poisson(lambda T)
    exponential durations of mean m, Var = lambda T E[d^2] = 2 lambda T m^2, so the mean of R
    replications has relative standard deviation sqrt(2 / (lambda T R)). The ratio of the two
    volumes' spends (scaled by the volume ratio) is within 4 of those deviations combined
    (independence is assumed; common random numbers only make them closer)."""
    replications, horizon, rates = 4, 3600.0, (1.0, 4.0)
    scenario = theory_scenario(horizon="1h", replications=replications)
    table = ss.sweep(
        scenario, {RATE: list(rates)}, catalog=theory_catalog(), executor=ss.SerialExecutor()
    ).table
    spend = dict(zip(table[RATE], table["spend_per_month_mean"], strict=True))
    ratio = spend[rates[1]] / (spend[rates[0]] * rates[1] / rates[0])
    sigma = math.sqrt(sum(2.0 / (rate * horizon * replications) for rate in rates))
    assert abs(ratio - 1.0) < 4 * sigma, (ratio, sigma)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("workloads.nope.arrivals.per_second=1,2", ["no entry 'nope'", "name one of: w"]),
        ("workloads.w.arrivals.per_minute=1", ["no field 'per_minute'", "per_second"]),
        ("workloads.w.arrivals.per_second=-1", ["workloads[0].arrivals", "fix:"]),
        ("horizon=soon", ["horizon", "fix:"]),
        ("platforms.theory.quota=2", ["platforms.theory", "no entry"]),
        ("per_day", ["PATH=VALUE"]),
    ],
)
def test_bad_set_paths_and_values_exit_2_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setting: str, expected: list[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nhorizon: 1h\nreplications: 1\nworkloads:\n  - name: w\n"
        "    arrivals: {kind: poisson, per_second: 1}\n    duration: {kind: fixed, value: 2s}\n"
        "    shape: {vcpu: 1, memory: 2GiB}\nplatforms:\n  - profile: aws-lambda\n"
    )
    code = main(["sweep", str(path), "--set", setting, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == EXIT_INPUT
    assert "--set" in err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, (text, err)


def test_sweep_cli_writes_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "sweep",
            "coding-agent-fleet",
            "--set",
            "workloads.coding-agent.arrivals.per_day=2000,4000",
            "--set",
            "platforms.e2b.quota=unlimited",
            "--platform",
            "e2b",
            "--replications",
            "1",
            "--workers",
            "1",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == EXIT_OK, capsys.readouterr().err
    table = pd.read_csv(tmp_path / "sweep.csv")
    assert list(table["workloads.coding-agent.arrivals.per_day"]) == [2000, 4000]
    assert list(table["platforms.e2b.quota"]) == ["unlimited", "unlimited"]


def test_comparison_figures_equal_the_run_summary_and_flag_assumed_rates() -> None:
    scenario = ss.load_scenario("coding-agent-fleet")
    chosen = ["azure-aci-ai-sandboxes", "aws-fargate"]
    compared = ss.compare(scenario, replications=2, platforms=chosen, executor=ss.SerialExecutor())
    summary = ss.simulate(scenario, replications=2, platforms=chosen).summary()
    table = compared.table.set_index("platform")
    for platform_id in chosen:
        entry = summary["platforms"][platform_id]
        row = table.loc[platform_id]
        month = entry["cost_usd"]["per_month"]
        assert row["spend_per_month_mean"] == month["mean"]
        assert row["spend_per_month_p5"] == month["p5"]
        assert row["spend_per_month_p95"] == month["p95"]
        assert row["ttr_p99_s"] == entry["time_to_ready_s"]["p99"]
        assert row["ttr_p50_s"] == entry["time_to_ready_s"]["p50"]
        assert row["launched"] == entry["sandboxes"]["launched"]
        assert row["priced_by"] == entry["price_table"]
        assert row["as_of"] == summary["pricing"][entry["price_table"]]["as_of"]
    assumed = table.loc["azure-aci-ai-sandboxes", "assumed_rates"].split("; ")
    assert set(assumed) == set(summary["pricing"]["azure-aci-ai-sandboxes-eastus"]["assumed"])
    assert "vcpu" in assumed
    assert table.loc["aws-fargate", "assumed_rates"] == ""


def test_tornado_prices_follow_the_closed_form_and_volume_is_linear() -> None:
    swing = 0.25
    scenario = theory_scenario(horizon="30m", replications=3)
    catalog = theory_catalog(vcpu_rate_usd=2e-5)
    result = ss.sensitivity(scenario, swing=swing, catalog=catalog, executor=ss.SerialExecutor())
    table = result.table.set_index("factor")
    base = ss.simulate(scenario, catalog=catalog)
    items = base.mean_line_items()
    vcpu = items.loc[items["component"] == "vcpu", "cost_usd_per_month"].sum()
    row = table.loc["price: vcpu"]
    assert row["change_high"] == pytest.approx(swing * vcpu, rel=1e-9)
    assert row["change_low"] == pytest.approx(-swing * vcpu, rel=1e-9)
    assert row["base_per_month"] == pytest.approx(base.costs()["per_month_usd"].mean(), rel=1e-12)
    # volume: +25% requests add about 25% spend on this linear platform (Poisson noise of
    # the added requests only, by common random numbers: well within 10% of the change)
    volume = table.loc["volume"]
    assert volume["change_high"] > 0 > volume["change_low"]
    assert volume["change_high"] == pytest.approx(swing * row["base_per_month"], rel=0.1)
    # durations exponential: the tail is left out with a note, the median scales spend
    assert "duration tail" not in table.index
    assert any("lognormal" in note for note in result.notes)
    assert table.loc["duration median", "change_high"] == pytest.approx(
        swing * row["base_per_month"], rel=1e-6
    )
    assert list(result.table["impact"]) == sorted(result.table["impact"], reverse=True)


def test_tornado_prices_on_a_real_table_equal_a_quarter_of_their_lines() -> None:
    scenario = ss.scenario_from_dict(
        scenario_dict(
            horizon="20m",
            replications=1,
            workloads=[workload(duration={"kind": "lognormal", "median": "30s", "p95": "5m"})],
        )
    )
    result = ss.sensitivity(scenario, swing=0.25, executor=ss.SerialExecutor())
    table = result.table.set_index("factor")
    items = ss.simulate(scenario).mean_line_items()
    for component in ("vcpu", "memory"):
        lines = items.loc[items["component"] == component, "cost_usd_per_month"].sum()
        assert table.loc[f"price: {component}", "change_high"] == pytest.approx(
            0.25 * lines, rel=1e-9
        )
    assert table.loc["duration tail", "change_high"] > 0 > table.loc["duration tail", "change_low"]


def test_duration_transforms_scale_the_median_and_widen_the_tail() -> None:
    scenario = ss.scenario_from_dict(
        scenario_dict(
            workloads=[workload(duration={"kind": "lognormal", "median": "30s", "p95": "5m"})]
        )
    )
    original = scenario.workloads[0].duration
    scaled = scale_durations(scenario, 1.25).workloads[0].duration
    wider = widen_duration_tail(scenario, 1.25).workloads[0].duration
    assert original is not None
    assert scaled is not None
    assert wider is not None
    assert scaled.quantile(0.5) == pytest.approx(1.25 * original.quantile(0.5))
    assert scaled.quantile(0.95) == pytest.approx(1.25 * original.quantile(0.95))
    assert wider.quantile(0.5) == pytest.approx(original.quantile(0.5))
    assert wider.log_sigma == pytest.approx(1.25 * original.log_sigma)  # type: ignore[attr-defined]


def test_figures_build_with_labelled_axes() -> None:
    import matplotlib

    matplotlib.use("Agg")
    compared = pd.DataFrame(
        {
            "platform": ["a", "b"],
            "currency": ["USD", "USD"],
            "spend_per_month_mean": [100.0, 200.0],
            "spend_per_month_p5": [90.0, 180.0],
            "spend_per_month_p95": [110.0, 230.0],
            "ttr_p99_s": [0.5, 20.0],
            "assumed_rates": ["", "vcpu"],
        }
    )
    figure = ss.plots.comparison(compared)
    axes = figure.axes[0]
    assert "time to ready" in axes.get_xlabel()
    assert "USD" in axes.get_ylabel()
    assert any("assumed" in t.get_text() for t in axes.get_legend().get_texts())
    sensitivity = pd.DataFrame(
        {
            "platform": ["a", "a"],
            "factor": ["volume", "price: vcpu"],
            "low": [0.75, 0.75],
            "high": [1.25, 1.25],
            "base_per_month": [100.0, 100.0],
            "change_low": [-25.0, -10.0],
            "change_high": [25.0, 10.0],
            "impact": [25.0, 10.0],
            "currency": ["USD", "USD"],
        }
    )
    axes = ss.plots.tornado(sensitivity).axes[0]
    assert "change in USD" in axes.get_xlabel()
    assert axes.get_ylabel() == "factor"
    assert [t.get_text() for t in axes.get_yticklabels()] == ["price: vcpu", "volume"]


def test_tornado_host_price_of_a_fleet_scales_its_whole_bill() -> None:
    """A fleet's bill is host time x host price (showback and idle lines split it), so
    host prices x (1 +- swing) move the whole bill by +- swing."""
    scenario = ss.load_scenario("self-hosted-fleet").with_overrides({"horizon": "2h"})
    result = ss.sensitivity(
        scenario,
        platforms=["firecracker-m5-metal"],
        replications=1,
        executor=ss.SerialExecutor(),
    )
    row = result.table.set_index("factor").loc["price: host"]
    assert row["base_per_month"] > 0
    assert row["change_high"] == pytest.approx(0.25 * row["base_per_month"], rel=1e-9)
    assert row["change_low"] == pytest.approx(-0.25 * row["base_per_month"], rel=1e-9)


def test_compare_and_sensitivity_cli_write_tables_and_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nhorizon: 1h\nreplications: 2\nworkloads:\n  - name: w\n"
        "    arrivals: {kind: poisson, per_second: 0.5}\n"
        "    duration: {kind: lognormal, median: 20s, p95: 2m}\n"
        "    shape: {vcpu: 1, memory: 2GiB}\nplatforms:\n  - profile: aws-lambda\n"
        "  - profile: azure-aci-ai-sandboxes\n"
    )
    code = main(["compare", str(path), "--workers", "1", "--out", str(tmp_path / "c")])
    assert code == EXIT_OK, capsys.readouterr().err
    compared = pd.read_csv(tmp_path / "c" / "comparison.csv", keep_default_na=False)
    assert list(compared["platform"]) == ["aws-lambda", "azure-aci-ai-sandboxes"]
    assert (tmp_path / "c" / "comparison.png").stat().st_size > 0
    assert "vcpu" in compared.loc[1, "assumed_rates"]
    code = main(
        ["sensitivity", str(path), "--swing", "0.1", "--workers", "1", "--out", str(tmp_path / "s")]
    )
    assert code == EXIT_OK, capsys.readouterr().err
    table = pd.read_csv(tmp_path / "s" / "sensitivity.csv")
    assert set(table["platform"]) == {"aws-lambda", "azure-aci-ai-sandboxes"}
    assert {"volume", "duration median", "duration tail"} <= set(table["factor"])
    assert (table["low"] == 0.9).all()
    assert (tmp_path / "s" / "tornado-aws-lambda.png").stat().st_size > 0
    code = main(["sensitivity", str(path), "--swing", "1.5", "--out", str(tmp_path / "s")])
    assert code == EXIT_INPUT


def test_every_study_column_is_documented() -> None:
    from simulator.compare import COMPARISON_COLUMNS, SENSITIVITY_COLUMNS

    documented = (Path(__file__).resolve().parent.parent / "docs" / "outputs.md").read_text()
    missing = [c for c in [*COMPARISON_COLUMNS, *SENSITIVITY_COLUMNS] if f"`{c}`" not in documented]
    assert not missing, f"columns missing from docs/outputs.md: {missing}"


def test_compare_names_the_workloads_each_platform_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lambda runs both workloads, E2B only one: `sandsim compare` listed their spends as
    if on the same work and titled the figure "Platforms on the same workload"."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nhorizon: 1h\nreplications: 2\nworkloads:\n"
        + "".join(
            f"  - name: {name}\n    arrivals: {{kind: poisson, per_second: 0.2}}\n"
            "    duration: {kind: lognormal, median: 20s, p95: 2m}\n"
            "    shape: {vcpu: 1, memory: 2GiB}\n"
            for name in ("agents", "evals")
        )
        + "platforms:\n  - profile: aws-lambda\n  - profile: e2b\n    workloads: [evals]\n"
    )
    code = main(["compare", str(path), "--workers", "1", "--out", str(tmp_path / "c")])
    printed = capsys.readouterr().out
    assert code == EXIT_OK
    compared = pd.read_csv(tmp_path / "c" / "comparison.csv", keep_default_na=False)
    assert list(compared["workloads"]) == ["all", "evals"]
    assert "aws-lambda runs every workload; e2b runs evals" in " ".join(printed.split())
    assert "per-month figures repeat it 720 times" in " ".join(printed.split())
    figure = ss.plots.comparison(compared)
    title = figure.axes[0].get_title()
    assert "same workload" not in title
    assert "different workloads" in title
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert any("e2b [runs evals]" in label for label in labels)
    same = ss.plots.comparison(compared.assign(workloads="all")).axes[0].get_title()
    assert same.startswith("Platforms on the same workloads")


@pytest.mark.parametrize("command", [["sweep", "--set", "replications=1,2"], ["sensitivity"]])
def test_studies_say_when_per_month_figures_repeat_a_short_horizon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """`sandsim sweep` and `sensitivity` print monthly spend; from a 10-minute horizon it
    is the horizon repeated 4,320 times, which `run` and `compare` say and these did not."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: s\nhorizon: 10m\nreplications: 1\nworkloads:\n  - name: agents\n"
        "    arrivals: {kind: poisson, per_second: 0.5}\n"
        "    duration: {kind: lognormal, median: 20s, p95: 2m}\n"
        "    shape: {vcpu: 1, memory: 2GiB}\nplatforms:\n  - profile: aws-lambda\n"
    )
    name, *flags = command
    code = main([name, str(path), *flags, "--workers", "1", "--out", str(tmp_path / "o")])
    printed = " ".join(capsys.readouterr().out.split())
    assert code == EXIT_OK
    assert "per-month figures repeat it 4,320 times" in printed
