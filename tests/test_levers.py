"""Levers: each setting found makes its budget hold when re-simulated on its own; the
searches rest on monotone levers; the commitment arithmetic; a budget nothing saves;
the CLI's exit codes and messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import simulator as ss
from simulator.cli import EXIT_INPUT, EXIT_OK, main
from simulator.executors import SerialExecutor
from simulator.forecast import run_forecast
from simulator.guardrails import check_budget
from simulator.levers import LIFETIME_GRID_S, beyond_commitment, commitment_spend
from support import fleet_platform, two_teams_dict

SERIAL = SerialExecutor()


def small_dict(**changes: Any) -> dict[str, Any]:
    """Two teams on E2B and Lambda, two months from 2027-03 growing 30%, two sampled days
    a month, six replications; the agents' budget on E2B is set by the tests."""
    data = two_teams_dict(
        name="levers",
        seed=11,
        replications=6,
        forecast={"start": "2027-03", "months": 2, "growth_per_month": 0.3, "sample_days": 2},
        budgets=[{"name": "core", "scope": {"team": "core", "platform": "e2b"}, "amount": 1e9}],
    )
    data.update(changes)
    return data


def with_amount(data: dict[str, Any], amount: float) -> ss.Scenario:
    data = {**data, "budgets": [{**data["budgets"][0], "amount": amount}]}
    return ss.scenario_from_dict(data)


@pytest.fixture(scope="module")
def broken() -> ss.Scenario:
    """The agents' E2B budget at 90% of its worst P95: it breaks, by about a tenth."""
    base = ss.forecast(with_amount(small_dict(), 1e9), executor=SERIAL)
    [check] = base.check_budgets()
    return with_amount(small_dict(), 0.9 * check.worst.spend_at_quantile)


@pytest.fixture(scope="module")
def found(broken: ss.Scenario) -> ss.LeversResult:
    return ss.levers(broken, only=["lifetime_cap", "concurrency_cap", "move"], executor=SERIAL)


def recheck(scenario: ss.Scenario, platform: str) -> Any:
    result = ss.forecast(scenario, executor=SERIAL)
    check = check_budget(result, scenario.budgets[0], platform)
    assert check is not None
    return check


def test_every_lever_found_holds_when_re_simulated(
    broken: ss.Scenario, found: ss.LeversResult
) -> None:
    [entry] = found.budgets
    assert not entry.before.holds
    holding = [lever for lever in entry.levers if lever.holds]
    assert {lever.lever for lever in holding} >= {"lifetime_cap", "concurrency_cap"}
    budget = broken.budgets[0]
    for lever in entry.levers:
        assert lever.value is not None
        assert lever.check is not None
        changed = ss.apply_lever(broken, budget, "e2b", lever.lever, lever.value)
        check = recheck(changed, lever.platform)
        assert check.holds == lever.holds, lever.setting
        # the same seeds: the lever's own figures are those of the re-simulation
        assert check.worst.spend_at_quantile == pytest.approx(
            lever.check.worst.spend_at_quantile, rel=1e-12
        )
    # levers that hold come first, and within them the least work lost
    order = [lever.holds for lever in entry.levers]
    assert order == sorted(order, reverse=True)


def next_lifetime(seconds: float) -> float:
    return LIFETIME_GRID_S[LIFETIME_GRID_S.index(seconds) + 1]


@pytest.mark.parametrize(
    ("name", "looser", "cost"),
    [
        # the cap's cost: run time cut, which the base did not have
        ("lifetime_cap", next_lifetime, "cut_share"),
        # the quota's cost on E2B: requests rejected over it
        ("concurrency_cap", lambda quota: quota + 1, "lost_share"),
    ],
)
def test_the_setting_found_is_the_loosest_that_holds(
    broken: ss.Scenario, found: ss.LeversResult, name: str, looser: Any, cost: str
) -> None:
    lever = next(lv for lv in found.budgets[0].levers if lv.lever == name)
    assert lever.holds
    assert lever.value is not None
    changed = ss.apply_lever(broken, broken.budgets[0], "e2b", name, looser(lever.value))
    assert not recheck(changed, "e2b").holds
    assert lever.service is not None
    assert getattr(lever.service, cost) > 0
    assert getattr(found.budgets[0].service_before, cost) == 0


