"""Errors a user can act on: each names the file, the field and the fix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


class InputError(Exception):
    """Bad input from a user file or flag.

    The CLI prints it without a traceback and exits with code 2. ``source`` is the file
    (or flag) the bad value came from, ``field`` the dotted path of the value inside it,
    ``problem`` what is wrong and ``fix`` what to do about it.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | Path | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.source = str(source) if source is not None else None
        self.field = field
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        """One line per part: where, what, and the fix."""
        where = ": ".join(part for part in (self.source, self.field) if part)
        head = f"{where}: {self.problem}" if where else self.problem
        return f"{head}\n  fix: {self.fix}" if self.fix else head

    def located(self, source: str | Path | None = None, prefix: str | None = None) -> InputError:
        """A copy with the source filled in and the field path prefixed."""
        field = self.field
        if prefix:
            field = f"{prefix}.{field}" if field else prefix
        return InputError(
            self.problem,
            source=self.source or (str(source) if source is not None else None),
            field=field,
            fix=self.fix,
        )


class InputErrors(InputError):
    """Several input errors found in one pass, reported together."""

    def __init__(self, errors: Sequence[InputError]) -> None:
        self.errors = list(errors)
        first = self.errors[0]
        super().__init__(first.problem, source=first.source, field=first.field, fix=first.fix)

    def render(self) -> str:
        errors: Iterable[InputError] = getattr(self, "errors", [])
        return "\n".join(error.render() for error in errors) or super().render()


def field_path(loc: Sequence[Any]) -> str:
    """Turn a pydantic error location into ``workloads[0].duration.p95``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
