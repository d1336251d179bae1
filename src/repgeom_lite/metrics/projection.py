"""Principal-component projection, the one PCA of the package (figures and low-dimensional views).

``pca(Z, n_components)`` gives the scores of the rows of ``Z: (..., P, N)`` on their
leading principal components, batched over leading dims; ``fit_on=`` fits the mean
and the components on other rows (e.g. the cluster centres, or the last epoch) and
applies them to ``Z``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import broadcast_batch, check_finite, check_int, check_ndim, check_same_axis, to_numpy

__all__ = ["pca"]


def pca(Z: Any, n_components: int = 2, *, fit_on: Any = None) -> np.ndarray:
    """Scores of the rows of ``Z`` on the leading principal components.

    With ``F = fit_on`` (default ``Z``), ``mu = mean of the rows of F`` and the thin SVD
    ``F - mu = U S V^T`` (singular values in decreasing order), the scores are

    ``T = (Z - mu) V[:, :n_components]``

    so for ``fit_on=None`` they equal ``U S`` (scikit-learn's ``PCA().fit_transform``).
    Everything is done per item of the leading (batch) dims.

    Sign convention: each component ``V[:, j]`` is flipped so that its entry of largest
    magnitude is positive (as scikit-learn >= 1.5), so figures are reproducible.
    Components beyond the rank of ``F - mu`` (singular value ``<= max(Q, N) * eps *
    S[0]``, or beyond ``min(Q, N)``) are returned as zeros.

    Parameters
    ----------
    Z : array-like, (..., P, N)
        Rows to project (conditions, samples or networks × units/features).
    n_components : int
        Number of components, >= 1.
    fit_on : array-like, (..., Q, N), optional
        Rows on which the mean and the components are fitted; leading dims broadcast
        against ``Z``'s. Default: ``Z`` itself.

    Returns
    -------
    ndarray, float64, (..., P, n_components)

    Raises
    ------
    ValueError
        ``Z`` or ``fit_on`` not at least 2-d, empty or non-finite, a different number
        of columns, leading dims that do not broadcast, or ``n_components < 1``.
    """
    n_components = check_int(n_components, "n_components", 1)
    Z = to_numpy(Z, "Z")
    check_ndim(Z, "Z", 2, "(..., P, N)")
    check_finite(Z, "Z")
    if fit_on is None:
        F = Z
    else:
        F = to_numpy(fit_on, "fit_on")
        check_ndim(F, "fit_on", 2, "(..., Q, N)")
        check_finite(F, "fit_on")
        check_same_axis(Z, F, -1, "columns (units)", "Z", "fit_on")
        batch = broadcast_batch(Z.shape[:-2], F.shape[:-2], "Z", "fit_on")
        Z = np.broadcast_to(Z, batch + Z.shape[-2:])
        F = np.broadcast_to(F, batch + F.shape[-2:])
    if F.shape[-2] == 0 or F.shape[-1] == 0:
        raise ValueError(f"{'Z' if fit_on is None else 'fit_on'} must have at least one row and one column, "
                         f"got shape {F.shape}")
    mu = F.mean(axis=-2, keepdims=True)
    _, S, Vt = np.linalg.svd(F - mu, full_matrices=False)  # S: (..., r), Vt: (..., r, N)
    r = S.shape[-1]
    k = min(n_components, r)
    V = np.swapaxes(Vt[..., :k, :], -1, -2)  # (..., N, k)
    # sign: the largest-|loading| entry of each component is positive
    idx = np.argmax(np.abs(V), axis=-2)[..., None, :]  # (..., 1, k)
    signs = np.sign(np.take_along_axis(V, idx, axis=-2))
    signs[signs == 0] = 1.0
    V = V * signs
    # components beyond the numerical rank are undefined: zero them
    tol = max(F.shape[-2], F.shape[-1]) * np.finfo(np.float64).eps * S[..., :1]
    V = V * (S[..., None, :k] > tol[..., None, :])
    out = np.zeros(Z.shape[:-1] + (n_components,))
    out[..., :k] = (Z - mu) @ V
    return out
