'''The similarity report, on students written for the purpose (no grading needed).

* alice answers Q6 with her own helper function and Q2 in her own words;
* mallory copies alice: variables and helpers renamed, the two functions of a cell in the
  other order, comments rewritten, a few words of the written answers changed;
* bob and carol each answer correctly and independently (other algorithms, other words).

The copy must rank first in each notebook and the independent pairs well below it; the
release's stubs (signatures and docstrings every student keeps) must not count.
'''

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cs230_grading.course import ASSIGNMENT, REPO_ROOT
from cs230_grading.notebooks import fill_answers, read_notebook, write_notebook
from cs230_grading.report import write_report
from cs230_grading.results import ClassGrades
from cs230_grading.similarity import CSV_COLUMNS, similarity_pairs, write_similarity_csv

RELEASE = REPO_ROOT / "release" / "midterm"
Q6, Q2 = "q6_numpy_attention", "q2_short_answers"


def _stub(name: str) -> str:
    """The release's signature and docstring of a Q6 function (kept by every student)."""
    from cs230_grading.notebooks import grade_cells

    source = grade_cells(read_notebook(RELEASE / f"{Q6}.ipynb"))[name].source
    return source.split("    # YOUR CODE HERE")[0]


ALICE_Q6 = {
    "q6_num_params": _stub("q6_num_params") + "    return 9 * out_channels * (in_channels + 1)\n",
    "q6_normalize_channels": _stub("q6_normalize_channels") + (
        "    # norm of every channel over the two spatial axes\n"
        "    norms = np.sqrt(np.sum(image ** 2, axis=(0, 1), keepdims=True))\n"
        "    safe = np.where(norms > 0, norms, 1.0)  # keep zero channels at zero\n"
        "    return image / safe\n"),
    "q6_attention_loops": (
        "def window_softmax(scores):\n"
        "    # softmax over the nine positions, shifted for stability\n"
        "    shifted = np.exp(scores - np.max(scores))\n"
        "    return shifted / np.sum(shifted)\n\n\n"
        + _stub("q6_attention_loops") + (
            "    x = normalize_channels(image)\n"
            "    out_h, out_w, out_c = x.shape[0] - 2, x.shape[1] - 2, k.shape[3]\n"
            "    y = np.zeros((out_h, out_w, out_c))\n"
            "    for i in range(out_h):\n"
            "        for j in range(out_w):\n"
            "            window = x[i:i + 3, j:j + 3, :]  # the 3x3 neighbourhood\n"
            "            for o in range(out_c):\n"
            "                scores = np.sum(window * k[:, :, :, o], axis=2)\n"
            "                weights = window_softmax(scores)\n"
            "                y[i, j, o] = np.sum(weights * v[:, :, 0, o])\n"
            "    return y\n")),
    "q6_attention_vectorized": _stub("q6_attention_vectorized") + (
        "    from numpy.lib.stride_tricks import sliding_window_view\n\n"
        "    x = normalize_channels(image)\n"
        "    windows = sliding_window_view(x, (3, 3), axis=(0, 1))\n"
        "    scores = np.einsum('hwcab,abco->hwabo', windows, k)\n"
        "    weights = np.exp(scores - scores.max(axis=(2, 3), keepdims=True))\n"
        "    weights /= weights.sum(axis=(2, 3), keepdims=True)\n"
        "    return np.einsum('hwabo,abo->hwo', weights, v[:, :, 0, :])\n"),
}

MALLORY_Q6 = {
    "q6_num_params": _stub("q6_num_params") + "    return 9 * out_channels * (1 + in_channels)\n",
    "q6_normalize_channels": _stub("q6_normalize_channels") + (
        "    n = np.sqrt(np.sum(image ** 2, axis=(0, 1), keepdims=True))  # Frobenius\n"
        "    denominator = np.where(n > 0, n, 1.0)\n"
        "    return image / denominator\n"),
    "q6_attention_loops": (  # the two functions of the cell in the other order
        _stub("q6_attention_loops") + (
            "    img = normalize_channels(image)\n"
            "    rows, cols, chans = img.shape[0] - 2, img.shape[1] - 2, k.shape[3]\n"
            "    result = np.zeros((rows, cols, chans))\n"
            "    for r in range(rows):\n"
            "        for c in range(cols):\n"
            "            patch = img[r:r + 3, c:c + 3, :]\n"
            "            for ch in range(chans):\n"
            "                logits = np.sum(patch * k[:, :, :, ch], axis=2)\n"
            "                alpha = _sm(logits)  # attention weights\n"
            "                result[r, c, ch] = np.sum(alpha * v[:, :, 0, ch])\n"
            "    return result\n\n\n"
            "def _sm(z):\n"
            "    # numerically safe softmax\n"
            "    e = np.exp(z - np.max(z))\n"
            "    return e / np.sum(e)\n")),
    "q6_attention_vectorized": _stub("q6_attention_vectorized") + (
        "    from numpy.lib.stride_tricks import sliding_window_view as swv\n\n"
        "    xn = normalize_channels(image)\n"
        "    wins = swv(xn, (3, 3), axis=(0, 1))  # all windows at once\n"
        "    s = np.einsum('hwcab,abco->hwabo', wins, k)\n"
        "    a = np.exp(s - s.max(axis=(2, 3), keepdims=True))\n"
        "    a /= a.sum(axis=(2, 3), keepdims=True)\n"
        "    return np.einsum('hwabo,abo->hwo', a, v[:, :, 0, :])\n"),
}

