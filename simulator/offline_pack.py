"""Pack a list of sandbox shapes onto hosts of one type, offline: how many hosts, how far
from the lower bound (and from the optimum, with the exact extra), how full each host is,
and what the hosts cost. Serves `sandsim pack SHAPES.csv --host TYPE` and the notebook API.

The shapes file is a CSV with a header: ``vcpu`` and ``memory`` (GiB, or with a unit such
as "512MiB"), optionally ``gpus`` (whole GPUs, or a fraction for a share of one),
``count`` (how many sandboxes of the row; default 1) and ``name``; no other column. A
table given instead is checked the same way (it may also have ``memory_gib`` and
``line``, as ``read_shapes`` returns them).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .catalog import Catalog, load_catalog
from .errors import InputError
from .fleets import GpuKind, check_gpu_isolation
from .gpus import MIN_GPU_SHARE, GpuNeed, HostGpus
from .hosts import HostType
from .packing import EXACT_MAX_CELLS, ExactStatus, Packing, exact, exact_cells, lower_bound, pack
from .platforms import PlatformProfile
from .scenario import MAX_OVERCOMMIT
from .units import HOUR_S, MONTH_S, parse_size_gib

PACK_METHODS = ("portfolio", "ffd", "bfd", "bin_centric")


@dataclass(frozen=True)
class PackReport:
    """An offline packing of shapes on one host type."""

    host_type: str
    host_prices: str
    capacity: tuple[float, float, float]
    """vCPU, GiB and GPUs a host offers (after overcommit and reserve)."""
    method: str
    sandboxes: int
    hosts: int
    lower_bound: int
    optimum: int | None
    """The exact solver's packing's hosts (None: not asked, or no packing found)."""
    proven_optimal: bool
    exact_status: ExactStatus | None
    """What the exact solver ended with (``packing.ExactResult.status``; None: not asked)."""
    exact_bound: int | None
    """Hosts no packing can do with fewer of, as the exact solver proved (None: not asked)."""
    utilisation: dict[str, float | None]
    """Allocated over offered, per resource, over the hosts used."""
    per_host: pd.DataFrame
    """One row per host: sandboxes, vcpu, memory_gib, gpus, and their shares."""
    assignment: pd.DataFrame
    """One row per sandbox: its shape row, name and host."""
    usd_per_hour: float
    """The hosts at the on-demand price."""

    @property
    def gap_to_bound(self) -> int:
        """Hosts above the volume lower bound."""
        return self.hosts - self.lower_bound

    def summary(self) -> dict[str, Any]:
        """The report as plain data (for JSON)."""
        return {
            "host_type": self.host_type,
            "host_prices": self.host_prices,
            "capacity_per_host": dict(
                zip(("vcpu", "memory_gib", "gpus"), self.capacity, strict=True)
            ),
            "method": self.method,
            "sandboxes": self.sandboxes,
            "hosts": self.hosts,
            "lower_bound": self.lower_bound,
            "gap_to_bound": self.gap_to_bound,
            "optimum": self.optimum,
            "proven_optimal": self.proven_optimal,
            "exact_status": self.exact_status,
            "exact_bound": self.exact_bound,
            "utilisation": self.utilisation,
            "usd_per_hour": self.usd_per_hour,
            "usd_per_month": self.usd_per_hour * MONTH_S / HOUR_S,
        }


MAX_SANDBOXES = 1_000_000
"""Sandboxes a shapes file may expand to. A million of two shapes, measured on this
project's 2-core machine: the default portfolio (past 100,000 sandboxes first- and
best-fit decreasing by size, with bin elimination) in 124 s and 410 MB (a review's run
took 204 s), first-fit decreasing alone (``--method ffd``) in 28 s and 340 MB; beyond,
time and memory grow for no new insight."""


SHAPE_COLUMNS = ("vcpu", "memory", "gpus", "count", "name")
"""The columns of a shapes file; vcpu and memory are required."""
TABLE_COLUMNS = ("memory_gib", "line")
"""Columns a table may also have, as ``read_shapes`` returns them: memory_gib (GiB, a
number; instead of memory) and line (names the row in messages; a file's rows are named
by their own lines)."""
_COLUMN_FIXES = {
    "gpu": "rename it gpus (whole GPUs, or a share of one below 1)",
    "mig": "drop it: sandsim pack packs whole GPUs and time-sliced shares (gpus); MIG "
    "instances are placed by a scenario's fleet (docs/packing.md)",
    "gpu_type": "drop it: the GPU type is the host's (--host)",
}


def read_shapes(path: str | Path) -> pd.DataFrame:
    """Shapes from a CSV, one row per sandbox (``count`` expanded), checked row by row."""
    source = str(path)
    try:
        # the header is read as a row, so that a repeated column is seen (pandas would
        # rename it) and a row longer than the header is refused (pandas would make its
        # first cell an index); empty cells and NA (R's missing value) are missing; "nan"
        # is a value, refused as not finite
        raw = pd.read_csv(
            path,
            header=None,
            dtype=str,
            skipinitialspace=True,
            keep_default_na=False,
            na_values=["", "NA", "N/A"],
        )
    except FileNotFoundError:
        raise InputError("shapes file not found", source=source, fix="check the path") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(
            f"not a readable CSV: {str(error).strip()}",
            source=source,
            fix="write a CSV with a header row: vcpu,memory[,gpus,count,name]",
        ) from None
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = ["" if pd.isna(c) else str(c) for c in raw.iloc[0]]
    return _shapes(frame, source, from_file=True)


def shapes_from_frame(frame: pd.DataFrame, source: str = "shapes") -> pd.DataFrame:
    """Shapes given as a table with the CSV's columns (vcpu, memory with or without a
    unit, optional gpus, count, name), or as ``read_shapes`` returns them (memory_gib,
    line): one row per sandbox, checked row by row as a file's are."""
    return _shapes(frame, source, from_file=False)


