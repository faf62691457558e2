"""docs/platforms.md, generated from the bundled catalog: every platform profile's launch
parts, limits and shapes, every price table's rates and every host type's prices, each
with its source, as-of date and whether it is assumed.

    python -m simulator.platform_docs > docs/platforms.md
"""

from __future__ import annotations

from typing import Any

from .catalog import Catalog, load_catalog
from .model_base import Provenance
from .pricing import rate_text


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _row(item: str, value: str, provenance: Provenance | None) -> str:
    if provenance is None:
        return f"| {_cell(item)} | {_cell(value)} | | | |"
    note = f" ({provenance.note})" if provenance.note else ""
    return (
        f"| {_cell(item)} | {_cell(value)} | {_cell(provenance.source + note)} | "
        f"{_cell(provenance.as_of)} | {'assumed' if provenance.assumed else ''} |"
    )


HEADER = ["| item | value | source | as of | assumed |", "|---|---|---|---|---|"]


def platform_reference(catalog: Catalog | None = None) -> str:
    """The platforms page."""
    catalog = catalog or load_catalog()
    lines = [
        "# Platforms, prices and their sources",
        "",
        "Generated from the bundled catalog (`platforms/`, `pricing/`) by "
        "`python -m simulator.platform_docs`; a test checks it is current. Figures marked "
        "assumed are not published by the provider: they are informed assumptions, and the "
        "summary and the report list them wherever a result rests on them. Point "
        "`pricing_dir` (or `--pricing-dir`) at your own tables for negotiated rates.",
        "",
    ]
    for profile_id in sorted(catalog.profiles):
        profile = catalog.profiles[profile_id]
        lines += [
            f"## {profile.name} (`{profile.id}`)",
            "",
            f"{profile.vendor}; isolation: {profile.isolation}. {profile.description}".strip(),
            "",
            *HEADER,
        ]
        for mode, path in profile.launch.items():
            lines += [
                _row(f"launch {mode}: {part.name}", part.latency.describe(), part.provenance)
                for part in path.parts
            ]
        quota = profile.quota
        limit = ", ".join(
            f"{name} {value:g}"
            for name, value in (
                ("sandboxes", quota.concurrency),
                ("vCPU", quota.vcpu),
                ("GPUs", quota.gpu),
            )
            if value is not None
        )
        lines.append(
            _row("quota", f"{limit or 'none'}; over it: {quota.over_quota}", quota.provenance)
        )
        if profile.launch_rate is not None:
            rate = profile.launch_rate
            lines.append(
                _row(
                    "launch rate",
                    f"{rate.per_second:g}/s, burst {rate.burst}",
                    rate.provenance,
                )
            )
        if profile.max_lifetime is not None:
            lines.append(
                _row(
                    "max lifetime",
                    f"{profile.max_lifetime.max:g} s",
                    profile.max_lifetime.provenance,
                )
            )
        lines.append(_row("shapes", profile.shapes.kind, profile.shapes.provenance))
        if profile.pipeline is not None:
            lines.append(
                _row(
                    "launch pipeline",
                    f"{profile.pipeline.hosts} hosts",
                    profile.pipeline.provenance,
                )
            )
        if profile.overhead is not None:
            overhead = profile.overhead
            lines.append(
                _row(
                    "per-sandbox overhead",
                    f"{overhead.vcpu:g} vCPU, {overhead.memory:g} GiB",
                    overhead.provenance,
                )
            )
        lines.append("")
        tables = catalog.tables_for(profile.id)
        for table in tables:
            lines += [
                f"### Price table `{table.id}`: {table.name} ({table.region}, as of {table.as_of})",
                "",
                *HEADER,
                *(_row(name, rate_text(item), item) for name, item in table.rated_items()),
                "",
            ]
    for table_id in sorted(catalog.host_tables):
        hosts = catalog.host_tables[table_id]
        lines += [f"## Host prices `{hosts.id}`: {hosts.name}", "", *HEADER]
        billing = hosts.billing
        free = billing.spot_interrupted_free_s
        lines.append(
            _row(
                "billing",
                f"increment {billing.increment:g} s, minimum {billing.minimum:g} s"
                + (f"; spot hosts taken back within {free:g} s of starting: free" if free else ""),
                billing,
            )
        )
        split = hosts.cost_split
        lines.append(
            _row(
                "showback weights",
                f"vCPU-h {split.vcpu_hour:g}, GiB-h {split.gib_hour:g}, GPU-h {split.gpu_hour:g}",
                split,
            )
        )
        for name, host in sorted(hosts.hosts.items()):
            gpus = f", {host.gpus} x {host.gpu_type}" if host.gpus else ""
            lines.append(
                _row(name, f"{host.vcpu:g} vCPU, {host.memory:g} GiB{gpus}", host.provenance)
            )
            lines += [
                _row(f"{name} {purchase}", rate_text(rate), rate)
                for purchase, rate in sorted(host.prices.items())
            ]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(platform_reference(), end="")