def test_a_lower_lifetime_cap_never_raises_spend_on_a_per_second_platform(
    broken: ss.Scenario,
) -> None:
    spends = []
    for cap in (30.0, 120.0, 600.0):
        changed = ss.apply_lever(broken, broken.budgets[0], "e2b", "lifetime_cap", cap)
        spends.append(ss.forecast(changed, platforms=["e2b"], executor=SERIAL).spend("e2b"))
    assert np.all(spends[0] <= spends[1] + 1e-9)
    assert np.all(spends[1] <= spends[2] + 1e-9)
    assert np.any(spends[0] < spends[2])


def test_a_lower_quota_never_raises_spend_and_a_queue_makes_work_wait() -> None:
    data = small_dict(platforms=[{"profile": "modal"}, {"profile": "e2b"}])
    data["forecast"] = {**data["forecast"], "months": 1}
    data["budgets"] = [{"name": "core", "scope": {"team": "core"}, "amount": 1e9}]
    scenario = ss.scenario_from_dict(data)
    runs = {}
    for quota in (2, 4, 8):
        changed = scenario.with_overrides(
            {"platforms": [p.model_copy(update={"quota": quota}) for p in scenario.platforms]}
        )
        runs[quota] = ss.forecast(changed, executor=SERIAL)
    for platform in ("modal", "e2b"):
        spend = [runs[q].spend(platform, team="core") for q in (2, 4, 8)]
        assert np.all(spend[0] <= spend[1] + 1e-6)
        assert np.all(spend[1] <= spend[2] + 1e-6)
    waits = [
        float(runs[q].experience.query("platform == 'modal'")["queue_wait_p99_s"].mean())
        for q in (2, 4, 8)
    ]
    assert waits[0] >= waits[1] >= waits[2]
    assert waits[0] > waits[2]
    lost = [runs[q].service.query("platform == 'e2b'") for q in (2, 4, 8)]
    rejected = [float((x["requested"] - x["launched"]).sum()) for x in lost]
    assert rejected[0] >= rejected[1] >= rejected[2]
    assert rejected[0] > 0


def test_launch_levers_on_lambda_are_re_simulated_and_serve_launches_fast() -> None:
    data = small_dict(platforms=[{"profile": "aws-lambda"}])
    data["budgets"] = [{"name": "core", "scope": {"team": "core"}, "amount": 1e9}]
    base = ss.forecast(with_amount(data, 1e9), executor=SERIAL)
    [check] = base.check_budgets()
    scenario = with_amount(data, 0.97 * check.worst.spend_at_quantile)
    found = ss.levers(scenario, only=["snapshot", "warm_pool"], executor=SERIAL)
    [entry] = found.budgets
    tried = [lever for lever in entry.levers if lever.check is not None]
    assert tried, [lever.note for lever in entry.levers]
    # Lambda's pool is provisioned concurrency, which caps warm invocations at its size;
    # the pool model refills and would serve more warm at once: not offered as a lever
    [pool] = [lever for lever in entry.levers if lever.lever == "warm_pool"]
    assert not pool.applicable
    assert "provisioned concurrency" in pool.note
    for lever in tried:
        assert lever.value is not None
        assert lever.service is not None
        assert lever.service.fast_share > entry.service_before.fast_share
        changed = ss.apply_lever(
            scenario, scenario.budgets[0], "aws-lambda", lever.lever, lever.value
        )
        again = recheck(changed, "aws-lambda")
        assert again.holds == lever.holds
        assert again.worst.spend_at_quantile == pytest.approx(lever.check.worst.spend_at_quantile)


