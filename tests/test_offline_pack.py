"""`sandsim pack` and ``pack_shapes``: what they refuse, and what they report."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.cli import EXIT_INPUT, EXIT_OK, main
from simulator.errors import InputError
from simulator.offline_pack import pack_shapes, read_shapes


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(tmp_path: Path, text: str, name: str = "shapes.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_exact_optimum_is_found_when_hosts_must_be_filled_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nine sandboxes whose only 3-host packings fill a host to the last vCPU (41 + 31 +
    24 = 96): with sizes rounded up to millionths of a host the solver proved 4."""
    pytest.importorskip("ortools", reason="the exact packer is the optional 'exact' extra")
    vcpu = [31, 35, 24, 15, 31, 41, 32, 48, 28]
    frame = pd.DataFrame({"vcpu": vcpu, "memory": [1] * len(vcpu)})
    report = pack_shapes(frame, "m5.metal", method="ffd", exact_time_limit_s=10)
    assert (report.hosts, report.lower_bound) == (4, 3)
    assert (report.optimum, report.proven_optimal, report.exact_status) == (3, True, "optimal")
    shapes = write(tmp_path, "vcpu,memory\n" + "".join(f"{v},1\n" for v in vcpu))
    code, text, err = run_cli(
        capsys, "pack", str(shapes), "--host", "m5.metal", "--method", "ffd", "--exact", "10"
    )
    assert code == EXIT_OK, err
    assert "exact: optimum 3 hosts (+1 for the heuristic), proven" in text


