"""Kernel alignment (linear CKA), biased and unbiased, batched over networks.

Written here rather than taken from a PyPI CKA package: those are hook-based,
largely untested and some return values outside [0, 1] (see ECOSYSTEM.md); the
formula is a few lines and is tested against a naive centring-matrix
implementation and a brute-force U-statistic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._validation import (
    broadcast_batch,
    check_finite,
    check_ndim,
    check_same_axis,
    output,
    scale_to_unit,
    to_tensor,
)

__all__ = ["kernel_alignment"]

#: A representation counts as constant when max|X - mean| <= CONSTANT_RTOL * max|X|.
CONSTANT_RTOL = 1e-12


def _centre(X: torch.Tensor) -> torch.Tensor:
    return X - X.mean(dim=-2, keepdim=True)


def _is_constant(X: torch.Tensor, Xc: torch.Tensor) -> torch.Tensor:
    """(...) bool: every condition has the same pattern (up to rounding)."""
    return Xc.abs().amax(dim=(-2, -1)) <= CONSTANT_RTOL * X.abs().amax(dim=(-2, -1))


def _hsic_unbiased(K: torch.Tensor, L: torch.Tensor) -> torch.Tensor:
    """Unbiased HSIC of Song et al. (2012, eq. 5) for Gram matrices ``K, L: (..., n, n)``.

    With K~, L~ the Gram matrices with zeroed diagonals and 1 the ones vector::

        HSIC_u = [tr(K~ L~) + (1'K~1)(1'L~1) / ((n-1)(n-2)) - 2/(n-2) 1'K~L~1] / (n(n-3))
    """
    n = K.shape[-1]
    eye = torch.eye(n, dtype=torch.bool, device=K.device)
    Kt = K.masked_fill(eye, 0.0)
    Lt = L.masked_fill(eye, 0.0)
    trace_KL = (Kt * Lt).sum(dim=(-2, -1))
    K1 = Kt.sum(dim=-1)  # (..., n) = K~ 1
    L1 = Lt.sum(dim=-1)
    sum_K = K1.sum(dim=-1)
    sum_L = L1.sum(dim=-1)
    cross = (K1 * L1).sum(dim=-1)  # 1' K~ L~ 1 (K~ symmetric)
    return (trace_KL + sum_K * sum_L / ((n - 1) * (n - 2)) - 2.0 * cross / (n - 2)) / (n * (n - 3))


def kernel_alignment(
    X: Any, Y: Any, *, unbiased: bool = False, device: str | torch.device | None = None
) -> np.ndarray | np.float64:
    r"""Kernel alignment C(K_X, K_Y) of mean-centred representations (linear CKA).

    ``X: (..., P, N), Y: (..., P, M) -> (...)``; leading dimensions broadcast (e.g.
    1504 networks ``(1504, P, N)`` against one target ``(P, M)``).

    Biased (default; Alleman et al. 2024 §3, Kornblith et al. 2019)::

        X_c = X - mean_P(X),  K_X = X_c X_c^T,  K_Y = Y_c Y_c^T          (P x P)
        C(K_X, K_Y) = tr(K_X K_Y) / sqrt(tr(K_X K_X) tr(K_Y K_Y))
                    = ||X_c^T Y_c||_F^2 / (||X_c^T X_c||_F ||Y_c^T Y_c||_F)

    computed in whichever of the two forms is cheaper, after scaling ``X`` and ``Y``
    (and ``X_c``, ``Y_c``) to a largest magnitude of 1, which leaves C unchanged and
    keeps it exact from 1e-200 to 1e200 (``C(1e100 X, X) = 1``). It lies in [0, 1], is
    symmetric, and is invariant to rotations (``X Q``, ``Q`` orthogonal), isotropic
    scaling and translation of either argument.

    Unbiased (``unbiased=True``): the same ratio with each ``tr(K L)`` replaced by the
    unbiased HSIC estimator of Song et al. (2012) on the Gram matrices of the centred
    data (needs ``P >= 4``). The biased estimator inflates similarity at small ``P``
    (about 0.2 for independent data at ``P = 32``); the unbiased one is near 0 there
    but may be slightly negative and is not bounded to [0, 1].

    Parameters
    ----------
    X, Y : array-like or torch.Tensor, shapes (..., P, N) and (..., P, M)
        Representations of the same ``P`` conditions (rows). Torch tensors are
        computed on their device (``Y`` follows ``X``); NumPy on the CPU.
    unbiased : bool, default False
        Use the unbiased HSIC estimator.
    device : str or torch.device, optional
        Where to compute (e.g. ``"cuda"``); default: ``X``'s device, CPU for NumPy.

    Returns
    -------
    numpy.ndarray or numpy.float64, shape (...)
        One alignment per broadcast batch element (a NumPy scalar when unbatched).

        **Constant representation**: if every condition of ``X`` (or ``Y``) has the same
        pattern, the alignment is defined as 0 (nothing is shared), never NaN. The
        same value is returned if an unbiased self-HSIC is not positive.

    Raises
    ------
    ValueError
        Fewer than 2 dimensions, different ``P``, non-broadcastable batch dimensions,
        NaN/inf, or ``P < 2`` (``P < 4`` with ``unbiased=True``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((10, 5))
    >>> round(float(kernel_alignment(X, 3 * X + 1)), 6)
    1.0
    """
    X_t = to_tensor(X, "X", device)
    Y_t = to_tensor(Y, "Y", X_t.device)
    check_ndim(X_t, "X", 2, "(..., P, N)")
    check_ndim(Y_t, "Y", 2, "(..., P, M)")
    check_same_axis(X_t, Y_t, -2, "conditions", "X", "Y")
    broadcast_batch(X_t.shape[:-2], Y_t.shape[:-2], "X", "Y")
    P = X_t.shape[-2]
    min_P = 4 if unbiased else 2
    if P < min_P:
        raise ValueError(
            f"X and Y must have at least {min_P} conditions (axis -2)"
            f"{' for the unbiased estimator' if unbiased else ''}, got {P}"
        )
    check_finite(X_t, "X")
    check_finite(Y_t, "Y")

    # numerical guard: the ratio is invariant to scaling X or Y, so bring each to max |.| = 1
    # before and after centring; the products below then neither overflow (1e200) nor
    # underflow (1e-200) in float64.
    X_t, _ = scale_to_unit(X_t, (-2, -1))
    Y_t, _ = scale_to_unit(Y_t, (-2, -1))
    Xc, Yc = _centre(X_t), _centre(Y_t)
    constant = _is_constant(X_t, Xc) | _is_constant(Y_t, Yc)
    Xc, _ = scale_to_unit(Xc, (-2, -1))
    Yc, _ = scale_to_unit(Yc, (-2, -1))
    N, M = X_t.shape[-1], Y_t.shape[-1]
    if unbiased:
        K = Xc @ Xc.transpose(-1, -2)
        L = Yc @ Yc.transpose(-1, -2)
        num = _hsic_unbiased(K, L)
        den_sq = _hsic_unbiased(K, K) * _hsic_unbiased(L, L)
    elif N * M + N * N + M * M < P * (N + M):  # feature space is cheaper
        num = ((Xc.transpose(-1, -2) @ Yc) ** 2).sum(dim=(-2, -1))
        den_sq = ((Xc.transpose(-1, -2) @ Xc) ** 2).sum(dim=(-2, -1)) * (
            (Yc.transpose(-1, -2) @ Yc) ** 2
        ).sum(dim=(-2, -1))
    else:  # condition (Gram) space
        K = Xc @ Xc.transpose(-1, -2)
        L = Yc @ Yc.transpose(-1, -2)
        num = (K * L).sum(dim=(-2, -1))
        den_sq = (K * K).sum(dim=(-2, -1)) * (L * L).sum(dim=(-2, -1))

    valid = (~constant) & (den_sq > 0)
    safe_den = torch.where(valid, den_sq, torch.ones_like(den_sq)).sqrt()
    cka = torch.where(valid, num / safe_den, torch.zeros_like(num))
    if not unbiased:  # rounding guard: the biased value is a cosine of PSD matrices
        cka = cka.clamp(0.0, 1.0)
    return output(cka)
