"""Hidden tests for Q5 (backpropagation through a GAN).

Every check is all-or-nothing and seeded. The networks are random, of several depths and widths,
with n != m and smooth activations (tanh, sigmoid, softplus; identity or tanh at the generator's
output). The first network is square (every weight n x n, batch sizes equal to some widths) so
that a transposed weight or a matrix product in place of an elementwise one still produces an
array of the right shape, which can then be recognised and named.

Part i and part v grade the assembly of the full gradients: while they run, the student's
``output_layer_grads``, ``backprop_layer`` and ``grad_wrt_generator_output`` are swapped for the
reference versions in the notebook's namespace, so that a mistake in parts ii-iv costs points
once. Both are also compared with central finite differences of L in float64.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..checks import GradingError, Mistake, call_student, check_close, hidden_test
from ..credit import graded_with_key
from ..reference import gan as ref

__all__ = [
    "CHECKS",
    "check_part_i",
    "check_part_ii",
    "check_part_iii",
    "check_part_iv",
    "check_part_v",
    "check_part_vi",
    "check_part_vii",
    "check_part_viii",
]

Array = np.ndarray
ACT = ref.ACTIVATIONS
HELPERS = ("output_layer_grads", "backprop_layer", "grad_wrt_generator_output")

# --- messages (the variants and tests look for their key words) ---------------------------
PER_SAMPLE = Mistake("q5.per_sample", (
    "per-sample gradients are asked for: one entry per example, shapes (1, n) and "
    "(1, m), not their sum over the batch (the printed key's scalar, erratum E4)."))
NEVER_1N = Mistake("q5.never_1n", (
    "the 1/n is never counted: L averages over each batch, so every real sample's "
    "entry carries 1/n and every generated sample's entry 1/m."))
TWICE_1N = Mistake("q5.twice_1n", (
    "1/n counted twice: the 1/n (1/m for generated samples) is already inside "
    "dL/dz^{L_d} from part ii; do not average again (erratum E5)."))
SWAP_NM = Mistake("q5.swap_nm", (
    "the real batch has n samples and the generated batch m: average each term over "
    "its own batch size."))
SIGN_L = Mistake("q5.sign_l", (
    "the sign is flipped: this is the gradient of -L. Return the gradient of L itself; "
    "the direction of the update (ascent or descent) belongs to the step functions."))
NO_SIGMOID = Mistake("q5.no_sigmoid", (
    "this is dL/dD, not dL/dz: chain through the output sigmoid, whose derivative "
    "is sigma'(z) = D (1 - D)."))
OUT_G = Mistake("q5.out_g", (
    "did you use g instead of g'? Through the output sigmoid the chain rule needs "
    "sigma'(z) = D (1 - D), not sigma(z) = D."))
G_NOT_GPRIME = Mistake("q5.g_not_gprime", (
    "did you use g instead of g'? The chain rule multiplies by the derivative "
    "g'(z) (the activation's g_prime), not by g(z) (erratum E3)."))
G_NOT_GPRIME_OUT = Mistake("q5.g_not_gprime_output", (
    "did you use g instead of g' at the generator's output? The chain rule multiplies by the "
    "output activation's derivative g'(z), not by the activation g(z) (erratum E3)."))
MATMUL = Mistake("q5.matmul", (
    "a matrix product where an elementwise one belongs: (W^{l+1}).T @ dZ^{l+1} is "
    "multiplied by g'(z^l) elementwise (*), not with @."))
NO_GPRIME = Mistake(
    "q5.no_gprime", "the factor g'(z^l) is missing: the activation sits between z^l and z^{l+1}.")
GPRIME_WRONG_ARG = Mistake(
    "q5.gprime_wrong_arg",
    "g' must be evaluated at z^l (the Z argument), not at the backpropagated sum.")
TRANSPOSED_W = Mistake("q5.transposed_w", (
    "a transposed weight: going backwards through Z^{l+1} = W^{l+1} A^l multiplies "
    "by (W^{l+1}).T, not W^{l+1}."))
TRANSPOSED_DW = Mistake("q5.transposed_dw", (
    "a transposed gradient: dW^l must have the shape of W^l, (n_l, n_{l-1}): "
    "dZ^l @ (A^{l-1}).T."))
REAL_ONLY = Mistake("q5.real_only", (
    "only the real samples are counted: D also sees the generated batch, whose term "
    "depends on theta_d too."))
FAKE_ONLY = Mistake(
    "q5.fake_only",
    "only the generated samples are counted: the real batch's term depends on theta_d.")
SUMMED_SAMPLES = Mistake("q5.summed_samples", (
    "you summed over the samples: dL/dG(Z) has one column per generated sample, "
    "shape (k, m)."))
TWICE_GEN = Mistake("q5.twice_gen", (
    "1/n counted twice (here the 1/m): dL/dG(Z) already carries the 1/m from "
    "part ii, so the sum over the generated samples is not averaged again (erratum E5)."))
TWICE_1M = Mistake("q5.twice_1m", (
    "1/m counted twice: dL/dz_d^1 already carries the 1/m from part ii, so nothing "
    "more is averaged here."))
OUT_PRIME_MISSING = Mistake("q5.out_prime_missing", (
    "the generator's output activation is missing: dL/dz_g^{L_g} = dL/dG(Z) "
    "* g'(z_g^{L_g}) before backpropagating through the generator."))
ASCENT = Mistake("q5.ascent", (
    "ascent and descent swapped: the discriminator maximises L, so it moves along the "
    "gradient, theta_d + lr * grad."))
DESCENT = Mistake("q5.descent", (
    "ascent and descent swapped: the generator minimises L, so it moves against the "
    "gradient, theta_g - lr * grad."))
NO_LR = Mistake("q5.no_lr", "the learning rate is missing: the step is lr * grad.")
ONLY_STEP = Mistake("q5.only_step", "return the updated weights, not only the step lr * grad.")
WGAN_PLUS = Mistake("q5.wgan_plus", (
    "the fake term has the printed key's plus sign (erratum E6): L' = (1/n) sum D(X) "
    "- (1/m) sum D(G(Z)), so the generated samples' entries are negative."))
WGAN_LINEAR = Mistake("q5.wgan_linear", (
    "that is the gradient for a linear critic; this network keeps its output "
    "sigmoid, so each entry carries sigma'(z) = D (1 - D)."))
WGAN_LOG = Mistake("q5.wgan_log", "that is part ii's gradient of the log-likelihood L, not of L'.")


def _context(net: _Net, which: str = "d") -> str:
    sizes = net.d_sizes if which == "d" else net.g_sizes
    return (f"{'discriminator' if which == 'd' else 'generator'} layer sizes {sizes}, "
            f"n = {net.X.shape[1]} real and m = {net.Z.shape[1]} generated samples")


@dataclasses.dataclass
class _Net:
    W_d: list[Array]
    d_acts: list[ref.Activation]
    W_g: list[Array]
    g_acts: list[ref.Activation]
    X: Array
    Z: Array

    @property
    def d_sizes(self) -> list[int]:
        return [self.W_d[0].shape[1], *(w.shape[0] for w in self.W_d)]

    @property
    def g_sizes(self) -> list[int]:
        return [self.W_g[0].shape[1], *(w.shape[0] for w in self.W_g)]

    @property
    def X_fake(self) -> Array:
        return ref.forward(self.W_g, self.g_acts, self.Z)[1][-1]


def _weights(rng: np.random.Generator, sizes: Sequence[int]) -> list[Array]:
    return [rng.normal(size=(o, i)) * 1.3 / np.sqrt(i)
            for i, o in zip(sizes[:-1], sizes[1:], strict=True)]


# (k, discriminator hidden widths, their activations, p, generator hidden widths, their
#  activations, generator output activation, n, m)
_SPECS = [
    (3, [3, 3], ["tanh", "softplus"], 3, [3], ["tanh"], "tanh", 4, 3),
    (2, [5], ["sigmoid"], 4, [6, 3], ["softplus", "tanh"], "identity", 7, 3),
    (4, [], [], 2, [], [], "tanh", 5, 2),
    (3, [6, 4, 5], ["tanh", "sigmoid", "softplus"], 2, [4, 5, 3],
     ["tanh", "softplus", "sigmoid"], "tanh", 6, 9),
]


def _nets(seed: int) -> list[_Net]:
    rng = np.random.default_rng(seed)
    nets = []
    for k, dw, da, p, gw, ga, gout, n, m in _SPECS:
        nets.append(_Net(
            W_d=_weights(rng, [k, *dw, 1]),
            d_acts=[ACT[a] for a in da] + [ACT["sigmoid"]],
            W_g=_weights(rng, [p, *gw, k]),
            g_acts=[ACT[a] for a in ga] + [ACT[gout]],
            X=rng.normal(size=(k, n)),
            Z=rng.normal(size=(p, m)),
        ))
    return nets


# --- calling the student's code -------------------------------------------------------------

def _call(ns: Mapping[str, Any], name: str, *args: Any) -> Any:
    """call_student, with a hint when numpy refused to combine two shapes."""
    try:
        return call_student(ns, name, *args)
    except GradingError as exc:
        text = str(exc)
        if "matmul" in text or "broadcast" in text or ("shapes" in text and "align" in text):
            raise GradingError(
                f"{text} Check which products are matrix products (@) and which are "
                "elementwise (*), and whether each weight is used as W or as W.T."
            ) from None
        raise


def _reference_helpers(ns: Mapping[str, Any], used: tuple[str, ...] = HELPERS) -> Any:
    """Swap the student's part ii-iv helpers for the reference ones while a check runs.

    The feedback names each helper in ``used`` (the ones the part calls) that the student got
    wrong in its own part."""
    graded = {"output_layer_grads": (check_part_ii, "part ii"),
              "backprop_layer": (check_part_iii, "part iii"),
              "grad_wrt_generator_output": (check_part_iv, "part iv")}
    return graded_with_key(ns, {name: getattr(ref, name) for name in HELPERS},
                           {name: graded[name] for name in used})


def _pair(result: Any, name: str, summed: float) -> tuple[Any, Any]:
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return result[0], result[1]
    if np.ndim(result) == 0:
        try:
            if np.isclose(float(result), summed, rtol=1e-6, atol=1e-9):
                raise GradingError(f"{name} is wrong: {PER_SAMPLE}", mistakes=[PER_SAMPLE.id])
        except (TypeError, ValueError):
            pass
    raise GradingError(f"{name} should return a pair (dZ_real, dZ_fake), got "
                       f"{type(result).__name__}.")


def _check_list(got: Any, expected: list[Array], name: str,
                mistakes: Sequence[tuple[str, Sequence[Array]]], context: str,
                rtol: float = 1e-6, atol: float = 1e-9) -> None:
    if not isinstance(got, (list, tuple)) or len(got) != len(expected):
        kind = f"{len(got)} items" if isinstance(got, (list, tuple)) else type(got).__name__
        raise GradingError(f"{name} should return a list of {len(expected)} arrays, one per "
                           f"layer ({context}); got {kind}.")
    for i, exp in enumerate(expected):
        check_close(got[i], exp, f"{name}[{i}]", mistakes=[(m, c[i]) for m, c in mistakes],
                    context=context, rtol=rtol, atol=atol)


def _numerical(f: Callable[[], float], W: Sequence[Array], h: float = 1e-5) -> list[Array]:
    """Central finite differences of f() with respect to every entry of every W[l]."""
    grads = []
    for w in W:
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            old = w[idx]
            w[idx] = old + h
            plus = f()
            w[idx] = old - h
            minus = f()
            w[idx] = old
            g[idx] = (plus - minus) / (2 * h)
        grads.append(g)
    return grads


# --- variants of the backward pass, for naming mistakes --------------------------------------

OutFn = Callable[[Array, Array], tuple[Array, Array]]
BackFn = Callable[[Array, Array, Array, ref.Activation], Array]


def _back_ok(dZ: Array, W: Array, Z: Array, act: ref.Activation) -> Array:
    return (W.T @ dZ) * act.g_prime(Z)


def _back_g(dZ: Array, W: Array, Z: Array, act: ref.Activation) -> Array:
    return (W.T @ dZ) * act.g(Z)


def _backward(W: Sequence[Array], acts: Sequence[ref.Activation], Zs: Sequence[Array],
              dZ: Array, back: BackFn) -> list[Array]:
    dZs = [dZ]
    for i in range(len(W) - 1, 0, -1):
        dZs.insert(0, back(dZs[0], W[i], Zs[i - 1], acts[i - 1]))
    return dZs


def _disc_variant(net: _Net, X_fake: Array, *, out: OutFn = ref.output_layer_grads,
                  back: BackFn = _back_ok, transpose: bool = False) -> list[Array]:
    Zr, Ar = ref.forward(net.W_d, net.d_acts, net.X)
    Zf, Af = ref.forward(net.W_d, net.d_acts, X_fake)
    dr, df = out(Ar[-1], Af[-1])
    dZr = _backward(net.W_d, net.d_acts, Zr, dr, back)
    dZf = _backward(net.W_d, net.d_acts, Zf, df, back)
    grads = [a @ b.T + c @ d.T for a, b, c, d in zip(dZr, Ar[:-1], dZf, Af[:-1], strict=True)]
    return [g.T for g in grads] if transpose else grads


def _disc_mistakes(net: _Net, X_fake: Array) -> dict[str, list[Array]]:
    n, m = net.X.shape[1], X_fake.shape[1]

    def scaled(sr: float, sf: float) -> OutFn:
        def out(Dr: Array, Df: Array) -> tuple[Array, Array]:
            r, f = ref.output_layer_grads(Dr, Df)
            return sr * r, sf * f
        return out

    return {
        G_NOT_GPRIME: _disc_variant(net, X_fake, back=_back_g),
        REAL_ONLY: _disc_variant(net, X_fake, out=scaled(1, 0)),
        FAKE_ONLY: _disc_variant(net, X_fake, out=scaled(0, 1)),
        TWICE_1N: _disc_variant(net, X_fake, out=scaled(1 / n, 1 / m)),
        SIGN_L: _disc_variant(net, X_fake, out=scaled(-1, -1)),
        TRANSPOSED_DW: _disc_variant(net, X_fake, transpose=True),
        NO_GPRIME: _disc_variant(net, X_fake, back=lambda dZ, W, Z, act: W.T @ dZ),
    }


def _gen_variant(net: _Net, *, back: BackFn = _back_ok, out_prime: bool = True,
                 scale: float = 1.0, transpose: bool = False, use_g_out: bool = False
                 ) -> list[Array]:
    Zg, Ag = ref.forward(net.W_g, net.g_acts, net.Z)
    Zf, Af = ref.forward(net.W_d, net.d_acts, Ag[-1])
    _, df = ref.output_layer_grads(np.empty((1, 0)), Af[-1])
    dG = net.W_d[0].T @ _backward(net.W_d, net.d_acts, Zf, df, back)[0]
    out_act = net.g_acts[-1]
    if out_prime:
        dG = dG * (out_act.g(Zg[-1]) if use_g_out else out_act.g_prime(Zg[-1]))
    dZg = _backward(net.W_g, net.g_acts, Zg, dG, back)
    grads = [scale * (dz @ a.T) for dz, a in zip(dZg, Ag[:-1], strict=True)]
    return [g.T for g in grads] if transpose else grads


def _gen_mistakes(net: _Net) -> dict[str, list[Array]]:
    m = net.Z.shape[1]
    mistakes = {
        TWICE_GEN: _gen_variant(net, scale=1 / m),
        G_NOT_GPRIME: _gen_variant(net, back=_back_g),
        SIGN_L: _gen_variant(net, scale=-1.0),
        TRANSPOSED_DW: _gen_variant(net, transpose=True),
    }
    if net.g_acts[-1].name != "identity":
        mistakes[OUT_PRIME_MISSING] = _gen_variant(net, out_prime=False)
        mistakes[G_NOT_GPRIME_OUT] = _gen_variant(
            net, use_g_out=True)
    return mistakes


# --- the checks -------------------------------------------------------------------------------

def _D(rng: np.random.Generator, size: int) -> Array:
    return rng.uniform(0.05, 0.95, size=(1, size))


@hidden_test
def check_part_ii(ns: Mapping[str, Any]) -> None:
    """output_layer_grads: ((1 - D(X)) / n, -D(G(Z)) / m), per sample."""
    rng = np.random.default_rng(5002)
    for n, m in [(4, 7), (6, 2), (1, 3), (5, 5)]:
        Dr, Df = _D(rng, n), _D(rng, m)
        er, ef = ref.output_layer_grads(Dr, Df)
        got_r, got_f = _pair(_call(ns, "output_layer_grads", Dr, Df),
                             "output_layer_grads(D_real, D_fake)", er.sum() + ef.sum())
        context = f"n = {n} real and m = {m} generated samples"
        check_close(got_r, er, "dZ_real", context=context, mistakes=[
            (PER_SAMPLE, np.sum(er)), (PER_SAMPLE, np.sum(er) + np.sum(ef)),
            (NEVER_1N, 1 - Dr), (TWICE_1N, (1 - Dr) / n**2), (SIGN_L, -er),
            (NO_SIGMOID, 1 / (n * Dr)), (OUT_G, np.full_like(Dr, 1 / n)),
            *([] if n == m else [(SWAP_NM, (1 - Dr) / m)]),
        ])
        check_close(got_f, ef, "dZ_fake", context=context, mistakes=[
            (PER_SAMPLE, np.sum(ef)), (NEVER_1N, -Df), (TWICE_1N, -Df / m**2), (SIGN_L, -ef),
            (NO_SIGMOID, -1 / (m * (1 - Df))), (OUT_G, -Df / (m * (1 - Df))),
            *([] if n == m else [(SWAP_NM, -Df / n)]),
        ])


@hidden_test
def check_part_iii(ns: Mapping[str, Any]) -> None:
    """backprop_layer: (W_next.T @ dZ_next) * g'(Z)."""
    rng = np.random.default_rng(5003)
    # (n_{l+1}, n_l, batch): the first case is square so that every mistake keeps the shape.
    for (a, b, batch), name in [((4, 4, 4), "tanh"), ((4, 4, 4), "softplus"),
                                ((2, 5, 3), "sigmoid"), ((6, 3, 7), "tanh"),
                                ((1, 4, 5), "softplus")]:
        act = ACT[name]
        dZ, W, Z = rng.normal(size=(a, batch)), rng.normal(size=(a, b)), rng.normal(size=(b, batch))
        back = W.T @ dZ
        gp = act.g_prime(Z)
        mistakes = [(MATMUL, back @ gp.T), (MATMUL, gp.T @ back), (NO_GPRIME, back),
                    (GPRIME_WRONG_ARG, back * act.g_prime(back)), (G_NOT_GPRIME, back * act.g(Z))]
        if gp.shape[0] == gp.shape[1]:
            mistakes.append((MATMUL, back @ gp))
        if a == b:
            mistakes.append((TRANSPOSED_W, (W @ dZ) * gp))
        got = _call(ns, "backprop_layer", dZ, W, Z, act.g_prime)
        check_close(got, ref.backprop_layer(dZ, W, Z, act.g_prime), "dZ", mistakes=mistakes,
                    context=f"W_next {W.shape}, Z {Z.shape}, {name} activation")


