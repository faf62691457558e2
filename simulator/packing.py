"""Vector bin packing: placing sandboxes (vCPU, memory, GPUs) on hosts.

The same functions serve the engine (online placement of one sandbox on the live hosts)
and a user packing a list of shapes offline (`sandsim pack`). Demands and capacities
are vectors over resources; everything is compared after dividing by the host's
capacity, so each resource counts in shares of a host.

Online policies (one item, hosts as they are): first fit, best fit (least room left),
worst fit (spread: most room left) and dot product (the host whose free room points the
same way as the demand; Panigrahy et al., "Heuristics for vector bin packing", 2011).

Offline packers (all items known): first-fit and best-fit decreasing, under several
size orders; bin-centric packing, which fills one host at a time with the item that best
matches its free room; a bin-elimination pass that tries to empty the least-loaded host
into the others; and a portfolio that runs them all and keeps the fewest hosts. The
lower bound is the largest per-resource volume bound. An exact solver (OR-Tools CP-SAT,
an optional extra) reports the optimality gap on small instances.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import operator
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Bin = TypeVar("Bin")
"""What ``first_fit_runs`` fills: a host's free room, or a GPU."""
Item = TypeVar("Item")
OnlinePolicy = Literal["first_fit", "best_fit", "worst_fit", "dot_product"]
ONLINE_POLICIES: tuple[OnlinePolicy, ...] = ("first_fit", "best_fit", "worst_fit", "dot_product")
SizeOrder = Literal["sum", "max", "l2"]
TOLERANCE = 1e-9
"""Slack in share units, so that float sums exactly at capacity still fit."""


@dataclass(frozen=True)
class Packing:
    """An offline packing: which items share a host."""

    bins: tuple[tuple[int, ...], ...]
    method: str

    @property
    def hosts(self) -> int:
        """Hosts used."""
        return len(self.bins)

    def loads(self, demands: FloatArray) -> FloatArray:
        """Total demand per host (rows) and resource (columns)."""
        return np.array([demands[list(b)].sum(0) for b in self.bins]).reshape(len(self.bins), -1)

    def check(self, demands: FloatArray, capacity: FloatArray) -> None:
        """Raise if an item is missing, repeated, or a host is over capacity."""
        placed = sorted(i for b in self.bins for i in b)
        if placed != list(range(len(demands))):
            raise AssertionError("every item must be placed exactly once")
        over = self.loads(demands) > capacity * (1 + TOLERANCE) + TOLERANCE
        if over.any():
            raise AssertionError(f"host {int(np.flatnonzero(over.any(1))[0])} is over capacity")


def checked(
    demands: Sequence[Sequence[float]] | FloatArray,
    capacity: Sequence[float] | FloatArray,
    allow_negative: bool = False,
) -> tuple[FloatArray, FloatArray]:
    """Demands (a row per item, a column per resource) and a host's capacity (a number per
    resource) as float arrays, or a ValueError naming the bad input. A resource that hosts
    have none of and no item asks for (a CPU host given a GPU column of zeros) is left out;
    the packings, which name items by their row, are the same without it. Negative
    demands are refused unless ``allow_negative`` (see ``lower_bound``)."""
    cap = np.asarray(capacity, dtype=np.float64)
    if cap.ndim != 1 or cap.size == 0:
        raise ValueError(
            f"capacity must be one number per resource, not an array of shape {cap.shape}"
        )
    items = np.asarray(demands, dtype=np.float64)
    if items.size == 0:
        items = items.reshape(0, cap.size)
    if items.ndim != 2 or items.shape[1] != cap.size:
        raise ValueError(
            f"demands must be a row per item with {cap.size} resource(s), as the capacity "
            f"has; got an array of shape {items.shape}"
        )
    bad = ~np.isfinite(cap) | (cap < 0)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise ValueError(f"capacity of resource {r} is {cap[r]:g}: it must be finite and >= 0")
    bad_items = ~np.isfinite(items) if allow_negative else ~np.isfinite(items) | (items < 0)
    if bad_items.any():
        i, r = (int(k) for k in np.argwhere(bad_items)[0])
        raise ValueError(
            f"demand of item {i} on resource {r} is {items[i, r]:g}: demands must be "
            + ("finite" if allow_negative else "finite and >= 0")
        )
    absent = cap == 0
    if absent.any():
        asked = items[:, absent] != 0
        if asked.any():
            i, k = (int(j) for j in np.argwhere(asked)[0])
            r = int(np.flatnonzero(absent)[k])
            raise ValueError(
                f"item {i} asks for {items[i, r]:g} of resource {r}, of which a host has none"
            )
        if absent.all():
            raise ValueError("a host has no capacity on any resource")
        items, cap = items[:, ~absent], cap[~absent]
    return items, cap


def lower_bound(
    demands: Sequence[Sequence[float]] | FloatArray,
    capacity: Sequence[float] | FloatArray,
    *,
    allow_negative: bool = False,
) -> int:
    """Hosts needed at the least: the largest over resources of ceil(total demand / capacity),
    and one if there is any item (however small). A negative demand is refused unless
    ``allow_negative``: no sandbox has one, but 7 of the 320 published three-dimensional
    benchmark instances (Caprara-style triplets) have an item with a -1 or -2, an
    artifact of their generator, and their optima are proven with it as it is; the
    bound (each host holds at most its capacity) still holds."""
    items, cap = checked(demands, capacity, allow_negative)
    if len(items) == 0:
        return 0
    shares = items.sum(0) / cap
    return max(1, *(math.ceil(s - TOLERANCE) for s in shares))


