"""Monthly forecasts, budgets and the guard: closed forms, executors, metamorphic checks,
money hygiene and exit codes."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

import simulator as ss
from simulator.cli import EXIT_INPUT, EXIT_OK, main
from simulator.executors import ProcessExecutor, SerialExecutor
from simulator.forecast import nhpp_times, plan_months
from simulator.guardrails import quantile_interval
from simulator.platforms import PlanLimits
from simulator.pricing import FreeTier, PlanFee
from support import fleet_platform, scenario_dict, theory_catalog, two_teams_dict, workload

RATE_USD = 1e-5
"""USD per vCPU-second on the theory platform."""
DURATION_S = 60.0
SERIAL = SerialExecutor()


def theory_forecast_dict(**forecast: Any) -> dict[str, Any]:
    """Poisson arrivals with a fixed duration on the theory platform (per-second price, no
    launch latency, no quota)."""
    spec = {"start": "2027-01", "months": 2, **forecast}
    return scenario_dict(
        name="closed-form",
        seed=11,
        workloads=[
            workload(
                "jobs",
                arrivals={"kind": "poisson", "per_day": 60},
                duration={"kind": "fixed", "value": DURATION_S},
                shape={"vcpu": 1, "memory": "1GiB"},
            )
        ],
        platforms=[{"profile": "theory"}],
        forecast=spec,
    )


def expected_counts(per_day: float, forecast: dict[str, Any]) -> list[float]:
    """Mean requests per month, computed from the calendar independently of sandsim."""
    year, month = (int(x) for x in forecast["start"].split("-"))
    counts = []
    for m in range(forecast["months"]):
        y, mo = divmod(month - 1 + m, 12)
        first = dt.date(year + y, mo + 1, 1)
        total = 0.0
        for day in range(calendar.monthrange(first.year, first.month)[1]):
            date = first + dt.timedelta(days=day)
            factor = (1 + forecast.get("growth_per_month", 0.0)) ** m
            factor *= forecast.get("weekend", 1.0) if date.weekday() >= 5 else 1.0
            for event in forecast.get("events", []):
                start = dt.date.fromisoformat(event["start"])
                if start <= date < start + dt.timedelta(days=event.get("days", 1)):
                    factor *= event["factor"]
            total += per_day * factor
        counts.append(total)
    return counts


def test_forecast_bands_match_the_poisson_closed_form() -> None:
    """Monthly cost = N d rate with N ~ Poisson(Lambda): the mean, the spread and P5/P95
    agree with the closed form, with tolerances from the number of replications."""
    spec = {
        "growth_per_month": 0.5,
        "weekend": 0.5,
        "events": [{"name": "launch", "start": "2027-02-10", "days": 3, "factor": 4.0}],
    }
    replications = 300
    scenario = ss.scenario_from_dict(theory_forecast_dict(**spec, replications=replications))
    result = ss.forecast(scenario, catalog=theory_catalog(vcpu_rate_usd=RATE_USD), executor=SERIAL)
    lambdas = expected_counts(60, {"start": "2027-01", "months": 2, **spec})
    per_sandbox = DURATION_S * RATE_USD
    bands = result.bands()
    totals = bands[bands["scope"] == "platform"]
    spend = result.spend("theory")
    for month, lam in enumerate(lambdas):
        values = spend[:, month]
        row = totals.iloc[month]
        assert row["expected_requests"] == pytest.approx(lam, rel=1e-12)
        # every sandbox costs exactly d * rate: the spend is a count times it
        counts = values / per_sandbox
        assert np.allclose(counts, np.round(counts), atol=1e-6)
        sigma = math.sqrt(lam) * per_sandbox
        assert abs(values.mean() - lam * per_sandbox) < 4 * sigma / math.sqrt(replications)
        # the spread is a whole month's Poisson spread (not one day's, scaled up)
        variance = values.var(ddof=1) / per_sandbox**2
        low = stats.chi2.ppf(0.0005, replications - 1) / (replications - 1) * lam
        high = stats.chi2.ppf(0.9995, replications - 1) / (replications - 1) * lam
        assert low < variance < high
        for q, name in ((0.05, "p5"), (0.5, "p50"), (0.95, "p95")):
            exact = stats.poisson.ppf(q, lam) * per_sandbox
            lo, hi = quantile_interval(values, q, level=0.999)
            assert lo - per_sandbox <= exact <= hi + per_sandbox, (month, name)
            assert row[name] == pytest.approx(np.quantile(values, q), rel=1e-12)


def test_sampled_days_keep_the_mean_and_widen_the_band() -> None:
    spec = {"weekend": 0.5, "sample_days": 6}
    replications = 60
    scenario = ss.scenario_from_dict(theory_forecast_dict(**spec, replications=replications))
    result = ss.forecast(scenario, catalog=theory_catalog(vcpu_rate_usd=RATE_USD), executor=SERIAL)
    lambdas = expected_counts(60, {"start": "2027-01", "months": 2, **spec})
    plans = plan_months(result.scenario)
    assert sum(w.days for w in plans[0].windows) < plans[0].days  # fewer days simulated
    assert sum(w.days * w.weight for w in plans[0].windows) == pytest.approx(plans[0].days)
    per_sandbox = DURATION_S * RATE_USD
    spend = result.spend("theory")
    for month, lam in enumerate(lambdas):
        # each kind of day is scaled by at most 31 / 1: bound the spread by that
        sigma = math.sqrt(lam * 31) * per_sandbox
        assert abs(spend[:, month].mean() - lam * per_sandbox) < 4 * sigma / math.sqrt(replications)
        assert spend[:, month].std() > math.sqrt(lam) * per_sandbox  # wider than the exact band
    assert any("sampled days" in note for note in result.warnings())


def small_forecast(tmp_path: Path, **changes: Any) -> Path:
    """Two teams' workloads on E2B and Lambda, two months from 2027-03, growing 30%."""
    data = two_teams_dict()
    data.update(changes)
    path = tmp_path / "guarded.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_local_processes_and_a_dask_cluster_give_identical_forecasts(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    scenario = ss.load_scenario(small_forecast(tmp_path))
    serial = ss.forecast(scenario, executor=SERIAL)
    local = ss.forecast(scenario, executor=ProcessExecutor(2))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = ss.forecast(scenario, executor=ss.DaskExecutor(client))
        via_address = ss.forecast(scenario, executor=ss.make_executor(cluster.scheduler_address))
    for other in (local, on_dask, via_address):
        pd.testing.assert_frame_equal(serial.costs, other.costs, check_exact=True)
        assert ss.summary_json(serial.summary()) == ss.summary_json(other.summary())
    assert serial.costs["cost_usd"].sum() > 0


