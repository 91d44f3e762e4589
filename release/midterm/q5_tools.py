"""Q5 helpers (student side): networks, gradient checks, and the GAN you train.

Everything here is given; nothing here computes a gradient you are asked for.

* :class:`Activation` / :data:`ACTIVATIONS`: activation functions ``g`` with their
  derivatives ``g_prime`` (elementwise).
* :func:`forward`: the forward pass of a network without biases (column convention).
* :func:`log_sigmoid`, :func:`gan_objective`, :func:`wgan_objective`: the objectives' values.
* :func:`rel_error`, :func:`numerical_gradient`: central finite differences (CS231n style).
* ``check_*``: compare *your* gradient functions with finite differences of the objective on a
  small random network and print the relative error of each array (below 1e-6 is right).
* :func:`train_gan`, :func:`plot_training`, :func:`summary`: train a small GAN on a 1-D mixture
  of two Gaussians with *your* gradient and update functions, and show how it went.

Shapes: data X (k, n), noise Z (p, m); layer l has Z^l = W^l @ A^{l-1}, A^l = g^l(Z^l).
No widgets: the training demo draws static Matplotlib figures.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from selfcheck import FAIL, NOT_YET, PASS, not_yet, numerical_gradient, rel_error

Array = np.ndarray

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "TrainingRun",
    "autograding",
    "check_backprop_layer",
    "check_discriminator_grads",
    "check_part_i",
    "check_part_v",
    "check_generator_grads",
    "check_grad_wrt_generator_output",
    "check_output_layer_grads",
    "check_returns",
    "check_wgan_output_grads",
    "converged",
    "forward",
    "gan_objective",
    "init_weights",
    "log_sigmoid",
    "numerical_gradient",
    "plot_training",
    "rel_error",
    "sample_noise",
    "sample_real",
    "summary",
    "train_gan",
    "wgan_objective",
]

TOLERANCE = 1e-6  # relative error below which a gradient agrees with finite differences


class Activation(NamedTuple):
    """An activation ``g`` and its derivative ``g_prime``, both elementwise on arrays."""

    name: str
    g: Callable[[Array], Array]
    g_prime: Callable[[Array], Array]


def sigmoid(z: Array) -> Array:
    """1 / (1 + exp(-z)), written with tanh so that it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def log_sigmoid(z: Array) -> Array:
    """log(sigmoid(z)) = -log(1 + exp(-z)), stable for any z (no log(0), no overflow).

    Note log(1 - sigmoid(z)) = log_sigmoid(-z).
    """
    return -np.logaddexp(0.0, -z)


ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation("identity", lambda z: z, np.ones_like),
    "tanh": Activation("tanh", np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "sigmoid": Activation("sigmoid", sigmoid, lambda z: sigmoid(z) * (1.0 - sigmoid(z))),
    "softplus": Activation("softplus", lambda z: np.logaddexp(0.0, z), sigmoid),
}


def forward(W: Sequence[Array], activations: Sequence[Activation], A0: Array
            ) -> tuple[list[Array], list[Array]]:
    """Forward pass of a network without biases.

    W[l]: (n_{l+1}, n_l) (Python index l is the exam's layer l + 1); A0: (n_0, batch).
    Returns ``(Zs, As)`` with ``Zs[l] = W[l] @ As[l]`` and ``As[l + 1] = g(Zs[l])``;
    ``As[0]`` is A0, so ``len(As) == len(W) + 1`` and ``As[-1]`` is the output.
    """
    if len(W) != len(activations):
        raise ValueError(f"{len(W)} weight matrices but {len(activations)} activations")
    As = [np.asarray(A0, dtype=np.float64)]
    Zs: list[Array] = []
    for w, act in zip(W, activations, strict=True):
        Zs.append(w @ As[-1])
        As.append(act.g(Zs[-1]))
    return Zs, As


def _logits_and_outputs(W_d: Sequence[Array], d_acts: Sequence[Activation], X: Array
                        ) -> tuple[Array, Array]:
    Zs, As = forward(W_d, d_acts, X)
    return Zs[-1], As[-1]


