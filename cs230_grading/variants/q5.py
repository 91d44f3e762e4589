"""Q5 sample submissions: each named mistake, and a stub left unimplemented.

The ``model`` and ``blank`` variants are added by the variants test. Every other answer cell
keeps its model answer, so each variant fails exactly the test cells listed (parts i and v are
graded with the reference helpers swapped in, so a mistake in parts ii-iv does not spread, and
their feedback says so: ``notes``).
"""

from __future__ import annotations

from . import Variant

NOTEBOOK = "q5_gan_backprop"


def _carried(helper: str, *tests: str) -> dict[str, str]:
    """The tests graded with the key's ``helper`` swapped in, and the note they must show."""
    return dict.fromkeys(tests, f"your `{helper}` is wrong")


def _pair_fn(name: str, body: str) -> str:
    """An answer cell defining ``name(D_real, D_fake)`` with the given body."""
    return (f"def {name}(D_real, D_fake):\n"
            "    n, m = D_real.shape[1], D_fake.shape[1]\n"
            f"{body}")


def _backprop(expr: str) -> str:
    return f"def backprop_layer(dZ_next, W_next, Z, g_prime):\n    return {expr}\n"


def _grad_wrt(expr: str) -> str:
    return f"def grad_wrt_generator_output(W1_d, dZ1_fake):\n    return {expr}\n"


def _step(name: str, sign: str) -> str:
    return f"def {name}(W, grads, lr):\n    return [w {sign} lr * g for w, g in zip(W, grads)]\n"


def _disc_grads(g_attr: str) -> str:
    """discriminator_grads passing ``activations[l - 1].<g_attr>`` to backprop_layer."""
    return f'''def discriminator_grads(W_d, activations, X, X_fake, output_grads=None):
    output_grads = output_grads or output_layer_grads
    Z_real, A_real = forward(W_d, activations, X)
    Z_fake, A_fake = forward(W_d, activations, X_fake)
    dZ_real, dZ_fake = output_grads(A_real[-1], A_fake[-1])
    grads = [None] * len(W_d)
    for l in reversed(range(len(W_d))):
        grads[l] = dZ_real @ A_real[l].T + dZ_fake @ A_fake[l].T
        if l > 0:
            act = activations[l - 1].{g_attr}
            dZ_real = backprop_layer(dZ_real, W_d[l], Z_real[l - 1], act)
            dZ_fake = backprop_layer(dZ_fake, W_d[l], Z_fake[l - 1], act)
    return grads
'''


def _gen_grads(output_factor: str) -> str:
    """generator_grads whose dL/dz_g^{L_g} is dL/dG(Z) followed by ``output_factor``."""
    return f'''def generator_grads(W_g, g_activations, W_d, d_activations, Z, output_grads=None):
    output_grads = output_grads or output_layer_grads
    m = Z.shape[1]
    Z_g, A_g = forward(W_g, g_activations, Z)
    Z_d, A_d = forward(W_d, d_activations, A_g[-1])
    _, dZ = output_grads(np.empty((1, 0)), A_d[-1])
    for l in reversed(range(1, len(W_d))):
        dZ = backprop_layer(dZ, W_d[l], Z_d[l - 1], d_activations[l - 1].g_prime)
    dZ = grad_wrt_generator_output(W_d[0], dZ){output_factor}
    grads = [None] * len(W_g)
    for l in reversed(range(len(W_g))):
        grads[l] = dZ @ A_g[l].T
        if l > 0:
            dZ = backprop_layer(dZ, W_g[l], Z_g[l - 1], g_activations[l - 1].g_prime)
    return grads
'''


