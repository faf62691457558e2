"""Packers against bounds, a brute-force optimum, and public benchmarks with proven optima.

The benchmark tests read ../shared/data (skipped with a reason where it is absent) and
compare with the optima and the published heuristic results stored there.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import packing
from support import shared_data

ONE_D_FFD_RATIO = (11 / 9, 6 / 9)
"""Dósa (2007): FFD(I) <= 11/9 OPT(I) + 6/9 in one dimension, and this is tight."""


def brute_force_optimum(sizes: list[int], capacity: int) -> int:
    """The fewest bins for a small 1-D instance, by exhaustive search (independent of the
    packers under test)."""
    items = sorted(sizes, reverse=True)
    best = len(items)

    def search(i: int, loads: list[int]) -> None:
        nonlocal best
        if len(loads) >= best:
            return
        if i == len(items):
            best = len(loads)
            return
        tried = set()
        for b, load in enumerate(loads):
            if load + items[i] <= capacity and load not in tried:
                tried.add(load)
                loads[b] += items[i]
                search(i + 1, loads)
                loads[b] -= items[i]
        loads.append(items[i])
        search(i + 1, loads)
        loads.pop()

    search(0, [])
    return best


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 100), min_size=1, max_size=10),
)
def test_ffd_within_its_proven_ratio_of_the_optimum(sizes: list[int]) -> None:
    demands = np.array(sizes, dtype=np.float64).reshape(-1, 1)
    capacity = np.array([100.0])
    optimum = brute_force_optimum(sizes, 100)
    ffd = packing.first_fit_decreasing(demands, capacity)
    ffd.check(demands, capacity)
    ratio, constant = ONE_D_FFD_RATIO
    assert optimum <= ffd.hosts <= ratio * optimum + constant + 1e-9
    assert packing.lower_bound(demands, capacity) <= optimum
    assert packing.portfolio(demands, capacity, tries=8).hosts >= optimum


@settings(max_examples=60, deadline=None)
@given(
    items=st.lists(
        st.tuples(st.floats(0.01, 1.0), st.floats(0.01, 1.0), st.floats(0.0, 1.0)),
        min_size=1,
        max_size=40,
    ),
    method=st.sampled_from(["ffd", "bfd", "bin_centric", "portfolio"]),
)
def test_vector_packers_are_valid_and_never_beat_the_lower_bound(
    items: list[tuple[float, float, float]], method: str
) -> None:
    demands = np.array(items)
    capacity = np.ones(3)
    result = packing.pack(demands, capacity, method)
    result.check(demands, capacity)
    assert result.hosts >= packing.lower_bound(demands, capacity)
    assert result.hosts <= len(items)


@settings(max_examples=300, deadline=None)
@given(
    shapes=st.lists(
        st.tuples(
            st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3),
            st.integers(0, 60),
        ),
        min_size=1,
        max_size=6,
    ),
    dyadic=st.booleans(),
    order=st.sampled_from(["sum", "max", "l2"]),
)
def test_ffd_by_counts_opens_the_hosts_ffd_opens_item_by_item(
    shapes: list[tuple[list[float], int]], dyadic: bool, order: str
) -> None:
    """First-fit decreasing on counts of a few demands (an autoscaler's waiting shapes)
    opens as many hosts as first-fit decreasing on the items listed one by one, whole
    runs of identical items, exact fits included (demands in 64ths add up exactly)."""
    demands = np.array([demand for demand, _ in shapes])
    if dyadic:
        demands = np.ceil(demands * 64) / 64
    demands[demands.sum(1) == 0, 0] = 0.5  # (a sandbox takes something)
    counts = np.array([count for _, count in shapes])
    capacity = np.ones(3)
    listed = np.repeat(demands, counts, axis=0)
    by_item = packing.first_fit_decreasing(listed, capacity, order).hosts if counts.sum() else 0
    hosts = packing.first_fit_decreasing_hosts(demands, counts, capacity, order)  # type: ignore[arg-type]
    assert hosts == by_item


def test_ffd_by_counts_takes_millions_of_items_at_the_cost_of_a_few() -> None:
    """Ten million sandboxes of three shapes (a third, a quarter and a tenth of a host's
    vCPU) size at once: FFD fills hosts with threes, then the quarters fill fours of
    their own (a quarter does not fit beside three thirds), then the tenths tens."""
    demands = np.array([[32.0, 10.0], [24.0, 10.0], [9.6, 10.0]])
    counts = np.array([3_000_000, 4_000_000, 3_000_000])
    hosts = packing.first_fit_decreasing_hosts(demands, counts, np.array([96.0, 1000.0]))
    assert hosts == 1_000_000 + 1_000_000 + 300_000


@pytest.mark.parametrize("policy", packing.ONLINE_POLICIES)
def test_online_policies_choose_as_defined(policy: str) -> None:
    free = np.array([[0.5, 0.5], [0.2, 0.9], [0.9, 0.9], [-1.0, -1.0]])  # last: closed host
    demand = np.array([0.2, 0.3])
    expected = {"first_fit": 0, "best_fit": 0, "worst_fit": 2, "dot_product": 2}[policy]
    assert packing.choose(policy, free, demand) == expected  # type: ignore[arg-type]
    assert packing.choose(policy, free, np.array([0.95, 0.1])) == -1  # type: ignore[arg-type]


def test_exact_solver_proves_the_brute_force_optimum() -> None:
    pytest.importorskip("ortools", reason="the exact packer is the optional 'exact' extra")
    rng = np.random.default_rng(7)
    for _ in range(5):
        sizes = rng.integers(20, 70, 9).tolist()
        demands = np.array(sizes, dtype=np.float64).reshape(-1, 1)
        result = packing.exact(demands, np.array([100.0]), time_limit_s=20)
        assert result.packing is not None
        assert result.proven
        assert result.packing.hosts == brute_force_optimum(sizes, 100)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 30), min_size=2, max_size=9),
    first_fit=st.booleans(),
)
def test_exact_solver_takes_fractional_sizes_exactly(sizes: list[int], first_fit: bool) -> None:
    """Sizes in thirtieths of a host (0.1, 1/3, 0.7 ...): hosts that must be filled
    exactly stay feasible. Sizes rounded up to millionths made 32/96 a host 333,334
    millionths, so three no longer fitted one host: a larger optimum was printed as
    proven, or the model was infeasible and said to have timed out."""
    pytest.importorskip("ortools", reason="the exact packer is the optional 'exact' extra")
    demands = (np.array(sizes, dtype=np.float64) / 30).reshape(-1, 1)
    capacity = np.array([1.0])
    start = (
        packing.first_fit_decreasing(demands, capacity)
        if first_fit
        else packing.Packing(tuple((i,) for i in range(len(sizes))), "one per host")
    )
    result = packing.exact(demands, capacity, time_limit_s=20, start=start)
    assert result.exact_sizes
    assert result.status == "optimal"
    assert result.packing is not None
    result.packing.check(demands, capacity)
    assert result.packing.hosts == result.bound == brute_force_optimum(sizes, 30)


def test_exact_solver_says_infeasible_when_it_proves_so() -> None:
    """The packers' tolerance (1e-9 of a host) lets 48.00000005 and 48 vCPU share a
    96-vCPU host; with exact sizes they cannot, so no packing in the heuristic's 4 hosts
    exists: that is reported as infeasible, with 5 hosts as the bound, not as a timeout."""
    pytest.importorskip("ortools", reason="the exact packer is the optional 'exact' extra")
    demands = np.array([[48.00000005], [48.0], [49.0], [49.0], [49.0]])
    capacity = np.array([96.0])
    start = packing.portfolio(demands, capacity)
    assert start.hosts == 4 > packing.lower_bound(demands, capacity)
    result = packing.exact(demands, capacity, time_limit_s=20, start=start)
    assert (result.status, result.packing, result.bound) == ("infeasible", None, 5)


def test_exact_solver_rounds_down_where_sizes_cannot_be_held_exactly() -> None:
    """1e-20 of a host has no denominator that keeps 64-bit sums: sizes are rounded down
    (full hosts stay feasible, the bound stays valid) and the packing is checked."""
    pytest.importorskip("ortools", reason="the exact packer is the optional 'exact' extra")
    demands = np.array([[0.51, 1e-20], [0.51, 0.3], [0.51, 0.2], [0.2, 1e-20]])
    capacity = np.array([1.0, 1.0])
    result = packing.exact(demands, capacity, time_limit_s=20)
    assert not result.exact_sizes
    assert (result.status, result.bound) == ("optimal", 3)
    assert result.packing is not None
    result.packing.check(demands, capacity)
    assert result.packing.hosts == 3


def test_exact_solver_refuses_a_model_too_large_to_build_in_time() -> None:
    pytest.importorskip("ortools", reason="the exact packer is the optional 'exact' extra")
    rng = np.random.default_rng(3)
    demands = np.column_stack([rng.integers(20, 60, 800), rng.integers(1, 300, 800)])
    capacity = np.array([96.0, 384.0])
    start = packing.first_fit_decreasing(demands.astype(float), capacity)
    assert start.hosts > packing.lower_bound(demands, capacity)  # (not proven by volume)
    assert packing.exact_cells(demands, start.hosts) > packing.EXACT_MAX_CELLS
    with pytest.raises(ValueError, match="cells, above the 50,000 allowed"):
        packing.exact(demands, capacity, time_limit_s=1, start=start)


@pytest.mark.parametrize(
    ("demands", "capacity", "text"),
    [
        # NaN never fits and never fails a comparison: ffd opened a host per item, and
        # bin-centric opened empty hosts for ever
        ([[math.nan, 1.0], [2.0, 4.0]], [96.0, 384.0], "item 0 on resource 0 is nan"),
        ([[2.0, 4.0], [2.0, math.inf]], [96.0, 384.0], "item 1 on resource 1 is inf"),
        # a negative demand gave room back: 60 + 60 - 50 vCPU "fit" one 96-vCPU host
        ([[-50.0, 1.0], [60.0, 1.0], [60.0, 1.0]], [96.0, 384.0], "item 0 on resource 0 is -50"),
        ([[2.0, 4.0]], [96.0, math.nan], "capacity of resource 1 is nan"),
        ([[2.0, 4.0]], [-96.0, 384.0], "capacity of resource 0 is -96"),
        # a GPU asked of a host with none
        ([[2.0, 4.0, 1.0]], [96.0, 384.0, 0.0], "item 0 asks for 1 of resource 2"),
        # a row of two numbers against one resource was broadcast, not refused
        ([[3.0, 4.0]], [10.0], "shape (1, 2)"),
        ([3.0, 4.0], [10.0], "shape (2,)"),
    ],
)
def test_packers_refuse_bad_inputs_by_name(
    demands: list[list[float]], capacity: list[float], text: str
) -> None:
    for method in ("ffd", "bfd"):
        with pytest.raises(ValueError, match=re.escape(text)):
            packing.pack(demands, capacity, method)
    with pytest.raises(ValueError, match=re.escape(text)):
        packing.lower_bound(np.array(demands), np.array(capacity))
    if "-50" not in text:  # the packers themselves take negative demands: see below
        with pytest.raises(ValueError, match=re.escape(text)):
            packing.first_fit_decreasing(np.array(demands), np.array(capacity))


def test_negative_demands_only_where_asked_for() -> None:
    """Seven published triplet instances have an item with a -1 or -2: the packers (the
    benchmarks call them) and lower_bound(allow_negative=True) take it as given."""
    demands = np.array([[-2.0, 90.0], [51.0, 5.0], [51.0, 5.0]])  # 102 vCPU less 2
    capacity = np.array([100.0, 100.0])
    packed = packing.first_fit_decreasing(demands, capacity)
    packed.check(demands, capacity)
    assert packed.hosts == 1
    assert packing.lower_bound(demands, capacity, allow_negative=True) == 1
    with pytest.raises(ValueError, match="item 0 on resource 0 is -2"):
        packing.pack(demands, capacity)


@pytest.mark.parametrize("method", ["ffd", "bfd", "bin_centric", "portfolio"])
def test_a_resource_hosts_lack_and_items_do_not_ask_for_is_absent(method: str) -> None:
    """A CPU host written with a GPU column of 0, the demands 0 there: 0/0 made every
    share NaN, so ffd used a host per sandbox, the portfolio never returned (eating GBs)
    and the lower bound raised a bare NaN conversion error."""
    demands = np.array([[2.0, 4.0, 0.0], [3.0, 8.0, 0.0]])
    capacity = np.array([96.0, 384.0, 0.0])
    result = packing.pack(demands, capacity, method)
    result.check(demands, capacity)
    assert result.hosts == 1
    assert packing.lower_bound(demands, capacity) == 1


def test_no_items_need_no_hosts() -> None:
    assert packing.pack(np.zeros((0, 2)), [10.0, 10.0]).hosts == 0
    assert packing.lower_bound(np.zeros((0, 2)), np.array([10.0, 10.0])) == 0


# ---------------------------------------------------------------- public benchmarks
def _orlib(path: Path) -> dict[str, tuple[int, list[int]]]:
    tokens = path.read_text().split()
    count, at, out = int(tokens[0]), 1, {}
    for _ in range(count):
        name, capacity, n = tokens[at], int(tokens[at + 1]), int(tokens[at + 2])
        out[name] = (capacity, [int(t) for t in tokens[at + 4 : at + 4 + n]])
        at += 4 + n
    return out


@cache
def one_d_instances() -> list[tuple[str, int, list[int], int]]:
    """Every 1-D instance with its proven optimum (name, capacity, sizes, optimum)."""
    root = shared_data("binpack")
    rows = list(csv.DictReader((root / "optima.csv").open()))
    parsed: dict[str, dict[str, tuple[int, list[int]]]] = {}
    out = []
    for row in rows:
        file = root / row["file"]
        if row["format"] == "orlib":
            instances = parsed.setdefault(row["file"], _orlib(file))
            capacity, sizes = instances[row["instance"]]
        else:
            tokens = file.read_text().split()
            n, capacity = int(tokens[0]), int(tokens[1])
            sizes = [int(t) for t in tokens[2 : 2 + n]]
        assert len(sizes) == int(row["n_items"])
        assert sum(sizes) == int(row["sum_sizes"])
        out.append((row["instance"], capacity, sizes, int(row["optimum"])))
    return out


def family(name: str) -> str:
    return (
        name.split("_")[0].rstrip("0123456789")
        if name.startswith("HARD")
        else name.rsplit("_", 1)[0]
    )


def test_one_dimensional_benchmarks_against_proven_optima() -> None:
    instances = one_d_instances()
    assert len(instances) == 130
    ratio, constant = ONE_D_FFD_RATIO
    gaps: dict[str, list[int]] = defaultdict(list)
    for name, capacity, sizes, optimum in instances:
        demands = np.array(sizes, dtype=np.float64).reshape(-1, 1)
        cap = np.array([float(capacity)])
        ffd = packing.first_fit_decreasing(demands, cap)
        best = packing.portfolio(demands, cap)
        for result in (ffd, best):
            result.check(demands, cap)
            assert result.hosts >= optimum, f"{name}: fewer bins than the proven optimum"
        assert ffd.hosts <= ratio * optimum + constant
        assert best.hosts <= ffd.hosts
        gaps[family(name)].append(best.hosts - optimum)
    # measured (docs/packing.md): u120 +10 bins over 20 instances, u500 +50, N1C1W1 +1;
    # these bounds catch a regression without pinning today's exact figures
    assert sum(gaps["u120"]) <= 12
    assert sum(gaps["u500"]) <= 55
    assert sum(gaps["N1C1W1"]) <= 2


def _vbp(path: Path) -> tuple[np.ndarray, np.ndarray]:
    tokens = path.read_text().split()
    d = int(tokens[0])
    capacity = np.array(tokens[1 : 1 + d], dtype=np.float64)
    m = int(tokens[1 + d])
    rows = np.array(tokens[2 + d : 2 + d + m * (d + 1)], dtype=np.float64).reshape(m, d + 1)
    return np.repeat(rows[:, :d], rows[:, d].astype(int), axis=0), capacity


def _published(root: Path) -> dict[str, dict[str, int]]:
    out = {}
    for name in ("Panigrahy_summary_known.csv", "Triplet_summary_known.csv"):
        for row in csv.DictReader((root / name).open(), delimiter="\t"):
            out[row["instance_name"]] = {k: int(v) for k, v in row.items() if k != "instance_name"}
    return out


VECTOR_PACKERS = {
    "ffd": packing.first_fit_decreasing,
    "bfd": packing.best_fit_decreasing,
    "bin_centric": packing.bin_centric,
    "portfolio": packing.portfolio,
}


@cache
def vector_results() -> dict[str, dict[str, int]]:
    """Per 3-D instance: the hosts of each packer (each packing checked) and the
    published figures (OPT, best_IC, ...)."""
    root = shared_data("vbp")
    published = _published(root)
    files = sorted(root.glob("*_d3/*.vbp"))
    assert len(files) == 320
    out = {}
    for path in files:
        demands, capacity = _vbp(path)
        row = dict(published[path.stem])
        row["bound"] = packing.lower_bound(demands, capacity, allow_negative=True)
        for name, packer in VECTOR_PACKERS.items():
            result = packer(demands, capacity)
            result.check(demands, capacity)
            row[name] = result.hosts
        out[path.stem] = row
    return out


def test_vector_benchmarks_no_worse_than_published_heuristics() -> None:
    """On the 320 three-dimensional instances with proven optima: never below the optimum,
    and per class no more hosts in all than the best published item-centric heuristic."""
    ours: dict[str, int] = defaultdict(int)
    theirs: dict[str, int] = defaultdict(int)
    for name, row in vector_results().items():
        for packer in VECTOR_PACKERS:
            assert row[packer] >= row["OPT"] >= row["bound"], (name, packer)
        cls = name.split("_")[0]
        ours[cls] += row["portfolio"]
        theirs[cls] += row["best_IC"]
    assert set(ours) == {f"class{k}" for k in (1, 2, 3, 6, 7, 8, 9)} | {"classC", "classF"}
    for cls in ours:
        assert ours[cls] <= theirs[cls], (
            f"{cls}: {ours[cls]} hosts, published best_IC {theirs[cls]}"
        )


def _markdown_table(text: str, header: str) -> list[list[str]]:
    """The body rows of the table whose header row starts with ``header``."""
    lines = text[text.index(header) :].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_docs_state_the_vector_benchmark_figures() -> None:
    """docs/packing.md states, per class, each packer's hosts against the published
    results, and which packers meet the bar (per class totals at most best_IC's) and on
    how many instances each is worse: the figures are the packers' own."""
    results = vector_results()
    text = (Path(__file__).resolve().parent.parent / "docs" / "packing.md").read_text()
    columns = ["OPT", "best_IC", "best_BC", "best_overall", *VECTOR_PACKERS]
    for row in _markdown_table(text, "| class | instances | optimum |"):
        cls = "class" + row[0].split()[0]
        members = [r for name, r in results.items() if name.startswith(cls + "_")]
        assert int(row[1]) == len(members)
        stated = [int(cell.replace(",", "")) for cell in row[2:]]
        assert stated == [sum(r[c] for r in members) for c in columns], cls
    classes = sorted({name.split("_")[0] for name in results})
    names = {"FFD": "ffd", "BFD": "bfd", "bin-centric": "bin_centric", "portfolio": "portfolio"}
    stated_rows = _markdown_table(text, "| packer | classes whose total is at most")
    assert [row[0] for row in stated_rows] == list(names)
    for label, classes_cell, instances_cell in stated_rows:
        packer = names[label]
        meeting = [
            cls
            for cls in classes
            if sum(r[packer] - r["best_IC"] for n, r in results.items() if n.startswith(cls + "_"))
            <= 0
        ]
        worse = sum(r[packer] > r["best_IC"] for r in results.values())
        assert classes_cell.startswith(f"{len(meeting)} of {len(classes)}"), label
        assert instances_cell == f"{worse} of 320", label
        for cls in meeting if len(meeting) < len(classes) else []:
            assert cls.removeprefix("class") in classes_cell
