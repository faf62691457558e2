"""The `sandsim` command line: run, validate, and look up price tables and platforms.

Exit codes: 0 ok; 2 bad input (the message names the file, the field and the fix);
1 internal error. No traceback is printed unless --debug is given.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import click
import numpy as np
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from . import __version__
from .catalog import Catalog, bundled_dir, load_catalog
from .errors import InputError
from .executors import ProgressCallback
from .hosts import HostPriceTable, Purchase
from .platforms import PlatformProfile
from .pricing import PriceTable
from .resolve import resolve_platforms, scenario_catalog
from .runner import SimulationResult, check_horizon_covers, simulate, with_run_settings
from .scenario import Scenario, load_scenario
from .units import format_duration

if TYPE_CHECKING:
    from .offline_pack import PackReport

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2

WIDE = 180
"""Width used when output is not a terminal (files, CI logs), so tables are not squeezed."""
out = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else WIDE)
err = Console(stderr=True, highlight=False, soft_wrap=True)
"""Errors and warnings are never wrapped: a path or field name split across lines cannot be
searched for in a log or copied from a terminal."""


@contextmanager
def progress_bar(label: str, show: bool = True) -> Iterator[ProgressCallback | None]:
    """A progress bar on a terminal's stderr (None, and silence, when not a terminal, as in
    CI, or when ``show`` is False for --quiet or --json); it clears itself when done."""
    if not show or not err.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _usd(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"${value:,.0f}"
    return f"${value:,.2f}"


def _count(value: float) -> str:
    """A mean count per replication: whole where it is, else with one decimal."""
    return f"{value:,.0f}" if abs(value - round(value)) < 0.05 else f"{value:,.1f}"


def _seconds(value: float | None) -> str:
    return "-" if value is None else format_duration(value)


def _catalog(pricing_dirs: Sequence[str]) -> Catalog:
    return load_catalog([Path(p) for p in pricing_dirs])


pricing_dir_option = click.option(
    "--pricing-dir",
    "pricing_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A folder of your own price tables (negotiated rates); replaces bundled tables with the same id.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sandsim")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """sandsim: cost and time-to-ready of AI agent sandboxes on every platform.

    Start with `sandsim run coding-agent-fleet` (a bundled example) or your own scenario file.
    """
    ctx.obj = {"debug": debug}


def _platform_table(result: SimulationResult, summary: dict[str, Any]) -> Table:
    scenario = result.scenario
    table = Table(
        title=f"{scenario.name}: {format_duration(scenario.horizon)} horizon, "
        f"{scenario.replications} replications, seed {scenario.seed}",
        title_justify="left",
    )
    for column, justify in [
        ("platform", "left"),
        ("launched", "right"),
        ("rejected", "right"),
        ("timed out", "right"),
        ("ready p50", "right"),
        ("p95", "right"),
        ("p99", "right"),
        ("rate wait", "right"),
        ("queue wait", "right"),
        ("conc. mean", "right"),
        ("peak", "right"),
        ("spend/horizon (P5-P95)", "right"),
        ("spend/month", "right"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for platform_id, p in summary["platforms"].items():
        counts, ttr, cost = p["sandboxes"], p["time_to_ready_s"], p["cost_usd"]
        horizon, month = cost["horizon"], cost["per_month"]
        table.add_row(
            platform_id,
            _count(counts["launched"]),
            _count(counts["rejected"] + counts["abandoned"]),
            _count(counts["timed_out"]),
            _seconds(ttr["p50"]),
            _seconds(ttr["p95"]),
            _seconds(ttr["p99"]),
            _seconds(p["rate_limit_wait_s"]["mean"]),
            _seconds(p["queue_wait_s"]["mean"]),
            f"{p['concurrency']['mean']:.1f}",
            str(p["concurrency"]["peak"]),
            f"{_usd(horizon['mean'])} ({_usd(horizon['p5'])}-{_usd(horizon['p95'])})",
            _usd(month["mean"]),
        )
    return table


def _priced_by(platform: Any) -> str:
    """What a platform's bill comes from: its price table, or its fleet's hosts."""
    if platform.fleet is None:
        return str(platform.price_table.id)
    fleet = platform.fleet
    if fleet.fixed:
        return (
            f"inventory of {len(fleet.inventory):,} hosts of {len(fleet.kinds)} kind(s) "
            f"({fleet.table.id} billing)"
        )
    return (
        f"fleet of {fleet.spec.host_type} ({fleet.table.id}, {fleet.capacity[0]:g} vCPU and "
        f"{fleet.capacity[1]:g} GiB per host for sandboxes)"
    )


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


RESOURCE_LABELS = {"vcpu": "vCPU", "memory": "memory", "gpu": "GPU"}
"""How the fleet's resources are named in printed figures."""


def _fleet_table(summary: dict[str, Any]) -> Table | None:
    """Hosts, utilisation, stranded room and packing of self-hosted platforms."""
    fleets = {pid: p for pid, p in summary["platforms"].items() if p.get("hosts")}
    if not fleets:
        return None
    table = Table(title="self-hosted fleets", title_justify="left")
    for column in (
        "platform",
        "host type",
        "hosts mean",
        "peak",
        "host-h/month",
        "util. vCPU",
        "mem",
        "GPU",
        "stranded vCPU",
        "mem",
        "GPU",
        "packing eff.",
        "lost",
    ):
        table.add_column(column, justify="left" if column == "platform" else "right")
    for platform_id, p in fleets.items():
        hosts, use, stranded, fleet = p["hosts"], p["utilisation"], p["stranded"], p["fleet"]
        table.add_row(
            platform_id,
            hosts["type"],
            f"{hosts['mean']:.2f}",
            str(hosts["peak"]),
            _count(hosts["host_hours_per_month"]),
            _share(use["vcpu"]),
            _share(use["memory"]),
            _share(use["gpu"]),
            _share(stranded["vcpu"]),
            _share(stranded["memory"]),
            _share(stranded["gpu"]),
            _share(fleet["packing_efficiency"]),
            _count(fleet["lost_sandboxes"]),
        )
    return table


