"""The notebooks in notebooks/ are stored without outputs and run top to bottom on a
fresh install (each within a few minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SHOWN = {
    "01-quick-start": ["repeat it 120 times to fill a 30-day month"],
    "05-fit-your-durations": ["kind: diurnal", "note: the requests span 86,387 s"],
}
"""Text a notebook's outputs must show, by notebook: what its prose tells the reader to
look at."""


def test_there_are_the_notebooks_the_docs_promise() -> None:
    names = {p.stem.split("-", 1)[1] for p in NOTEBOOKS}
    assert {
        "quick-start",
        "burst-cold-vs-snapshot",
        "self-hosted-gpus-and-breakeven",
        "budget-guardrails-and-levers",
        "fit-your-durations",
    } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell keeps its outputs"
            assert cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient", reason="notebooks run with the dev extra")
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    errors = [
        output
        for cell in book.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "error"
    ]
    assert not errors
    shown = "".join(
        str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
        for cell in book.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    for text in SHOWN.get(path.stem, []):
        assert text in shown, f"{path.name} does not show {text!r}"
