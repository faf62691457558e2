"""Bad input of every kind exits 2 with file, field and fix, never a traceback or exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

import simulator as ss
from simulator.cli import EXIT_INPUT, EXIT_OK, main
from support import REPO

BASE = """
name: t
horizon: 1h
replications: 1
workloads:
  - name: w
    arrivals: {arrivals}
    duration: {duration}
    shape: {{vcpu: 1, memory: 2GiB}}
platforms:
  - profile: aws-lambda
"""


def scenario(
    tmp_path: Path,
    arrivals: str = "{kind: poisson, per_hour: 60}",
    duration: str = "{kind: fixed, value: 2s}",
    name: str = "s.yaml",
) -> Path:
    path = tmp_path / name
    path.write_text(BASE.format(arrivals=arrivals, duration=duration))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.err


@pytest.mark.parametrize(
    ("arrivals", "duration", "expected"),
    [
        ("{kind: poisson, per_hour: .inf}", "{kind: fixed, value: 2s}", "per_hour"),
        ("{kind: poisson, per_hour: .nan}", "{kind: fixed, value: 2s}", "per_hour"),
        ("{kind: poisson, per_hour: 60}", "{kind: lognormal, mu: 800, sigma: 1}", "30 years"),
        ("{kind: poisson, per_hour: 60}", "{kind: weibull, shape: 0.001, scale: 1s}", "30 years"),
        ("{kind: poisson, per_hour: 60}", "{kind: fixed, value: inf}", "duration"),
        ("{kind: burst, count: 1000000000, at: 0s}", "{kind: fixed, value: 2s}", "in memory"),
    ],
)
def test_absurd_values_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arrivals: str, duration: str, expected: str
) -> None:
    code, err = run(
        capsys, "run", str(scenario(tmp_path, arrivals, duration)), "--out", str(tmp_path / "o")
    )
    assert code == EXIT_INPUT
    assert expected in err


def test_trace_problems_name_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {
        "blank.csv": ("t,d\n2026-01-01T00:00:00,1\n,2\n", "line 3"),
        "blank_numeric.csv": ("t,d\n1,1\n\n3,2\n,4\n", "line"),
        "header.csv": ("t,d\n", "no rows"),
        "inf.csv": ("t,d\n1,inf\n2,3\n", "finite"),
    }
    for name, (text, expected) in cases.items():
        (tmp_path / name).write_text(text)
        path = scenario(
            tmp_path,
            f"{{kind: trace, path: {name}, timestamp_column: t, duration_column: d}}",
            "{kind: fixed, value: 1s}",
            name + ".yaml",
        )
        text_yaml = path.read_text().replace("    duration: {kind: fixed, value: 1s}\n", "")
        path.write_text(text_yaml)
        code, err = run(capsys, "validate", str(path))
        assert code == EXIT_INPUT, name
        assert expected in err, (name, err)


def test_long_error_lines_are_not_wrapped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A path longer than any console is printed whole, on the message's own line, so it can
    be searched for in a CI log (wrapping once split "has no rows" across two lines)."""
    deep = tmp_path / ("d" * 120) / ("e" * 120)
    deep.mkdir(parents=True)
    (deep / "header.csv").write_text("t,d\n")
    path = scenario(
        deep, "{kind: trace, path: header.csv, timestamp_column: t, duration_column: d}"
    )
    code, err = run(capsys, "validate", str(path))
    assert code == EXIT_INPUT
    assert f"workloads[0].arrivals: {deep / 'header.csv'} has no rows of requests" in err, err


def test_timezone_aware_trace_replays(tmp_path: Path) -> None:
    (tmp_path / "tz.csv").write_text("t\n2026-01-01T10:00:00+02:00\n2026-01-01T08:30:00Z\n")
    path = scenario(
        tmp_path, "{kind: trace, path: tz.csv, timestamp_column: t, origin: '2026-01-01T00:00:00Z'}"
    )
    path.write_text(path.read_text().replace("horizon: 1h", "horizon: 1d"))
    sampled = ss.sample_workloads(ss.load_scenario(path), 0)
    assert sampled.request_s.tolist() == [8 * 3600, 8.5 * 3600]


