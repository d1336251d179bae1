"""Unit matching, APC and PE: known permutations, brute force over permutations, bad input."""

import itertools

import numpy as np
import pytest
import torch

from repgeom_lite.metrics import MatchResult, apc, match_units, permutation_equivalence, unit_correlations

TOL = 1e-10
SEEDS = [0, 1, 2, 3]


def permuted_copy(rng, A, noise=0.0):
    n = A.shape[0]
    perm, signs = rng.permutation(n), rng.choice([-1, 1], n)
    B = np.empty_like(A)
    B[perm] = signs[:, None] * A + noise * rng.standard_normal(A.shape)
    return B, perm, signs


@pytest.mark.parametrize("seed", SEEDS)
def test_recovers_known_permutation_and_signs(seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((16, 64))  # 16 hidden units, 64 inputs (8x8 digits)
    B, perm, signs = permuted_copy(rng, 2.0 * A + 0.5, noise=0.1)
    res = match_units(A, B)
    assert isinstance(res, MatchResult)
    np.testing.assert_array_equal(res.permutation, perm)
    np.testing.assert_array_equal(res.signs, signs)
    assert np.all(res.abs_correlations > 0.95)
    assert res.apc == pytest.approx(res.abs_correlations.mean())
    # aligned rows: B[permutation] * signs correlates positively with A row by row
    aligned = B[res.permutation] * res.signs[:, None]
    r = [np.corrcoef(a, b)[0, 1] for a, b in zip(A, aligned)]
    assert np.all(np.array(r) > 0.95)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [3, 5, 6])
def test_hungarian_equals_brute_force(seed, n):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((n, 7)), rng.standard_normal((n, 7))
    r = np.array([[np.corrcoef(a, b)[0, 1] for b in B] for a in A])
    best = max(itertools.permutations(range(n)), key=lambda p: sum(abs(r[i, p[i]]) for i in range(n)))
    res = match_units(A, B)
    np.testing.assert_array_equal(res.permutation, best)  # generic data: unique optimum
    assert apc(A, B) == pytest.approx(np.mean([abs(r[i, best[i]]) for i in range(n)]), abs=TOL)


def test_unit_correlations_matches_corrcoef_and_constant_rows():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((4, 9)), rng.standard_normal((4, 9))
    np.testing.assert_allclose(unit_correlations(A, B), np.corrcoef(A, B)[:4, 4:], atol=TOL)
    np.testing.assert_allclose(unit_correlations(torch.tensor(A), B), unit_correlations(A, B), atol=TOL)
    A[1] = 0.0  # a unit whose weights L1 drove to zero
    B[2] = 3.0
    r = unit_correlations(A, B)
    assert np.all(np.isfinite(r)) and np.all(r[1] == 0) and np.all(r[:, 2] == 0)
    res = match_units(A, B)
    assert np.all(np.isfinite(res.abs_correlations))


def test_permutation_equivalence():
    rng = np.random.default_rng(0)
    H, D, C = 6, 20, 5
    W1_ref, W2_ref = rng.standard_normal((H, D)), rng.standard_normal((C, H))
    perm = rng.permutation(H)
    W1 = np.empty_like(W1_ref)
    W1[perm] = W1_ref
    W2 = np.empty_like(W2_ref)
    W2[:, perm] = W2_ref  # the same permutation of hidden units in both layers
    assert permutation_equivalence(W1_ref, W1, W2_ref, W2) == 1.0
    assert apc(W2_ref.T, W2.T) == pytest.approx(1.0)  # APC-2 on columns of W2
    # swap two units only in the second layer: 4 of 6 matches still agree
    W2_bad = W2.copy()
    W2_bad[:, [perm[0], perm[1]]] = W2_bad[:, [perm[1], perm[0]]]
    assert permutation_equivalence(W1_ref, W1, W2_ref, W2_bad) == pytest.approx(4 / 6)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: match_units(np.ones((3, 4)), np.ones((4, 4))), r"A and B must have the same number of units \(rows\)"),
        (lambda: match_units(np.ones((3, 4)), np.ones((3, 5))), r"A and B must have the same number of features \(columns\)"),
        (lambda: match_units(np.ones(3), np.ones(3)), r"A must have shape \(n_units, n_features\)"),
        (lambda: match_units(np.ones((2, 3, 4)), np.ones((2, 3, 4))), r"A and B must be 2-D"),
        (lambda: match_units(np.ones((3, 1)), np.ones((3, 1))), r"at least 2 features"),
        (lambda: match_units(np.ones((3, 4)), np.full((3, 4), np.nan)), r"B contains NaN or inf"),
        (lambda: unit_correlations(np.full((3, 4), np.inf), np.ones((3, 4))), r"A contains NaN or inf"),
        (lambda: unit_correlations([[1, 2], [3]], np.ones((2, 2))), r"A must be a numeric array, could not convert"),
        (lambda: unit_correlations(torch.ones(2, 2, dtype=torch.complex64), np.ones((2, 2))), r"A must be real-valued"),
        (
            lambda: permutation_equivalence(np.ones((4, 3)), np.ones((4, 3)), np.ones((2, 5)), np.ones((2, 5))),
            r"W1 rows and W2 columns must both be the hidden units: W1 has 4 rows, W2 has 5 columns",
        ),
        (
            lambda: permutation_equivalence(np.ones((4, 3)), np.ones((4, 3)), np.ones((2, 4)), np.ones((3, 4))),
            r"W2_ref.T and W2.T must have the same number of features",
        ),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
