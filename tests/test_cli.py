"""The command line end to end: outputs, exit codes and error messages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.cli import EXIT_INPUT, EXIT_OK, main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


GOOD = """
name: tiny
horizon: 1h
seed: 3
replications: 2
workloads:
  - name: agents
    arrivals: {kind: poisson, per_hour: 600}
    duration: {kind: lognormal, median: 20s, p95: 2m}
    shape: {vcpu: 1, memory: 2GiB}
platforms:
  - profile: aws-lambda
  - profile: e2b
    plan: pro
"""


def test_run_writes_outputs_and_prints_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path / "tiny.yaml", GOOD)
    code, out, err = run_cli(capsys, "run", str(scenario), "--out", str(tmp_path / "out"))
    assert code == EXIT_OK, err
    assert "aws-lambda" in out
    assert "e2b" in out
    assert "spend/month" in out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["schema_version"] == "1.0"
    assert summary["replications"] == 2
    assert summary["seed"] == 3
    assert set(summary["platforms"]) == {"aws-lambda", "e2b"}
    for key in ("sandboxes", "time_to_ready_s", "queue_wait_s", "concurrency", "cost_usd"):
        assert key in summary["platforms"]["e2b"]
    assert summary["pricing"]["e2b-usage"]["as_of"]
    lines = (tmp_path / "out" / "line_items.csv").read_text().splitlines()
    assert lines[0].startswith("platform,workload,team,component,item,unit,quantity")
    assert any(",plan,plan:pro," in line for line in lines)


def test_run_flags_override_the_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write(tmp_path / "tiny.yaml", GOOD)
    code, _, err = run_cli(
        capsys,
        "run",
        str(scenario),
        "--out",
        str(tmp_path / "o"),
        "--seed",
        "9",
        "--replications",
        "3",
        "--platform",
        "e2b",
        "--quiet",
    )
    assert code == EXIT_OK, err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["seed"] == 9
    assert summary["replications"] == 3
    assert list(summary["platforms"]) == ["e2b"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("per_hour: 600", "per_hour: 600, per_dya: 3"),
            ["workloads[0].arrivals.per_dya", "unknown key", "fix:"],
        ),
        (
            GOOD.replace("median: 20s", "median: 20 parsecs"),
            ["workloads[0].duration.median", "parsecs"],
        ),
        (GOOD.replace("p95: 2m", "p95: 10s"), ["workloads[0].duration", "p95"]),
        (
            GOOD.replace("profile: e2b", "profile: e2bb"),
            ["platforms[1].profile", "unknown platform profile", "e2b"],
        ),
        (GOOD.replace("plan: pro", "plan: ultra"), ["platforms[1].plan", "hobby"]),
        (GOOD.replace("kind: poisson", "kind: poison"), ["workloads[0].arrivals", "poisson"]),
        (GOOD.replace("vcpu: 1,", "vcpu: 99,"), ["workloads[0].shape", "fix:"]),
        (GOOD.replace("horizon: 1h", "horizon: -1h"), ["horizon"]),
        ("name: x\nhorizon: [1, 2\n", ["not valid YAML", "line"]),
        ("- just\n- a list\n", ["mapping"]),
    ],
)
def test_bad_input_exits_2_naming_file_field_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: list[str]
) -> None:
    scenario = write(tmp_path / "bad.yaml", text)
    for command in ("run", "validate"):
        code, out, err = (
            run_cli(capsys, command, str(scenario), "--out", str(tmp_path / "o"))
            if command == "run"
            else run_cli(capsys, command, str(scenario))
        )
        assert code == EXIT_INPUT
        assert "Traceback" not in err + out
        assert str(scenario) in err
        for fragment in expected:
            assert fragment in err, (fragment, err)


def test_missing_file_and_bad_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "run", str(tmp_path / "nope.yaml"))
    assert code == EXIT_INPUT
    assert "not found" in err
    assert "fix:" in err
    code, _, err = run_cli(capsys, "run", "coding-agent-fleet", "--replications", "0")
    assert code == EXIT_INPUT
    assert "replications" in err
    code, _, err = run_cli(
        capsys, "run", "coding-agent-fleet", "--platform", "nowhere", "--out", str(tmp_path)
    )
    assert code == EXIT_INPUT
    assert "--platform" in err
    assert "aws-lambda" in err
    code, _, err = run_cli(capsys, "frobnicate")
    assert code == EXIT_INPUT
    code, _, err = run_cli(
        capsys, "run", "coding-agent-fleet", "--pricing-dir", str(tmp_path / "none")
    )
    assert code == EXIT_INPUT
    assert "folder not found" in err


def test_bad_user_price_table_names_its_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "prices"
    prices.mkdir()
    write(
        prices / "mine.yaml",
        "id: mine\noffering: aws-lambda\nname: x\nregion: r\nas_of: '2026'\nbilling: {increment: 1ms, bills_from: whenever, source: s, as_of: '2026'}\n",
    )
    code, _, err = run_cli(capsys, "pricing", "list", "--pricing-dir", str(prices))
    assert code == EXIT_INPUT
    assert "mine.yaml" in err
    assert "billing.bills_from" in err
    assert "request" in err


def test_bad_host_price_table_points_at_the_host_table_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A host price table's errors name its file and field, and point at where host
    tables' fields are described (they pointed at docs/scenarios.md, which does not)."""
    hosts = tmp_path / "prices" / "hosts"
    hosts.mkdir(parents=True)
    write(
        hosts / "mine.yaml",
        "id: mine\nname: x\nprovider: p\nregion: r\nas_of: '2026'\n"
        "billing: {increment: 1s, minimum: -5s, source: s, as_of: '2026'}\nhosts: {}\n",
    )
    code, _, err = run_cli(capsys, "pricing", "hosts", "--pricing-dir", str(tmp_path / "prices"))
    assert code == EXIT_INPUT
    assert "mine.yaml" in err
    assert "billing.minimum" in err
    assert "sandsim schema --kind hosts" in err
    assert "scenarios.md" not in err
    code, out, _ = run_cli(capsys, "schema", "--kind", "hosts")
    assert code == EXIT_OK
    assert "spot_interrupted_free_s" in out


