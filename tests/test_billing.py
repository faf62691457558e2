"""Billing: billed seconds, line items, free tier, periods, plans, discounts, credits.

The contract under test (simulator/billing.py): billed seconds per sandbox =
max(minimum, ceil((end - start) / increment) * increment), start being the column the
table's ``billing.bills_from`` names. Usage is split into 30-day periods by request time;
each period's quantities are scaled to a full month to apply the monthly free tier to the
aggregate (never per sandbox) and scaled back; discounts apply to (gross - free tier) for
the listed components; plan credits come off the monthly net; plan fees accrue per month,
pro rata for short periods, shared among workloads in proportion to their gross cost.
Rejected sandboxes are not billed.

Price tables are built here with ``PriceTable.model_validate`` so the hand arithmetic
does not depend on the bundled numbers (only the whole-simulation checks read bundled
tables, and they take every rate from the table object).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import simulator
import simulator.engine
import simulator.runner
from simulator.billing import (
    ROUNDING_TOLERANCE,
    ULPS_OF_NOISE,
    BillingInputs,
    bill,
    billed_seconds,
    billing_periods,
)
from simulator.pricing import Discount, PriceTable
from simulator.shapes import RoundedShape
from simulator.usage import COMPLETED, REJECTED, TIMED_OUT, Usage

DAY = 86400.0
MONTH = 30 * DAY
NAN = math.nan
PROV: dict[str, Any] = {"source": "test", "as_of": "2026-01-01"}
HYPOTHESIS = settings(max_examples=60, deadline=None, derandomize=True, database=None)


# --------------------------------------------------------------------------- helpers


def price_table(
    *,
    increment: float = 1.0,
    minimum: float = 0.0,
    bills_from: str = "ready",
    vcpu: float | None = None,
    memory: float | None = None,
    gpu: dict[str, float] | None = None,
    requests_per_million: float | None = None,
    free_tier: dict[str, float] | None = None,
    per: str = "second",
) -> PriceTable:
    """A price table built in the test (rates in USD per unit-``per``)."""
    data: dict[str, Any] = {
        "id": "test-table",
        "offering": "test",
        "name": "Test table",
        "region": "test",
        "as_of": "2026-01-01",
        "billing": {
            "increment": increment,
            "minimum": minimum,
            "bills_from": bills_from,
            **PROV,
        },
    }
    if vcpu is not None:
        data["vcpu"] = {"usd": vcpu, "per": per, **PROV}
    if memory is not None:
        data["memory"] = {"usd": memory, "per": per, **PROV}
    if gpu:
        data["gpu"] = {name: {"usd": usd, "per": per, **PROV} for name, usd in gpu.items()}
    if requests_per_million is not None:
        data["requests"] = {"usd_per_million": requests_per_million, **PROV}
    if free_tier is not None:
        data["free_tier"] = {**free_tier, **PROV}
    return PriceTable.model_validate(data)


Row = tuple[int, float, float, float, float, float, int]
"""(workload index, request, admit, launch_start, ready, end, outcome)."""


def sandbox(
    request: float,
    run: float,
    *,
    workload: int = 0,
    admit_wait: float = 0.0,
    launch_wait: float = 0.0,
    latency: float = 0.0,
    outcome: int = COMPLETED,
) -> Row:
    """One launched sandbox: it runs ``run`` seconds from ready."""
    admit = request + admit_wait
    launch = admit + launch_wait
    ready = launch + latency
    return (workload, request, admit, launch, ready, ready + run, outcome)


def rejected(request: float, workload: int = 0) -> Row:
    return (workload, request, NAN, NAN, NAN, NAN, REJECTED)


def make_usage(rows: list[Row], horizon: float = DAY, names: tuple[str, ...] = ("a",)) -> Usage:
    columns = [np.asarray([row[i] for row in rows], dtype=np.float64) for i in range(7)]
    n = len(rows)
    return Usage(
        platform_id="p",
        horizon_s=horizon,
        workload_names=names,
        workload_index=columns[0].astype(np.int32),
        request_s=columns[1],
        admit_s=columns[2],
        launch_start_s=columns[3],
        ready_s=columns[4],
        end_s=columns[5],
        launch_mode=np.zeros(n, dtype=np.int8),
        outcome=columns[6].astype(np.int8),
        engine_path="event",
    )


def make_inputs(
    table: PriceTable,
    shapes: tuple[RoundedShape | None, ...],
    names: tuple[str, ...] = ("a",),
    teams: tuple[str, ...] | None = None,
    **kwargs: Any,
) -> BillingInputs:
    return BillingInputs(
        platform_id="p",
        table=table,
        workload_names=names,
        shapes=shapes,
        teams=teams or tuple(f"team-{n}" for n in names),
        **kwargs,
    )


def line(items: pd.DataFrame, component: str, **match: Any) -> pd.Series:
    """The single line item of a component (and workload/period if given)."""
    mask = items["component"] == component
    for key, value in match.items():
        mask &= items[key] == value
    found = items[mask]
    assert len(found) == 1, f"expected one {component} line for {match}, got {len(found)}"
    return found.iloc[0]


def total_cost(usage: Usage, inputs: BillingInputs) -> float:
    return float(bill(usage, inputs)["cost_usd"].sum())


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-12, abs=1e-15)


# ------------------------------------------------------------- billed_seconds by hand


@pytest.mark.parametrize(
    ("duration", "increment", "minimum", "expected"),
    [
        # 1 ms (Lambda)
        (0.0015, 0.001, 0.0, 0.002),
        (0.002, 0.001, 0.0, 0.002),
        (0.0020001, 0.001, 0.0, 0.003),
        (1.2344, 0.001, 0.0, 1.235),
        (0.0000001, 0.001, 0.0, 0.001),
        # 100 ms (Cloud Run)
        (0.3, 0.1, 0.0, 0.3),
        (0.30001, 0.1, 0.0, 0.4),
        (0.25, 0.1, 0.0, 0.3),
        (0.05, 0.1, 0.0, 0.1),
        (12.0, 0.1, 0.0, 12.0),
        # 1 s with a 60 s minimum (Fargate)
        (0.5, 1.0, 60.0, 60.0),
        (59.2, 1.0, 60.0, 60.0),
        (60.0, 1.0, 60.0, 60.0),
        (60.4, 1.0, 60.0, 61.0),
        (61.0, 1.0, 60.0, 61.0),
        (119.000001, 1.0, 60.0, 120.0),
        # 1 s, no minimum
        (0.5, 1.0, 0.0, 1.0),
        (1.0, 1.0, 0.0, 1.0),
        (1.001, 1.0, 0.0, 2.0),
        # zero duration: nothing, or the minimum
        (0.0, 0.001, 0.0, 0.0),
        (0.0, 0.1, 0.0, 0.0),
        (0.0, 1.0, 0.0, 0.0),
        (0.0, 1.0, 60.0, 60.0),
    ],
)
def test_billed_seconds_by_hand(
    duration: float, increment: float, minimum: float, expected: float
) -> None:
    got = billed_seconds(np.array([0.0]), np.array([duration]), increment, minimum)
    assert got[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("start", "end", "increment", "expected"),
    [
        (0.0, 0.1 + 0.2, 0.1, 0.3),  # 0.30000000000000004: must not bill 0.4
        (0.0, 0.1 * 3, 0.1, 0.3),
        (0.0, sum([0.1] * 7), 0.1, 0.7),  # 0.7999999999999999 before the 8th term
        (0.0, 0.3 + 1e-12, 0.1, 0.3),  # float-noise sized excess is forgiven
        (0.0, 0.3 + 1e-6, 0.1, 0.4),  # a real excess is not
        (1000.1, 1000.1 + 0.3, 0.1, 0.3),
        (0.0, 0.001 * 3, 0.001, 0.003),
        (0.0, 0.1 + 0.2, 0.001, 0.3),
        (0.0, 59.0 + 0.1 + 0.9, 1.0, 60.0),
    ],
)
def test_billed_seconds_exact_multiples_despite_float_noise(
    start: float, end: float, increment: float, expected: float
) -> None:
    got = billed_seconds(np.array([start]), np.array([end]), increment, 0.0)[0]
    assert got == pytest.approx(expected, abs=1e-12)


def test_billed_seconds_is_vectorised_and_per_sandbox() -> None:
    start = np.array([0.0, 10.0, 20.0, 30.0])
    end = np.array([59.5, 70.0, 80.2, 31.0])
    np.testing.assert_allclose(
        billed_seconds(start, end, 1.0, 60.0), [60.0, 60.0, 61.0, 60.0], atol=1e-12
    )
    np.testing.assert_allclose(
        billed_seconds(start, end, 0.1, 0.0), [59.5, 60.0, 60.2, 1.0], atol=1e-12
    )


@pytest.mark.parametrize(
    ("start", "duration", "increment"),
    [
        (43200.123, 0.3, 0.001),  # 12 h in: 300 ms bills 301 ms (Lambda)
        (35 * DAY + 0.25, 1.7, 0.1),  # 35 d in: 1.7 s bills 1.8 s (Cloud Run)
    ],
)
def test_billed_seconds_exact_multiple_late_in_horizon(
    start: float, duration: float, increment: float
) -> None:
    got = billed_seconds(np.array([start]), np.array([start + duration]), increment, 0.0)
    assert got[0] == pytest.approx(duration, abs=increment / 100)


def test_bill_exact_multiple_late_in_day_is_not_overbilled() -> None:
    table = price_table(increment=0.001, bills_from="ready", memory=1e-5)
    usage = make_usage([sandbox(43200.0, 0.3, latency=0.123)])
    items = bill(usage, make_inputs(table, (RoundedShape(1.0, 2.0),)))
    assert line(items, "memory")["quantity"] == pytest.approx(2.0 * 0.3, rel=1e-9)


def test_raising_increment_to_a_non_multiple_can_lower_billed_time() -> None:
    """Why the metamorphic increment test raises the increment only by integer factors:
    ceil(x / h) * h is not monotone in h (1.0 s bills 1.2 s at h=0.6 but 1.0 s at h=1)."""
    one = np.array([1.0])
    assert billed_seconds(np.zeros(1), one, 0.6, 0.0)[0] == pytest.approx(1.2)
    assert billed_seconds(np.zeros(1), one, 1.0, 0.0)[0] == pytest.approx(1.0)


# ------------------------------------------------------ billed_seconds: properties

INCREMENTS = st.one_of(
    st.sampled_from([0.001, 0.1, 1.0]),
    st.floats(min_value=0.001, max_value=10.0, allow_nan=False),
)
MINIMUMS = st.one_of(
    st.sampled_from([0.0, 60.0]),
    st.floats(min_value=0.0, max_value=120.0, allow_nan=False),
)
STARTS = st.floats(min_value=0.0, max_value=1e5, allow_nan=False)
DURATIONS = st.floats(min_value=0.0, max_value=1e4, allow_nan=False)


@HYPOTHESIS
@given(
    start=STARTS,
    durations=st.lists(DURATIONS, min_size=1, max_size=20),
    increment=INCREMENTS,
    minimum=MINIMUMS,
)
def test_billed_seconds_properties(
    start: float, durations: list[float], increment: float, minimum: float
) -> None:
    starts = np.full(len(durations), start)
    ends = starts + np.asarray(durations)
    raw = ends - starts  # what is actually billed: the float difference of timestamps
    billed = billed_seconds(starts, ends, increment, minimum)
    # slack: a duration within the rounding slack above a multiple rounds down; the slack is
    # ROUNDING_TOLERANCE increments, or a few ulps of the timestamps when they are larger
    noise = ULPS_OF_NOISE * np.finfo(np.float64).eps * np.maximum(np.abs(starts), np.abs(ends))
    slack = np.maximum(ROUNDING_TOLERANCE * increment, noise) + 1e-15 * raw
    assert np.all(billed >= raw - slack), "billed below the raw duration"
    assert np.all(billed >= minimum), "billed below the minimum"
    above = raw > minimum
    assert np.all(billed[above] - raw[above] < increment * (1 + 1e-9)), "over one increment"
    on_grid = billed > minimum
    units = billed[on_grid] / increment
    np.testing.assert_allclose(units, np.round(units), rtol=0, atol=1e-6)


@HYPOTHESIS
@given(
    durations=st.lists(DURATIONS, min_size=2, max_size=30),
    increment=INCREMENTS,
    minimum=MINIMUMS,
)
def test_billed_seconds_is_monotone_in_duration(
    durations: list[float], increment: float, minimum: float
) -> None:
    raw = np.sort(np.asarray(durations))
    billed = billed_seconds(np.zeros(raw.size), raw, increment, minimum)
    assert np.all(np.diff(billed) >= 0)


# ---------------------------------------------------------------- line items by hand

SHAPE = RoundedShape(2.0, 4.0)
VCPU_RATE, MEMORY_RATE, REQUEST_FEE = 1e-5, 2e-6, 0.5  # per s, per GiB-s, per million
HAND_ROWS: list[Row] = [
    (0, 10.0, 10.0, 12.0, 15.5, 45.2, COMPLETED),
    (0, 100.0, 101.0, 101.0, 103.0, 703.0, TIMED_OUT),  # a timeout is billed too
    (0, 200.0, NAN, NAN, NAN, NAN, REJECTED),
    (0, 300.0, 300.0, 300.5, 301.0, 301.0, COMPLETED),  # zero run time after ready
]


@pytest.mark.parametrize(
    ("bills_from", "seconds"),
    [
        ("request", 36 + 603 + 1),  # 35.2 -> 36, 603, 1
        ("admission", 36 + 602 + 1),  # 35.2 -> 36, 602, 1
        ("launch_start", 34 + 602 + 1),  # 33.2 -> 34, 602, 0.5 -> 1
        ("ready", 30 + 600 + 0),  # 29.7 -> 30, 600, 0
    ],
)
def test_line_items_by_hand(bills_from: str, seconds: float) -> None:
    table = price_table(
        bills_from=bills_from,
        vcpu=VCPU_RATE,
        memory=MEMORY_RATE,
        requests_per_million=REQUEST_FEE,
    )
    items = bill(make_usage(HAND_ROWS), make_inputs(table, (SHAPE,), teams=("blue",)))
    assert set(items["component"]) == {"vcpu", "memory", "requests"}
    assert (items["platform"] == "p").all()
    assert (items["workload"] == "a").all()
    assert (items["team"] == "blue").all()
    assert (items["period"] == 0).all()
    expected = {
        "vcpu": (2.0 * seconds, VCPU_RATE, "vCPU-s"),
        "memory": (4.0 * seconds, MEMORY_RATE, "GiB-s"),
        "requests": (3.0, REQUEST_FEE / 1e6, "requests"),  # the rejected one is not a request
    }
    for component, (quantity, rate, unit) in expected.items():
        item = line(items, component)
        assert item["unit"] == unit
        assert item["quantity"] == approx(quantity)
        assert item["rate_usd"] == approx(rate)
        assert item["gross_usd"] == approx(quantity * rate)
        assert item["free_tier_usd"] == 0.0
        assert item["discount_usd"] == 0.0
        assert item["credit_usd"] == 0.0
        assert item["cost_usd"] == approx(quantity * rate)


def test_bills_from_shifts_billed_time_by_the_lifecycle_gap() -> None:
    """Billing from the request instead of ready adds each sandbox's wait and launch."""
    base: dict[str, Any] = {"vcpu": 1.0, "increment": 0.001}
    rows = [sandbox(5.0, 10.0, admit_wait=2.0, launch_wait=1.0, latency=3.0)]
    quantity = {}
    for bills_from in ("request", "admission", "launch_start", "ready"):
        table = price_table(bills_from=bills_from, **base)
        items = bill(make_usage(rows), make_inputs(table, (RoundedShape(1.0, 1.0),)))
        quantity[bills_from] = line(items, "vcpu")["quantity"]
    assert quantity["ready"] == pytest.approx(10.0)
    assert quantity["launch_start"] == pytest.approx(13.0)
    assert quantity["admission"] == pytest.approx(14.0)
    assert quantity["request"] == pytest.approx(16.0)