def test_commitment_arithmetic_by_hand() -> None:
    # 20% off: 4 USD an hour covers 5 USD of on-demand usage in each hour
    left = beyond_commitment(np.array([10.0, 0.0, 5.0, 6.0]), 4.0, 0.2)
    np.testing.assert_allclose(left, [5.0, 0.0, 0.0, 1.0])
    # the month: 4 hours of commitment (16) and 6 USD beyond it, against 21 on demand
    assert 4 * 4.0 + left.sum() == pytest.approx(22.0)


def test_commitment_lever_on_a_savings_plan() -> None:
    data = small_dict(platforms=[{"profile": "aws-lambda"}])
    data["budgets"] = [{"name": "core", "scope": {"team": "core"}, "amount": 1e9}]
    scenario = ss.scenario_from_dict(data)
    result = run_forecast(scenario, ss.load_catalog(), executor=SERIAL, hourly=True)
    budget = scenario.budgets[0]
    spend = result.spend("aws-lambda", team="core")
    plan = result.platforms[0].price_table.discounts["compute_savings_plan"]
    assert plan.applies_to == ("memory",)
    # no commitment: the bill as it is; a commitment above every hour: each hour pays it
    # and the memory spend is gone
    zero = commitment_spend(result, "aws-lambda", budget, plan.fraction, plan.applies_to, 0.0)
    np.testing.assert_allclose(zero, spend, rtol=1e-12)
    frame = result.components
    assert frame is not None
    memory = (
        frame[(frame["workload"] == "agents") & (frame["component"] == "memory")]
        .groupby(["replication", "month"])["cost_usd"]
        .sum()
        .unstack("month")
        .to_numpy()
    )
    hours = np.array([m.days * 24.0 for m in result.months])
    huge = commitment_spend(result, "aws-lambda", budget, plan.fraction, plan.applies_to, 1e3)
    np.testing.assert_allclose(huge, spend - memory + 1e3 * hours, rtol=1e-9)
    # a budget just under the spend: a commitment sized from the usage makes it hold
    amount = float(np.quantile(spend, 0.95, axis=0).max()) * 0.98
    tight = with_amount(data, amount)
    found = ss.levers(tight, only=["commitment"], executor=SERIAL)
    [entry] = found.budgets
    [lever] = entry.levers
    assert lever.holds, lever.note
    assert isinstance(lever.value, float)
    assert lever.value > 0
    assert lever.assumed  # the table's 17% is an "up to" figure
    again = commitment_spend(
        result, "aws-lambda", tight.budgets[0], plan.fraction, plan.applies_to, lever.value
    )
    assert np.quantile(again, 0.95, axis=0).max() <= amount
    assert lever.check is not None
    assert lever.check.worst.spend_at_quantile == pytest.approx(
        np.quantile(again, 0.95, axis=0).max()
    )


def test_committed_hosts_of_a_fleet_by_hand() -> None:
    """A fleet of one m5.metal (the load never needs a second) pays 4.608 USD an hour on
    demand; one host reserved for a year pays 2.765 (the table's assumed price)."""
    fleet = fleet_platform(overcommit={"vcpu": 2})
    data = small_dict(platforms=[fleet])
    data["budgets"] = [{"name": "fleet", "scope": {"platform": "fc"}, "amount": 1e9}]
    scenario = with_amount(data, 3000.0)
    found = ss.levers(scenario, only=["committed_hosts"], executor=SERIAL)
    [entry] = found.budgets
    hours = 31 * 24.0  # March, the longer month, is the worst
    assert entry.before.worst.month == "2027-03"
    assert entry.before.worst.spend_at_quantile == pytest.approx(4.608 * hours, rel=2e-3)
    [lever] = entry.levers
    assert lever.lever == "committed_hosts"
    assert lever.value == 1
    assert lever.holds
    assert lever.assumed
    assert lever.check is not None
    assert lever.check.worst.spend_at_quantile == pytest.approx(2.765 * hours, rel=2e-3)
    changed = ss.apply_lever(scenario, scenario.budgets[0], "fc", "committed_hosts", 1)
    assert recheck(changed, "fc").holds


