"""Q4 answer key: L1 regularisation (Goodfellow et al., Deep Learning, section 7.1.2).

Every function works element by element on arrays of any shape; ``w_star`` and
``H_diag`` broadcast against each other (a diagonal Hessian is given by its
diagonal, one entry per weight). ``alpha`` is a non-negative number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["l1_regularized_grad", "l1_solution", "l2_solution"]


def _check_alpha(alpha: Any) -> float:
    alpha_f = float(alpha)
    if not np.isfinite(alpha_f) or alpha_f < 0:
        raise ValueError(f"alpha must be a finite number >= 0 (a penalty weight), got {alpha!r}")
    return alpha_f


def _check_hessian(H_diag: Any) -> np.ndarray:
    H = np.asarray(H_diag, dtype=np.float64)
    if not np.all(np.isfinite(H)) or np.any(H <= 0):
        raise ValueError(
            "every diagonal Hessian entry H_ii must be finite and > 0 (the expansion is "
            f"around a minimum of J), got min {float(np.min(H)) if H.size else 'empty'}"
        )
    return H


def l1_regularized_grad(grad_J: np.ndarray, w: np.ndarray, alpha: float) -> np.ndarray:
    """Gradient of J(w) + alpha * ||w||_1 (part i).

    Inputs:
    - grad_J: gradient of the unregularised objective J at w, shape (*S)
    - w: weights, shape (*S)
    - alpha: penalty weight, alpha >= 0

    Returns the (sub)gradient grad_J + alpha * sign(w), shape (*S). At w_i = 0
    it uses sign(0) = 0; any value in [-alpha, alpha] added there is a valid subgradient.
    """
    alpha_f = _check_alpha(alpha)
    grad_J = np.asarray(grad_J, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if grad_J.shape != w.shape:
        raise ValueError(f"grad_J has shape {grad_J.shape} but w has shape {w.shape}")
    return grad_J + alpha_f * np.sign(w)


def l1_solution(w_star: np.ndarray, H_diag: np.ndarray, alpha: float) -> np.ndarray:
    """Minimiser of 1/2 (w - w*)^T H (w - w*) + alpha ||w||_1 for diagonal H (part ii).

    Inputs:
    - w_star: unregularised optimum w*, shape (*S)
    - H_diag: diagonal of the Hessian, every entry > 0, broadcastable to (*S)
    - alpha: penalty weight, alpha >= 0

    Returns the soft threshold sign(w*) * max(|w*| - alpha / H, 0), shape (*S):
    zero when |w*_i| <= alpha / H_ii, else w*_i moved towards zero by alpha / H_ii.
    """
    alpha_f = _check_alpha(alpha)
    H = _check_hessian(H_diag)
    w_star = np.asarray(w_star, dtype=np.float64)
    return np.sign(w_star) * np.maximum(np.abs(w_star) - alpha_f / H, 0.0)


def l2_solution(w_star: np.ndarray, H_diag: np.ndarray, alpha: float) -> np.ndarray:
    """Minimiser of 1/2 (w - w*)^T H (w - w*) + (alpha / 2) ||w||_2^2 for diagonal H.

    Inputs and shapes as in :func:`l1_solution`. Returns H / (H + alpha) * w*:
    every weight is scaled towards zero, none becomes exactly zero (unless w* is).
    """
    alpha_f = _check_alpha(alpha)
    H = _check_hessian(H_diag)
    w_star = np.asarray(w_star, dtype=np.float64)
    return H / (H + alpha_f) * w_star
