"""Published launch claims, from scenarios whose parameters come from sources.

Each scenario in scenarios/claims says where its parameters come from and whether the
claim can be reproduced from them. The tests say which they check: a claim reproduced
from published parameters, one only partly reproduced (part of it is an input), or one
merely consistent with an assumed capacity (and then what that capacity implies).
"""

from __future__ import annotations

import numpy as np
import pytest

import simulator as ss


@pytest.fixture(scope="module")
def aci() -> dict:
    return ss.simulate(ss.load_scenario("claims/aci-ai-sandboxes-burst")).summary()["platforms"]


def test_aci_burst_is_consistent_with_the_claim_under_assumed_capacity(aci: dict) -> None:
    """Not a reproduction: with an assumed 40 hosts at Firecracker's 150 launches per
    second (nothing is published for the service), 10,000 restores come up in about 2 s."""
    burst = aci["snapshot-restore"]["burst"]["burst-10k"]
    assert burst["ready"] == 10000
    assert 1.5 <= burst["t_all_ready_s"] <= 2.5
    assert burst["t_first_ready_s"] < 0.3
    assert burst["bottleneck"] == "launch_slots"  # the per-host creation rate


def test_the_same_burst_as_cold_boots_takes_far_longer(aci: dict) -> None:
    snapshot = aci["snapshot-restore"]["burst"]["burst-10k"]
    cold = aci["cold-boot"]["burst"]["burst-10k"]
    assert cold["t_first_ready_s"] > 5 * snapshot["t_all_ready_s"]  # image pull, boot, init
    assert cold["t_all_ready_s"] > 10 * snapshot["t_all_ready_s"]
    assert cold["bottleneck"] == "fetch"  # every host pulls the image first
    assert aci["cold-boot"]["launch"]["cache_misses"] == 10000
    assert aci["snapshot-restore"]["launch"]["cache_misses"] == 0


def test_aci_claim_implies_a_host_count() -> None:
    """The claim is not reproducible from published parameters; sizing shows what it implies:
    at 150 launches per second per host, 10,000 in 2 s needs about 10,000 / (150 x 1.8) hosts."""
    scenario = ss.load_scenario("claims/aci-ai-sandboxes-burst")
    result = ss.size(
        scenario, "snapshot-restore", "max time_to_ready <= 2s", "hosts", replications=1
    )
    assert result.size is not None
    assert 30 <= result.size <= 45
    before = (
        next(e for e in result.evaluations if e.size == result.size - 1)
        if any(e.size == result.size - 1 for e in result.evaluations)
        else None
    )
    if before is not None:
        assert not before.met


@pytest.fixture(scope="module")
def firecracker() -> ss.SimulationResult:
    return ss.simulate(ss.load_scenario("claims/firecracker-boot-and-rate"))


def test_firecracker_creates_150_per_second_per_host(firecracker: ss.SimulationResult) -> None:
    burst = firecracker.summary()["platforms"]["firecracker"]["burst"]["burst-1500"]
    uncontended = 0.001 + 0.012 + 0.1125  # api call, typical VMM start, mean boot
    assert burst["t_all_ready_s"] == pytest.approx(1500 / 150, abs=0.3)
    assert burst["t50_ready_s"] == pytest.approx(750 / 150 + uncontended, abs=0.15)


def test_firecracker_boot_claim_is_partly_reproduced(firecracker: ss.SimulationResult) -> None:
    """Partly reproduced: the boot within 125 ms is the profile's input (the published
    figure), so only the API call and VMM start added to it are checked here; the paper's
    p99 of 146 ms with 50 launches at once on a host is not modelled."""
    ttr = []
    for run in firecracker.runs["firecracker"]:
        usage = run.usage
        assert usage is not None
        single = (usage.workload_index == 0) & (usage.request_s < 55)  # before the burst
        ttr.append(usage.ready_s[single] - usage.request_s[single])
    values = np.concatenate(ttr)
    # the boot itself is within 125 ms; ready adds the 1 ms API call and the ~12 ms VMM start
    assert np.median(values) == pytest.approx(0.001 + 0.012 + 0.1125, abs=0.005)
    assert np.quantile(values, 0.9) < 0.125 + 0.040


def test_e2b_under_200_ms_is_not_what_clients_measure() -> None:
    summary = ss.simulate(ss.load_scenario("claims/e2b-start")).summary()["platforms"]
    measured = summary["e2b-as-measured"]["time_to_ready_s"]
    in_host = summary["firecracker-snapshot-restore"]["time_to_ready_s"]
    assert measured["p50"] == pytest.approx(0.44, rel=0.05)  # the published median
    assert measured["p50"] > 0.2  # so the claim does not hold as a client sees it
    assert in_host["p99"] < 0.2  # but an in-host snapshot restore is well under it


def test_gvisor_starts_within_the_published_range() -> None:
    summary = ss.simulate(ss.load_scenario("claims/gvisor-start")).summary()["platforms"]["gvisor"]
    ttr = summary["time_to_ready_s"]
    assert 0.081 <= ttr["p50"] <= 0.280
    assert ttr["p99"] <= 0.280
    assert ttr["p50"] == pytest.approx(0.135, abs=0.01)  # c7i median 134 ms + 1 ms call
