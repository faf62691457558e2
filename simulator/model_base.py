"""The base of every model read from a file: frozen, strict about keys, documented."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo


def _not_a_boolean(value: Any) -> Any:
    """Refuse true/false where a count goes (pydantic would read true as 1)."""
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is not a count: write a whole number")
    return value


Count = Annotated[int, BeforeValidator(_not_a_boolean)]
"""A whole number of things (hosts, GPUs, restarts), not a yes/no."""


class FrozenModel(BaseModel):
    """Immutable, rejects unknown keys, and takes each field's docstring as its description."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
        validate_default=True,
    )


def base_dir(info: ValidationInfo) -> Path:
    """The folder relative paths in a file are read from (the file's own folder)."""
    context: Any = info.context or {}
    return Path(context.get("base_dir", "."))


def resolve_data_path(path: str, info: ValidationInfo) -> Path:
    """A path as written in a file, resolved against that file's folder."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else base_dir(info) / candidate


class Provenance(FrozenModel):
    """Where a figure comes from. Figures nobody publishes are marked ``assumed``."""

    source: str
    """A URL, paper or document the figure was taken from (or the reasoning, if assumed)."""
    as_of: str
    """The date the source shows, as YYYY-MM-DD, YYYY-MM, or "stored copy" when it shows none."""
    assumed: bool = False
    """True when no source publishes the figure and it is an informed assumption."""
    note: str | None = None
    """How the figure was derived or what it leaves out."""