def test_fewer_replications_are_a_prefix_of_more() -> None:
    """Replication r is seeded by its index: running 3 gives the first 3 of 5."""
    scenario = ss.scenario_from_dict(theory_forecast_dict(replications=5))
    catalog = theory_catalog(vcpu_rate_usd=RATE_USD)
    five = ss.forecast(scenario, catalog=catalog, executor=SERIAL).costs
    three = ss.forecast(scenario, replications=3, catalog=catalog, executor=SERIAL).costs
    pd.testing.assert_frame_equal(
        five[five["replication"] < 3].reset_index(drop=True), three, check_exact=True
    )


@pytest.mark.parametrize(("low", "high"), [(0.0, 0.1), (0.1, 0.4), (-0.2, 0.0)])
def test_more_growth_never_lowers_later_months_spend(low: float, high: float) -> None:
    """Metamorphic: with the same seed, more growth adds requests and never removes one, so
    every replication's spend of every month after the first is at least as high."""

    def run(growth: float) -> np.ndarray:
        data = theory_forecast_dict(growth_per_month=growth, months=3, replications=8)
        data["workloads"][0]["duration"] = {"kind": "lognormal", "median": "30s", "p95": "5m"}
        scenario = ss.scenario_from_dict(data)
        result = ss.forecast(scenario, catalog=theory_catalog(), executor=SERIAL)
        return result.spend("theory")

    slow, fast = run(low), run(high)
    np.testing.assert_array_equal(slow[:, 0], fast[:, 0])  # month one has no growth yet
    assert (fast[:, 1:] >= slow[:, 1:]).all()
    assert (fast[:, 2] > slow[:, 2]).any()


