"""A fleet's fixed inventory: hosts that are there for the whole horizon, of several types.

Either groups of host types from the fleet's price table ("40 x m5.metal, 8 x
p4d.24xlarge"), or one host per row of a CSV file such as a real cluster's node list
(the Alibaba GPU cluster's ``openb_node_list_all_node.csv``), its columns mapped to
vCPU, memory, GPUs and GPU type, and optionally a price per hour.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
from pydantic import Field, PrivateAttr, ValidationInfo, model_validator

from .arrivals import TraceColumn
from .distributions import FloatArray
from .model_base import Count, FrozenModel, resolve_data_path

MAX_HOST_VCPU = 4096
"""More vCPU than this on one host is a unit mistake, as in millicores read as cores
(an assumed bound, several times the largest machines listed: Azure Large Instances'
S224Se has 448 CPU threads, per its SDK's size list)."""
MAX_HOST_GIB = 65536
"""Likewise for memory, 64 TiB (EC2's high-memory u-24tb1 has 24 TiB, per the AWS CDK
change that added it)."""
MAX_HOST_GPUS = 64
"""Likewise for GPUs, four times the largest machines listed (GCE's a2-megagpu-16g has
16 A100s): a host holds one GPU object per GPU, so a count read from the wrong column (a
thousand for gpu_milli) or a billion took minutes to build or never finished."""
MAX_FLEET_HOSTS = 100_000
"""The most hosts a fleet may have: an inventory's hosts, an autoscaled fleet's
min_hosts and max_hosts (a fleet that size takes seconds to start; one a thousand
times larger, hours)."""


class InventoryGroup(FrozenModel):
    """Hosts of one type from the fleet's host price table."""

    host_type: str
    """The host type, e.g. "m5.metal"."""
    count: Count = Field(ge=1, le=MAX_FLEET_HOSTS)
    """How many of them."""


class InventoryFile(FrozenModel):
    """Hosts listed one per row of a CSV file, e.g. a cluster's node list."""

    path: str
    """The CSV file, relative to the scenario file."""
    vcpu: TraceColumn
    """vCPU per host, e.g. {column: cpu_milli, scale: 0.001}."""
    memory: TraceColumn
    """Memory per host in GiB after scaling, e.g. {column: memory_mib, scale: 0.0009765625}."""
    gpus: TraceColumn | None = None
    """GPUs per host (none when omitted)."""
    gpu_type_column: str | None = None
    """Column naming the GPU type of hosts with GPUs (e.g. "model")."""
    usd_per_hour_column: str | None = None
    """Column of each host's price per hour; without it the hosts are unpriced (their
    cost shows as zero, with a warning)."""
    _rows: list[tuple[float, float, int, str | None, float]] = PrivateAttr(default_factory=list)
    _digest: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _load(self, info: ValidationInfo) -> InventoryFile:
        resolved = resolve_data_path(self.path, info)
        if resolved.is_dir():
            raise ValueError(f"{resolved} is a folder; point path at the inventory CSV file")
        if not resolved.is_file():
            raise ValueError(
                f"cannot find the inventory file {resolved}; the path is relative to the scenario"
            )
        try:
            frame = pd.read_csv(resolved)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise ValueError(
                f"{resolved} is not a readable CSV ({error}); write a header row and a row per host"
            ) from None
        if frame.empty:
            raise ValueError(f"{resolved} lists no hosts")
        if len(frame) > MAX_FLEET_HOSTS:
            raise ValueError(f"{resolved} lists {len(frame):,} hosts; at most {MAX_FLEET_HOSTS:,}")
        columns = [self.vcpu.column, self.memory.column, self.gpu_type_column]
        columns += [self.gpus.column if self.gpus else None, self.usd_per_hour_column]
        for column in columns:
            if column is not None and column not in frame.columns:
                raise ValueError(
                    f"{resolved} has no column {column!r}; its columns are {list(frame.columns)}"
                )

        def numbers(spec: TraceColumn | None, what: str) -> FloatArray:
            if spec is None:
                return np.zeros(len(frame))
            values = pd.to_numeric(frame[spec.column], errors="coerce").to_numpy(np.float64)
            bad = ~np.isfinite(values) | (values < 0)
            if bad.any():
                line = int(np.flatnonzero(bad)[0]) + 2  # the header is line 1
                raise ValueError(
                    f"{resolved} line {line}: {what} ({spec.column!r}) must be a non-negative number"
                )
            return values * spec.scale

        vcpu = numbers(self.vcpu, "vCPU")
        memory = numbers(self.memory, "memory")
        gpus = numbers(self.gpus, "GPUs")
        for values, what, largest, column in (
            (vcpu, "vCPU", MAX_HOST_VCPU, self.vcpu.column),
            (memory, "GiB of memory", MAX_HOST_GIB, self.memory.column),
            (gpus, "GPUs", MAX_HOST_GPUS, self.gpus.column if self.gpus else ""),
        ):
            if (values > largest).any():
                line = int(np.flatnonzero(values > largest)[0]) + 2
                raise ValueError(
                    f"{resolved} line {line}: {values[line - 2]:,.4g} {what} on one host, more "
                    f"than any machine has ({largest:,}); give {column!r} its scale (e.g. "
                    "0.001 for millicores, 1/1024 for MiB)"
                )
        empty = (vcpu <= 0) | (memory <= 0)
        if empty.any():
            line = int(np.flatnonzero(empty)[0]) + 2
            raise ValueError(f"{resolved} line {line}: a host needs some vCPU and memory")
        if (gpus != np.round(gpus)).any():
            line = int(np.flatnonzero(gpus != np.round(gpus))[0]) + 2
            raise ValueError(f"{resolved} line {line}: GPUs must be a whole number")
        prices = (
            numbers(TraceColumn(column=self.usd_per_hour_column), "price per hour")
            if self.usd_per_hour_column
            else np.full(len(frame), math.nan)
        )
        types: list[str | None] = [None] * len(frame)
        if self.gpu_type_column is not None:
            types = [
                None if pd.isna(value) or str(value).strip() == "" else str(value).strip()
                for value in frame[self.gpu_type_column]
            ]
        for row, (count, gpu_type) in enumerate(zip(gpus, types, strict=True)):
            if count > 0 and gpu_type is None and self.gpu_type_column is not None:
                raise ValueError(
                    f"{resolved} line {row + 2}: a host with GPUs needs its GPU type "
                    f"in {self.gpu_type_column!r}"
                )
        self._rows = [
            (float(v), float(m), int(g), t if g > 0 else None, float(p))
            for v, m, g, t, p in zip(vcpu, memory, gpus, types, prices, strict=True)
        ]
        self._digest = hashlib.sha256(resolved.read_bytes()).hexdigest()
        return self

    @property
    def rows(self) -> list[tuple[float, float, int, str | None, float]]:
        """Per host: vCPU, GiB, GPUs, GPU type (None without GPUs), USD per hour (NaN:
        unpriced)."""
        return self._rows

    @property
    def digest(self) -> str:
        """SHA-256 of the file."""
        return self._digest


class Inventory(FrozenModel):
    """A fixed set of hosts, all running for the whole horizon: no autoscaling."""

    groups: list[InventoryGroup] = Field(default_factory=list)
    """Host types from the fleet's price table and how many of each."""
    file: InventoryFile | None = None
    """Or: hosts read from a CSV file, one per row."""

    @model_validator(mode="after")
    def _one_source(self) -> Inventory:
        if bool(self.groups) == (self.file is not None):
            raise ValueError("give the inventory as groups or as a file (one of them)")
        if sum(g.count for g in self.groups) > MAX_FLEET_HOSTS:
            raise ValueError(f"an inventory may hold at most {MAX_FLEET_HOSTS:,} hosts")
        return self
