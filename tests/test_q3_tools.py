"""The Q3 explorer and self-checks (no front end), and the Q3 notebook run top to bottom."""

from __future__ import annotations

import copy
import re
import shutil
import sys
from pathlib import Path

import pytest

from cs230_grading.notebooks import nbgrader_meta, read_notebook, write_notebook
from cs230_grading.reference import conv

MIDTERM = Path(__file__).resolve().parents[1] / "source" / "midterm"
sys.path.insert(0, str(MIDTERM))
import q3_tools  # noqa: E402

FUNCS = (conv.conv_output_shape, conv.conv_num_params, conv.maxpool_output_shape,
         conv.fc_num_params, conv.network_output)


def stub(*args, **kwargs):
    raise NotImplementedError()


def rows(explorer) -> list[list[str]]:
    table = explorer.table.value
    return [re.findall(r"<td>(.*?)</td>", row)
            for row in re.findall(r'<tr class="cs230-q3-row">(.*?)</tr>', table)]


def test_builds_without_front_end_and_shows_the_students_values():
    explorer = q3_tools.ConvExplorer(*FUNCS)
    table = rows(explorer)
    # input + 3 x (conv, pool, ReLU) + FC
    assert len(table) == 11
    assert table[0][:2] == ["input", "128 x 128 x 3"]
    assert bytes(explorer.plot.value).startswith(b"\x89PNG")
    assert "agrees with the table" in explorer.message.value


def test_stride_change_updates_the_table():
    explorer = q3_tools.ConvExplorer(*FUNCS)
    before = explorer.table.value
    for stride in (2, 3, 1, 2, 3):
        explorer.controls["stride"].value = stride
        shape = conv.conv_output_shape((128, 128, 3), 3, stride, 0, 64)
        assert rows(explorer)[1][1] == " x ".join(map(str, shape))
    assert explorer.table.value != before


def test_stubs_say_what_to_implement():
    explorer = q3_tools.ConvExplorer(stub, stub, stub, stub, stub)
    message = explorer.message.value
    for name in ("conv_output_shape", "conv_num_params", "network_output"):
        assert f"Implement <code>{name}</code>" in message
    assert len(rows(explorer)) == 1  # only the input row
    # with the conv functions written, the next missing one is named
    explorer = q3_tools.ConvExplorer(conv.conv_output_shape, conv.conv_num_params, stub, stub)
    assert "Implement <code>maxpool_output_shape</code> (part iv)" in explorer.message.value


def test_value_error_is_a_message_not_a_traceback():
    def picky(shape, f, s, p, k):
        raise ValueError("filter too big for this input")

    explorer = q3_tools.ConvExplorer(picky, *FUNCS[1:])
    assert "says: filter too big for this input" in explorer.message.value
    explorer.controls["height"].value = 2  # the reference raises too: still no exception
    assert "Traceback" not in explorer.message.value


def test_wrong_student_values_are_shown_as_they_are():
    def wrong(shape, f, s, p, k):
        return (shape[0] // s, shape[1] // s, k)

    explorer = q3_tools.ConvExplorer(wrong, *FUNCS[1:])
    assert rows(explorer)[1][1] == "128 x 128 x 64"
    assert "differs from the table" in explorer.message.value


def test_documented_css_classes_exist():
    explorer = q3_tools.ConvExplorer(*FUNCS)
    documented = set(re.findall(r"^(cs230-q3-[a-z-]+)\s", q3_tools.__doc__, re.M))
    widgets = [explorer.widget, explorer.table, explorer.message, explorer.plot,
               *explorer.controls.values()]
    present = {cls for w in widgets for cls in w._dom_classes}
    assert documented == present
    assert explorer.controls["stride"].description == "Stride"


def test_show_explorer_does_nothing_under_autograding(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert q3_tools.show_explorer(*FUNCS) is None


def test_self_checks(capsys):
    assert q3_tools.check_conv_functions(conv.conv_output_shape, conv.conv_num_params)
    assert q3_tools.check_network_functions(conv.maxpool_output_shape, conv.network_output,
                                            conv.fc_num_params)
    assert not q3_tools.check_conv_functions(stub, stub)
    assert "not implemented yet" in capsys.readouterr().out


KEY_VALUES = ["126", "1792", "1,792", "1216", "1,216", "416", "75648", "75,648", "14048",
              "14,048", "8672", "8,672", "1290", "1,290", "125450", "40970"]


def student_visible_text() -> str:
    """What the release shows: q3_tools.py and the notebook without solutions/hidden tests."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    nb = read_notebook(MIDTERM / "q3_conv_architectures.ipynb")
    nb, _ = ClearSolutions().preprocess(copy.deepcopy(nb), {})
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    return (MIDTERM / "q3_tools.py").read_text() + "\n".join(c.source for c in nb.cells)


def test_release_side_holds_no_key_value():
    text = student_visible_text()
    found = [v for v in KEY_VALUES if re.search(rf"(?<![\d,]){re.escape(v)}(?![\d,])", text)]
    assert found == []
    assert "cs230_grading" not in text


def run_notebook(tmp_path: Path, *, blank: bool):
    from nbclient import NotebookClient

    nb = read_notebook(MIDTERM / "q3_conv_architectures.ipynb")
    if blank:  # as the course releases it (nbgrader_config.py): stubs, no hidden tests
        from nbgrader.preprocessors import ClearHiddenTests

        from cs230_grading.answer_stubs import ClearSolutionsKeepRunning

        nb, _ = ClearSolutionsKeepRunning().preprocess(nb, {})
        nb, _ = ClearHiddenTests().preprocess(nb, {})
    for name in ("q3_tools.py", "selfcheck.py"):
        shutil.copy(MIDTERM / name, tmp_path / name)
    write_notebook(nb, tmp_path / "q3.ipynb")
    client = NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb


def errors(nb) -> dict[str, str]:
    return {nbgrader_meta(c).get("grade_id", "?"): o["ename"] for c in nb.cells
            if c.cell_type == "code" for o in c.outputs if o["output_type"] == "error"}


@pytest.fixture
def agg(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


def test_model_notebook_runs_top_to_bottom(tmp_path, agg):
    nb = run_notebook(tmp_path, blank=False)
    assert errors(nb) == {}
    explorer = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "q3_explorer")
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for o in explorer.outputs)


def test_blank_notebook_runs_to_the_end(tmp_path, agg):
    """Interactively, the release with every stub untouched runs with no error: each
    answer is None and each self-check says what is not implemented yet."""
    nb = run_notebook(tmp_path, blank=True)
    assert errors(nb) == {}
    selfcheck = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "q3_selfcheck")
    text = "".join(o.get("text", "") for o in selfcheck.outputs)
    assert text.count("\u25cb") == 7 and "not implemented yet" in text