@cli.command()
@click.argument("scenario")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder for summary.json and line_items.csv [default: results/<scenario name>].",
)
@click.option("--seed", type=click.IntRange(min=0), help="Replace the scenario's seed.")
@click.option(
    "--replications", type=click.IntRange(min=1), help="Replace the scenario's replication count."
)
@click.option(
    "--platform", "platforms", multiple=True, help="Run only this platform id (repeatable)."
)
@pricing_dir_option
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print summary.json to stdout instead of the table."
)
def run(
    scenario: str,
    out_dir: str | None,
    seed: int | None,
    replications: int | None,
    platforms: tuple[str, ...],
    pricing_dirs: tuple[str, ...],
    quiet: bool,
    as_json: bool,
) -> None:
    """Simulate SCENARIO (a YAML file, or a bundled scenario's name) on its platforms."""
    loaded = load_scenario(scenario)
    target = Path(out_dir) if out_dir else Path("results") / loaded.name
    _check_writable(target)
    with progress_bar("replications", not quiet and not as_json) as progress:
        result = simulate(
            loaded,
            seed=seed,
            replications=replications,
            platforms=list(platforms) or None,
            pricing_dirs=pricing_dirs,
            keep_usage=False,
            progress=progress,
        )
    summary = result.summary()
    paths = result.write(target)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    if quiet:
        return
    out.print(_platform_table(result, summary))
    out.print(
        "Counts are per replication; rejected includes requests that gave up waiting. Time to "
        "ready = request to ready (rate limit, quota queue and launch). Spend in USD; a month is 30 days."
    )
    fleet_table = _fleet_table(summary)
    if fleet_table is not None:
        out.print(fleet_table)
        out.print(
            "Utilisation = allocated over what running hosts offer (after overcommit and the "
            "system's reserve); stranded = free room no sandbox shape fits in; packing "
            "efficiency = hosts the volume bound needs over hosts running."
        )
        for platform_id, p in summary["platforms"].items():
            waiting = p.get("stranded_while_waiting") or {}
            if any(share for share in waiting.values()):
                shares = ", ".join(
                    f"{RESOURCE_LABELS[name]} {share:.2%}"
                    for name, share in waiting.items()
                    if share is not None
                )
                out.print(
                    f"{platform_id}: free room none of the waiting sandboxes fitted, while "
                    f"they waited for capacity: {shares} of what hosts offer"
                )
    for note in summary["warnings"]:
        out.print(f"[yellow]note[/yellow]: {note}")
    written = " and ".join(str(path) for path in paths.values())
    out.print(f"wrote {written}")