def gan_objective(W_d: Sequence[Array], d_acts: Sequence[Activation], X: Array,
                  X_fake: Array) -> float:
    """L = (1/n) sum log D(X^i) + (1/m) sum log(1 - D(X_fake^j)), computed from the logits.

    X: (k, n) real samples; X_fake: (k, m), for example ``forward(W_g, g_acts, Z)[1][-1]``.
    """
    z_real, _ = _logits_and_outputs(W_d, d_acts, X)
    z_fake, _ = _logits_and_outputs(W_d, d_acts, X_fake)
    return float(np.mean(log_sigmoid(z_real)) + np.mean(log_sigmoid(-z_fake)))


def wgan_objective(W_d: Sequence[Array], d_acts: Sequence[Activation], X: Array,
                   X_fake: Array) -> float:
    """L' = (1/n) sum D(X^i) - (1/m) sum D(X_fake^j) (the corrected WGAN objective)."""
    _, d_real = _logits_and_outputs(W_d, d_acts, X)
    _, d_fake = _logits_and_outputs(W_d, d_acts, X_fake)
    return float(np.mean(d_real) - np.mean(d_fake))


def init_weights(sizes: Sequence[int], rng: np.random.Generator, scale: float = 1.0
                 ) -> list[Array]:
    """Random weights for layer sizes [n_0, n_1, ..., n_L]: W[l] is (n_{l+1}, n_l)."""
    return [rng.normal(size=(out, inp)) * scale / np.sqrt(inp)
            for inp, out in zip(sizes[:-1], sizes[1:], strict=True)]


# --- gradient checks ----------------------------------------------------------------------

def _report(name: str, analytic: Any, numeric: Array) -> float:
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != numeric.shape:
        print(f"{FAIL} {name}: your array has shape {analytic.shape}, expected {numeric.shape}")
        return float("inf")
    err = rel_error(analytic, numeric)
    ok = err < TOLERANCE
    factor = "" if ok else _factor(analytic, numeric)
    if factor:
        print(f"{FAIL} {name}: off by a factor of {factor} (relative error {err:.2e})")
    else:
        print(f"{PASS if ok else FAIL} {name}: relative error {err:.2e}"
              + ("" if ok else " (should be below 1e-6)"))
    return err


def _factor(analytic: Array, numeric: Array) -> str:
    """The constant factor between your array and finite differences ("5", "-1", "1/5"), or
    "" when there is none: a missing or doubled average, or a flipped sign."""
    mask = np.abs(numeric) > 1e-6
    if not np.any(mask):
        return ""
    ratios = analytic[mask] / numeric[mask]
    ratio = float(np.median(ratios))
    if not np.isfinite(ratio) or abs(ratio) < 1e-9 or not np.allclose(ratios, ratio, rtol=1e-4):
        return ""
    if abs(ratio) >= 1:
        return f"{ratio:.4g}"
    return f"{'-' if ratio < 0 else ''}1/{1 / abs(ratio):.4g}"