def test_exact_reports_infeasible_and_not_a_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Six 32-vCPU sandboxes fill two 96-vCPU hosts exactly: the rounded model was
    infeasible, and "no solution within 60 s" was printed after a second. Now 2 is proven;
    a model that is infeasible (sizes beyond the packers' 1e-9 tolerance) says so."""
    pytest.importorskip("ortools", reason="the exact packer is the optional 'exact' extra")
    thirds = write(tmp_path, "vcpu,memory,count\n32,8,6\n")
    code, text, err = run_cli(capsys, "pack", str(thirds), "--host", "m5.metal", "--exact", "60")
    assert code == EXIT_OK, err
    assert "exact: optimum 2 hosts (+0 for the heuristic), proven" in text
    tolerance = write(tmp_path, "vcpu,memory,count\n48.00000005,1,1\n48,1,1\n49,1,3\n", "t.csv")
    code, text, err = run_cli(capsys, "pack", str(tolerance), "--host", "m5.metal", "--exact", "9")
    assert code == EXIT_OK, err
    assert "exact: infeasible: no packing in 4 hosts with the sizes taken exactly" in text
    assert "timed out" not in text
    report = pack_shapes(tolerance, "m5.metal", exact_time_limit_s=9)
    assert (report.exact_status, report.exact_bound, report.optimum) == ("infeasible", 5, None)


def test_exact_refuses_a_model_too_large_before_packing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """200 distinct shapes on at least 240 hosts: the model (a count per shape and host)
    would be built for tens of seconds and GBs before a 1-second limit began (10,000
    sandboxes took 77 s and 3.5 GB). It is refused, saying how large is allowed and why."""
    pytest.importorskip("ortools", reason="the exact packer is the optional 'exact' extra")
    rows = "".join(f"{20 + k % 40},{1 + k},60\n" for k in range(200))
    shapes = write(tmp_path, "vcpu,memory,count\n" + rows)
    code, _, err = run_cli(capsys, "pack", str(shapes), "--host", "m5.metal", "--exact", "1")
    assert code == EXIT_INPUT
    assert "--exact" in err
    assert "200 shapes x" in err
    assert "above the 50,000 allowed" in err
    assert "outlast the time limit" in err
    assert "fix:" in err
    with pytest.raises(InputError, match="above the 50,000 allowed"):
        pack_shapes(shapes, "m5.metal", exact_time_limit_s=1)


def sixty_cpu_shapes() -> pd.DataFrame:
    """60 CPU-only sandboxes of 10-39 vCPU and 100-399 GiB (seed 0): 16 p4d.24xlarge."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"vcpu": rng.integers(10, 40, 60), "memory": rng.integers(100, 400, 60), "gpus": 0.0}
    )


def test_one_gpu_share_packs_with_the_chosen_packer_and_costs_no_host() -> None:
    """One row asking for a tenth of a GPU switched the whole file to plain first-fit
    decreasing, whatever --method said: 60 shapes took 16 hosts, and with a 1-vCPU,
    1-GiB, 0.1-GPU sandbox added, 17."""
    base = sixty_cpu_shapes()
    plus = pd.concat(
        [base, pd.DataFrame({"vcpu": [1], "memory": [1], "gpus": [0.1]})], ignore_index=True
    )
    without, with_share = pack_shapes(base, "p4d.24xlarge"), pack_shapes(plus, "p4d.24xlarge")
    assert without.hosts == with_share.hosts == with_share.lower_bound == 16
    assert with_share.method.startswith(without.method)
    assert with_share.method.endswith("GPUs placed one by one")
    for method, name in (("ffd", "ffd-"), ("bfd", "bfd-"), ("bin_centric", "bin-centric-")):
        report = pack_shapes(plus, "p4d.24xlarge", method=method)
        assert report.method.startswith(name), (method, report.method)
        assert report.hosts == pack_shapes(base, "p4d.24xlarge", method=method).hosts


def test_shares_that_do_not_fit_a_gpu_move_to_another_host() -> None:
    """The packer, taking GPUs as one resource, puts twelve 0.6 shares (7.2 GPUs) on one
    8-GPU host; placed one by one, four find no GPU and move to a second host."""
    twelve = pd.DataFrame({"vcpu": [2] * 12, "memory": [8] * 12, "gpus": [0.6] * 12})
    for method in ("portfolio", "ffd", "bfd", "bin_centric"):
        report = pack_shapes(twelve, "p4d.24xlarge", method=method)
        assert report.hosts == 2
        assert sorted(report.per_host["sandboxes"]) == [4, 8]
    # a whole GPU and shares: seven whole GPUs leave one GPU for shares
    mixed = pd.DataFrame(
        {"vcpu": [2] * 10, "memory": [8] * 10, "gpus": [1.0] * 7 + [0.5, 0.5, 0.5]}
    )
    report = pack_shapes(mixed, "p4d.24xlarge", method="ffd")
    assert report.hosts == 2
    assert report.per_host["gpus"].max() <= 8.0


@pytest.mark.parametrize(
    ("content", "texts"),
    [
        # each was ignored: the shapes packed as if the column were not there
        ("vcpu,memory,mig\n2,4,3g.20gb\n", ["unknown column 'mig'", "MIG"]),
        ("vcpu,memory,gpu\n2,4,1\n", ["unknown column 'gpu'", "rename it gpus"]),
        ("vcpu,memory,gpu_type\n2,4,h100\n", ["unknown column 'gpu_type'", "--host"]),
        ("vcpu,memory,vcpu\n2,4,8\n", ["column 'vcpu' is given 2 times"]),
        ("vCPU,memory,VCPU \n2,4,8\n", ["column 'vcpu' is given 2 times"]),
        ("vcpu,mem\n2,4\n", ["no 'memory' column", "rename mem to memory"]),
        ("vcpu;memory\n2;4\n", ["no 'vcpu' column", "commas"]),
        ("vcpu,memory,vcpus\n2,4,1\n", ["unknown column 'vcpus'", "rename it vcpu"]),
        # a row longer than the header made its first cell an index: "memory 'extra'"
        ("vcpu,memory\n2,4,extra\n", ["Expected 2 fields in line 2, saw 3"]),
    ],
)
def test_unknown_or_repeated_columns_are_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, texts: list[str]
) -> None:
    shapes = write(tmp_path, content)
    code, _, err = run_cli(capsys, "pack", str(shapes), "--host", "p4d.24xlarge")
    assert code == EXIT_INPUT
    assert "Traceback" not in err
    assert err.startswith(f"error: {shapes}")
    for text in texts:
        assert text in err
    if "unknown column" in err:
        assert "the columns vcpu, memory, gpus, count, name" in err  # the accepted ones
    assert "fix:" in err


@pytest.mark.parametrize(
    ("frame", "text"),
    [
        # a table as read_shapes returns it skipped every check
        (
            {"line": [2, 3], "name": ["a", "b"], "vcpu": [-50.0, 60.0], "memory_gib": [4, 4]},
            "line 2.vcpu",
        ),
        ({"line": [2], "vcpu": [math.nan], "memory_gib": [4.0], "gpus": [0.0]}, "vcpu is empty"),
        ({"line": [2], "vcpu": [2.0], "memory_gib": [4.0], "gpus": [-1.0]}, "line 2.gpus"),
        ({"line": [7], "vcpu": [2.0], "memory_gib": [4.0], "host": [0]}, "unknown column 'host'"),
        ({"vcpu": [True], "memory": [4.0]}, "vcpu True is not a number"),
        ({"vcpu": [2.0], "memory": [4.0], "memory_gib": [4.0]}, "both memory and memory_gib"),
        ({"line": [0], "vcpu": [2.0], "memory": [4.0]}, "not a line number"),
        # a scenario refuses a share below a thousandth: pack took 1e-12
        ({"line": [2], "vcpu": [2.0], "memory": [4.0], "gpus": [1e-12]}, "at least 0.001"),
    ],
)
def test_every_table_is_checked_as_a_file_is(frame: dict, text: str) -> None:
    with pytest.raises(InputError, match=re.escape(text)):
        pack_shapes(pd.DataFrame(frame), "m5.metal")


def test_a_table_as_read_shapes_returns_it_packs_as_the_file(tmp_path: Path) -> None:
    """A missing gpus column raised KeyError, and count was ignored."""
    no_gpus = pd.DataFrame({"line": [2], "name": ["a"], "vcpu": [2.0], "memory_gib": [4.0]})
    assert pack_shapes(no_gpus, "m5.metal").assignment["gpus"].tolist() == [0.0]
    counted = no_gpus.assign(count=[1000])
    report = pack_shapes(counted, "m5.metal")
    assert report.sandboxes == 1000
    assert report.hosts == report.lower_bound == 21  # 2,000 vCPU over 96-vCPU hosts
    shapes = write(tmp_path, "name,vcpu,memory,gpus,count\nagent,2,512MiB,,3\nbig,40,8GiB,,2\n")
    from_file = pack_shapes(shapes, "m5.metal")
    again = pack_shapes(read_shapes(shapes), "m5.metal")
    assert again.sandboxes == from_file.sandboxes == 5
    assert again.hosts == from_file.hosts
    pd.testing.assert_frame_equal(again.assignment, from_file.assignment)


@pytest.mark.parametrize(
    ("profile", "content", "text", "fix"),
    [
        # Firecracker has no device passthrough: the engine refuses GPU shapes on it, and
        # `sandsim pack --profile firecracker` packed them
        (
            "firecracker",
            "vcpu,memory,gpus\n2,4,1\n",
            "line 2.gpus: firecracker cannot give a sandbox whole GPUs",
            "--profile gvisor or kata-qemu-gpu",
        ),
        (
            "firecracker",
            "vcpu,memory,gpus\n2,4,0\n2,4,0.5\n",
            "line 3.gpus: firecracker cannot give a sandbox a time-sliced GPU share",
            "--profile gvisor",
        ),
        # Kata with QEMU passes whole GPUs through, and does not time-slice them
        (
            "kata-qemu-gpu",
            "vcpu,memory,gpus\n2,4,0.25\n",
            "line 2.gpus: kata-qemu-gpu cannot give a sandbox a time-sliced GPU share",
            "--profile gvisor",
        ),
    ],
)
def test_the_isolation_profile_gives_gpus_as_in_the_engine(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    profile: str,
    content: str,
    text: str,
    fix: str,
) -> None:
    shapes = write(tmp_path, content)
    code, out, err = run_cli(
        capsys, "pack", str(shapes), "--host", "p4d.24xlarge", "--profile", profile
    )
    assert code == EXIT_INPUT, out
    assert f"error: {shapes}: {text}" in err
    assert fix in err
    with pytest.raises(InputError, match=text):
        pack_shapes(shapes, "p4d.24xlarge", profile=profile)


def test_gpu_shapes_pack_under_an_isolation_that_gives_them(tmp_path: Path) -> None:
    shapes = write(tmp_path, "vcpu,memory,gpus\n2,4,1\n2,4,0.5\n")
    report = pack_shapes(shapes, "p4d.24xlarge", profile="gvisor")
    assert report.hosts == 1
    # gVisor's 18 MiB per sandbox is added to each shape's memory
    assert report.per_host["memory_gib"].iloc[0] == pytest.approx(8 + 2 * 18 / 1024)
    whole = write(tmp_path, "vcpu,memory,gpus\n2,4,2\n", "whole.csv")
    assert pack_shapes(whole, "p4d.24xlarge", profile="kata-qemu-gpu").hosts == 1


def test_out_into_a_missing_folder_is_refused_before_packing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It packed first, then reported "internal error ... this is a bug" (exit 1)."""
    import simulator.offline_pack

    def must_not_pack(*args: object, **kwargs: object) -> None:
        raise AssertionError("packed before --out was checked")

    shapes = write(tmp_path, "vcpu,memory\n2,4\n")
    missing = tmp_path / "no" / "such" / "assignment.csv"
    with monkeypatch.context() as patch:
        patch.setattr(simulator.offline_pack, "pack_shapes", must_not_pack)
        code, _, err = run_cli(
            capsys, "pack", str(shapes), "--host", "m5.metal", "--out", str(missing)
        )
    assert code == EXIT_INPUT
    assert f"error: --out: the folder '{missing.parent}'" in err
    assert "does not exist" in err
    assert "internal error" not in err
    assert "fix: create it first" in err
    code, text, err = run_cli(
        capsys, "pack", str(shapes), "--host", "m5.metal", "--out", str(tmp_path / "a.csv")
    )
    assert code == EXIT_OK, err
    assert f"wrote {tmp_path / 'a.csv'}" in text
    assert (tmp_path / "a.csv").read_text().splitlines()[0] == "line,name,vcpu,memory_gib,gpus,host"


@pytest.mark.parametrize(
    ("content", "args", "source", "texts"),
    [
        # the overhead that makes a shape too large is named
        (
            "vcpu,memory\n2,384\n",
            ["--profile", "firecracker"],
            "shapes.csv: line 2",
            ["384 GiB and the firecracker overhead of 5 MiB", "leave room for the firecracker"],
        ),
        # a reserve that leaves too little is blamed, not the file (the fix was "choose a
        # larger host type")
        (
            "vcpu,memory\n2,4\n",
            ["--reserve-vcpu", "95.5"],
            "--reserve-vcpu",
            ["offers 0.5 vCPU", "shapes.csv, line 2)", "reserve at most 94 vCPU"],
        ),
        (
            "vcpu,memory\n2,380\n",
            ["--reserve-memory", "8GiB"],
            "--reserve-memory",
            ["offers 96 vCPU and 376 GiB", "reserve at most 4 GiB"],
        ),
        # "-0" was "not a number"; it is a size, and not above 0
        ("vcpu,memory\n2,-0\n", [], "shapes.csv: line 2.memory", ["needs some vCPU and memory"]),
        # Python reads 1_000 as 1000 (and the vCPU column did), pandas and spreadsheets
        # as text (and the memory column did): plain decimal numbers only, in every column
        ("vcpu,memory\n1_000,4\n", [], "shapes.csv: line 2.vcpu", ["'1_000' is not a number"]),
        ("vcpu,memory\n2,1_000\n", [], "shapes.csv: line 2.memory", ["'1_000' is not a number"]),
        ("vcpu,memory,count\n2,4,1_0\n", [], "shapes.csv: line 2.count", ["not a number"]),
    ],
)
def test_pack_errors_say_what_is_wrong(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    args: list[str],
    source: str,
    texts: list[str],
) -> None:
    shapes = write(tmp_path, content)
    code, _, err = run_cli(capsys, "pack", str(shapes), "--host", "m5.metal", *args)
    assert code == EXIT_INPUT
    first = err.splitlines()[0]
    assert first.startswith("error: ")
    assert first.removeprefix("error: ").replace(str(tmp_path) + "/", "").startswith(source)
    for text in texts:
        assert text in err
    assert "fix:" in err


def test_pack_counts_read_as_english(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A tiny sandbox needs a host: the lower bound was 0 ("+1 hosts"), and one was "1
    sandboxes"."""
    tiny = write(tmp_path, "vcpu,memory\n1e-300,1e-300\n")
    code, text, err = run_cli(capsys, "pack", str(tiny), "--host", "m5.metal")
    assert code == EXIT_OK, err
    assert "1 sandbox on 1 x m5.metal" in text
    assert "lower bound 1 (+0 hosts)" in text
    two = write(tmp_path, "vcpu,memory,count\n60,4,2\n", "two.csv")
    code, text, err = run_cli(capsys, "pack", str(two), "--host", "m5.metal", "--method", "ffd")
    assert code == EXIT_OK, err
    assert "2 sandboxes on 2 x m5.metal (ffd-sum); lower bound 2 (+0 hosts)" in text
    vcpu = [31, 35, 24, 15, 31, 41, 32, 48, 28]  # first-fit decreasing: 4 hosts, 1 above
    spread = write(tmp_path, "vcpu,memory\n" + "".join(f"{v},1\n" for v in vcpu), "spread.csv")
    code, text, err = run_cli(capsys, "pack", str(spread), "--host", "m5.metal", "--method", "ffd")
    assert code == EXIT_OK, err
    assert "9 sandboxes on 4 x m5.metal (ffd-sum); lower bound 3 (+1 host)" in text
