"""The Q5 answer key checked independently of itself.

Every gradient is compared with central finite differences of L (or L') in float64; the update
rules are checked by the direction in which a small step moves the objective.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cs230_grading.reference import gan

A = gan.ACTIVATIONS
H = 1e-5


def rel_error(x: np.ndarray, y: np.ndarray) -> float:
    """CS231n's relative error: max |x - y| / max(1e-8, |x| + |y|)."""
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def numerical(f, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Central differences of the scalar f() with respect to every entry of every array."""
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + H
            plus = f()
            a[idx] = old - H
            minus = f()
            a[idx] = old
            g[idx] = (plus - minus) / (2 * H)
        grads.append(g)
    return grads


def weights(rng, sizes, scale=1.3):
    return [rng.normal(size=(o, i)) * scale / np.sqrt(i)
            for i, o in zip(sizes[:-1], sizes[1:], strict=True)]


# (k, disc hidden, their activations, p, gen hidden, their activations, gen output, n, m)
NETS = [
    (3, [], [], 2, [], [], "identity", 5, 2),
    (2, [4], ["tanh"], 3, [5], ["softplus"], "tanh", 6, 3),
    (3, [4, 5], ["softplus", "sigmoid"], 2, [3, 4], ["tanh", "sigmoid"], "identity", 4, 7),
    (4, [5, 3, 4], ["tanh", "softplus", "tanh"], 3, [4, 6, 3],
     ["sigmoid", "tanh", "softplus"], "tanh", 7, 5),
]


def build(spec, seed):
    k, dw, da, p, gw, ga, gout, n, m = spec
    rng = np.random.default_rng(seed)
    return dict(
        W_d=weights(rng, [k, *dw, 1]), d_acts=[A[a] for a in da] + [A["sigmoid"]],
        W_g=weights(rng, [p, *gw, k]), g_acts=[A[a] for a in ga] + [A[gout]],
        X=rng.normal(size=(k, n)), Z=rng.normal(size=(p, m)),
    )


@pytest.mark.parametrize("wgan", [False, True], ids=["L", "L'"])
@pytest.mark.parametrize("case", range(len(NETS)))
def test_discriminator_grads_match_finite_differences(case: int, wgan: bool) -> None:
    net = build(NETS[case], 100 + case)
    X_fake = gan.forward(net["W_g"], net["g_acts"], net["Z"])[1][-1]
    objective = gan.wgan_discriminator_objective if wgan else gan.discriminator_objective
    out = gan.wgan_output_grads if wgan else None
    grads = gan.discriminator_grads(net["W_d"], net["d_acts"], net["X"], X_fake, out)
    numeric = numerical(lambda: objective(net["W_d"], net["d_acts"], net["X"], X_fake),
                        net["W_d"])
    assert [g.shape for g in grads] == [w.shape for w in net["W_d"]]
    for g, num in zip(grads, numeric, strict=True):
        assert g.dtype == np.float64
        assert rel_error(g, num) < 1e-6


@pytest.mark.parametrize("wgan", [False, True], ids=["L", "L'"])
@pytest.mark.parametrize("case", range(len(NETS)))
def test_generator_grads_match_finite_differences(case: int, wgan: bool) -> None:
    net = build(NETS[case], 200 + case)
    objective = gan.wgan_objective if wgan else gan.gan_objective
    out = gan.wgan_output_grads if wgan else None
    grads = gan.generator_grads(net["W_g"], net["g_acts"], net["W_d"], net["d_acts"],
                                net["Z"], out)
    numeric = numerical(lambda: objective(net["W_d"], net["d_acts"], net["W_g"], net["g_acts"],
                                          net["X"], net["Z"]), net["W_g"])
    assert [g.shape for g in grads] == [w.shape for w in net["W_g"]]
    for g, num in zip(grads, numeric, strict=True):
        assert rel_error(g, num) < 1e-6


@pytest.mark.parametrize("wgan", [False, True], ids=["L", "L'"])
def test_output_grads_are_per_sample_derivatives_wrt_logits(wgan: bool) -> None:
    rng = np.random.default_rng(3)
    z_real, z_fake = rng.normal(size=(1, 6)), rng.normal(size=(1, 4))
    sig = A["sigmoid"].g
    if wgan:
        def f():
            return np.mean(sig(z_real)) - np.mean(sig(z_fake))
        got = gan.wgan_output_grads(sig(z_real), sig(z_fake))
    else:
        def f():
            return np.mean(gan.log_sigmoid(z_real)) + np.mean(gan.log_sigmoid(-z_fake))
        got = gan.output_layer_grads(sig(z_real), sig(z_fake))
    numeric = numerical(f, [z_real, z_fake])
    assert got[0].shape == (1, 6) and got[1].shape == (1, 4)
    assert rel_error(got[0], numeric[0]) < 1e-6
    assert rel_error(got[1], numeric[1]) < 1e-6


def test_output_grads_hand_values_and_printed_scalar() -> None:
    d_real, d_fake = np.array([[0.5, 0.9]]), np.array([[0.5, 0.2, 0.1]])
    dr, df = gan.output_layer_grads(d_real, d_fake)
    np.testing.assert_allclose(dr, [[0.25, 0.05]])
    np.testing.assert_allclose(df, [[-0.5 / 3, -0.2 / 3, -0.1 / 3]])
    # E4: with n = m the printed scalar (1/n) sum (1 - D(X)) - D(G(Z)) is the sum of the entries.
    d_real, d_fake = np.array([[0.3, 0.8]]), np.array([[0.6, 0.1]])
    dr, df = gan.output_layer_grads(d_real, d_fake)
    printed = np.mean((1 - d_real) - d_fake)
    assert np.isclose(dr.sum() + df.sum(), printed)
    wr, wf = gan.wgan_output_grads(np.array([[0.5]]), np.array([[0.5, 0.5]]))
    np.testing.assert_allclose(wr, [[0.25]])
    np.testing.assert_allclose(wf, [[-0.125, -0.125]])


def test_empty_real_batch_is_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dr, df = gan.output_layer_grads(np.empty((1, 0)), np.array([[0.4, 0.6]]))
    assert dr.shape == (1, 0)
    np.testing.assert_allclose(df, [[-0.2, -0.3]])


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "softplus", "identity"])
def test_backprop_layer_matches_finite_differences(act: str) -> None:
    rng = np.random.default_rng(4)
    dZ_next, W_next, Z = rng.normal(size=(3, 5)), rng.normal(size=(3, 4)), rng.normal(size=(4, 5))
    g = A[act]
    got = gan.backprop_layer(dZ_next, W_next, Z, g.g_prime)
    numeric = numerical(lambda: float(np.sum(dZ_next * (W_next @ g.g(Z)))), [Z])[0]
    assert got.shape == (4, 5)
    assert rel_error(got, numeric) < 1e-6


def test_grad_wrt_generator_output_matches_finite_differences() -> None:
    rng = np.random.default_rng(5)
    W1, dZ1, X = rng.normal(size=(4, 3)), rng.normal(size=(4, 6)), rng.normal(size=(3, 6))
    got = gan.grad_wrt_generator_output(W1, dZ1)
    numeric = numerical(lambda: float(np.sum(dZ1 * (W1 @ X))), [X])[0]
    assert got.shape == (3, 6)
    assert rel_error(got, numeric) < 1e-6


def test_activation_derivatives_match_finite_differences() -> None:
    z = np.linspace(-4, 4, 17)
    for act in A.values():
        numeric = (act.g(z + H) - act.g(z - H)) / (2 * H)
        assert rel_error(act.g_prime(z), numeric) < 1e-6, act.name


def test_log_sigmoid_is_stable() -> None:
    z = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = gan.log_sigmoid(z)
    np.testing.assert_allclose(out, [-800.0, -30.0, -np.log(2), -np.exp(-30.0), 0.0], rtol=1e-9)


@pytest.mark.parametrize("wgan", [False, True], ids=["L", "L'"])
def test_update_rules_move_the_objective_the_right_way(wgan: bool) -> None:
    net = build(NETS[2], 300)
    out = gan.wgan_output_grads if wgan else None
    objective = gan.wgan_objective if wgan else gan.gan_objective

    def value(W_d, W_g):
        return objective(W_d, net["d_acts"], W_g, net["g_acts"], net["X"], net["Z"])

    X_fake = gan.forward(net["W_g"], net["g_acts"], net["Z"])[1][-1]
    before = value(net["W_d"], net["W_g"])
    gd = gan.discriminator_grads(net["W_d"], net["d_acts"], net["X"], X_fake, out)
    gg = gan.generator_grads(net["W_g"], net["g_acts"], net["W_d"], net["d_acts"], net["Z"], out)
    lr = 1e-3
    assert value(gan.discriminator_step(net["W_d"], gd, lr), net["W_g"]) > before
    assert value(net["W_d"], gan.generator_step(net["W_g"], gg, lr)) < before
    # First order: the change is lr times the squared gradient norm.
    up = value(gan.discriminator_step(net["W_d"], gd, lr), net["W_g"]) - before
    assert np.isclose(up, lr * sum(float(np.sum(g * g)) for g in gd), rtol=1e-2)


def test_steps_return_new_arrays() -> None:
    W = [np.ones((2, 2))]
    new = gan.discriminator_step(W, [np.ones((2, 2))], 0.5)
    np.testing.assert_allclose(new[0], 1.5)
    np.testing.assert_allclose(gan.generator_step(W, [np.ones((2, 2))], 0.5)[0], 0.5)
    np.testing.assert_allclose(W[0], 1.0)


def test_bad_inputs_raise_value_error() -> None:
    with pytest.raises(ValueError, match="shape \\(1, batch\\)"):
        gan.output_layer_grads(np.ones(3), np.ones((1, 2)))
    with pytest.raises(ValueError, match="do not chain"):
        gan.backprop_layer(np.ones((2, 4)), np.ones((3, 5)), np.ones((5, 4)), np.ones_like)
    with pytest.raises(ValueError, match="1 unit"):
        gan.discriminator_grads([np.ones((2, 3))], [A["sigmoid"]], np.ones((3, 2)),
                                np.ones((3, 2)))
    with pytest.raises(ValueError, match="sigmoid"):
        gan.discriminator_grads([np.ones((1, 3))], [A["tanh"]], np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="layer 2"):
        gan.forward([np.ones((4, 3)), np.ones((1, 5))], [A["tanh"], A["sigmoid"]],
                    np.ones((3, 2)))
