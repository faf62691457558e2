"""MIG placement rules (NVIDIA's A100/H100 tables), whole GPUs and time-sliced shares."""

from __future__ import annotations

import functools
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.gpus import (
    MIG_PROFILES,
    NOTHING,
    SHARE_SLACK,
    Gpu,
    GpuGrant,
    GpuNeed,
    HostGpus,
    gpus_needed,
    mig_profile,
)


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


NEEDS = [
    GpuNeed(whole=1),
    GpuNeed(whole=2),
    GpuNeed(share=0.25),
    GpuNeed(share=0.5),
    GpuNeed(share=0.3),
    GpuNeed(share=0.05),
    mig("1g.5gb"),
    mig("2g.10gb"),
    mig("3g.20gb"),
    mig("7g.40gb"),
]


def _reference_find(gpus: HostGpus, need: GpuNeed) -> GpuGrant | None:
    """The documented rule, from the GPUs' own state: whole GPUs are the first empty
    ones; a MIG instance or share goes to the first GPU in use that takes it, else to
    the first empty one that does."""
    slots = gpus.gpus
    if need.whole:
        empty = [i for i, gpu in enumerate(slots) if gpu.empty]
        return GpuGrant(tuple(empty[: need.whole])) if len(empty) >= need.whole else None
    order = [i for i, g in enumerate(slots) if not g.empty] + [
        i for i, g in enumerate(slots) if g.empty
    ]
    for i in order:
        if need.mig is not None:
            start = slots[i].mig_start(need.mig)
            if start >= 0:
                return GpuGrant((i,), start)
        elif slots[i].share_fits(need.share):
            return GpuGrant((i,))
    return None


@settings(max_examples=150, deadline=None)
@given(
    gpu_count=st.integers(1, 4),
    steps=st.lists(
        st.tuples(st.integers(0, len(NEEDS) - 1), st.booleans()), min_size=30, max_size=90
    ),
)
def test_host_gpus_kept_figures_equal_the_gpus_state(
    gpu_count: int, steps: list[tuple[int, bool]]
) -> None:
    """Where a need goes, the GPUs free and the best share a GPU can give, kept as
    sandboxes come and go, equal what each GPU's state says at every step."""
    gpus = HostGpus(gpu_count)
    held: list[tuple[GpuNeed, GpuGrant]] = []
    for which, release in steps:
        if release and held:
            gpus.release(*held.pop(which % len(held)))
        else:
            need = NEEDS[which]
            grant = gpus.find(need)
            assert grant == _reference_find(gpus, need)
            if grant is not None:
                gpus.take(need, grant)
                held.append((need, grant))
        assert gpus.free_whole() == sum(gpu.empty for gpu in gpus.gpus)
        shares = [1 - g.share_used for g in gpus.gpus if not g.whole and not g.compute_used]
        assert gpus.best_share() == pytest.approx(max([0.0, *shares]), abs=1e-12)
        assert gpus.share_gates() == (float(gpus.free_whole()), gpus.best_share())


@settings(max_examples=150, deadline=None)
@given(
    gpu_count=st.integers(1, 4),
    steps=st.lists(
        st.tuples(st.integers(0, len(NEEDS) - 1), st.booleans()), min_size=30, max_size=90
    ),
)
def test_place_takes_what_find_grants(gpu_count: int, steps: list[tuple[int, bool]]) -> None:
    """``place`` (the engine's one call) grants what ``find`` does and leaves the GPUs as
    ``take`` does; a need that does not fit gets the empty grant and changes nothing."""
    placed, found = HostGpus(gpu_count), HostGpus(gpu_count)
    held: list[tuple[GpuNeed, GpuGrant]] = []
    for which, release in steps:
        if release and held:
            need, grant = held.pop(which % len(held))
            placed.release(need, grant)
            found.release(need, grant)
        else:
            need = NEEDS[which]
            expected = found.find(need)
            grant = placed.place(need)
            assert grant == (expected if expected is not None else GpuGrant())
            if expected is not None:
                found.take(need, expected)
                held.append((need, grant))
        assert placed.gpus == found.gpus  # every GPU's whole, MIG slices and shares
        assert placed.share_gates() == found.share_gates()