def _normalised(demands: FloatArray, capacity: FloatArray) -> FloatArray:
    """Demands in shares of a host, for the packers below: refuses what would make them
    loop or miscount (NaN, infinity, a resource hosts have none of and an item asks
    for); a negative demand is packed as given (it gives room back), as the published
    triplet benchmarks have a few (``lower_bound``). ``pack`` refuses them."""
    items, cap = checked(demands, capacity, allow_negative=True)
    norm = items / cap
    if (norm > 1 + TOLERANCE).any():
        bad = int(np.flatnonzero((norm > 1 + TOLERANCE).any(1))[0])
        raise ValueError(f"item {bad} is larger than a whole host")
    return norm


def choose(policy: OnlinePolicy, free: FloatArray, demand: FloatArray) -> int:
    """The host (row of ``free``, in shares of a host) a demand goes to, or -1 if none fits.

    Rows of hosts that take nothing (booting, draining) may be given as negative room.
    Works column by column: the engine calls this once per placement, so it must be cheap
    for a few hosts and for hundreds.
    """
    if free.shape[0] == 0:
        return -1
    fits = free[:, 0] >= demand[0] - TOLERANCE
    for r in range(1, free.shape[1]):
        fits &= free[:, r] >= demand[r] - TOLERANCE
    if policy == "first_fit":
        first = int(fits.argmax())
        return first if fits[first] else -1
    if policy == "dot_product":
        score = free[:, 0] * demand[0]
        for r in range(1, free.shape[1]):
            score = score + free[:, r] * demand[r]
        pick = int(np.where(fits, score, -np.inf).argmax())
    elif policy in ("best_fit", "worst_fit"):
        room = free[:, 0]  # room left after placing differs by the same sum(demand);
        for r in range(1, free.shape[1]):  # summed column by column, as PlacementIndex does
            room = room + free[:, r]
        pick = (
            int(np.where(fits, room, np.inf).argmin())
            if policy == "best_fit"
            else int(np.where(fits, room, -np.inf).argmax())
        )
    else:
        raise ValueError(f"unknown placement policy {policy!r}")
    return pick if fits[pick] else -1


NO_HOST = -1
"""A pick meaning no host fits."""
Entry = int
"""A heap entry: the score's key (``_key_of``) plus the host, so that entries order as
(score, host) and compare as plain integers (tuples compare element by element, a few
times slower, and heaps compare at every level)."""
HOST_BITS = 32
HOST_MASK = (1 << HOST_BITS) - 1
"""An entry's low bits: its host."""
Fitted = tuple[tuple[list[Entry], list[Entry | None], int], ...]
"""Watched shapes a room fits: each one's heap, its hosts' latest entries, and (under dot
product) its score key."""
Watch = tuple[list[Entry], list[Entry | None]]
"""What ``choose`` reads of a watched shape: its heap and its hosts' latest entries."""
ShapeKeys = tuple[int | None, ...]
"""Per shape: the score key a room (with gates) has for it, or None if the shape does not
fit."""
Targets = tuple[int, Fitted, ShapeKeys]
"""What a host's room and gates mean for the shapes: the room's score key under a policy
whose score is the same for every shape, the watched shapes it fits (under a policy other
than dot product, one tuple shared by every room that fits the same shapes), and its key
for every shape (``ShapeKeys``)."""
FITTING_MEMO_SIZE = 1 << 14
"""Rooms (with gates) whose fitting shapes and scores are kept at most (and scores whose
keys are kept); past it the memo starts anew. Benchmark fleets pass through at most a
few thousand (1,903 with GPUs), and under dot product each room keeps a key per shape."""


