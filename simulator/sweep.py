"""Sweeps: a scenario run over the grid of values given for some of its fields.

Each swept field is a dotted path into the scenario as written in YAML, with workloads
and platforms addressed by name and id: ``workloads.agents.arrivals.per_day``,
``platforms.e2b.quota``, ``horizon``, ``seed``. Values are YAML scalars, so "10m",
"4GiB", "unlimited" and numbers go through the scenario's own validators. The grid is the
cartesian product of the values; every point is re-validated and resolved before anything
runs. Points keep the scenario's seed (unless ``seed`` is swept): they share common
random numbers, so differences between points are not sampling noise of their own.

The result is one tidy table, one row per point and platform: ``point``, one column per
swept path holding its value there, then ``points.FIGURE_COLUMNS`` (docs/outputs.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .catalog import Catalog
from .errors import InputError, InputErrors
from .executors import Executor, ProcessExecutor
from .points import platform_figures, restrict, simulate_points, write_table
from .resolve import resolve_platforms, scenario_catalog
from .runner import check_horizon_covers
from .scenario import Scenario

NAMED_LISTS = {"workloads": "name", "platforms": "id", "budgets": "name"}
"""Lists of the scenario whose entries a path addresses by name (or id)."""


def _set_error(flag: str, problem: str, fix: str, field: str | None = None) -> InputError:
    return InputError(problem, source=f"--set {flag}", field=field, fix=fix)


def parse_set(text: str) -> tuple[str, list[Any]]:
    """``PATH=v1,v2,...`` as the path and its values (each read as a YAML scalar)."""
    path, sep, values = text.partition("=")
    path = path.strip()
    if not sep or not path or not values.strip():
        raise _set_error(
            text,
            "expected PATH=VALUE[,VALUE...]",
            "write e.g. --set workloads.agents.arrivals.per_day=10000,20000,40000",
        )
    parsed = []
    for raw in values.split(","):
        if not raw.strip():
            raise _set_error(text, "an empty value in the list", "separate values by single commas")
        try:
            value = yaml.safe_load(raw.strip())
        except yaml.YAMLError:
            raise _set_error(
                text, f"{raw.strip()!r} is not a YAML scalar", "give numbers, sizes or durations"
            ) from None
        if isinstance(value, dict | list):
            raise _set_error(
                text,
                f"{raw.strip()!r} is not a single value",
                "sweep one field at a time (a deeper path such as ...arrivals.per_day)",
            )
        parsed.append(value)
    return path, parsed


def _entry_index(entries: Sequence[Any], key: str, parts: list[str], at: int) -> tuple[int, int]:
    """The entry of a named list that ``parts[at:]`` starts with (names may hold dots):
    its index and how many parts its name took (-1 when none matches)."""
    for stop in range(len(parts), at, -1):
        name = ".".join(parts[at:stop])
        for index, entry in enumerate(entries):
            if isinstance(entry, dict) and entry.get(key) == name:
                return index, stop - at
    if parts[at].isdigit() and int(parts[at]) < len(entries):
        return int(parts[at]), 1
    return -1, 0


def set_path(data: dict[str, Any], full: dict[str, Any], path: str, value: Any, flag: str) -> None:
    """Set ``path`` in the scenario ``data`` (a dump without unset fields) to ``value``,
    checking the path against ``full`` (a dump with every field)."""
    parts = path.split(".")
    node: Any = data
    known_node: Any = full
    at = 0
    trail: list[str] = []
    while True:
        part = parts[at]
        if isinstance(known_node, list | tuple):
            key = NAMED_LISTS.get(trail[-1] if trail else "", "name")
            index, used = _entry_index(known_node, key, parts, at)
            if index < 0:
                names = [str(e.get(key)) for e in known_node if isinstance(e, dict)]
                raise _set_error(
                    flag,
                    f"no entry {part!r} in {'.'.join(trail)}",
                    f"name one of: {', '.join(names) or '(none)'}",
                    field=path,
                )
            trail.append(".".join(parts[at : at + used]))
            at += used
            if at == len(parts):
                raise _set_error(
                    flag,
                    f"{'.'.join(trail)} is a whole entry",
                    "sweep one of its fields, e.g. ...arrivals.per_day",
                    field=path,
                )
            node, known_node = node[index], known_node[index]
            continue
        if not isinstance(known_node, dict) or part not in known_node:
            known = sorted(known_node) if isinstance(known_node, dict) else []
            where = ".".join(trail) or "the scenario"
            raise _set_error(
                flag,
                f"{where} has no field {part!r}",
                f"use one of: {', '.join(known)}" if known else "shorten the path",
                field=path,
            )
        trail.append(part)
        at += 1
        if at == len(parts):
            node[part] = value
            return
        if known_node[part] is None:
            raise _set_error(
                flag,
                f"{'.'.join(trail)} is not set in the scenario, so it has no fields to sweep",
                f"set {'.'.join(trail)} in the scenario file first",
                field=path,
            )
        node = node.setdefault(part, {})
        known_node = known_node[part]


def _dumps(scenario: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
    data = scenario.model_dump(mode="python", by_alias=True, exclude_none=True)
    full = scenario.model_dump(mode="python", by_alias=True)
    return data, full


def apply_settings(scenario: Scenario, settings: Mapping[str, Any], catalog: Catalog) -> Scenario:
    """The scenario with each path set to its value, re-validated and resolved."""
    data, full = _dumps(scenario)
    flag = ", ".join(f"{path}={value}" for path, value in settings.items())
    for path, value in settings.items():
        set_path(data, full, path, value, f"{path}={value}")
    try:
        point = scenario.with_overrides(data, flag=f"--set {flag}")
        check_horizon_covers(point)
        resolve_platforms(point, catalog)
    except InputError as error:
        errors = error.errors if isinstance(error, InputErrors) else [error]
        fix = "give values the field accepts (see docs/scenarios.md)"
        raise InputErrors(
            [
                InputError(
                    e.problem,
                    source=f"--set {flag}",
                    field=e.field,
                    fix=f"{e.fix}; or {fix}" if e.fix else fix,
                )
                for e in errors
            ]
        ) from None
    return point


@dataclass(frozen=True)
class SweepResult:
    """The sweep's table and the grid it ran."""

    table: pd.DataFrame
    """One row per point and platform: ``point``, one column per swept path, then the
    per-platform figures (``points.FIGURE_COLUMNS``)."""
    paths: tuple[str, ...]
    executor: str
    """How the tasks ran (not part of any output: results do not depend on it)."""

    def write(self, out_dir: str | Path) -> Path:
        """Write sweep.csv into ``out_dir``; returns its path."""
        return write_table(self.table, out_dir, "sweep.csv")


