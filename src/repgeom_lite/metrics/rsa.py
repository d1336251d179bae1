"""Representational dissimilarity matrices (RDMs) and their comparison, at scale.

rsatoolbox (maintained, MIT) is the reference implementation and our test oracle,
but it compares RDMs in a per-pair Python loop (rsatoolbox #181, #214) and pulls in
heavy dependencies. The all-pairs comparison of thousands of RDMs here is one matrix
product of ranked, normalised upper triangles (torch, any device), which agrees with
rsatoolbox's ``spearman``/``corr`` and :func:`scipy.stats.spearmanr` to 1e-10 (tested).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._validation import (
    broadcast_batch,
    check_choice,
    check_finite,
    check_int,
    check_ndim,
    check_square_symmetric,
    output,
    scale_to_unit,
    to_tensor,
)

__all__ = ["rdm", "rdm_upper", "compare_rdms", "rsa_matrix", "rsa_vectors"]

#: A vector (pattern or upper triangle) counts as constant when
#: ||v - mean(v)|| <= CONSTANT_RTOL * ||v||.
CONSTANT_RTOL = 1e-12

_RDM_METRICS = ("correlation", "euclidean", "sqeuclidean")
_COMPARE_METHODS = ("spearman", "pearson", "kendall")


def _unit_centred(v: torch.Tensor) -> torch.Tensor:
    """Centre along the last axis and scale to unit norm; constant vectors become 0.

    Scale-robust: ``v`` and ``v - mean`` are divided by their largest magnitude before
    any norm is formed (the result is invariant to that), so squares never overflow or
    underflow; the result is the same for ``v`` at 1e-200 and at 1e200.
    """
    v, _ = scale_to_unit(v, -1)
    vc = v - v.mean(dim=-1, keepdim=True)
    u, s = scale_to_unit(vc, -1)
    norm_u = torch.linalg.vector_norm(u, dim=-1, keepdim=True)
    constant = s * norm_u <= CONSTANT_RTOL * torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    return u / norm_u.masked_fill(constant, float("inf"))  # finite / inf = 0


def _average_ranks(v: torch.Tensor) -> torch.Tensor:
    """1-based ranks along the last axis, ties given their average rank (scipy.stats.rankdata).

    Sort each row; a tie group occupies sorted positions ``first..last`` (0-based), so each
    of its members gets ``(first + last) / 2 + 1``. ``first`` is a running maximum of the
    group-start positions, ``last`` a reversed running minimum of the group-end positions.
    NumPy on the CPU (its argsort and accumulate are ~2x faster than torch's there), torch
    on other devices.
    """
    if v.device.type == "cpu":
        return torch.from_numpy(_average_ranks_numpy(v.numpy()))
    return _average_ranks_torch(v)


def _average_ranks_numpy(v: np.ndarray) -> np.ndarray:
    idx = np.argsort(v, axis=-1, kind="stable")
    s = np.take_along_axis(v, idx, axis=-1)
    d = v.shape[-1]
    start = np.ones(s.shape, dtype=bool)
    start[..., 1:] = s[..., 1:] != s[..., :-1]
    end = np.ones(s.shape, dtype=bool)
    end[..., :-1] = start[..., 1:]
    pos = np.broadcast_to(np.arange(d), s.shape)
    first = np.maximum.accumulate(np.where(start, pos, 0), axis=-1)
    last = np.minimum.accumulate(np.where(end, pos, d - 1)[..., ::-1], axis=-1)[..., ::-1]
    ranks = np.empty(s.shape, dtype=np.float64)
    np.put_along_axis(ranks, idx, (first + last) / 2.0 + 1.0, axis=-1)
    return ranks


def _average_ranks_torch(v: torch.Tensor) -> torch.Tensor:
    s, idx = torch.sort(v, dim=-1, stable=True)
    d = v.shape[-1]
    start = torch.ones_like(s, dtype=torch.bool)
    start[..., 1:] = s[..., 1:] != s[..., :-1]
    end = torch.ones_like(start)
    end[..., :-1] = start[..., 1:]
    pos = torch.arange(d, device=v.device).expand_as(s)
    first = torch.where(start, pos, 0).cummax(dim=-1).values
    last = torch.where(end, pos, d - 1).flip(-1).cummin(dim=-1).values.flip(-1)
    avg = (first + last).to(torch.float64) / 2.0 + 1.0
    return torch.empty_like(avg).scatter_(-1, idx, avg)


def _upper(rdms: torch.Tensor) -> torch.Tensor:
    n = rdms.shape[-1]
    i, j = torch.triu_indices(n, n, offset=1, device=rdms.device)
    return rdms[..., i, j]


def rdm(X: Any, metric: str = "correlation", *, device: str | torch.device | None = None):
    r"""Representational dissimilarity matrix between the conditions (rows) of ``X``.

    ``X: (..., n, p) -> (..., n, n)`` (``n`` conditions/stimuli, ``p`` units).

    - ``"correlation"``: ``D_ij = 1 - r(x_i, x_j)``, Pearson correlation across units
      (rsatoolbox ``calc_rdm(..., method="correlation")``, scipy ``pdist(X, "correlation")``).
    - ``"euclidean"``: ``D_ij = ||x_i - x_j||_2`` (scipy ``pdist(X, "euclidean")``).
    - ``"sqeuclidean"``: ``D_ij = ||x_i - x_j||_2^2``. (rsatoolbox's ``"euclidean"`` is this
      divided by ``p``.)

    The diagonal is exactly 0 and the matrix exactly symmetric. Patterns are scaled to
    a largest magnitude of 1 before products are formed, so the correlation RDM is the
    same for ``X`` at 1e-200 and 1e200, and the Euclidean one scales exactly with ``X``
    (``"sqeuclidean"`` overflows to inf only where the true value exceeds float64).

    **Constant pattern** (correlation only): a condition whose pattern is the same in
    every unit (e.g. a stimulus that silences all ReLU units) has no defined correlation;
    it is given correlation 0, i.e. dissimilarity 1, to every other condition (never NaN).

    Raises
    ------
    ValueError
        ``X`` has fewer than 2 dims, fewer than 2 conditions, fewer than 2 units for
        ``"correlation"``, NaN/inf, or an unknown metric.
    """
    check_choice(metric, "metric", _RDM_METRICS)
    X_t = to_tensor(X, "X", device)
    check_ndim(X_t, "X", 2, "(..., n_conditions, n_units)")
    if X_t.shape[-2] < 2:
        raise ValueError(f"X must have at least 2 conditions (axis -2), got {X_t.shape[-2]}")
    if metric == "correlation" and X_t.shape[-1] < 2:
        raise ValueError(
            f"X must have at least 2 units (axis -1) for correlation distance, got {X_t.shape[-1]}"
        )
    check_finite(X_t, "X")
    n = X_t.shape[-2]
    if metric == "correlation":
        Z = _unit_centred(X_t)
        D = 1.0 - (Z @ Z.transpose(-1, -2)).clamp(-1.0, 1.0)
    else:  # distances of X / max|X|, scaled back: no overflow/underflow of the squares inside
        X_u, scale = scale_to_unit(X_t, (-2, -1))
        D = torch.cdist(X_u, X_u, compute_mode="donot_use_mm_for_euclid_dist")
        D = D**2 * scale**2 if metric == "sqeuclidean" else D * scale
    D = 0.5 * (D + D.transpose(-1, -2))
    D = D.masked_fill(torch.eye(n, dtype=torch.bool, device=D.device), 0.0)
    return output(D)


def rdm_upper(rdms: Any) -> np.ndarray:
    """Vectorise RDMs: ``(..., n, n) -> (..., n (n - 1) / 2)``, the strict upper triangle.

    Row-major order, the same as :func:`scipy.spatial.distance.squareform` and
    ``rsatoolbox.rdm.RDMs.get_vectors()``.

    Raises
    ------
    ValueError
        Not square, not symmetric, ``n < 3``, or NaN/inf.
    """
    R = to_tensor(rdms, "rdms")
    check_square_symmetric(R, "rdms")
    return output(_upper(R))


def _prepare(upper: torch.Tensor, method: str) -> torch.Tensor:
    """Rank (spearman) then centre and normalise each vector: corr(a, b) = z_a . z_b."""
    if method == "spearman":
        upper = _average_ranks(upper)
    return _unit_centred(upper)


def compare_rdms(A: Any, B: Any, method: str = "spearman", *, device=None):
    r"""Correlation between the upper triangles of RDMs ``A`` and ``B``.

    ``A: (..., n, n), B: (..., n, n) -> (...)`` with broadcasting of leading dims.

    - ``"spearman"``: Pearson correlation of average ranks (ties averaged), equal to
      :func:`scipy.stats.spearmanr` and rsatoolbox ``compare(..., method="spearman")``.
    - ``"pearson"``: Pearson correlation (rsatoolbox ``"corr"``).
    - ``"kendall"``: Kendall's tau-b via :func:`scipy.stats.kendalltau` (rsatoolbox
      ``"kendall"``); a per-pair loop on the CPU, O(d log d) each.

    **Constant RDM**: if either upper triangle is constant its correlation is undefined;
    the result is defined as 0 (never NaN).

    Raises
    ------
    ValueError
        Shapes not square/symmetric/matching, ``n < 3``, NaN/inf, unknown method.
    """
    check_choice(method, "method", _COMPARE_METHODS)
    A_t = to_tensor(A, "A", device)
    B_t = to_tensor(B, "B", A_t.device)
    check_square_symmetric(A_t, "A")
    check_square_symmetric(B_t, "B")
    if A_t.shape[-1] != B_t.shape[-1]:
        raise ValueError(
            f"A and B must be RDMs of the same conditions, got n = {A_t.shape[-1]} and "
            f"n = {B_t.shape[-1]}"
        )
    batch = broadcast_batch(A_t.shape[:-2], B_t.shape[:-2], "A", "B")
    a, b = _upper(A_t), _upper(B_t)
    if method == "kendall":
        from scipy.stats import kendalltau

        a_np = np.broadcast_to(a.cpu().numpy(), batch + a.shape[-1:]).reshape(-1, a.shape[-1])
        b_np = np.broadcast_to(b.cpu().numpy(), batch + b.shape[-1:]).reshape(-1, b.shape[-1])
        tau = np.empty(a_np.shape[0])
        for i, (u, v) in enumerate(zip(a_np, b_np)):
            if np.ptp(u) == 0 or np.ptp(v) == 0:
                tau[i] = 0.0  # constant RDM: documented value
            else:
                tau[i] = kendalltau(u, v).statistic
        return output(tau.reshape(batch))
    za, zb = _prepare(a, method), _prepare(b, method)
    return output((za * zb).sum(dim=-1).clamp(-1.0, 1.0))


def rsa_matrix(
    rdms: Any,
    other: Any | None = None,
    *,
    method: str = "spearman",
    device: str | torch.device | None = None,
    chunk_size: int = 4096,
) -> np.ndarray:
    r"""All-pairs comparison of many RDMs as one matrix product.

    ``rdms: (m, n, n) -> (m, m)``; with ``other: (m2, n, n)`` -> ``(m, m2)``.

    Each strict upper triangle (``d = n (n - 1) / 2`` entries) is ranked (``"spearman"``,
    average ranks for ties), centred and scaled to unit norm, ``z = (r - mean r) / ||r - mean r||``,
    so that all correlations are the matrix product ``Z Z^T``. Cost ``O(m d log d + m^2 d)``
    instead of ``m^2`` calls of a per-pair function; equals :func:`compare_rdms` for every
    pair. Rows are processed ``chunk_size`` at a time, so peak extra memory is about
    ``chunk_size x d`` doubles on top of ``Z`` (``m x d``).

    Parameters
    ----------
    rdms : array-like or torch.Tensor, shape (m, n, n)
    other : array-like or torch.Tensor, shape (m2, n, n), optional
    method : {"spearman", "pearson"}
        Kendall's tau has no matrix-product form; use :func:`compare_rdms` for it.
    device : str or torch.device, optional
        Where to compute (``"cuda"`` for thousands of RDMs); default: the tensor's
        device, CPU for NumPy.
    chunk_size : int
        Rows of ``Z`` processed per block.

    Returns
    -------
    numpy.ndarray, shape (m, m) or (m, m2)
        Correlations; a constant RDM has correlation 0 with every RDM, itself included.
    """
    check_choice(method, "method", ("spearman", "pearson"))
    chunk_size = check_int(chunk_size, "chunk_size", 1)
    R = to_tensor(rdms, "rdms", device)
    if R.ndim != 3:
        raise ValueError(f"rdms must have shape (m, n, n), got shape {tuple(R.shape)}")
    check_square_symmetric(R, "rdms")
    Z = _prepare_chunked(R, method, chunk_size)
    if other is None:
        Z2 = Z
    else:
        R2 = to_tensor(other, "other", R.device)
        if R2.ndim != 3:
            raise ValueError(f"other must have shape (m2, n, n), got shape {tuple(R2.shape)}")
        check_square_symmetric(R2, "other")
        if R2.shape[-1] != R.shape[-1]:
            raise ValueError(
                f"rdms and other must be RDMs of the same conditions, got n = {R.shape[-1]} "
                f"and n = {R2.shape[-1]}"
            )
        Z2 = _prepare_chunked(R2, method, chunk_size)
    out = torch.empty((Z.shape[0], Z2.shape[0]), dtype=torch.float64, device=Z.device)
    for start in range(0, Z.shape[0], chunk_size):
        out[start : start + chunk_size] = Z[start : start + chunk_size] @ Z2.T
    return output(out.clamp_(-1.0, 1.0))


def rsa_vectors(
    rdms: Any,
    *,
    method: str = "spearman",
    device: str | torch.device | None = None,
    chunk_size: int = 4096,
) -> np.ndarray:
    r"""The vectors whose dot products are :func:`rsa_matrix`: ``rdms: (m, n, n) -> (m, d)``.

    Each strict upper triangle (``d = n (n - 1) / 2``) is ranked (``"spearman"``,
    average ranks for ties), centred and scaled to unit norm, so ``z_a · z_b = ρ_ab``
    and ``||z_a − z_b||² = 2 (1 − ρ_ab)``: the space in which to run a PCA or any
    Euclidean method on RDMs that should agree with RSA. A constant RDM maps to 0.

    Parameters
    ----------
    rdms : array-like or torch.Tensor, shape (m, n, n)
    method : {"spearman", "pearson"}
    device, chunk_size
        As for :func:`rsa_matrix`.

    Returns
    -------
    numpy.ndarray, shape (m, d)

    Raises
    ------
    ValueError
        Not ``(m, n, n)``, not symmetric, NaN/inf, or an unknown ``method``.
    """
    check_choice(method, "method", ("spearman", "pearson"))
    chunk_size = check_int(chunk_size, "chunk_size", 1)
    R = to_tensor(rdms, "rdms", device)
    if R.ndim != 3:
        raise ValueError(f"rdms must have shape (m, n, n), got shape {tuple(R.shape)}")
    check_square_symmetric(R, "rdms")
    return output(_prepare_chunked(R, method, chunk_size))


def _prepare_chunked(R: torch.Tensor, method: str, chunk_size: int) -> torch.Tensor:
    n = R.shape[-1]
    Z = torch.empty((R.shape[0], n * (n - 1) // 2), dtype=torch.float64, device=R.device)
    for start in range(0, R.shape[0], chunk_size):
        Z[start : start + chunk_size] = _prepare(_upper(R[start : start + chunk_size]), method)
    return Z
