"""Student-facing pieces of issue 32, without a browser: the release's answer stubs, the
feedback page's math and score list, plain-text errata, and the student JupyterLab profile.

The browser sees the same in ``tests/browser/test_run_all_stubs.py``,
``tests/browser/test_readable_feedback.py`` (and the formgrader's math) and
``tests/browser/test_student_mode.py``.
"""

from __future__ import annotations

import json
import re

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cs230_grading.answer_stubs import ClearSolutionsKeepRunning, assigned_names
from cs230_grading.course import NOTEBOOKS, REPO_ROOT
from cs230_grading.errata import notes_for
from cs230_grading.feedback import notes_lines
from cs230_grading.feedback_labels import label_score_list
from cs230_grading.feedback_labels import test_cell_labels as cell_labels
from cs230_grading.math_render import render_math, render_page_math, tex_to_mathml
from cs230_grading.notebooks import grade_cells, nbgrader_meta, read_notebook
from cs230_grading.plain_math import plain_text, tex_to_unicode
from cs230_grading.student_lab import (
    INSTRUCTOR_LAB_PLUGINS,
    INSTRUCTOR_SERVER_EXTENSIONS,
    write_profile,
)

RELEASE = REPO_ROOT / "release" / "midterm"


def _solution(source: str) -> object:
    return new_code_cell(source, metadata={"nbgrader": {
        "solution": True, "grade": False, "locked": False, "grade_id": "a",
        "schema_version": 3}})


# -- item 5: answer stubs ---------------------------------------------------------------

def test_top_level_stub_becomes_none_and_function_stub_keeps_raising() -> None:
    nb = new_notebook(cells=[
        _solution("# answer_a = a set\n### BEGIN SOLUTION\n# why\nx = 1\nanswer_a = {x}\n"
                  "### END SOLUTION\nprint(answer_a)"),
        _solution("def f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    return x\n"
                  "    ### END SOLUTION"),
        _solution("### BEGIN SOLUTION\nimport math\n### END SOLUTION"),  # assigns nothing
    ], metadata={"kernelspec": {"language": "python", "name": "python3",
                                          "display_name": "Python 3"}})
    nb, _ = ClearSolutionsKeepRunning().preprocess(nb, {})
    top, function, nothing = (c.source for c in nb.cells)
    assert top == "# answer_a = a set\nanswer_a = None  # YOUR ANSWER HERE\nprint(answer_a)"
    assert function.endswith("    # YOUR CODE HERE\n    raise NotImplementedError()")
    assert nothing == "# YOUR CODE HERE\nraise NotImplementedError()"
    assert assigned_names("a = 1\nb: int = 2\nc += 1\nd.e = 3\nf, g = 1, 2") == ["a", "b", "c"]


def test_release_never_raises_at_top_level() -> None:
    """Every answer cell of the committed release: no top-level raise (Run All goes on)."""
    for path in sorted(RELEASE.glob("*.ipynb")):
        for gid, cell in grade_cells(read_notebook(path)).items():
            if cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
                top = [ln for ln in cell.source.splitlines() if ln.startswith("raise ")]
                assert not top, f"{path.name} {gid} raises at top level: {top}"


# -- item 6: math, score list ------------------------------------------------------------

def test_math_becomes_mathml_outside_code_and_outputs() -> None:
    page = ("<html><head><!-- Load mathjax --><script src='x'></script>"
            "<!-- End of mathjax configuration -->\n</head><body>"
            "<p>The gradient $\\partial L/\\partial W_d^l$ costs $5 and $10, \\$ 3</p>"
            "<p>$$a &lt; b$$</p><pre>$x$ printed</pre><code>$y$</code></body></html>")
    out, count = render_math(page)
    assert count == 2
    assert out.count("<math ") == 2 and 'display="block"' in out
    assert "costs $5 and $10, \\$ 3" in out
    assert "<pre>$x$ printed</pre>" in out and "<code>$y$</code>" in out
    assert "mathjax" not in render_page_math(page).lower()


@pytest.mark.parametrize("tex", [
    "\\text{&lt;script&gt;alert(1)&lt;/script&gt;}",  # latex2mathml copies \text raw
    "\\href{javascript:alert(1)}{x}",
])
def test_formula_with_markup_or_links_stays_text(tex: str) -> None:
    out, count = render_math(f"<p>${tex}$</p>")
    assert count == 0 and "<script" not in out and "<math" not in out
    assert tex_to_mathml("\\alpha") is not None


