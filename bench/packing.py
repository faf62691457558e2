"""Packing benchmark: hosts used by each packer on the public 1-D and 3-D instances with
proven optima, against the optimum and (3-D) the published heuristic results; and the
time each packer takes. Run: python bench/packing.py (needs ../shared/data)."""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_packing import _published, _vbp, family, one_d_instances

from simulator import packing
from support import SHARED_DATA

PACKERS = {
    "ffd": lambda d, c: packing.first_fit_decreasing(d, c),
    "bfd": lambda d, c: packing.best_fit_decreasing(d, c),
    "bin_centric": lambda d, c: packing.bin_centric(d, c),
    "portfolio": packing.portfolio,
}


def main() -> None:
    if not SHARED_DATA.exists():
        raise SystemExit(f"no reference data at {SHARED_DATA}")
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    seconds: dict[str, float] = defaultdict(float)
    for name, capacity, sizes, optimum in one_d_instances():
        demands = np.array(sizes, dtype=np.float64).reshape(-1, 1)
        cap = np.array([float(capacity)])
        fam = family(name)
        totals[fam]["instances"] += 1
        totals[fam]["optimum"] += optimum
        for packer, run in PACKERS.items():
            start = time.perf_counter()
            totals[fam][packer] += run(demands, cap).hosts
            seconds[packer] += time.perf_counter() - start
    print("1-D (bins in all; optimum proven)")
    print(f"{'family':<10}{'n':>4}{'optimum':>9}" + "".join(f"{p:>13}" for p in PACKERS))
    for fam, row in totals.items():
        print(
            f"{fam:<10}{row['instances']:>4}{row['optimum']:>9}"
            + "".join(f"{row[p]:>13}" for p in PACKERS)
        )
    root = SHARED_DATA / "vbp"
    published = _published(root)
    vector: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    worse: dict[str, int] = defaultdict(int)  # instances with more hosts than best_IC
    for path in sorted(root.glob("*_d3/*.vbp")):
        demands, capacity = _vbp(path)
        cls = path.stem.split("_")[0]
        row = vector[cls]
        known = published[path.stem]
        row["instances"] += 1
        for key in ("OPT", "best_IC", "best_BC", "best_overall"):
            row[key] += known[key]
        for packer, run in PACKERS.items():
            start = time.perf_counter()
            hosts = run(demands, capacity).hosts
            seconds[packer] += time.perf_counter() - start
            row[packer] += hosts
            if hosts > known["best_IC"]:
                worse[packer] += 1
    print("\n3-D vector packing (hosts in all; published: Mommessin et al. 2025)")
    keys = ["OPT", "best_IC", "best_BC", "best_overall", *PACKERS]
    print(f"{'class':<8}{'n':>4}" + "".join(f"{k:>13}" for k in keys))
    for cls, row in sorted(vector.items()):
        print(f"{cls:<8}{row['instances']:>4}" + "".join(f"{row[k]:>13}" for k in keys))
    print("\nagainst the best published item-centric result (best_IC):")
    for packer in PACKERS:
        over = [cls for cls, row in sorted(vector.items()) if row[packer] > row["best_IC"]]
        print(
            f"  {packer}: more hosts in all in {len(over)} of {len(vector)} classes"
            f"{' (' + ', '.join(over) + ')' if over else ''}; more hosts on "
            f"{worse[packer]} of 320 instances"
        )
    print(
        "seconds per packer over all 450 instances: "
        + ", ".join(f"{p} {s:.1f}" for p, s in seconds.items())
    )


if __name__ == "__main__":
    main()
