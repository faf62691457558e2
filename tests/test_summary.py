"""Summary figures: the cost band across replications, and the price tables named."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from simulator import load_scenario, simulate
from simulator.scenario import scenario_from_dict
from simulator.summary import assumed_rates_used, cost_band, short_horizon_warning
from support import scenario_dict

if TYPE_CHECKING:
    from simulator.runner import SimulationResult


def test_cost_interval_does_not_reach_below_zero() -> None:
    """Two replications costing 1 and 100: Student's interval of the mean reaches far
    below zero (-578); a cost cannot, so it is cut at 0 (the upper end is kept)."""
    band = cost_band(np.array([1.0, 100.0]))
    low, high = band["mean_ci95"]
    assert low == 0.0
    assert high == pytest.approx(50.5 + 12.706204736174707 * 99 / 2, rel=1e-9)
    # an interval that stays above zero is untouched
    band = cost_band(np.array([99.0, 101.0]))
    assert band["mean_ci95"][0] == pytest.approx(100 - 12.706204736174707, rel=1e-9)


def _fleets(platforms: list[str] | None = None) -> SimulationResult:
    """The bundled self-hosted fleet scenario, cut to two hours and one replication."""
    scenario = load_scenario("self-hosted-fleet").with_overrides(
        {"horizon": 7200.0, "replications": 1}
    )
    return simulate(scenario, platforms=platforms)


def test_host_table_lists_every_assumed_rate_any_fleet_bills_with() -> None:
    """Two fleets share aws-ec2-us-east-1: Firecracker with a reserved_1y host (an
    assumed price) and gVisor on demand. The table's ``assumed`` listed only the last
    fleet's rates (cost_split alone), dropping m5.metal:reserved_1y that the first bills."""
    result = _fleets()
    both = result.summary()
    alone = _fleets(["firecracker-m5-metal"]).summary()
    key = "hosts:aws-ec2-us-east-1"
    assumed = both["pricing"][key]["assumed"]
    assert "m5.metal:reserved_1y" in assumed
    assert assumed == alone["pricing"][key]["assumed"]
    for resolved in result.platforms:
        table = both["platforms"][resolved.id]["price_table"]
        assert set(assumed_rates_used(resolved)) <= set(both["pricing"][table]["assumed"])


def test_a_fleet_names_the_host_table_it_is_billed_by_and_no_unused_table() -> None:
    """A fleet is billed by host time: its summary named the per-sandbox table it resolved
    to (self-hosted-m5-metal-allocated) and ``pricing`` listed that table's assumed
    rates, though the bill never reads it."""
    summary = _fleets(["firecracker-m5-metal", "e2b"]).summary()
    fleet = summary["platforms"]["firecracker-m5-metal"]
    assert fleet["price_table"] == "hosts:aws-ec2-us-east-1"
    assert fleet["price_table"] == summary["coverage"]["firecracker-m5-metal"]["priced_by"]
    assert summary["platforms"]["e2b"]["price_table"] == "e2b-usage"
    assert set(summary["pricing"]) == {"hosts:aws-ec2-us-east-1", "e2b-usage"}


def test_a_horizon_shorter_than_a_day_is_said_to_repeat() -> None:
    """Per-month figures of a 10-minute burst repeat it 4,320 times (a 6-hour slice of a
    daily profile 120 times); nothing said so. A day or more needs no such warning."""
    assert "repeat it 4,320 times" in str(short_horizon_warning(600.0))
    assert "repeat it 120 times" in str(short_horizon_warning(6 * 3600.0))
    assert short_horizon_warning(86400.0) is None
    assert short_horizon_warning(7 * 86400.0) is None
    hour = simulate(scenario_from_dict(scenario_dict(horizon="1h", replications=1)))
    warnings = hour.summary()["warnings"]
    assert warnings[0] == short_horizon_warning(3600.0)
    assert "repeat it 720 times to fill a 30-day month" in warnings[0]
    day = simulate(scenario_from_dict(scenario_dict(horizon="1d", replications=1)))
    assert not any("shorter than a day" in w for w in day.summary()["warnings"])
