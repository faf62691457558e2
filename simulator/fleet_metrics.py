"""What a self-hosted fleet did, from its record: hosts, utilisation, stranded room,
packing efficiency, interruptions. Time-weighted figures are exact integrals over the
horizon."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .distributions import FloatArray
from .engine.fleet import FleetRecord, LostHolds

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
    """Free room no shape the platform ran fits in, as a share of what hosts offer."""
    stranded_while_waiting: dict[str, float | None]
    """Free room no waiting sandbox fits in while sandboxes waited for capacity (GPUs:
    no waiting sandbox with GPUs), as a share of what hosts offer over the horizon."""
    packing_efficiency: float | None
    """Hosts the volume lower bound needs over hosts running, time-weighted (1 is ideal)."""
    boots: int
    """Hosts booted within the horizon (beyond those there from the start)."""
    interruptions: int
    """Spot hosts taken back within the horizon."""
    lost_sandboxes: int
    """Losses of sandboxes with spot hosts: restarts plus those given up."""
    given_up_sandboxes: int = 0
    """Lost sandboxes given up after too many spot interruptions (not served); each one's
    last loss is among ``lost_sandboxes``."""
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
        stranded_while_waiting=ratio(record.stranded_while_waiting_integral),
        packing_efficiency=record.lower_bound_integral / host_time if host_time > 0 else None,
        boots=record.boots,
        interruptions=record.interruptions,
        lost_sandboxes=record.lost_sandboxes,
        given_up_sandboxes=record.dropped_sandboxes,
        gpu_hours=record.gpu_seconds / 3600.0,
    )


def hosts_over_time(record: FleetRecord) -> pd.DataFrame:
    """Hosts alive (booting or running) over the horizon, by how they were bought
    (``hosts_<purchase>``) and by type (``type_<host type>``), at every change: a step
    function. Hosts started after the horizon are left out, and those alive at its end
    stay in the last row (a life past it is not kept as it was: ``FleetEngine.record``)."""
    horizon = record.span_s
    purchases = sorted(
        {p for p, s in zip(record.purchase, record.started_s, strict=True) if s < horizon}
    )
    if record.kind_names and record.kind_of.size:
        type_of = [record.kind_names[k] for k in record.kind_of.tolist()]
    else:  # (a record made without its kinds: one type, unnamed)
        type_of = ["host"] * len(record.purchase)
    types = sorted({t for t, s in zip(type_of, record.started_s, strict=True) if s < horizon})
    events: list[tuple[float, int, str, str]] = []
    for start, end, purchase, kind in zip(
        record.started_s.tolist(), record.ended_s.tolist(), record.purchase, type_of, strict=True
    ):
        if start >= horizon:
            continue
        events.append((start, 1, purchase, kind))
        if end < horizon:
            events.append((end, -1, purchase, kind))
    events.sort(key=lambda event: (event[0], event[1]))
    alive = dict.fromkeys(purchases, 0)
    alive_by_type = dict.fromkeys(types, 0)
    rows: list[dict[str, float]] = []
    for time_s, change, purchase, kind in events:
        alive[purchase] += change
        alive_by_type[kind] += change
        row = {
            "time_s": time_s,
            **{f"hosts_{k}": alive[k] for k in purchases},
            **{f"type_{k}": alive_by_type[k] for k in types},
        }
        if rows and rows[-1]["time_s"] == time_s:
            rows[-1] = row
        else:
            rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["hosts"] = frame[[f"hosts_{k}" for k in purchases]].sum(axis=1)
    return frame


def capacity_waits(
    request_s: FloatArray, admit_s: FloatArray, lost: LostHolds
) -> tuple[FloatArray, FloatArray]:
    """Start and end of every wait for room on a fleet's hosts, when sandboxes were lost
    with spot hosts and queued again: from its request to its first placement, then from
    each loss to the next placement (to its last placement, if it ran in the end). A
    wait from request to last placement would count the runs lost in between."""
    order = np.lexsort((lost.start_s, lost.activation))
    activation, start, end = lost.activation[order], lost.start_s[order], lost.end_s[order]
    first = np.ones(activation.size, dtype=bool)
    first[1:] = activation[1:] != activation[:-1]
    # before each lost hold: from the request (its first) or the loss before it
    before_from = np.where(first, request_s[activation], np.roll(end, 1))
    last = np.ones(activation.size, dtype=bool)
    last[:-1] = activation[1:] != activation[:-1]
    queued_from = request_s.copy()
    queued_from[activation[last]] = end[last]  # the last wait: from the last loss
    placed = ~np.isnan(admit_s)
    return (
        np.concatenate([before_from, queued_from[placed]]),
        np.concatenate([start, admit_s[placed]]),
    )