def sweep_grid(
    scenario: Scenario, settings: Mapping[str, Sequence[Any]], catalog: Catalog
) -> list[tuple[dict[str, Any], Scenario]]:
    """Every point of the cartesian product of the settings, as its values and scenario."""
    if not settings:
        raise InputError(
            "nothing to sweep",
            source="--set",
            fix="give --set PATH=v1,v2,... (e.g. workloads.NAME.arrivals.per_day=10000,20000)",
        )
    for path, values in settings.items():
        if not values:
            raise _set_error(path, "no values", "give at least one value after =")
    paths = list(settings)
    points = []
    for combination in itertools.product(*(settings[p] for p in paths)):
        chosen = dict(zip(paths, combination, strict=True))
        points.append((chosen, apply_settings(scenario, chosen, catalog)))
    return points


def sweep(
    scenario: Scenario,
    settings: Mapping[str, Sequence[Any]],
    *,
    replications: int | None = None,
    platforms: Sequence[str] | None = None,
    pricing_dirs: Sequence[str | Path] = (),
    catalog: Catalog | None = None,
    executor: Executor | None = None,
) -> SweepResult:
    """Run the scenario at every point of the grid of ``settings`` (path: values) and
    tabulate each platform's figures per point. ``executor`` runs the (point,
    replication) tasks (default: local processes); results are identical on any."""
    scenario = restrict(scenario, replications, platforms)
    if catalog is None:
        catalog = scenario_catalog(scenario, tuple(str(p) for p in pricing_dirs))
    grid = sweep_grid(scenario, settings, catalog)
    runner = executor or ProcessExecutor()
    results = simulate_points([s for _, s in grid], catalog=catalog, executor=runner)
    frames = []
    for index, ((values, _), result) in enumerate(zip(grid, results, strict=True)):
        figures = platform_figures(result.summary())
        for position, (path, value) in enumerate(values.items()):
            if path in figures.columns:  # e.g. replications: the swept value says it
                figures = figures.drop(columns=[path])
            figures.insert(position, path, [value] * len(figures))
        figures.insert(0, "point", index)
        frames.append(figures)
    return SweepResult(pd.concat(frames, ignore_index=True), tuple(settings), runner.name)
