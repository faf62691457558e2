"""Test support: the public reference data folder and small scenario and catalog builders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("SANDSIM_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    """A file or folder of the public reference data; skip the test where it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(
            f"public reference data not found at {path} (set SANDSIM_SHARED_DATA to the "
            "folder holding binpack/, vbp/ and traces/)"
        )
    return path


def workload(name: str = "w", **overrides: Any) -> dict[str, Any]:
    """A small workload entry for scenario dicts."""
    base: dict[str, Any] = {
        "name": name,
        "arrivals": {"kind": "poisson", "per_second": 1.0},
        "duration": {"kind": "exponential", "mean": "10s"},
        "shape": {"vcpu": 1, "memory": "2GiB"},
    }
    base.update(overrides)
    return base


def burst(name: str, count: int, at: str, run: str, **shape: Any) -> dict[str, Any]:
    """A workload of ``count`` sandboxes requested at ``at``, each running ``run``."""
    return workload(
        name,
        arrivals={"kind": "burst", "count": count, "at": at},
        duration={"kind": "fixed", "value": run},
        shape=shape,
    )


def scenario_dict(**overrides: Any) -> dict[str, Any]:
    """A small valid scenario as a dict, with fields replaced by ``overrides``."""
    base: dict[str, Any] = {
        "name": "test",
        "horizon": "1h",
        "seed": 1,
        "replications": 2,
        "workloads": [workload()],
        "platforms": [{"profile": "aws-fargate", "vcpu_quota": "unlimited"}],
    }
    base.update(overrides)
    return base


def two_teams_dict(**overrides: Any) -> dict[str, Any]:
    """Two teams' workloads (coding agents, 300 a day; evals, 100 a day) on E2B and
    Lambda, forecast for two months from 2027-03 growing 30%, with one budget."""
    return scenario_dict(
        **{
            "name": "guarded",
            "horizon": "1d",
            "seed": 4,
            "replications": 4,
            "workloads": [
                workload(
                    "agents",
                    team="core",
                    arrivals={"kind": "poisson", "per_day": 300},
                    duration={"kind": "lognormal", "median": "30s", "p95": "4m"},
                    shape={"vcpu": 2, "memory": "4GiB"},
                ),
                workload(
                    "evals",
                    team="research",
                    arrivals={"kind": "poisson", "per_day": 100},
                    duration={"kind": "fixed", "value": "2m"},
                ),
            ],
            "platforms": [{"profile": "e2b"}, {"profile": "aws-lambda"}],
            "forecast": {"start": "2027-03", "months": 2, "growth_per_month": 0.3},
            "budgets": [{"name": "core", "scope": {"team": "core"}, "monthly_usd": 1_000_000}],
            **overrides,
        }
    )


def theory_catalog(
    concurrency: int | None = None,
    over_quota: str = "queue",
    latency_s: float = 0.0,
    vcpu_rate_usd: float = 1e-5,
    resume_s: float = 0.0,
    pause_per_gib_s: float = 0.0,
    launch_rate: tuple[float, int] | None = None,
    handover_s: float = 0.0,
    pipeline: dict[str, Any] | None = None,
    self_hosted: bool = False,
) -> Any:
    """A catalog with one test platform: fixed launch latency, a quota, simple prices.

    Queueing-theory checks need zero launch latency, which no real platform has. The
    platform serves sessions in every mode (resume and pause times are parameters).
    ``pipeline`` gives it a launch pipeline (a LaunchPipeline as a dict, without
    provenance); ``self_hosted`` marks it as an isolation technology run on your hosts.
    """
    from simulator.catalog import Catalog
    from simulator.platforms import PlatformProfile
    from simulator.pricing import PriceTable

    provenance = {"source": "test fixture", "as_of": "2026-11-27"}

    def path(name: str, seconds: float) -> dict[str, Any]:
        part = {
            "name": name,
            "latency": {"kind": "fixed", "value": seconds},
            "provenance": provenance,
        }
        return {"parts": [part]}

    profile = PlatformProfile.model_validate(
        {
            "id": "theory",
            "name": "Theory test platform",
            "vendor": "tests",
            "isolation": "none",
            "default_price_table": "theory-prices",
            "launch": {
                "cold": path("instant", latency_s),
                "resume": path("resume", resume_s),
                "warm": path("handover", handover_s),
            },
            "quota": {
                "concurrency": concurrency,
                "over_quota": over_quota,
                "provenance": provenance,
            },
            "launch_rate": (
                {"per_second": launch_rate[0], "burst": launch_rate[1], "provenance": provenance}
                if launch_rate
                else None
            ),
            "session_modes": ["held", "pause_resume", "per_call"],
            "self_hosted": self_hosted,
            "pipeline": {**pipeline, "provenance": provenance} if pipeline else None,
            "pause": {"per_gib": pause_per_gib_s, "provenance": provenance},
            "shapes": {
                "kind": "steps",
                "vcpu_min": 0.25,
                "vcpu_max": 64,
                "vcpu_step": 0.25,
                "memory_min": 0.25,
                "memory_max": 256,
                "memory_step": 0.25,
                "provenance": provenance,
            },
        }
    )
    table = PriceTable.model_validate(
        {
            "id": "theory-prices",
            "offering": "theory",
            "name": "Theory test prices",
            "region": "test",
            "as_of": "2026-11-27",
            "billing": {"increment": 1e-6, "bills_from": "launch_start", **provenance},
            "vcpu": {"usd": vcpu_rate_usd, **provenance},
        }
    )
    return Catalog({"theory": profile}, {"theory-prices": table})


def fleet_platform(max_hosts: int = 8, **fleet: Any) -> dict[str, Any]:
    """A Firecracker fleet of m5.metal hosts (one from the start) as a platform entry."""
    return {
        "id": "fc",
        "profile": "firecracker",
        "fleet": {
            "host_prices": "aws-ec2-us-east-1",
            "host_type": "m5.metal",
            "autoscaling": {"min_hosts": 1, "max_hosts": max_hosts},
            **fleet,
        },
    }