BOB_Q6 = {
    "q6_num_params": _stub("q6_num_params") + (
        "    keys = 3 * 3 * in_channels * out_channels\n"
        "    values = 3 * 3 * out_channels\n"
        "    return keys + values\n"),
    "q6_normalize_channels": _stub("q6_normalize_channels") + (
        "    out = np.zeros_like(image, dtype=float)\n"
        "    for ch in range(image.shape[2]):\n"
        "        size = np.linalg.norm(image[:, :, ch])\n"
        "        if size != 0:\n"
        "            out[:, :, ch] = image[:, :, ch] / size\n"
        "    return out\n"),
    "q6_attention_loops": _stub("q6_attention_loops") + (
        "    import math\n"
        "    xh = normalize_channels(image)\n"
        "    H, W, _ = xh.shape\n"
        "    oc = v.shape[3]\n"
        "    out = np.empty((H - 2, W - 2, oc))\n"
        "    for o in range(oc):\n"
        "        for i in range(H - 2):\n"
        "            for j in range(W - 2):\n"
        "                s = [float(xh[i + a, j + b] @ k[a, b, :, o])\n"
        "                     for a in range(3) for b in range(3)]\n"
        "                m = max(s)\n"
        "                e = [math.exp(t - m) for t in s]\n"
        "                total = sum(e)\n"
        "                out[i, j, o] = sum(e[n] / total * v[n // 3, n % 3, 0, o]\n"
        "                                   for n in range(9))\n"
        "    return out\n"),
    "q6_attention_vectorized": _stub("q6_attention_vectorized") + (
        "    xh = normalize_channels(image)\n"
        "    H, W = xh.shape[0] - 2, xh.shape[1] - 2\n"
        "    shifted = np.stack([xh[a:a + H, b:b + W] for a in range(3) for b in range(3)], 2)\n"
        "    kk = k.reshape(9, k.shape[2], k.shape[3])\n"
        "    logits = (shifted[..., None] * kk[None, None]).sum(axis=3)\n"
        "    logits -= logits.max(axis=2, keepdims=True)\n"
        "    p = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)\n"
        "    return (p * v.reshape(9, -1)[None, None]).sum(axis=2)\n"),
}

CAROL_Q6 = {
    "q6_num_params": _stub("q6_num_params") + (
        "    per_output = 9 * in_channels + 9\n"
        "    return per_output * out_channels\n"),
    "q6_normalize_channels": _stub("q6_normalize_channels") + (
        "    f = np.linalg.norm(image.reshape(-1, image.shape[-1]), axis=0)\n"
        "    f[f == 0] = 1\n"
        "    return image / f\n"),
    "q6_attention_loops": _stub("q6_attention_loops") + (
        "    z = normalize_channels(image)\n"
        "    result = []\n"
        "    for row in range(z.shape[0] - 2):\n"
        "        line = []\n"
        "        for col in range(z.shape[1] - 2):\n"
        "            block = z[row:row + 3, col:col + 3]\n"
        "            sc = np.einsum('abc,abco->abo', block, k).reshape(9, -1)\n"
        "            sc = np.exp(sc - sc.max(0))\n"
        "            sc = sc / sc.sum(0)\n"
        "            line.append((sc * v.reshape(9, -1)).sum(0))\n"
        "        result.append(line)\n"
        "    return np.array(result)\n"),
    "q6_attention_vectorized": _stub("q6_attention_vectorized") + (
        "    from numpy.lib.stride_tricks import as_strided\n"
        "    z = np.ascontiguousarray(normalize_channels(image))\n"
        "    h, w, c = z.shape\n"
        "    st = z.strides\n"
        "    win = as_strided(z, (h - 2, w - 2, 3, 3, c), (st[0], st[1], st[0], st[1], st[2]))\n"
        "    q = (win[..., None] * k).sum(axis=4)\n"
        "    q = np.exp(q - q.max(axis=(2, 3), keepdims=True))\n"
        "    q /= q.sum(axis=(2, 3), keepdims=True)\n"
        "    return np.einsum('ijabo,abo->ijo', q, v[..., 0, :])\n"),
}

