"""Q5 hidden tests, run in-process on namespaces like the notebook's (no nbgrader).

The model namespace is built the way the notebook builds it: ``from q5_tools import *`` and the
model answers of ``source/midterm/q5_gan_backprop.ipynb`` executed in one dict.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys

import numpy as np
import pytest

from cs230_grading.checks import GradingError
from cs230_grading.course import REPO_ROOT
from cs230_grading.graders import q5
from cs230_grading.notebooks import read_notebook, solution_sources
from cs230_grading.reference import gan
from cs230_grading.variants.q5 import VARIANTS

SOURCE = REPO_ROOT / "source" / "midterm"
STUB_NAMES = ["output_layer_grads", "backprop_layer", "grad_wrt_generator_output",
              "discriminator_grads", "generator_grads", "discriminator_step", "generator_step",
              "wgan_output_grads"]


@pytest.fixture(scope="module")
def model_sources() -> dict[str, str]:
    return solution_sources(read_notebook(SOURCE / "q5_gan_backprop.ipynb"))


def namespace(model_sources: dict[str, str], **replace: str) -> dict:
    """The notebook's globals with the model answers, then ``replace`` (grade id -> source)."""
    if str(SOURCE) not in sys.path:
        sys.path.insert(0, str(SOURCE))
    ns: dict = {}
    exec("import numpy as np\nfrom q5_tools import *", ns)
    for src in {**model_sources, **replace}.values():
        exec(src, ns)
    return ns


def test_checks_cover_every_test_cell() -> None:
    nb = read_notebook(SOURCE / "q5_gan_backprop.ipynb")
    tests = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
             for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}
    assert tests == {"q5_i_test": 3, "q5_ii_test": 4, "q5_iii_test": 5, "q5_iv_test": 3,
                     "q5_v_test": 5, "q5_vi_test": 1, "q5_vii_test": 1, "q5_viii_test": 3}
    assert set(q5.CHECKS) == set(tests)


def test_reference_namespace_passes() -> None:
    ns = {name: getattr(gan, name) for name in STUB_NAMES}
    for check in q5.CHECKS.values():
        assert check(ns) is None


def test_model_answers_pass(model_sources) -> None:
    ns = namespace(model_sources)
    for check in q5.CHECKS.values():
        assert check(ns) is None


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_variants_fail_exactly_their_cells(variant, model_sources) -> None:
    ns = namespace(model_sources, **variant.answers)
    for gid, check in q5.CHECKS.items():
        if gid in variant.failing:
            with pytest.raises(GradingError, match=re.escape(variant.failing[gid])):
                check(ns)
        else:
            check(ns)


def fn(source: str) -> dict:
    """Exec a function definition with numpy available; returns the resulting namespace."""
    ns: dict = {"np": np}
    exec(source, ns)
    return ns


OTHER_MISTAKES = [
    ("q5_ii_test", "def output_layer_grads(Dr, Df):\n"
     "    return -(1 - Dr) / Dr.shape[1], Df / Df.shape[1]", "gradient of -L"),
    ("q5_ii_test", "def output_layer_grads(Dr, Df):\n"
     "    return 1 / (Dr.shape[1] * Dr), -1 / (Df.shape[1] * (1 - Df))", "not dL/dz"),
    ("q5_ii_test", "def output_layer_grads(Dr, Df):\n"
     "    return (1 - Dr) / Dr.shape[1], -Df / Dr.shape[1]", "its own batch size"),
    ("q5_ii_test", "def output_layer_grads(Dr, Df):\n"
     "    return (1 - Dr) / Dr.shape[1] ** 2, -Df / Df.shape[1] ** 2", "1/n counted twice"),
    ("q5_ii_test", "def output_layer_grads(Dr, Df):\n"
     "    return np.sum((1 - Dr) / Dr.shape[1]), np.sum(-Df / Df.shape[1])", "per-sample"),
    ("q5_iii_test", "def backprop_layer(dZ, W, Z, gp):\n    return W.T @ dZ", "g'(z^l) is missing"),
    ("q5_iii_test", "def backprop_layer(dZ, W, Z, gp):\n    return (W.T @ dZ) @ gp(Z).T",
     "elementwise"),
    ("q5_iv_test", "def grad_wrt_generator_output(W, dZ):\n"
     "    return (W.T @ dZ).sum(axis=1, keepdims=True)", "summed over the samples"),
    ("q5_iv_test", "def grad_wrt_generator_output(W, dZ):\n    return W.T @ dZ / dZ.shape[1]",
     "1/m counted twice"),
    ("q5_iv_test", "def grad_wrt_generator_output(W, dZ):\n    return W.T * dZ",
     "elementwise (*)"),
    ("q5_vi_test", "def discriminator_step(W, g, lr):\n    return [w + x for w, x in zip(W, g)]",
     "learning rate is missing"),
    ("q5_vii_test", "def generator_step(W, g, lr):\n    return [-lr * x for x in g]",
     "updated weights"),
    ("q5_viii_test", "def wgan_output_grads(Dr, Df):\n"
     "    return (1 - Dr) / Dr.shape[1], -Df / Df.shape[1]", "part ii's gradient"),
]