def test_gpu_line_item_by_hand() -> None:
    table = price_table(
        vcpu=1e-5,
        memory=1e-6,
        gpu={"h100": 1e-3, "l4": 2e-4},
        free_tier={"vcpu_seconds": 1e9},  # vCPU free; the GPU has no free tier
    )
    shape = RoundedShape(8.0, 32.0, "h100", 2)
    usage = make_usage([sandbox(0.0, 10.4), sandbox(50.0, 20.0), rejected(60.0)])
    items = bill(usage, make_inputs(table, (shape,)))
    assert set(items["item"]) == {"vcpu", "memory", "gpu:h100"}  # no request fee in table
    gpu = line(items, "gpu")
    assert gpu["item"] == "gpu:h100"
    assert gpu["unit"] == "GPU-s"
    assert gpu["quantity"] == approx(2 * 31.0)  # 11 s + 20 s, two GPUs
    assert gpu["rate_usd"] == approx(1e-3)
    assert gpu["gross_usd"] == approx(0.062)
    assert gpu["free_tier_usd"] == 0.0
    assert gpu["cost_usd"] == approx(0.062)
    assert line(items, "vcpu")["cost_usd"] == 0.0
    assert line(items, "memory")["cost_usd"] == approx(32 * 31.0 * 1e-6)