def _check_writable(folder: Path) -> None:
    """Refuse an output folder that cannot be written, before spending time simulating."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".sandsim-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise InputError(
            f"cannot write outputs there ({error.strerror or error})",
            source="--out",
            field=str(folder),
            fix="give a folder you can write to",
        ) from None


@cli.command("size")
@click.argument("scenario")
@click.option(
    "--platform", "platform_id", required=True, help="The platform id in the scenario to size."
)
@click.option(
    "--slo",
    required=True,
    help='The objective, e.g. "p99 time_to_ready <= 1s" or "max time_to_ready <= 2s".',
)
@click.option(
    "--lever",
    type=click.Choice(["pool", "hosts", "quota"]),
    default="pool",
    show_default=True,
    help="What to size: a warm pool, the launch hosts, or the concurrency quota.",
)
@click.option(
    "--workload",
    help="Hold the objective for this workload only (default: all on the platform); the pool is for its template.",
)
@click.option(
    "--max",
    "maximum",
    type=click.IntRange(min=1),
    default=4096,
    show_default=True,
    help="Largest size to try.",
)
@click.option(
    "--replications", type=click.IntRange(min=1), help="Replace the scenario's replication count."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def size_command(
    scenario: str,
    platform_id: str,
    slo: str,
    lever: str,
    workload: str | None,
    maximum: int,
    replications: int | None,
    as_json: bool,
) -> None:
    """Find the smallest warm pool (or host count, or quota) that meets a latency objective."""
    from .sizing import Objective, size

    goal = Objective.parse(slo)
    loaded = load_scenario(scenario)
    check_horizon_covers(loaded)

    def report(evaluation: Any) -> None:
        if not as_json:
            state = "meets" if evaluation.met else "misses"
            out.print(
                f"  {lever} {evaluation.size:>6}: {goal.statistic} {goal.metric} "
                f"{format_duration(evaluation.measured_s)} {state}"
                + (
                    f" ({evaluation.rejected_share:.2%} rejected)"
                    if evaluation.rejected_share
                    else ""
                )
                + f", {_usd(evaluation.cost_per_month_usd)}/month",
                markup=False,
            )

    result = size(
        loaded,
        platform_id,
        goal,
        lever,  # type: ignore[arg-type]
        workload=workload,
        maximum=maximum,
        replications=replications,
        progress=report,
    )
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    chosen = result.chosen
    if result.size is None or chosen is None:
        out.print(
            f"no {lever} size up to {maximum} meets {goal.text!r} on {platform_id}", markup=False
        )
        raise SystemExit(1)
    out.print(
        f"smallest {lever} meeting {goal.text!r} on {platform_id}: {result.size} "
        f"({goal.statistic} {format_duration(chosen.measured_s)}), costing {_usd(chosen.cost_per_month_usd)} a month",
        markup=False,
    )


@cli.command()
@click.argument("scenario")
@pricing_dir_option
def validate(scenario: str, pricing_dirs: tuple[str, ...]) -> None:
    """Check SCENARIO and everything it refers to, without running it."""
    loaded = load_scenario(scenario)
    check_horizon_covers(loaded)
    resolved = resolve_platforms(loaded, scenario_catalog(loaded, pricing_dirs))
    out.print(
        f"ok: {loaded.source}: {len(loaded.workloads)} workload(s), {len(resolved)} platform(s), "
        f"horizon {format_duration(loaded.horizon)}, {loaded.replications} replications"
    )
    for platform in resolved:
        shapes = "; ".join(
            f"{loaded.workloads[i].name} -> {platform.shapes[i].describe()}"  # type: ignore[union-attr]
            for i in platform.workload_indices
        )
        out.print(
            f"  {platform.id}: {_priced_by(platform)}, {platform.launch_mode} launch, {shapes}"
        )


@cli.group()
def pricing() -> None:
    """Price tables: list them, or show one with its sources."""


@pricing.command("list")
@pricing_dir_option
def pricing_list(pricing_dirs: tuple[str, ...]) -> None:
    """List the price tables available."""
    catalog = _catalog(pricing_dirs)
    table = Table(title="price tables", title_justify="left")
    for column in ("id", "offering", "region", "as of", "vCPU/h", "GiB/h", "GPUs", "assumed"):
        table.add_column(column)
    for price_table in sorted(catalog.price_tables.values(), key=lambda t: t.id):
        table.add_row(
            price_table.id,
            price_table.offering,
            price_table.region,
            price_table.as_of,
            f"{price_table.vcpu.usd_per_second * 3600:.5g}" if price_table.vcpu else "-",
            f"{price_table.memory.usd_per_second * 3600:.5g}" if price_table.memory else "-",
            ", ".join(price_table.gpu) or "-",
            ", ".join(price_table.assumed_items) or "",
        )
    out.print(table)


def _describe_table(price_table: PriceTable) -> list[str]:
    lines = [
        f"{price_table.id}: {price_table.name}",
        f"  offering {price_table.offering}, region {price_table.region}, currency {price_table.currency}, as of {price_table.as_of}",
        f"  billing: increment {format_duration(price_table.billing.increment)}, minimum "
        f"{format_duration(price_table.billing.minimum)}, from {price_table.billing.bills_from}",
    ]
    rates: list[tuple[str, Any, str]] = [
        ("vcpu", price_table.vcpu, "USD per vCPU-second"),
        ("memory", price_table.memory, "USD per GiB-second"),
    ]
    rates += [(f"gpu {name}", rate, "USD per GPU-second") for name, rate in price_table.gpu.items()]
    for name, rate, unit in rates:
        if rate is not None:
            flag = " [assumed]" if rate.assumed else ""
            lines.append(
                f"  {name}: {rate.usd_per_second:.10g} {unit}{flag}  ({rate.source}, {rate.as_of})"
            )
    if price_table.requests:
        lines.append(
            f"  requests: {price_table.requests.usd_per_million:g} USD per million  ({price_table.requests.source})"
        )
    if price_table.free_tier:
        ft = price_table.free_tier
        lines.append(
            f"  free tier per month: {ft.vcpu_seconds:,.0f} vCPU-s, {ft.gib_seconds:,.0f} GiB-s, "
            f"{ft.requests:,.0f} requests{' [assumed]' if ft.assumed else ''}  ({ft.source})"
        )
    if price_table.pools:
        pools = price_table.pools
        own = [
            f"{label} {rate.usd_per_second:.10g}"
            for label, rate in (
                ("idle vCPU-s", pools.vcpu),
                ("idle GiB-s", pools.memory),
                ("warm-hit vCPU-s", pools.warm_vcpu),
                ("warm-hit GiB-s", pools.warm_memory),
            )
            if rate is not None
        ]
        lines.append(
            f"  pools: idle {'billed' if pools.billed else 'free'}, keep-alive "
            f"{'billed' if pools.keep_alive_billed else 'free'}"
            f"{', USD ' + ', '.join(own) if own else ''}"
            f"{'' if pools.free_tier else ', no free tier'}"
            f"{' [assumed]' if pools.assumed else ''}  ({pools.source}, {pools.as_of})"
        )
    for name, plan in price_table.plans.items():
        lines.append(
            f"  plan {name}: {plan.monthly_usd:g} USD/month, credit {plan.monthly_credit_usd:g} USD/month  ({plan.source})"
        )
    for name, discount in price_table.discounts.items():
        lines.append(
            f"  discount {name}: {discount.fraction:.0%} on {', '.join(discount.applies_to)}  ({discount.source})"
        )
    return lines


@pricing.command("show")
@click.argument("table_id")
@pricing_dir_option
def pricing_show(table_id: str, pricing_dirs: tuple[str, ...]) -> None:
    """Show one price table with the source of every rate."""
    catalog = _catalog(pricing_dirs)
    price_table = catalog.price_table(
        table_id, source="sandsim pricing show", field_name="TABLE_ID"
    )
    for line in _describe_table(price_table):
        out.print(line, markup=False)
    out.print(f"  file: {catalog.file_of(f'pricing:{table_id}')}", markup=False)


@pricing.command("hosts")
@pricing_dir_option
def pricing_hosts(pricing_dirs: tuple[str, ...]) -> None:
    """List host types for self-hosted fleets, with their prices per hour."""
    catalog = _catalog(pricing_dirs)
    table = Table(title="host types (USD per host-hour)", title_justify="left")
    purchases: tuple[Purchase, ...] = get_args(Purchase)  # every way a fleet may buy hosts
    for column in ("table", "host type", "vCPU", "GiB", "GPUs", *purchases):
        table.add_column(column, justify="left" if column in ("table", "host type") else "right")
    for host_table in sorted(catalog.host_tables.values(), key=lambda t: t.id):
        for name, host in host_table.hosts.items():
            prices = []
            for purchase in purchases:
                rate = host.prices.get(purchase)
                prices.append(
                    "-"
                    if rate is None
                    else f"{rate.usd_per_second * 3600:,.3f}{'*' if rate.assumed else ''}"
                )
            gpus = f"{host.gpus} x {host.gpu_type}" if host.gpus else "-"
            table.add_row(host_table.id, name, f"{host.vcpu:g}", f"{host.memory:g}", gpus, *prices)
    out.print(table)
    out.print("* assumed (see the table file for its source)")
    for host_table in sorted(catalog.host_tables.values(), key=lambda t: t.id):
        billing = host_table.billing
        spot = (
            f"; spot taken back within {billing.spot_interrupted_free_s:g} s of its start: free"
            if billing.spot_interrupted_free_s
            else ""
        )
        out.print(
            f"{host_table.id} bills per {billing.increment:g} s, "
            f"{billing.minimum:g} s minimum per start{spot}"
        )


@cli.command("pack")
@click.argument("shapes", type=click.Path(dir_okay=False))
@click.option(
    "--host",
    "host_type",
    required=True,
    help="Host type, e.g. m5.metal (see `sandsim pricing hosts`).",
)
@click.option("--host-prices", help="Host price table id, when the host type is in several.")
@click.option(
    "--method",
    type=click.Choice(["portfolio", "ffd", "bfd", "bin_centric"]),
    default="portfolio",
    show_default=True,
    help="Offline packer.",
)
@click.option(
    "--profile",
    help="Add this self-hosted isolation profile's per-sandbox overhead (e.g. firecracker).",
)
@click.option(
    "--overcommit-vcpu", type=float, default=1.0, show_default=True, help="vCPU overcommit ratio."
)
@click.option(
    "--reserve-vcpu",
    type=float,
    default=0.0,
    show_default=True,
    help="vCPU kept per host for the system.",
)
@click.option(
    "--reserve-memory", default="0", show_default=True, help="Memory kept per host, e.g. 8GiB."
)
@click.option(
    "--exact",
    "exact_s",
    type=click.FloatRange(min=0, min_open=True),
    help="Also solve exactly with OR-Tools (the 'exact' extra), for at most this many seconds.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    help="Write each sandbox's host to this CSV.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pricing_dir_option
def pack_command(
    shapes: str,
    host_type: str,
    host_prices: str | None,
    method: str,
    profile: str | None,
    overcommit_vcpu: float,
    reserve_vcpu: float,
    reserve_memory: str,
    exact_s: float | None,
    out_path: str | None,
    as_json: bool,
    pricing_dirs: tuple[str, ...],
) -> None:
    """Pack the sandbox shapes in SHAPES (CSV: vcpu, memory[, gpus, count, name]) on hosts."""
    from .offline_pack import pack_shapes
    from .units import parse_size_gib

    catalog = _catalog(pricing_dirs)
    try:
        reserve_gib = parse_size_gib(reserve_memory)
    except ValueError as error:
        raise InputError(
            str(error), source="--reserve-memory", fix="write a size such as 8GiB"
        ) from None
    if exact_s is not None:
        try:
            import ortools  # noqa: F401
        except ImportError:
            raise InputError(
                "the exact packer needs OR-Tools",
                source="--exact",
                fix="pip install 'sandsim[exact]', or leave out --exact",
            ) from None
    if out_path:  # checked before packing, which can take minutes
        folder = Path(out_path).parent
        if not folder.is_dir():
            raise InputError(
                f"the folder {str(folder)!r} to write {Path(out_path).name} in does not exist",
                source="--out",
                fix=f"create it first (mkdir -p {folder}), or give a file in a folder that exists",
            )
    report = pack_shapes(
        shapes,
        host_type,
        host_prices=host_prices,
        method=method,
        overcommit_vcpu=overcommit_vcpu,
        reserve_vcpu=reserve_vcpu,
        reserve_memory_gib=reserve_gib,
        exact_time_limit_s=exact_s,
        catalog=catalog,
        profile=profile,
    )
    if out_path:
        try:
            report.assignment.to_csv(out_path, index=False)
        except OSError as error:
            raise InputError(
                f"cannot write {out_path}: {error.strerror or error}",
                source="--out",
                fix="give a file you may write to",
            ) from None
    if as_json:
        click.echo(json.dumps(report.summary(), indent=2))
        return
    use = report.utilisation
    out.print(
        f"{_counted(report.sandboxes, 'sandbox', 'sandboxes')} on {report.hosts:,} x "
        f"{report.host_type} ({report.method}); lower bound {report.lower_bound:,} "
        f"({report.gap_to_bound:+,} host{'' if abs(report.gap_to_bound) == 1 else 's'})"
    )
    if exact_s is not None:
        out.print(_exact_line(report, exact_s))
    shares = ", ".join(f"{name} {value:.1%}" for name, value in use.items() if value is not None)
    out.print(f"utilisation of the hosts used: {shares}")
    out.print(
        f"cost at the on-demand price ({report.host_prices}): {_usd(report.usd_per_hour)}/hour, "
        f"{_usd(report.usd_per_hour * 720)}/month"
    )
    if out_path:
        out.print(f"wrote {out_path}")


def _counted(n: int, one: str, many: str) -> str:
    """1 sandbox, 2 sandboxes."""
    return f"{n:,} {one if n == 1 else many}"


def _exact_line(report: PackReport, limit_s: float) -> str:
    """What the exact solver found and proved, in a line."""
    status, bound = report.exact_status, report.exact_bound
    if report.optimum is not None:
        found = (
            f"{_counted(report.optimum, 'host', 'hosts')} "
            f"({report.hosts - report.optimum:+,} for the heuristic)"
        )
        if report.proven_optimal:
            return f"exact: optimum {found}, proven"
        return f"exact: best found {found}, not proven optimal within {limit_s:g} s (at least {bound:,})"
    if status == "infeasible":
        return (
            f"exact: infeasible: no packing in {report.hosts:,} hosts with the sizes taken "
            "exactly (the heuristic filled a host to within its tolerance of 1e-9 of a host)"
        )
    if status == "rounding":
        return (
            "exact: the sizes could not be held exactly and the packing found on sizes "
            f"rounded down was over capacity (at least {bound:,} hosts)"
        )
    return f"exact: timed out after {limit_s:g} s with no packing found (at least {bound:,} hosts)"


@cli.command("breakeven")
@click.argument("scenario")
@click.option(
    "--platform",
    "self_platform",
    required=True,
    help="The self-hosted platform id (it has a fleet).",
)
@click.option(
    "--vs",
    "versus",
    multiple=True,
    required=True,
    help="A managed platform id to compare with (repeatable).",
)
@click.option(
    "--factors",
    help="Volume factors to try, comma-separated (default: 1/16x to 16x in 9 steps).",
)
@click.option(
    "--replications",
    type=click.IntRange(min=1),
    help="Replications per volume [default: the scenario's].",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder for breakeven.csv and breakeven.png [default: results/<scenario>-breakeven].",
)
@click.option(
    "--refine",
    type=click.IntRange(min=0, max=20),
    default=3,
    show_default=True,
    help="Volumes simulated again inside each crossing's bracket (0: none).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pricing_dir_option
def breakeven_command(
    scenario: str,
    self_platform: str,
    versus: tuple[str, ...],
    factors: str | None,
    replications: int | None,
    out_dir: str | None,
    refine: int,
    as_json: bool,
    pricing_dirs: tuple[str, ...],
) -> None:
    """Sweep SCENARIO's volume: where does the fleet PLATFORM get cheaper than each --vs?"""
    from .breakeven import DEFAULT_FACTORS, breakeven

    loaded = load_scenario(scenario)
    chosen = DEFAULT_FACTORS
    if factors:
        try:
            chosen = tuple(float(f) for f in factors.split(",") if f.strip())
        except ValueError:
            raise InputError(
                f"--factors {factors!r} is not a list of numbers",
                source="--factors",
                fix="write numbers separated by commas, e.g. 0.25,1,4",
            ) from None
        if len(chosen) < 2:
            raise InputError("give at least two factors", source="--factors", fix="e.g. 0.25,1,4")
    target = Path(out_dir) if out_dir else Path("results") / f"{loaded.name}-breakeven"
    _check_writable(target)
    with progress_bar("volumes", not as_json) as progress:
        result = breakeven(
            loaded,
            self_platform,
            list(versus),
            factors=chosen,
            replications=replications,
            pricing_dirs=pricing_dirs,
            progress=progress,
            refine=refine,
        )
    csv_path = target / "breakeven.csv"
    result.costs.to_csv(csv_path, index=False, float_format="%.10g")
    png_path = result.plot(target / "breakeven.png")
    if as_json:
        click.echo(
            json.dumps(
                {
                    "self_platform": result.self_platform,
                    # (NaN, e.g. the wait of a platform that launched nothing, as null)
                    "costs": result.costs.astype(object)
                    .where(result.costs.notna(), None)
                    .to_dict("records"),
                    "crossings": [
                        {
                            k: None if isinstance(v, float) and not math.isfinite(v) else v
                            for k, v in c.__dict__.items()
                        }
                        for c in result.crossings
                    ],
                },
                indent=2,
                allow_nan=False,
            )
        )
        return
    table = Table(title=f"monthly cost by daily volume ({loaded.name})", title_justify="left")
    table.add_column("per day", justify="right")
    platforms_in_order = list(dict.fromkeys(result.costs["platform"]))
    for platform_id in platforms_in_order:
        table.add_column(platform_id, justify="right")
    for _, rows in result.costs.groupby("factor", sort=True):
        cells = []
        for platform_id in platforms_in_order:
            row = rows[rows["platform"] == platform_id]
            if row.empty:  # (a volume added inside another platform's crossing)
                cells.append("-")
                continue
            cells.append(
                _usd(row["per_month_usd"].iloc[0])
                + ("" if row["keeps_up"].iloc[0] else " (behind)")
            )
        refined = " *" if rows["refined"].iloc[0] else ""
        table.add_row(f"{rows['daily_volume'].iloc[0]:,.0f}{refined}", *cells)
    out.print(table)
    if result.costs["refined"].any():
        out.print("* a volume added inside a crossing's bracket (the fleet and that platform)")
    for crossing in result.crossings:
        out.print(f"{crossing.platform}: {crossing.note}")
    out.print(f"wrote {csv_path} and {png_path}")