def test_markup_in_names_is_printed_literally(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(capsys, "run", str(tmp_path / "[red]nofile.yaml"))
    assert code == EXIT_INPUT
    assert "[red]nofile.yaml" in err
    path = tmp_path / "h.yaml"
    path.write_text(
        BASE.format(
            arrivals="{kind: poisson, per_hour: 1}", duration="{kind: fixed, value: 1s}"
        ).replace("horizon: 1h", 'horizon: "[/b]"')
    )
    code, err = run(capsys, "run", str(path))
    assert code == EXIT_INPUT
    assert "[/b]" in err


def test_duplicate_keys_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text(
        BASE.format(arrivals="{kind: poisson, per_hour: 1}", duration="{kind: fixed, value: 1s}")
        + "platforms:\n  - profile: e2b\n"
    )
    code, err = run(capsys, "validate", str(path))
    assert code == EXIT_INPUT
    assert "given twice" in err


def test_unwritable_output_is_refused_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("")
    code, err = run(
        capsys, "run", str(scenario(tmp_path)), "--out", str(tmp_path / "afile" / "sub")
    )
    assert code == EXIT_INPUT
    assert "--out" in err


def test_cross_field_errors_name_their_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = scenario(tmp_path)
    path.write_text(path.read_text() + "    workloads: [nope]\npricing_dir: missing\n")
    code, err = run(capsys, "validate", str(path))
    assert code == EXIT_INPUT
    assert "platforms[0].workloads" in err
    assert "pricing_dir" in err
    path.write_text(
        BASE.format(
            arrivals="{kind: poisson, per_hour: 1}", duration="{kind: fixed, value: 1s}"
        ).replace("horizon: 1h", "horizon: 0s")
    )
    code, err = run(capsys, "validate", str(path))
    assert code == EXIT_INPUT
    assert "horizon" in err


def test_empirical_file_survives_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "observed.csv").write_text("duration_s\n1\n2\n30\n")
    path = scenario(tmp_path, duration="{kind: empirical, path: observed.csv}")
    code, err = run(
        capsys,
        "run",
        str(path),
        "--seed",
        "3",
        "--replications",
        "2",
        "--out",
        str(tmp_path / "o"),
        "--quiet",
    )
    assert code == EXIT_OK, err


POOLS = """
name: t
horizon: 1h
replications: 1
{templates}
workloads:
  - name: w
    template: agent
    arrivals: {{kind: poisson, per_hour: 60}}
    duration: {{kind: fixed, value: 2s}}
    shape: {{vcpu: 1, memory: 2GiB}}
platforms:
  - profile: aws-lambda
    pools: {pools}
"""


@pytest.mark.parametrize(
    ("templates", "pools", "field", "expected"),
    [
        ("", "[{template: agent, size: 3, histogram_bin: 0}]", "histogram_bin", "positive"),
        (
            "",
            "[{template: agent, size: 3, policy: hybrid_histogram, histogram_bin: 0}]",
            "histogram_bin",
            "positive",
        ),
        ("", "[{template: agent, size: 3, histogram_bin: 1us}]", "pools[0]", "bins"),
        ("", "[{template: agent, size: 3, histogram_range: 0s}]", "histogram_range", "positive"),
        ("", "[{template: agent, size: 3, ttl: 0}]", "pools[0].ttl", "positive"),
        (
            "",
            "[{template: agent, size: 2}, {template: agent, size: 5}]",
            "pools[1].template",
            "second pool",
        ),
        ("", "[{template: agnet, size: 2}]", "pools[0].template", "agent"),
        ("templates: {agnet: {image_size: 5GiB}}", "[]", "templates.agnet", "agent"),
    ],
)
def test_pool_and_template_mistakes_are_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    templates: str,
    pools: str,
    field: str,
    expected: str,
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(POOLS.format(templates=templates, pools=pools))
    code, err = run(capsys, "run", str(path), "--out", str(tmp_path / "o"))
    assert code == EXIT_INPUT
    assert field in err
    assert expected in err
    assert "fix:" in err


def test_launch_hosts_are_bounded() -> None:
    """A pipeline with a million launch hosts would take minutes per burst (each launch
    looks at every host): refused with the field and the bound."""
    from simulator.errors import InputError
    from simulator.errors import InputErrors as _Errors
    from simulator.scenario import scenario_from_dict as _load

    data = {
        "name": "t",
        "horizon": "1h",
        "workloads": [
            {
                "name": "w",
                "arrivals": {"kind": "burst", "count": 10},
                "duration": {"kind": "fixed", "value": "1s"},
                "shape": {"vcpu": 1, "memory": "1GiB"},
            }
        ],
        "platforms": [{"profile": "azure-aci-ai-sandboxes", "hosts": 1_000_000}],
    }
    with pytest.raises((_Errors, InputError)) as caught:
        _load(data)
    assert "platforms[0].hosts" in str(caught.value)
    assert "10000" in str(caught.value)