def test_more_growth_raises_the_band_on_real_platforms(tmp_path: Path) -> None:
    low = ss.forecast(ss.load_scenario(small_forecast(tmp_path)), months=3, executor=SERIAL)
    path = small_forecast(
        tmp_path, forecast={"start": "2027-03", "months": 3, "growth_per_month": 0.6}
    )
    high = ss.forecast(ss.load_scenario(path), executor=SERIAL)
    for platform in ("e2b", "aws-lambda"):
        a, b = low.spend(platform), high.spend(platform)
        assert (b[:, 1:].mean(axis=0) > a[:, 1:].mean(axis=0)).all()
        assert b[:, 0].mean() == pytest.approx(a[:, 0].mean(), rel=1e-12)


def test_nhpp_counts_follow_the_cell_masses() -> None:
    rng = np.random.default_rng(3)
    mass = np.array([0.0, 5.0, 20.0, 0.0, 75.0])
    counts = np.zeros((2000, mass.size))
    for k in range(2000):
        times = nhpp_times(rng, mass, 10.0)
        assert np.all(np.diff(times) >= 0)
        counts[k] = np.bincount((times // 10).astype(int), minlength=mass.size)
    assert counts[:, [0, 3]].sum() == 0  # nothing where the rate is zero
    for i in (1, 2, 4):
        assert abs(counts[:, i].mean() - mass[i]) < 4 * math.sqrt(mass[i] / 2000)
        assert counts[:, i].var() == pytest.approx(mass[i], rel=0.15)
    # more mass anywhere only adds arrivals: the first ones are the same points in time order
    small = nhpp_times(np.random.default_rng(9), np.array([10.0, 10.0]), 1.0)
    large = nhpp_times(np.random.default_rng(9), np.array([10.0, 30.0]), 1.0)
    assert large.size >= small.size


def test_free_tier_and_plan_fee_apply_once_per_calendar_month() -> None:
    """Spend = max(0, vCPU-s - free tier) x rate + plan fee, per replication and month."""
    catalog = theory_catalog(vcpu_rate_usd=RATE_USD)
    profile = catalog.profiles["theory"]
    table = catalog.price_tables["theory-prices"]
    provenance = {"source": "test fixture", "as_of": "2026-11-27"}
    free_s = 60 * 1800 * DURATION_S * 0.5  # about half of a month's vCPU-seconds
    catalog.profiles["theory"] = profile.model_copy(
        update={"plans": {"team": PlanLimits.model_validate({"provenance": provenance})}}
    )
    catalog.price_tables["theory-prices"] = table.model_copy(
        update={
            "free_tier": FreeTier.model_validate({"vcpu_seconds": free_s, **provenance}),
            "plans": {"team": PlanFee.model_validate({"monthly_usd": 250.0, **provenance})},
        }
    )
    data = theory_forecast_dict(replications=6, months=3)
    data["platforms"] = [{"profile": "theory", "plan": "team"}]
    result = ss.forecast(ss.scenario_from_dict(data), catalog=catalog, executor=SERIAL)
    spend = result.spend("theory")
    service = result.service.sort_values(["replication", "month"])
    requested = service["requested"].to_numpy().reshape(6, 3)
    expected = np.maximum(0.0, requested * DURATION_S - free_s) * RATE_USD + 250.0
    np.testing.assert_allclose(spend, expected, rtol=1e-9)
    coverage = result.summary()["coverage"]["theory"]
    assert coverage["plan"]["fee_per_month"] == 250.0
    assert coverage["free_tier"]["vcpu_seconds"] == free_s
    assert "egress (data transfer out)" in coverage["excluded"]
    assert coverage["currency"] == "USD"


def budget_scenario(amount: float, **budget: Any) -> Any:
    data = theory_forecast_dict(growth_per_month=0.5, months=4, replications=40)
    data["budgets"] = [{"name": "jobs", "amount": amount, "alerts": [0.5, 1.0], **budget}]
    return ss.scenario_from_dict(data)


def test_budget_breach_probability_and_first_month() -> None:
    catalog = theory_catalog(vcpu_rate_usd=RATE_USD)
    result = ss.forecast(budget_scenario(1.0), catalog=catalog, executor=SERIAL)
    spend = result.spend("theory")
    # a budget between month two's and month three's P95 first breaks in month three
    p95 = np.quantile(spend, 0.95, axis=0)
    amount = float((p95[1] + p95[2]) / 2)
    result = ss.forecast(budget_scenario(amount), catalog=catalog, executor=SERIAL)
    [check] = result.check_budgets()
    assert not check.holds
    assert check.first_breach == "2027-03"
    assert [m.p_exceed for m in check.months] == pytest.approx(
        list((spend > amount).mean(axis=0)), abs=1e-12
    )
    assert check.first_alert(0.5) is not None
    assert check.first_alert(0.5) <= "2027-03"
    record = check.as_dict()
    assert record["over_by"] == pytest.approx(p95[3] - amount)
    assert record["currency"] == "USD"
    loose = ss.forecast(budget_scenario(10 * p95.max()), catalog=catalog, executor=SERIAL)
    assert loose.check_budgets()[0].holds
    assert "holds" in loose.check_budgets()[0].describe()
    # a lower quantile holds where P95 breaks
    median = ss.forecast(budget_scenario(amount, quantile=0.05), catalog=catalog, executor=SERIAL)
    assert median.check_budgets()[0].first_breach in (None, "2027-03", "2027-04")


def test_precision_warning_says_how_many_replications_would_do() -> None:
    data = theory_forecast_dict(replications=4, precision=0.001)
    result = ss.forecast(
        ss.scenario_from_dict(data), catalog=theory_catalog(vcpu_rate_usd=RATE_USD), executor=SERIAL
    )
    [check] = result.precision()
    assert not check["ok"]
    needed = check["replications_needed"]
    assert needed == math.ceil(4 * (check["relative_half_width"] / 0.001) ** 2)
    notes = result.warnings()
    assert any(f"about {needed} replications" in note for note in notes)
    assert any("only 4 replications" in note for note in notes)
    relaxed = ss.forecast(
        ss.scenario_from_dict(data),
        precision=0.9,
        catalog=theory_catalog(vcpu_rate_usd=RATE_USD),
        executor=SERIAL,
    )
    assert relaxed.precision()[0]["ok"]


@pytest.mark.parametrize(
    ("change", "field", "hint"),
    [
        (
            {"budgets": [{"name": "b", "scope": {"platform": "nope"}, "amount": 1}]},
            "scope.platform",
            "theory",
        ),
        (
            {"budgets": [{"name": "b", "scope": {"team": "nope"}, "amount": 1}]},
            "scope.team",
            "default",
        ),
        (
            {"budgets": [{"name": "b", "scope": {"workload": "nope"}, "amount": 1}]},
            "scope.workload",
            "jobs",
        ),
        ({"budgets": [{"name": "b", "amount": 1, "currency": "EUR"}]}, "currency", "USD"),
        ({"budgets": [{"name": "b", "amount": 1, "monthly_usd": 2}]}, "budgets[0]", "monthly_usd"),
        ({"forecast": {"start": "2027-13"}}, "forecast.start", "01 to 12"),
        (
            {"forecast": {"start": "2027-01", "workload_growth": {"x": 0.1}}},
            "workload_growth",
            "jobs",
        ),
        (
            {
                "forecast": {
                    "start": "2027-01",
                    "events": [{"name": "e", "start": "2029-01-01", "factor": 2}],
                }
            },
            "forecast.events[0].start",
            "2027-01-01",
        ),
    ],
)
def test_bad_forecast_and_budget_inputs_name_the_field(
    change: dict[str, Any], field: str, hint: str
) -> None:
    data = theory_forecast_dict()
    data.update(change)
    with pytest.raises(ss.InputError) as caught:
        ss.scenario_from_dict(data)
    assert field in caught.value.render()
    assert hint in caught.value.render()


def test_budgets_need_a_forecast_and_rate_based_arrivals() -> None:
    data = scenario_dict(budgets=[{"name": "b", "amount": 5}])
    with pytest.raises(ss.InputError, match="forecast"):
        ss.scenario_from_dict(data)
    burst = theory_forecast_dict()
    burst["workloads"][0]["arrivals"] = {"kind": "burst", "count": 10}
    with pytest.raises(ss.InputError, match="events"):
        ss.scenario_from_dict(burst)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_guard_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    holds = small_forecast(tmp_path)
    code, out, err = run_cli(capsys, "guard", str(holds), "--workers", "1")
    assert code == EXIT_OK, err
    assert "hold" in out
    breaks = tmp_path / "breaks.yaml"
    data = yaml.safe_load(holds.read_text())
    data["budgets"] = [{"name": "core", "scope": {"team": "core", "platform": "e2b"}, "amount": 1}]
    breaks.write_text(yaml.safe_dump(data))
    code, out, _ = run_cli(capsys, "guard", str(breaks), "--workers", "1")
    assert code == 1
    assert "BREAKS core" in out
    assert "first in 2027-03" in out
    code, out, _ = run_cli(capsys, "guard", str(breaks), "--json", "--workers", "1")
    assert code == 1
    verdict = json.loads(out)
    assert verdict["status"] == "breaks"
    [entry] = verdict["budgets"]
    assert entry["first_breach_month"] == "2027-03"
    assert entry["over_by"] > 0
    assert entry["currency"] == "USD"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (None, "not found"),
        ("name: [unclosed", "not valid YAML"),
        ("name: x\nhorizon: 1d\nbogus: 1\n", "unknown key 'bogus'"),
    ],
)
def test_guard_gives_2_on_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, needle: str
) -> None:
    path = tmp_path / "bad.yaml"
    if text is not None:
        path.write_text(text)
    code, out, err = run_cli(capsys, "guard", str(path))
    assert code == EXIT_INPUT
    assert needle in err
    assert "Traceback" not in err + out