class PlacementIndex:
    """Online placement of a few known shapes on hosts whose free room changes one host at
    a time, as in the engine: the same picks as ``choose`` (ties to the lowest host index),
    at a few heap operations per change instead of a pass over every host.

    Per shape it keeps a heap of entries ordered as (score, host) over the hosts the shape
    fits (integers: ``Entry``); a change to a host pushes its new entries, and entries
    that are not their host's latest are dropped when they reach the top (and in a sweep
    when a heap grows to several entries per host). A change that can only raise a
    host's score (a sandbox taking room, under every policy but best fit) pushes nothing:
    the host's latest entry stays as a lower bound of its score, and is brought up to
    date (or dropped, if the shape no longer fits) when it reaches the top and differs
    from the host's entry now (kept per host and shape, ``_keys_now``).
    A shape's heap is built on its first placement, so shapes never placed cost nothing.
    Free room is in shares of a host, one row per host; closed hosts (booting, draining)
    have negative room.

    Gates are further figures per host that decide whether a shape fits but not the
    score (the engine's GPUs: whole GPUs free, the largest share a GPU can give, whether a
    MIG profile can be placed, whether the host has a GPU type): a shape fits where every
    gate is at least the shape's need for it (``gate_needs``, one row per shape; -inf
    where the shape does not care).
    """

    def __init__(
        self,
        policy: OnlinePolicy,
        demands: FloatArray,
        gate_needs: Sequence[Sequence[float]] | None = None,
    ) -> None:
        if policy not in ONLINE_POLICIES:
            raise ValueError(f"unknown placement policy {policy!r}")
        self.policy = policy
        self._demand_rows = np.asarray(demands, dtype=np.float64)
        self._resources = self._demand_rows.shape[1]
        self._demands = [tuple(float(x) for x in row) for row in self._demand_rows]
        self._thresholds = [tuple(x - TOLERANCE for x in row) for row in self._demands]
        needs: list[Sequence[float]] = list(gate_needs or [()] * len(self._demands))
        self._gate_needs: list[tuple[tuple[int, float], ...] | None] = [
            tuple((gate, float(x)) for gate, x in enumerate(row) if x != -math.inf) or None
            for row in needs
        ]
        """Per shape: the gates it needs something of, and how much (None: none)."""
        self._closed = (-1.0,) * self._resources
        self._fits_none: ShapeKeys = (None,) * len(self._demands)
        """The keys of a closed host: it fits no shape."""
        self._keys_now: list[ShapeKeys] = []
        """Per host: its key for each shape as it is now (``ShapeKeys``), kept at every
        change, so that bringing an older entry up to date is a lookup."""
        self._rows: list[tuple[float, ...]] = []
        self._array: FloatArray | None = None
        """Free room as an array, kept once asked for (``free``)."""
        self._watch: list[Watch | None] = [None] * len(self._demands)
        """Per shape: what ``choose`` reads of it (None until its first placement)."""
        self._watched: list[tuple[int, list[Entry], list[Entry | None]]] = []
        """Shapes with a heap: shape, heap, and its hosts' latest entries."""
        # per watched shape (in _watched and _watch), per host: its latest entry (the very
        # object; None: none). That entry's score is at most the host's score now, if the
        # shape fits; other entries of the host are dropped as they surface or in a sweep
        self._keys: dict[float, int] = {}
        """Scores seen and their keys (``_key_of``)."""
        self._lazy_when_shrunk = policy != "best_fit"
        """Whether room that shrank leaves the host's entries as they are: its score rises
        or stays for all policies but best fit (which picks the least room)."""
        self._limit = 64
        """Entries a heap may hold before a sweep."""
        self._changes_left = self._limit
        """Changes that push entries left before heaps are looked at (``_sweep_all``)."""
        gate_count = max((len(row) for row in needs), default=0)
        self._no_gates = (-math.inf,) * max(gate_count, 1)
        """The gates of a host given none: it opens no gate (and the loops can index it)."""
        self._per_shape = policy == "dot_product"
        """Whether each shape has its own score (and entry) for a room."""
        self._room_cuts: list[tuple[list[float], list[int]]] = []
        self._gate_cuts: list[tuple[int, list[float], list[int]]] = []
        """Per resource (and per gate some shape needs): the shapes' thresholds in order,
        and the mask of the shapes (bit i: shape i) whose threshold is at most the k-th
        (shapes that need nothing of a gate in every mask), so the shapes a host fits are
        a few bisections and ANDs (see ``_fitting``)."""
        self._shapes_of_mask: dict[int, Fitted] = {}
        """Per mask of shapes (see ``_fitting``): the watched ones among them (filled as
        masks turn up; started anew when a shape is first watched)."""
        self._fitting_memo: dict[tuple[tuple[float, ...], tuple[float, ...]], Targets] = {}
        """What rooms and gates seen mean for the shapes (``_fitting``): a fleet's hosts
        pass through the same few hundred or thousand states, sums of a few shapes'
        demands."""
        self._cut_tables()

    @property
    def free(self) -> FloatArray:
        """Free room per host (rows by host index)."""
        hosts = len(self._rows)
        if self._array is None or self._array.shape[0] < hosts:
            self._array = np.empty((max(2 * hosts, 8), self._resources))
            if hosts:
                self._array[:hosts] = self._rows
        return self._array[:hosts]

    def add_host(self) -> int:
        """A new host, closed until its room is set; returns its index."""
        host = len(self._rows)
        self._rows.append(self._closed)
        self._keys_now.append(self._fits_none)
        for _, _, pushed in self._watched:
            pushed.append(None)
        self._limit = 4 * (host + 1) + 64
        if self._array is not None:
            if self._array.shape[0] > host:
                self._array[host] = self._closed
            else:
                self._array = None  # built again from the rows when next asked for
        return host

    def close(self, host: int) -> None:
        """The host takes nothing new."""
        self.set_free(host, self._closed)

    def _score_of(self, shape: int, room: Sequence[float]) -> float:
        """The policy's score of ``room`` for ``shape``: lower is picked first. Sums go
        resource by resource, as in ``choose``, so scores are equal to its bit."""
        policy = self.policy
        if policy == "first_fit":
            return 0.0
        if policy == "dot_product":
            demand = self._demands[shape]
            score = room[0] * demand[0]
            for r in range(1, self._resources):
                score = score + room[r] * demand[r]
            return -score
        total = room[0]
        for r in range(1, self._resources):
            total = total + room[r]
        return total if policy == "best_fit" else -total

    def set_free(
        self,
        host: int,
        room: tuple[float, ...],
        gates: tuple[float, ...] = (),
        shrank: bool = False,
    ) -> None:
        """Host ``host`` now has ``room`` free (shares of a host per resource) and these
        ``gates`` (in the order of ``gate_needs``). ``shrank``: nothing (room or gate) is
        larger than before, as when a sandbox takes its place.

        For worst fit, dot product and first fit, room that shrank raises (or keeps) the
        host's score, so it pushes nothing: the host's entry from before is a lower bound
        of its score, brought up to date if it reaches the top (see ``choose``). (Room
        that grew under best fit could be left alike, but its entries then surface at
        once, as best fit looks at the hosts with the least room: it costs more.)"""
        rows = self._rows
        before = rows[host]
        rows[host] = room
        if self._array is not None:
            self._array[host] = room
        if room is self._closed:
            self._keys_now[host] = self._fits_none
            return  # a closed host's entries are dropped as they surface (it fits nothing)
        # what the room means for the shapes: hosts' rooms repeat, so it is kept
        try:
            key, targets, self._keys_now[host] = self._fitting_memo[room, gates]
        except KeyError:
            key, targets, self._keys_now[host] = self._fitting(room, gates)
        if shrank and self._lazy_when_shrunk and before is not self._closed:
            return
        # entries for the watched shapes the host fits (the shapes it does not fit keep
        # their latest entries, dropped if they reach the top)
        if not targets:
            return
        self._changes_left -= 1
        if self._changes_left < 0:  # (heaps are kept small: see _sweep_all)
            self._sweep_all()
        if self._per_shape:
            for heap, pushed, shape_key in targets:
                pushed[host] = entry = shape_key | host
                heapq.heappush(heap, entry)
            return
        entry = key | host
        if not shrank:
            for heap, pushed, _ in targets:
                heapq.heappush(heap, entry)
                pushed[host] = entry
            return
        # best fit, room that shrank: the host, just chosen, is often on top already
        for heap, pushed, _ in targets:
            pushed[host] = entry
            if heap and heap[0] & HOST_MASK == host and entry < heap[0]:
                heap[0] = entry  # below the top, which is this host's older entry: the new top
            else:
                heapq.heappush(heap, entry)

    def _fitting(self, room: tuple[float, ...], gates: tuple[float, ...]) -> Targets:
        """What a host with this room and these gates means for the shapes (``Targets``):
        the shapes it fits, found by a bisection per resource and gate, its key for each,
        and the watched ones; kept (``_fitting_memo``)."""
        fitting = -1
        for value, (cuts, masks) in zip(room, self._room_cuts, strict=True):
            fitting &= masks[bisect.bisect_right(cuts, value)]
        opened = gates or self._no_gates  # (a host given no gates opens none)
        for gate, cuts, masks in self._gate_cuts:
            fitting &= masks[bisect.bisect_right(cuts, opened[gate])]
        shapes = range(len(self._demands))
        if self._per_shape:  # dot product: a key per shape and room
            shape_keys: ShapeKeys = tuple(
                self._key_of(self._score_of(shape, room)) if fitting >> shape & 1 else None
                for shape in shapes
            )
            targets: Targets = (
                0,
                tuple(
                    (heap, pushed, shape_keys[shape] or 0)
                    for shape, heap, pushed in self._watched
                    if fitting >> shape & 1
                ),
                shape_keys,
            )
        else:
            key = self._key_of(self._score_of(0, room))
            shape_keys = tuple(key if fitting >> shape & 1 else None for shape in shapes)
            fitted = self._shapes_of_mask.get(fitting)
            if fitted is None:
                fitted = self._shapes_of_mask[fitting] = tuple(
                    (heap, pushed, 0)
                    for shape, heap, pushed in self._watched
                    if fitting >> shape & 1
                )
            targets = (key, fitted, shape_keys)
        if len(self._fitting_memo) >= FITTING_MEMO_SIZE:
            self._fitting_memo.clear()
        self._fitting_memo[room, gates] = targets
        return targets

    def _cut_tables(self) -> None:
        """The thresholds and masks of ``_room_cuts`` and ``_gate_cuts``."""
        shapes = range(len(self._demands))

        def cuts(needs: list[float]) -> tuple[list[float], list[int]]:
            order = sorted(range(len(needs)), key=lambda i: needs[i])
            always = sum(1 << i for i, need in enumerate(needs) if need == -math.inf)
            masks = [always]
            for i in order:
                masks.append(masks[-1] | 1 << i)
            return [needs[i] for i in order], masks

        self._room_cuts = [
            cuts([self._thresholds[shape][r] for shape in shapes]) for r in range(self._resources)
        ]
        gates_needed = sorted(
            {gate for shape in shapes for gate, _ in self._gate_needs[shape] or ()}
        )
        self._gate_cuts = []
        for gate in gates_needed:
            needs = [dict(self._gate_needs[shape] or ()).get(gate, -math.inf) for shape in shapes]
            self._gate_cuts.append((gate, *cuts(needs)))

    def _key_of(self, score: float) -> int:
        """A score's key: an integer that orders as the score (its float's bits, made to
        sort as numbers; -0.0 as 0.0), shifted above an entry's host. Kept per score."""
        key = self._keys.get(score)
        if key is None:
            bits = int.from_bytes(struct.pack(">d", score + 0.0), "big")
            order = bits ^ 0xFFFF_FFFF_FFFF_FFFF if bits >> 63 else bits | 1 << 63
            if len(self._keys) >= FITTING_MEMO_SIZE:
                self._keys.clear()
            key = self._keys[score] = order << HOST_BITS
        return key

    def _sweep_all(self) -> None:
        """Sweep every heap grown past the limit, and count changes anew: the changes
        that push entries are counted, not each heap's length at every push, so a heap
        grows at most by the changes counted between sweeps (each pushes at most one
        entry to a heap)."""
        for _, heap, pushed in self._watched:
            if len(heap) > self._limit:
                self._sweep(heap, pushed)
        self._changes_left = self._limit

    @staticmethod
    def _sweep(heap: list[Entry], pushed: list[Entry | None]) -> None:
        """Drop a heap's entries that are not their host's latest (in place; the loop runs
        in C, as a heap may hold a few entries per host)."""
        hosts = map(operator.and_, heap, itertools.repeat(HOST_MASK))
        heap[:] = itertools.compress(heap, map(operator.is_, map(pushed.__getitem__, hosts), heap))
        heapq.heapify(heap)

    def _build(self, shape: int) -> Watch:
        """The heap of a shape's first placement: every host it fits."""
        heap = [
            key | host
            for host, keys in enumerate(self._keys_now)
            if (key := keys[shape]) is not None
        ]
        heapq.heapify(heap)
        pushed: list[Entry | None] = [None] * len(self._rows)
        for entry in heap:
            pushed[entry & HOST_MASK] = entry
        self._watched.append((shape, heap, pushed))
        self._shapes_of_mask = {}  # (which name watched shapes)
        self._fitting_memo = {}
        watch = self._watch[shape] = (heap, pushed)
        return watch

    def choose(self, shape: int) -> int:
        """The host a sandbox of ``shape`` goes to, or -1 if none fits.

        Entries reaching the top that are not their host's latest are dropped; a latest
        entry that is not the host's entry now (a lower bound of it) is replaced by its
        entry now, or dropped if the shape no longer fits."""
        heap, pushed = self._watch[shape] or self._build(shape)
        keys_now = self._keys_now
        while heap:
            entry = heap[0]
            host = entry & HOST_MASK
            if pushed[host] is not entry:
                heapq.heappop(heap)  # the host has a newer entry
                continue
            key = keys_now[host][shape]
            if key is None:  # the shape no longer fits
                pushed[host] = None
                heapq.heappop(heap)
                continue
            fresh = key | host
            if fresh == entry:
                return host
            heapq.heapreplace(heap, fresh)
            pushed[host] = fresh
        return NO_HOST