def _forecast_options(function: Any) -> Any:
    """Options shared by `forecast` and `guard`."""
    options = [
        click.option(
            "--months", type=click.IntRange(min=1), help="Replace the forecast's month count."
        ),
        click.option(
            "--replications",
            type=click.IntRange(min=2),
            help="Replications per month [default: forecast.replications, else the scenario's].",
        ),
        click.option("--seed", type=click.IntRange(min=0), help="Replace the scenario's seed."),
        click.option(
            "--precision",
            type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
            help="Wanted relative half-width of the 95% CI of the mean monthly spend (e.g. 0.02).",
        ),
        *executor_options(),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def executor_options() -> list[Any]:
    """--platform, --scheduler, --workers and --pricing-dir: what runs, and where its
    replications run (forecasts, guards, sweeps, comparisons, sensitivity)."""
    return [
        click.option(
            "--platform", "platforms", multiple=True, help="Only this platform id (repeatable)."
        ),
        click.option(
            "--scheduler",
            help="Run the replications on this Dask scheduler (tcp://HOST:PORT) instead of local processes.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            help="Local processes to use [default: one per CPU].",
        ),
        pricing_dir_option,
    ]


def _run_forecast(
    scenario: str,
    *,
    scheduler: str | None,
    workers: int | None,
    platforms: tuple[str, ...],
    show_progress: bool = True,
    **flags: Any,
) -> Any:
    """Load SCENARIO and forecast it with the shared options (see ``_forecast_options``),
    with a progress bar over its replications on a terminal."""
    from .executors import make_executor
    from .forecast import forecast

    executor = make_executor(scheduler, workers)
    with progress_bar("replications", show_progress) as progress:
        executor.progress = progress
        return forecast(
            load_scenario(scenario),
            platforms=list(platforms) or None,
            executor=executor,
            **flags,
        )


def _forecast_table(summary: dict[str, Any]) -> Table:
    from .guardrails import money

    section = summary["forecast"]
    currency = summary["currency"]
    table = Table(
        title=f"{summary['scenario_name']}: spend per calendar month in {currency}, "
        f"{section['replications']} replications, seed {summary['seed']}",
        title_justify="left",
    )
    for column in ("month", "platform", "requests", "mean", "95% CI of mean", "P5", "P50", "P95"):
        table.add_column(column, justify="left" if column in ("month", "platform") else "right")
    for row in section["months"]:
        low_high = row["mean_ci95"]
        table.add_row(
            row["month"],
            row["platform"],
            f"{row['expected_requests']:,.0f}",
            money(row["mean"], currency),
            "-" if low_high is None else f"{low_high[0]:,.0f}-{low_high[1]:,.0f} {currency}",
            money(row["p5"], currency),
            money(row["p50"], currency),
            money(row["p95"], currency),
        )
    return table


@cli.command("forecast")
@click.argument("scenario")
@_forecast_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder for summary.json and forecast.csv [default: results/<scenario name>-forecast].",
)
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the table.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def forecast_command(
    scenario: str, out_dir: str | None, as_json: bool, quiet: bool, **options: Any
) -> None:
    """Project SCENARIO's spend per calendar month: P5, P50, P95 and the mean, per
    platform, team and workload, and check its budgets."""
    loaded = load_scenario(scenario)
    target = Path(out_dir) if out_dir else Path("results") / f"{loaded.name}-forecast"
    _check_writable(target)
    result = _run_forecast(scenario, show_progress=not (quiet or as_json), **options)
    summary = result.summary()
    paths = result.write(target)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    if quiet:
        return
    out.print(_forecast_table(summary))
    out.print(
        "Spend per calendar month (free tiers and plan fees applied per month); requests are "
        "the month's expected count; per team and workload in forecast.csv."
    )
    for check in result.check_budgets():
        out.print(check.describe(), markup=False)
    excluded = sorted({x for c in summary["coverage"].values() for x in c["excluded"]})
    out.print(f"not included: {', '.join(excluded)}", markup=False)
    for note in summary["warnings"]:
        out.print(f"[yellow]note[/yellow]: {note}")
    out.print(f"wrote {' and '.join(str(p) for p in paths.values())}")


