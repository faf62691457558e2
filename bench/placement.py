"""Placement alone: choosing a host, taking room and releasing it, in a steady window.

The fleet engine's placement calls (``_fits``, ``_take``, ``_release``) run without the
event loop on bench/fleet.py's fleet and workload (200 hosts, three shapes, best fit by
default): sandboxes are placed in request order and, once ``--window`` are held, each
new one first releases a held one picked at random (seeded). ``--warm`` sandboxes fill
the window first; the next ``--sandboxes`` are timed. Prints microseconds per sandbox.

Wall-clock time on a shared machine swings by a third between runs, so the README's
before-and-after figures count instructions instead, which do not: run this under
valgrind twice, with ``--sandboxes 0`` and ``--sandboxes 4000``, and divide the
difference by 4,000::

    PYTHONHASHSEED=0 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 setarch "$(uname -m)" -R \\
        valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        python bench/placement.py --sandboxes 4000 [--placement dot_product] [--gpus]

Not a timed test: compare figures measured the same way.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np
from fleet import model, workload

from simulator.engine.activations import Activations
from simulator.engine.fleet import FleetEngine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandboxes", type=int, default=4000, help="sandboxes timed")
    parser.add_argument("--warm", type=int, default=3500, help="sandboxes placed first")
    parser.add_argument("--window", type=int, default=3000, help="sandboxes held at once")
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--placement", default="best_fit")
    parser.add_argument("--gpus", action="store_true", help="as in bench/fleet.py")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = args.warm + args.sandboxes
    sampled = workload(n, args.hosts, args.seed, args.gpus)
    acts = Activations.one_shot(sampled.request_s, sampled.duration_s)
    acts.workload_index[:] = sampled.workload_index
    fleet = model(args.hosts, args.placement, True, args.gpus).fleet
    assert fleet is not None
    engine = FleetEngine(
        acts,
        sampled.duration_s,
        np.zeros(n),
        fleet,
        np.random.default_rng(args.seed),
        sampled.horizon_s,
        placement_lookup="index",
    )
    pick = random.Random(args.seed)
    held: list[int] = []

    def place(index: int) -> None:
        if len(held) >= args.window:
            which = pick.randrange(len(held))
            held[which], held[-1] = held[-1], held[which]
            engine._release(held.pop())
        if engine._fits(index):
            engine._take(index)
            held.append(index)

    for index in range(args.warm):
        place(index)
    started = time.perf_counter()
    for index in range(args.warm, n):
        place(index)
    seconds = time.perf_counter() - started
    if args.sandboxes:
        print(f"{1e6 * seconds / args.sandboxes:.2f} microseconds per sandbox placed")


if __name__ == "__main__":
    main()