def _stub_name(exc: BaseException, default: str) -> str:
    """The function whose body raised ``exc`` (the stub itself, perhaps called by another)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_name if tb is not None else default


def _call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the student's function; None (with a message) while it is still a stub."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a warning on stderr would zero a test cell
            return func(*args, **kwargs)
    except NotImplementedError as exc:
        name = _stub_name(exc, getattr(func, "__name__", "this function"))
        not_yet(f"{name} is not implemented yet: replace `raise NotImplementedError()`")
        return None


def _small_gan(seed: int, depth_d: int = 3, depth_g: int = 2) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    k, p, n, m = 3, 2, 5, 4
    widths_d = [k, *([4] * (depth_d - 1)), 1]
    widths_g = [p, *([5] * (depth_g - 1)), k]
    hidden = ["tanh", "softplus", "sigmoid"]
    return {
        "W_d": init_weights(widths_d, rng, 1.5),
        "d_acts": [ACTIVATIONS[hidden[i % 3]] for i in range(depth_d - 1)]
        + [ACTIVATIONS["sigmoid"]],
        "W_g": init_weights(widths_g, rng, 1.5),
        "g_acts": [ACTIVATIONS["tanh"]] * (depth_g - 1) + [ACTIVATIONS["tanh"]],
        "X": rng.normal(size=(k, n)),
        "Z": rng.normal(size=(p, m)),
        "X_fake": rng.normal(size=(k, m)),
    }


def check_returns(func: Callable[..., Any], args: Sequence[Any],
                  shapes: Sequence[tuple[int, ...]], names: Sequence[str]) -> bool:
    """Call ``func(*args)`` and report whether it returns arrays of the given shapes.

    One shape: a single array; several: a tuple or list of that many arrays. Prints one line
    per array and never raises (the hidden tests say what is wrong); returns True when all is
    well formed.
    """
    try:
        result = _call(func, *args)
    except Exception as exc:  # noqa: BLE001 - reported to the student
        print(f"{FAIL} {getattr(func, '__name__', 'the function')} raised "
              f"{type(exc).__name__}: {exc}")
        return False
    if result is None:
        return False
    if len(shapes) == 1:
        result = [result]
    elif not (isinstance(result, (tuple, list)) and len(result) == len(shapes)):
        print(f"{FAIL} expected {len(shapes)} results ({', '.join(names)}), "
              f"got {type(result).__name__}")
        return False
    ok = True
    for value, shape, name in zip(result, shapes, names, strict=True):
        try:
            got = np.shape(value)
            finite = bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))
        except (TypeError, ValueError):
            print(f"{FAIL} {name} is not an array of numbers")
            return False
        good = tuple(got) == tuple(shape) and finite
        print(f"{PASS if good else FAIL} {name} has shape {tuple(got)}"
              + ("" if tuple(got) == tuple(shape) else f", expected {tuple(shape)}")
              + ("" if finite else ", and contains NaN or inf"))
        ok = ok and good
    return ok


def check_output_layer_grads(output_layer_grads: Callable[..., Any], seed: int = 0
                             ) -> float | None:
    """Finite differences of L with respect to the output logits z^{L_d} (part ii)."""
    rng = np.random.default_rng(seed)
    z_real, z_fake = rng.normal(size=(1, 5)), rng.normal(size=(1, 3))
    got = _call(output_layer_grads, sigmoid(z_real), sigmoid(z_fake))
    if got is None:
        return None
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        print(f"{FAIL} return a pair (dZ_real, dZ_fake), got {type(got).__name__}")
        return float("inf")

    def f_real(z: Array) -> float:
        return float(np.mean(log_sigmoid(z)))

    def f_fake(z: Array) -> float:
        return float(np.mean(log_sigmoid(-z)))

    return max(_report("dZ_real", got[0], numerical_gradient(f_real, z_real)),
               _report("dZ_fake", got[1], numerical_gradient(f_fake, z_fake)))


def check_wgan_output_grads(wgan_output_grads: Callable[..., Any], seed: int = 0
                            ) -> float | None:
    """Finite differences of L' with respect to the output logits (part viii)."""
    rng = np.random.default_rng(seed)
    z_real, z_fake = rng.normal(size=(1, 5)), rng.normal(size=(1, 3))
    got = _call(wgan_output_grads, sigmoid(z_real), sigmoid(z_fake))
    if got is None:
        return None
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        print(f"{FAIL} return a pair (dZ_real, dZ_fake), got {type(got).__name__}")
        return float("inf")

    def f_real(z: Array) -> float:
        return float(np.mean(sigmoid(z)))

    def f_fake(z: Array) -> float:
        return float(-np.mean(sigmoid(z)))

    return max(_report("dZ_real", got[0], numerical_gradient(f_real, z_real)),
               _report("dZ_fake", got[1], numerical_gradient(f_fake, z_fake)))


def check_backprop_layer(backprop_layer: Callable[..., Any], seed: int = 0) -> float | None:
    """Finite differences for one layer (part iii), for each hidden activation.

    With dZ_next = dL/dz^{l+1} held fixed, the part of L that flows through z^l is
    sum(dZ_next * (W_next @ g(z^l))); its gradient with respect to z^l is what
    ``backprop_layer`` must return.
    """
    rng = np.random.default_rng(seed)
    worst = 0.0
    for name in ("tanh", "sigmoid", "softplus"):
        act = ACTIVATIONS[name]
        dZ_next, W_next, Z = (rng.normal(size=(2, 6)), rng.normal(size=(2, 4)),
                              rng.normal(size=(4, 6)))
        got = _call(backprop_layer, dZ_next, W_next, Z, act.g_prime)
        if got is None:
            return None

        def f(z: Array, act: Activation = act, W_next: Array = W_next,
              dZ_next: Array = dZ_next) -> float:
            return float(np.sum(dZ_next * (W_next @ act.g(z))))

        worst = max(worst, _report(f"dZ with {name}", got, numerical_gradient(f, Z)))
    return worst


