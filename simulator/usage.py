"""What the engine measured for one platform in one replication, as columns.

One row per requested sandbox: request, admission, launch start, ready and end times
(NaN where a rejected sandbox never reached that step), launch mode and outcome.
Billing and metrics are pure functions of this table; neither re-runs the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from .distributions import FloatArray

COMPLETED, TIMED_OUT, REJECTED = 0, 1, 2
OUTCOMES: tuple[str, ...] = ("completed", "timed_out", "rejected")
MODE_CODES: dict[str, int] = {"cold": 0, "snapshot": 1, "warm": 2, "resume": 3}
MODES: tuple[str, ...] = ("cold", "snapshot", "warm", "resume")
TimeColumn = Literal["request", "admission", "launch_start", "ready", "end"]


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

    @property
    def size(self) -> int:
        """Number of requests."""
        return int(self.request_s.size)

    @property
    def launched(self) -> npt.NDArray[np.bool_]:
        """Mask of sandboxes that were not rejected."""
        return self.outcome != REJECTED

    def column(self, name: TimeColumn) -> FloatArray:
        """A time column by lifecycle name."""
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