ALICE_Q2 = {
    "q2_a": "The learning rate could be far too small, so each update barely moves the weights "
            "and the loss looks flat. The weights could also be initialised to zero, so every "
            "unit computes the same thing and the gradients stay symmetric.",
    "q2_d": "High variance means the model overfits: training error is low but validation "
            "error is much higher, and the fit changes a lot with the training sample. "
            "Collecting more training data reduces it, and so does dropout.",
}
MALLORY_Q2 = {
    "q2_a": "The weights could also be initialised to zero, so each unit computes the same "
            "thing and the gradients stay symmetric. Also the learning rate could be far too "
            "small, so every update barely moves the weights and the loss looks flat.",
    "q2_d": "High variance means that the model overfits: training error is low but the "
            "validation error is much higher, and the fit changes a lot with the training "
            "sample. Collecting more training data reduces it, as does dropout.",
}
BOB_Q2 = {
    "q2_a": "Maybe a bug: the optimiser step is never called. Or all ReLUs died after a bad "
            "initialisation, so no gradient flows back.",
    "q2_d": "It does well on the data it was trained on and badly on new data (overfitting). "
            "Use L2 regularisation or early stopping.",
}
CAROL_Q2 = {
    "q2_a": "Tiny step size: with a learning rate of 1e-9 nothing moves. Saturated sigmoids "
            "from huge initial weights would also give near-zero gradients.",
    "q2_d": "Variance is how much the learned function depends on the particular training "
            "set; high variance shows as a big train/validation gap. Augment the data.",
}

STUDENTS = {
    "alice": {Q6: ALICE_Q6, Q2: ALICE_Q2},
    "mallory": {Q6: MALLORY_Q6, Q2: MALLORY_Q2},
    "bob": {Q6: BOB_Q6, Q2: BOB_Q2},
    "carol": {Q6: CAROL_Q6, Q2: CAROL_Q2},
}


@pytest.fixture(scope="module")
def submissions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("submitted")
    for student, notebooks in STUDENTS.items():
        for name, answers in notebooks.items():
            nb = fill_answers(read_notebook(RELEASE / f"{name}.ipynb"), answers)
            write_notebook(nb, root / student / ASSIGNMENT / f"{name}.ipynb")
    # a student who submitted the release untouched: only stubs, which must not match
    for name in (Q6, Q2):
        write_notebook(read_notebook(RELEASE / f"{name}.ipynb"),
                       root / "blank" / ASSIGNMENT / f"{name}.ipynb")
    return root


def test_answers_of_the_purpose_built_students_are_correct() -> None:
    """The independent answers are right answers (so 'independent and correct' holds)."""
    import numpy as np

    from cs230_grading.reference import attention

    rng = np.random.default_rng(0)
    image = rng.normal(size=(6, 7, 3))
    k, v = rng.normal(size=(3, 3, 3, 4)), rng.normal(size=(3, 3, 1, 4))
    expected = attention.attention_loops(image, k, v)
    for student, notebooks in STUDENTS.items():
        ns: dict = {"np": np}
        for source in notebooks[Q6].values():
            exec(source, ns)  # noqa: S102 - test-written answers
        assert ns["num_params"](3, 5) == 180, student
        for fn in ("attention_loops", "attention_vectorized"):
            np.testing.assert_allclose(ns[fn](image, k, v), expected, atol=1e-9,
                                       err_msg=f"{student} {fn}")


@pytest.mark.parametrize("notebook", [Q6, Q2])
def test_the_copy_ranks_first_and_independent_answers_well_below(
        submissions: Path, notebook: str) -> None:
    pairs = [p for p in similarity_pairs(submissions, RELEASE) if p.notebook == notebook]
    assert pairs, "no pair compared"
    top = pairs[0]
    assert {top.student_a, top.student_b} == {"alice", "mallory"}, pairs[:3]
    independent = [p.score for p in pairs if {p.student_a, p.student_b} != {"alice", "mallory"}]
    assert top.score >= 0.6, top
    assert max(independent, default=0.0) <= top.score / 2, (top.score, independent)
    assert all("blank" not in (p.student_a, p.student_b) for p in pairs), "stubs matched"
    assert top.cells and top.views and "<mark>" in top.views[0][1]


def test_csv_and_report_section(submissions: Path, tmp_path: Path) -> None:
    pairs = similarity_pairs(submissions, RELEASE)
    path = write_similarity_csv(pairs, tmp_path / "similarity.csv")
    rows = list(csv.DictReader(path.open()))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(pairs) and float(rows[0]["score"]) == pytest.approx(
        pairs[0].score, abs=1e-3)
    page = write_report(ClassGrades([]), [], tmp_path, similarity=pairs).read_text()
    section = page.split("<h2>Similar answers")[1]
    assert "never changes a score" in section
    assert "alice and mallory" in section and "<mark>" in section
