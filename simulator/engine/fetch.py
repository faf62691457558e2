"""Artifact fetches sharing bandwidth: each host's link and the shared registry or blob store.

Fetches are fluid flows. Whenever one starts or finishes, rates are recomputed by
max-min fairness (progressive filling): the flows of a host share its link equally, and
if the shared store cannot feed every host at that rate, the level at which it is
exhausted caps the rest. Between changes rates are constant, so the next completion
time is exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

FINISH_ULPS = 8.0
"""A flow whose remaining time is within this many ulps of the clock has finished."""
FINISH_GIB = 1e-12
"""A flow with this little left has finished, whatever its rate."""


@dataclass
class Flow:
    """One fetch of one artifact into one host."""

    host: int
    artifact: str
    remaining_gib: float
    rate_gib_s: float = 0.0
    done: Callable[[], None] | None = None
    started_s: float = 0.0
    waiters: list[int] = field(default_factory=list)


def max_min_rates(
    flows_per_host: dict[int, int], host_gib_s: float, shared_gib_s: float | None
) -> dict[int, float]:
    """Per-flow rate on each host under max-min fairness across host links and a shared link."""
    if not flows_per_host:
        return {}
    if shared_gib_s is None:
        return {host: host_gib_s / n for host, n in flows_per_host.items()}
    remaining_capacity = shared_gib_s
    remaining_flows = sum(flows_per_host.values())
    rates: dict[int, float] = {}
    # hosts whose own link saturates first (most flows per host) are filled first
    for host, n in sorted(flows_per_host.items(), key=lambda item: host_gib_s / item[1]):
        own_limit = host_gib_s / n
        if own_limit * remaining_flows <= remaining_capacity + 1e-12:
            rates[host] = own_limit
            remaining_capacity -= host_gib_s
            remaining_flows -= n
        else:
            break
    level = remaining_capacity / remaining_flows if remaining_flows else 0.0
    for host in flows_per_host:
        rates.setdefault(host, level)
    return rates


class FetchNetwork:
    """The fetches in progress, advanced in fluid time by the caller's clock."""

    def __init__(
        self,
        host_gib_s: float,
        shared_gib_s: float | None,
        now: Callable[[], float],
        wake_at: Callable[[float, Callable[[], None]], None],
    ) -> None:
        self._host_gib_s = host_gib_s
        self._shared_gib_s = shared_gib_s
        self._now = now
        self._wake_at = wake_at
        self._flows: list[Flow] = []
        self._updated_s = 0.0
        self._version = 0
        self.bytes_fetched_gib = 0.0
        self.fetches = 0

    @property
    def active(self) -> int:
        """Fetches in progress."""
        return len(self._flows)

    def start(self, flow: Flow) -> None:
        """Begin a fetch now; ``flow.done`` is called when it completes."""
        self._advance()
        flow.started_s = self._now()
        self.fetches += 1
        self.bytes_fetched_gib += flow.remaining_gib
        if flow.remaining_gib <= 0:
            assert flow.done is not None
            flow.done()
            return
        self._flows.append(flow)
        self._replan()

    def _advance(self) -> None:
        now = self._now()
        elapsed = now - self._updated_s
        if elapsed > 0:
            for flow in self._flows:
                flow.remaining_gib -= flow.rate_gib_s * elapsed
        self._updated_s = now

    def _replan(self) -> None:
        counts: dict[int, int] = {}
        for flow in self._flows:
            counts[flow.host] = counts.get(flow.host, 0) + 1
        rates = max_min_rates(counts, self._host_gib_s, self._shared_gib_s)
        soonest = math.inf
        for flow in self._flows:
            flow.rate_gib_s = rates[flow.host]
            if flow.rate_gib_s > 0:
                soonest = min(soonest, flow.remaining_gib / flow.rate_gib_s)
        self._version += 1
        if soonest < math.inf:
            version = self._version
            self._wake_at(self._now() + max(soonest, 0.0), lambda: self._on_wake(version))

    def _on_wake(self, version: int) -> None:
        if version != self._version:
            return  # rates changed since this wake-up was planned
        self._advance()
        now = self._now()
        # a flow is done when what is left would take no more than a few ulps of the
        # clock: the wake-up time was rounded to the clock's resolution, which at large
        # times (about 4 ns at 3e7 s) is coarser than any fixed tolerance in GiB, so the
        # flow could otherwise never be seen to finish
        resolution_s = FINISH_ULPS * math.ulp(max(abs(now), 1.0))
        finished = [
            flow
            for flow in self._flows
            if flow.remaining_gib <= flow.rate_gib_s * resolution_s
            or flow.remaining_gib <= FINISH_GIB
        ]
        self._flows = [flow for flow in self._flows if flow not in finished]
        self._replan()
        for flow in finished:
            assert flow.done is not None
            flow.done()