def test_memory_only_table_with_hourly_rate() -> None:
    """Lambda-like: memory billed (rate per hour), no vCPU line even though the shape has CPU."""
    table = price_table(memory=0.036, per="hour", increment=0.001, requests_per_million=0.2)
    usage = make_usage([sandbox(0.0, 1.2345), sandbox(10.0, 0.0001)])
    items = bill(usage, make_inputs(table, (RoundedShape(1.1577, 2.0),)))
    assert set(items["component"]) == {"memory", "requests"}
    memory = line(items, "memory")
    assert memory["rate_usd"] == approx(1e-5)
    assert memory["quantity"] == approx(2.0 * (1.235 + 0.001))
    assert memory["cost_usd"] == approx(2.0 * 1.236 * 1e-5)
    assert line(items, "requests")["cost_usd"] == approx(2 * 0.2e-6)


def test_rejected_sandbox_adds_nothing() -> None:
    table = price_table(vcpu=VCPU_RATE, memory=MEMORY_RATE, requests_per_million=REQUEST_FEE)
    inputs = make_inputs(table, (SHAPE,))
    with_rejected = bill(make_usage(HAND_ROWS), inputs)
    without = bill(make_usage([r for r in HAND_ROWS if r[6] != REJECTED]), inputs)
    pd.testing.assert_frame_equal(with_rejected, without)
    only_rejected = bill(make_usage([rejected(1.0), rejected(2.0)]), inputs)
    assert only_rejected.empty


def test_timed_out_sandbox_is_billed_to_its_end() -> None:
    table = price_table(vcpu=1.0)
    shape = (RoundedShape(1.0, 1.0),)
    done = bill(make_usage([sandbox(0.0, 30.0)]), make_inputs(table, shape))
    capped = bill(make_usage([sandbox(0.0, 30.0, outcome=TIMED_OUT)]), make_inputs(table, shape))
    assert line(capped, "vcpu")["cost_usd"] == line(done, "vcpu")["cost_usd"] == 30.0


# ------------------------------------------------------------------------ free tier


def _three_sandboxes(run: float = 100.0) -> Usage:
    return make_usage([sandbox(0.0, run), sandbox(3600.0, run), sandbox(7200.0, run)])


@pytest.mark.parametrize(
    ("allowance", "expected_cost"),
    [
        (10_000.0, 0.0),  # 30 x 300 GiB-s = 9,000 a month: all free
        (9_000.0, 0.0),  # exactly the allowance
        (6_000.0, (9_000.0 - 6_000.0) / 30 * 1e-5),  # 100 GiB-s billed for the day
        (0.0, 300 * 1e-5),  # a zero allowance is no free tier
    ],
)
def test_free_tier_on_the_monthly_aggregate(allowance: float, expected_cost: float) -> None:
    table = price_table(memory=1e-5, free_tier={"gib_seconds": allowance})
    items = bill(_three_sandboxes(), make_inputs(table, (RoundedShape(1.0, 1.0),)))
    memory = line(items, "memory")
    assert memory["quantity"] == approx(300.0)
    assert memory["gross_usd"] == approx(300 * 1e-5)
    assert memory["free_tier_usd"] == approx(300 * 1e-5 - expected_cost)
    assert memory["cost_usd"] == approx(expected_cost)


