"""Summary figures: the cost band across replications."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.summary import cost_band


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