@hidden_test
def check_part_iv(ns: Mapping[str, Any]) -> None:
    """grad_wrt_generator_output: W_d^1.T @ dZ_fake^1, shape (k, m)."""
    rng = np.random.default_rng(5004)
    for n1, k, m in [(3, 3, 5), (4, 2, 3), (1, 3, 6), (5, 4, 1)]:
        W1, dZ1 = rng.normal(size=(n1, k)), rng.normal(size=(n1, m))
        expected = ref.grad_wrt_generator_output(W1, dZ1)
        mistakes = [(SUMMED_SAMPLES, expected.sum(axis=1)),
                    (SUMMED_SAMPLES, expected.sum(axis=1, keepdims=True)),
                    (TWICE_1M, expected / m), (SIGN_L, -expected)]
        if n1 == k:
            mistakes.append((TRANSPOSED_W, W1 @ dZ1))
        got = _call(ns, "grad_wrt_generator_output", W1, dZ1)
        check_close(got, expected, "dL/dG(Z)", mistakes=mistakes,
                    context=f"W1_d {W1.shape}, dZ1_fake {dZ1.shape}")


@hidden_test
def check_part_i(ns: Mapping[str, Any]) -> None:
    """discriminator_grads: both branches, dW^l = dZ^l @ A^{l-1}.T summed over the branches."""
    with _reference_helpers(ns, ("output_layer_grads", "backprop_layer")):
        _check_discriminator_grads(ns)