@cli.command("report")
@click.argument("scenario")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder for report.html, report.md and the tables [default: results/<scenario name>-report].",
)
@click.option(
    "--replications", type=click.IntRange(min=1), help="Replace the scenario's replication count."
)
@click.option("--seed", type=click.IntRange(min=0), help="Replace the scenario's seed.")
@click.option("--months", type=click.IntRange(min=1), help="Replace the forecast's month count.")
@click.option(
    "--scheduler",
    help="Run the forecast's replications on this Dask scheduler (tcp://HOST:PORT).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Local processes for the forecast [default: one per CPU].",
)
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def report_command(
    scenario: str,
    out_dir: str | None,
    replications: int | None,
    seed: int | None,
    months: int | None,
    scheduler: str | None,
    workers: int | None,
    quiet: bool,
) -> None:
    """Run what SCENARIO asks (simulation, and its forecast and budgets if it has them)
    and write one self-contained report.html, report.md and the tables as CSV."""
    from .executors import make_executor
    from .report import build_report

    loaded = with_run_settings(load_scenario(scenario), seed, replications)
    target = Path(out_dir) if out_dir else Path("results") / f"{loaded.name}-report"
    _check_writable(target)
    with progress_bar("replications", not quiet) as progress:
        executor = make_executor(scheduler, workers)
        executor.progress = progress
        report = build_report(loaded, months=months, executor=executor, progress=progress)
    paths = report.write(target)
    if not quiet:
        out.print(f"wrote {target / 'report.html'} ({len(paths)} files in {target})")


