"""`sandsim sweep`, `sandsim compare` and `sandsim sensitivity`: studies over several
runs of one scenario, on local processes or a Dask cluster (registered on ``cli.cli``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pandas as pd
from rich.table import Table

from .cli import _check_writable, _usd, cli, executor_options, out, progress_bar
from .executors import make_executor
from .scenario import load_scenario
from .summary import short_horizon_warning
from .units import format_duration


def _study_options(function: Any) -> Any:
    """Options shared by sweep, compare and sensitivity."""
    options = [
        click.option(
            "--replications",
            type=click.IntRange(min=1),
            help="Replace the scenario's replication count.",
        ),
        *executor_options(),
        click.option(
            "--out", "out_dir", type=click.Path(file_okay=False), help="Folder for the outputs."
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the table as JSON records."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _run_study(
    study: Any,
    loaded: Any,
    *,
    platforms: tuple[str, ...],
    scheduler: str | None,
    workers: int | None,
    as_json: bool = False,
    **arguments: Any,
) -> Any:
    """Run ``study`` (sweep, compare, sensitivity) with the shared options, with a progress
    bar over its (point, replication) tasks on a terminal."""
    executor = make_executor(scheduler, workers)
    with progress_bar("simulations", not as_json) as progress:
        executor.progress = progress
        return study(loaded, platforms=list(platforms) or None, executor=executor, **arguments)


def _seconds(value: Any) -> str:
    return "-" if value is None or pd.isna(value) else format_duration(float(value))


FIGURE_HEADERS = ("platform", "spend/month (P5-P95)", "ready p50", "p99")


def _figure_cells(row: dict[Any, Any]) -> list[str]:
    """Platform, spend band and time to ready of a sweep or comparison row (FIGURE_HEADERS)."""
    band = (
        f"{_usd(row['spend_per_month_mean'])} "
        f"({_usd(row['spend_per_month_p5'])}-{_usd(row['spend_per_month_p95'])})"
    )
    return [
        str(row["platform"]),
        band,
        _seconds(row["ttr_p50_s"]),
        _seconds(row["ttr_p99_s"]),
    ]


def _records(frame: pd.DataFrame) -> str:
    return json.dumps(json.loads(frame.to_json(orient="records")), indent=2)


def _target(out_dir: str | None, default: str) -> Path:
    target = Path(out_dir) if out_dir else Path("results") / default
    _check_writable(target)
    return target


def _note_short_horizon(horizon_s: float) -> None:
    """Print the note that per-month figures repeat a horizon shorter than a day."""
    short = short_horizon_warning(horizon_s)
    if short is not None:
        out.print(f"[yellow]note[/yellow]: {short}")


@cli.command("sweep")
@click.argument("scenario")
@click.option(
    "--set",
    "settings",
    multiple=True,
    required=True,
    help="PATH=v1,v2,... a scenario field and its values, e.g. "
    "workloads.agents.arrivals.per_day=10000,20000 (repeatable: the grid is the product).",
)
@_study_options
def sweep_command(
    scenario: str, settings: tuple[str, ...], out_dir: str | None, as_json: bool, **options: Any
) -> None:
    """Run SCENARIO at every point of the grid of --set values; write sweep.csv."""
    from .errors import InputError
    from .sweep import parse_set, sweep

    grid: dict[str, list[Any]] = {}
    for text in settings:
        path, values = parse_set(text)
        if path in grid:
            raise InputError(
                f"{path} is swept twice", source=f"--set {text}", fix="give each path once"
            )
        grid[path] = values
    loaded = load_scenario(scenario)
    target = _target(out_dir, f"{loaded.name}-sweep")
    result = _run_study(sweep, loaded, settings=grid, as_json=as_json, **options)
    written = result.write(target)
    if as_json:
        click.echo(_records(result.table))
        return
    _note_short_horizon(loaded.horizon)
    table = Table(title=f"sweep of {loaded.name}", title_justify="left")
    for column in [*result.paths, *FIGURE_HEADERS]:
        table.add_column(column, justify="left" if column == "platform" else "right")
    for column in ("launched", "rejected", "hosts"):
        table.add_column(column, justify="right")
    for row in result.table.to_dict("records"):
        hosts = row["hosts_mean"]
        table.add_row(
            *(str(row[p]) for p in result.paths),
            *_figure_cells(row),
            f"{row['launched']:,.1f}",
            f"{row['rejected']:,.1f}",
            "-" if hosts is None or pd.isna(hosts) else f"{hosts:.2f}",
        )
    out.print(table)
    out.print(f"Spend in {loaded.currency} per 30-day month; counts per replication.")
    out.print(f"wrote {written}")


@cli.command("compare")
@click.argument("scenario")
@_study_options
def compare_command(scenario: str, out_dir: str | None, as_json: bool, **options: Any) -> None:
    """Every platform of SCENARIO: spend band, time to ready, the workloads each runs
    and the assumed rates behind each bill; write comparison.csv and comparison.png."""
    from .compare import compare
    from .plots import comparison

    loaded = load_scenario(scenario)
    target = _target(out_dir, f"{loaded.name}-compare")
    result = _run_study(compare, loaded, as_json=as_json, **options)
    paths = result.write(target)
    figure_path = target / "comparison.png"
    comparison(result.table).savefig(figure_path, dpi=120)
    if as_json:
        click.echo(_records(result.table))
        return
    groups = result.result.scenario.platforms_by_workloads()
    table = Table(title=f"{loaded.name}: platforms compared", title_justify="left")
    for column in (
        *FIGURE_HEADERS,
        "launched",
        "rejected",
        *(("workloads",) if len(groups) > 1 else ()),
        "priced by",
        "as of",
        "assumed rates",
    ):
        table.add_column(
            column,
            justify="left" if column in ("platform", "workloads", "priced by") else "right",
        )
    for row in result.table.to_dict("records"):
        table.add_row(
            *_figure_cells(row),
            f"{row['launched_share']:.1%}",
            f"{row['rejected_share']:.1%}",
            *((str(row["workloads"]),) if len(groups) > 1 else ()),
            str(row["priced_by"]),
            str(row["as_of"]),
            str(row["assumed_rates"]) or "-",
        )
    out.print(table)
    out.print(
        f"Spend in {loaded.currency} per 30-day month across {result.result.scenario.replications} "
        "replications; time to ready over all sandboxes; launched and rejected of requested."
    )
    _note_short_horizon(result.result.scenario.horizon)
    runs = result.result.scenario.workloads_run_text()
    if runs is not None:
        out.print(
            f"note: the platforms run different workloads ({runs}), so their spends are of "
            "different work: compare spend only between platforms running the same workloads."
        )
    out.print(f"wrote {', '.join(str(p) for p in [*paths.values(), figure_path])}")


@cli.command("sensitivity")
@click.argument("scenario")
@click.option(
    "--swing",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    default=0.25,
    show_default=True,
    help="Move each factor down and up by this fraction.",
)
@_study_options
def sensitivity_command(
    scenario: str, swing: float, out_dir: str | None, as_json: bool, **options: Any
) -> None:
    """How much SCENARIO's monthly spend moves with volume, duration median and tail, and
    each price, per platform; write sensitivity.csv and a tornado figure per platform."""
    from .compare import sensitivity
    from .plots import tornado

    loaded = load_scenario(scenario)
    target = _target(out_dir, f"{loaded.name}-sensitivity")
    result = _run_study(sensitivity, loaded, swing=swing, as_json=as_json, **options)
    written = [result.write(target)]
    for platform_id in dict.fromkeys(result.table["platform"]):
        figure_path = target / f"tornado-{platform_id}.png"
        tornado(result.table, platform_id).savefig(figure_path, dpi=120)
        written.append(figure_path)
    if as_json:
        click.echo(_records(result.table))
        return
    _note_short_horizon(loaded.horizon)
    table = Table(
        title=f"{loaded.name}: change in monthly spend at ±{swing:.0%}", title_justify="left"
    )
    for column in ("platform", "factor", "base", "low", "high"):
        table.add_column(column, justify="left" if column in ("platform", "factor") else "right")
    for row in result.table.to_dict("records"):
        table.add_row(
            str(row["platform"]),
            str(row["factor"]),
            _usd(row["base_per_month"]),
            f"{row['change_low']:+,.0f}",
            f"{row['change_high']:+,.0f}",
        )
    out.print(table)
    for note in result.notes:
        out.print(f"[yellow]note[/yellow]: {note}")
    out.print(f"wrote {', '.join(str(p) for p in written)}")