def check_grad_wrt_generator_output(grad_wrt_generator_output: Callable[..., Any],
                                    seed: int = 0) -> float | None:
    """Finite differences with respect to the discriminator's input (part iv)."""
    rng = np.random.default_rng(seed)
    W1, dZ1, X_fake = rng.normal(size=(4, 3)), rng.normal(size=(4, 5)), rng.normal(size=(3, 5))
    got = _call(grad_wrt_generator_output, W1, dZ1)
    if got is None:
        return None

    def f(x: Array) -> float:
        return float(np.sum(dZ1 * (W1 @ x)))

    return _report("dL/dG(Z)", got, numerical_gradient(f, X_fake))


def check_discriminator_grads(discriminator_grads: Callable[..., Any],
                              output_grads: Callable[..., Any] | None = None, seed: int = 0
                              ) -> float | None:
    """Finite differences of L (or of L' when ``output_grads`` is given) w.r.t. every W_d."""
    net = _small_gan(seed)
    W_d, d_acts, X, X_fake = net["W_d"], net["d_acts"], net["X"], net["X_fake"]
    objective = gan_objective if output_grads is None else wgan_objective
    kwargs = {} if output_grads is None else {"output_grads": output_grads}
    got = _call(discriminator_grads, [w.copy() for w in W_d], d_acts, X, X_fake, **kwargs)
    if got is None:
        return None
    if len(got) != len(W_d):
        print(f"{FAIL} expected {len(W_d)} gradients (one per layer), got {len(got)}")
        return float("inf")
    worst = 0.0
    for i, w in enumerate(W_d):
        numeric = numerical_gradient(lambda _: objective(W_d, d_acts, X, X_fake), w)
        worst = max(worst, _report(f"dW_d[{i}]", got[i], numeric))
    return worst


def check_generator_grads(generator_grads: Callable[..., Any],
                          output_grads: Callable[..., Any] | None = None, seed: int = 0
                          ) -> float | None:
    """Finite differences of L (or of L') with respect to every generator weight W_g."""
    net = _small_gan(seed)
    W_d, d_acts, W_g, g_acts = net["W_d"], net["d_acts"], net["W_g"], net["g_acts"]
    X, Z = net["X"], net["Z"]
    objective = gan_objective if output_grads is None else wgan_objective
    kwargs = {} if output_grads is None else {"output_grads": output_grads}
    got = _call(generator_grads, [w.copy() for w in W_g], g_acts, W_d, d_acts, Z, **kwargs)
    if got is None:
        return None
    if len(got) != len(W_g):
        print(f"{FAIL} expected {len(W_g)} gradients (one per layer), got {len(got)}")
        return float("inf")

    def f(_: Array) -> float:
        return objective(W_d, d_acts, X, forward(W_g, g_acts, Z)[1][-1])

    worst = 0.0
    for i, w in enumerate(W_g):
        worst = max(worst, _report(f"dW_g[{i}]", got[i], numerical_gradient(f, w)))
    return worst


def _passes(check: Callable[..., Any], func: Callable[..., Any]) -> bool:
    """Whether ``func`` passes its finite-difference ``check`` (run silently)."""
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            err = check(func)
        except Exception:  # noqa: BLE001 - a helper that crashes does not pass
            return False
    return err is not None and err < TOLERANCE


def _assembly_check(check: Callable[[], Any], func: Callable[..., Any],
                    helpers: Sequence[tuple[Callable[..., Any], Callable[..., Any]]]) -> bool:
    """Run the finite-difference ``check`` of ``func``; a failure counts once the helpers pass.

    The hidden tests grade parts i and v with correct helpers (parts ii-iv), so a mistake in a
    helper costs points once. Likewise here: while a helper fails its own check, this check
    cannot tell whose mistake it is, and says so instead of failing.
    """
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - shown to the student
            print(f"{FAIL} {getattr(func, '__name__', 'the function')} raised "
                  f"{type(exc).__name__}: {exc}")
    text = buffer.getvalue()
    name = getattr(func, "__name__", "the function")
    if FAIL not in text or f"{NOT_YET} {name} is not implemented" in text:
        print(text, end="")
        return FAIL not in text and NOT_YET not in text
    failing = [getattr(h, "__name__", "a helper") for c, h in helpers if not _passes(c, h)]
    if not failing:
        print(text, end="")
        return False
    print(f"(the finite-difference check of {name} is not counted yet: first make "
          f"{', '.join(failing)} pass its own check; the hidden tests grade {name} with "
          "correct helpers)")
    return True