def _size_order(norm: FloatArray, order: SizeOrder) -> npt.NDArray[np.int64]:
    if order == "sum":
        key = norm.sum(1)
    elif order == "max":
        key = norm.max(1)
    else:
        key = np.sqrt((norm**2).sum(1))
    return np.argsort(-key, kind="stable")


def _item_centric(
    norm: FloatArray, order: npt.NDArray[np.int64], policy: OnlinePolicy
) -> list[list[int]]:
    """Place items in the given order on the first (or best) open host, opening hosts as needed."""
    free = np.empty((len(order), norm.shape[1]))  # room on each open host, at most one per item
    bins: list[list[int]] = []
    for item in order:
        demand = norm[item]
        host = choose(policy, free[: len(bins)], demand)
        if host < 0:
            free[len(bins)] = 1.0 - demand
            bins.append([int(item)])
        else:
            free[host] -= demand
            bins[host].append(int(item))
    return bins


def first_fit_decreasing(
    demands: FloatArray, capacity: FloatArray, order: SizeOrder = "sum"
) -> Packing:
    """Largest items first, each on the first host it fits (11/9 OPT + 6/9 in one dimension)."""
    norm = _normalised(demands, capacity)
    bins = _item_centric(norm, _size_order(norm, order), "first_fit")
    return Packing(tuple(tuple(b) for b in bins), f"ffd-{order}")