EDGE_SHARES = [1 / 3, 0.1, 0.7, 0.2, 0.3, 0.6, 0.9, 1 / 7]
"""Shares whose float sums land on either side of a whole GPU."""


@settings(max_examples=200, deadline=None)
@given(
    gpu_count=st.integers(1, 3),
    steps=st.lists(
        st.tuples(st.integers(0, len(EDGE_SHARES)), st.booleans()), min_size=20, max_size=80
    ),
)
def test_a_need_the_gates_let_in_gets_gpus(gpu_count: int, steps: list[tuple[int, bool]]) -> None:
    """Where the placement gates (GPUs free, best share) let a need in, ``place`` gives
    it GPUs, and where they do not, it gives none: the two compare the same numbers, so
    no sandbox the index sends to a host is left without its GPU."""
    gpus = HostGpus(gpu_count)
    held: list[tuple[GpuNeed, GpuGrant]] = []
    for which, release in steps:
        if release and held:
            gpus.release(*held.pop(which % len(held)))
            continue
        need = GpuNeed(whole=1) if which == len(EDGE_SHARES) else GpuNeed(share=EDGE_SHARES[which])
        free, best = gpus.share_gates()
        let_in = free >= 1 if need.whole else best >= need.share - SHARE_SLACK
        grant = gpus.place(need)
        assert (grant != NOTHING) == let_in
        if grant != NOTHING:
            held.append((need, grant))


def test_place_and_gates_agree_at_the_last_bit() -> None:
    """Shares summing to a whole GPU up to the last bit: the float sum (0.17... + 0.82...)
    is within the slack but one less the first share is not (compared with the same
    slack); ``place`` follows the gates' comparison, so the two cannot disagree."""
    first, second = 0.1709278197011611, 0.829072181298839
    gpus = HostGpus(1)
    assert gpus.place(GpuNeed(share=first)) != NOTHING
    _, best = gpus.share_gates()
    let_in = best >= second - SHARE_SLACK
    assert first + second <= 1 + SHARE_SLACK  # the sum alone would have let it in
    assert (gpus.place(GpuNeed(share=second)) != NOTHING) == let_in


def _one_by_one(needs: list[GpuNeed], counts: list[int]) -> int:
    """GPUs a host's ``HostGpus`` uses taking the sandboxes one at a time, MIG instances
    largest first then shares largest first (``gpus_needed``'s order)."""
    order = sorted(
        (i for i, n in enumerate(needs) if n.mig is not None),
        key=lambda i: (needs[i].mig.compute_slices, needs[i].mig.memory_slices),  # type: ignore[union-attr]
        reverse=True,
    ) + sorted((i for i, n in enumerate(needs) if n.share), key=lambda i: -needs[i].share)
    host = HostGpus(sum(counts) + 1)
    for i in order:
        for _ in range(counts[i]):
            assert host.place(needs[i]) != NOTHING
    return sum(not gpu.empty for gpu in host.gpus)


def _optimum(needs: list[GpuNeed], counts: list[int]) -> int:
    """The fewest GPUs, by exhaustive search over what one GPU can hold (any MIG starts)."""
    kinds = list(range(len(needs)))

    def configurations() -> list[tuple[int, ...]]:
        found: set[tuple[int, ...]] = set()

        def grow(gpu: Gpu, held: list[int], first: int) -> None:
            found.add(tuple(held))
            for i in kinds[first:]:
                need = needs[i]
                if need.mig is not None:
                    for start in need.mig.starts:
                        end = start + need.mig.memory_slices
                        if (
                            gpu.share_used == 0.0
                            and end <= 8
                            and gpu.compute_used + need.mig.compute_slices <= 7
                            and not any(gpu.memory_used[start:end])
                        ):
                            after = Gpu(False, list(gpu.memory_used), gpu.compute_used)
                            after.place_mig(need.mig, start)
                            grow(after, [*held[:i], held[i] + 1, *held[i + 1 :]], i)
                elif gpu.share_fits(need.share):
                    after = Gpu(share_used=gpu.share_used + need.share)
                    grow(after, [*held[:i], held[i] + 1, *held[i + 1 :]], i)

        grow(Gpu(), [0] * len(needs), 0)
        return [c for c in found if any(c)]

    shapes = configurations()

    @functools.cache
    def fewest(left: tuple[int, ...]) -> int:
        if not any(left):
            return 0
        first = next(i for i, n in enumerate(left) if n)
        return 1 + min(
            fewest(tuple(max(0, n - c) for n, c in zip(left, shape, strict=True)))
            for shape in shapes
            if shape[first]
        )

    return fewest(tuple(counts))