def _shapes(frame: pd.DataFrame, source: str, from_file: bool) -> pd.DataFrame:
    """The checks of every table of shapes, from a file or not, and the expansion."""
    frame = frame.copy()
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    _check_columns(list(frame.columns), source, from_file)
    memory_column = "memory" if "memory" in frame.columns else "memory_gib"
    if frame.empty:
        raise InputError("no shapes in the file", source=source, fix="add at least one row")
    rows = []
    total = 0
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in frame.to_dict("records")
    ]
    for place, row in enumerate(records, start=2):
        line = _line(row.get("line"), place, source)
        where = f"line {line}"

        vcpu = _cell(row, "vcpu", None, source, where)
        memory = _cell(row, memory_column, None, source, where)
        gpus = _cell(row, "gpus", 0.0, source, where)
        count = _cell(row, "count", 1.0, source, where)
        if vcpu <= 0 or memory <= 0:
            raise InputError(
                "a sandbox needs some vCPU and memory",
                source=source,
                field=f"{where}.{'vcpu' if vcpu <= 0 else memory_column}",
                fix="give a positive size",
            )
        if count != int(count) or count < 1:
            raise InputError(
                f"count must be a whole number of at least 1, not {count:g}",
                source=source,
                field=f"{where}.count",
                fix="write 1, 2, 3 ...",
            )
        if 0 < gpus < MIN_GPU_SHARE:
            raise InputError(
                f"gpus {gpus:g}: a share of a GPU must be at least {MIN_GPU_SHARE:g}",
                source=source,
                field=f"{where}.gpus",
                fix=f"write a share of at least {MIN_GPU_SHARE:g} (or 0 for no GPU)",
            )
        if gpus > 1 and gpus != int(gpus):
            raise InputError(
                f"gpus {gpus:g}: a share must be below 1, or ask for whole GPUs",
                source=source,
                field=f"{where}.gpus",
                fix="write a whole count such as 2, or a share such as 0.25",
            )
        total += int(count)
        if total > MAX_SANDBOXES:
            raise InputError(
                f"more than {MAX_SANDBOXES:,} sandboxes in all by line {line}",
                source=source,
                field=f"{where}.count",
                fix="pack a sample (the hosts needed scale with the count), or split the file",
            )
        given = row.get("name")  # (an empty cell reads as NaN, which is truthy)
        name = given.strip() if isinstance(given, str) and given.strip() else f"row{line}"
        rows += [(line, name, vcpu, memory, gpus)] * int(count)
    return pd.DataFrame(rows, columns=["line", "name", "vcpu", "memory_gib", "gpus"])


