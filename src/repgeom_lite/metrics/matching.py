"""Permutation matching of hidden units across seeds: APC-1, APC-2 and PE (Fowler et al. 2022).

Hungarian assignment from :func:`scipy.optimize.linear_sum_assignment` on the negative
absolute correlation matrix. Absolute, because for odd activations (tanh) a unit and
its negation compute the same function up to the sign of its readout; the sign of
each matched correlation is recorded.

Weight layouts follow ``torch.nn.Linear.weight`` (``(out_features, in_features)``):

- ``W1: (H, D)`` — row ``h`` is hidden unit ``h``'s input weights (APC-1 matches rows).
- ``W2: (C, H)`` — column ``h`` is hidden unit ``h``'s readout weights (APC-2 matches
  columns, i.e. rows of ``W2.T``).

So ``apc(W1_ref, W1)`` is APC-1, ``apc(W2_ref.T, W2.T)`` is APC-2, and
``permutation_equivalence(W1_ref, W1, W2_ref, W2)`` is PE. The same calls on cumulative
gradients give the gradient versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._validation import check_finite, check_ndim, check_same_axis, scale_to_unit, to_numpy

__all__ = ["match_units", "MatchResult", "apc", "permutation_equivalence", "unit_correlations"]

#: A row counts as constant when max|row - mean| <= CONSTANT_RTOL * max|row|.
CONSTANT_RTOL = 1e-12


@dataclass(frozen=True)
class MatchResult:
    """Result of :func:`match_units`.

    Attributes
    ----------
    permutation : ndarray of int, shape (n,)
        ``B[permutation[i]]`` is matched to ``A[i]`` (so ``B[permutation]`` is aligned to ``A``).
    abs_correlations : ndarray, shape (n,)
        ``|r(A[i], B[permutation[i]])|``; their mean is the APC.
    signs : ndarray of int, shape (n,)
        Sign of each matched correlation (+1 for r >= 0, -1 otherwise).
    correlations : ndarray, shape (n, n)
        Full matrix ``r[i, j] = corr(A[i], B[j])``.
    """

    permutation: np.ndarray
    abs_correlations: np.ndarray
    signs: np.ndarray
    correlations: np.ndarray

    @property
    def apc(self) -> float:
        """Absolute permutation correlation: mean matched ``|r|``."""
        return float(self.abs_correlations.mean())


def _check_pair(A: Any, B: Any, a_name: str, b_name: str) -> tuple[np.ndarray, np.ndarray]:
    A_ = to_numpy(A, a_name)
    B_ = to_numpy(B, b_name)
    check_ndim(A_, a_name, 2, "(n_units, n_features)")
    check_ndim(B_, b_name, 2, "(n_units, n_features)")
    if A_.ndim != 2 or B_.ndim != 2:
        raise ValueError(
            f"{a_name} and {b_name} must be 2-D (n_units, n_features), got shapes "
            f"{A_.shape} and {B_.shape}"
        )
    check_same_axis(A_, B_, 0, "units (rows)", a_name, b_name)
    check_same_axis(A_, B_, 1, "features (columns)", a_name, b_name)
    if A_.shape[1] < 2:
        raise ValueError(
            f"{a_name} and {b_name} need at least 2 features (columns) to correlate units, got "
            f"{A_.shape[1]}"
        )
    check_finite(A_, a_name)
    check_finite(B_, b_name)
    return A_, B_


def _standardise_rows(A: np.ndarray) -> np.ndarray:
    """Rows centred and scaled to unit norm (constant rows 0), scale-robust.

    Each row and its centred version are divided by their largest magnitude before the
    norm is formed, so weights at 1e-200 or 1e200 give the same correlations.
    """
    A, _ = scale_to_unit(A, 1)
    Ac = A - A.mean(axis=1, keepdims=True)
    Au, s = scale_to_unit(Ac, 1)
    constant = s <= CONSTANT_RTOL * np.abs(A).max(axis=1, keepdims=True)
    norm = np.linalg.norm(Au, axis=1, keepdims=True)
    return np.where(constant, 0.0, Au / np.where(constant, 1.0, norm))


def unit_correlations(A: Any, B: Any) -> np.ndarray:
    """Pearson correlation between every row of ``A`` and every row of ``B``.

    ``A: (n, d), B: (n, d) -> (n, n)`` with ``r[i, j] = corr(A[i], B[j])``.
    A constant row (e.g. a unit whose weights L1 drove to zero) has correlation 0 with
    every row (never NaN).
    """
    A_, B_ = _check_pair(A, B, "A", "B")
    return np.clip(_standardise_rows(A_) @ _standardise_rows(B_).T, -1.0, 1.0)


def match_units(A: Any, B: Any) -> MatchResult:
    r"""Match the units (rows) of ``B`` to those of ``A`` by maximal total ``|r|``.

    ``A: (n, d)`` (reference seed), ``B: (n, d) -> MatchResult``.

    ``r = corr(A_i, B_j)`` (Pearson across the ``d`` features); the assignment
    ``pi = argmax_pi sum_i |r[i, pi(i)]|`` is solved exactly by the Hungarian algorithm
    (``linear_sum_assignment(-|r|)``), O(n^3). Constant rows correlate 0 with everything.

    Raises
    ------
    ValueError
        Not 2-D, different shapes, fewer than 2 features, NaN/inf.
    """
    r = unit_correlations(A, B)
    rows, perm = linear_sum_assignment(-np.abs(r))
    matched = r[rows, perm]
    return MatchResult(
        permutation=perm.astype(np.int64),
        abs_correlations=np.abs(matched),
        signs=np.where(matched >= 0, 1, -1).astype(np.int64),
        correlations=r,
    )


def apc(A: Any, B: Any) -> float:
    """Absolute permutation correlation: mean ``|r|`` of the Hungarian-matched rows.

    ``A: (n, d), B: (n, d) -> float`` in [0, 1]. APC-1: ``apc(W1_ref, W1)`` with
    ``W1: (H, D)``; APC-2: ``apc(W2_ref.T, W2.T)`` with ``W2: (C, H)`` (needs ``C >= 2``;
    with 2 classes every |r| is 1 or 0, so APC-2 is only informative for more classes).
    """
    return match_units(A, B).apc


def permutation_equivalence(W1_ref: Any, W1: Any, W2_ref: Any, W2: Any) -> float:
    r"""Permutation equivalence (PE): fraction of units whose W1 and W2 matches agree.

    ``W1_ref, W1: (H, D)``; ``W2_ref, W2: (C, H)`` (``torch.nn.Linear`` layouts).
    ``PE = (1/H) sum_h [pi_1(h) == pi_2(h)]`` with ``pi_1 = match_units(W1_ref, W1)`` (rows)
    and ``pi_2 = match_units(W2_ref.T, W2.T)`` (columns of W2).

    Raises
    ------
    ValueError
        If the hidden sizes disagree (rows of W1 vs columns of W2) or any matching fails.
    """
    W1r, W1_ = _check_pair(W1_ref, W1, "W1_ref", "W1")
    W2r, W2_ = _check_pair(
        np.asarray(to_numpy(W2_ref, "W2_ref")).T, np.asarray(to_numpy(W2, "W2")).T, "W2_ref.T", "W2.T"
    )
    if W1r.shape[0] != W2r.shape[0]:
        raise ValueError(
            f"W1 rows and W2 columns must both be the hidden units: W1 has {W1r.shape[0]} rows, "
            f"W2 has {W2r.shape[0]} columns"
        )
    p1 = match_units(W1r, W1_).permutation
    p2 = match_units(W2r, W2_).permutation
    return float(np.mean(p1 == p2))