def check_part_i(discriminator_grads: Callable[..., Any],
                 output_layer_grads: Callable[..., Any],
                 backprop_layer: Callable[..., Any]) -> bool:
    """Part i's test cell: :func:`check_discriminator_grads`, once parts ii and iii pass."""
    return _assembly_check(lambda: check_discriminator_grads(discriminator_grads),
                           discriminator_grads,
                           [(check_output_layer_grads, output_layer_grads),
                            (check_backprop_layer, backprop_layer)])


def check_part_v(generator_grads: Callable[..., Any], output_layer_grads: Callable[..., Any],
                 backprop_layer: Callable[..., Any],
                 grad_wrt_generator_output: Callable[..., Any]) -> bool:
    """Part v's test cell: :func:`check_generator_grads`, once parts ii-iv pass."""
    return _assembly_check(lambda: check_generator_grads(generator_grads), generator_grads,
                           [(check_output_layer_grads, output_layer_grads),
                            (check_backprop_layer, backprop_layer),
                            (check_grad_wrt_generator_output, grad_wrt_generator_output)])


# --- the toy problem and the training loop -------------------------------------------------

REAL_MODES = ((-1.0, 0.3), (2.0, 0.3))  # (mean, std) of the two equally likely Gaussians
NOISE_DIM = 2
D_ACTS = [ACTIVATIONS["softplus"], ACTIVATIONS["tanh"], ACTIVATIONS["sigmoid"]]
G_ACTS = [ACTIVATIONS["tanh"], ACTIVATIONS["tanh"], ACTIVATIONS["identity"]]
HIDDEN = 16


def sample_real(rng: np.random.Generator, n: int) -> Array:
    """n samples of the target: an equal mixture of N(-1, 0.3^2) and N(2, 0.3^2); (1, n)."""
    first = rng.random(n) < 0.5
    (mu1, s1), (mu2, s2) = REAL_MODES
    return np.where(first, rng.normal(mu1, s1, n), rng.normal(mu2, s2, n))[None, :]


def sample_noise(rng: np.random.Generator, m: int) -> Array:
    """m noise vectors, (NOISE_DIM + 1, m): Gaussian rows plus a last row of ones.

    The constant row acts as a bias for the generator's first layer: the exam's networks have
    no biases, and without one a tanh generator could only produce distributions symmetric
    about 0.
    """
    return np.vstack([rng.normal(size=(NOISE_DIM, m)), np.ones((1, m))])


def wasserstein_1d(a: Array, b: Array) -> float:
    """Earth mover's distance between two equally sized 1-D samples (mean |sorted gap|)."""
    return float(np.mean(np.abs(np.sort(np.ravel(a)) - np.sort(np.ravel(b)))))


@dataclasses.dataclass
class TrainingRun:
    """What :func:`train_gan` returns: final weights, the loss history and samples."""

    objective: str
    W_d: list[Array]
    W_g: list[Array]
    steps: list[int] = dataclasses.field(default_factory=list)
    d_loss: list[float] = dataclasses.field(default_factory=list)
    g_loss: list[float] = dataclasses.field(default_factory=list)
    distance: list[float] = dataclasses.field(default_factory=list)
    real: Array = dataclasses.field(default_factory=lambda: np.zeros(0))
    fake: Array = dataclasses.field(default_factory=lambda: np.zeros(0))
    diverged: bool = False
    seconds: float = 0.0
    #: the functions to write before the demo can train (nothing was trained while any is left)
    waiting_for: list[str] = dataclasses.field(default_factory=list)


def _losses(run: TrainingRun, X: Array, X_fake: Array) -> tuple[float, float]:
    """(discriminator loss, generator loss): -L and the fake term of L (or of L')."""
    _, d_real = _logits_and_outputs(run.W_d, D_ACTS, X)
    z_fake, d_fake = _logits_and_outputs(run.W_d, D_ACTS, X_fake)
    if run.objective == "wgan":
        fake_term = -float(np.mean(d_fake))
        return -(float(np.mean(d_real)) + fake_term), fake_term
    fake_term = float(np.mean(log_sigmoid(-z_fake)))
    z_real = forward(run.W_d, D_ACTS, X)[0][-1]
    return -(float(np.mean(log_sigmoid(z_real))) + fake_term), fake_term