EXIT_BREACH = 1
"""`sandsim guard`: a budget breaks."""
EXIT_GUARD_INTERNAL = 3
"""`sandsim guard`: an internal error (a bug), kept apart from a breach."""


@cli.command("guard")
@click.argument("scenario")
@_forecast_options
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def guard_command(scenario: str, as_json: bool, **options: Any) -> None:
    """Gate on SCENARIO's budgets: exit 0 when every budget holds at its quantile, 1 when
    any breaks, 2 on bad input."""
    loaded = load_scenario(scenario)
    if not loaded.budgets:
        raise InputError(
            "the scenario has no budgets to guard",
            source=str(loaded.source),
            field="budgets",
            fix="add budgets, e.g. budgets: [{name: team-a, scope: {team: a}, monthly_usd: 5000}]",
        )
    result = _run_forecast(scenario, show_progress=not as_json, **options)
    checks = result.check_budgets()
    if not checks:
        raise InputError(
            "no budget applies to the platforms forecast, so nothing would be checked",
            source=str(loaded.source),
            field="budgets",
            fix="drop --platform, or scope a budget to a platform that is forecast",
        )
    broken = [c for c in checks if not c.holds]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "status": "breaks" if broken else "holds",
                    "scenario_name": result.scenario.name,
                    "scenario_hash": result.scenario.content_hash(),
                    "seed": result.scenario.seed,
                    "replications": result.replications,
                    "months": [m.label for m in result.months],
                    "currency": result.currency,
                    "budgets": [c.as_dict() for c in checks],
                    "warnings": result.warnings(),
                },
                indent=2,
            )
        )
    else:
        for check in checks:
            out.print(check.describe(), markup=False)
        for note in result.warnings():
            out.print(f"note: {note}", markup=False)
        verdict = (
            f"{len(broken)} of {len(checks)} budget checks break"
            if broken
            else f"all {len(checks)} budget checks hold"
        )
        out.print(f"{verdict} ({result.months[0].label} to {result.months[-1].label})")
    if broken:
        raise SystemExit(EXIT_BREACH)


def _save_figure(figure: Any, path: str) -> None:
    """Write a figure, refusing a path that cannot be written."""
    try:
        figure.savefig(path, dpi=120)
    except (OSError, ValueError) as error:
        raise InputError(
            f"cannot write the figure ({error})",
            source="--plot",
            field=path,
            fix="give a writable file ending in .png, .svg or .pdf",
        ) from None


plot_option = click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    help="Write the figure to this file (.png, .svg or .pdf).",
)


@cli.command("fit")
@click.argument("durations", type=click.Path(dir_okay=False))
@click.option(
    "--column",
    help="The column of durations [default: duration_s or duration, or the only numeric column].",
)
@click.option(
    "--unit",
    type=click.Choice(["ms", "s", "min", "h"]),
    default="s",
    show_default=True,
    help="Unit of the column's numbers.",
)
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Candidates in the plot.",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Parametric bootstrap rounds for the best candidate's KS p-value (0: none).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of EM restarts and the bootstrap.",
)
@plot_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def fit_command(
    durations: str,
    column: str | None,
    unit: str,
    top: int,
    bootstrap: int,
    seed: int,
    plot_path: str | None,
    as_json: bool,
) -> None:
    """Fit duration distributions to a column of DURATIONS (CSV), rank them by AIC and
    print a scenario snippet for the best."""
    from .fitting import fit_durations

    fit = fit_durations(durations, column=column, unit=unit, bootstrap=bootstrap, seed=seed)
    if plot_path:
        _save_figure(fit.plot(top), plot_path)
    if as_json:
        click.echo(json.dumps(fit.summary(), indent=2))
        return
    for warning in fit.warnings:
        err.print(f"[yellow]warning[/yellow]: {warning}")
    table = Table(
        title=f"{fit.data.size:,} durations from {durations} ({fit.column}, in {unit}); "
        "ranked by AIC (lowest first)",
        title_justify="left",
    )
    for name in (
        "family",
        "k",
        "AIC",
        "ΔAIC",
        "BIC",
        "KS",
        "KS p",
        "parameters (s)",
        "mean",
        "p50",
        "p95",
        "p99",
    ):
        table.add_column(name, justify="left" if name in ("family", "parameters (s)") else "right")
    observed = fit.observed
    table.add_row(
        "observed",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        *(_seconds(observed[key]) for key in ("mean", "p50", "p95", "p99")),
    )
    for candidate in fit.candidates:
        p = f"{candidate.ks_p:.2g}"
        if candidate.ks_p_bootstrap is not None:
            p += f" (boot. {candidate.ks_p_bootstrap:.2g})"
        dist = candidate.dist
        table.add_row(
            candidate.family,
            str(candidate.k),
            f"{candidate.aic:,.1f}",
            f"{candidate.aic - fit.best.aic:,.1f}",
            f"{candidate.bic:,.1f}",
            f"{candidate.ks_stat:.3f}",
            p,
            candidate.describe_params(),
            *(_seconds(v) for v in (dist.mean, *(dist.quantile(q) for q in (0.5, 0.95, 0.99)))),
        )
    out.print(table)
    out.print(
        "k = free parameters; AIC = 2k - 2 ln L; a ΔAIC above 10 means essentially no support. "
        "KS p-values are optimistic: the parameters come from the same data (see --bootstrap)."
    )
    for note in fit.notes:
        out.print("[yellow]note[/yellow]: ", end="")
        out.print(note, markup=False)
    out.print(fit.snippet(), markup=False, end="")
    if plot_path:
        out.print(f"wrote {plot_path}", markup=False)


