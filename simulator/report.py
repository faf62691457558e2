"""The batch report: one self-contained HTML file (figures embedded, no network requests,
readable printed), the same in Markdown, and its tables as CSV (and XLSX with openpyxl).

It runs what the scenario asks: the simulation always; the monthly forecast and its
budget checks when the scenario has a ``forecast`` or ``budgets`` section; fleet and
burst sections where they apply. Every figure and table comes from the library
(``simulator.plots``, the summary, the forecast); nothing here models anything.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from . import plots
from .metrics import backlog_share, cut_share, keeps_up
from .pricing import rate_text
from .summary import short_horizon_warning

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .forecast import ForecastResult
    from .guardrails import BudgetCheck
    from .runner import SimulationResult
    from .scenario import Scenario


@dataclass
class Section:
    """One section of the report: prose, tables and figures, in order."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[tuple[str, Figure]] = field(default_factory=list)


@dataclass
class Report:
    """A built report: its sections, and the results it was built from."""

    scenario: Scenario
    result: SimulationResult
    forecast: ForecastResult | None
    budget_checks: list[BudgetCheck]
    sections: list[Section]

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by file-safe name."""
        return {_slug(name): table for s in self.sections for name, table in s.tables}

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write report.html, report.md, one CSV per table, and report.xlsx when openpyxl
        is installed; returns the paths by name."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        images = {id(figure): _png(figure) for s in self.sections for _caption, figure in s.figures}
        paths = {"report.html": out / "report.html", "report.md": out / "report.md"}
        paths["report.html"].write_text(self.html(images), encoding="utf-8")
        paths["report.md"].write_text(self.markdown(images, out), encoding="utf-8")
        for section in self.sections:
            for caption, _figure in section.figures:
                path = out / f"figure-{_slug(caption)}.png"
                paths[path.name] = path
        for name, table in self.tables().items():
            path = out / f"{name}.csv"
            table.to_csv(path, index=False)
            paths[path.name] = path
        if importlib.util.find_spec("openpyxl") is not None:
            path = out / "report.xlsx"
            with pd.ExcelWriter(path, engine="openpyxl") as writer:
                for name, table in self.tables().items():
                    table.to_excel(writer, sheet_name=name[:31], index=False)
            paths[path.name] = path
        return paths

    def html(self, images: dict[int, bytes]) -> str:
        """The report as one HTML document: figures as data URIs, a content security policy
        that forbids any fetch, and every text from the scenario escaped."""
        title = f"sandsim report: {self.scenario.name}"
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
            f"<title>{html.escape(title)}</title>",
            f"<style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(title)}</h1>",
            "<nav><ol>"
            + "".join(
                f'<li><a href="#{_slug(s.title)}">{html.escape(s.title)}</a></li>'
                for s in self.sections
            )
            + "</ol></nav>",
        ]
        for section in self.sections:
            parts.append(f'<section id="{_slug(section.title)}">')
            parts.append(f"<h2>{html.escape(section.title)}</h2>")
            parts += [f"<p>{html.escape(text)}</p>" for text in section.paragraphs]
            for caption, table in section.tables:
                parts.append(f"<h3>{html.escape(caption)}</h3>")
                parts.append(_html_table(table))
            for caption, figure in section.figures:
                data = base64.b64encode(images[id(figure)]).decode("ascii")
                parts.append(
                    f'<figure><img class="figure" alt="{html.escape(caption)}" '
                    f'src="data:image/png;base64,{data}">'
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                )
            parts.append("</section>")
        parts.append(f"<script>{_RENDER_CHECK}</script></body></html>")
        return "\n".join(parts)

    def markdown(self, images: dict[int, bytes], out: Path) -> str:
        """The report in Markdown; figures are written next to it as PNG files."""
        lines = [f"# sandsim report: {_md_text(self.scenario.name)}", ""]
        for section in self.sections:
            lines += [f"## {_md_text(section.title)}", ""]
            for text in section.paragraphs:
                lines += [_md_text(text), ""]
            for caption, table in section.tables:
                lines += [f"### {_md_text(caption)}", "", _md_table(table), ""]
            for caption, figure in section.figures:
                name = f"figure-{_slug(caption)}.png"
                (out / name).write_bytes(images[id(figure)])
                lines += [f"![{_md_text(caption)}]({name})", ""]
        return "\n".join(lines)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1000px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.85em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}img.figure{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#555}pre{background:#f7f7f7;padding:1em;overflow-x:auto;
font-size:.8em;white-space:pre-wrap}
@media print{nav{display:none}section{break-inside:avoid-page}h2{break-after:avoid}
img.figure{max-width:90%}body{margin:0;max-width:none}}
"""

