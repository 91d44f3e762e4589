"""The student-side Q5 tools: the training demo converges with correct gradients and fails
measurably with wrong ones; the finite-difference checks tell right from wrong; no answers."""

from __future__ import annotations

import contextlib
import io
import sys
import time

import numpy as np
import pytest

from cs230_grading.course import REPO_ROOT
from cs230_grading.reference import gan

SOURCE = REPO_ROOT / "source" / "midterm"
sys.path.insert(0, str(SOURCE))
import q5_tools as tools  # noqa: E402

REF = (gan.discriminator_grads, gan.generator_grads, gan.discriminator_step, gan.generator_step)


def test_gan_demo_converges_with_the_reference_in_under_10_s() -> None:
    start = time.process_time()
    run = tools.train_gan(*REF, steps=3000, lr=0.5)  # the notebook's settings
    cpu = time.process_time() - start
    assert cpu < 10.0, f"training took {cpu:.1f} s of CPU"
    assert not run.diverged
    assert tools.converged(run), tools.summary(run)
    assert tools.wasserstein_1d(run.real, run.fake) < 0.35
    assert run.distance[-1] < 0.5 * run.distance[0]  # it learned something
    assert len(run.steps) == len(run.d_loss) == len(run.g_loss) == len(run.distance)


def test_wgan_demo_converges_with_the_reference() -> None:
    start = time.process_time()
    run = tools.train_gan(*REF, output_grads=gan.wgan_output_grads, clip=0.5, steps=2000,
                          lr=3.0)
    assert time.process_time() - start < 10.0
    assert tools.converged(run), tools.summary(run)
    assert max(float(np.abs(w).max()) for w in run.W_d) <= 0.5  # weights were clipped


def test_generator_climbing_l_does_not_converge() -> None:
    ascent = (gan.discriminator_grads, gan.generator_grads, gan.discriminator_step,
              gan.discriminator_step)  # the generator ascends L: ascent/descent swapped
    run = tools.train_gan(*ascent, steps=1500, lr=0.5)
    assert not tools.converged(run)
    assert run.diverged or tools.wasserstein_1d(run.real, run.fake) > 0.8


def test_g_instead_of_g_prime_does_not_converge(monkeypatch) -> None:
    monkeypatch.setattr(gan, "backprop_layer",
                        lambda dZ, W, Z, g_prime: (W.T @ dZ) * np.tanh(Z))  # g, not g'
    run = tools.train_gan(*REF, steps=1500, lr=0.5)
    assert not tools.converged(run)
    assert "does not match" in tools.summary(run) or "diverged" in tools.summary(run)


def test_tools_objectives_agree_with_the_reference() -> None:
    rng = np.random.default_rng(0)
    W_d = tools.init_weights([2, 4, 1], rng)
    d_acts = [tools.ACTIVATIONS["softplus"], tools.ACTIVATIONS["sigmoid"]]
    X, X_fake = rng.normal(size=(2, 5)), rng.normal(size=(2, 3))
    assert np.isclose(tools.gan_objective(W_d, d_acts, X, X_fake),
                      gan.discriminator_objective(W_d, d_acts, X, X_fake))
    assert np.isclose(tools.wgan_objective(W_d, d_acts, X, X_fake),
                      gan.wgan_discriminator_objective(W_d, d_acts, X, X_fake))
    z = np.linspace(-50, 50, 11)
    np.testing.assert_allclose(tools.log_sigmoid(z), gan.log_sigmoid(z))
    for name, act in tools.ACTIVATIONS.items():
        np.testing.assert_allclose(act.g_prime(z / 10), gan.ACTIVATIONS[name].g_prime(z / 10))


def _quiet(func, *args, **kwargs):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = func(*args, **kwargs)
    return result, out.getvalue()


@pytest.mark.parametrize(("check", "right", "wrong"), [
    (tools.check_output_layer_grads, gan.output_layer_grads,
     lambda Dr, Df: (1 - Dr, -Df)),
    (tools.check_wgan_output_grads, gan.wgan_output_grads,
     lambda Dr, Df: (Dr * (1 - Dr) / Dr.shape[1], Df * (1 - Df) / Df.shape[1])),
    (tools.check_backprop_layer, gan.backprop_layer,
     lambda dZ, W, Z, gp: (W.T @ dZ) @ np.ones((Z.shape[1], Z.shape[1]))),
    (tools.check_grad_wrt_generator_output, gan.grad_wrt_generator_output,
     lambda W, dZ: W.T @ dZ / dZ.shape[1]),
    (tools.check_discriminator_grads, gan.discriminator_grads,
     lambda W_d, acts, X, Xf: [g / 2 for g in gan.discriminator_grads(W_d, acts, X, Xf)]),
    (tools.check_generator_grads, gan.generator_grads,
     lambda W_g, ga, W_d, da, Z: [-g for g in gan.generator_grads(W_g, ga, W_d, da, Z)]),
])
def test_finite_difference_checks_tell_right_from_wrong(check, right, wrong) -> None:
    err, text = _quiet(check, right)
    assert err < 1e-6 and tools.FAIL not in text
    err, text = _quiet(check, wrong)
    assert err > 1e-3 and tools.FAIL in text

    def stub(*args, **kwargs):
        raise NotImplementedError()

    err, text = _quiet(check, stub)
    assert err is None and "not implemented yet" in text