@cli.command("fit-arrivals")
@click.argument("times", type=click.Path(dir_okay=False))
@click.option(
    "--column",
    help="The column of request times, date-times or seconds [default: timestamp or time, or the only column].",
)
@plot_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def fit_arrivals_command(
    times: str, column: str | None, plot_path: str | None, as_json: bool
) -> None:
    """Measure the rate, hour-of-day profile and burstiness of request TIMES (CSV) and
    suggest an arrival process."""
    from .fitting import fit_arrivals

    fit = fit_arrivals(times, column=column)
    if plot_path:
        _save_figure(fit.plot(), plot_path)
    if as_json:
        click.echo(json.dumps(fit.summary(), indent=2))
        return
    dispersion = fit.dispersion
    lines = [
        f"{fit.count:,} requests in {times} ({fit.column}) over {format_duration(fit.span_s)}",
        f"  rate: {fit.rate_per_s:.4g} per second, {fit.per_day:,.0f} per day",
        f"  inter-arrival CV: {fit.cv:.3g}; {fit.profile_cv:.3g} after the hour-of-day profile (Poisson: 1)",
        f"  dispersion of 1-minute counts: {dispersion:.3g}; {fit.profile_dispersion:.3g} after the "
        f"profile; over {fit.window_counts.size:,} windows (Poisson: 1)",
        f"  peak hour of the day: {fit.peak_hour:02d}:00; profile {'flat' if fit.flat else 'not flat'} "
        f"(chi-square p {fit.profile_p:.2g})",
    ]
    for line in lines:
        out.print(line, markup=False)
    table = Table(title="hour of the day (hours observed)", title_justify="left")
    for name in ("hour", "requests", "observed", "per second", "weight"):
        table.add_column(name, justify="right")
    rates, weights = fit.hourly_rate_per_s, fit.profile
    for hour in np.flatnonzero(fit.hour_exposure_s > 0):
        table.add_row(
            f"{hour:02d}",
            f"{fit.hour_counts[hour]:,.0f}",
            format_duration(float(fit.hour_exposure_s[hour])),
            f"{rates[hour]:.4g}",
            f"{weights[hour]:.3f}",
        )
    out.print(table)
    for note in fit.notes:
        out.print("[yellow]note[/yellow]: ", end="")
        out.print(note, markup=False)
    out.print(fit.snippet(), markup=False, end="")
    if plot_path:
        out.print(f"wrote {plot_path}", markup=False)


def _levers_table(entry: Any) -> Table:
    """One broken budget check and its levers, least disruptive first."""
    from .guardrails import money

    before = entry.before
    worst = before.worst
    service = entry.service_before
    b = before.budget
    table = Table(
        title=f"{b.name} on {before.platform}: P{b.quantile * 100:g} spend "
        f"{money(worst.spend_at_quantile, before.currency)} in {worst.month} against "
        f"{money(b.amount, before.currency)}; p99 time to ready "
        f"{format_duration(service.time_to_ready_p99_s)}, "
        f"{service.fast_share:.0%} of launches fast",
        title_justify="left",
    )
    columns: tuple[str, ...] = (
        "lever",
        "setting",
        "holds",
        f"P{b.quantile * 100:g} spend",
        "P(exceed)",
    )
    columns += ("p99 ready", "p99 queue", "lost", "timed out", "cut", "fast")
    for column in columns:
        table.add_column(column, justify="left" if column in ("lever", "setting") else "right")
    for lever in entry.levers:
        if lever.check is None or lever.service is None:
            table.add_row(lever.lever, f"n/a: {lever.note}", *["-"] * (len(columns) - 2))
            continue
        s = lever.service
        table.add_row(
            lever.lever,
            lever.setting + (" (assumed)" if lever.assumed else ""),
            "yes" if lever.holds else "no",
            money(lever.check.worst.spend_at_quantile, before.currency),
            f"{lever.check.worst.p_exceed:.0%}",
            _duration(s.time_to_ready_p99_s),
            _duration(s.queue_wait_p99_s),
            f"{s.lost_share:.1%}",
            f"{s.timed_out_share:.1%}",
            f"{s.cut_share:.1%}",
            f"{s.fast_share:.0%}",
        )
    return table


def _duration(value: float) -> str:
    return "-" if value != value else format_duration(value)


@cli.command("levers")
@click.argument("scenario")
@_forecast_options
@click.option(
    "--budget", "budgets", multiple=True, help="Only this budget (repeatable) [default: all]."
)
@click.option(
    "--lever",
    "only",
    multiple=True,
    help="Only this lever (repeatable): lifetime_cap, concurrency_cap, snapshot, warm_pool, "
    "move, commitment, committed_hosts [default: all].",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Folder for summary.json and levers.csv [default: results/<scenario name>-levers].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the levers as JSON.")
def levers_command(
    scenario: str,
    budgets: tuple[str, ...],
    only: tuple[str, ...],
    out_dir: str | None,
    as_json: bool,
    scheduler: str | None,
    workers: int | None,
    platforms: tuple[str, ...],
    **flags: Any,
) -> None:
    """For each budget of SCENARIO that breaks, search by simulation for the least
    disruptive setting of each lever that makes it hold (lifetime cap, concurrency cap,
    snapshots, warm pool, another platform, a commitment), with its latency cost. Exit 0
    when every broken budget has a lever that holds, 1 otherwise, 2 on bad input."""
    from .executors import make_executor
    from .levers import levers

    loaded = load_scenario(scenario)
    target = Path(out_dir) if out_dir else Path("results") / f"{loaded.name}-levers"
    _check_writable(target)
    result = levers(
        loaded,
        budgets=list(budgets) or None,
        only=list(only) or None,
        platforms=list(platforms) or None,
        executor=make_executor(scheduler, workers),
        **flags,
    )
    paths = result.write(target)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "status": "saved" if result.all_saved else "not_saved",
                    "scenario_name": result.base.scenario.name,
                    "scenario_hash": result.base.scenario.content_hash(),
                    "seed": result.base.scenario.seed,
                    "replications": result.base.replications,
                    "months": [m.label for m in result.base.months],
                    "levers": result.summary_section(),
                },
                indent=2,
                default=float,
            )
        )
    else:
        if not result.budgets:
            out.print("every budget holds: no lever needed")
        for entry in result.budgets:
            out.print(_levers_table(entry))
            notes = [f"{lv.lever}: {lv.note}" for lv in entry.levers if lv.check and lv.note]
            for note in notes:
                out.print(f"note: {note}", markup=False)
            if not entry.saved:
                out.print(
                    f"no lever makes {entry.before.budget.name} hold on {entry.before.platform}",
                    markup=False,
                )
        out.print(
            f"searched the months each budget breaks in; settings found re-simulated over "
            f"{result.base.months[0].label} to {result.base.months[-1].label}"
        )
        out.print(f"wrote {' and '.join(str(p) for p in paths.values())}")
    if not result.all_saved:
        raise SystemExit(EXIT_BREACH)


