"""Hosts' loads made once per value (simulator.engine.loads): the same floats as adding
and taking away each sandbox's demand, one object per value, bounded."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.engine import loads as loads_module
from simulator.engine.loads import HostLoads

DEMANDS = ((0.1, 0.3, 0.0), (2.0, 7.5, 0.5), (0.7, 1.1, 1.0))
"""Demands that are not exact in binary, so the order of sums matters to the bit."""


def replay(table: HostLoads, seed: int, steps: int) -> None:
    """Random takes and releases on one host, checked against plain float arithmetic."""
    rng = np.random.default_rng(seed)
    load = table.empty
    used = [0.0, 0.0, 0.0]
    held: list[int] = []
    for _ in range(steps):
        if held and rng.random() < 0.45:
            w = held.pop(int(rng.integers(len(held))))
            vcpu, gib, gpus = DEMANDS[w]
            used[0] -= vcpu
            used[1] -= gib
            if gpus:
                used[2] -= gpus
            if held:
                load = load.after_release.get(w) or table.released(load, w)
            else:
                load, used = table.empty, [0.0, 0.0, 0.0]
        else:
            w = int(rng.integers(len(DEMANDS)))
            held.append(w)
            vcpu, gib, gpus = DEMANDS[w]
            used[0] += vcpu
            used[1] += gib
            if gpus:
                used[2] += gpus
            load = load.after_take.get(w) or table.taken(load, w)
        assert load.used == tuple(used)  # bit for bit, not approximately
        assert load.room == ((48.0 - used[0]) / 96.0, (192.0 - used[1]) / 384.0)


def test_loads_are_the_sums_of_their_demands_bit_for_bit() -> None:
    table = HostLoads((48.0, 192.0), (96.0, 384.0), DEMANDS)
    for seed in range(20):
        replay(table, seed, 400)
    made = len(table)
    assert 1 < made < 20 * 400  # values repeat, so far fewer loads than steps


def test_one_load_per_value_and_transitions_are_kept() -> None:
    table = HostLoads((48.0, 192.0), (96.0, 384.0), DEMANDS)
    one = table.taken(table.empty, 1)
    assert table.empty.after_take == {1: one}  # only the transitions taken are kept
    assert table.taken(table.empty, 1) is one  # the same value: the same object
    back = table.released(one, 1)
    assert back is table.empty  # 0 + 2.0 - 2.0 is exactly 0
    assert one.after_release[1] is back
    first = table.taken(table.taken(table.empty, 0), 2)  # 0.1 then 0.7
    second = table.taken(table.taken(table.empty, 2), 0)  # 0.7 then 0.1
    assert (first is second) == (first.used == second.used)


def test_the_table_starts_anew_past_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loads_module, "LOADS_KEPT_AT_MOST", 16)
    table = HostLoads((48.0, 192.0), (96.0, 384.0), DEMANDS)
    kept = table.taken(table.empty, 0)
    for seed in range(5):
        replay(table, seed, 300)  # still exact after starting anew
        assert len(table) <= 16
    assert table.taken(table.empty, 0) is not kept  # made anew
    assert kept.after_take == {}  # links forgotten: loads can be freed
    assert table.empty.used == (0.0, 0.0, 0.0)
