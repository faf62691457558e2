"""What the engine measured for one platform in one replication, as columns.

One row per requested sandbox: request, admission, launch start, ready and end times
(NaN where a rejected sandbox never reached that step), launch mode and outcome.
Billing and metrics are pure functions of this table; neither re-runs the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .distributions import FloatArray

COMPLETED, TIMED_OUT, REJECTED, ABANDONED = 0, 1, 2, 3
OUTCOMES: tuple[str, ...] = ("completed", "timed_out", "rejected", "abandoned")
"""rejected: no room at the quota on arrival; abandoned: left the queue after its timeout."""
MODE_CODES: dict[str, int] = {"cold": 0, "snapshot": 1, "warm": 2, "resume": 3}
MODES: tuple[str, ...] = ("cold", "snapshot", "warm", "resume")
TimeColumn = Literal["request", "admission", "launch_start", "ready", "end"]
HOST_START = "host_start"
"""Name of the part offset of when a host took a launch through a launch pipeline (after
waiting for a slot and a creation token)."""


@dataclass(frozen=True)
class PoolIdle:
    """Stretches in which pre-started sandboxes waited in a warm pool, one row each: from
    the sandbox's launch start (or its return after a task) to handover or teardown."""

    workload_index: npt.NDArray[np.int32]
    launch_start_s: FloatArray
    ready_s: FloatArray
    end_s: FloatArray
    billed: npt.NDArray[np.bool_]
    """Whether the platform bills this idle time."""
    host_start_s: FloatArray | None = None
    """When a host took the sandbox's launch, after any wait in the launch pipeline
    (None: as ``launch_start_s``)."""
    restored: npt.NDArray[np.bool_] | None = None
    """The stretch began with a pool launch restored from a memory snapshot (snapshot
    fees apply to it as to any restore); None: none did."""

    @property
    def size(self) -> int:
        """Number of idle stretches."""
        return int(self.end_s.size)

    def idle_seconds(self) -> float:
        """Total sandbox-seconds spent idle in pools (from launch start)."""
        return float(np.sum(self.end_s - self.launch_start_s))


@dataclass(frozen=True)
class Usage:
    """Per-sandbox timestamps and outcomes of one platform run."""

    platform_id: str
    horizon_s: float
    workload_names: tuple[str, ...]
    workload_index: npt.NDArray[np.int32]
    request_s: FloatArray
    admit_s: FloatArray
    """When the sandbox took a quota slot (NaN if rejected)."""
    launch_start_s: FloatArray
    """When its launch began, after any launch-rate wait."""
    ready_s: FloatArray
    """When it was ready to run the task."""
    end_s: FloatArray
    """When it stopped (task done or lifetime reached)."""
    launch_mode: npt.NDArray[np.int8]
    """Launch mode code per sandbox (see ``MODES``)."""
    outcome: npt.NDArray[np.int8]
    """Outcome code per sandbox (see ``OUTCOMES``)."""
    engine_path: Literal["vector", "event"]
    """Which evaluation produced the table: the event engine, or the exact vector form
    used when no quota binds."""
    track_index: npt.NDArray[np.int64] | None = None
    """Session track of each row (-1 for one-shot requests); None when there are no sessions."""
    session_index: npt.NDArray[np.int64] | None = None
    """Session of each row (-1 for one-shot requests); None when there are no sessions."""
    call_index: npt.NDArray[np.int32] | None = None
    """Position of each row within its track; None when there are no sessions."""
    host_wait_s: FloatArray | None = None
    """Launch pipeline: time waiting for a host's launch slot and creation token."""
    fetch_s: FloatArray | None = None
    """Launch pipeline: time waiting for the image or snapshot to arrive on the host."""
    cache_miss: npt.NDArray[np.bool_] | None = None
    """Launch pipeline: the host did not have the artifact."""
    fetches: int = 0
    """Launch pipeline: fetches made (launches waiting on the same fetch count once)."""
    fetched_gib: float = 0.0
    """Launch pipeline: GiB fetched."""
    token_s: FloatArray | None = None
    """When the launch rate limit let each request through (None: no rate limit)."""
    part_offset_s: dict[str, FloatArray] | None = None
    """When each launch part began, from the launch start, by part name (NaN where a
    sandbox's launch did not include the part); lets billing start at a named part."""
    left_queue_s: FloatArray | None = None
    """When abandoned requests left the queue (NaN for the others; None: no queue timeout)."""
    pool_idle: PoolIdle | None = None
    """Idle time of warm pools (None: no pools)."""
    bill_from_launch: npt.NDArray[np.bool_] | None = None
    """Rows billed from their launch start whatever the platform bills from: warm hits on
    a pooled sandbox whose idle time was billed up to the handover, so that its bill runs
    on without a gap (None: no such rows)."""
    cut_s: FloatArray | None = None
    """Run time the lifetime cap cut from each sandbox's task (0 where none; None: not
    recorded)."""
    fleet: Any = None
    """A self-hosted fleet's record (``engine.fleet.FleetRecord``); None when managed."""

    @property
    def size(self) -> int:
        """Number of requests."""
        return int(self.request_s.size)

    @property
    def launched(self) -> npt.NDArray[np.bool_]:
        """Mask of sandboxes that were admitted (not rejected, not abandoned)."""
        return (self.outcome != REJECTED) & (self.outcome != ABANDONED)

    @property
    def quota_arrival_s(self) -> FloatArray:
        """When each request reached the quota: after its launch token, if rate limited."""
        return self.token_s if self.token_s is not None else self.request_s

    def column(self, name: str) -> FloatArray:
        """A time column by lifecycle name, or ``part:<name>`` for when that launch part
        began (from ready where the sandbox's launch did not include the part)."""
        if name.startswith("part:"):
            part = name.removeprefix("part:")
            offsets = (self.part_offset_s or {}).get(part)
            if offsets is None:
                return self.ready_s
            return np.where(np.isnan(offsets), self.ready_s, self.launch_start_s + offsets)
        return {
            "request": self.request_s,
            "admission": self.admit_s,
            "launch_start": self.launch_start_s,
            "ready": self.ready_s,
            "end": self.end_s,
        }[name]

    def count(self, outcome: int) -> int:
        """How many sandboxes had an outcome."""
        return int(np.count_nonzero(self.outcome == outcome))
