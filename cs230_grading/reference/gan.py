"""Answer key for Q5: backpropagation through a GAN (CS230 column convention, no biases).

Shapes (float64 throughout):

* real batch ``X``: (k, n); noise batch ``Z``: (p, m); ``n`` and ``m`` may differ.
* discriminator weights ``W_d[l]``: (n_l, n_{l-1}) with n_0 = k and a last layer of one unit
  whose activation is the sigmoid, so ``D(X)`` has shape (1, n).
* generator weights ``W_g[l]``: (q_l, q_{l-1}) with q_0 = p and q_last = k, so ``G(Z)`` is (k, m).
* layer ``l`` (1-based in the exam, index ``l - 1`` in the lists): Z^l = W^l A^{l-1},
  A^l = g^l(Z^l), A^0 = the input.

The objective is L = (1/n) sum_i log D(X^i) + (1/m) sum_j log(1 - D(G(Z^j))); the discriminator
ascends it, the generator descends it. Every ``d...`` below is a derivative of L (or of the
corrected WGAN objective L' for :func:`wgan_output_grads`), per sample: one column per example.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

Array = np.ndarray
OutputGrads = Callable[[Array, Array], tuple[Array, Array]]

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "backprop_layer",
    "discriminator_grads",
    "discriminator_objective",
    "discriminator_step",
    "forward",
    "gan_objective",
    "generator_grads",
    "generator_step",
    "grad_wrt_generator_output",
    "log_sigmoid",
    "output_layer_grads",
    "wgan_discriminator_objective",
    "wgan_objective",
    "wgan_output_grads",
]


class Activation(NamedTuple):
    """An activation function ``g`` with its derivative ``g_prime`` (both elementwise)."""

    name: str
    g: Callable[[Array], Array]
    g_prime: Callable[[Array], Array]


def _sigmoid(z: Array) -> Array:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # never overflows


def _softplus(z: Array) -> Array:
    return np.logaddexp(0.0, z)


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation("identity", lambda z: z, np.ones_like),
    "tanh": Activation("tanh", np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "sigmoid": Activation("sigmoid", _sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "softplus": Activation("softplus", _softplus, _sigmoid),
}


def log_sigmoid(z: Array) -> Array:
    """log(sigmoid(z)) without overflow or log(0): -log(1 + exp(-z))."""
    return -np.logaddexp(0.0, -z)


def forward(W: Sequence[Array], activations: Sequence[Activation], A0: Array
            ) -> tuple[list[Array], list[Array]]:
    """Forward pass. Returns ``(Zs, As)``: ``Zs[l]`` = W[l] @ As[l], ``As[l + 1]`` = g(Zs[l]).

    ``As[0]`` is ``A0`` (n_0, batch); ``len(Zs) == len(W)``, ``len(As) == len(W) + 1``.
    """
    if len(W) != len(activations):
        raise ValueError(f"{len(W)} weight matrices but {len(activations)} activations")
    As = [np.asarray(A0, dtype=np.float64)]
    Zs: list[Array] = []
    for layer, (w, act) in enumerate(zip(W, activations, strict=True), start=1):
        if w.shape[1] != As[-1].shape[0]:
            raise ValueError(f"layer {layer}: W has shape {w.shape} but its input has "
                             f"{As[-1].shape[0]} rows")
        Zs.append(w @ As[-1])
        As.append(act.g(Zs[-1]))
    return Zs, As


def _check_discriminator(W_d: Sequence[Array], activations: Sequence[Activation]) -> None:
    if W_d[-1].shape[0] != 1:
        raise ValueError(f"the discriminator's last layer must have 1 unit, got {W_d[-1].shape}")
    if activations[-1].name != "sigmoid":
        raise ValueError("the discriminator's last activation must be the sigmoid")


def discriminator_objective(W_d: Sequence[Array], activations: Sequence[Activation],
                            X: Array, X_fake: Array) -> float:
    """L as a function of the discriminator, with ``X_fake`` (k, m) held fixed."""
    _check_discriminator(W_d, activations)
    logit_real = forward(W_d, activations, X)[0][-1]
    logit_fake = forward(W_d, activations, X_fake)[0][-1]
    # log D = log_sigmoid(z) and log(1 - D) = log_sigmoid(-z): stable for any logit.
    return float(np.mean(log_sigmoid(logit_real)) + np.mean(log_sigmoid(-logit_fake)))


def gan_objective(W_d: Sequence[Array], d_activations: Sequence[Activation],
                  W_g: Sequence[Array], g_activations: Sequence[Activation],
                  X: Array, Z: Array) -> float:
    """L(theta_d, theta_g) for a real batch X (k, n) and a noise batch Z (p, m)."""
    X_fake = forward(W_g, g_activations, Z)[1][-1]
    return discriminator_objective(W_d, d_activations, X, X_fake)


def wgan_discriminator_objective(W_d: Sequence[Array], activations: Sequence[Activation],
                                 X: Array, X_fake: Array) -> float:
    """L' = (1/n) sum D(X) - (1/m) sum D(X_fake), with the sigmoid output kept."""
    _check_discriminator(W_d, activations)
    D_real = forward(W_d, activations, X)[1][-1]
    D_fake = forward(W_d, activations, X_fake)[1][-1]
    return float(np.mean(D_real) - np.mean(D_fake))