def test_a_fleet_budget_gets_its_levers_and_no_concurrency_cap() -> None:
    """A quota does not apply to a fleet (its capacity is its hosts): the concurrency cap
    is not applicable there, and the other levers still run."""
    fleet = fleet_platform()
    data = small_dict(platforms=[fleet])
    data["budgets"] = [{"name": "fleet", "scope": {"platform": "fc"}, "amount": 1e9}]
    found = ss.levers(
        with_amount(data, 3000.0), only=["concurrency_cap", "committed_hosts"], executor=SERIAL
    )
    [entry] = found.budgets
    by_name = {lever.lever: lever for lever in entry.levers}
    assert not by_name["concurrency_cap"].applicable
    assert "max_hosts" in by_name["concurrency_cap"].note
    assert by_name["committed_hosts"].holds


def test_a_budget_no_lever_saves_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    scenario = with_amount(small_dict(), 0.01)
    found = ss.levers(scenario, only=["lifetime_cap", "concurrency_cap"], executor=SERIAL)
    [entry] = found.budgets
    assert not entry.saved
    assert not found.all_saved
    notes = " ".join(lever.note for lever in entry.levers)
    assert "no cap on the grid holds" in notes
    assert "no quota holds" in notes
    assert all(lever.check is not None for lever in entry.levers)  # the best tried is shown


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_exit_codes_and_outputs(
    broken: ss.Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "levers.yaml"
    data = small_dict()
    data["budgets"] = [b.model_dump(mode="json", exclude_none=True) for b in broken.budgets]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    out_dir = tmp_path / "out"
    args = ["levers", str(path), "--workers", "1", "--out", str(out_dir)]
    # agents cost more on Lambda than on E2B here: moving does not save the budget
    code, out, _ = run_cli(capsys, *args, "--lever", "move")
    assert code == 1
    assert "move agents to aws-lambda" in out
    code, out, err = run_cli(capsys, *args, "--lever", "concurrency_cap", "--json")
    assert code == EXIT_OK, err
    assert json.loads(out)["status"] == "saved"
    summary = json.loads((out_dir / "summary.json").read_text())
    [entry] = summary["levers"]
    assert entry["saved"]
    assert entry["levers"][0]["holds"]
    assert entry["levers"][0]["lever"] == "concurrency_cap"
    assert (out_dir / "levers.csv").read_text().startswith("budget,")
    data["budgets"][0]["amount"] = 0.01
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, _ = run_cli(capsys, *args, "--lever", "concurrency_cap")
    assert code == 1
    assert "no lever makes core hold on e2b" in out


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--budget", "nope"], "unknown budget 'nope'"),
        (["--lever", "magic"], "unknown lever 'magic'"),
        (["--replications", "1"], "--replications"),
    ],
)
def test_cli_bad_input_exits_2_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(small_dict()))
    code, _, err = run_cli(capsys, "levers", str(path), "--out", str(tmp_path / "o"), *extra)
    assert code == EXIT_INPUT
    assert needle in err
    assert "Traceback" not in err


def test_cli_scenario_without_budgets_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "s.yaml"
    data = small_dict()
    del data["budgets"]
    path.write_text(yaml.safe_dump(data))
    code, _, err = run_cli(capsys, "levers", str(path), "--out", str(tmp_path / "o"))
    assert code == EXIT_INPUT
    assert "no budgets" in err
    assert "fix:" in err


def test_every_levers_summary_key_is_documented(found: ss.LeversResult) -> None:
    documented = (Path(__file__).resolve().parent.parent / "docs" / "outputs.md").read_text()

    def keys(node: Any) -> set[str]:
        out: set[str] = set()
        if isinstance(node, dict):
            for key, value in node.items():
                out |= {key} | keys(value)
        elif isinstance(node, list):
            for item in node:
                out |= keys(item)
        return out

    section = {"levers": found.summary_section()}
    missing = sorted(k for k in keys(section) if f"`{k}`" not in documented)
    assert not missing, f"levers keys missing from docs/outputs.md: {missing}"
    columns = found.table().columns
    missing_columns = sorted(c for c in columns if f"`{c}`" not in documented)
    assert not missing_columns, (
        f"levers.csv columns missing from docs/outputs.md: {missing_columns}"
    )