_RENDER_CHECK = """
window.addEventListener('load',function(){var f=document.querySelectorAll('img.figure');
var ok=0;f.forEach(function(i){if(i.complete&&i.naturalWidth>0){ok++;}});
var ext=performance.getEntriesByType('resource').filter(function(e){
return e.name.indexOf('data:')!==0;}).length;
document.body.setAttribute('data-figures',String(f.length));
document.body.setAttribute('data-figures-rendered',String(ok));
document.body.setAttribute('data-external-requests',String(ext));});
"""
"""Sets, once loaded, how many figures there are, how many rendered, and how many
resources were fetched from anywhere but data URIs (a headless browser test reads them)."""


def _slug(text: str) -> str:
    keep = "".join(c.lower() if c.isalnum() else "-" for c in text)
    return "-".join(part for part in keep.split("-") if part) or "section"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _html_table(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row in table.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _md_text(text: str) -> str:
    """Text from a scenario, made inert in Markdown (no HTML, links or images)."""
    escaped = html.escape(text, quote=False)
    for char in "\\`*_[]()#!|<>":
        escaped = escaped.replace(char, "\\" + char)
    return escaped


def _md_table(table: pd.DataFrame) -> str:
    head = "| " + " | ".join(_md_text(str(c)) for c in table.columns) + " |"
    rule = "|" + "---|" * len(table.columns)
    rows = [
        "| " + " | ".join(_md_text(_cell(v)) for v in row) + " |"
        for row in table.itertuples(index=False)
    ]
    return "\n".join([head, rule, *rows])


# ---------------------------------------------------------------------------- building


def build_report(
    scenario: Scenario,
    *,
    months: int | None = None,
    executor: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Run what the scenario asks and assemble the report's sections."""
    from .runner import simulate

    result = simulate(scenario, progress=progress)
    forecast_result = None
    checks: list[BudgetCheck] = []
    if scenario.forecast is not None or scenario.budgets:
        from .forecast import forecast

        forecast_result = forecast(scenario, months=months, executor=executor)
        checks = list(forecast_result.check_budgets())
    summary = result.summary()
    sections = [
        _summary_section(scenario, result, summary, checks),
        _spend_section(result, summary),
    ]
    if forecast_result is not None:
        sections.append(_forecast_section(forecast_result, checks))
    sections.append(_latency_section(result, summary))
    fleets = [p for p in result.platforms if p.fleet is not None]
    if fleets:
        sections.append(_fleet_section(result, summary, [p.id for p in fleets]))
    sections.append(_workload_section(scenario, result))
    sections.append(_assumptions_section(result, summary))
    sections.append(_reproducibility_section(scenario, summary))
    return Report(scenario, result, forecast_result, checks, sections)


def _spend_table(result: SimulationResult, summary: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for platform_id in result.platform_ids:
        cost = summary["platforms"][platform_id]["cost_usd"]["per_month"]
        ready = summary["platforms"][platform_id]["time_to_ready_s"]
        sandboxes = summary["platforms"][platform_id]["sandboxes"]
        rows.append(
            {
                "platform": platform_id,
                f"mean per month ({result.scenario.currency})": cost["mean"],
                "P5": cost["p5"],
                "P95": cost["p95"],
                "ready p99 (s)": ready.get("p99"),
                "not served share": _not_served(sandboxes),
                "waiting at horizon share": backlog_share(
                    [run.metrics for run in result.runs.get(platform_id, [])]
                ),
                "priced by": _priced_by(result, platform_id),
                "workloads": result.scenario.served_label(platform_id),
            }
        )
    return pd.DataFrame(rows)


def _not_served(sandboxes: dict[str, Any]) -> float:
    """Share of requests rejected, abandoned in the queue, or stopped at a lifetime cap."""
    requested = sandboxes.get("requested") or 0.0
    failed = sum(sandboxes.get(k) or 0.0 for k in ("rejected", "abandoned", "timed_out"))
    return failed / requested if requested else 0.0


def _priced_by(result: SimulationResult, platform_id: str) -> str:
    resolved = result.platform(platform_id)
    if resolved.fleet is not None:
        return f"host time ({resolved.fleet.table.id})"
    return str(resolved.price_table.id)


_SERVES = (
    "serves at least 99% of requests (not rejected, not abandoned, not stopped at a "
    "lifetime cap) and of the run time they ask for, and keeps up with them (at most 1% "
    "still waiting to launch when the horizon ended, the test of sandsim breakeven)"
)


def _shortfall(result: SimulationResult, summary: dict[str, Any], platform_id: str) -> str | None:
    """Why a platform does not count as serving its requests (None: it does): work it
    turned away or cut, or a backlog it cannot keep up with (``metrics.keeps_up``)."""
    metrics = [run.metrics for run in result.runs.get(platform_id, [])]
    lost = _not_served(summary["platforms"][platform_id]["sandboxes"])
    cut = cut_share(metrics)
    if lost > 0.01:
        return f"{lost:.1%} of its requests were rejected, abandoned or stopped at a lifetime cap"
    if cut > 0.01:
        return f"a lifetime cap cut {cut:.1%} of the run time asked for"
    if not keeps_up(metrics):
        return (
            f"{backlog_share(metrics):.1%} of its requests had not started launching when "
            "the horizon ended: it falls behind, and the backlog keeps growing"
        )
    return None


def _recommend_among(
    result: SimulationResult,
    summary: dict[str, Any],
    checks: list[BudgetCheck],
    ids: list[str],
    work: str | None,
) -> tuple[list[str], list[str]]:
    """The cheapest of ``ids`` that serves its requests, the runner-up, and the caveats.
    ``work`` names the workloads the group runs (None: every platform of the run runs
    the same work)."""
    currency = result.scenario.currency
    rows = [
        (pid, summary["platforms"][pid]["cost_usd"]["per_month"], _shortfall(result, summary, pid))
        for pid in ids
    ]
    serving = [r for r in rows if r[2] is None]
    pool = sorted(serving or rows, key=lambda r: r[1]["mean"])
    best, cost, why = pool[0]
    spend = f"{cost['mean']:,.2f} {currency} per 30-day month " + (
        f"(P5-P95 {cost['p5']:,.2f}-{cost['p95']:,.2f})"
        if result.scenario.replications > 1
        else "(one replication: no P5-P95 band)"
    )
    if work is None:
        text = [
            f"Cheapest platform that {_SERVES}: {best}, at {spend}."
            if serving
            else f"No platform {_SERVES}; the cheapest is {best} at {spend}."
        ]
    elif len(ids) == 1:
        text = [
            f"Running {work}: {best} alone, at {spend}"
            + ("." if why is None else f"; it does not serve them: {why}.")
        ]
    else:
        text = [
            f"Running {work} ({', '.join(ids)}): cheapest that serves them: {best}, at {spend}."
            if serving
            else f"Running {work} ({', '.join(ids)}): none serves them; the cheapest is "
            f"{best}, at {spend}."
        ]
    text += [
        f"Not counted as serving: {pid}, at {other['mean']:,.2f} {currency} per month: {reason}."
        for pid, other, reason in sorted(rows, key=lambda r: r[1]["mean"])
        if reason is not None and serving and other["mean"] < cost["mean"]
    ]
    caveats = []
    if len(pool) > 1:
        runner, other, _ = pool[1]
        text.append(
            f"Next: {runner} at {other['mean']:,.2f} {currency} per month "
            f"({other['mean'] / cost['mean'] - 1:+.0%})."
            if cost["mean"]
            else f"Next: {runner}."
        )
        if other["p5"] is not None and cost["p95"] is not None and other["p5"] <= cost["p95"]:
            caveats.append(
                f"The spend bands of {best} and {runner} overlap: with "
                f"{result.scenario.replications} replications they are not clearly apart."
            )
    caveats += [w for w in summary["warnings"] if w.startswith(f"{best}:")]
    for check in checks:
        if not check.holds and check.platform == best:
            caveats.append(
                f"Budget {check.budget.name!r} breaks on {best} from {check.first_breach}."
            )
    return text, caveats


def _recommendation(
    result: SimulationResult, summary: dict[str, Any], checks: list[BudgetCheck]
) -> tuple[list[str], list[str]]:
    """The cheapest platform that keeps up, and the caveats that qualify it; where the
    platforms run different sets of workloads, one per set (their costs are of
    different work)."""
    groups = result.scenario.platforms_by_workloads()
    if len(groups) == 1:
        return _recommend_among(result, summary, checks, groups[0][1], None)
    text = [f"The cheapest platform that {_SERVES}, for each set of workloads the platforms run:"]
    caveats: list[str] = []
    for label, ids in groups:
        work = "every workload" if label == "all" else f"only {label}"
        more_text, more_caveats = _recommend_among(result, summary, checks, ids, work)
        text += more_text
        caveats += more_caveats
    return text, caveats


def _served_text(scenario: Scenario) -> str:
    """Which requests the platforms replay: the same, or (where they run different
    workloads) which workloads each runs."""
    runs = scenario.workloads_run_text()
    if runs is None:
        label = scenario.platforms_by_workloads()[0][0]
        scope = "" if label == "all" else f" of {label}"
        return f"all replaying the same sampled requests{scope}."
    return (
        f"each replaying the same sampled requests of the workloads it runs, and they run "
        f"different workloads: {runs}. Costs of different workloads are of different work, "
        "so platforms are ranked only against those running the same workloads."
    )


def _summary_section(
    scenario: Scenario,
    result: SimulationResult,
    summary: dict[str, Any],
    checks: list[BudgetCheck],
) -> Section:
    text, caveats = _recommendation(result, summary, checks)
    short = short_horizon_warning(scenario.horizon)
    if short is not None:
        caveats.insert(0, short[0].upper() + short[1:] + ".")
    paragraphs = [
        scenario.description or "(no description)",
        f"Horizon {scenario.horizon / 3600:,.1f} h, {scenario.replications} replications, "
        f"seed {scenario.seed}; {len(scenario.workloads)} workload(s) on "
        f"{len(result.platforms)} platform(s), {_served_text(result.scenario)}",
        *text,
    ]
    paragraphs += [f"Caveat: {c}" for c in caveats] or ["Caveats: none raised by the run."]
    section = Section("Summary and recommendation", paragraphs)
    section.tables.append(("Platforms at a glance", _spend_table(result, summary)))
    if checks:
        section.tables.append(("Budgets", _budget_table(checks)))
    return section


def _month_notes(scenario: Scenario) -> list[str]:
    """What the per-month figures rest on, where a reader could misread them."""
    notes = []
    if scenario.replications == 1:
        notes.append(
            "Note: this run has one replication, so every P5-P95 band below has no width: it "
            "is that replication's figure, not a spread across replications (run more "
            "replications for a band)."
        )
    short = short_horizon_warning(scenario.horizon)
    if short is not None:
        notes.append(f"Note: {short}.")
    return notes


def _spend_section(result: SimulationResult, summary: dict[str, Any]) -> Section:
    items = result.mean_line_items()
    by_component = (
        items.groupby(["platform", "component"], sort=False)["cost_usd_per_month"]
        .sum()
        .unstack("component")
        .fillna(0.0)
        .reset_index()
    )
    section = Section(
        "Spend per platform",
        [
            "Monthly spend is the simulated horizon's bill scaled to a 30-day month; the band "
            "is the 5th to 95th percentile across replications. Components show why: "
            "vCPU, memory and GPU time, per-request fees, plan fees and a fleet's idle hosts.",
            *_month_notes(result.scenario),
        ],
    )
    section.tables.append(
        (f"Spend by component ({result.scenario.currency} per month)", by_component)
    )
    section.figures.append(
        ("Monthly spend per platform with its P5-P95 band", plots.spend_by_platform(result))
    )
    section.figures.append(("Monthly spend by component", plots.spend_by_component(result)))
    return section


def _budget_table(checks: list[BudgetCheck]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "budget": c.budget.name,
                "platform": c.platform,
                f"amount ({c.currency})": c.budget.amount,
                "quantile": c.budget.quantile,
                "holds": "yes" if c.holds else "no",
                "first breach": c.first_breach or "-",
                "worst month": c.worst.month,
                "spend at quantile": c.worst.spend_at_quantile,
                "P(exceed)": c.worst.p_exceed,
            }
            for c in checks
        ]
    )


def _forecast_section(forecast_result: ForecastResult, checks: list[BudgetCheck]) -> Section:
    bands = forecast_result.bands()
    totals = bands[bands["scope"] == "platform"][
        ["month", "platform", "p5", "p50", "p95", "mean", "currency"]
    ]
    section = Section(
        "Monthly forecast and budgets",
        [
            "Each calendar month is simulated with its volume (growth, weekday and weekend "
            "profiles, events) and billed as one month (see docs/forecasts.md). "
            f"{forecast_result.replications} replications per month.",
            *forecast_result.warnings(),
        ],
    )
    section.tables.append(("Forecast spend per month", totals.reset_index(drop=True)))
    for check in checks:
        section.figures.append(
            (
                f"Cumulative spend of {check.platform} against budget {check.budget.name}",
                plots.budget_burn(forecast_result, check),
            )
        )
    return section


def _latency_section(result: SimulationResult, summary: dict[str, Any]) -> Section:
    rows = []
    for platform_id in result.platform_ids:
        entry = summary["platforms"][platform_id]
        ready = entry["time_to_ready_s"]
        launch = entry.get("launch") or {}
        rows.append(
            {
                "platform": platform_id,
                "launch mode": entry["launch_mode"],
                "p50 (s)": ready.get("p50"),
                "p95 (s)": ready.get("p95"),
                "p99 (s)": ready.get("p99"),
                "queue wait mean (s)": entry["queue_wait_s"].get("mean"),
                "warm hits": launch.get("warm_hits"),
                "snapshot restores": launch.get("snapshot_restores"),
                "cold boots": launch.get("cold_boots"),
            }
        )
    section = Section(
        "Time to ready and concurrency",
        [
            "Time to ready is request to ready: rate-limit and quota waits plus the launch "
            "(cold boot, snapshot restore, warm hand-over or resume)."
        ],
    )
    section.tables.append(("Time to ready", pd.DataFrame(rows)))
    bursts = [
        {"platform": p, "workload": w, **values}
        for p in result.platform_ids
        for w, values in (summary["platforms"][p].get("burst") or {}).items()
    ]
    if bursts:
        section.tables.append(("Bursts: time until sandboxes are ready (s)", pd.DataFrame(bursts)))
    section.figures.append(("Time to ready by launch mode", plots.time_to_ready_cdf(result)))
    section.figures.append(("Concurrency over the first day", plots.concurrency_over_day(result)))
    return section


SHARE_DECIMALS = 4
"""Shares in the fleet table are rounded to 0.01% (summary.json keeps them whole)."""


def _fleet_section(result: SimulationResult, summary: dict[str, Any], ids: list[str]) -> Section:
    entries = [summary["platforms"][platform_id] for platform_id in ids]
    # GPU columns only where some fleet has GPUs (None on CPU hosts)
    resources = [
        r
        for r in entries[0]["utilisation"]
        if any(e["utilisation"][r] is not None for e in entries)
    ]

    def shares(entry: dict[str, Any], key: str, name: str) -> dict[str, float | None]:
        return {
            f"{name} {r}": None if entry[key][r] is None else round(entry[key][r], SHARE_DECIMALS)
            for r in resources
        }

    rows = [
        {
            "platform": platform_id,
            "host type": entry["hosts"]["type"],
            "mean hosts": entry["hosts"]["mean"],
            "peak hosts": entry["hosts"]["peak"],
            **shares(entry, "utilisation", "utilisation"),
            **shares(entry, "stranded", "stranded"),
            **shares(entry, "stranded_while_waiting", "stranded while waiting"),
            "packing efficiency": entry["fleet"]["packing_efficiency"],
        }
        for platform_id, entry in zip(ids, entries, strict=True)
    ]
    replications = result.scenario.replications
    section = Section(
        "Self-hosted fleets",
        [
            "Utilisation is allocated over offered, time-weighted; stranded is free room no "
            "sandbox shape fits in; stranded while waiting is free room no waiting sandbox "
            "fits in, while sandboxes waited for capacity; packing efficiency is the hosts "
            "the volume lower bound needs over the hosts running. The table gives means over "
            f"the {replications} replication(s), shares rounded to 0.01%; each figure of "
            "hosts over time shows replication 0 and its own utilisation."
        ],
    )
    section.tables.append(("Hosts and utilisation", pd.DataFrame(rows)))
    for platform_id in ids:
        section.figures.append(
            (
                f"Hosts of {platform_id} over time (replication 0)",
                plots.fleet_hosts(result, platform_id),
            )
        )
    return section


def _workload_section(scenario: Scenario, result: SimulationResult) -> Section:
    rows = []
    for workload in scenario.workloads:
        shape = workload.shape
        rows.append(
            {
                "workload": workload.name,
                "team": workload.team,
                "arrivals": workload.arrivals.kind,
                "duration": workload.duration.describe() if workload.duration else "session",
                "vCPU": shape.vcpu,
                "memory (GiB)": shape.memory,
                "GPU": shape.gpu.describe() if shape.gpu else "-",
            }
        )
    section = Section("Workloads and durations", [])
    section.tables.append(("Workloads", pd.DataFrame(rows)))
    section.figures.append(
        ("Sampled durations per workload", plots.duration_distribution(scenario))
    )
    return section


def assumptions_table(result: SimulationResult) -> pd.DataFrame:
    """Every price and launch-latency figure the platforms use, with its source, as-of
    date and whether it is assumed."""
    rows: list[dict[str, Any]] = []
    for resolved in result.platforms:
        if resolved.fleet is not None:
            for kind in resolved.fleet.kinds:
                for purchase, usd in sorted(kind.usd_per_hour.items()):
                    rows.append(
                        {
                            "platform": resolved.id,
                            "kind": "host price",
                            "item": f"{kind.name}:{purchase}",
                            "value": f"{usd:.4f} USD/hour",
                            "source": resolved.fleet.table.id,
                            "as of": "",
                            "assumed": purchase in kind.assumed_prices,
                        }
                    )
        else:
            table = resolved.price_table
            for name, provenance in table.rated_items():
                rows.append(
                    {
                        "platform": resolved.id,
                        "kind": "price",
                        "item": name,
                        "value": rate_text(provenance),
                        "source": provenance.source,
                        "as of": provenance.as_of,
                        "assumed": provenance.assumed,
                    }
                )
        rows.extend(
            {
                "platform": resolved.id,
                "kind": "launch latency",
                "item": part.name,
                "value": part.latency.describe(),
                "source": part.provenance.source,
                "as of": part.provenance.as_of,
                "assumed": part.provenance.assumed,
            }
            for part in resolved.launch_path.parts
        )
    return pd.DataFrame(
        rows, columns=["platform", "kind", "item", "value", "source", "as of", "assumed"]
    )


def _assumptions_section(result: SimulationResult, summary: dict[str, Any]) -> Section:
    section = Section(
        "Assumptions and sources",
        [
            "Every price and launch-latency figure used, with its source and as-of date. "
            "Figures marked assumed are not published by the provider.",
            *(f"Note: {w}" for w in summary["warnings"]),
        ],
    )
    section.tables.append(("Prices and latencies used", assumptions_table(result)))
    coverage = summary.get("coverage") or {}
    if coverage:
        rows = [
            {
                "platform": platform_id,
                "included": ", ".join(entry.get("included") or []),
                "excluded": ", ".join(entry.get("excluded") or []),
            }
            for platform_id, entry in coverage.items()
        ]
        section.tables.append(("What the figures include and exclude", pd.DataFrame(rows)))
    return section


def _reproducibility_section(scenario: Scenario, summary: dict[str, Any]) -> Section:
    resolved = yaml.safe_dump(scenario.resolved_dict(), sort_keys=False)
    section = Section(
        "Reproducibility",
        [
            f"sandsim {summary['sandsim_version']}; scenario hash {summary['scenario_hash']}; "
            f"inputs hash {summary['inputs_hash']}; seed {summary['seed']}.",
            "The resolved scenario follows (every default filled in).",
        ],
    )
    section.tables.append(
        ("Resolved scenario", pd.DataFrame({"resolved scenario (YAML)": resolved.splitlines()}))
    )
    data = summary.get("data_files") or {}
    if data:
        section.tables.append(
            ("Data files", pd.DataFrame({"file": list(data), "sha256": list(data.values())}))
        )
    return section