def _check_columns(columns: list[str], source: str, from_file: bool) -> None:
    """Refuse a repeated, missing (vcpu, memory) or unknown column, by name."""
    accepted = SHAPE_COLUMNS if from_file else SHAPE_COLUMNS + TABLE_COLUMNS
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise InputError(
            f"column {repeated[0]!r} is given {columns.count(repeated[0])} times",
            source=source,
            field=repeated[0],
            fix=f"keep one {repeated[0]} column (column names ignore case and spaces)",
        )
    unknown = [c for c in columns if c not in accepted]
    fixes = {c: _column_fix(c, accepted) for c in unknown}
    for column in ("vcpu", "memory"):
        if column not in columns and not (column == "memory" and "memory_gib" in columns):
            hints = [f for f in fixes.values() if f.endswith(f" {column}") or "commas" in f]
            raise InputError(
                f"no {column!r} column (columns: {', '.join(columns)})",
                source=source,
                field=column,
                fix=hints[0].replace("rename it", f"rename {unknown[0]} to")
                if len(unknown) == 1 and hints
                else "add columns vcpu and memory (GiB, or with a unit such as 512MiB)",
            )
    if unknown:
        raise InputError(
            f"unknown column {unknown[0]!r} (a shapes {'file' if from_file else 'table'} "
            f"has the columns {', '.join(accepted)})",
            source=source,
            field=unknown[0],
            fix=fixes[unknown[0]],
        )
    if "memory" in columns and "memory_gib" in columns:
        raise InputError(
            "both memory and memory_gib are given",
            source=source,
            field="memory_gib",
            fix="keep one of them",
        )


def _column_fix(column: str, accepted: tuple[str, ...]) -> str:
    """What to do about an unknown column."""
    if any(mark in column for mark in ";\t|"):
        return "separate the columns with commas"
    if column in _COLUMN_FIXES:
        return _COLUMN_FIXES[column]
    near = difflib.get_close_matches(column, accepted, n=1)
    return f"rename it {near[0]}" if near else "drop it, or rename it to one of those"


def _line(given: Any, place: int, source: str) -> int:
    """The line that names a row: its own column's (a table as read_shapes returns it),
    else its place counted as a file's lines are (the header is line 1)."""
    if given is None or (isinstance(given, float) and math.isnan(given)):
        return place
    try:
        line = float(given)
    except (TypeError, ValueError):
        line = math.nan
    if isinstance(given, bool) or not (math.isfinite(line) and line == int(line) and line >= 1):
        raise InputError(
            f"line {given!r} is not a line number",
            source=source,
            field=f"row {place - 2}.line",
            fix="give each row's line as a whole number from 1, or drop the line column",
        )
    return int(line)


def _cell(
    row: dict[str, Any], column: str, default: float | None, source: str, where: str
) -> float:
    """One number of a shapes row (memory may carry a unit), or a clear error."""
    raw = row.get(column)
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or str(raw).strip() == "":
        if default is None:
            raise InputError(
                f"{column} is empty", source=source, field=f"{where}.{column}", fix="give a number"
            )
        return default
    try:
        value = _number(raw, column == "memory")
    except (ValueError, TypeError):
        raise InputError(
            f"{column} {raw!r} is not a number",
            source=source,
            field=f"{where}.{column}",
            fix="write a plain decimal number such as 2, 0.5 or 1e3 (no _ or 0x)"
            + (", or a size such as 4GiB" if column == "memory" else ""),
        ) from None
    if not math.isfinite(value) or value < 0:
        raise InputError(
            f"{column} must be a finite, non-negative number, not {raw!r}",
            source=source,
            field=f"{where}.{column}",
            fix={
                "vcpu": "write a number above 0",
                "memory": "write a size above 0",
                "memory_gib": "write a number above 0",
            }.get(column, "write a number of 0 or more" if column == "gpus" else "write 1 or more"),
        )
    return value


_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_NOT_FINITE = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)


def _number(raw: Any, size: bool) -> float:
    """A cell as a number: a table's number, or text written as a plain decimal number
    (a sign, digits, a point, an exponent; nan and inf are read, to be refused as not
    finite); with ``size``, also a size with a unit. Python's float reads "1_000" as
    1000, which spreadsheets and pandas read as text: it is refused, in every column
    alike (the memory column always did)."""
    if isinstance(raw, bool | np.bool_):
        raise ValueError("a boolean is not a number")
    if not isinstance(raw, str):
        return float(raw)
    text = raw.strip()
    if _DECIMAL.fullmatch(text) or _NOT_FINITE.fullmatch(text):
        return float(text)
    if size:
        sign = -1.0 if text.startswith("-") else 1.0  # (parse_size_gib takes no sign)
        return sign * parse_size_gib(text.lstrip("+-"))
    raise ValueError(f"not a number: {raw!r}")


