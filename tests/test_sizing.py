"""SLO sizing finds the smallest size that meets the objective, and no smaller one does."""

from __future__ import annotations

import pytest

import simulator as ss
from simulator.errors import InputError
from simulator.sizing import Objective
from support import scenario_dict, theory_catalog


def test_objective_parsing() -> None:
    goal = Objective.parse("p99 time_to_ready <= 1s")
    assert (goal.statistic, goal.metric, goal.limit_s, goal.strict) == (
        "p99",
        "time_to_ready",
        1.0,
        False,
    )
    assert Objective.parse("max queue_wait < 250ms").limit_s == 0.25
    for bad in ("p99 latency <= 1s", "p101 time_to_ready <= 1s", "p99 time_to_ready <= soon"):
        with pytest.raises(InputError, match="slo"):
            Objective.parse(bad)


def test_smallest_pool_meeting_a_burst_objective(monkeypatch: pytest.MonkeyPatch) -> None:
    """A burst of 20 with 5 s cold starts and instant handovers: p75 <= 1 s needs 15 warm."""
    workload = {
        "name": "w",
        "arrivals": {"kind": "burst", "count": 20, "at": "10m"},
        "duration": {"kind": "fixed", "value": "10s"},
        "shape": {"vcpu": 1, "memory": 1},
    }
    scenario = ss.scenario_from_dict(
        scenario_dict(
            horizon="1h", replications=1, workloads=[workload], platforms=[{"profile": "theory"}]
        )
    )
    catalog = theory_catalog(latency_s=5.0, handover_s=0.01)
    original = ss.sizing.simulate

    def with_catalog(scenario: ss.Scenario, **kwargs: object) -> ss.SimulationResult:
        return original(scenario, catalog=catalog, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ss.sizing, "simulate", with_catalog)
    result = ss.size(scenario, "theory", "p75 time_to_ready <= 1s", "pool")
    assert result.size == 15
    sizes = {e.size: e.met for e in result.evaluations}
    assert sizes[15] is True
    assert sizes.get(14) is False
    assert result.chosen is not None
    assert result.chosen.cost_per_month_usd > 0


def test_sizing_the_quota_under_queueing(monkeypatch: pytest.MonkeyPatch) -> None:
    workload = {
        "name": "w",
        "arrivals": {"kind": "poisson", "per_second": 2},
        "duration": {"kind": "exponential", "mean": "5s"},
        "shape": {"vcpu": 1, "memory": 1},
    }
    scenario = ss.scenario_from_dict(
        scenario_dict(
            horizon="1h", replications=2, workloads=[workload], platforms=[{"profile": "theory"}]
        )
    )
    catalog = theory_catalog(concurrency=1)
    original = ss.sizing.simulate
    monkeypatch.setattr(ss.sizing, "simulate", lambda s, **k: original(s, catalog=catalog, **k))
    result = ss.size(scenario, "theory", "p95 queue_wait <= 1s", "quota")
    assert result.size is not None
    met = {e.size: e.met for e in result.evaluations}
    assert met[result.size]
    assert not met.get(result.size - 1, False)
    assert 10 <= result.size <= 25  # offered load is 10; some headroom is needed


def test_size_command(capsys: pytest.CaptureFixture[str]) -> None:
    from simulator.cli import main

    code = main(
        [
            "size",
            "claims/firecracker-boot-and-rate",
            "--platform",
            "firecracker",
            "--lever",
            "hosts",
            "--slo",
            "max time_to_ready <= 3s",
            "--workload",
            "burst-1500",
            "--replications",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "smallest hosts meeting" in out
    assert ": 4 (" in out  # 1,500 at 150/s per host within 3 s needs 4 hosts
    code = main(
        [
            "size",
            "claims/firecracker-boot-and-rate",
            "--platform",
            "nope",
            "--slo",
            "max time_to_ready <= 3s",
        ]
    )
    assert code == 2