def test_host_types_of_impossible_size_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A host type of a billion GPUs hung `sandsim run` (its GPUs are built one by one);
    one of 0 GiB was blamed on the fleet's reserved_for_system; 96,000 vCPU (millicores)
    ran as if real. Each is refused at the host table's field."""
    hosts = tmp_path / "prices" / "hosts"
    hosts.mkdir(parents=True)
    price = "{on_demand: {usd: 1, per: hour, source: s, as_of: '2026'}}"
    write(
        hosts / "mine.yaml",
        "id: mine\nname: x\nprovider: p\nregion: r\nas_of: '2026'\n"
        "billing: {source: s, as_of: '2026'}\n"
        "cost_split: {vcpu_hour: 1, gib_hour: 1, gpu_hour: 1, source: s, as_of: '2026'}\n"
        "hosts:\n"
        f"  gpus: {{vcpu: 96, memory: 1TiB, gpus: 1000000000, gpu_type: a100-40gb, prices: {price},"
        " provenance: {source: s, as_of: '2026'}}\n"
        f"  nomem: {{vcpu: 96, memory: 0GiB, prices: {price}, provenance: {{source: s, as_of: '2026'}}}}\n"
        f"  milli: {{vcpu: 96000, memory: 1TiB, prices: {price}, provenance: {{source: s, as_of: '2026'}}}}\n"
        f"  flag: {{vcpu: 96, memory: 1TiB, gpus: true, gpu_type: a100-40gb, prices: {price},"
        " provenance: {source: s, as_of: '2026'}}\n",
    )
    code, _, err = run_cli(capsys, "pricing", "hosts", "--pricing-dir", str(tmp_path / "prices"))
    assert code == EXIT_INPUT
    assert "mine.yaml: hosts.gpus.gpus: " in err
    assert "mine.yaml: hosts.nomem.memory: " in err
    assert "mine.yaml: hosts.milli.vcpu: " in err
    assert "mine.yaml: hosts.flag.gpus: " in err  # (true read as 1 GPU)


