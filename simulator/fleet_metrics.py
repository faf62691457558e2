"""What a self-hosted fleet did, from its record: hosts, utilisation, stranded room,
packing efficiency, interruptions. Time-weighted figures are exact integrals over the
horizon."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .engine.fleet import FleetRecord

RESOURCES = ("vcpu", "memory", "gpu")


@dataclass(frozen=True)
class FleetMetrics:
    """One replication's fleet figures."""

    record: FleetRecord
    """The fleet's record without the per-sandbox placements (kept small)."""
    mean_hosts: float
    """Time-weighted mean of running hosts over the horizon."""
    peak_hosts: int
    host_hours: float
    """Hours of host life within the horizon (booting and running, idle or busy), plus the
    host-hours the work after the horizon is worth; before billing rounding."""
    host_hours_by_purchase: dict[str, float]
    utilisation: dict[str, float | None]
    """Allocated over offered, time-weighted, per resource (None: the hosts have none)."""
    stranded: dict[str, float | None]
    """Free room no sandbox of the platform fits in, as a share of what hosts offer."""
    packing_efficiency: float | None
    """Hosts the volume lower bound needs over hosts running, time-weighted (1 is ideal)."""
    boots: int
    """Hosts started during the run (beyond those there from the start)."""
    interruptions: int
    lost_sandboxes: int
    given_up_sandboxes: int = 0
    """Lost sandboxes given up after too many spot interruptions (not served)."""
    gpu_hours: float = 0.0
    """GPUs held times run time (ready to end) of the sandboxes, in hours."""


def fleet_metrics(record: FleetRecord) -> FleetMetrics:
    """Figures of one fleet run."""
    within = np.maximum(record.billed_ends() - record.started_s, 0.0)
    life_h = (within + record.tail_seconds()) / 3600.0
    by_purchase: dict[str, float] = {}
    for purchase, hours in zip(record.purchase, life_h, strict=True):
        by_purchase[purchase] = by_purchase.get(purchase, 0.0) + float(hours)

    def ratio(numerator: np.ndarray) -> dict[str, float | None]:
        return {
            name: float(numerator[i] / record.capacity_integral[i])
            if record.capacity_integral[i] > 0
            else None
            for i, name in enumerate(RESOURCES)
        }

    host_time = record.mean_hosts * record.span_s
    return FleetMetrics(
        record=replace(record, host_of=np.empty(0, dtype=np.int64), class_of=None),
        mean_hosts=record.mean_hosts,
        peak_hosts=record.peak_hosts,
        host_hours=float(life_h.sum()),
        host_hours_by_purchase=dict(sorted(by_purchase.items())),
        utilisation=ratio(record.allocated_integral),
        stranded=ratio(record.stranded_integral),
        packing_efficiency=record.lower_bound_integral / host_time if host_time > 0 else None,
        boots=int(np.count_nonzero(record.started_s > 0)),
        interruptions=record.interruptions,
        lost_sandboxes=record.lost_sandboxes,
        given_up_sandboxes=record.dropped_sandboxes,
        gpu_hours=record.gpu_seconds / 3600.0,
    )


def hosts_over_time(record: FleetRecord) -> pd.DataFrame:
    """Hosts alive (booting or running) by purchase, at every change: a step function."""
    events = [(float(s), p, 1) for s, p in zip(record.started_s, record.purchase, strict=True)]
    events += [(float(e), p, -1) for e, p in zip(record.ended_s, record.purchase, strict=True)]
    events.sort(key=lambda event: (event[0], event[2]))
    kinds = sorted(set(record.purchase))
    alive = dict.fromkeys(kinds, 0)
    rows: list[dict[str, float]] = []
    for time_s, purchase, change in events:
        alive[purchase] += change
        row = {"time_s": time_s, **{f"hosts_{k}": alive[k] for k in kinds}}
        if rows and rows[-1]["time_s"] == time_s:
            rows[-1] = row
        else:
            rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["hosts"] = frame[[f"hosts_{k}" for k in kinds]].sum(axis=1)
    return frame