def test_free_tier_is_not_per_sandbox() -> None:
    """Each sandbox alone (100 GiB-s a day, 3,000 a month) is inside a 6,000 allowance, so
    a per-sandbox free tier would bill nothing; the aggregate (9,000 a month) exceeds it."""
    table = price_table(memory=1e-5, free_tier={"gib_seconds": 6_000.0})
    cost = total_cost(_three_sandboxes(), make_inputs(table, (RoundedShape(1.0, 1.0),)))
    per_sandbox_cost = sum(max(0.0, 100.0 * 30 - 6_000.0) / 30 * 1e-5 for _ in range(3))
    no_free_tier = 300 * 1e-5
    assert per_sandbox_cost == 0.0
    assert cost == approx(1e-3)
    assert cost > per_sandbox_cost
    assert cost < no_free_tier


def test_free_tier_for_requests_on_the_aggregate() -> None:
    table = price_table(requests_per_million=1e6, free_tier={"requests": 60.0})  # 1 USD each
    items = bill(_three_sandboxes(), make_inputs(table, (RoundedShape(1.0, 1.0),)))
    requests = line(items, "requests")
    # 3 a day = 90 a month, 60 free: 30 a month billed, 1 for the day
    assert requests["gross_usd"] == approx(3.0)
    assert requests["cost_usd"] == approx(1.0)


def test_free_tier_shared_across_workloads_in_proportion() -> None:
    """One allowance for the account: two workloads (200 and 100 GiB-s a day) share it."""
    table = price_table(memory=1e-5, vcpu=1e-4, free_tier={"gib_seconds": 6_000.0})
    usage = make_usage(
        [
            sandbox(0.0, 100.0, workload=0),
            sandbox(10.0, 100.0, workload=0),
            sandbox(20.0, 100.0, workload=1),
        ],
        names=("a", "b"),
    )
    shape = RoundedShape(1.0, 1.0)
    items = bill(usage, make_inputs(table, (shape, shape), names=("a", "b")))
    a, b = line(items, "memory", workload="a"), line(items, "memory", workload="b")
    covered = 6_000.0 / 9_000.0
    assert a["free_tier_usd"] == approx(200 * 1e-5 * covered)
    assert b["free_tier_usd"] == approx(100 * 1e-5 * covered)
    assert a["cost_usd"] + b["cost_usd"] == approx(1e-3)
    # vcpu has no allowance in this table
    assert line(items, "vcpu", workload="a")["free_tier_usd"] == 0.0
    # a per-workload free tier would have made both free (6,000 and 3,000 a month)
    assert a["cost_usd"] > 0.0
    assert b["cost_usd"] > 0.0


# -------------------------------------------------------------- multi-period horizon


def test_billing_periods() -> None:
    assert billing_periods(DAY) == [(0.0, DAY)]
    assert billing_periods(MONTH) == [(0.0, MONTH)]
    assert billing_periods(45 * DAY) == [(0.0, MONTH), (MONTH, 15 * DAY)]
    assert billing_periods(60 * DAY + 1) == [(0.0, MONTH), (MONTH, MONTH), (2 * MONTH, 1.0)]


@pytest.mark.parametrize(
    ("late_run", "expected_cost_1"),
    [
        (200.0, 0.0),  # period 1: 400 GiB-s in 15 d = 800 a month < 1,000: free
        (400.0, (1_600.0 - 1_000.0) / 2 * 1e-5),  # 1,600 a month: 600 over, half of it
    ],
)
def test_multi_period_free_tier_and_plan_fee(late_run: float, expected_cost_1: float) -> None:
    rate, allowance = 1e-5, 1_000.0
    table = price_table(memory=rate, free_tier={"gib_seconds": allowance})
    rows = [
        sandbox(1 * DAY, 600.0),
        sandbox(10 * DAY, 600.0),
        sandbox(MONTH - 864.0, 1_800.0),  # requested in period 0, runs into period 1
        sandbox(31 * DAY, late_run),
        sandbox(44 * DAY, late_run),
    ]
    usage = make_usage(rows, horizon=45 * DAY)
    inputs = make_inputs(table, (RoundedShape(1.0, 1.0),), plan="pro", plan_fee_usd_per_month=150.0)
    items = bill(usage, inputs)
    p0 = line(items, "memory", period=0)
    p1 = line(items, "memory", period=1)
    assert p0["quantity"] == approx(3_000.0)
    assert p0["free_tier_usd"] == approx(allowance * rate)  # scale 1
    assert p0["cost_usd"] == approx(2_000.0 * rate)
    assert p1["quantity"] == approx(2 * late_run)
    assert p1["cost_usd"] == approx(expected_cost_1)
    # the 15-day period is scaled by 2 for the tier: at most half the allowance is free
    assert p1["free_tier_usd"] == approx(min(2 * late_run, allowance / 2) * rate)
    fee0, fee1 = line(items, "plan", period=0), line(items, "plan", period=1)
    assert fee0["cost_usd"] == approx(150.0)
    assert fee1["cost_usd"] == approx(75.0)
    assert fee1["quantity"] == approx(0.5)
    # one free tier over the whole 45 days (1.5 allowances) differs when period 1 is
    # under its half allowance: per period 2,000 x rate, over the horizon 1,900 x rate
    whole_horizon = max(0.0, 3_000.0 + 2 * late_run - allowance * 1.5) * rate
    if late_run == 200.0:
        assert p0["cost_usd"] + p1["cost_usd"] == approx(whole_horizon + 100.0 * rate)


# ----------------------------------------------------------------- plan fee and credits

E2B_LIKE = {"vcpu": 1.4e-5, "memory": 4.5e-6}


def _two_workload_usage(b_sandboxes: int = 1) -> Usage:
    rows = [sandbox(0.0, 100.0, workload=0), sandbox(60.0, 100.0, workload=0)]
    rows += [sandbox(120.0 + i, 50.0, workload=1) for i in range(b_sandboxes)]
    return make_usage(rows, names=("a", "b"))


TWO_SHAPES = (RoundedShape(2.0, 4.0), RoundedShape(1.0, 1.0))


