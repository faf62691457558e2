"""Stranded room while sandboxes wait: its two ways of working out agree, and each agrees
with a brute force, on generated hosts' rows and waits (many classes included)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from simulator.engine.stranded import HostRows, fits, stranded_while_waiting_integral


def generated(seed: int, classes: int, gpus: bool) -> tuple[HostRows, tuple, list, float]:
    """Hosts' rows (a few hosts, each a run of states over [0, horizon]), waits of random
    classes, and the classes' needs (GPU classes with one gate: GPUs free)."""
    rng = np.random.default_rng(seed)
    horizon = 1000.0
    time_s, until_s, free, up, gates = [], [], [], [], []
    for _ in range(int(rng.integers(1, 5))):
        cuts = np.sort(
            rng.choice(np.arange(1, 100) * 10.0, size=int(rng.integers(0, 12)), replace=False)
        )
        bounds = [0.0, *cuts.tolist(), horizon]
        for a, b in itertools.pairwise(bounds):
            time_s.append(a)
            until_s.append(b)
            free.append(
                [rng.integers(0, 9) * 4.0, rng.integers(0, 9) * 16.0, rng.integers(0, 3) * 1.0]
            )
            up.append(bool(rng.random() < 0.85))
            gates.append([free[-1][2]])
    rows = HostRows(
        np.array(time_s),
        np.array(until_s),
        np.array(free),
        np.array(up),
        np.array(gates) if gpus else None,
    )
    needs: list[tuple[float, ...]] = []
    for c in range(classes):
        vcpu, gib = float(rng.integers(1, 9) * 4), float(rng.integers(1, 9) * 16)
        needs.append((vcpu, gib, 1.0) if gpus and c % 3 == 0 else (vcpu, gib))
    n = int(rng.integers(1, 60))
    start = np.round(rng.uniform(-50, horizon + 50, n), -1)
    stop = start + np.round(rng.exponential(150, n), -1)
    waits = (rng.integers(0, classes, n), start, stop)
    return rows, waits, needs, horizon


def brute(rows: HostRows, waits: tuple, needs: list, horizon: float) -> np.ndarray:
    """Time split at every row's bounds and every wait's ends; in each piece, each running
    row adds its free vCPU and GiB if no waiting class fits it, its free GPUs if no
    waiting class with GPUs fits it while one waits."""
    classes, start, stop = waits
    cuts = sorted({0.0, horizon, *rows.time_s, *rows.until_s, *start, *stop})
    cuts = [t for t in cuts if 0.0 <= t <= horizon]
    fit = {c: fits(rows, needs[c]) for c in set(classes.tolist())}
    total = np.zeros(3)
    for a, b in itertools.pairwise(cuts):
        waiting = {int(c) for c, s, e in zip(classes, start, stop, strict=True) if s <= a < e}
        if not waiting:
            continue
        gpu_waiting = [c for c in waiting if len(needs[c]) > 2]
        inside = (rows.time_s <= a) & (a < rows.until_s) & rows.up
        for j in np.flatnonzero(inside):
            if not any(fit[c][j] for c in waiting):
                total[:2] += rows.free[j, :2] * (b - a)
            if gpu_waiting and rows.gates is not None and not any(fit[c][j] for c in gpu_waiting):
                total[2] += rows.free[j, 2] * (b - a)
    return total


@pytest.mark.parametrize("seed", range(40))
def test_both_ways_equal_a_brute_force(seed: int) -> None:
    classes = [1, 3, 63, 64, 65, 130][seed % 6]
    rows, waits, needs, horizon = generated(seed, classes, gpus=seed % 2 == 0)
    expected = brute(rows, waits, needs, horizon)
    for method in ("by_kind", "by_pair", "auto"):
        got = stranded_while_waiting_integral(rows, *waits, needs, horizon, method=method)  # type: ignore[arg-type]
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9, err_msg=method)


def test_rows_in_chunks_give_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Row-and-stretch pairs are worked out in chunks; chunks of one pair give the same."""
    import simulator.engine.stranded as stranded

    rows, waits, needs, horizon = generated(7, 65, gpus=True)
    whole = stranded_while_waiting_integral(rows, *waits, needs, horizon, method="by_pair")
    monkeypatch.setattr(stranded, "PAIRS_AT_ONCE", 1)
    chunked = stranded_while_waiting_integral(rows, *waits, needs, horizon, method="by_pair")
    np.testing.assert_allclose(chunked, whole, rtol=1e-12)
    assert whole.sum() > 0