def test_wgan_full_checks_use_output_grads() -> None:
    err, _ = _quiet(tools.check_discriminator_grads, gan.discriminator_grads,
                    gan.wgan_output_grads)
    assert err < 1e-6
    err, _ = _quiet(tools.check_generator_grads, gan.generator_grads, gan.wgan_output_grads)
    assert err < 1e-6
    err, _ = _quiet(tools.check_generator_grads, gan.generator_grads, gan.output_layer_grads)
    assert err > 1e-3  # the gradient of L is not the gradient of L'


def test_check_returns_never_raises() -> None:
    ok, text = _quiet(tools.check_returns, gan.output_layer_grads,
                      (np.full((1, 4), 0.5), np.full((1, 3), 0.5)), [(1, 4), (1, 3)],
                      ["dZ_real", "dZ_fake"])
    assert ok and text.count(tools.PASS) == 2
    ok, text = _quiet(tools.check_returns, lambda a, b: 3.0, (1, 2), [(1, 4), (1, 3)], ["a", "b"])
    assert not ok and "expected 2 results" in text
    ok, text = _quiet(tools.check_returns, lambda a: a @ a, (np.ones((2, 3)),), [(2, 3)], ["x"])
    assert not ok and "ValueError" in text
    ok, text = _quiet(tools.check_returns, lambda a: a * np.nan, (np.zeros((2, 3)),), [(2, 3)],
                      ["x"])
    assert not ok and "NaN" in text


def test_tools_hold_no_answers() -> None:
    for name in ["output_layer_grads", "backprop_layer", "grad_wrt_generator_output",
                 "discriminator_grads", "generator_grads", "discriminator_step",
                 "generator_step", "wgan_output_grads"]:
        assert not hasattr(tools, name), name
    text = (SOURCE / "q5_tools.py").read_text()
    assert ".T @" not in text  # no backward matrix products
    assert "1 - D_" not in text and "1.0 - D_" not in text  # no output-layer formulas


def test_part_i_check_counts_once_the_helpers_pass() -> None:
    def output_layer_grads(Dr, Df):  # wrong: 1/n and 1/m missing
        return 1 - Dr, -Df

    def halved(W_d, acts, X, Xf, output_grads=None):
        return [g / 2 for g in gan.discriminator_grads(W_d, acts, X, Xf)]

    def on_wrong_helper(W_d, acts, X, Xf, output_grads=None):
        return gan.discriminator_grads(W_d, acts, X, Xf, output_grads=output_layer_grads)

    def stub(*args, **kwargs):
        raise NotImplementedError()

    helpers = (gan.output_layer_grads, gan.backprop_layer)
    ok, text = _quiet(tools.check_part_i, gan.discriminator_grads, *helpers)
    assert ok and tools.FAIL not in text
    ok, text = _quiet(tools.check_part_i, halved, *helpers)
    assert not ok and tools.FAIL in text
    # the hidden tests grade part i with correct helpers: a wrong helper is not part i's fault
    ok, text = _quiet(tools.check_part_i, on_wrong_helper, output_layer_grads,
                      gan.backprop_layer)
    assert ok and "first make output_layer_grads pass" in text
    ok, text = _quiet(tools.check_part_i, stub, *helpers)
    assert not ok and "stub is not implemented yet" in text
    ok, text = _quiet(tools.check_part_v, gan.generator_grads, *helpers,
                      gan.grad_wrt_generator_output)
    assert ok and tools.FAIL not in text


def test_demo_names_the_functions_to_write_first() -> None:
    def generator_step(W_g, grads, lr):
        raise NotImplementedError()

    def output_layer_grads(D_real, D_fake):
        raise NotImplementedError()

    def discriminator_grads(W_d, acts, X, Xf, output_grads=None):
        return gan.discriminator_grads(W_d, acts, X, Xf, output_grads=output_layer_grads)

    # nothing is trained, nothing raised (Run All goes on), and the summary says what to write
    run = tools.train_gan(discriminator_grads, gan.generator_grads, gan.discriminator_step,
                          generator_step, steps=5)
    assert run.waiting_for == ["output_layer_grads", "generator_step"] and not run.steps
    assert tools.summary(run).startswith(
        f"{tools.NOT_YET} not trained yet: implement output_layer_grads, generator_step first")