def test_validate_pricing_platforms_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "validate", "coding-agent-fleet")
    assert code == EXIT_OK
    assert out.startswith("ok:")
    assert "aws-lambda" in out
    code, out, _ = run_cli(capsys, "pricing", "list")
    assert code == EXIT_OK
    assert "aws-fargate-linux-x86-us-east-1" in out
    code, out, _ = run_cli(capsys, "pricing", "show", "azure-aci-ai-sandboxes-eastus")
    assert code == EXIT_OK
    assert "[assumed]" in out
    assert "prices.azure.com" in out
    code, _, err = run_cli(capsys, "pricing", "show", "no-such-table")
    assert code == EXIT_INPUT
    assert "unknown price table" in err
    code, out, _ = run_cli(capsys, "platforms", "show", "aws-fargate")
    assert code == EXIT_OK
    assert "artifact_fetch" in out
    code, out, _ = run_cli(capsys, "platforms", "list")
    assert code == EXIT_OK
    assert "modal" in out
    code, out, _ = run_cli(capsys, "scenarios")
    assert code == EXIT_OK
    assert "duration-contrast" in out
    code, out, _ = run_cli(capsys, "schema")
    schema = json.loads(out)
    assert code == EXIT_OK
    assert "workloads" in schema["properties"]
    assert schema["properties"]["horizon"]["description"]


def test_installed_command_works_from_any_directory(tmp_path: Path) -> None:
    """After installation the console script finds its bundled data from anywhere."""
    command = shutil.which("sandsim") or str(Path(sys.executable).parent / "sandsim")
    if not Path(command).exists():
        pytest.skip("the sandsim console script is not installed in this environment")
    done = subprocess.run(
        [command, "run", "gpu-tools", "--replications", "1", "--out", "o"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "summary.json").is_file()
    bad = subprocess.run(
        [command, "run", "nope.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr


WAITING_FLEET = """
name: waiting-fleet
horizon: 1h
seed: 1
replications: 1
workloads:
  - name: big
    arrivals: {kind: burst, count: 2, at: 0s}
    duration: {kind: fixed, value: 2h}
    shape: {vcpu: 60, memory: 10GiB}
platforms:
  - id: fleet
    profile: gvisor
    fleet:
      host_prices: aws-ec2-us-east-1
      host_type: m5.metal
      autoscaling: {min_hosts: 1, max_hosts: 1}
"""


def test_run_prints_the_fleet_table_and_room_the_waiting_work_could_not_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One m5.metal (96 vCPU) and two 60-vCPU sandboxes: one runs, the other waits the
    whole hour beside 36 free vCPU (less gVisor's overhead) it cannot use. The table of
    fleets and a line naming that room are printed (it was in summary.json alone)."""
    scenario = write(tmp_path / "waiting.yaml", WAITING_FLEET)
    code, out, err = run_cli(capsys, "run", str(scenario), "--out", str(tmp_path / "out"))
    assert code == EXIT_OK, err
    assert "self-hosted fleets" in out
    line = next(text for text in out.splitlines() if text.startswith("fleet: free room"))
    vcpu = float(line.split("vCPU ")[1].split("%")[0]) / 100
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    waiting = summary["platforms"]["fleet"]["stranded_while_waiting"]
    assert vcpu == pytest.approx(waiting["vcpu"], abs=5e-5)
    assert 0.35 < waiting["vcpu"] <= 36 / 96  # 36 of 96 vCPU, less the overhead and launch