def pack_shapes(
    shapes: str | Path | pd.DataFrame,
    host_type: str,
    *,
    host_prices: str | None = None,
    method: str = "portfolio",
    overcommit_vcpu: float = 1.0,
    reserve_vcpu: float = 0.0,
    reserve_memory_gib: float = 0.0,
    overhead_memory_gib: float = 0.0,
    exact_time_limit_s: float | None = None,
    catalog: Catalog | None = None,
    profile: str | None = None,
) -> PackReport:
    """Pack shapes (a CSV path, a table with the CSV's columns, or a frame as
    ``read_shapes`` returns) on ``host_type``; with ``profile`` (a self-hosted isolation
    such as firecracker), its per-sandbox overhead is added to each shape (on top of
    ``overhead_memory_gib``) and its GPU rules apply, as in the engine."""
    if isinstance(shapes, pd.DataFrame):
        source = "shapes"
        frame = shapes_from_frame(shapes, source)
    else:
        source = str(shapes)
        frame = read_shapes(shapes)
    catalog = catalog or load_catalog()
    isolation = _isolation(catalog, profile)
    table_id, host = _find_host(catalog, host_type, host_prices)
    if method not in PACK_METHODS:
        raise InputError(
            f"unknown packing method {method!r}",
            source="--method",
            fix=f"use one of {', '.join(PACK_METHODS)}",
        )
    if not 1 <= overcommit_vcpu <= MAX_OVERCOMMIT:  # (NaN fails both)
        raise InputError(
            f"overcommit ratio {overcommit_vcpu:g}: below 1 wastes the host, and above "
            f"{MAX_OVERCOMMIT:g} no sandbox would get a share of a vCPU worth having",
            source="--overcommit-vcpu",
            fix=f"use a ratio from 1 to {MAX_OVERCOMMIT:g}, e.g. 2",
        )
    for option, reserve in (
        ("--reserve-vcpu", reserve_vcpu),
        ("--reserve-memory", reserve_memory_gib),
    ):
        if not (math.isfinite(reserve) and reserve >= 0):
            raise InputError(
                f"reserve {reserve:g}: must be a finite amount of 0 or more",
                source=option,
                fix="give what each host keeps for its system, e.g. 2 (vCPU) or 8GiB",
            )
    if exact_time_limit_s is not None and not (
        math.isfinite(exact_time_limit_s) and exact_time_limit_s > 0
    ):
        raise InputError(
            f"time limit {exact_time_limit_s:g} s: must be a finite number of seconds above 0",
            source="--exact",
            fix="give the seconds the exact solver may take, e.g. 60",
        )
    capacity = (  # the reserve is of the host's own vCPU; overcommit multiplies the rest
        (host.vcpu - reserve_vcpu) * overcommit_vcpu,
        host.memory - reserve_memory_gib,
        float(host.gpus),
    )
    if capacity[0] <= 0 or capacity[1] <= 0:
        raise InputError(
            f"the reserve leaves no room on a {host_type}",
            source="--reserve-vcpu" if capacity[0] <= 0 else "--reserve-memory",
            fix=f"reserve less than its {host.vcpu:g} vCPU and {host.memory:g} GiB",
        )
    overhead = (0.0, overhead_memory_gib)
    if isolation is not None:
        _check_isolation_gpus(frame, isolation, catalog, source)
        if isolation.overhead is not None:
            overhead = (isolation.overhead.vcpu, overhead[1] + isolation.overhead.memory)
    demands = np.column_stack(
        [frame["vcpu"] + overhead[0], frame["memory_gib"] + overhead[1], frame["gpus"]]
    ).astype(np.float64)
    uses_gpu = bool(demands[:, 2].any())
    if uses_gpu and host.gpus == 0:
        raise InputError(
            f"some shapes ask for GPUs but a {host_type} has none",
            source="--host",
            fix="choose a GPU host type (see `sandsim pricing hosts`)",
        )
    dims = 3 if uses_gpu else 2
    cap = np.array(capacity[:dims])
    too_big = np.flatnonzero((demands[:, :dims] > cap + 1e-9).any(1))
    if too_big.size:
        item = int(too_big[0])
        _refuse_too_large(
            frame.iloc[item],
            demands[item],
            overhead,
            "the per-sandbox" if isolation is None else f"the {isolation.id}",
            host_type,
            host,
            (reserve_vcpu, reserve_memory_gib, overcommit_vcpu),
            source,
        )
    shares = bool(((demands[:, 2] > 0) & (demands[:, 2] < 1)).any())
    bound = lower_bound(demands[:, :dims], cap)
    if exact_time_limit_s is not None:
        if shares:  # a time-sliced share lives on one GPU: GPUs are not one divisible resource
            raise InputError(
                "the exact solver treats a host's GPUs as one divisible resource, which "
                "shares of a GPU (gpus below 1) are not",
                source="--exact",
                fix="leave out --exact for shapes with GPU shares",
            )
        _check_exact_size(demands[:, :dims], bound)  # refused before packing if it must be
    if shares:
        result = pack_per_gpu(demands, np.array(capacity), host.gpus, method)
    else:
        result = pack(demands[:, :dims], cap, method)
    result.check(demands[:, :dims], cap)
    solved = None
    if exact_time_limit_s is not None:
        if result.hosts > bound:
            _check_exact_size(demands[:, :dims], result.hosts)
        solved = exact(demands[:, :dims], cap, exact_time_limit_s, start=result)
    host_of = np.empty(len(frame), dtype=np.int64)
    for index, members in enumerate(result.bins):
        host_of[list(members)] = index
    loads = result.loads(demands)
    per_host = pd.DataFrame(
        {
            "host": np.arange(result.hosts),
            "sandboxes": [len(b) for b in result.bins],
            "vcpu": loads[:, 0],
            "memory_gib": loads[:, 1],
            "gpus": loads[:, 2],
            "vcpu_share": loads[:, 0] / capacity[0],
            "memory_share": loads[:, 1] / capacity[1],
            "gpu_share": loads[:, 2] / capacity[2] if capacity[2] else np.nan,
        }
    )
    offered = np.array(capacity) * result.hosts
    used = demands.sum(0)
    utilisation = {
        name: float(used[i] / offered[i]) if offered[i] > 0 else None
        for i, name in enumerate(("vcpu", "memory", "gpu"))
    }
    return PackReport(
        host_type=host_type,
        host_prices=table_id,
        capacity=capacity,
        method=result.method,
        sandboxes=len(frame),
        hosts=result.hosts,
        lower_bound=bound,
        optimum=None if solved is None or solved.packing is None else solved.packing.hosts,
        proven_optimal=solved is not None and solved.proven,
        exact_status=None if solved is None else solved.status,
        exact_bound=None if solved is None else solved.bound,
        utilisation=utilisation,
        per_host=per_host,
        assignment=frame.assign(host=host_of),
        usd_per_hour=result.hosts * host.prices["on_demand"].usd_per_second * HOUR_S,
    )


