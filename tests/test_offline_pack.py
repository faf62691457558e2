"""`sandsim pack` and ``pack_shapes``: what they refuse, and what they report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from simulator.cli import EXIT_INPUT, EXIT_OK, main
from simulator.errors import InputError
from simulator.offline_pack import pack_shapes


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