def _check_discriminator_grads(ns: Mapping[str, Any]) -> None:
    for case, net in enumerate(_nets(5001)):
        X_fake = net.X_fake
        W_d = [w.copy() for w in net.W_d]
        got = _call(ns, "discriminator_grads", W_d, net.d_acts, net.X, X_fake)
        expected = ref.discriminator_grads(net.W_d, net.d_acts, net.X, X_fake)
        context = _context(net)
        mistakes = list(_disc_mistakes(net, X_fake).items())
        _check_list(got, expected, "dW_d", mistakes, context)
        if case == 0:
            numeric = _numerical(lambda net=net, X_fake=X_fake: ref.discriminator_objective(
                net.W_d, net.d_acts, net.X, X_fake), net.W_d)
            _check_list(got, numeric, "dW_d", mistakes,
                        context + ", compared with finite differences of L", 1e-5, 1e-8)


@hidden_test
def check_part_v(ns: Mapping[str, Any]) -> None:
    """generator_grads: dL/dG(Z) backpropagated through the generator; 1/m counted once."""
    with _reference_helpers(ns):
        _check_generator_grads(ns)


def _check_generator_grads(ns: Mapping[str, Any]) -> None:
    for case, net in enumerate(_nets(5005)):
        got = _call(ns, "generator_grads", [w.copy() for w in net.W_g], net.g_acts,
                    [w.copy() for w in net.W_d], net.d_acts, net.Z)
        expected = ref.generator_grads(net.W_g, net.g_acts, net.W_d, net.d_acts, net.Z)
        context = _context(net, "g")
        mistakes = list(_gen_mistakes(net).items())
        _check_list(got, expected, "dW_g", mistakes, context)
        if case == 0:
            numeric = _numerical(lambda net=net: ref.gan_objective(
                net.W_d, net.d_acts, net.W_g, net.g_acts, net.X, net.Z), net.W_g)
            _check_list(got, numeric, "dW_g", mistakes,
                        context + ", compared with finite differences of L", 1e-5, 1e-8)