def wgan_objective(W_d: Sequence[Array], d_activations: Sequence[Activation],
                   W_g: Sequence[Array], g_activations: Sequence[Activation],
                   X: Array, Z: Array) -> float:
    """L'(theta_d, theta_g) for a real batch X (k, n) and a noise batch Z (p, m)."""
    X_fake = forward(W_g, g_activations, Z)[1][-1]
    return wgan_discriminator_objective(W_d, d_activations, X, X_fake)


def _check_row(D: Array, name: str) -> Array:
    D = np.asarray(D, dtype=np.float64)
    if D.ndim != 2 or D.shape[0] != 1:
        raise ValueError(f"{name} must have shape (1, batch), got {D.shape}")
    return D


def output_layer_grads(D_real: Array, D_fake: Array) -> tuple[Array, Array]:
    """Part ii: dL/dz^{L_d} per sample, through the sigmoid output.

    D_real: (1, n) = D(X); D_fake: (1, m) = D(G(Z)). Either batch may be empty (shape (1, 0)).
    Returns (dZ_real (1, n), dZ_fake (1, m)) = ((1 - D(X)) / n, -D(G(Z)) / m).
    """
    D_real, D_fake = _check_row(D_real, "D_real"), _check_row(D_fake, "D_fake")
    n, m = D_real.shape[1], D_fake.shape[1]
    return (1.0 - D_real) / n, -D_fake / m


def backprop_layer(dZ_next: Array, W_next: Array, Z: Array,
                   g_prime: Callable[[Array], Array]) -> Array:
    """Part iii: dL/dz^l from dL/dz^{l+1}.

    dZ_next: (n_{l+1}, batch); W_next: (n_{l+1}, n_l); Z: (n_l, batch) = z^l.
    Returns (W_next.T @ dZ_next) * g'(Z), shape (n_l, batch).
    """
    if W_next.shape[0] != dZ_next.shape[0] or W_next.shape[1] != Z.shape[0]:
        raise ValueError(f"shapes do not chain: dZ_next {dZ_next.shape}, W_next "
                         f"{W_next.shape}, Z {Z.shape}")
    return (W_next.T @ dZ_next) * g_prime(Z)


def grad_wrt_generator_output(W1_d: Array, dZ1_fake: Array) -> Array:
    """Part iv: dL/dG(Z) = W_d^1.T @ dL/dz_d^1 (fake branch), shape (k, m).

    W1_d: (n_1, k); dZ1_fake: (n_1, m). No activation derivative: G(Z) is the input A^0.
    """
    if W1_d.shape[0] != dZ1_fake.shape[0]:
        raise ValueError(f"W1_d {W1_d.shape} and dZ1_fake {dZ1_fake.shape} do not chain")
    return W1_d.T @ dZ1_fake


