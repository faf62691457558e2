"""Reading one column of a CSV file for fitting, with errors that name the file, the
column and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError

MIN_POINTS = 20
"""Fewer observations than this give estimates too loose to rank models by."""


def read_table(path: str | Path) -> pd.DataFrame:
    """The CSV file as a frame; a missing, empty or unreadable file is an InputError."""
    source = Path(path)
    if not source.is_file():
        raise InputError(
            "cannot find the file", source=source, fix="check the path (it is relative to here)"
        )
    try:
        frame = pd.read_csv(source)
    except pd.errors.EmptyDataError:
        raise InputError(
            "the file is empty", source=source, fix="give a CSV file with a header row"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise InputError(
            f"cannot read it as CSV ({str(error).splitlines()[0]})",
            source=source,
            fix="give a comma-separated file with a header row",
        ) from None
    if frame.empty:
        raise InputError(
            "the file has a header but no rows", source=source, fix="add the data rows"
        )
    return frame


def pick_column(
    frame: pd.DataFrame,
    column: str | None,
    source: str | Path,
    preferred: Sequence[str],
    what: str,
    numeric_only: bool,
) -> str:
    """``column`` if given and present; else the first of ``preferred`` present (in any
    letter case); else the only (numeric, with ``numeric_only``) column. Anything else is
    an InputError."""
    columns = [str(c) for c in frame.columns]
    if column is not None:
        if column not in columns:
            raise InputError(
                f"there is no column {column!r}",
                source=source,
                field="--column",
                fix=f"give one of its columns: {', '.join(columns)}",
            )
        return column
    lowered = {c.lower(): c for c in columns}
    for name in preferred:
        if name.lower() in lowered:
            return lowered[name.lower()]
    candidates = (
        [str(c) for c in frame.select_dtypes("number").columns] if numeric_only else columns
    )
    if len(candidates) == 1:
        return candidates[0]
    raise InputError(
        f"cannot tell which column holds the {what}",
        source=source,
        field="--column",
        fix=f"name it with --column; the columns are: {', '.join(columns)}",
    )


def too_few(count: int, source: Any, column: str, what: str, fix: str) -> InputError:
    """The error for fewer than MIN_POINTS usable values."""
    return InputError(
        f"only {count} usable {what} (at least {MIN_POINTS} are needed to fit)",
        source=source,
        field=column,
        fix=fix,
    )