def test_score_list_names_each_test_cell_by_part_and_function() -> None:
    nb = read_notebook(RELEASE / "q5_gan_backprop.ipynb")
    labels = cell_labels(nb)
    assert labels["q5_ii_test"] == "Part ii: the gradient at the discriminator's output: " \
        "output_layer_grads"
    assert labels["q5_vii_test"].endswith(": generator_step")  # not the cell before's names
    q1 = cell_labels(read_notebook(RELEASE / "q1_multiple_choice.ipynb"))
    assert q1["q1_a_test"] == "(a) Rescaling a CNN: answer_a"
    page = '<li><a href="#q5_ii_test">Test cell</a> (Score: 4)</li>'
    assert "Test cell" not in label_score_list(page, labels)
    assert "discriminator&#x27;s output" in label_score_list(page, labels)  # escaped


def test_a_students_heading_is_not_a_part_name() -> None:
    answer = new_markdown_cell("# <b>mine</b>", metadata={"nbgrader": {
        "solution": True, "grade": True, "grade_id": "w", "points": 1}})
    nb = new_notebook(cells=[new_markdown_cell("## Part i (1 point): words"), answer])
    assert cell_labels(nb) == {"w": "Part i: words"}


# -- item 7: plain-text errata -------------------------------------------------------------

def test_errata_lines_are_plain_unicode() -> None:
    assert tex_to_unicode("\\operatorname{sign}(w^*) \\max(|w^*| - \\alpha/H, 0)") == \
        "sign(w*) max(|w*| - α/H, 0)"
    assert tex_to_unicode("(W^{l+1})^\\top \\partial L / \\partial z^{l+1}") == \
        "(Wˡ⁺¹)ᵀ ∂L / ∂zˡ⁺¹"
    assert tex_to_unicode("\\frac{\\alpha}{2}\\|\\mathbf{w}\\|_2^2") == "(α/2)‖w‖₂²"
    assert plain_text("**E2**: $w^*$ and *w*") == "E2: w* and w"
    for nb in NOTEBOOKS:
        lines = notes_lines(nb)
        assert bool(lines) == bool(notes_for(nb))
        text = "\n".join(lines)
        assert not re.search(r"[$\\`]", text), f"{nb}: TeX or markdown left: {text}"
        assert max((len(ln) for ln in lines), default=0) <= 80


# -- item 8: the student profile ------------------------------------------------------------

def test_student_profile_disables_instructor_tools_as_nbgrader_documents(tmp_path) -> None:
    profile = write_profile(tmp_path / "profile")
    disabled = json.loads((profile / "labconfig" / "page_config.json").read_text())
    assert disabled["disabledExtensions"] == dict.fromkeys(INSTRUCTOR_LAB_PLUGINS, True)
    assert "@jupyter/nbgrader:validate-assignment" not in disabled["disabledExtensions"]
    server = json.loads((profile / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == dict.fromkeys(
        INSTRUCTOR_SERVER_EXTENSIONS, False)
    settings = profile / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    assert json.loads((settings / "notification.jupyterlab-settings").read_text())[
        "fetchNews"] == "false"
    assert "jp-mod-readOnly" in (profile / "custom" / "custom.css").read_text()
    # a second run keeps what the student disabled themselves
    page_config = profile / "labconfig" / "page_config.json"
    page_config.write_text(json.dumps({"disabledExtensions": {"other:plugin": True}}))
    write_profile(profile)
    assert json.loads(page_config.read_text())["disabledExtensions"]["other:plugin"] is True


def test_formgrader_page_gets_mathml_and_a_mathjax_stand_in_under_its_policy() -> None:
    from types import SimpleNamespace

    from tornado.httputil import HTTPHeaders

    from cs230_grading.lab_csp import SubmissionPagePolicy, sha256
    from cs230_grading.math_render import MATHJAX_STAND_IN

    page = (b"<html><head><!-- Load mathjax --><script src='https://cdn/MathJax.js'></script>"
            b"<!-- End of mathjax configuration -->\n</head><body><p>$x^2$</p>"
            b"<script>alert(1)</script></body></html>")
    headers = HTTPHeaders({"Content-Type": "text/html", "Content-Length": str(len(page))})
    policy = SubmissionPagePolicy(SimpleNamespace(path="/formgrader/submissions/abc/"))
    _, headers, chunk = policy.transform_first_chunk(200, headers, page, True)
    text = chunk.decode()
    assert "<math " in text and "$x^2$" not in text and "cdn/MathJax" not in text
    assert text.index(MATHJAX_STAND_IN) < text.index("<body>")
    assert headers["Content-Length"] == str(len(chunk))
    csp = headers["Content-Security-Policy"]
    assert f"'sha256-{sha256(MATHJAX_STAND_IN)}'" in csp
    assert f"'sha256-{sha256('alert(1)')}'" not in csp  # a student's script stays refused