def _backward(W: Sequence[Array], activations: Sequence[Activation], Zs: Sequence[Array],
              dZ_last: Array) -> list[Array]:
    """dL/dz^l for every layer, given dL/dz at the last layer."""
    dZs = [dZ_last]
    for i in range(len(W) - 1, 0, -1):
        dZs.insert(0, backprop_layer(dZs[0], W[i], Zs[i - 1], activations[i - 1].g_prime))
    return dZs


def discriminator_grads(W_d: Sequence[Array], activations: Sequence[Activation], X: Array,
                        X_fake: Array, output_grads: OutputGrads | None = None
                        ) -> list[Array]:
    """Part i: dL/dW_d^l for every layer, with X_fake (k, m) held fixed.

    X: (k, n). Returns a list of arrays shaped like ``W_d``:
    dW^l = dZ_real^l @ A_real^{l-1}.T + dZ_fake^l @ A_fake^{l-1}.T.
    ``output_grads`` replaces :func:`output_layer_grads` (for the WGAN objective).
    """
    _check_discriminator(W_d, activations)
    output_grads = output_grads or output_layer_grads
    Zr, Ar = forward(W_d, activations, X)
    Zf, Af = forward(W_d, activations, X_fake)
    dZ_real, dZ_fake = output_grads(Ar[-1], Af[-1])
    dZr = _backward(W_d, activations, Zr, dZ_real)
    dZf = _backward(W_d, activations, Zf, dZ_fake)
    pairs = zip(dZr, Ar[:-1], dZf, Af[:-1], strict=True)
    return [dr @ ar.T + df @ af.T for dr, ar, df, af in pairs]


def generator_grads(W_g: Sequence[Array], g_activations: Sequence[Activation],
                    W_d: Sequence[Array], d_activations: Sequence[Activation], Z: Array,
                    output_grads: OutputGrads | None = None) -> list[Array]:
    """Part v: dL/dW_g^l for every generator layer. Z: (p, m).

    Backpropagates the fake branch through the discriminator to dL/dG(Z) (k, m), then
    through the generator: dW_g^l = dZ_g^l @ A_g^{l-1}.T. The 1/m is already inside
    dL/dG(Z); the real batch does not depend on theta_g.
    """
    _check_discriminator(W_d, d_activations)
    output_grads = output_grads or output_layer_grads
    Zg, Ag = forward(W_g, g_activations, Z)
    Zf, Af = forward(W_d, d_activations, Ag[-1])
    _, dZ_fake = output_grads(np.empty((1, 0)), Af[-1])
    dZ1 = _backward(W_d, d_activations, Zf, dZ_fake)[0]
    dG = grad_wrt_generator_output(W_d[0], dZ1)
    dZg = _backward(W_g, g_activations, Zg, dG * g_activations[-1].g_prime(Zg[-1]))
    return [dz @ a.T for dz, a in zip(dZg, Ag[:-1], strict=True)]


def discriminator_step(W_d: Sequence[Array], grads: Sequence[Array], lr: float) -> list[Array]:
    """Part vi: gradient ascent on L, theta_d <- theta_d + lr * grad. Returns new arrays."""
    return [w + lr * g for w, g in zip(W_d, grads, strict=True)]


def generator_step(W_g: Sequence[Array], grads: Sequence[Array], lr: float) -> list[Array]:
    """Part vii: gradient descent on L, theta_g <- theta_g - lr * grad. Returns new arrays."""
    return [w - lr * g for w, g in zip(W_g, grads, strict=True)]


def wgan_output_grads(D_real: Array, D_fake: Array) -> tuple[Array, Array]:
    """Part viii: dL'/dz^{L_d} per sample for L' = (1/n) sum D(X) - (1/m) sum D(G(Z)).

    The sigmoid output is kept, so each entry carries sigma' = D (1 - D):
    returns (D_real (1 - D_real) / n, -D_fake (1 - D_fake) / m), shapes (1, n) and (1, m).
    """
    D_real, D_fake = _check_row(D_real, "D_real"), _check_row(D_fake, "D_fake")
    n, m = D_real.shape[1], D_fake.shape[1]
    return D_real * (1.0 - D_real) / n, -D_fake * (1.0 - D_fake) / m