def _refuse_too_large(
    row: pd.Series,
    demand: np.ndarray,
    overhead: tuple[float, float],
    overhead_of: str,
    host_type: str,
    host: HostType,
    settings: tuple[float, float, float],
    source: str,
) -> None:
    """Refuse a shape no host has room for, naming what makes it too large: the shape
    itself, the isolation's overhead, or the reserve asked for."""
    reserve_vcpu, reserve_gib, overcommit = settings
    vcpu, gib, gpus = (float(x) for x in demand)
    offered = ((host.vcpu - reserve_vcpu) * overcommit, host.memory - reserve_gib)
    needs = f"{row['vcpu']:g} vCPU, {row['memory_gib']:g} GiB" + (
        f", {gpus:g} GPU{'s' if gpus != 1 else ''}" if gpus else ""
    )
    if overhead != (0.0, 0.0):
        needs += f" and {overhead_of} overhead of {overhead[1] * 1024:g} MiB" + (
            f" and {overhead[0]:g} vCPU" if overhead[0] else ""
        )
    what = f"shape {row['name']} needs {needs}"
    bare = (host.vcpu * overcommit, host.memory)
    if gpus <= host.gpus and vcpu <= bare[0] + 1e-9 and gib <= bare[1] + 1e-9:
        cpu = vcpu > offered[0] + 1e-9  # the reserve leaves too little
        most = host.vcpu - vcpu / overcommit if cpu else host.memory - gib
        raise InputError(
            f"after the reserve a {host_type} offers {offered[0]:g} vCPU and {offered[1]:g} "
            f"GiB, and {what} ({source}, line {int(row['line'])})",
            source="--reserve-vcpu" if cpu else "--reserve-memory",
            fix=f"reserve at most {most:g} {'vCPU' if cpu else 'GiB'}, or choose a larger host type",
        )
    without = (vcpu - overhead[0], gib - overhead[1])
    by_overhead = without[0] <= offered[0] + 1e-9 and without[1] <= offered[1] + 1e-9
    raise InputError(
        f"{what}, larger than what a {host_type} offers ({offered[0]:g} vCPU, {offered[1]:g} GiB, "
        f"{host.gpus} GPUs)",
        source=source,
        field=f"line {int(row['line'])}",
        fix=f"shrink the shape to leave room for {overhead_of} overhead, or choose a larger "
        "host type"
        if by_overhead and gpus <= host.gpus
        else "choose a larger host type, or shrink the shape",
    )


