"""MIG placement rules (NVIDIA's A100/H100 tables), whole GPUs and time-sliced shares."""

from __future__ import annotations

import pytest

from simulator.gpus import GpuNeed, HostGpus, mig_profile


def mig(name: str, gpu: str = "a100-40gb") -> GpuNeed:
    return GpuNeed(mig=mig_profile(gpu, name))


def place(gpus: HostGpus, need: GpuNeed) -> bool:
    grant = gpus.find(need)
    if grant is None:
        return False
    gpus.take(need, grant)
    return True


def test_seven_smallest_instances_fill_an_a100() -> None:
    gpus = HostGpus(1)
    assert all(place(gpus, mig("1g.5gb")) for _ in range(7))
    assert not place(gpus, mig("1g.5gb"))  # seven compute slices at most
    assert gpus.used_fraction() == pytest.approx(1.0)


def test_4g_must_start_at_slice_0_so_order_matters() -> None:
    """4g.20gb may start only at memory slice 0, 3g.20gb at 0 or 4: a 3g placed first
    takes slice 0 and leaves no room for a 4g; the other order holds both."""
    first_3g = HostGpus(1)
    assert place(first_3g, mig("3g.20gb"))
    assert not place(first_3g, mig("4g.20gb"))
    first_4g = HostGpus(1)
    assert place(first_4g, mig("4g.20gb"))
    assert place(first_4g, mig("3g.20gb"))
    assert first_4g.gpus[0].compute_used == 7


def test_two_3g_instances_take_all_memory() -> None:
    """Two 3g.40gb on an H100 use six compute slices but all eight memory slices: the
    seventh compute slice is stranded, even a 1g.10gb no longer fits."""
    gpus = HostGpus(1)
    assert place(gpus, mig("3g.40gb", "h100"))
    assert place(gpus, mig("3g.40gb", "h100"))
    assert gpus.gpus[0].compute_used == 6
    assert not place(gpus, mig("1g.10gb", "h100"))


def test_2g_starts_at_even_slices_only() -> None:
    gpus = HostGpus(1)
    assert place(gpus, mig("1g.5gb"))  # slice 0
    grant = gpus.find(mig("2g.10gb"))
    assert grant is not None
    assert grant.mig_start == 2


def test_released_instances_free_their_slices() -> None:
    gpus = HostGpus(1)
    need = mig("7g.40gb")
    grant = gpus.find(need)
    assert grant is not None
    gpus.take(need, grant)
    assert gpus.find(mig("1g.5gb")) is None
    gpus.release(need, grant)
    assert gpus.gpus[0].empty
    assert place(gpus, mig("1g.5gb"))


def test_whole_gpus_mig_and_shares_never_mix_on_one_gpu() -> None:
    gpus = HostGpus(2)
    assert place(gpus, GpuNeed(share=0.5))
    assert place(gpus, mig("1g.5gb"))  # goes to the other GPU
    assert gpus.gpus[0].share_used == pytest.approx(0.5)
    assert gpus.gpus[1].compute_used == 1
    assert not place(gpus, GpuNeed(whole=1))  # neither GPU is empty
    assert place(gpus, GpuNeed(share=0.5))
    assert not place(gpus, GpuNeed(share=0.25))


def test_unknown_profiles_are_named() -> None:
    with pytest.raises(ValueError, match=r"profiles: 1g\.10gb"):
        mig_profile("h100", "1g.5gb")
    with pytest.raises(ValueError, match="no MIG"):
        mig_profile("l4", "1g.5gb")


def test_units_count_compute_slices() -> None:
    assert mig("3g.20gb").units == pytest.approx(3 / 7)
    assert GpuNeed(whole=2).units == 2.0
    assert GpuNeed(share=0.25).units == 0.25
