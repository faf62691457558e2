"""Progress on a terminal, silence elsewhere, and Ctrl-C without a traceback."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

import simulator.cli as cli_module
from simulator.cli import main, progress_bar
from simulator.executors import ProcessExecutor, SerialExecutor


def _square(offset: int, item: int) -> int:
    return item * item + offset


@pytest.mark.parametrize(
    "executor", [SerialExecutor(), ProcessExecutor(2)], ids=["serial", "processes"]
)
def test_executors_report_every_finished_task(executor: SerialExecutor | ProcessExecutor) -> None:
    heard: list[tuple[int, int]] = []
    executor.progress = lambda done, total: heard.append((done, total))
    assert executor.map(_square, 1, [1, 2, 3, 4, 5]) == [2, 5, 10, 17, 26]
    assert heard == [(k, 5) for k in range(1, 6)]


def test_progress_bar_is_silent_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(cli_module, "err", Console(file=stream, force_terminal=False))
    with progress_bar("replications") as progress:
        assert progress is None
    assert stream.getvalue() == ""


def test_progress_bar_draws_on_a_terminal_unless_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(cli_module, "err", Console(file=stream, force_terminal=True, width=100))
    with progress_bar("replications", show=False) as progress:
        assert progress is None
    assert stream.getvalue() == ""
    with progress_bar("replications") as progress:
        assert progress is not None
        for done in range(1, 4):
            progress(done, 3)
    assert "replications" in stream.getvalue()


def test_ctrl_c_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "simulate", interrupted)
    assert main(["run", "claims/e2b-start", "--quiet"]) == 130
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