def _isolation(catalog: Catalog, profile: str | None) -> PlatformProfile | None:
    """The self-hosted isolation profile named by --profile (None: none named)."""
    if profile is None:
        return None
    chosen = catalog.profile(profile, source="--profile")
    if not chosen.self_hosted or chosen.overhead is None:
        raise InputError(
            f"{profile} is not a self-hosted isolation profile",
            source="--profile",
            fix="use one of: "
            + ", ".join(sorted(p.id for p in catalog.profiles.values() if p.self_hosted)),
        )
    return chosen


def _check_isolation_gpus(
    frame: pd.DataFrame, isolation: PlatformProfile, catalog: Catalog, source: str
) -> None:
    """The engine's check that the isolation gives GPUs as the shapes ask for them
    (Firecracker gives none), on the first row asking for each kind."""
    kinds: tuple[tuple[GpuKind, pd.Series], ...] = (
        ("whole", frame["gpus"] >= 1),
        ("share", (frame["gpus"] > 0) & (frame["gpus"] < 1)),
    )
    asks = [(int(frame.loc[asked, "line"].iloc[0]), kind) for kind, asked in kinds if asked.any()]
    for line, kind in sorted(asks):
        givers = sorted(
            p.id
            for p in catalog.profiles.values()
            if p.self_hosted and p.gpu_partitioning and getattr(p.gpu_partitioning, kind)
        )
        check_gpu_isolation(
            isolation,
            kind,
            f"line {line}.gpus",
            lambda message, field, fix: InputError(message, source=source, field=field, fix=fix),
            fix=f"pack with --profile {' or '.join(givers)}, or without GPUs" if givers else None,
        )


def _check_exact_size(demands: np.ndarray, hosts: int) -> None:
    """Refuse an exact model larger than ``packing.EXACT_MAX_CELLS``."""
    cells = exact_cells(demands, hosts)
    if cells > EXACT_MAX_CELLS:
        shapes = cells // hosts
        raise InputError(
            f"the exact model counts each distinct shape on each host: {shapes:,} shapes x "
            f"{hosts:,} hosts = {cells:,} cells, above the {EXACT_MAX_CELLS:,} allowed (it is "
            "built before the solver's clock starts, at about 20 microseconds a cell, so a "
            "larger one would outlast the time limit)",
            source="--exact",
            fix="pack a sample of the shapes, or fewer distinct shapes, or leave out --exact",
        )


def _find_host(catalog: Catalog, host_type: str, host_prices: str | None) -> tuple[str, HostType]:
    """A host type by name, from the named table or the only table that has it."""
    if host_prices is not None:
        table = catalog.host_table(host_prices, source="--host-prices")
        if host_type not in table.hosts:
            raise InputError(
                f"{table.id} has no host type {host_type!r}",
                source="--host",
                fix=f"use one of {', '.join(sorted(table.hosts))}",
            )
        return table.id, table.hosts[host_type]
    found = [
        (t.id, t.hosts[host_type]) for t in catalog.host_tables.values() if host_type in t.hosts
    ]
    if not found:
        known = sorted({h for t in catalog.host_tables.values() for h in t.hosts})
        raise InputError(
            f"no host price table has a host type {host_type!r}",
            source="--host",
            fix=f"use one of {', '.join(known)} (see `sandsim pricing hosts`)",
        )
    if len(found) > 1:
        raise InputError(
            f"host type {host_type!r} is in several tables ({', '.join(t for t, _ in found)})",
            source="--host",
            fix="name the table with --host-prices",
        )
    return found[0]


