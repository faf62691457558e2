"""Placement's share of a fleet run counted in instructions (valgrind), not by the clock.

Wall-clock shares on a shared machine swing by a third between runs; instruction counts
do not. This runs bench/fleet.py's variants under valgrind's cachegrind (ASLR off, one
thread, a fixed hash seed), each at ``--sandboxes`` and again at ``--baseline`` sandboxes
to take away the start-up's count, and prints per sandbox:

- ``bare``: the fleet engine with placement taken out (the fleet's own events);
- ``index``: the fleet with its placement index (the default);
- ``picks given``: the fleet keeping every host's room, GPUs and gates, with its hosts
  picked ahead (``picks`` less ``record``, the untimed run that records the picks);

then placement's share (1 - bare/index), split into choosing hosts (1 - picks
given/index) and keeping each host's room ((picks given - bare)/index). With
``--cache-sim`` it also counts first-level cache misses (instruction and data), which the
clock feels and the instruction count does not.

    python bench/fleet_instructions.py [--sandboxes 20000] [--placement dot_product] [--gpus]

Needs valgrind (exits with a message without it) and turns ASLR off with util-linux's
setarch where it is found. Takes a few minutes: eight runs under valgrind, as many at a
time as there are cores (``--jobs``).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fleet import split

FLEET_BENCH = Path(__file__).with_name("fleet.py")
VARIANTS = ("bare", "index", "record", "picks")
COUNTERS = {"instructions": "I   refs", "I1 misses": "I1  misses", "D1 misses": "D1  misses"}
"""What is read from cachegrind's summary, by the label it prints."""


def count(variant: str, sandboxes: int, flags: list[str], cache_sim: bool) -> dict[str, int]:
    """Cachegrind's counts for one run of bench/fleet.py's ``variant``."""
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    command = [
        "valgrind",
        "--tool=cachegrind",
        f"--cache-sim={'yes' if cache_sim else 'no'}",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        str(FLEET_BENCH),
        "--only",
        variant,
        "--sandboxes",
        str(sandboxes),
        *flags,
    ]
    if shutil.which("setarch"):
        command = ["setarch", platform.machine(), "-R", *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(
            f"{variant} at {sandboxes} sandboxes failed under valgrind:\n{done.stderr[-2000:]}"
        )
    counts = {}
    for name, label in COUNTERS.items():
        found = re.search(rf"{label}:\s+([\d,]+)", done.stderr)
        if found:
            counts[name] = int(found.group(1).replace(",", ""))
    if "instructions" not in counts:
        sys.exit(f"no instruction count in valgrind's output for {variant} at {sandboxes}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandboxes", type=int, default=20_000)
    parser.add_argument(
        "--baseline", type=int, default=10, help="sandboxes of the runs that give start-up's count"
    )
    parser.add_argument("--cache-sim", action="store_true", help="count L1 cache misses too")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args, flags = parser.parse_known_args()
    if args.sandboxes <= args.baseline:
        sys.exit("--sandboxes must be more than --baseline")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind not found: install it (Debian/Ubuntu: apt install valgrind)")
    runs = [(variant, n) for variant in VARIANTS for n in (args.sandboxes, args.baseline)]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = dict(
            zip(runs, pool.map(lambda run: count(*run, flags, args.cache_sim), runs), strict=True)
        )
    sandboxes = args.sandboxes - args.baseline

    def per_sandbox(variant: str, counter: str) -> float:
        big, small = results[variant, args.sandboxes], results[variant, args.baseline]
        return (big[counter] - small[counter]) / sandboxes

    print(f"bench/fleet.py {' '.join(flags) or '(best fit, CPU shapes)'}, per sandbox:")
    for counter in COUNTERS:
        if counter not in results["bare", args.baseline]:
            continue
        bare, indexed = per_sandbox("bare", counter), per_sandbox("index", counter)
        given = per_sandbox("picks", counter) - per_sandbox("record", counter)
        placement, choosing, keeping = split(bare, indexed, given)
        print(
            f"  {counter}: bare {bare:,.0f}, index {indexed:,.0f}, picks given {given:,.0f}; "
            f"placement {placement:.1%} = choosing hosts {choosing:.1%} + keeping their room "
            f"{keeping:.1%}"
        )


if __name__ == "__main__":
    main()