def _unwritten(discriminator_grads: Callable[..., Any], generator_grads: Callable[..., Any],
               discriminator_step: Callable[..., Any], generator_step: Callable[..., Any],
               output_grads: Callable[..., Any] | None) -> list[str]:
    """Names of the functions the demo needs that still raise NotImplementedError, in order.

    Each function is called once on a tiny batch; a stub called by another (say
    ``output_layer_grads`` inside ``discriminator_grads``) is named itself. Other errors are
    left for the training loop to show.
    """
    rng = np.random.default_rng(0)
    W_d = init_weights([1, 2, 2, 1], rng)
    W_g = init_weights([NOISE_DIM + 1, 2, 2, 1], rng)
    X, Z = sample_real(rng, 3), sample_noise(rng, 3)
    X_fake = forward(W_g, G_ACTS, Z)[1][-1]
    kwargs = {} if output_grads is None else {"output_grads": output_grads}
    calls = [
        (discriminator_grads, (W_d, D_ACTS, X, X_fake), kwargs),
        (generator_grads, (W_g, G_ACTS, W_d, D_ACTS, Z), kwargs),
        (discriminator_step, ([w.copy() for w in W_d], W_d, 0.1), {}),
        (generator_step, ([w.copy() for w in W_g], W_g, 0.1), {}),
    ]
    missing: list[str] = []
    for func, args, kw in calls:
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                func(*args, **kw)
        except NotImplementedError as exc:
            name = _stub_name(exc, getattr(func, "__name__", "a function"))
            if name not in missing:
                missing.append(name)
        except Exception:  # noqa: BLE001, S112 - the training loop shows other errors
            continue
    return missing


def train_gan(discriminator_grads: Callable[..., Any], generator_grads: Callable[..., Any],
              discriminator_step: Callable[..., Any], generator_step: Callable[..., Any],
              *, output_grads: Callable[..., Any] | None = None, clip: float | None = None,
              steps: int = 3000, lr: float = 0.5, d_steps: int = 1, batch: int = 128,
              seed: int = 0, log_every: int = 50) -> TrainingRun:
    """Train the toy GAN with your functions; returns a :class:`TrainingRun`.

    Each step: ``d_steps`` discriminator updates (gradient from ``discriminator_grads``,
    update by ``discriminator_step``, then weights clipped to [-clip, clip] if ``clip``),
    then one generator update (``generator_grads`` + ``generator_step``). With
    ``output_grads`` (your ``wgan_output_grads``) both gradients are those of L' instead of L.
    Stops early, with ``diverged=True``, if a weight becomes NaN or infinite. While any of the
    functions is a stub it trains nothing and returns a run whose ``waiting_for`` names them
    (:func:`summary` says so, :func:`plot_training` draws nothing), so Run All goes on.
    """
    missing = _unwritten(discriminator_grads, generator_grads, discriminator_step,
                         generator_step, output_grads)
    if missing:
        return TrainingRun("gan" if output_grads is None else "wgan", [], [],
                           waiting_for=missing)
    rng = np.random.default_rng(seed)
    run = TrainingRun("gan" if output_grads is None else "wgan",
                      init_weights([1, HIDDEN, HIDDEN, 1], rng),
                      init_weights([NOISE_DIM + 1, HIDDEN, HIDDEN, 1], rng))
    kwargs = {} if output_grads is None else {"output_grads": output_grads}
    eval_rng = np.random.default_rng(seed + 1)
    X_eval, Z_eval = sample_real(eval_rng, 1000), sample_noise(eval_rng, 1000)
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        for step in range(steps + 1):
            if step % log_every == 0 or step == steps:
                fake = forward(run.W_g, G_ACTS, Z_eval)[1][-1]
                d_loss, g_loss = _losses(run, X_eval, fake)
                run.steps.append(step)
                run.d_loss.append(d_loss)
                run.g_loss.append(g_loss)
                run.distance.append(wasserstein_1d(X_eval, fake))
            if step == steps:
                break
            for _ in range(d_steps):
                X = sample_real(rng, batch)
                X_fake = forward(run.W_g, G_ACTS, sample_noise(rng, batch))[1][-1]
                grads = discriminator_grads(run.W_d, D_ACTS, X, X_fake, **kwargs)
                run.W_d = list(discriminator_step(run.W_d, grads, lr))
                if clip is not None:
                    run.W_d = [np.clip(w, -clip, clip) for w in run.W_d]
            grads = generator_grads(run.W_g, G_ACTS, run.W_d, D_ACTS,
                                    sample_noise(rng, batch), **kwargs)
            run.W_g = list(generator_step(run.W_g, grads, lr))
            if not all(np.all(np.isfinite(w)) for w in [*run.W_d, *run.W_g]):
                run.diverged = True
                break
        run.real = X_eval.ravel()
        run.fake = forward(run.W_g, G_ACTS, Z_eval)[1][-1].ravel()
    run.seconds = time.perf_counter() - start
    return run