FLEET = """
name: t
horizon: 1h
replications: 1
workloads:
  - name: w
    arrivals: {{kind: burst, count: 10, at: 0s}}
    duration: {{kind: fixed, value: 10m}}
    shape: {{vcpu: 2, memory: 4GiB}}
platforms:
  - id: fc
    profile: firecracker
    fleet: {fleet}
"""


@pytest.mark.parametrize(
    ("fleet", "field", "fix"),
    [
        # spot hosts without a rate of interruptions: spot prices without the risk
        (
            "{host_prices: aws-ec2-us-east-1, host_type: m5.metal, spot_share: 1.0}",
            "platforms[0].fleet.spot_share",
            "give spot_interruptions_per_hour",
        ),
        # a hundred million hosts ran for hours; an inventory stops at 100,000 hosts
        (
            "{host_prices: aws-ec2-us-east-1, host_type: m5.metal,"
            " autoscaling: {min_hosts: 100000000, max_hosts: 100000000}}",
            "platforms[0].fleet.autoscaling.min_hosts",
            "change the value as the message says",
        ),
        (
            "{host_prices: aws-ec2-us-east-1, host_type: m5.metal,"
            " autoscaling: {max_hosts: 100001}}",
            "platforms[0].fleet.autoscaling.max_hosts",
            "change the value as the message says",
        ),
        # a reserve larger than an inventory's c5.metal is the reserve's fault (it named
        # inventory.groups[0].host_type)
        (
            "{host_prices: aws-ec2-us-east-1, reserved_for_system: {memory: 200GiB},"
            " inventory: {groups: [{host_type: c5.metal, count: 1},"
            " {host_type: m5.metal, count: 1}]}}",
            "platforms[0].fleet.reserved_for_system",
            "reserve less than 96 vCPU and 192 GiB",
        ),
        # committed hosts beyond any fleet: the fix asked to raise max_hosts past its bound
        (
            "{host_prices: aws-ec2-us-east-1, host_type: m5.metal, committed_hosts: 1000000000}",
            "platforms[0].fleet.committed_hosts",
            "change the value as the message says",
        ),
        # true read as one host
        (
            "{host_prices: aws-ec2-us-east-1, inventory: {groups: [{host_type: m5.metal,"
            " count: true}]}}",
            "platforms[0].fleet.inventory.groups[0].count",
            "change the value as the message says",
        ),
        # a fleet has no quota to time out of or be rejected by: both were ignored, the
        # sandboxes waited for a host all the same
        (
            "{host_prices: aws-ec2-us-east-1, host_type: m5.metal}\n    queue_timeout: 1m",
            "platforms[0].queue_timeout",
            "remove queue_timeout",
        ),
        (
            "{host_prices: aws-ec2-us-east-1, host_type: m5.metal}\n    over_quota: reject",
            "platforms[0].over_quota",
            "remove over_quota",
        ),
        # a fleet is billed for host time: the profile's per-second table was ignored
        (
            "{host_prices: aws-ec2-us-east-1, host_type: m5.metal}\n"
            "    price_table: self-hosted-m5-metal-allocated",
            "platforms[0].price_table",
            "remove price_table",
        ),
        (
            "{host_prices: aws-ec2-us-east-1, host_type: m5.metal}\n    region: us-east-2",
            "platforms[0].region",
            "remove region",
        ),
    ],
)
def test_bad_fleets_exit_2_naming_file_field_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fleet: str, field: str, fix: str
) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(FLEET.format(fleet=fleet))
    code, err = run(capsys, "run", str(path), "--out", str(tmp_path / "out"))
    assert code == EXIT_INPUT
    assert f"fleet.yaml: {field}: " in err, err
    assert f"fix: {fix}" in err, err
    assert not (tmp_path / "out" / "summary.json").exists()


def test_two_host_tables_of_one_id_in_a_folder_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two host tables of one id in a pricing folder: the later file won silently. (A
    user's folder may still replace a bundled table of its id.)"""
    hosts = tmp_path / "hosts"
    hosts.mkdir()
    table = (REPO / "pricing" / "hosts" / "gcp-gce-us-central1.yaml").read_text()
    (hosts / "a.yaml").write_text(table)
    code, err = run(capsys, "pricing", "hosts", "--pricing-dir", str(tmp_path))
    assert code == EXIT_OK  # replacing the bundled table is allowed
    (hosts / "b.yaml").write_text(table)
    code, err = run(capsys, "pricing", "hosts", "--pricing-dir", str(tmp_path))
    assert code == EXIT_INPUT
    assert "b.yaml: id: id 'gcp-gce-us-central1' is also used by" in err, err
    assert "fix: give each file its own id" in err
