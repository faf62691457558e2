"""Seeded golden results: a bundled GPU fleet scenario reproduces its pinned figures.

Numbers change only with a deliberate model or data change; then run
``python tests/golden/regenerate.py`` and review the diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(HERE))

from regenerate import GOLDEN, figures  # noqa: E402


def _compare(actual: object, expected: object, where: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert set(actual) == set(expected), where
        for key in expected:
            _compare(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-12), where
    else:
        assert actual == expected, where


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_scenario(name: str) -> None:
    expected = json.loads((HERE / f"{name}.json").read_text())
    actual = json.loads(json.dumps(figures(name, **GOLDEN[name])))
    _compare(actual, expected, name)
    # the golden GPU fleet must exercise MIG slices, whole GPUs and shares on real hosts
    fleets = [p for p in expected["platforms"].values() if "hosts" in p]
    assert fleets
    assert all(p["utilisation"]["gpu"] > 0 for p in fleets)