def converged(run: TrainingRun) -> bool:
    """True when the generated samples match the real ones: earth mover's distance below
    0.35, means within 0.3 and standard deviations within 25%."""
    if run.diverged or not np.all(np.isfinite(run.fake)):
        return False
    real_std, fake_std = float(np.std(run.real)), float(np.std(run.fake))
    return (wasserstein_1d(run.real, run.fake) < 0.35
            and abs(float(np.mean(run.real) - np.mean(run.fake))) < 0.3
            and abs(fake_std / real_std - 1.0) < 0.25)


def summary(run: TrainingRun) -> str:
    """One line: real vs generated mean and std, the distance between them, a verdict."""
    if run.waiting_for:
        return (f"{NOT_YET} not trained yet: implement {', '.join(run.waiting_for)} first "
                "(this demo trains the GAN with your functions)")
    if run.diverged:
        return (f"{FAIL} training diverged after {run.steps[-1]} steps (a weight became NaN or "
                "inf): check your gradients and update rules with the finite-difference checks")
    text = (f"real: mean {np.mean(run.real):+.2f}, std {np.std(run.real):.2f} | generated: "
            f"mean {np.mean(run.fake):+.2f}, std {np.std(run.fake):.2f} | earth mover's distance "
            f"{wasserstein_1d(run.real, run.fake):.3f} | {run.steps[-1]} steps in "
            f"{run.seconds:.1f} s")
    verdict = (f"{PASS} the generator matches the target" if converged(run)
               else f"{FAIL} the generator does not match the target (yet)")
    return f"{text}\n{verdict}"


def plot_training(run: TrainingRun, title: str | None = None) -> None:
    """Real vs generated histograms with D(x), both losses, and the distance over training."""
    if run.waiting_for:
        return  # nothing trained: summary() says which functions to write
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    ax = axes[0]
    finite = run.fake[np.isfinite(run.fake)]
    lo = min(run.real.min(), finite.min() if finite.size else 0.0, -3.0)
    hi = max(run.real.max(), finite.max() if finite.size else 0.0, 4.0)
    bins = np.linspace(lo, hi, 60)
    ax.hist(run.real, bins=bins, density=True, alpha=0.5, label="real")
    if finite.size:
        ax.hist(finite, bins=bins, density=True, alpha=0.5, label="generated")
    xs = np.linspace(lo, hi, 300)[None, :]
    with np.errstate(all="ignore"):
        d = forward(run.W_d, D_ACTS, xs)[1][-1].ravel()
    twin = ax.twinx()
    twin.plot(xs.ravel(), d, color="k", lw=1, label="D(x)")
    twin.set_ylim(0, 1)
    twin.set_ylabel("D(x)")
    ax.set_xlabel("x")
    ax.set_title("samples after training")
    ax.legend(loc="upper left")
    name = "L'" if run.objective == "wgan" else "L"
    axes[1].plot(run.steps, run.d_loss, label=f"discriminator loss  -{name}")
    axes[1].plot(run.steps, run.g_loss, label=f"generator loss  (fake term of {name})")
    axes[1].set_xlabel("step")
    axes[1].set_title("losses")
    axes[1].legend()
    axes[2].plot(run.steps, run.distance)
    axes[2].set_xlabel("step")
    axes[2].set_title("earth mover's distance, real vs generated")
    fig.suptitle(title or ("WGAN" if run.objective == "wgan" else "GAN"))
    fig.tight_layout()
    plt.show()


def autograding() -> bool:
    """True under nbgrader (it sets NBGRADER_EXECUTION): the demo then runs a few steps only."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))
