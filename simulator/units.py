"""Parsing and printing of quantities with units.

Time inside sandsim is always float seconds and memory is always GiB; these helpers
turn what people write in scenario files ("250ms", "10m", "4GiB") into those units.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

SECONDS_PER_UNIT: dict[str, float] = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
}
GIB_PER_UNIT: dict[str, float] = {
    "kib": 1 / 1024**2,
    "mib": 1 / 1024,
    "gib": 1.0,
    "tib": 1024.0,
    "kb": 1e3 / 1024**3,
    "mb": 1e6 / 1024**3,
    "gb": 1e9 / 1024**3,
    "tb": 1e12 / 1024**3,
}
HOUR_S = 3600.0
DAY_S = 86400.0
MONTH_S = 30 * DAY_S
"""A billing month, by convention of this project: 30 days."""

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_DURATION_PART = re.compile(rf"\s*({_NUMBER})\s*([a-zA-Z]+)\s*")
_SIZE = re.compile(rf"^\s*({_NUMBER})\s*([a-zA-Z]*)\s*$")


def parse_duration_s(value: Any) -> float:
    """Seconds from a number (seconds) or a string such as "250ms", "45s", "10m", "1h30m"."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '45s' or '10m', got a boolean")
    if isinstance(value, numbers.Real):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_duration_text(value)
    else:
        raise ValueError(f"expected a duration such as '45s' or '10m', got {value!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration must be finite and not negative, got {value!r}")
    return seconds


def _parse_duration_text(text: str) -> float:
    stripped = text.strip()
    try:
        return float(stripped)
    except ValueError:
        pass
    position, total = 0, 0.0
    while position < len(stripped):
        match = _DURATION_PART.match(stripped, position)
        if not match:
            raise ValueError(_duration_hint(text))
        unit = match.group(3).lower()
        if unit not in SECONDS_PER_UNIT:
            raise ValueError(_duration_hint(text))
        total += float(match.group(1)) * SECONDS_PER_UNIT[unit]
        position = match.end()
    if position == 0:
        raise ValueError(_duration_hint(text))
    return total


def _duration_hint(text: str) -> str:
    units = ", ".join(SECONDS_PER_UNIT)
    return f"cannot read {text!r} as a duration; write a number and a unit ({units}), e.g. '45s'"


def parse_size_gib(value: Any) -> float:
    """GiB from a number (GiB) or a string such as "512MiB", "4GiB" or "8GB" (decimal)."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as '4GiB', got a boolean")
    if isinstance(value, numbers.Real):
        gib = float(value)
    elif isinstance(value, str):
        match = _SIZE.match(value)
        unit = match.group(3).lower() if match else ""
        if not match or (unit and unit not in GIB_PER_UNIT):
            units = ", ".join(("KiB", "MiB", "GiB", "TiB", "KB", "MB", "GB", "TB"))
            raise ValueError(
                f"cannot read {value!r} as a size; write a number and a unit ({units})"
            )
        gib = float(match.group(1)) * (GIB_PER_UNIT[unit] if unit else 1.0)
    else:
        raise ValueError(f"expected a size such as '4GiB', got {value!r}")
    if not math.isfinite(gib) or gib < 0:
        raise ValueError(f"a size must be finite and not negative, got {value!r}")
    return gib


def format_duration(seconds: float) -> str:
    """A short human form: 0.25 -> '250ms', 90 -> '1.5m', 7200 -> '2h'."""
    if not math.isfinite(seconds):
        return "inf" if seconds > 0 else "nan"
    magnitude = abs(seconds)
    if magnitude == 0:
        return "0s"
    for unit, scale in (("d", DAY_S), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if magnitude >= scale:
            return f"{seconds / scale:.3g}{unit}"
    return f"{seconds * 1000:.3g}ms"


_DURATION_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "description": "seconds"},
        {"type": "string", "examples": ["250ms", "45s", "10m", "2h", "1d"]},
    ]
}
_SIZE_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0, "description": "GiB"},
        {"type": "string", "examples": ["512MiB", "4GiB"]},
    ]
}

DurationS = Annotated[
    float,
    BeforeValidator(parse_duration_s),
    PlainSerializer(lambda seconds: seconds, return_type=float),
    WithJsonSchema(_DURATION_SCHEMA),
]
"""A duration in seconds; scenario files may write it with a unit ("45s", "10m")."""


def _positive(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("must be positive")
    return seconds


PositiveDurationS = Annotated[DurationS, AfterValidator(_positive)]
"""A duration that must be more than zero (a scale, a mean, an increment)."""

SizeGiB = Annotated[
    float,
    BeforeValidator(parse_size_gib),
    PlainSerializer(lambda gib: gib, return_type=float),
    WithJsonSchema(_SIZE_SCHEMA),
]
"""A size in GiB; scenario files may write it with a unit ("512MiB", "4GiB")."""
