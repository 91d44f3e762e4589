"""The grading worker's shortcuts through nbgrader and nbconvert give the same results.

``cs230_grading/grading/nbgrader_speedups.py`` (cell metadata validated by a compiled
validator), ``cs230_grading/feedback_html.py`` (code highlighted once per source) and
``cs230_grading/sandbox/kernel.py`` (no kernel for a notebook with nothing to run) each skip
work that nbgrader repeats for every student; these tests hold them to nbgrader's own output.
"""

from __future__ import annotations

import copy

import jsonschema
import nbformat
import pytest
from nbconvert.filters.highlight import Highlight2HTML
from nbgrader.nbgraderformat import common
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

from cs230_grading.course import NOTEBOOKS, REPO_ROOT
from cs230_grading.feedback_html import KeptHighlight
from cs230_grading.grading.nbgrader_speedups import validate_metadata_once_per_schema
from cs230_grading.notebooks import read_notebook
from cs230_grading.sandbox.kernel import KERNEL_SECONDS, SandboxedExecute

SOURCE = REPO_ROOT / "source" / "midterm"


@pytest.fixture
def compiled_validation(monkeypatch: pytest.MonkeyPatch):
    """nbgrader's metadata check with the worker's validators, undone afterwards."""
    monkeypatch.setattr(common, "jsonschema", jsonschema)
    validate_metadata_once_per_schema()
    yield
    # monkeypatch puts nbgrader's jsonschema back


def _error(nb) -> str | None:
    try:
        MetadataValidatorV3().validate_nb(nb)
    except jsonschema.ValidationError as exc:
        return str(exc)
    return None


def test_every_source_notebook_passes_the_compiled_check(compiled_validation) -> None:
    for name in NOTEBOOKS:
        assert _error(read_notebook(SOURCE / f"{name}.ipynb")) is None, name


@pytest.mark.parametrize(("key", "value"), [("points", "two"), ("grade_id", 7),
                                            ("locked", "yes")])
def test_a_bad_cell_raises_nbgrader_s_own_error(key: str, value: object,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    nb = read_notebook(SOURCE / "q3_conv_architectures.ipynb")
    bad = copy.deepcopy(nb)
    cell = next(c for c in bad.cells if c.metadata.get("nbgrader", {}).get("grade"))
    cell.metadata.nbgrader[key] = value
    monkeypatch.setattr(common, "jsonschema", jsonschema)
    stock = _error(bad)
    assert stock is not None, "nbgrader itself accepts the broken cell: the case tests nothing"
    validate_metadata_once_per_schema()
    assert _error(bad) == stock
    assert _error(nb) is None  # and the validators kept for the next notebook still pass


CODE = [
    ("import numpy as np\nx = np.ones((2, 3))  # a comment\n", {}),
    ("%%bash\necho hi\n", {"magics_language": "bash"}),
    ("", {}),
    ("def f(a: int) -> str:\n    return f'{a!r}'\n", {"nbgrader": {"grade": True}}),
]


@pytest.mark.parametrize("lexer", ["ipython3", "python"])
def test_kept_highlighting_is_nbconvert_s(lexer: str) -> None:
    stock = Highlight2HTML(pygments_lexer=lexer)
    kept = KeptHighlight(Highlight2HTML(pygments_lexer=lexer))
    for _ in range(2):  # rendered, then remembered
        for source, metadata in CODE:
            assert kept(source, None, metadata) == stock(source, None, metadata)
    assert len(kept.kept) == len(CODE)
    # a cell whose metadata changes only what highlighting ignores is the same entry
    kept(CODE[0][0], None, {"execution": {"iopub.status.busy": "2021-05-07T14:00:00Z"}})
    assert len(kept.kept) == len(CODE)


def test_a_notebook_with_nothing_to_run_starts_no_kernel(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("**(a)** My answer."),
                nbformat.v4.new_code_cell("   \n")]
    before = copy.deepcopy(nb)
    KERNEL_SECONDS.clear()
    out, _ = SandboxedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert KERNEL_SECONDS["kernel_start"] == 0.0, "a kernel was started for nothing to run"
    assert out == before
    # one line of code is enough for a kernel
    nb.cells.append(nbformat.v4.new_code_cell("print(6 * 7)"))
    out, _ = SandboxedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    assert KERNEL_SECONDS["kernel_start"] > 0.0
    assert out.cells[-1].outputs[0]["text"] == "42\n"