def first_fit_decreasing_hosts(
    demands: FloatArray,
    counts: Sequence[int] | npt.NDArray[np.int64],
    capacity: FloatArray,
    order: SizeOrder = "sum",
) -> int:
    """Hosts first-fit decreasing opens for ``counts[i]`` items of each demand
    ``demands[i]``: those of ``first_fit_decreasing`` on the items listed one by one
    (those of a demand together; float sums aside, within ``TOLERANCE`` of a full host),
    in work that grows with the distinct demands instead of the items. Identical items
    come one after another in decreasing order, and first fit fills the hosts they fit
    in host order, each as full as it goes; hosts left alike stay one group, so a run of
    items is placed a group at a time. An autoscaler sizing its waiting sandboxes (a
    few shapes, thousands of sandboxes) on new hosts runs this at every look."""
    norm = _normalised(demands, capacity)

    def fill(
        room: tuple[float, ...] | None, demand: tuple[float, ...], most: int
    ) -> tuple[tuple[float, ...], int]:
        if room is None:  # a new host: its first item, then as many as fit after it
            fresh = tuple(1.0 - d for d in demand)
            each = 1 + _run_fits(fresh, demand, most - 1)
            return _after(fresh, demand, each - 1), each
        each = _run_fits(room, demand, most)
        return _after(room, demand, each), each

    runs = [
        (tuple(norm[item].tolist()), int(counts[item]))
        for item in _size_order(norm, order).tolist()
    ]
    return first_fit_runs(runs, fill)