def test_plan_fee_pro_rata_shared_by_gross_cost() -> None:
    table = price_table(**E2B_LIKE)
    inputs = make_inputs(
        table,
        TWO_SHAPES,
        names=("a", "b"),
        teams=("t1", "t2"),
        plan="pro",
        plan_fee_usd_per_month=150.0,
    )
    items = bill(_two_workload_usage(), inputs)
    gross_a = 200.0 * (2 * 1.4e-5 + 4 * 4.5e-6)  # 9.2e-3
    gross_b = 50.0 * (1 * 1.4e-5 + 1 * 4.5e-6)  # 9.25e-4
    share_a = gross_a / (gross_a + gross_b)
    plan = items[items["component"] == "plan"]
    assert plan["cost_usd"].sum() == approx(5.0)  # 150 / 30 for one day
    fee_a, fee_b = line(items, "plan", workload="a"), line(items, "plan", workload="b")
    assert fee_a["item"] == "plan:pro"
    assert fee_a["team"] == "t1"
    assert fee_b["team"] == "t2"
    assert fee_a["rate_usd"] == 150.0
    assert fee_a["cost_usd"] == approx(5.0 * share_a)
    assert fee_b["cost_usd"] == approx(5.0 * (1 - share_a))
    assert fee_a["quantity"] == approx(share_a / 30)
    assert items["cost_usd"].sum() == approx(gross_a + gross_b + 5.0)


def test_plan_fee_goes_to_the_workloads_that_used_the_period() -> None:
    table = price_table(**E2B_LIKE)
    inputs = make_inputs(
        table, TWO_SHAPES, names=("a", "b"), plan="pro", plan_fee_usd_per_month=150.0
    )
    items = bill(_two_workload_usage(b_sandboxes=0), inputs)
    assert line(items, "plan", workload="a")["cost_usd"] == approx(5.0)
    assert ((items["component"] == "plan") & (items["workload"] == "b")).sum() == 0
    # with no usage at all the fee is still due (split evenly)
    idle = bill(make_usage([rejected(1.0)], names=("a", "b")), inputs)
    assert idle["cost_usd"].sum() == approx(5.0)
    assert set(idle["component"]) == {"plan"}


@pytest.mark.parametrize(
    ("run", "fee", "expected_usage_cost"),
    [
        (500.0, 0.0, 0.0),  # 0.5 USD a day = 15 a month, under the 30 credit
        (3_000.0, 0.0, 3.0 - 1.0),  # 3 a day = 90 a month, 30 of it credited
        (3_000.0, 250.0, 3.0 - 1.0),  # a plan fee is not reduced by the credit
    ],
)
def test_plan_credit_reduces_cost_never_below_zero(
    run: float, fee: float, expected_usage_cost: float
) -> None:
    table = price_table(memory=1e-3, vcpu=0.0)
    inputs = make_inputs(
        table,
        (RoundedShape(1.0, 1.0),),
        plan="team",
        plan_fee_usd_per_month=fee,
        plan_credit_usd_per_month=30.0,
    )
    usage = make_usage([sandbox(0.0, run / 2), sandbox(100.0, run / 2)])
    items = bill(usage, inputs)
    usage_items = items[items["component"] != "plan"]
    assert (items["cost_usd"] >= 0).all()
    assert usage_items["cost_usd"].sum() == approx(expected_usage_cost)
    memory = line(items, "memory")
    assert memory["credit_usd"] == approx(run * 1e-3 - expected_usage_cost)
    assert items["cost_usd"].sum() == approx(expected_usage_cost + fee / 30)


def test_free_tier_then_discount_then_credit() -> None:
    """Order of deductions: free tier off gross, discount off (gross - free), credit off net."""
    table = price_table(memory=1e-3, free_tier={"gib_seconds": 30_000.0})
    inputs = make_inputs(
        table,
        (RoundedShape(1.0, 1.0),),
        discount_fraction=0.5,
        discount_applies_to=("memory",),
        plan_credit_usd_per_month=15.0,
    )
    usage = make_usage([sandbox(0.0, 4_000.0)])  # 4 USD gross a day
    memory = line(bill(usage, inputs), "memory")
    assert memory["gross_usd"] == approx(4.0)
    assert memory["free_tier_usd"] == approx(1.0)  # 30,000 / 30 GiB-s
    assert memory["discount_usd"] == approx(1.5)  # half of 3
    assert memory["credit_usd"] == approx(0.5)  # 15 / 30
    assert memory["cost_usd"] == approx(1.0)


# -------------------------------------------------------------------------- discount


def test_discount_only_on_listed_components() -> None:
    table = price_table(
        vcpu=1e-5,
        memory=2e-6,
        requests_per_million=1e5,
        free_tier={"vcpu_seconds": 3_000.0},
    )
    usage = make_usage([sandbox(0.0, 100.0), sandbox(10.0, 100.0)])  # 400 vCPU-s a day
    shape = (RoundedShape(2.0, 4.0),)
    items = bill(
        usage, make_inputs(table, shape, discount_fraction=0.25, discount_applies_to=("vcpu",))
    )
    vcpu, memory, requests = (line(items, c) for c in ("vcpu", "memory", "requests"))
    vcpu_free = 3_000.0 / 30 * 1e-5
    assert vcpu["free_tier_usd"] == approx(vcpu_free)
    assert vcpu["discount_usd"] == approx(0.25 * (400 * 1e-5 - vcpu_free))
    assert vcpu["cost_usd"] == approx(0.75 * (400 * 1e-5 - vcpu_free))
    assert memory["discount_usd"] == 0.0
    assert requests["discount_usd"] == 0.0
    assert requests["cost_usd"] == approx(0.2)


def test_default_discount_spares_requests() -> None:
    discount = Discount.model_validate({"fraction": 0.2, **PROV})
    assert set(discount.applies_to) == {"vcpu", "memory", "gpu"}
    table = price_table(vcpu=1e-5, memory=2e-6, gpu={"l4": 1e-4}, requests_per_million=1e5)
    inputs = make_inputs(
        table,
        (RoundedShape(4.0, 16.0, "l4", 1),),
        discount_fraction=discount.fraction,
        discount_applies_to=discount.applies_to,
    )
    items = bill(make_usage([sandbox(0.0, 10.0)]), inputs)
    for component in ("vcpu", "memory", "gpu"):
        item = line(items, component)
        assert item["discount_usd"] == approx(0.2 * item["gross_usd"])
        assert item["discount_usd"] > 0
    assert line(items, "requests")["discount_usd"] == 0.0


# ----------------------------------------------------- metamorphic (hypothesis) checks

GRID = 2.0**-10
"""Times on a 1/1024 s grid are exact in float, so end - start carries no noise (noise
late in the horizon is tested above) and increments of 1 ms, 100 ms, 1 s compare exactly."""


