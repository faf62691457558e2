"""The quantile sketch that pools latencies over sandboxes and replications."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.sketch import PER_DECADE, LogSketch

RELATIVE = 10 ** (1 / PER_DECADE) - 1
"""A bin's relative width: a quantile is known to within this."""


def test_quantiles_mean_and_extremes_against_exact() -> None:
    rng = np.random.default_rng(2)
    values = rng.lognormal(0.0, 2.0, 400_000)
    values[:40_000] = 0.0
    sketch = LogSketch.of(values[:150_000]).merge(LogSketch.of(values[150_000:]))
    for q in (0.05, 0.1, 0.5, 0.9, 0.99, 0.999):
        exact = float(np.quantile(values, q, method="inverted_cdf"))
        assert sketch.quantile(q) == pytest.approx(exact, rel=RELATIVE, abs=1e-6)
    assert sketch.mean == pytest.approx(values.mean(), rel=1e-12)
    assert sketch.maximum == values.max()
    assert sketch.minimum == 0.0
    assert sketch.share_positive == pytest.approx(0.9)


@settings(max_examples=100)
@given(
    st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=200), st.floats(0.01, 0.99)
)
def test_any_quantile_is_within_a_bin(values: list[float], q: float) -> None:
    data = np.asarray(values)
    exact = float(np.quantile(data, q, method="inverted_cdf"))
    estimate = LogSketch.of(data).quantile(q)
    assert math.isclose(estimate, exact, rel_tol=RELATIVE, abs_tol=1e-6)


def test_empty_sketch() -> None:
    sketch = LogSketch.of(np.array([np.nan]))
    assert sketch.count == 0
    assert math.isnan(sketch.quantile(0.5))
    assert math.isnan(sketch.mean)