def test_guard_gives_2_without_budgets_or_on_a_bad_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(small_forecast(tmp_path).read_text())
    del data["budgets"]
    path = tmp_path / "none.yaml"
    path.write_text(yaml.safe_dump(data))
    code, _, err = run_cli(capsys, "guard", str(path))
    assert code == EXIT_INPUT
    assert "no budgets" in err
    code, _, err = run_cli(
        capsys, "guard", str(small_forecast(tmp_path)), "--scheduler", "localhost:1"
    )
    assert code == EXIT_INPUT
    assert "--scheduler" in err


def test_guard_gives_2_when_no_budget_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A budget on E2B with only Lambda forecast checks nothing: a gate that passed
    vacuously would hide that, so it is bad input."""
    data = yaml.safe_load(small_forecast(tmp_path).read_text())
    data["budgets"] = [{"name": "core", "scope": {"platform": "e2b"}, "amount": 1}]
    path = tmp_path / "e2b-only.yaml"
    path.write_text(yaml.safe_dump(data))
    code, out, err = run_cli(
        capsys, "guard", str(path), "--platform", "aws-lambda", "--workers", "1"
    )
    assert code == EXIT_INPUT
    assert "nothing would be checked" in err
    assert "Traceback" not in err + out


def test_guard_keeps_internal_errors_apart_from_breaches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(sys.modules["simulator.forecast"], "forecast", broken)
    code, _, err = run_cli(capsys, "guard", str(small_forecast(tmp_path)))
    assert code == 3
    assert "internal error" in err


def test_forecast_command_writes_csv_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "out"
    code, out, err = run_cli(
        capsys, "forecast", str(small_forecast(tmp_path)), "--out", str(out_dir), "--workers", "1"
    )
    assert code == EXIT_OK, err
    assert "P95" in out
    assert "USD" in out
    frame = pd.read_csv(out_dir / "forecast.csv")
    assert set(frame["scope"]) == {"platform", "team", "workload"}
    assert (frame["currency"] == "USD").all()
    assert (frame["p5"] <= frame["p50"]).all()
    assert (frame["p50"] <= frame["p95"]).all()
    summary = json.loads((out_dir / "summary.json").read_text())
    months = summary["forecast"]["months"]
    assert {m["month"] for m in months} == {"2027-03", "2027-04"}
    assert {"month", "platform", "p5", "p50", "p95", "mean", "currency"} <= set(months[0])
    # teams add up to the platform's mean
    for month in ("2027-03", "2027-04"):
        rows = frame[(frame["month"] == month) & (frame["platform"] == "e2b")]
        teams = rows[rows["scope"] == "team"]["mean"].sum()
        assert teams == pytest.approx(rows[rows["scope"] == "platform"]["mean"].iloc[0])
    assert summary["budgets"][0]["holds"]


def test_every_forecast_summary_key_is_documented(tmp_path: Path) -> None:
    summary = ss.forecast(ss.load_scenario(small_forecast(tmp_path)), executor=SERIAL).summary()
    documented = (Path(__file__).resolve().parent.parent / "docs" / "outputs.md").read_text()

    def keys(node: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            for key, value in node.items():
                found.add(key)
                found |= keys(value)
        elif isinstance(node, list):
            for item in node:
                found |= keys(item)
        return found

    skip = set(summary["pricing"]) | set(summary["coverage"]) | {"0.5", "0.8", "1"}
    top = {k: v for k, v in summary.items() if k not in ("scenario", "data_files")}
    missing = sorted(k for k in keys(top) - skip if f"`{k}`" not in documented)
    assert not missing, f"forecast summary keys missing from docs/outputs.md: {missing}"


def test_bundled_forecast_example_breaks_where_its_docs_say() -> None:
    """docs/forecasts.md: research's eval budget breaks on Modal in the March campaign and
    holds on E2B and Lambda; the agents' E2B budget holds through March."""
    result = ss.forecast(ss.load_scenario("forecast-budgets"), months=3, executor=SERIAL)
    verdicts = {(c.budget.name, c.platform): c for c in result.check_budgets()}
    assert verdicts["research-evals", "modal"].first_breach == "2027-03"
    assert verdicts["research-evals", "e2b"].holds
    assert verdicts["research-evals", "aws-lambda"].holds
    assert verdicts["agents-on-e2b", "e2b"].holds
    assert verdicts["agents-on-e2b", "e2b"].first_alert(0.8) is not None


def test_team_budgets_on_a_fleet_say_the_idle_hosts_are_outside_them() -> None:
    fleet = fleet_platform(max_hosts=4)
    scenario = ss.scenario_from_dict(two_teams_dict(platforms=[fleet], replications=2))
    result = ss.forecast(scenario, months=1, executor=SERIAL)
    [note] = [w for w in result.warnings() if "idle hosts" in w]
    idle = result.costs[result.costs["team"] == "(fleet)"]["cost_usd"].sum()
    share = idle / result.costs["cost_usd"].sum()
    assert f"{share:.0%} of its bill" in note
    assert "core" in note