@st.composite
def billing_cases(draw: st.DrawFn) -> tuple[Usage, dict[str, Any], dict[str, Any]]:
    horizon = draw(st.sampled_from([DAY, 45 * DAY]))
    rows: list[Row] = []
    for _ in range(draw(st.integers(0, 6))):
        workload = draw(st.integers(0, 1))
        request = float(draw(st.integers(0, int(horizon) - 1)))
        outcome = draw(st.sampled_from([COMPLETED, COMPLETED, TIMED_OUT, REJECTED]))
        if outcome == REJECTED:
            rows.append(rejected(request, workload))
            continue
        waits = [draw(st.integers(0, 40 * 1024)) * GRID for _ in range(3)]
        run = draw(st.integers(0, 900 * 1024)) * GRID
        rows.append(
            sandbox(
                request,
                run,
                workload=workload,
                admit_wait=waits[0],
                launch_wait=waits[1],
                latency=waits[2],
                outcome=outcome,
            )
        )
    rate = st.floats(min_value=1e-7, max_value=1e-3)
    table = {
        "increment": draw(st.sampled_from([0.001, 0.1, 1.0])),
        "minimum": draw(st.sampled_from([0.0, 1.0, 60.0])),
        "bills_from": draw(st.sampled_from(["request", "admission", "launch_start", "ready"])),
        "vcpu": draw(st.none() | rate),
        "memory": draw(rate),
        "gpu": {"l4": draw(rate)},
        "requests_per_million": draw(st.none() | st.floats(min_value=0.0, max_value=100.0)),
        "free_tier": draw(
            st.none()
            | st.fixed_dictionaries(
                {
                    "vcpu_seconds": st.floats(min_value=0.0, max_value=1e6),
                    "gib_seconds": st.floats(min_value=0.0, max_value=1e6),
                    "requests": st.floats(min_value=0.0, max_value=1e3),
                }
            )
        ),
    }
    shapes = (
        RoundedShape(draw(st.sampled_from([0.25, 1.0, 2.0])), draw(st.sampled_from([0.5, 4.0]))),
        draw(st.sampled_from([RoundedShape(1.0, 2.0), RoundedShape(4.0, 16.0, "l4", 1)])),
    )
    billing = {
        "shapes": shapes,
        "plan": "p",
        "plan_fee_usd_per_month": draw(st.sampled_from([0.0, 150.0])),
        "plan_credit_usd_per_month": draw(st.sampled_from([0.0, 0.01, 30.0])),
        "discount_fraction": draw(st.sampled_from([0.0, 0.2, 0.5])),
        "discount_applies_to": draw(
            st.sampled_from([(), ("vcpu", "memory", "gpu"), ("memory", "requests")])
        ),
    }
    return make_usage(rows, horizon=horizon, names=("a", "b")), table, billing


def _cost(usage: Usage, table: dict[str, Any], billing: dict[str, Any]) -> float:
    inputs = make_inputs(price_table(**table), names=("a", "b"), **billing)
    return total_cost(usage, inputs)


def _at_least(new: float, old: float) -> bool:
    return new >= old - 1e-12 * max(abs(old), 1.0)


@HYPOTHESIS
@given(case=billing_cases(), k=st.floats(min_value=1.0, max_value=10.0))
def test_higher_prices_never_lower_cost(
    case: tuple[Usage, dict[str, Any], dict[str, Any]], k: float
) -> None:
    usage, table, billing = case
    scaled = dict(table)
    for key in ("vcpu", "memory", "requests_per_million"):
        if scaled[key] is not None:
            scaled[key] = scaled[key] * k
    scaled["gpu"] = {name: usd * k for name, usd in table["gpu"].items()}
    before, after = _cost(usage, table, billing), _cost(usage, scaled, billing)
    assert before >= 0
    assert _at_least(after, before)


@HYPOTHESIS
@given(
    case=billing_cases(),
    extra_minimum=st.floats(min_value=0.0, max_value=300.0),
    factor=st.sampled_from([1, 2, 10, 100, 1000]),
)
def test_raising_minimum_or_increment_never_lowers_cost(
    case: tuple[Usage, dict[str, Any], dict[str, Any]], extra_minimum: float, factor: int
) -> None:
    usage, table, billing = case
    before = _cost(usage, table, billing)
    higher_minimum = {**table, "minimum": table["minimum"] + extra_minimum}
    assert _at_least(_cost(usage, higher_minimum, billing), before)
    coarser = {**table, "increment": table["increment"] * factor}
    assert _at_least(_cost(usage, coarser, billing), before)


@HYPOTHESIS
@given(
    case=billing_cases(),
    request=st.floats(min_value=0.0, max_value=1.0),
    run=st.integers(0, 900 * 1024),
    workload=st.integers(0, 1),
)
def test_adding_a_sandbox_never_lowers_cost(
    case: tuple[Usage, dict[str, Any], dict[str, Any]], request: float, run: int, workload: int
) -> None:
    usage, table, billing = case
    rows = [
        (
            int(usage.workload_index[i]),
            float(usage.request_s[i]),
            float(usage.admit_s[i]),
            float(usage.launch_start_s[i]),
            float(usage.ready_s[i]),
            float(usage.end_s[i]),
            int(usage.outcome[i]),
        )
        for i in range(usage.size)
    ]
    new = sandbox(float(int(request * (usage.horizon_s - 1))), run * GRID, workload=workload)
    bigger = make_usage([*rows, new], horizon=usage.horizon_s, names=("a", "b"))
    before, after = _cost(usage, table, billing), _cost(bigger, table, billing)
    assert _at_least(after, before)
    no_allowance = table["free_tier"] is None and billing["plan_credit_usd_per_month"] == 0
    if no_allowance and run > 0:
        assert after > before  # without free allowances a sandbox that runs costs something


# ---------------------------------------------- closed form: lognormal billed seconds

N_SAMPLES = 200_000


def lognormal_billed_mean(
    mu: float, sigma: float, increment: float, minimum: float
) -> tuple[float, float]:
    """Bounds on E[billed] for D ~ lognormal(mu, sigma), rounded up to the increment with a
    minimum (a multiple of the increment):
    m P(D <= m) + sum_{k > m/h} k h P((k-1)h < D <= kh), summed until the tail mass is
    below 1e-12; beyond, each sandbox bills between D and D + h, and E[D; D > x] is the
    lognormal partial expectation."""
    dist = stats.lognorm(s=sigma, scale=math.exp(mu))
    k_min = round(minimum / increment)
    assert abs(k_min * increment - minimum) < 1e-9
    k_max = math.ceil(dist.isf(1e-12) / increment)
    k = np.arange(k_min + 1, k_max + 1, dtype=np.float64)
    upper, lower = k * increment, (k - 1) * increment
    probability = dist.sf(lower) - dist.sf(upper)  # accurate in the upper tail
    head = minimum * dist.cdf(minimum) if minimum > 0 else 0.0
    body = float(np.sum(upper * probability))
    x = k_max * increment
    tail_d = math.exp(mu + sigma**2 / 2) * stats.norm.cdf((mu + sigma**2 - math.log(x)) / sigma)
    low = head + body + tail_d
    return low, low + increment * dist.sf(x)