VARIANTS: list[Variant] = [
    Variant(
        NOTEBOOK, "output_summed", "part ii as the printed key's scalar (erratum E4)",
        answers={"q5_output_layer_grads": _pair_fn(
            "output_layer_grads", "    return np.sum((1 - D_real) / n) + np.sum(-D_fake / m)\n")},
        failing={"q5_ii_test": "per-sample gradients"},
        notes=_carried("output_layer_grads", "q5_i_test", "q5_v_test"),
    ),
    Variant(
        NOTEBOOK, "output_no_average", "part ii without the 1/n and 1/m",
        answers={"q5_output_layer_grads": _pair_fn(
            "output_layer_grads", "    return 1 - D_real, -D_fake\n")},
        failing={"q5_ii_test": "1/n is never counted"},
        notes=_carried("output_layer_grads", "q5_i_test", "q5_v_test"),
    ),
    Variant(
        NOTEBOOK, "backprop_matmul", "part iii multiplies by g'(z) with @ instead of *",
        answers={"q5_backprop_layer": _backprop("(W_next.T @ dZ_next) @ g_prime(Z)")},
        failing={"q5_iii_test": "matrix product where an elementwise one belongs"},
        notes=_carried("backprop_layer", "q5_i_test", "q5_v_test"),
    ),
    Variant(
        NOTEBOOK, "backprop_transposed", "part iii uses W instead of W.T",
        answers={"q5_backprop_layer": _backprop("(W_next @ dZ_next) * g_prime(Z)")},
        failing={"q5_iii_test": "transposed weight"},
        notes=_carried("backprop_layer", "q5_i_test", "q5_v_test"),
    ),
    Variant(
        NOTEBOOK, "disc_g_not_gprime", "part i passes g instead of g' (erratum E3)",
        answers={"q5_discriminator_grads": _disc_grads("g")},
        failing={"q5_i_test": "multiplies by the derivative g'(z)"},
    ),
    Variant(
        NOTEBOOK, "grad_wrt_transposed", "part iv uses W_d^1 instead of its transpose",
        answers={"q5_grad_wrt_generator_output": _grad_wrt("W1_d @ dZ1_fake")},
        failing={"q5_iv_test": "transposed weight"},
        notes=_carried("grad_wrt_generator_output", "q5_v_test"),
    ),
    Variant(
        NOTEBOOK, "gen_average_twice", "part v divides by the batch size again (erratum E5)",
        answers={"q5_generator_grads": _gen_grads(" / m * g_activations[-1].g_prime(Z_g[-1])")},
        failing={"q5_v_test": "1/n counted twice (here the 1/m)"},
    ),
    Variant(
        NOTEBOOK, "gen_no_output_prime", "part v skips the generator's output activation",
        answers={"q5_generator_grads": _gen_grads("")},
        failing={"q5_v_test": "output activation is missing"},
    ),
    Variant(
        NOTEBOOK, "disc_descent", "part vi descends instead of ascending",
        answers={"q5_discriminator_step": _step("discriminator_step", "-")},
        failing={"q5_vi_test": "the discriminator maximises L"},
    ),
    Variant(
        NOTEBOOK, "gen_ascent", "part vii ascends instead of descending",
        answers={"q5_generator_step": _step("generator_step", "+")},
        failing={"q5_vii_test": "the generator minimises L"},
    ),
    Variant(
        NOTEBOOK, "wgan_plus", "part viii with the printed plus sign (erratum E6)",
        answers={"q5_wgan_output_grads": _pair_fn(
            "wgan_output_grads",
            "    return D_real * (1 - D_real) / n, D_fake * (1 - D_fake) / m\n")},
        failing={"q5_viii_test": "plus sign"},
    ),
    Variant(
        NOTEBOOK, "wgan_linear", "part viii for a linear critic (no sigmoid derivative)",
        answers={"q5_wgan_output_grads": _pair_fn(
            "wgan_output_grads",
            "    return np.ones_like(D_real) / n, -np.ones_like(D_fake) / m\n")},
        failing={"q5_viii_test": "linear critic"},
    ),
    Variant(
        NOTEBOOK, "unimplemented_v", "part v left as the stub, everything else answered",
        answers={"q5_generator_grads": (
            "def generator_grads(W_g, g_activations, W_d, d_activations, Z, "
            "output_grads=None):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n")},
        failing={"q5_v_test": "not implemented"},
    ),
]
