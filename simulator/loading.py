"""Reading YAML files into validated models, with errors that name file, field and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import InputError, InputErrors, field_path

ModelT = TypeVar("ModelT", bound=BaseModel)

_FIXES = {
    "extra_forbidden": "remove the key, or check its spelling against `sandsim schema`",
    "missing": "add the field",
    "union_tag_invalid": "set `kind` to one of the allowed values",
    "union_tag_not_found": "add a `kind` field",
    "literal_error": "use one of the allowed values",
    "greater_than": "use a larger value",
    "greater_than_equal": "use a larger value",
    "less_than": "use a smaller value",
    "less_than_equal": "use a smaller value",
    "int_parsing": "write a whole number",
    "int_from_float": "write a whole number",
    "float_parsing": "write a number",
    "too_short": "add at least one entry",
    "string_type": "write text (quote it if it looks like a number)",
    "dict_type": "write a mapping (key: value lines)",
    "list_type": "write a list (lines starting with '- ')",
    "value_error": "change the value as the message says (fields are described in {reference})",
    "string_pattern_mismatch": "use letters, digits, '.', '_' and '-', starting with a letter or digit",
    "finite_number": "write a finite number",
    "tuple_type": "write a list (lines starting with '- ')",
    "model_type": "write a mapping (key: value lines)",
    "model_attributes_type": "write a mapping (key: value lines)",
    "bool_parsing": "write true or false",
    "bool_type": "write true or false",
    "int_type": "write a whole number",
    "float_type": "write a number",
    "string_too_short": "write some text",
    "too_long": "give fewer entries",
}
DEFAULT_FIX = "see what the field takes in {reference}"
"""The fix of a validation error with none of its own: every error names one."""
SCENARIO_REFERENCE = "docs/scenarios.md (or `sandsim schema`)"
REFERENCES = {
    "PriceTable": "`sandsim schema --kind pricing`",
    "HostPriceTable": "`sandsim schema --kind hosts`",
    "PlatformProfile": "`sandsim schema --kind platform`",
}
"""Where the fields of each kind of file are described (by model; scenarios otherwise)."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice in one mapping (YAML keeps the last)."""


def _construct_unique_mapping(
    loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False
) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file with the safe loader; syntax errors point at the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            "file not found", source=path, fix="check the path (it is relative to where you run)"
        ) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise InputError(
            f"cannot read the file ({error})", source=path, fix="point at a YAML file"
        ) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(error, "problem", None) or str(error)
        raise InputError(
            f"not valid YAML: {problem}",
            source=path,
            field=where,
            fix="check indentation and quoting near that line",
        ) from None


def errors_from_validation(
    error: ValidationError, source: str | Path | None, reference: str = SCENARIO_REFERENCE
) -> InputErrors:
    """One InputError per pydantic error, with the field path and a fix (pointing at
    ``reference``, where the file's fields are described, when it has none of its own)."""
    found = []
    items = error.errors(include_url=False)
    inner = [tuple(item["loc"]) for item in items]
    for item in items:
        loc = [part for part in item["loc"] if not _is_union_tag(part)]
        if item["type"] == "too_short" and any(
            len(other) > len(item["loc"]) and other[: len(item["loc"])] == tuple(item["loc"])
            for other in inner
        ):
            continue  # a list is "too short" only because its entries failed; report those
        message = item["msg"].removeprefix("Value error, ")
        fix = _FIXES.get(item["type"], DEFAULT_FIX).format(reference=reference)
        ctx = item.get("ctx") or {}
        if item["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}" if loc else "unknown key"
        elif item["type"] in ("literal_error", "union_tag_invalid") and "expected" in ctx:
            fix = f"use one of {ctx['expected']}"
        found.append(InputError(message, source=source, field=field_path(loc) or None, fix=fix))
    return InputErrors(found)


def _is_union_tag(part: Any) -> bool:
    """Pydantic puts the chosen union member in the location (e.g. 'lognormal'); drop it."""
    return isinstance(part, str) and (part.startswith("function-") or part in _UNION_TAGS)


_UNION_TAGS = {
    "fixed",
    "uniform",
    "exponential",
    "lognormal",
    "weibull",
    "gamma",
    "bounded_pareto",
    "empirical",
    "mixture",
    "poisson",
    "diurnal",
    "burst",
    "trace",
    "grid",
    "memory_tied",
    "steps",
}


def validate_file(model: type[ModelT], data: Any, path: Path) -> ModelT:
    """Validate parsed YAML against ``model``; relative paths inside resolve against the file."""
    reference = REFERENCES.get(model.__name__, SCENARIO_REFERENCE)
    if not isinstance(data, dict):
        raise InputError(
            "the file must hold a mapping of fields (key: value lines)",
            source=path,
            fix=f"see {reference} for the expected fields",
        )
    try:
        return model.model_validate(data, context={"base_dir": path.parent})
    except ValidationError as error:
        raise errors_from_validation(error, path, reference) from None


def load_model(model: type[ModelT], path: Path) -> ModelT:
    """Read and validate one YAML file."""
    return validate_file(model, read_yaml(path), path)
