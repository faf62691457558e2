"""Markdown field references generated from the pydantic models, so docs cannot drift.

``python -m simulator.docgen`` prints docs/scenarios.md; a test checks the file is current.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

from .catalog import bundled_dir
from .scenario import Scenario

SCENARIO_SECTIONS = [
    "Scenario",
    "Workload",
    "SessionSpec",
    "Template",
    "Shape",
    "GpuRequest",
    "PoissonArrivals",
    "DiurnalArrivals",
    "BurstArrivals",
    "TraceArrivals",
    "TraceShapes",
    "TraceColumn",
    "Fixed",
    "Uniform",
    "Exponential",
    "LogNormal",
    "Weibull",
    "Gamma",
    "BoundedPareto",
    "Empirical",
    "Mixture",
    "MixtureComponent",
    "PlatformChoice",
    "PoolSpec",
    "LaunchRateOverride",
    "Fleet",
    "Autoscaling",
    "Overcommit",
    "SystemReserve",
    "Inventory",
    "InventoryGroup",
    "InventoryFile",
    "ForecastSpec",
    "ForecastEvent",
    "Budget",
    "BudgetScope",
]


def _anchor(name: str) -> str:
    return name.lower()


def _type_of(schema: dict[str, Any]) -> str:
    """A short human name of a JSON-schema type."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    if "discriminator" in schema:
        names = sorted(schema["discriminator"]["mapping"])
        return "one of " + ", ".join(
            f"[{n}](#{_anchor(schema['discriminator']['mapping'][n].rsplit('/', 1)[-1])})"
            for n in names
        )
    if "anyOf" in schema:
        options = schema["anyOf"]
        if any(o.get("description") == "seconds" for o in options):
            rest = [o for o in options if o.get("description") != "seconds" and "examples" not in o]
            return " or ".join(["duration", *(_type_of(o) for o in rest)])
        if any(o.get("description") == "GiB" for o in options):
            rest = [o for o in options if o.get("description") != "GiB" and "examples" not in o]
            return " or ".join(["size", *(_type_of(o) for o in rest)])
        return " or ".join(_type_of(o) for o in options)
    if "const" in schema:
        return f'"{schema["const"]}"'
    if "enum" in schema:
        return " / ".join(f'"{v}"' for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        item = schema.get("items") or (schema.get("prefixItems") or [{}])[0]
        return f"list of {_type_of(item)}"
    if kind == "object":
        extra = schema.get("additionalProperties")
        return f"map of {_type_of(extra)}" if isinstance(extra, dict) else "map"
    return {
        "number": "number",
        "integer": "integer",
        "string": "text",
        "boolean": "true/false",
        "null": "null",
    }.get(str(kind), "any")


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" not in prop:
        return ""
    value = prop["default"]
    return "—" if value is None else f"`{json.dumps(value)}`"


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("``", "`")).strip()


def render_models(schema: dict[str, Any], sections: list[str]) -> str:
    """One Markdown section per model: its docstring and a table of its fields."""
    defs = dict(schema.get("$defs", {}))
    defs[schema["title"]] = schema
    parts = []
    for name in sections:
        model = defs[name]
        parts.append(f"### {name}\n")
        parts.append(_clean(model.get("description", "")) + "\n")
        parts.append("| field | type | default | meaning |")
        parts.append("|---|---|---|---|")
        required = set(model.get("required", []))
        for field, prop in model.get("properties", {}).items():
            meaning = _clean(prop.get("description", "")).replace("|", "\\|")
            parts.append(
                f"| `{field}` | {_type_of(prop)} | {_default(prop, field in required)} | {meaning} |"
            )
        parts.append("")
    return "\n".join(parts)