def first_fit_runs(
    runs: Sequence[tuple[Item, int]],
    fill: Callable[[Bin | None, Item, int], tuple[Bin, int]],
) -> int:
    """Bins first fit opens for runs of identical items (item, count), in the order given,
    in work that grows with the runs instead of the items: first fit fills the bins a run
    fits in bin order, each as full as it goes, and bins left alike stay one group, so a
    run is placed a group at a time. ``fill(bin, item, most)``: the bin (None: a new,
    empty one) once up to ``most`` items took their place one after another, and how
    many did (bins are values: ``fill`` does not change the one given). Serves hosts
    (``first_fit_decreasing_hosts``) and GPUs (``gpus.gpus_needed``) alike."""
    groups: list[tuple[Bin, int]] = []
    """Bins opened, in order, as groups of bins alike: one of them and how many."""
    for item, count in runs:
        left = count
        at = 0
        while left > 0 and at < len(groups):
            state, alike = groups[at]
            after, each = fill(state, item, left)
            if each == 0:
                at += 1
                continue
            full = min(alike, left // each)
            filled = [(after, full)] if full else []
            left -= full * each
            if full < alike and left > 0:  # the run ends within this group
                filled.append((fill(state, item, left)[0], 1))
                full, left = full + 1, 0
            if full < alike:
                filled.append((state, alike - full))
            groups[at : at + 1] = filled
            at += len(filled)
        if left > 0:  # new bins, each as full as the first
            fresh, each = fill(None, item, left)
            if each == 0:
                raise ValueError(f"{item} does not fit an empty bin")
            if left // each:
                groups.append((fresh, left // each))
            if left % each:
                groups.append((fill(None, item, left % each)[0], 1))
    return sum(alike for _, alike in groups)


def _after(room: tuple[float, ...], demand: tuple[float, ...], items: int) -> tuple[float, ...]:
    """Free room left once ``items`` items of ``demand`` take their place in ``room``."""
    return tuple(r - items * d for r, d in zip(room, demand, strict=True))


def _run_fits(room: tuple[float, ...], demand: tuple[float, ...], most: int) -> int:
    """How many items of ``demand`` one after another fit ``room`` (at most ``most``):
    by division, then made to meet ``choose``'s test of each item in turn."""
    pairs = zip(room, demand, strict=True)
    bound = min(((r + TOLERANCE) / d for r, d in pairs if d > 0), default=math.inf)
    count = most if bound >= most else max(0, math.floor(bound))

    def fits_one_more(placed: int) -> bool:
        return all(r - placed * d >= d - TOLERANCE for r, d in zip(room, demand, strict=True))

    while count > 0 and not fits_one_more(count - 1):
        count -= 1
    while count < most and fits_one_more(count):
        count += 1
    return count


def best_fit_decreasing(
    demands: FloatArray, capacity: FloatArray, order: SizeOrder = "sum"
) -> Packing:
    """Largest items first, each on the host it leaves the least room on."""
    norm = _normalised(demands, capacity)
    bins = _item_centric(norm, _size_order(norm, order), "best_fit")
    return Packing(tuple(tuple(b) for b in bins), f"bfd-{order}")


def bin_centric(
    demands: FloatArray, capacity: FloatArray, score: Literal["dot_product", "l2"] = "dot_product"
) -> Packing:
    """Fill one host at a time with the fitting item that best matches its free room:
    the largest dot product with it, or the smallest distance to filling it."""
    norm = _normalised(demands, capacity)
    weight = norm.mean(0) if len(norm) else np.ones(norm.shape[1])  # scarcer resources weigh more
    left = np.ones(len(norm), dtype=bool)
    bins: list[list[int]] = []
    while left.any():
        free = np.ones(norm.shape[1])
        current: list[int] = []
        while True:
            fits = left & np.all(norm <= free + TOLERANCE, axis=1)
            candidates = np.flatnonzero(fits)
            if candidates.size == 0:
                break
            room = norm[candidates]
            if score == "dot_product":
                value = (room * weight) @ free
            else:
                value = -(((free - room) * weight) ** 2).sum(1)
            item = int(candidates[np.argmax(value)])
            free = free - norm[item]
            left[item] = False
            current.append(item)
        bins.append(current)
    return Packing(tuple(tuple(b) for b in bins), f"bin-centric-{score}")


def eliminate_bins(demands: FloatArray, capacity: FloatArray, packing: Packing) -> Packing:
    """Try to empty the least-loaded hosts into the others (first fit, largest items first);
    keep every emptying that succeeds."""
    norm = _normalised(demands, capacity)
    bins = [list(b) for b in packing.bins]
    improved = True
    while improved and len(bins) > 1:
        improved = False
        free = np.array([1.0 - norm[b].sum(0) for b in bins])
        loads = np.array([norm[b].sum() for b in bins])
        for victim in np.argsort(loads, kind="stable"):
            trial = free.copy()
            trial[victim] = -1.0  # the host being emptied takes nothing
            moves: list[tuple[int, int]] = []
            for item in sorted(bins[victim], key=lambda i: -norm[i].sum()):
                host = choose("first_fit", trial, norm[item])
                if host < 0:
                    break
                trial[host] -= norm[item]
                moves.append((item, host))
            else:
                for item, host in moves:
                    bins[host].append(item)
                del bins[victim]
                improved = True
                break
    return Packing(tuple(tuple(b) for b in bins), packing.method + "+eliminate")


def randomized_decreasing(
    demands: FloatArray, capacity: FloatArray, tries: int = 96, seed: int = 0
) -> Packing:
    """First- and best-fit decreasing on sizes perturbed at random (by up to 10-30%),
    each followed by bin elimination; the fewest hosts over ``tries`` runs wins. Greedy
    orders miss tight packings (triplets, where every host is filled exactly); shaking the
    order finds many of them. The seed is fixed, so results repeat."""
    norm = _normalised(demands, capacity)
    rng = np.random.default_rng(seed)
    size = norm.sum(1)
    best: Packing | None = None
    for attempt in range(tries):
        noise = (0.1, 0.2, 0.3)[attempt % 3]
        order = np.argsort(-size * (1 + rng.uniform(-noise, noise, len(norm))), kind="stable")
        policy: OnlinePolicy = "first_fit" if attempt % 2 == 0 else "best_fit"
        bins = _item_centric(norm, order, policy)
        candidate = eliminate_bins(
            demands, capacity, Packing(tuple(tuple(b) for b in bins), "randomized")
        )
        if best is None or candidate.hosts < best.hosts:
            best = candidate
    assert best is not None
    return best


PORTFOLIO_SEARCH_ITEMS = 500_000
"""Items the portfolio's randomized search places at most (its tries times the items):
96 tries up to 5,208 items, fewer beyond (20,000 items packed in 37 s with all 96)."""
PORTFOLIO_FULL_ITEMS = 100_000
"""Items up to which the portfolio runs every packer; beyond, first- and best-fit
decreasing by size alone (each packer takes seconds per 100,000 items)."""


def portfolio(demands: FloatArray, capacity: FloatArray, tries: int = 96) -> Packing:
    """Every offline packer above, each followed by bin elimination, and the randomized
    search; the fewest hosts wins (ties go to the first in this order). On many items
    the search makes fewer tries (``PORTFOLIO_SEARCH_ITEMS``) and past
    ``PORTFOLIO_FULL_ITEMS`` only the two packers by size run, so time stays in step
    with the items."""
    items = len(demands)
    full = items <= PORTFOLIO_FULL_ITEMS
    candidates: list[Packing] = []
    for order in ("sum", "max", "l2") if full else ("sum",):
        candidates.append(first_fit_decreasing(demands, capacity, order))
        candidates.append(best_fit_decreasing(demands, capacity, order))
    if full:
        candidates.append(bin_centric(demands, capacity, "dot_product"))
        candidates.append(bin_centric(demands, capacity, "l2"))
    improved = [eliminate_bins(demands, capacity, p) for p in candidates]
    tries = min(tries, PORTFOLIO_SEARCH_ITEMS // max(items, 1))
    if tries > 0:
        improved.append(randomized_decreasing(demands, capacity, tries))
    return min(improved, key=lambda p: p.hosts)


EXACT_MAX_CELLS = 50_000
"""Largest exact model allowed: a count per distinct shape and host slot (distinct shapes
times the heuristic's hosts). The model is built in Python before the solver's clock
starts, at about 20 microseconds per cell (268,000 cells took 5.4 s and 440 MB); at this
cap it builds in about a second, so the time limit given still bounds the run."""
EXACT_INTEGER_BUDGET = 1 << 62
"""A resource's integer capacity times (items + 1) stays below this, so no sum in the
model can overflow CP-SAT's 64-bit integers."""
EXACT_MAX_DENOMINATOR = 1 << 32
"""Each size is read as the simplest fraction with a denominator up to this that is the
same float (0.1 as 1/10, 32/96 as 1/3, 4GB in GiB as 1953125/524288)."""
ExactStatus = Literal["optimal", "feasible", "timed_out", "infeasible", "rounding"]


@dataclass(frozen=True)
class ExactResult:
    """What the exact solver found, and what it proved."""

    packing: Packing | None
    """The best packing it found, checked against the sizes as given (None: none)."""
    status: ExactStatus
    """``optimal``: the packing's hosts are proven the fewest possible; ``feasible``: found,
    not proven before the time ran out; ``timed_out``: none found in the time;
    ``infeasible``: proven that no packing fits in ``hosts_searched`` hosts (the start
    packing filled a host to within the packers' tolerance, which exact sizes do not
    have); ``rounding``: sizes could not be held exactly, and the packing found on sizes
    rounded down was over capacity with the sizes as given."""
    bound: int
    """Hosts that no packing can do with fewer of: the solver's proven bound, or the volume
    lower bound if higher (a packing with this many hosts is optimal)."""
    hosts_searched: int
    """Host slots in the model: the start packing's hosts."""
    exact_sizes: bool
    """Every size was held exactly as an integer in a common unit per resource (else
    rounded down, so that full hosts stay feasible; the result is checked either way)."""

    @property
    def proven(self) -> bool:
        """The packing's hosts are the optimum."""
        return self.status == "optimal"


def exact_cells(demands: FloatArray, hosts: int) -> int:
    """Size of the exact model: distinct item shapes times host slots."""
    items = np.asarray(demands, dtype=np.float64)
    distinct = len(np.unique(items, axis=0)) if len(items) else 0
    return distinct * hosts


def _fraction(value: float) -> Fraction:
    simple = Fraction(value).limit_denominator(EXACT_MAX_DENOMINATOR)
    return simple if float(simple) == value else Fraction(value)


def _integer_sizes(capacity: float, sizes: FloatArray, items: int) -> tuple[int, list[int], bool]:
    """A resource's capacity and sizes as integers in one unit: exact when the common
    denominator keeps every sum within 64 bits; else in units of the capacity rounded
    down (a relaxation: a full host stays feasible, a packing found must be checked)."""
    fractions = [_fraction(float(v)) for v in (capacity, *sizes)]
    scale = math.lcm(*(f.denominator for f in fractions))
    if fractions[0] * scale * (items + 1) < EXACT_INTEGER_BUDGET:
        whole = [int(f * scale) for f in fractions]
        return whole[0], whole[1:], True
    units = min(10**12, EXACT_INTEGER_BUDGET // (items + 1))
    # one unit less than the floor, so that float error in the division never rounds up
    return units, [max(math.floor(v / capacity * units) - 1, 0) for v in sizes], False


def exact(
    demands: Sequence[Sequence[float]] | FloatArray,
    capacity: Sequence[float] | FloatArray,
    time_limit_s: float = 30.0,
    start: Packing | None = None,
) -> ExactResult:
    """The fewest hosts, by OR-Tools CP-SAT (the optional ``exact`` extra), for small
    instances. The model counts, per distinct shape and host slot, the items of that
    shape on the host, over as many slots as ``start`` uses (a packing of these items,
    the portfolio's by default; it is given to the solver as a hint). Sizes are integers
    in a common unit per resource, so hosts that must be filled exactly stay feasible.
    ``time_limit_s`` bounds building and solving the model (not the start packing).
    Raises ValueError when the model would have more than ``EXACT_MAX_CELLS`` cells."""
    try:
        from ortools.sat.python import cp_model
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise RuntimeError(
            "the exact packer needs OR-Tools: pip install 'sandsim[exact]'"
        ) from error
    clock = time.perf_counter()
    items, cap = checked(demands, capacity)
    _normalised(items, cap)  # (refuses an item larger than a host)
    given = np.asarray(demands, dtype=np.float64).reshape(len(items), -1)
    given_cap = np.asarray(capacity, dtype=np.float64)
    if start is None:
        start = portfolio(items, cap)
    start.check(given, given_cap)
    hosts = start.hosts
    volume = lower_bound(items, cap)
    if hosts <= volume:  # the start meets the volume bound: nothing fewer exists
        return ExactResult(start, "optimal", volume, hosts, True)
    shapes, of_item, counts = np.unique(items, axis=0, return_inverse=True, return_counts=True)
    of_item = of_item.reshape(-1)
    cells = len(shapes) * hosts
    if cells > EXACT_MAX_CELLS:
        raise ValueError(
            f"the exact model would have {len(shapes):,} distinct shapes x {hosts:,} hosts = "
            f"{cells:,} cells, above the {EXACT_MAX_CELLS:,} allowed (building it alone "
            "would outlast a time limit of seconds)"
        )
    n, d = items.shape
    columns = [_integer_sizes(float(cap[r]), shapes[:, r], n) for r in range(d)]
    exact_sizes = all(held for _, _, held in columns)
    most = counts.copy()  # the most of a shape one host holds
    for limit, sizes, _ in columns:
        per = np.array([limit // s if s else n for s in sizes])
        most = np.minimum(most, per)
    model = cp_model.CpModel()
    count = [
        [model.new_int_var(0, int(most[s]), f"n{s}_{b}") for b in range(hosts)]
        for s in range(len(shapes))
    ]
    used = [model.new_bool_var(f"u{b}") for b in range(hosts)]
    for s in range(len(shapes)):
        model.add(cp_model.LinearExpr.sum(count[s]) == int(counts[s]))
    for b in range(hosts):
        on_host = [count[s][b] for s in range(len(shapes))]
        for limit, sizes, _ in columns:
            model.add(cp_model.LinearExpr.weighted_sum(on_host, sizes) <= limit * used[b])
        if b > 0:
            model.add(used[b] <= used[b - 1])
    model.add(cp_model.LinearExpr.sum(used) >= volume)
    model.minimize(cp_model.LinearExpr.sum(used))
    hint = np.zeros((len(shapes), hosts), dtype=np.int64)
    for b, members in enumerate(start.bins):
        np.add.at(hint[:, b], of_item[list(members)], 1)
    for s in range(len(shapes)):
        for b in range(hosts):
            model.add_hint(count[s][b], int(hint[s, b]))
    for b in range(hosts):
        model.add_hint(used[b], b < len(start.bins))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit_s - (time.perf_counter() - clock), 0.01)
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return ExactResult(None, "infeasible", hosts + 1, hosts, exact_sizes)
    bound = max(volume, math.ceil(solver.best_objective_bound - 1e-6))
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return ExactResult(None, "timed_out", bound, hosts, exact_sizes)
    waiting = [np.flatnonzero(of_item == s).tolist() for s in range(len(shapes))]
    bins: list[tuple[int, ...]] = []
    for b in range(hosts):
        on: list[int] = []
        for s in range(len(shapes)):
            take = solver.value(count[s][b])
            on += waiting[s][:take]
            del waiting[s][:take]
        if on:
            bins.append(tuple(sorted(on)))
    packing = Packing(tuple(bins), "exact-cp-sat")
    try:
        packing.check(given, given_cap)
    except AssertionError:
        if exact_sizes:
            raise
        return ExactResult(None, "rounding", bound, hosts, exact_sizes)
    optimal = status == cp_model.OPTIMAL or packing.hosts <= bound
    return ExactResult(packing, "optimal" if optimal else "feasible", bound, hosts, exact_sizes)


OFFLINE_PACKERS: dict[str, Callable[[FloatArray, FloatArray], Packing]] = {
    "ffd": first_fit_decreasing,
    "bfd": best_fit_decreasing,
    "bin_centric": bin_centric,
    "portfolio": portfolio,
}


def pack(
    demands: Sequence[Sequence[float]] | FloatArray,
    capacity: Sequence[float] | FloatArray,
    method: str = "portfolio",
) -> Packing:
    """Pack items offline with a named packer (ffd, bfd, bin_centric, portfolio)."""
    if method not in OFFLINE_PACKERS:
        raise ValueError(f"unknown packer {method!r}; use one of {sorted(OFFLINE_PACKERS)}")
    return OFFLINE_PACKERS[method](*checked(demands, capacity))