def test_gpus_needed_by_hand() -> None:
    """A 4g.20gb and a 3g.20gb share an A100; MIG and shares never share a GPU."""
    g4, g3 = (GpuNeed(mig=mig_profile("a100-40gb", p)) for p in ("4g.20gb", "3g.20gb"))
    assert gpus_needed([g4, g3], [8, 8]) == 8
    one_g = GpuNeed(mig=mig_profile("a100-40gb", "1g.5gb"))
    assert gpus_needed([GpuNeed(share=0.5), one_g], [9, 22]) == 5 + 4
    assert gpus_needed([GpuNeed(whole=2), GpuNeed(share=0.25)], [3, 5]) == 6 + 2
    assert gpus_needed([GpuNeed(share=0.6)], [12]) == 12  # a share never spans two GPUs
    assert gpus_needed([], []) == 0


def test_gpus_needed_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="2 GPU needs but 1 counts"):
        gpus_needed([GpuNeed(share=0.5), GpuNeed(share=0.25)], [1])
    with pytest.raises(ValueError, match="at least 0"):
        gpus_needed([GpuNeed(share=0.5)], [-1])
    with pytest.raises(ValueError, match="at most one GPU"):
        gpus_needed([GpuNeed(share=1.5)], [1])


def test_gpus_needed_for_a_large_queue_is_quick() -> None:
    """Work grows with the distinct needs, not the sandboxes."""
    needs = [GpuNeed(mig=p) for p in MIG_PROFILES["a100-40gb"].values()]
    needs += [GpuNeed(share=s) for s in (0.1, 0.3, 0.45, 0.7)]
    start = time.perf_counter()
    gpus = gpus_needed(needs, [100_000] * len(needs))
    assert time.perf_counter() - start < 0.5
    assert gpus >= 100_000 * 4  # each share size and the 7g alone need that many


@settings(max_examples=100, deadline=None)
@given(
    gpu=st.sampled_from(["a100-40gb", "h100"]),
    migs=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6)), max_size=3),
    shares=st.lists(
        st.tuples(st.sampled_from([0.1, 0.2, 0.25, 0.3, 0.5, 0.6, 1.0]), st.integers(0, 6)),
        max_size=2,
    ),
)
def test_gpus_needed_packs_as_a_host_does_and_never_below_the_optimum(
    gpu: str, migs: list[tuple[int, int]], shares: list[tuple[float, int]]
) -> None:
    """On small random mixes: the same count as a host's GPUs taking the sandboxes one at
    a time (runs of a need placed a group of GPUs at a time agree), never fewer than the
    optimum, and the optimum for sandboxes of one kind. (Largest first can exceed the
    optimum on a mix: 5 3g.20gb and 6 2g.10gb take 5 GPUs, though a 3g at slice 4 beside
    two 2g makes 4 enough, as a GPU places each instance at its first free start.)"""
    profiles = list(MIG_PROFILES[gpu].values())
    needs = [GpuNeed(mig=profiles[i]) for i, _ in migs] + [GpuNeed(share=s) for s, _ in shares]
    counts = [n for _, n in migs] + [n for _, n in shares]
    got = gpus_needed(needs, counts)
    assert got == _one_by_one(needs, counts)
    mig_part = [(n, c) for n, c in zip(needs, counts, strict=True) if n.mig is not None]
    share_part = [(n, c) for n, c in zip(needs, counts, strict=True) if n.share]
    best = sum(
        _optimum([n for n, _ in part], [c for _, c in part]) for part in (mig_part, share_part)
    )
    assert got >= best
    if len({n for n, c in zip(needs, counts, strict=True) if c}) <= 1:
        assert got == best