@pytest.mark.parametrize(("gid", "source", "phrase"), OTHER_MISTAKES,
                         ids=[f"{m[0]}-{i}" for i, m in enumerate(OTHER_MISTAKES)])
def test_other_named_mistakes(gid: str, source: str, phrase: str) -> None:
    with pytest.raises(GradingError, match=re.escape(phrase)):
        q5.CHECKS[gid](fn(source))


def _disc(model_sources, body_edit: tuple[str, str]) -> dict:
    src = model_sources["q5_discriminator_grads"].replace(*body_edit)
    assert src != model_sources["q5_discriminator_grads"]
    return namespace(model_sources, q5_discriminator_grads=src)


@pytest.mark.parametrize(("edit", "phrase"), [
    (("grads[l] = dZ_real @ A_real[l].T + dZ_fake @ A_fake[l].T",
      "grads[l] = dZ_real @ A_real[l].T"), "only the real samples"),
    (("grads[l] = dZ_real @ A_real[l].T + dZ_fake @ A_fake[l].T",
      "grads[l] = (dZ_real @ A_real[l].T + dZ_fake @ A_fake[l].T).T"), "transposed gradient"),
    (("dZ_real, dZ_fake = output_grads(A_real[-1], A_fake[-1])",
      "dZ_real, dZ_fake = output_grads(A_real[-1], A_fake[-1])\n"
      "    dZ_real, dZ_fake = dZ_real / X.shape[1], dZ_fake / X_fake.shape[1]"),
     "1/n counted twice"),
])
def test_discriminator_assembly_mistakes(model_sources, edit, phrase) -> None:
    with pytest.raises(GradingError, match=re.escape(phrase)):
        q5.check_part_i(_disc(model_sources, edit))


def test_generator_sign_flip_is_named(model_sources) -> None:
    src = model_sources["q5_generator_grads"].replace("grads[l] = dZ @ A_g[l].T",
                                                      "grads[l] = -(dZ @ A_g[l].T)")
    with pytest.raises(GradingError, match="gradient of -L"):
        q5.check_part_v(namespace(model_sources, q5_generator_grads=src))


@pytest.mark.parametrize("name", STUB_NAMES)
def test_stubs_fail_as_not_implemented(name: str, model_sources) -> None:
    ns = namespace(model_sources)

    def stub(*args, **kwargs):
        raise NotImplementedError()

    ns[name] = stub
    failing = {gid for gid, check in q5.CHECKS.items() if _fails(check, ns, "not implemented")}
    # Parts i and v use the reference helpers, so only the stub's own part fails.
    own = {"output_layer_grads": "q5_ii_test", "backprop_layer": "q5_iii_test",
           "grad_wrt_generator_output": "q5_iv_test", "discriminator_grads": "q5_i_test",
           "generator_grads": "q5_v_test", "discriminator_step": "q5_vi_test",
           "generator_step": "q5_vii_test", "wgan_output_grads": "q5_viii_test"}[name]
    assert failing == {own}


def _fails(check, ns, phrase: str) -> bool:
    try:
        check(ns)
    except GradingError as exc:
        assert phrase in str(exc), str(exc)
        return True
    return False


def test_reference_helpers_are_restored_after_a_check(model_sources) -> None:
    ns = namespace(model_sources, q5_discriminator_grads=(
        "def discriminator_grads(W_d, activations, X, X_fake, output_grads=None):\n"
        "    raise ValueError('boom')\n"))
    before = {name: ns[name] for name in q5.HELPERS}
    with pytest.raises(GradingError, match="boom"):
        q5.check_part_i(ns)
    assert {name: ns[name] for name in q5.HELPERS} == before
    ns = namespace(model_sources)
    del ns["grad_wrt_generator_output"]
    q5.check_part_i(ns)
    assert "grad_wrt_generator_output" not in ns


def test_checks_write_nothing_to_stderr() -> None:
    noisy = fn("import sys\n"
               "def output_layer_grads(Dr, Df):\n"
               "    print('debug', file=sys.stderr)\n"
               "    return np.log(Dr - 2), np.log(Df - 2)\n")
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(GradingError, match="NaN"):
        q5.check_part_ii(noisy)
    assert err.getvalue() == ""


def test_messages_reveal_no_hidden_source() -> None:
    try:
        q5.check_part_iii(fn("def backprop_layer(dZ, W, Z, gp):\n    return W.T @ dZ"))
    except GradingError as exc:
        assert "ref." not in str(exc) and "def " not in str(exc)