def _check_step(ns: Mapping[str, Any], name: str, sign: float, wrong: str) -> None:
    rng = np.random.default_rng(5006 if sign > 0 else 5007)
    for shapes, lr in [([(3, 2), (4, 3), (1, 4)], 0.1), ([(2, 5)], 0.03),
                       ([(5, 3), (2, 5)], 1.5)]:
        W = [rng.normal(size=s) for s in shapes]
        grads = [rng.normal(size=s) for s in shapes]
        got = _call(ns, name, [w.copy() for w in W], [g.copy() for g in grads], lr)
        expected = [w + sign * lr * g for w, g in zip(W, grads, strict=True)]
        mistakes = [
            (wrong, [w - sign * lr * g for w, g in zip(W, grads, strict=True)]),
            (NO_LR, [w + sign * g for w, g in zip(W, grads, strict=True)]),
            (ONLY_STEP, [sign * lr * g for g in grads]),
            (ONLY_STEP, [lr * g for g in grads]),
        ]
        _check_list(got, expected, "the updated weights", mistakes,
                    f"{len(W)} layers, lr = {lr}")


@hidden_test
def check_part_vi(ns: Mapping[str, Any]) -> None:
    """discriminator_step: gradient ascent."""
    _check_step(ns, "discriminator_step", +1.0, ASCENT)