LOGNORMAL_CASES = [
    pytest.param(math.log(40.0), 0.8, 1.0, 60.0, id="fargate-1s-min60"),
    pytest.param(math.log(1.5), 1.0, 0.1, 0.0, id="cloud-run-100ms"),
    pytest.param(math.log(0.25), 0.6, 0.001, 0.0, id="lambda-1ms"),
]


@pytest.mark.parametrize(("mu", "sigma", "increment", "minimum"), LOGNORMAL_CASES)
def test_mean_billed_matches_lognormal_closed_form(
    mu: float, sigma: float, increment: float, minimum: float
) -> None:
    rng = np.random.default_rng(20260101)
    durations = rng.lognormal(mu, sigma, N_SAMPLES)
    billed = billed_seconds(np.zeros(N_SAMPLES), durations, increment, minimum)
    low, high = lognormal_billed_mean(mu, sigma, increment, minimum)
    tolerance = 4.5 * billed.std(ddof=1) / math.sqrt(N_SAMPLES)
    assert low - tolerance <= billed.mean() <= high + tolerance

    # The rounding overhead E[billed - D] has a far smaller spread (at most about one
    # increment, plus the minimum's top-up), so it checks the rounding itself, which at
    # 1 ms is too small to see in the mean of billed alone.
    overhead = billed - durations
    exact_mean = math.exp(mu + sigma**2 / 2)
    overhead_tolerance = 4.5 * overhead.std(ddof=1) / math.sqrt(N_SAMPLES)
    assert low - exact_mean - overhead_tolerance <= overhead.mean()
    assert overhead.mean() <= high - exact_mean + overhead_tolerance
    assert overhead.mean() > 10 * overhead_tolerance  # rounding up is visible


# ------------------------------------------------------- a whole simulated platform

SIM_SCENARIO: dict[str, Any] = {
    "name": "billing-check",
    "horizon": "1d",
    "seed": 20260101,
    "replications": 2,
    "workloads": [
        {
            "name": "w",
            "team": "t",
            "arrivals": {"kind": "poisson", "per_second": 1.0},
            "duration": {"kind": "lognormal", "median": "8s", "p95": "40s"},
            "shape": {"vcpu": 1, "memory": "2GiB"},
            "max_lifetime": "45s",  # some sandboxes time out, and are billed to the cap
        }
    ],
    "platforms": [
        {"profile": "aws-fargate", "vcpu_quota": "unlimited"},
        {"profile": "aws-lambda"},
        {"profile": "gcp-cloud-run"},
        {"id": "cloud-run-discounted", "profile": "gcp-cloud-run", "discount": 0.2},
    ],
}
EXPECTED_SHAPES = {
    "aws-fargate": (1.0, 2.0),
    "aws-lambda": (2048 / 1769, 2.0),  # 2 GiB of memory; 1,769 MiB per vCPU
    "gcp-cloud-run": (1.0, 2.0),
    "cloud-run-discounted": (1.0, 2.0),
}


@pytest.fixture(scope="module")
def simulated() -> simulator.SimulationResult:
    return simulator.simulate(simulator.scenario_from_dict(SIM_SCENARIO))


def _per_second(rate: Any) -> float:
    return rate.usd / 3600.0 if rate.per == "hour" else rate.usd


@pytest.mark.parametrize("platform_id", ["aws-fargate", "aws-lambda", "gcp-cloud-run"])
def test_simulated_bill_equals_usage_times_rates(
    simulated: simulator.SimulationResult, platform_id: str
) -> None:
    resolved = simulated.platform(platform_id)
    table = resolved.price_table
    shape = resolved.shapes[0]
    assert shape is not None
    assert (shape.vcpu, shape.memory_gib) == pytest.approx(EXPECTED_SHAPES[platform_id])
    horizon = simulated.scenario.horizon
    for run in simulated.runs[platform_id]:
        usage = run.usage
        assert usage is not None
        launched = usage.outcome != REJECTED
        assert usage.count(TIMED_OUT) > 0
        bills_from = table.billing.bills_from
        if bills_from.startswith("part:"):
            # from the start of a named launch part: launch start plus the parts before it
            assert usage.part_offset_s is not None
            offset = usage.part_offset_s[bills_from.removeprefix("part:")]
            assert np.all(offset[launched] > 0)  # the part comes after the control plane
            start = np.where(np.isnan(offset), usage.ready_s, usage.launch_start_s + offset)
        else:
            start = {
                "request": usage.request_s,
                "admission": usage.admit_s,
                "launch_start": usage.launch_start_s,
                "ready": usage.ready_s,
            }[bills_from]
        raw = usage.end_s[launched] - start[launched]
        h, m = table.billing.increment, table.billing.minimum
        seconds = float(np.maximum(m, np.ceil(raw / h) * h).sum())
        free = table.free_tier
        expected: dict[str, tuple[float, float, float]] = {}  # quantity, rate, allowance
        if table.vcpu is not None:
            allowance = free.vcpu_seconds if free else 0.0
            expected["vcpu"] = (shape.vcpu * seconds, _per_second(table.vcpu), allowance)
        if table.memory is not None:
            allowance = free.gib_seconds if free else 0.0
            expected["memory"] = (shape.memory_gib * seconds, _per_second(table.memory), allowance)
        if table.requests is not None:
            allowance = free.requests if free else 0.0
            rate = table.requests.usd_per_million / 1e6
            expected["requests"] = (float(launched.sum()), rate, allowance)
        assert set(run.line_items["component"]) == set(expected)
        total = 0.0
        for component, (quantity, rate, allowance) in expected.items():
            # the monthly allowance, pro rata for this (one-day) period
            allowed = allowance * horizon / MONTH
            if allowance:
                assert quantity > allowed  # the free tier is exceeded, not just absorbing
            item = line(run.line_items, component)
            assert item["quantity"] == pytest.approx(quantity, rel=1e-9)
            assert item["gross_usd"] == pytest.approx(quantity * rate, rel=1e-9)
            assert item["free_tier_usd"] == pytest.approx(min(quantity, allowed) * rate, rel=1e-9)
            total += (quantity - min(quantity, allowed)) * rate
        assert run.line_items["cost_usd"].sum() == pytest.approx(total, rel=1e-9)
        if platform_id == "aws-fargate":
            assert free is None
            assert run.line_items["cost_usd"].sum() == pytest.approx(
                seconds * (_per_second(table.vcpu) + 2.0 * _per_second(table.memory)),
                rel=1e-9,
            )