INTRO = """# Scenario files

A scenario describes your agents' sandbox workload and the platforms to compare. It is
YAML; unknown keys are refused, and every field below is checked when the file is read
(`sandsim validate SCENARIO`). `sandsim schema` prints the same reference as JSON schema.

This file is generated from the models by `python -m simulator.docgen > docs/scenarios.md`
(a test fails if it is out of date); edit the docstrings in `simulator/`, not this file.

## Units

- **Durations** are seconds as a number, or text with a unit: `250ms`, `45s`, `10m`,
  `2h`, `1d`, `1w`, combinations such as `1h30m`.
- **Sizes** are GiB as a number, or text with a unit: `512MiB`, `4GiB`, `1TiB`; decimal
  `MB`/`GB`/`TB` are converted (8GB = 7.45 GiB).
- **Time 0** is the start of the scenario, at midnight (diurnal profiles and
  `origin: midnight` traces keep the hour of day).
- **Money** is USD; a month is 30 days.

## A minimal scenario

```yaml
name: my-agents
horizon: 1d                 # simulate one day of requests
seed: 1
replications: 10            # cost bands are quantiles across replications
workloads:
  - name: agent-tasks
    team: platform
    arrivals: {kind: poisson, per_day: 5000}
    duration: {kind: lognormal, median: 30s, p95: 5m}
    shape: {vcpu: 1, memory: 2GiB}
platforms:
  - profile: aws-lambda
  - profile: e2b
    plan: pro               # opt in to a plan: its limits and its monthly fee
  - profile: aws-fargate
    vcpu_quota: 500         # your raised quota (the default is 6 vCPU)
```

## Arrivals

| kind | what | key fields |
|---|---|---|
| `poisson` | independent requests at a constant rate | one of `per_second`, `per_hour`, `per_day` |
| `diurnal` | a daily volume shaped by 24 hourly weights, repeating each day | `per_day`, `hourly_profile` |
| `burst` | N requests at a time, at once or spread over a window | `count`, `at`, `window`, `spacing` |
| `trace` | replay request timestamps (and durations) from a CSV | `path`, `timestamp_column`, `origin`, `duration_column` |

```yaml
arrivals: {kind: burst, count: 10000, at: 1h, window: 0s}
arrivals: {kind: trace, path: requests.csv, timestamp_column: TIMESTAMP, origin: midnight}
```

## Durations

How long the task runs once the sandbox is ready. A platform's maximum lifetime (or the
workload's `max_lifetime`) cuts it short; that is counted as a timeout.

```yaml
duration: {kind: fixed, value: 2s}
duration: {kind: exponential, mean: 30s}
duration: {kind: lognormal, median: 45s, p95: 10m}        # or mu and sigma of ln(seconds)
duration: {kind: weibull, shape: 0.7, scale: 1m}
duration: {kind: bounded_pareto, alpha: 1.2, lower: 1s, upper: 1h}
duration: {kind: empirical, path: observed.csv, column: duration_s}
duration:
  kind: mixture
  components:
    - {weight: 0.9, dist: {kind: lognormal, median: 200ms, p95: 4s}}
    - {weight: 0.1, dist: {kind: lognormal, median: 30s, p95: 5m}}
```

## Platforms

Each entry names a platform profile (`sandsim platforms list`) and optionally a price
table (`sandsim pricing list`); the rest overrides the profile for this scenario. Quotas
are in the platform's units: sandboxes (`quota`), vCPU (`vcpu_quota`, Fargate and ACI)
and GPUs (`gpu_quota`). Plans (`plan: pro`) set the vendor plan's limits and add its
monthly fee and credit. Your own negotiated price tables go in a folder named by
`pricing_dir` (or `--pricing-dir`); a table with the same id as a bundled one replaces it.

```yaml
platforms:
  - profile: azure-aci
    quota: 500                  # container groups
    vcpu_quota: 1000            # cores
    launch_rate: {per_second: 1, burst: 100}
    discount: savings_plan_1y   # named in the price table
  - id: lambda-arm              # a second entry of the same profile needs its own id
    profile: aws-lambda
    price_table: aws-lambda-arm-us-east-1
    launch_mode: snapshot       # SnapStart
  - profile: modal
    plan: team
    discount: 0.15              # a negotiated 15% on vCPU, memory and GPU
```

## Forecasts and budgets

A `forecast` section makes `sandsim forecast` project spend per calendar month, and
`budgets` are checked on it by `sandsim guard` (see [forecasts.md](forecasts.md)). The
workloads' arrival rates are month one's volume on a day with factor 1; growth
compounds per month; weekday, weekend and event factors multiply the day's volume.

```yaml
forecast:
  start: 2027-01                # the first month; its 1st is time 0, at midnight
  months: 12
  growth_per_month: 0.08        # 8% more volume each month, compound
  workload_growth: {evals: 0.0} # except this workload
  weekend: 0.4                  # agents run less at weekends
  events:
    - {name: launch, start: 2027-03-15, days: 3, factor: 3, workloads: [coding-agent]}
  replications: 40
  precision: 0.02               # wanted ±2% on the mean monthly spend
budgets:
  - name: core-team
    scope: {team: core, platform: e2b}
    monthly_usd: 5000           # or amount: 5000 with currency: USD
    quantile: 0.95
    alerts: [0.5, 0.8, 1.0]
```

## A complete example

The bundled `coding-agent-fleet` scenario:

```yaml
{example}
```

## Field reference

{reference}"""


def scenario_reference() -> str:
    """The text of docs/scenarios.md."""
    example = (
        (bundled_dir("scenarios") / "coding-agent-fleet.yaml").read_text(encoding="utf-8").strip()
    )
    reference = render_models(Scenario.model_json_schema(by_alias=True), SCENARIO_SECTIONS)
    return INTRO.replace("{example}", example).replace("{reference}", reference).rstrip() + "\n"


def model_reference(model: type[BaseModel]) -> str:
    """A field reference of any model and the models it nests (price tables, profiles)."""
    schema = model.model_json_schema(by_alias=True)
    names = [schema["title"], *sorted(schema.get("$defs", {}))]
    return render_models(schema, names)


if __name__ == "__main__":
    print(scenario_reference(), end="")