@hidden_test
def check_part_vii(ns: Mapping[str, Any]) -> None:
    """generator_step: gradient descent."""
    _check_step(ns, "generator_step", -1.0, DESCENT)


@hidden_test
def check_part_viii(ns: Mapping[str, Any]) -> None:
    """wgan_output_grads: (D(1-D)/n, -D(1-D)/m) for L' with the sigmoid output kept."""
    rng = np.random.default_rng(5008)
    for n, m in [(4, 7), (6, 2), (1, 3), (5, 5)]:
        Dr, Df = _D(rng, n), _D(rng, m)
        er, ef = ref.wgan_output_grads(Dr, Df)
        got_r, got_f = _pair(_call(ns, "wgan_output_grads", Dr, Df),
                             "wgan_output_grads(D_real, D_fake)", er.sum() + ef.sum())
        context = f"n = {n} real and m = {m} generated samples"
        check_close(got_r, er, "dZ_real", context=context, mistakes=[
            (PER_SAMPLE, np.sum(er)), (PER_SAMPLE, np.sum(er) + np.sum(ef)),
            (WGAN_LINEAR, np.full_like(Dr, 1 / n)), (WGAN_LOG, (1 - Dr) / n),
            (NEVER_1N, Dr * (1 - Dr)), (TWICE_1N, er / n), (SIGN_L, -er),
            *([] if n == m else [(SWAP_NM, Dr * (1 - Dr) / m)]),
        ])
        check_close(got_f, ef, "dZ_fake", context=context, mistakes=[
            (WGAN_PLUS, -ef), (PER_SAMPLE, np.sum(ef)), (WGAN_LINEAR, np.full_like(Df, -1 / m)),
            (WGAN_LOG, -Df / m), (NEVER_1N, -Df * (1 - Df)), (TWICE_1N, ef / m),
            *([] if n == m else [(SWAP_NM, -Df * (1 - Df) / n)]),
        ])


CHECKS: dict[str, Callable[[Mapping[str, Any]], float | None]] = {
    "q5_i_test": check_part_i,
    "q5_ii_test": check_part_ii,
    "q5_iii_test": check_part_iii,
    "q5_iv_test": check_part_iv,
    "q5_v_test": check_part_v,
    "q5_vi_test": check_part_vi,
    "q5_vii_test": check_part_vii,
    "q5_viii_test": check_part_viii,
}
