"""Launch-pipeline and session speed: a burst of 10,000 through a pipeline, and a day of
1,000,000 agent tool calls through the session engine.

    python bench/launch.py

Prints sandboxes (or tool calls) per second for each, against the core engine's figure
measured in the same run (bench/engine.py's quota-bound workload, at the same size).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import model as core_model
from engine import workload as core_workload

import simulator as ss
from simulator.engine import run_platform
from simulator.workload import sample_workloads


def timed(label: str, count: int, work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    elapsed = time.perf_counter() - started
    print(f"{label:<48} {count:>10,} in {elapsed:6.2f} s = {count / elapsed:>10,.0f} per second")
    return count / elapsed


def burst_10k() -> tuple[object, object]:
    """10,000 snapshot restores at once on the assumed ACI AI Sandboxes pipeline (40 hosts):
    the engine's inputs, so that only the engine is timed."""
    scenario = ss.load_scenario("claims/aci-ai-sandboxes-burst").only_platforms(
        ["snapshot-restore"]
    )
    resolved = ss.resolve_platforms(scenario, ss.load_catalog())[0]
    return resolved.engine_model(scenario), sample_workloads(scenario, 0)


def sessions(calls_wanted: int, quota: int | None) -> int:
    """A day of agent sessions, one activation per tool call (per_call), through the
    session engine; with a quota that binds, every call is an event."""
    sessions_per_day = calls_wanted / 6.5  # tool calls per session: lognormal median 5, p90 12
    spec = {
        "name": "bench-sessions",
        "horizon": "1d",
        "seed": 3,
        "replications": 1,
        "workloads": [
            {
                "name": "agents",
                "arrivals": {"kind": "poisson", "per_day": sessions_per_day},
                "session": {
                    "tool_calls": {"kind": "lognormal", "median": 5, "p90": 12},
                    "call_duration": {"kind": "lognormal", "median": "0.166s", "p90": "4.4s"},
                    "think_gap": {"kind": "lognormal", "median": "5.8s", "p90": "22.6s"},
                },
                "shape": {"vcpu": 1, "memory": "2GiB"},
            }
        ],
        "platforms": [
            {
                "profile": "aws-lambda",
                "session_mode": "per_call",
                "quota": quota or "unlimited",
                "launch_rate": "unlimited",
            }
        ],
    }
    scenario = ss.scenario_from_dict(spec)
    sampled = sample_workloads(scenario, 0)
    resolved = ss.resolve_platforms(scenario, ss.load_catalog())[0]
    model = resolved.engine_model(scenario)
    calls = int(sampled.tracks.offsets[-1])
    path = {}

    def run() -> None:
        usage = run_platform(model, sampled, np.random.default_rng(1))
        path["engine"] = usage.engine_path

    rate = timed(f"a day of session tool calls, quota {quota or 'none'}", calls, run)
    print(f"{'':<48} ({path['engine']} engine)")
    return int(rate)


def main() -> None:
    n = 1_000_000
    sampled, platform = core_workload(n, 1), core_model()
    core = timed(
        "core engine, quota-bound one-shot sandboxes",
        n,
        lambda: run_platform(platform, sampled, np.random.default_rng(2)),
    )
    burst_model, burst_workload = burst_10k()
    burst = timed(
        "burst of 10,000 through a launch pipeline",
        10_000,
        lambda: run_platform(burst_model, burst_workload, np.random.default_rng(3)),  # type: ignore[arg-type]
    )
    free = sessions(n, None)
    bound = sessions(n, 60)
    print()
    print(
        f"ratios to the core engine: burst {burst / core:.2f}, sessions (nothing waits) {free / core:.2f}, sessions (quota binds) {bound / core:.2f}"
    )


if __name__ == "__main__":
    main()