def test_scenario_discount_fraction_spares_requests(
    simulated: simulator.SimulationResult,
) -> None:
    """A scenario discount of 0.2 (a fraction, not a named table discount) applies to
    vCPU, memory and GPU; on the same usage the request line is not discounted."""
    plain = simulated.runs["gcp-cloud-run"]
    discounted = simulated.runs["cloud-run-discounted"]
    for run, other in zip(plain, discounted, strict=True):
        for component in ("vcpu", "memory"):
            a, b = line(run.line_items, component), line(other.line_items, component)
            assert b["quantity"] == a["quantity"]  # same latencies: same usage
            assert b["discount_usd"] == approx(0.2 * (a["gross_usd"] - a["free_tier_usd"]))
            assert b["cost_usd"] == approx(0.8 * a["cost_usd"])
        requests = line(other.line_items, "requests")
        assert requests["discount_usd"] == 0.0
        assert requests["cost_usd"] == line(run.line_items, "requests")["cost_usd"]


def _doubled(table: PriceTable) -> PriceTable:
    data = table.model_dump(mode="python")
    data["id"] = f"{table.id}-doubled"
    for key in ("vcpu", "memory"):
        if data[key] is not None:
            data[key]["usd"] *= 2
    for rate in data["gpu"].values():
        rate["usd"] *= 2
    if data["requests"] is not None:
        data["requests"]["usd_per_million"] *= 2
    return PriceTable.model_validate(data)


@pytest.mark.parametrize("platform_id", ["aws-fargate", "gcp-cloud-run", "aws-lambda"])
def test_reprice_with_doubled_rates_doubles_cost_without_rerunning(
    simulated: simulator.SimulationResult, platform_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_engine(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("reprice re-ran the engine")

    monkeypatch.setattr(simulator.runner, "run_platform", no_engine)
    monkeypatch.setattr(simulator.engine, "run_platform", no_engine)
    runs = simulated.runs[platform_id]
    kept = [run.usage for run in runs]
    table = simulated.platform(platform_id).price_table

    same = simulated.reprice(platform_id, table)
    doubled = simulated.reprice(platform_id, _doubled(table))

    assert all(run.usage is usage for run, usage in zip(runs, kept, strict=True))
    for run in runs:
        original = run.line_items.reset_index(drop=True)
        again = same[same["replication"] == run.replication].drop(columns="replication")
        pd.testing.assert_frame_equal(again.reset_index(drop=True), original)
        twice = doubled[doubled["replication"] == run.replication].reset_index(drop=True)
        np.testing.assert_array_equal(twice["quantity"], original["quantity"])
        # the free tier is in quantity units, so it scales with the rates as well
        np.testing.assert_allclose(twice["cost_usd"], 2 * original["cost_usd"], rtol=1e-12)
        assert twice["cost_usd"].sum() == pytest.approx(2 * original["cost_usd"].sum(), rel=1e-12)
        assert twice["cost_usd"].sum() > 0


def test_reprice_needs_kept_usage() -> None:
    scenario = simulator.scenario_from_dict({**SIM_SCENARIO, "horizon": "10m"})
    result = simulator.simulate(scenario, platforms=["aws-fargate"], keep_usage=False)
    table = result.platform("aws-fargate").price_table
    with pytest.raises(ValueError, match="keep_usage"):
        result.reprice("aws-fargate", table)


def test_snapshot_launches_pay_restore_and_cache_fees() -> None:
    """Lambda SnapStart: a fee per GiB restored and the cache per GiB-hour."""
    import simulator as ss
    from support import scenario_dict, workload

    scenario = ss.scenario_from_dict(
        scenario_dict(
            horizon="1h",
            replications=1,
            workloads=[workload(shape={"vcpu": 1, "memory": "2GiB"})],
            platforms=[
                {"profile": "aws-lambda", "launch_mode": "snapshot"},
                {"id": "cold", "profile": "aws-lambda"},
            ],
        )
    )
    result = ss.simulate(scenario)
    items = result.line_items()
    snap = items[(items["platform"] == "aws-lambda") & (items["component"] == "snapshot")]
    restores = result.runs["aws-lambda"][0].metrics.launches["snapshot_restores"]  # type: ignore[index]
    restore = snap[snap["item"] == "snapshot:restore"].iloc[0]
    assert restore["quantity"] == pytest.approx(restores * 2.0)
    assert restore["cost_usd"] == pytest.approx(restores * 2.0 * 0.0001397998)
    cache = snap[snap["item"] == "snapshot:cache"].iloc[0]
    assert cache["quantity"] == pytest.approx(2.0 * 1.0)  # 2 GiB for the 1-hour horizon
    assert items[(items["platform"] == "cold") & (items["component"] == "snapshot")].empty


@pytest.mark.parametrize(
    ("self_hosted", "expected"), [(False, 3 * 10.1), (True, 10.6 + 11.6 + 12.6)]
)
def test_managed_platforms_do_not_bill_the_launch_pipeline_queue(
    self_hosted: bool, expected: float
) -> None:
    """Three launches at 10 s through one host creating one sandbox a second: control
    plane 0.5 s, then tokens at 10.5, 11.5 and 12.5 s, boot 0.1 s, run 10 s. A managed
    platform bills each from when the host took it: 3 x 10.1 s. Self-hosted, the queue
    is on your hosts and billed from the launch start: 10.6 + 11.6 + 12.6 s."""
    from support import scenario_dict, theory_catalog

    provenance = {"source": "test", "as_of": "2026-11-27"}

    def part(name: str, seconds: float) -> dict[str, Any]:
        return {
            "name": name,
            "latency": {"kind": "fixed", "value": seconds},
            "provenance": provenance,
        }

    pipeline = {
        "hosts": 1,
        "creation_rate_per_host": {"per_second": 1.0, "burst": 1, "provenance": provenance},
        "cache_per_host": "10GiB",
        "preloaded": "all",
        "host_bandwidth_gib_s": 1.0,
        "parts": {
            "control_plane": part("control_plane", 0.5),
            "vmm_start": part("vmm_start", 0.0),
            "guest_boot": part("guest_boot", 0.1),
            "app_init": part("app_init", 0.0),
        },
    }
    scenario = simulator.scenario_from_dict(
        scenario_dict(
            replications=1,
            workloads=[
                {
                    "name": "w",
                    "arrivals": {"kind": "burst", "count": 3, "at": "10s", "window": "0s"},
                    "duration": {"kind": "fixed", "value": "10s"},
                    "shape": {"vcpu": 1, "memory": 1},
                }
            ],
            platforms=[{"profile": "theory"}],
        )
    )
    catalog = theory_catalog(pipeline=pipeline, self_hosted=self_hosted)
    result = simulator.simulate(scenario, catalog=catalog)
    usage = result.runs["theory"][0].usage
    assert usage is not None
    np.testing.assert_allclose(np.sort(usage.ready_s), [10.6, 11.6, 12.6])
    items = result.line_items()
    vcpu_s = items[items["item"] == "vcpu"]["quantity"].sum()
    assert vcpu_s == pytest.approx(expected, rel=1e-9)
