"""The bundled data (price tables, platform profiles, example scenarios) and user additions.

In a wheel the data ships under ``simulator/_bundled``; in a source checkout it is read
from the repository's top-level ``pricing/``, ``platforms/`` and ``scenarios/`` folders.
User price tables (negotiated rates) are read from extra folders and replace bundled
tables with the same id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from .errors import InputError
from .hosts import HostPriceTable
from .loading import load_model
from .platforms import PlatformProfile
from .pricing import PriceTable

DataKind = Literal["pricing", "platforms", "scenarios"]


def bundled_dir(kind: DataKind) -> Path:
    """The folder of bundled data of one kind (wheel first, then the source checkout)."""
    packaged = Path(str(resources.files("simulator"))) / "_bundled" / kind
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / kind


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, for provenance in outputs."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Catalog:
    """All platform profiles and price tables available to a run, with the files they came from."""

    profiles: dict[str, PlatformProfile]
    price_tables: dict[str, PriceTable]
    files: dict[str, Path] = field(default_factory=dict)
    host_tables: dict[str, HostPriceTable] = field(default_factory=dict)
    """Host price tables for self-hosted fleets, by id."""
    """Where each profile (``platform:<id>``) and table (``pricing:<id>``) was read from."""

    def profile(
        self, profile_id: str, *, source: str | None = None, field_name: str | None = None
    ) -> PlatformProfile:
        """A profile by id, or an error listing the ids that exist."""
        try:
            return self.profiles[profile_id]
        except KeyError:
            raise InputError(
                f"unknown platform profile {profile_id!r}",
                source=source,
                field=field_name,
                fix=f"use one of: {', '.join(sorted(self.profiles))} (see `sandsim platforms list`)",
            ) from None

    def price_table(
        self, table_id: str, *, source: str | None = None, field_name: str | None = None
    ) -> PriceTable:
        """A price table by id, or an error listing the ids that exist."""
        try:
            return self.price_tables[table_id]
        except KeyError:
            raise InputError(
                f"unknown price table {table_id!r}",
                source=source,
                field=field_name,
                fix=f"use one of: {', '.join(sorted(self.price_tables))} (see `sandsim pricing list`)",
            ) from None

    def host_table(
        self, table_id: str, *, source: str | None = None, field_name: str | None = None
    ) -> HostPriceTable:
        """A host price table by id, or an error listing the ids that exist."""
        try:
            return self.host_tables[table_id]
        except KeyError:
            raise InputError(
                f"unknown host price table {table_id!r}",
                source=source,
                field=field_name,
                fix=f"use one of: {', '.join(sorted(self.host_tables))} (see `sandsim pricing hosts`)",
            ) from None

    def tables_for(self, offering: str) -> list[PriceTable]:
        """Every price table of one offering."""
        return [t for t in self.price_tables.values() if t.offering == offering]

    def file_of(self, key: str) -> Path | None:
        """The file a profile or table was read from."""
        return self.files.get(key)


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def load_catalog(extra_pricing_dirs: Iterable[Path] = ()) -> Catalog:
    """Load bundled profiles and tables, then user tables that add to or replace them."""
    profiles: dict[str, PlatformProfile] = {}
    tables: dict[str, PriceTable] = {}
    files: dict[str, Path] = {}
    for path in _yaml_files(bundled_dir("platforms")):
        profile = load_model(PlatformProfile, path)
        _no_duplicate(profiles, profile.id, path, files, "platform")
        profiles[profile.id] = profile
        files[f"platform:{profile.id}"] = path
    for path in _yaml_files(bundled_dir("pricing")):
        table = load_model(PriceTable, path)
        _no_duplicate(tables, table.id, path, files, "pricing")
        tables[table.id] = table
        files[f"pricing:{table.id}"] = path
    for folder in extra_pricing_dirs:
        if not folder.is_dir():
            raise InputError(
                "price table folder not found",
                source=folder,
                fix="point at a folder of YAML price tables",
            )
        seen: dict[str, PriceTable] = {}
        for path in _yaml_files(folder):
            table = load_model(PriceTable, path)
            _no_duplicate(seen, table.id, path, files, "pricing")
            seen[table.id] = table
            tables[table.id] = table
            files[f"pricing:{table.id}"] = path
    hosts: dict[str, HostPriceTable] = {}
    for folder in [
        bundled_dir("pricing") / "hosts",
        *(Path(d) / "hosts" for d in extra_pricing_dirs),
    ]:
        seen_hosts: dict[str, HostPriceTable] = {}  # (a later folder may replace a table)
        for path in _yaml_files(folder) if folder.is_dir() else []:
            host_table = load_model(HostPriceTable, path)
            _no_duplicate(seen_hosts, host_table.id, path, files, "hosts")
            seen_hosts[host_table.id] = host_table
            hosts[host_table.id] = host_table
            files[f"hosts:{host_table.id}"] = path
    for table in tables.values():
        if table.offering not in profiles:
            raise InputError(
                f"offering {table.offering!r} is not a known platform profile",
                source=files[f"pricing:{table.id}"],
                field="offering",
                fix=f"use one of: {', '.join(sorted(profiles))}",
            )
    return Catalog(profiles, tables, files, hosts)


def _no_duplicate(
    seen: Mapping[str, object], key: str, path: Path, files: dict[str, Path], kind: str
) -> None:
    if key in seen:
        raise InputError(
            f"id {key!r} is also used by {files[f'{kind}:{key}']}",
            source=path,
            field="id",
            fix="give each file its own id",
        )