def pack_per_gpu(demands: np.ndarray, capacity: np.ndarray, gpus: int, method: str) -> Packing:
    """Pack shapes some of which ask for a share of a GPU: the chosen packer packs them with
    the host's GPUs taken as one divisible resource, then each host's GPU needs are
    placed on its GPUs one by one, as the engine does (``place_per_gpu``). The portfolio
    also tries first-fit decreasing with GPUs placed one by one, and keeps the fewer
    hosts."""
    candidates = [place_per_gpu(demands, capacity, gpus, pack(demands, capacity, method))]
    if method == "portfolio":
        candidates.append(pack_with_gpu_slots(demands, capacity, gpus))
    return min(candidates, key=lambda p: p.hosts)


_Host = tuple[list[float], HostGpus, list[int]]
"""A host being filled: vCPU and GiB taken, its GPUs, its sandboxes."""


def _gpu_need(gpus: float) -> GpuNeed:
    return GpuNeed(share=gpus) if 0 < gpus < 1 else GpuNeed(whole=round(gpus))


def place_per_gpu(
    demands: np.ndarray, capacity: np.ndarray, gpus: int, packing: Packing
) -> Packing:
    """A packing made with a host's GPUs as one divisible resource, with each host's GPU
    needs placed on its GPUs: whole GPUs first, then shares largest first, each on the
    first GPU with room (a share cannot span two GPUs). A sandbox that finds no GPU
    there moves, with the others that did not, largest first, to the first host with
    room on every resource, or to a new host."""
    hosts: list[_Host] = []
    moved: list[int] = []
    for members in packing.bins:
        slots, kept, used = HostGpus(gpus), [], [0.0, 0.0]
        for item in sorted(members, key=lambda i: (demands[i, 2] < 1, -demands[i, 2], i)):
            need = _gpu_need(float(demands[item, 2]))
            grant = slots.find(need)
            if grant is None:
                moved.append(item)
                continue
            slots.take(need, grant)
            used[0] += float(demands[item, 0])
            used[1] += float(demands[item, 1])
            kept.append(item)
        hosts.append((used, slots, kept))
    _first_fit(_largest_first(demands, capacity, moved), demands, capacity, gpus, hosts)
    method = f"{packing.method}, GPUs placed one by one"
    if moved:
        method += f", {len(moved)} moved"
    return Packing(tuple(tuple(sorted(m)) for _, _, m in hosts if m), method)


def pack_with_gpu_slots(demands: np.ndarray, capacity: np.ndarray, gpus: int) -> Packing:
    """First-fit decreasing where each host's GPUs are placed one by one, as the engine
    does: whole GPUs take empty GPUs, a share of a GPU must fit on one GPU."""
    hosts: list[_Host] = []
    _first_fit(
        _largest_first(demands, capacity, range(len(demands))), demands, capacity, gpus, hosts
    )
    return Packing(
        tuple(tuple(sorted(members)) for _, _, members in hosts),
        "first-fit decreasing, GPUs placed one by one",
    )


def _largest_first(demands: np.ndarray, capacity: np.ndarray, items: Iterable[int]) -> list[int]:
    """Items by their largest share of a host, largest first (ties by index)."""
    norm = demands / np.where(capacity > 0, capacity, 1.0)
    chosen = np.fromiter(items, dtype=np.int64)
    return chosen[np.argsort(-norm[chosen].max(axis=1), kind="stable")].tolist()


def _first_fit(
    order: list[int], demands: np.ndarray, capacity: np.ndarray, gpus: int, hosts: list[_Host]
) -> None:
    """Put each item in turn on the first host with room for it (its GPU need placed on
    the host's GPUs), opening a host when none has."""
    for item in order:
        vcpu, gib, gpu = (float(x) for x in demands[item])
        need = _gpu_need(gpu)
        for used, slots, members in hosts:
            if used[0] + vcpu > capacity[0] + 1e-9 or used[1] + gib > capacity[1] + 1e-9:
                continue
            grant = slots.find(need)
            if grant is None:
                continue
            slots.take(need, grant)
            used[0] += vcpu
            used[1] += gib
            members.append(item)
            break
        else:
            slots = HostGpus(gpus)
            grant = slots.find(need)
            assert grant is not None, "a shape larger than a host was refused before packing"
            slots.take(need, grant)
            hosts.append(([vcpu, gib], slots, [item]))
