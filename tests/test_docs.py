"""The docs stay true: the scenario reference is current, examples run, outputs are documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

import simulator as ss
from simulator.docgen import scenario_reference

DOCS = Path(__file__).resolve().parent.parent / "docs"
README = DOCS.parent / "README.md"


def test_scenario_reference_is_current() -> None:
    assert (DOCS / "scenarios.md").read_text() == scenario_reference(), (
        "docs/scenarios.md is stale: run `python -m simulator.docgen > docs/scenarios.md`"
    )


def test_every_model_of_the_scenario_has_its_section() -> None:
    """Each model a scenario nests has its table of fields, so no link in the reference
    leads nowhere (a fleet's fields, its autoscaling and inventory had none)."""
    text = (DOCS / "scenarios.md").read_text()
    models = ss.Scenario.model_json_schema(by_alias=True)["$defs"]
    assert [name for name in models if f"\n### {name}\n" not in text] == []
    anchors = {heading.lower() for heading in re.findall(r"^### (\w+)$", text, re.M)}
    assert set(re.findall(r"\]\(#([a-z]+)\)", text)) <= anchors


def test_minimal_scenario_in_the_docs_runs() -> None:
    text = (DOCS / "scenarios.md").read_text()
    block = re.search(r"## A minimal scenario\s+```yaml\n(.*?)```", text, re.S)
    assert block is not None
    scenario = ss.scenario_from_dict(yaml.safe_load(block.group(1)))
    summary = ss.simulate(scenario, replications=1).summary()
    assert set(summary["platforms"]) == {"aws-lambda", "e2b", "aws-fargate"}


def test_every_documented_snippet_is_valid() -> None:
    """Each one-line arrivals/duration example in the docs validates."""
    text = (DOCS / "scenarios.md").read_text()
    snippets = [
        (k, b) for k, b, _ in re.findall(r"^(arrivals|duration): (\{.*?\})\s*(#.*)?$", text, re.M)
    ]
    assert len(snippets) >= 8
    for key, body in snippets:
        spec = yaml.safe_load(body)
        if spec.get("path"):
            continue  # file-based examples need a file
        data: dict[str, Any] = {
            "name": "w",
            "arrivals": {"kind": "poisson", "per_day": 1},
            "duration": {"kind": "fixed", "value": 1},
            "shape": {"vcpu": 1, "memory": 1},
        }
        data[key] = spec
        ss.scenario_from_dict(
            {"name": "d", "horizon": "1d", "workloads": [data], "platforms": [{"profile": "modal"}]}
        )


def _keys(node: Any, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            keys.add(key)
            keys |= _keys(value, f"{prefix}.{key}")
    return keys


def test_every_summary_key_is_documented() -> None:
    summary = ss.simulate(ss.load_scenario("gpu-tools"), replications=1).summary()
    documented = (DOCS / "outputs.md").read_text()
    skip = (
        set(summary["platforms"])
        | set(summary["pricing"])
        | set(summary["scenario"])
        | {"gpu-tool", "ml-tools"}
    )
    top = {k: v for k, v in summary.items() if k not in ("scenario", "data_files")}
    missing = sorted(
        k
        for k in _keys(top)
        if k not in skip and f"`{k}`" not in documented and f"{k}`" not in documented
    )
    assert not missing, f"summary.json keys missing from docs/outputs.md: {missing}"


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one() -> None:
    readme = README.read_text()
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", readme, re.S)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    assert "sandsim run scenarios/coding-agent-fleet.yaml" in commands[0]
    assert "pytest" in commands[1]
    assert commands[1] in (DOCS.parent / ".ci" / "run").read_text()


def test_platforms_page_is_current() -> None:
    from simulator.platform_docs import platform_reference

    assert (DOCS / "platforms.md").read_text() == platform_reference(), (
        "docs/platforms.md is stale: run `python -m simulator.platform_docs > docs/platforms.md`"
    )


def test_every_file_sandsim_run_writes_is_named_where_run_is_described(tmp_path: Path) -> None:
    """`sandsim run` writes hosts.csv for a fleet, but docs/outputs.md said it "writes two
    files" and the README's command table named summary.json and line_items.csv only."""
    scenario = ss.load_scenario("self-hosted-fleet").with_overrides(
        {"horizon": 3600.0, "replications": 1}
    )
    written = ss.simulate(scenario, platforms=["firecracker-m5-metal"]).write(tmp_path)
    names = [path.name for path in written.values()]
    assert "hosts.csv" in names
    row = next(line for line in README.read_text().splitlines() if "| `sandsim run " in line)
    opening = (DOCS / "outputs.md").read_text().split("\n\n")[1]
    for name in names:
        assert f"`{name}`" in row or f"[{name}]" in row, name
        assert f"`{name}`" in opening or f"[{name}]" in opening, name
    assert "two files" not in opening