@cli.group()
def platforms() -> None:
    """Platform profiles: launch latency, quotas, limits and shapes, with sources."""


@platforms.command("list")
def platforms_list() -> None:
    """List the platform profiles."""
    catalog = load_catalog()
    table = Table(title="platform profiles", title_justify="left")
    for column in ("id", "name", "isolation", "launch modes (mean)", "quota", "max lifetime"):
        table.add_column(column)
    for profile in sorted(catalog.profiles.values(), key=lambda p: p.id):
        modes = ", ".join(
            f"{mode} {format_duration(path.mean_s)}" for mode, path in profile.launch.items()
        )
        quota = profile.quota
        limits = [
            f"{quota.concurrency} sandboxes" if quota.concurrency else "",
            f"{quota.vcpu:g} vCPU" if quota.vcpu else "",
        ]
        table.add_row(
            profile.id,
            profile.name,
            profile.isolation,
            modes,
            ", ".join(x for x in limits if x) or "none published",
            format_duration(profile.max_lifetime.max) if profile.max_lifetime else "-",
        )
    out.print(table)


def _describe_profile(profile: PlatformProfile) -> list[str]:
    lines = [
        f"{profile.id}: {profile.name} ({profile.vendor}, {profile.isolation})",
        f"  {profile.description.strip()}",
    ]
    for mode, path in profile.launch.items():
        lines.append(f"  launch {mode} (mean {format_duration(path.mean_s)}):")
        for part in path.parts:
            flag = " [assumed]" if part.provenance.assumed else ""
            lines.append(
                f"    {part.name}: {part.latency.describe()}{flag}  ({part.provenance.source})"
            )
    quota = profile.quota
    lines.append(
        f"  quota: {quota.concurrency or '-'} sandboxes, {quota.vcpu or '-'} vCPU, {quota.gpu or '-'} GPUs; "
        f"over quota: {quota.over_quota}  ({quota.provenance.source})"
    )
    if profile.launch_rate:
        lines.append(
            f"  launch rate: {profile.launch_rate.per_second:g}/s, burst {profile.launch_rate.burst}  ({profile.launch_rate.provenance.source})"
        )
    if profile.max_lifetime:
        lines.append(
            f"  max lifetime: {format_duration(profile.max_lifetime.max)}  ({profile.max_lifetime.provenance.source})"
        )
    for name, plan in profile.plans.items():
        lines.append(
            f"  plan {name}: {plan.concurrency or '-'} sandboxes, {plan.gpu or '-'} GPUs, lifetime {format_duration(plan.max_lifetime) if plan.max_lifetime else '-'}"
        )
    if profile.gpus:
        lines.append(f"  GPUs: {', '.join(g.type for g in profile.gpus)}")
    return lines


@platforms.command("show")
@click.argument("profile_id")
def platforms_show(profile_id: str) -> None:
    """Show one platform profile with the source of every figure."""
    catalog = load_catalog()
    profile = catalog.profile(profile_id, source="sandsim platforms show", field_name="PROFILE_ID")
    for line in _describe_profile(profile):
        out.print(line, markup=False)


@cli.command()
def scenarios() -> None:
    """List the bundled example scenarios."""
    for path in sorted(bundled_dir("scenarios").glob("*.yaml")):
        loaded = load_scenario(path)
        out.print(f"{path.stem}: {' '.join(loaded.description.split())}", markup=False)


@cli.command()
@click.option(
    "--kind",
    type=click.Choice(["scenario", "pricing", "hosts", "platform"]),
    default="scenario",
    show_default=True,
)
def schema(kind: str) -> None:
    """Print the JSON schema of scenario files (or price tables, host price tables, or
    platform profiles)."""
    models: dict[str, type[BaseModel]] = {
        "scenario": Scenario,
        "pricing": PriceTable,
        "hosts": HostPriceTable,
        "platform": PlatformProfile,
    }
    model = models[kind]
    click.echo(json.dumps(model.model_json_schema(by_alias=True), indent=2))


from . import cli_studies  # noqa: E402, F401  (registers sweep, compare and sensitivity)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the CLI and map failures to exit codes without tracebacks."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="sandsim", standalone_mode=False)
    except InputError as error:
        err.print("[red]error[/red]: ", end="")
        err.print(error.render(), markup=False, highlight=False)
        return EXIT_INPUT
    except click.exceptions.UsageError as error:
        err.print(
            error.format_message()
            if error.ctx is None
            else f"{error.ctx.get_usage()}\n\nerror: {error.format_message()}",
            markup=False,
        )
        return EXIT_INPUT
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except SystemExit as done:  # a command's own exit code (guard: 1 when a budget breaks)
        return done.code if isinstance(done.code, int) else EXIT_INTERNAL
    except (click.exceptions.Abort, KeyboardInterrupt):
        err.print("interrupted", markup=False)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:
        if debug:
            raise
        err.print(
            f"internal error: {type(error).__name__}: {error}\n"
            "  this is a bug in sandsim; run again with --debug for a traceback and report it",
            markup=False,
        )
        command = next((a for a in args if not a.startswith("-")), "")
        return EXIT_GUARD_INTERNAL if command in ("guard", "levers") else EXIT_INTERNAL
    return EXIT_OK


if __name__ == "__main__":
    # run the module as imported (`simulator.cli`), on whose group the studies registered
    from simulator.cli import main as registered_main

    raise SystemExit(registered_main())
